"""The consultation of one patient's DMP: access, the list of documents, opening them.

The window tells this service which DMP status it got (TD0.2) and what the
doctor chose; the service decides what the documents pane shows, asks the DMP
off the UI thread (through :meth:`DmpService.call`) and answers with signals.

Honest access: the professional's authorisation is recorded only when the
doctor answers "yes" to the consent question (never automatically); a blocked
professional gets no way around the block; emergency access ("bris de glace",
"centre 15") is a deliberate choice with a reason, and every search and
retrieval then carries that purpose of use until the patient is changed or the
session ends.

Everything about the patient lives in memory only and is dropped when the
patient changes or the card session ends. The one thing kept on disk is the
set of document ids already seen, encrypted (:mod:`dmp_desktop.storage.last_seen`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast

from PySide6.QtCore import QCoreApplication, QObject, Signal

from dmp_desktop import heap
from dmp_desktop.dates import paris_today, utc_now
from dmp_desktop.domain.dmp_status import DmpStatus
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import DmpDesktopError, describe
from dmp_desktop.services.dmp_service import DmpClientLike, DmpService
from dmp_desktop.services.operations import Operation
from dmp_desktop.services.viewable import Viewable, prepare
from dmp_desktop.settings import Settings
from dmp_desktop.storage.last_seen import LastSeen, LastSeenStore
from dmp_desktop.usecases import access as access_rules
from dmp_desktop.usecases.access import (
    EMERGENCY_PURPOSES,
    MAX_REASON_LENGTH,
    MIN_REASON_LENGTH,
    NORMAL_ACCESS,
    PURPOSE_BREAK_GLASS,
    PURPOSE_CENTRE_15,
    PURPOSE_NORMAL,
    AccessMode,
)
from dmp_desktop.usecases.access import ConsultationState as PaneState
from dmp_desktop.usecases.consultation import (
    HeldDates,
    ListScope,
    OlderDocuments,
    Period,
    entry_date,
    list_documents,
    older_documents,
    open_document,
)
from dmp_desktop.usecases.errors import EmergencyAccessError

log = logging.getLogger(__name__)

# Retrieved documents kept in memory for the session (going back is instant).
CACHE_MAX_DOCUMENTS = 40
CACHE_MAX_BYTES = 256 * 1024 * 1024


def _tr(text: str) -> str:
    return QCoreApplication.translate("ConsultationService", text)


def emergency_problem(purpose: str, reason: str) -> str | None:
    """Why this emergency access cannot be started (French), or None if it can.

    The rule is :func:`dmp_desktop.usecases.access.emergency_problem`; this is its text.
    """
    problem = access_rules.emergency_problem(purpose, reason)
    return describe(EmergencyAccessError(problem, purpose)) if problem is not None else None


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListChanges:
    """What a refresh found compared to the list in memory (unique ids)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def summary_fr(self) -> str:
        if self.empty:
            return _tr("aucun changement")
        parts = []
        for count, one, many in (
            (len(self.added), _tr("1 nouveau document"), _tr("{n} nouveaux documents")),
            (len(self.changed), _tr("1 document modifié"), _tr("{n} documents modifiés")),
            (len(self.removed), _tr("1 document retiré"), _tr("{n} documents retirés")),
        ):
            if count:
                parts.append(one if count == 1 else many.format(n=count))
        return ", ".join(parts)


def diff_entries(before: dict[str, DocumentEntry], after: dict[str, DocumentEntry]) -> ListChanges:
    added = tuple(uid for uid in after if uid not in before)
    removed = tuple(uid for uid in before if uid not in after)
    changed = tuple(uid for uid, e in after.items() if uid in before and before[uid] != e)
    return ListChanges(added, changed, removed)


