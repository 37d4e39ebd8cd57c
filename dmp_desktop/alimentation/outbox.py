"""The upload outbox: nothing lost, nothing sent twice.

Every upload goes through here. An item is written to an encrypted local
store (:class:`~dmp_desktop.storage.secure.SecureStore`) before anything is
sent, and stays there, visible, until the DMP confirmed it or the user
discarded it::

    add()       -> PENDING            (validated; unique ids fixed once and for all; owned by
                                       the card holder who prepared it)
    send()      -> SENT_UNCONFIRMED   (written *before* the request leaves)
                -> CONFIRMED          (the DMP answered success: the item is removed)
                -> PENDING            (the DMP refused, or the card failed before sending:
                                       nothing was stored; the error is kept for display)
    discard()   -> DISCARDED          (the user's choice, or the patient's objection: the item
                                       is removed; the objection itself is kept by the use case,
                                       :mod:`dmp_desktop.usecases.upload`)

The parapheur (a secretary's card feeds the DMP for Dr X, who must sign)::

    add_for_signature() -> TO_SIGN    (validated; the CDA built at once with Dr X as its author,
                                       so what he signs is exactly what will be sent; owned by
                                       the secretary, ``signer_id`` = Dr X)
    sign()              -> PENDING    (Dr X's card made the XAdES signature over that CDA; it is
                                       kept with the item and every attempt sends it as is)
    send()                            (by the secretary's session, or Dr X's: the DMP checks
                                       the signer is the professional she feeds for)

An item TO_SIGN is never sent (:class:`SignatureAwaitedError`); only Dr X's
card signs it (:class:`NotSignerError`).

A request whose answer never came (connection dropped, time-out, crash,
card pulled) leaves the item SENT_UNCONFIRMED. Before any new attempt,
:meth:`Outbox.send` asks the DMP for the document by its unique id
(:meth:`DmpClient.find_by_unique_id`): found, the item is confirmed without
sending again; not found, the very same submission (same unique ids, same
CDA) is sent. A crash between the write and the request is covered the same
way. The document's unique id is the CDA's ``id`` and the XDS ``uniqueId``.

The CDA is built at the first attempt (it needs the card holder and, for a
replacement, the replaced document's ``setId``) and kept with the item, so
that every later attempt sends the same bytes. An item belongs to the card
holder who prepared it (``author_id``): only they may send it; the use cases
(:mod:`dmp_desktop.usecases.upload`) also show and discard only their own.

Plain Python, no Qt: the window calls it from worker threads (one lock
serialises sends), the CLI directly.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from dmp_desktop.alimentation import build, serial
from dmp_desktop.alimentation.request import UploadRequest, require_valid
from dmp_desktop.cda.xmlutil import new_oid
from dmp_desktop.dates import parse_iso_date
from dmp_desktop.dmp import iti41, rim, xades
from dmp_desktop.dmp.feed_errors import (
    NotAuthorError,
    NotSignerError,
    OnBehalfRefusedError,
    OutboxItemGoneError,
    SignatureAwaitedError,
    UploadUnconfirmedError,
)
from dmp_desktop.dmp.xades import DocumentSigner
from dmp_desktop.domain.document import (
    Author,
    Code,
    DocumentEntry,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import CardError, DmpDesktopError, DmpServiceError
from dmp_desktop.settings import Settings
from dmp_desktop.storage.secure import CorruptFileError, SecureStore

log = logging.getLogger(__name__)

# The DMP refuses a secretary's upload for the chosen professional.
_STAFF_REFUSALS = frozenset({"DMPAccessDenied", "DMPAccessDeniedByExcludedPs"})

_PREFIX = "outbox-"
_FORMAT = 1
# The DMP says the unique id is already registered: an earlier attempt got through.
DUPLICATE_CODES = frozenset(
    {
        "XDSDuplicateUniqueIdInRegistry",
        "XDSRegistryDuplicateUniqueIdInMessage",
        "XDSNonIdenticalHash",
    }
)


class OutboxState(enum.Enum):
    TO_SIGN = "to_sign"  # prepared by a secretary: waits for the professional's signature
    PENDING = "pending"
    SENT_UNCONFIRMED = "sent_unconfirmed"
    CONFIRMED = "confirmed"
    DISCARDED = "discarded"

    @property
    def label_fr(self) -> str:
        return {
            OutboxState.TO_SIGN: "à signer",
            OutboxState.PENDING: "en attente d'envoi",
            OutboxState.SENT_UNCONFIRMED: "envoyé, réception non confirmée",
            OutboxState.CONFIRMED: "reçu par le DMP",
            OutboxState.DISCARDED: "retiré de la boîte d'envoi",
        }[self]


@dataclass(frozen=True)
class OutboxItem:
    """One upload waiting in the outbox (what the outbox view shows)."""

    id: str
    state: OutboxState
    request: UploadRequest = field(repr=False)
    unique_id: str  # the document's XDS uniqueId (= the CDA id)
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    last_error: str | None = None  # code of the last failure (never health data)
    # National id of the card holder who prepared it (None: an item of an older version,
    # claimed by the first card holder who sends it).
    author_id: str | None = None
    entry: DocumentEntry | None = None  # once confirmed
    # The parapheur: the national id of the professional who must sign it (a secretary's
    # upload for Dr X), when it was signed, and who prepared it (display name).
    signer_id: str | None = None
    signed_at: datetime | None = None
    prepared_by: str = ""

    @property
    def awaiting_signature(self) -> bool:
        return self.state is OutboxState.TO_SIGN

    @property
    def signer_name(self) -> str:
        """The professional the upload is filed for (« Dr Marie DURAND »), or ""."""
        other = self.request.on_behalf_of
        return other.display_name if other is not None else ""

    @property
    def title(self) -> str:
        return self.request.title

    @property
    def patient(self) -> Ins:
        return self.request.patient

    @property
    def type_code(self) -> Code:
        return self.request.type_code

    @property
    def service_date(self) -> date:
        return self.request.service_date


class DocumentClient(Protocol):
    """What the outbox needs of :class:`~dmp_desktop.dmp.client.DmpClient`."""

    @property
    def settings(self) -> Settings: ...

    @property
    def lps_oid(self) -> str: ...

    def author_values(self) -> rim.AuthorValues: ...

    def upload_document(
        self,
        submission: iti41.Submission,
        signer: DocumentSigner,
        *,
        signature: bytes | None = None,
    ) -> str: ...

    def replace_document(
        self,
        old: DocumentEntry,
        submission: iti41.Submission,
        signer: DocumentSigner,
        *,
        signature: bytes | None = None,
    ) -> str: ...

    def find_by_unique_id(
        self, patient: Ins, unique_id: str, *, type_code: Code | None = None
    ) -> DocumentEntry | None: ...

    def retrieve_document(self, entry: DocumentEntry) -> RetrievedDocument: ...


class Signer(DocumentSigner, Protocol):
    """A logged-in card: the signature key and the practitioner it names."""

    @property
    def practitioner(self) -> Practitioner: ...


# --- records -------------------------------------------------------------------------------------


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def _unb64(text: Any) -> bytes | None:
    return base64.b64decode(text) if isinstance(text, str) else None


def _request_to_json(req: UploadRequest, data: bytes) -> dict[str, Any]:
    return {
        "patient": serial.ins_to_json(req.patient),
        "source": _b64(data),
        "filename": req.filename,
        "media_type": req.media_type,
        "type_code": serial.code_to_json(req.type_code),
        "service_date": req.service_date.isoformat(),
        "title": req.title,
        "comments": req.comments,
        "masked": req.masked,
        "invisible_patient": req.invisible_patient,
        "invisible_legal_reps": req.invisible_legal_reps,
        "replaces": serial.entry_to_json(req.replaces),
        "identity": serial.identity_to_json(req.identity),
        "on_behalf_of": asdict(req.on_behalf_of) if req.on_behalf_of is not None else None,
    }


def _practitioner_from_json(data: Any) -> Practitioner | None:
    if not isinstance(data, dict):
        return None
    known = {f.name for f in fields(Practitioner)}
    return Practitioner(**{k: v for k, v in data.items() if k in known})


def _request_from_json(data: dict[str, Any]) -> UploadRequest:
    type_code = serial.code_from_json(data["type_code"])
    assert type_code is not None  # noqa: S101 - always written
    return UploadRequest(
        patient=serial.ins_from_json(data["patient"]),
        source=_unb64(data["source"]) or b"",
        filename=str(data.get("filename", "")),
        media_type=data.get("media_type"),
        type_code=type_code,
        service_date=parse_iso_date(data["service_date"]),
        title=str(data.get("title", "")),
        masked=bool(data["masked"]),
        invisible_patient=bool(data["invisible_patient"]),
        invisible_legal_reps=bool(data["invisible_legal_reps"]),
        replaces=serial.entry_from_json(data.get("replaces")),
        identity=serial.identity_from_json(data.get("identity")),
        comments=str(data.get("comments", "")),
        on_behalf_of=_practitioner_from_json(data.get("on_behalf_of")),
    )


@dataclass
class _Record:
    """The stored form of an item, with what later attempts must reuse."""

    item: OutboxItem
    submission_unique_id: str
    signature_unique_id: str
    cda: bytes | None = None
    format_code: Code | None = None
    creation_time: datetime | None = None
    submission_time: datetime | None = None
    signature: bytes | None = None  # the professional's XAdES signature (parapheur)

    def to_json(self) -> dict[str, Any]:
        item = self.item
        return {
            "v": _FORMAT,
            "id": item.id,
            "state": item.state.value,
            "request": _request_to_json(item.request, item.request.data()),
            "unique_id": item.unique_id,
            "created_at": item.created_at.isoformat(),
            "updated_at": item.updated_at.isoformat(),
            "attempts": item.attempts,
            "last_error": item.last_error,
            "author_id": item.author_id,
            "submission_unique_id": self.submission_unique_id,
            "signature_unique_id": self.signature_unique_id,
            "cda": _b64(self.cda),
            "format_code": serial.code_to_json(self.format_code),
            "creation_time": self.creation_time.isoformat() if self.creation_time else None,
            "submission_time": self.submission_time.isoformat() if self.submission_time else None,
            "signer_id": item.signer_id,
            "signed_at": item.signed_at.isoformat() if item.signed_at else None,
            "prepared_by": item.prepared_by,
            "signature": _b64(self.signature),
        }

    @classmethod
    def from_json(cls, data: Any) -> _Record:
        if not isinstance(data, dict) or data.get("v") != _FORMAT:
            raise ValueError("not an outbox item")
        item = OutboxItem(
            id=str(data["id"]),
            state=OutboxState(data["state"]),
            request=_request_from_json(data["request"]),
            unique_id=str(data["unique_id"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            attempts=int(data.get("attempts", 0)),
            last_error=data.get("last_error"),
            author_id=data.get("author_id"),
            signer_id=data.get("signer_id"),
            signed_at=(
                datetime.fromisoformat(data["signed_at"]) if data.get("signed_at") else None
            ),
            prepared_by=str(data.get("prepared_by") or ""),
        )
        return cls(
            item=item,
            submission_unique_id=str(data["submission_unique_id"]),
            signature_unique_id=str(data["signature_unique_id"]),
            cda=_unb64(data.get("cda")),
            format_code=serial.code_from_json(data.get("format_code")),
            creation_time=(
                datetime.fromisoformat(data["creation_time"]) if data.get("creation_time") else None
            ),
            submission_time=(
                datetime.fromisoformat(data["submission_time"])
                if data.get("submission_time")
                else None
            ),
            signature=_unb64(data.get("signature")),
        )


# --- the outbox ----------------------------------------------------------------------------------


class Outbox:
    """Uploads waiting for the DMP's confirmation, kept encrypted on disk."""

    def __init__(self, store: SecureStore, *, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        # One item is sent by one thread at a time; the outbox's own lock is never held over
        # the network, so the list, the other items and the doctor's choices never wait for
        # an upload (which may take until the DMP's time-out).
        self._item_locks: dict[str, threading.Lock] = {}

    def _item_lock(self, item_id: str) -> threading.Lock:
        with self._lock:
            return self._item_locks.setdefault(item_id, threading.Lock())

    @classmethod
    def open(cls, settings: Settings) -> Outbox:
        """The outbox of this computer (``<data dir>/outbox``)."""
        directory = Path(settings.local_data_dir()) / "outbox"
        return cls(SecureStore.open(directory, training_mode=settings.training_mode))

    # -- reading ------------------------------------------------------------------------------

    def _name(self, item_id: str) -> str:
        if not item_id or not all(c.isalnum() for c in item_id):
            raise OutboxItemGoneError()
        return f"{_PREFIX}{item_id}"

    def _load(self, item_id: str) -> _Record | None:
        raw = self._store.read_json(self._name(item_id))
        return None if raw is None else _Record.from_json(raw)

    def _save(self, record: _Record) -> None:
        self._store.write_json(self._name(record.item.id), record.to_json())

    def items(self) -> list[OutboxItem]:
        """Items waiting (pending or sent unconfirmed), oldest first.

        An unreadable item (damaged file, other key) is left in place and
        skipped with a warning: never deleted behind the user's back.
        """
        found: list[OutboxItem] = []
        with self._lock:
            for name in self._store.names():
                if not name.startswith(_PREFIX):
                    continue
                try:
                    record = self._load(name[len(_PREFIX) :])
                except (CorruptFileError, ValueError, KeyError, TypeError) as exc:
                    log.warning("outbox item unreadable: %s", type(exc).__name__)
                    continue
                if record is not None:
                    found.append(record.item)
        return sorted(found, key=lambda i: i.created_at)

    def get(self, item_id: str) -> OutboxItem | None:
        with self._lock:
            record = self._load(item_id)
        return record.item if record is not None else None

    # -- changes by the user ------------------------------------------------------------------

    def add(self, req: UploadRequest, *, author_id: str | None = None) -> OutboxItem:
        """Keep ``req`` for sending (validated first: raises UploadInvalidError).

        ``author_id``: the national id of the card holder preparing it (its owner).
        Adding the same document again (same patient, type, bytes and replaced
        document, same owner) while the first one still waits returns the waiting
        item: a double click never makes two uploads.
        """
        require_valid(req)
        data = req.data()
        req = replace(req, source=data)
        with self._lock:
            for waiting in self.items():
                if waiting.author_id == author_id and _same_upload(waiting.request, req):
                    log.info("outbox %s: same document already waiting", waiting.id)
                    return waiting
        now = self._clock()
        unique_id = new_oid()
        if req.media_type == build.convert.MEDIA_CDA:
            unique_id = build.document_id_of(data)
        item = OutboxItem(
            id=uuid.uuid4().hex,
            state=OutboxState.PENDING,
            request=req,
            unique_id=unique_id,
            created_at=now,
            updated_at=now,
            author_id=author_id,
        )
        record = _Record(item, submission_unique_id=new_oid(), signature_unique_id=new_oid())
        with self._lock:
            self._save(record)
        log.info("outbox %s added", item.id)
        return item

    def add_for_signature(
        self, req: UploadRequest, preparer: Practitioner, settings: Settings
    ) -> OutboxItem:
        """A secretary's upload for ``req.on_behalf_of`` (the parapheur): kept TO_SIGN.

        Validated for the card that prepares it (a staff card naming a
        professional of the practice); the CDA is built now, its author the
        professional, so that the signature covers exactly what will be sent.
        Adding the same document again while it waits returns the waiting item.
        """
        require_valid(req, preparer)
        professional = req.on_behalf_of
        if not preparer.is_staff or professional is None:
            raise ValueError("only a staff card prepares an upload for a professional")
        if req.replaces is not None:
            # A secretary cannot read the DMP, hence never chooses a document to replace.
            raise NotAuthorError("replace")
        data = req.data()
        req = replace(req, source=data)
        with self._lock:
            for waiting in self.items():
                if waiting.author_id == preparer.national_id and _same_upload(waiting.request, req):
                    log.info("outbox %s: same document already waiting", waiting.id)
                    return waiting
            now = self._clock()
            item = OutboxItem(
                id=uuid.uuid4().hex,
                state=OutboxState.TO_SIGN,
                request=req,
                unique_id=new_oid(),
                created_at=now,
                updated_at=now,
                author_id=preparer.national_id,
                signer_id=professional.national_id,
                prepared_by=preparer.display_name,
            )
            record = _Record(item, submission_unique_id=new_oid(), signature_unique_id=new_oid())
            self._build(record, build.author_provider(preparer, settings), preparer, settings, None)
            self._save(record)
        log.info("outbox %s added, to sign", item.id)
        return item

    def sign(self, item_id: str, signer: Signer) -> OutboxItem:
        """The professional's card signs a prepared upload (XAdES over its CDA): PENDING.

        Raises :class:`NotSignerError` for any other card (nothing signed),
        :class:`OutboxItemGoneError`, card errors. Signing an item already
        signed returns it unchanged.
        """
        with self._lock:
            record = self._load(item_id)
            if record is None:
                raise OutboxItemGoneError()
            item = record.item
            if item.signer_id is None:
                raise ValueError("not an upload to sign")
            holder = signer.practitioner
            if holder.is_staff or holder.national_id != item.signer_id:
                raise NotSignerError(item.signer_name or item.signer_id)
            if record.signature is not None and item.state is not OutboxState.TO_SIGN:
                return item
            if record.cda is None:
                raise OutboxItemGoneError()  # never happens: built when prepared
            now = self._clock()
            record.signature = xades.sign_submission(
                [xades.SignedDocument(item.unique_id, record.cda)], signer, signing_time=now
            )
            record.item = replace(item, state=OutboxState.PENDING, signed_at=now, updated_at=now)
            self._save(record)
        log.info("outbox %s signed", item_id)
        return record.item

    def discard(self, item_id: str) -> None:
        """Remove an item the user does not want to send (any state; after its send in
        flight, if any, is over)."""
        with self._item_lock(item_id), self._lock:
            if self._load(item_id) is None:
                raise OutboxItemGoneError()
            self._store.delete(self._name(item_id))
        log.info("outbox %s discarded", item_id)

    # -- sending ------------------------------------------------------------------------------

    def send(self, item: OutboxItem, client: DocumentClient, session: Signer) -> DocumentEntry:
        """Send ``item`` (or find that the DMP already has it); returns the registered entry.

        Raises :class:`UploadUnconfirmedError` when the answer was lost (the
        item stays, SENT_UNCONFIRMED), the DMP's refusal (``DmpServiceError``,
        the item stays PENDING with the error code), card errors (nothing
        sent), :class:`OutboxItemGoneError`, :class:`NotAuthorError` (prepared
        by another professional), :class:`UploadInvalidError`.
        """
        with self._item_lock(item.id):
            record = self._load(item.id)
            if record is None:
                raise OutboxItemGoneError()
            practitioner = session.practitioner
            item = record.item
            signed = record.signature is not None
            senders = {item.author_id} | ({item.signer_id} if signed else set())
            if item.author_id and practitioner.national_id not in senders:
                raise NotAuthorError("send")
            if item.state is OutboxState.TO_SIGN:
                raise SignatureAwaitedError(item.signer_name or item.signer_id or "")
            req = record.item.request
            if record.item.state is OutboxState.SENT_UNCONFIRMED:
                found = client.find_by_unique_id(
                    req.patient, record.item.unique_id, type_code=req.type_code
                )
                if found is not None:
                    log.info("outbox %s already in the DMP: confirmed, not sent again", item.id)
                    return self._confirm(record, found)
            require_valid(req, practitioner)
            submission = self._prepare(record, client, practitioner)
            self._mark(record, OutboxState.SENT_UNCONFIRMED, attempt=True)
            # The professional's signature when a secretary prepared it; else the card signs.
            presigned: dict[str, Any] = {"signature": record.signature} if signed else {}
            try:
                if req.replaces is not None:
                    client.replace_document(req.replaces, submission, session, **presigned)
                else:
                    client.upload_document(submission, session, **presigned)
            except DmpServiceError as exc:
                if exc.code in DUPLICATE_CODES:
                    found = client.find_by_unique_id(req.patient, record.item.unique_id)
                    if found is not None:
                        return self._confirm(record, found)
                self._mark(record, OutboxState.PENDING, error=exc.code)
                if req.on_behalf_of is not None and exc.code in _STAFF_REFUSALS:
                    raise OnBehalfRefusedError(exc.code, req.on_behalf_of.display_name) from exc
                raise
            except CardError as exc:
                # The card signs before anything leaves (XAdES, then TLS): nothing was sent.
                self._mark(record, OutboxState.PENDING, error=type(exc).__name__)
                raise
            except DmpDesktopError as exc:
                if _before_sending(exc):
                    self._mark(record, OutboxState.PENDING, error=type(exc).__name__)
                    raise
                self._mark(record, OutboxState.SENT_UNCONFIRMED, error=type(exc).__name__)
                log.info("outbox %s sent, unconfirmed: %s", item.id, type(exc).__name__)
                raise UploadUnconfirmedError(exc) from exc
            try:
                entry = client.find_by_unique_id(
                    req.patient, record.item.unique_id, type_code=req.type_code
                )
            except DmpDesktopError:
                entry = None  # registered (the DMP said so); the listing can wait
            return self._confirm(record, entry or _local_entry(submission, req))

    def _prepare(
        self, record: _Record, client: DocumentClient, practitioner: Practitioner
    ) -> iti41.Submission:
        """The submission of ``record``: the CDA is built once, at the first attempt."""
        req = record.item.request
        card_provider = build.author_provider(practitioner, client.settings)
        provider = _document_provider(req, practitioner, card_provider, client.settings)
        document_author = build.author_values(provider) if provider is not card_provider else None
        if record.cda is None or record.format_code is None or record.creation_time is None:
            self._build(record, card_provider, practitioner, client.settings, client)
            self._save(record)
        cda, format_code, created = record.cda, record.format_code, record.creation_time
        assert cda is not None and format_code is not None and created is not None  # noqa: S101
        document = build.BuiltDocument(cda, record.item.unique_id, format_code, created)
        return build.build_submission(
            req,
            document,
            author=client.author_values(),
            document_author=document_author,
            structure=build.structure_info(provider),
            submission_unique_id=record.submission_unique_id,
            signature_unique_id=record.signature_unique_id,
            source_id=client.lps_oid,
            submission_time=record.submission_time or self._clock(),
            replaces_entry_uuid=req.replaces.entry_uuid if req.replaces is not None else None,
        )

    def _build(
        self,
        record: _Record,
        card_provider: Any,
        practitioner: Practitioner,
        settings: Settings,
        client: DocumentClient | None,
    ) -> None:
        """Build the CDA of ``record`` (once: every attempt sends the same bytes)."""
        req = record.item.request
        provider = _document_provider(req, practitioner, card_provider, settings)
        set_id, version = None, 1
        if req.replaces is not None and req.media_type != build.convert.MEDIA_CDA:
            assert client is not None  # noqa: S101 - add_for_signature refuses a replacement
            previous = build.version_of(client.retrieve_document(req.replaces).content)
            if previous is not None:
                set_id, version = previous[0], previous[1] + 1
        built = build.build_document(
            req,
            provider,
            unique_id=record.item.unique_id,
            now=self._clock(),
            set_id=set_id,
            version=version,
        )
        record.cda = built.content
        record.format_code = built.format_code
        record.creation_time = built.creation_time
        record.submission_time = self._clock()
        if record.item.signer_id is None:
            record.item = replace(record.item, author_id=practitioner.national_id)

    def _mark(
        self,
        record: _Record,
        state: OutboxState,
        *,
        attempt: bool = False,
        error: str | None = None,
    ) -> None:
        record.item = replace(
            record.item,
            state=state,
            updated_at=self._clock(),
            attempts=record.item.attempts + (1 if attempt else 0),
            last_error=error if error is not None else record.item.last_error,
        )
        self._save(record)

    def _confirm(self, record: _Record, entry: DocumentEntry) -> DocumentEntry:
        self._store.delete(self._name(record.item.id))
        log.info("outbox %s confirmed", record.item.id)
        return entry


def _document_provider(
    req: UploadRequest, practitioner: Practitioner, card_provider: Any, settings: Settings
) -> Any:
    """Who the document's author is: the card holder, or — a secretary sending for a
    professional of the card's structure — that professional (the submission set stays the
    card's)."""
    if req.on_behalf_of is None or not practitioner.is_staff:
        return card_provider
    return build.author_provider(
        replace(
            req.on_behalf_of,
            structure_id=card_provider.structure.id,
            structure_name=card_provider.structure.name,
        ),
        settings,
    )


def _same_upload(a: UploadRequest, b: UploadRequest) -> bool:
    def key(req: UploadRequest) -> tuple[object, ...]:
        old = req.replaces.unique_id if req.replaces is not None else None
        digest = hashlib.sha256(req.data()).hexdigest()
        return (req.patient, req.type_code.code, old, digest)

    return key(a) == key(b)


def _before_sending(exc: DmpDesktopError) -> bool:
    """Errors raised before the request could leave (local checks, settings)."""
    from dmp_desktop.dmp.feed_errors import FeedError
    from dmp_desktop.errors import (
        HostCertificateError,
        HostNotReachedError,
        ProxyError,
        SettingsError,
        TlsNegotiationError,
    )

    return isinstance(
        exc,
        FeedError
        | SettingsError
        | HostCertificateError
        | TlsNegotiationError
        | ProxyError
        | HostNotReachedError,  # no connection could be opened
    )


def _local_entry(submission: iti41.Submission, req: UploadRequest) -> DocumentEntry:
    """The entry as sent, when the registry cannot be listed right after the upload."""
    meta = submission.document
    return DocumentEntry(
        entry_uuid="",
        unique_id=meta.unique_id,
        repository_id="",
        patient=meta.patient,
        title=meta.title,
        type_code=meta.type_code,
        class_code=meta.class_code,
        format_code=meta.format_code,
        creation_time=meta.creation_time,
        submission_time=submission.submission_time,
        authors=(_author_of(submission),),
        confidentiality=meta.confidentiality,
        status=DocumentStatus.APPROVED,
        comments=meta.comments,
    )


def _author_of(submission: iti41.Submission) -> Author:
    from dmp_desktop.dmp.xds import parse_xcn

    national_id, family, given, _ = parse_xcn(submission.document_author_values.person)
    return Author(
        national_id=national_id,
        family_name=family,
        given_name=given,
        institution=submission.structure.name,
        institution_id=submission.structure.id,
    )


__all__ = ["DUPLICATE_CODES", "Outbox", "OutboxItem", "OutboxState"]