@dataclass(frozen=True)
class DocumentList:
    """The list as the pane shows it."""

    ins: Ins
    entries: tuple[DocumentEntry, ...]
    new_ids: frozenset[str]
    loaded_scope: ListScope
    first_consultation: bool  # nothing recorded before: no "new" marks this time
    last_consultation: datetime | None
    changes: ListChanges | None = None  # set after a refresh (F5)
    refreshed_at: datetime | None = None
    tracking_problem: str | None = None  # French: why "new" cannot be followed

    @property
    def new_count(self) -> int:
        return len(self.new_ids)


@dataclass
class _Fetched:
    entries: list[DocumentEntry]
    previous: LastSeen | None = None
    tracking_error: BaseException | None = None
    # Computed off the UI thread from the patient's state when the list was asked for
    # (a list of thousands: a loop over it is tens of milliseconds of pause otherwise).
    by_id: dict[str, DocumentEntry] = field(default_factory=dict)
    changes: ListChanges | None = None
    new_ids: frozenset[str] = frozenset()
    dates: HeldDates = field(default_factory=HeldDates)  # what a period leaves out


def _merge(
    fetched: _Fetched,
    *,
    before: dict[str, DocumentEntry],
    new_ids: frozenset[str],
    previous: LastSeen | None,
    practitioner: Practitioner | None,
    refresh: bool,
) -> None:
    """The fetched entries against what was shown (``before``): de-duplicated, what changed
    (after a refresh), which are new. Plain Python on the worker thread; fills ``fetched``."""
    after: dict[str, DocumentEntry] = {}
    for entry in fetched.entries:  # de-duplicated by unique id, last one wins
        after[entry.unique_id] = entry
    widening = not refresh and bool(before)
    added = set(new_ids)
    for uid, entry in after.items():
        if uid in before or _authored_by(entry, practitioner):
            continue  # what the doctor just sent is no news to them
        if refresh:  # arrived while the list was on screen
            added.add(uid)
        elif previous is not None and _is_new(entry, previous, widening=widening):
            added.add(uid)
    fetched.by_id = after
    fetched.changes = diff_entries(before, after) if refresh else None
    fetched.new_ids = frozenset(added & after.keys())


@dataclass
class _Patient:
    ins: Ins
    status: DmpStatus
    access: AccessMode = NORMAL_ACCESS
    declined: bool = False
    loaded_scope: ListScope | None = None
    entries: dict[str, DocumentEntry] = field(default_factory=dict)
    dates: HeldDates = field(default_factory=HeldDates)  # of ``entries``
    new_ids: frozenset[str] = frozenset()
    previous: LastSeen | None = None
    previous_loaded: bool = False
    tracking_problem: str | None = None
    last_list: DocumentList | None = None


class _DocumentCache:
    """Retrieved documents of the current patient, in memory only (least recently used out)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Viewable] = OrderedDict()

    def get(self, unique_id: str) -> Viewable | None:
        item = self._items.get(unique_id)
        if item is not None:
            self._items.move_to_end(unique_id)
        return item

    def put(self, unique_id: str, viewable: Viewable) -> None:
        self._items[unique_id] = viewable
        self._items.move_to_end(unique_id)
        while len(self._items) > CACHE_MAX_DOCUMENTS or (
            len(self._items) > 1 and sum(v.size for v in self._items.values()) > CACHE_MAX_BYTES
        ):
            self._items.popitem(last=False)

    def discard(self, unique_id: str) -> None:
        self._items.pop(unique_id, None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, unique_id: object) -> bool:
        return unique_id in self._items


def _open_last_seen(settings: Settings) -> LastSeenStore:
    from dmp_desktop.storage.secure import SecureStore

    store = SecureStore.open(
        settings.local_data_dir() / "state", training_mode=settings.training_mode
    )
    return LastSeenStore(store)


class ConsultationService(QObject):
    """One patient's DMP at a time, for the window."""

    stateChanged = Signal(object)  # PaneState
    accessChanged = Signal(object)  # AccessMode
    loadingChanged = Signal(bool)
    documentsReady = Signal(object)  # DocumentList
    documentsFailed = Signal(str)  # French message
    scopeChanged = Signal(object)  # ListScope the doctor wants to see
    documentLoading = Signal(object)  # DocumentEntry
    documentReady = Signal(object, object)  # DocumentEntry, Viewable
    documentFailed = Signal(object, str)  # DocumentEntry, French message
    # Every retrieval, read-ahead included (emitted from the worker): « L'essentiel » reads it.
    documentRetrieved = Signal(object, object)  # DocumentEntry, RetrievedDocument
    authorizationRecorded = Signal(object)  # Ins: check the status again
    authorizationFailed = Signal(str)
    busyChanged = Signal(bool)  # an authorisation is being recorded

    def __init__(
        self,
        settings: Settings,
        dmp: DmpService,
        *,
        last_seen: Callable[[], LastSeenStore] | None = None,
        today: Callable[[], date] = paris_today,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._dmp = dmp
        self._open_store = last_seen or (lambda: _open_last_seen(settings))
        self._store: LastSeenStore | None = None
        self._store_lock = threading.Lock()
        self._today = today
        self._practitioner: Practitioner | None = None
        self._patient: _Patient | None = None
        self._state = PaneState.EMPTY
        self._scope = ListScope()
        self._cache = _DocumentCache()
        self._list_op: Operation[_Fetched] | None = None
        self._auth_op: Operation[None] | None = None
        self._doc_ops: dict[str, Operation[Viewable]] = {}

    # -- what the window reads --------------------------------------------------------
    @property
    def state(self) -> PaneState:
        return self._state

    @property
    def ins(self) -> Ins | None:
        return self._patient.ins if self._patient is not None else None

    @property
    def status(self) -> DmpStatus | None:
        return self._patient.status if self._patient is not None else None

    @property
    def access(self) -> AccessMode:
        return self._patient.access if self._patient is not None else NORMAL_ACCESS

    @property
    def scope(self) -> ListScope:
        return self._scope

    @property
    def loaded_scope(self) -> ListScope | None:
        return self._patient.loaded_scope if self._patient is not None else None

    @property
    def documents(self) -> DocumentList | None:
        return self._patient.last_list if self._patient is not None else None

    @property
    def loading(self) -> bool:
        return self._list_op is not None and not self._list_op.done

    @property
    def practitioner(self) -> Practitioner | None:
        return self._practitioner

    @property
    def may_see_masked(self) -> bool:
        """Masked documents are for the patient's médecin traitant only."""
        return access_rules.may_see_masked(self.status)

    @property
    def may_declare_treating_physician(self) -> bool:
        return access_rules.may_declare_treating_physician(
            self.status, self._practitioner, self.access
        )

    @property
    def cached_documents(self) -> int:
        return len(self._cache)

    def is_cached(self, entry: DocumentEntry) -> bool:
        return entry.unique_id in self._cache

    def older_documents(self, scope: ListScope | None = None) -> OlderDocuments | None:
        """What the period of ``scope`` (default: the one shown) leaves out of the list in
        hand for this patient (:func:`usecases.consultation.older_documents`): exact when
        the doctor widened to every date earlier for this patient, never asked of the DMP.
        None: no list yet, or every date shown."""
        patient = self._patient
        if patient is None or patient.loaded_scope is None:
            return None
        shown = scope or self._scope
        return older_documents(patient.dates, patient.loaded_scope, shown, self._today())

    # -- session ----------------------------------------------------------------------
    def set_practitioner(self, practitioner: Practitioner | None) -> None:
        """The professional of the card session (None: the session ended)."""
        if practitioner != self._practitioner:
            self.close_patient()
        self._practitioner = practitioner

    def end_session(self) -> None:
        """The card left or the session was closed: forget everything."""
        self.close_patient()
        self._practitioner = None

    def close_patient(self) -> None:
        """Forget the patient: list, documents in memory, emergency mode."""
        self._cancel_all()
        had_emergency = self._patient is not None and self._patient.access.emergency
        self._patient = None
        self._cache.clear()
        self._scope = ListScope()
        self._set_state(PaneState.EMPTY)
        if had_emergency:
            self.accessChanged.emit(NORMAL_ACCESS)

    def _cancel_all(self) -> None:
        ops: list[Operation[object]] = [
            cast(Operation[object], op)
            for op in (self._list_op, self._auth_op, *self._doc_ops.values())
            if op is not None
        ]
        was_loading = self.loading
        was_busy = self._auth_op is not None and not self._auth_op.done
        self._list_op = None
        self._auth_op = None
        self._doc_ops.clear()
        for op in ops:
            if not op.done:
                op.cancel()
        if was_loading:
            self.loadingChanged.emit(False)
        if was_busy:
            self.busyChanged.emit(False)

    def _set_state(self, state: PaneState) -> None:
        self._state = state
        self.stateChanged.emit(state)

    # -- the patient ------------------------------------------------------------------
    def show_status(self, status: DmpStatus) -> None:
        """The DMP answered TD0.2 for the patient in the field: decide what to show."""
        patient = self._patient
        if patient is None or patient.ins != status.ins:
            self.close_patient()
            patient = _Patient(status.ins, status)
            self._patient = patient
        else:
            patient.status = status
            if not access_rules.may_see_masked(status) and self._scope.masked:
                self._scope = self._scope.without_masked()
        self._decide()

    def _decide(self) -> None:
        """What the pane shows: :func:`dmp_desktop.usecases.access.consultation_state`."""
        patient = self._patient
        if patient is None:
            self._set_state(PaneState.EMPTY)
            return
        state = access_rules.consultation_state(
            patient.status, self._practitioner, patient.access, declined=patient.declined
        )
        if state is not PaneState.DOCUMENTS and patient.access.emergency:
            # Blocked (or no longer readable): no emergency access either.
            patient.access = NORMAL_ACCESS
            self.accessChanged.emit(NORMAL_ACCESS)
        self._set_state(state)
        if state is PaneState.DOCUMENTS and patient.loaded_scope is None and not self.loading:
            self._load(self._scope, refresh=False)

    def decline_consent(self) -> None:
        """The doctor answered "no": nothing is sent to the DMP."""
        if self._patient is not None and self._state is PaneState.ASK_CONSENT:
            self._patient.declined = True
            self._set_state(PaneState.DECLINED)

    def ask_consent_again(self) -> None:
        if self._patient is not None and self._state is PaneState.DECLINED:
            self._patient.declined = False
            self._set_state(PaneState.ASK_CONSENT)

    def record_consent(self, *, treating_physician: bool = False) -> bool:
        """The doctor answered "yes": record the authorisation (and médecin traitant if chosen)."""
        if self._patient is None or self._state not in (
            PaneState.ASK_CONSENT,
            PaneState.DECLINED,
        ):
            return False
        return self._set_authorization(treating_physician=treating_physician)

    def declare_treating_physician(self) -> bool:
        """The patient designates this doctor as médecin traitant DMP (asked explicitly)."""
        if not self.may_declare_treating_physician or self._state is not PaneState.DOCUMENTS:
            return False
        return self._set_authorization(treating_physician=True)

    def _set_authorization(self, *, treating_physician: bool) -> bool:
        patient = self._patient
        if patient is None or (self._auth_op is not None and not self._auth_op.done):
            return False
        ins = patient.ins

        def work(client: DmpClientLike) -> None:
            # Called only from the doctor's « oui » to the consent question (or to the
            # explicit médecin traitant question): the patient consented.
            access_rules.authorise(
                client, ins, patient_consented=True, treating_physician=treating_physician
            )

        op = self._dmp.call(
            self.tr("Enregistrement de l'autorisation d'accès"),
            work,
            lambda _none: self._on_authorization(op_ref, ins),
            lambda exc: self._on_authorization_failed(op_ref, exc),
            on_cancel=lambda: self._on_authorization_cancelled(op_ref),
        )
        if op is None:
            self.authorizationFailed.emit(
                self.tr("Connectez-vous avec votre carte CPS pour consulter le DMP.")
            )
            return False
        op_ref = op
        self._auth_op = op
        self.busyChanged.emit(True)
        return True

    def _on_authorization(self, op: Operation[None], ins: Ins) -> None:
        if op is not self._auth_op:
            return
        self._auth_op = None
        self.busyChanged.emit(False)
        if self._patient is not None and self._patient.ins == ins:
            self._patient.declined = False
            self.authorizationRecorded.emit(ins)

    def _on_authorization_cancelled(self, op: Operation[None]) -> None:
        if op is not self._auth_op:
            return
        self._auth_op = None
        self.busyChanged.emit(False)
        self.authorizationFailed.emit(
            self.tr(
                "Enregistrement annulé. Vérifiez à nouveau le DMP du patient pour savoir "
                "si l'autorisation a été enregistrée."
            )
        )

    def _on_authorization_failed(self, op: Operation[None], exc: BaseException) -> None:
        if op is not self._auth_op:
            return
        self._auth_op = None
        self.busyChanged.emit(False)
        self.authorizationFailed.emit(describe(exc))

    # -- emergency access ---------------------------------------------------------------
    @property
    def may_use_emergency_access(self) -> bool:
        return self._patient is not None and access_rules.may_use_emergency_access(self._state)

    def start_emergency_access(self, purpose: str, reason: str) -> str | None:
        """Open the DMP in emergency mode; returns why it cannot (French) or None.

        The reason's rule is :func:`dmp_desktop.usecases.access.emergency_access`.
        """
        refusal = access_rules.emergency_refusal(self._state)
        if self._patient is None or refusal is not None:
            return describe(EmergencyAccessError(refusal or "not_possible", purpose))
        try:
            access = access_rules.emergency_access(purpose, reason)
        except EmergencyAccessError as exc:
            return describe(exc)
        self._patient.access = access
        self.accessChanged.emit(access)
        self._decide()
        return None

    # -- the list ---------------------------------------------------------------------
    def set_scope(self, scope: ListScope) -> None:
        """The doctor changed the period or the statuses: filter, or ask the DMP if wider."""
        if scope.masked and not self.may_see_masked:
            scope = scope.without_masked()
        if scope == self._scope:
            return
        self._scope = scope
        self.scopeChanged.emit(scope)
        patient = self._patient
        if patient is None or self._state is not PaneState.DOCUMENTS:
            return
        loaded = patient.loaded_scope
        if loaded is not None and loaded.covers(scope):
            return
        wanted = loaded.widened(scope) if loaded is not None else scope
        self._load(wanted, refresh=False)

    def refresh(self) -> bool:
        """F5: ask the DMP again for what is loaded and tell what changed."""
        patient = self._patient
        if patient is None or self._state is not PaneState.DOCUMENTS:
            return False
        scope = patient.loaded_scope or self._scope
        self._load(scope, refresh=patient.loaded_scope is not None)
        return True

    def _load(self, scope: ListScope, *, refresh: bool) -> None:
        patient = self._patient
        practitioner = self._practitioner
        if patient is None:
            return
        previous_op = self._list_op
        if previous_op is not None and not previous_op.done:
            previous_op.on_cancel = None  # superseded: its answer is ignored
            previous_op.cancel()
            previous_op = None
        ins = patient.ins
        access = patient.access
        today = self._today()
        read_previous = not patient.previous_loaded
        professional = practitioner.national_id if practitioner is not None else None
        # The patient's state as the answer will meet it: only this operation's answer is
        # taken (_on_documents), and only _on_documents changes these.
        before, new_ids, known = patient.entries, patient.new_ids, patient.previous

        def work(client: DmpClientLike) -> _Fetched:
            with heap.kept_out_of_collection():
                entries = list_documents(client, ins, scope, access, today=today)
            fetched = _Fetched(list(entries))
            if professional is not None:
                try:
                    store = self._last_seen_store()
                    if read_previous:
                        fetched.previous = store.load(professional, ins)
                    store.record(professional, ins, [e.unique_id for e in entries])
                except (DmpDesktopError, OSError, ValueError) as exc:
                    log.warning("last-seen state unavailable: %s", type(exc).__name__)
                    fetched.tracking_error = exc
            previous = known
            if read_previous and fetched.tracking_error is None:
                previous = fetched.previous  # what _on_documents will keep
            _merge(
                fetched,
                before=before,
                new_ids=new_ids,
                previous=previous,
                practitioner=practitioner,
                refresh=refresh,
            )
            fetched.dates = HeldDates.of(fetched.by_id.values())
            return fetched

        label = (
            self.tr("Actualisation de la liste des documents")
            if refresh
            else self.tr("Recherche des documents du patient")
        )
        op = self._dmp.call(
            label,
            work,
            lambda fetched: self._on_documents(op_ref, scope, refresh, fetched),
            lambda exc: self._on_documents_failed(op_ref, exc),
            on_cancel=lambda: self._on_documents_cancelled(op_ref),
        )
        if op is None:
            self.documentsFailed.emit(
                self.tr("Connectez-vous avec votre carte CPS pour consulter le DMP.")
            )
            return
        op_ref = op
        self._list_op = op
        if previous_op is None:
            self.loadingChanged.emit(True)

    def _last_seen_store(self) -> LastSeenStore:
        with self._store_lock:
            if self._store is None:
                self._store = self._open_store()
            return self._store

    def _on_documents(
        self, op: Operation[_Fetched], scope: ListScope, refresh: bool, fetched: _Fetched
    ) -> None:
        patient = self._patient
        if op is not self._list_op or patient is None:
            return
        self._list_op = None
        if not patient.previous_loaded and fetched.tracking_error is None:
            patient.previous = fetched.previous
            patient.previous_loaded = True
        if fetched.tracking_error is not None:
            patient.tracking_problem = self.tr(
                "Les nouveautés depuis votre dernière consultation ne peuvent pas être "
                "suivies : {reason}"
            ).format(reason=describe(fetched.tracking_error))
        else:
            patient.tracking_problem = None
        after = fetched.by_id  # merged on the worker thread (_merge)
        changes = fetched.changes
        previous = patient.previous
        patient.new_ids = fetched.new_ids
        patient.entries = after
        patient.dates = fetched.dates
        patient.loaded_scope = scope
        listing = DocumentList(
            ins=patient.ins,
            entries=tuple(after.values()),
            new_ids=fetched.new_ids,
            loaded_scope=scope,
            first_consultation=patient.previous_loaded and previous is None,
            last_consultation=previous.at if previous is not None else None,
            changes=changes,
            refreshed_at=utc_now() if refresh else None,
            tracking_problem=patient.tracking_problem,
        )
        patient.last_list = listing
        for uid in (changes.changed + changes.removed) if changes else ():
            self._cache_drop(uid)
        self.loadingChanged.emit(False)
        self.documentsReady.emit(listing)

    def _on_documents_cancelled(self, op: Operation[_Fetched]) -> None:
        if op is not self._list_op:
            return
        self._list_op = None
        self.loadingChanged.emit(False)
        self.documentsFailed.emit(
            self.tr("Recherche des documents annulée. Appuyez sur F5 pour la relancer.")
        )

    def _on_documents_failed(self, op: Operation[_Fetched], exc: BaseException) -> None:
        if op is not self._list_op:
            return
        self._list_op = None
        self.loadingChanged.emit(False)
        self.documentsFailed.emit(describe(exc))

    # -- documents --------------------------------------------------------------------
    def open_document(self, entry: DocumentEntry, *, silent: bool = False) -> None:
        """Retrieve ``entry`` (or take it from memory); answers with documentReady.

        ``silent`` prefetches: no progress shown, and a failure is not reported.
        """
        patient = self._patient
        if patient is None or entry.unique_id not in patient.entries:
            return
        cached = self._cache.get(entry.unique_id)
        if cached is not None:
            if not silent:
                self.documentReady.emit(entry, cached)
            return
        running = self._doc_ops.get(entry.unique_id)
        if running is not None and not running.done:
            if not silent and running.silent:
                running.silent = False  # asked for now: report its outcome
                self.documentLoading.emit(entry)
            return
        access = patient.access
        uid = entry.unique_id

        def work(client: DmpClientLike) -> Viewable:
            document = open_document(client, entry, access)
            self.documentRetrieved.emit(entry, document)
            return prepare(document)

        op = self._dmp.call(
            self.tr("Ouverture du document"),
            work,
            lambda viewable: self._on_document(op_ref, entry, viewable),
            lambda exc: self._on_document_failed(op_ref, entry, exc),
            silent=silent,
            on_cancel=lambda: self._on_document_cancelled(op_ref, entry),
        )
        if op is None:
            if not silent:
                self.documentFailed.emit(
                    entry, self.tr("Connectez-vous avec votre carte CPS pour consulter le DMP.")
                )
            return
        op_ref = op
        self._doc_ops[uid] = op
        if not silent:
            self.documentLoading.emit(entry)

    def _on_document(self, op: Operation[Viewable], entry: DocumentEntry, view: Viewable) -> None:
        if self._doc_ops.get(entry.unique_id) is not op:
            return
        del self._doc_ops[entry.unique_id]
        self._cache.put(entry.unique_id, view)
        if not op.silent:
            self.documentReady.emit(entry, view)

    def _on_document_cancelled(self, op: Operation[Viewable], entry: DocumentEntry) -> None:
        if self._doc_ops.get(entry.unique_id) is not op:
            return
        del self._doc_ops[entry.unique_id]
        if not op.silent:
            self.documentFailed.emit(
                entry, self.tr("Ouverture annulée. Appuyez sur Entrée pour réessayer.")
            )

    def _on_document_failed(
        self, op: Operation[Viewable], entry: DocumentEntry, exc: BaseException
    ) -> None:
        if self._doc_ops.get(entry.unique_id) is not op:
            return
        del self._doc_ops[entry.unique_id]
        if not op.silent:
            self.documentFailed.emit(entry, describe(exc))

    def _cache_drop(self, unique_id: str) -> None:
        self._cache.discard(unique_id)


def _authored_by(entry: DocumentEntry, practitioner: Practitioner | None) -> bool:
    """``entry`` names the professional of the session among its authors."""
    if practitioner is None:
        return False
    own = {practitioner.national_id, practitioner.rpps}
    return any(a.national_id is not None and a.national_id in own for a in entry.authors)


def _is_new(entry: DocumentEntry, previous: LastSeen, *, widening: bool) -> bool:
    """Not seen at the previous consultations.

    When the doctor widens the period, older documents never listed before
    appear: they are new only if they reached the DMP after the last
    consultation (a report of 2019 scanned and sent yesterday).
    """
    if entry.unique_id in previous.unique_ids:
        return False
    if not widening or previous.at is None or entry.submission_time is None:
        return True
    submitted = entry.submission_time
    if submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=UTC)
    last = previous.at if previous.at.tzinfo is not None else previous.at.replace(tzinfo=UTC)
    return submitted > last - timedelta(minutes=5)


__all__ = [
    "CACHE_MAX_BYTES",
    "EMERGENCY_PURPOSES",
    "MAX_REASON_LENGTH",
    "MIN_REASON_LENGTH",
    "NORMAL_ACCESS",
    "PURPOSE_BREAK_GLASS",
    "PURPOSE_CENTRE_15",
    "PURPOSE_NORMAL",
    "AccessMode",
    "ConsultationService",
    "DocumentList",
    "ListChanges",
    "ListScope",
    "PaneState",
    "Period",
    "diff_entries",
    "emergency_problem",
    "entry_date",
]
