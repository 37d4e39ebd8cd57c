"""Where the editor's starting point comes from: the latest VSM in the patient's DMP.

The editor takes a :class:`VsmFetcher`: it starts the search off the UI
thread and calls back on the UI thread. Two are provided:
:func:`blocking_fetcher` runs a plain callable, :data:`LatestVsm` (INS ->
summary or None), as an :class:`Operation` (tests inject a fake this way);
:func:`client_fetcher` runs :func:`latest_vsm_from` through a service that
lends the DMP client of the card session to a worker (``DmpService.call``).

:func:`latest_vsm_from` works over any DMP client with ``find_documents``
(ITI-18) and ``retrieve_document`` (ITI-43): it looks for the patient's
active VSM (type ``SYNTH``), takes the newest, retrieves it and reads it back
with :func:`dmp_desktop.cda.vsm.parse_vsm`. :func:`next_version` turns it
into the starting point of a new version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Protocol

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from dmp_desktop.cda import codes
from dmp_desktop.cda.vsm import parse_vsm
from dmp_desktop.domain.document import (
    Code,
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.summary import CareProvider, MedicalSummary
from dmp_desktop.services.operations import Operation, OperationRunner

LatestVsm = Callable[[Ins], MedicalSummary | None]
OnFetched = Callable[[MedicalSummary | None], None]
OnFailure = Callable[[BaseException], None]
FETCH_LABEL = str(QT_TRANSLATE_NOOP("VsmSource", "Recherche du dernier VSM dans le DMP"))


def _fetch_label() -> str:
    return QCoreApplication.translate("VsmSource", FETCH_LABEL)


VSM_TYPE_CODE = Code("SYNTH", "Synthèse", codes.OID_DOC_TYPES_ASIP)


class VsmDocumentSource(Protocol):
    """What :func:`latest_vsm_from` needs of a DMP client."""

    def find_documents(self, query: DocumentQuery) -> Sequence[DocumentEntry]: ...

    def retrieve_document(self, entry: DocumentEntry) -> RetrievedDocument: ...


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 - explicit for readers


def _when(entry: DocumentEntry) -> datetime:
    value = entry.creation_time or entry.submission_time or entry.service_start
    if value is None:
        return _EPOCH
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)  # noqa: UP017


def latest_vsm_from(client: VsmDocumentSource, ins: Ins) -> MedicalSummary | None:
    """The newest active VSM of the patient, read back; None when the DMP holds none."""
    query = DocumentQuery(
        patient=ins,
        since=None,
        statuses=frozenset({DocumentStatus.APPROVED}),
        type_codes=(VSM_TYPE_CODE,),
    )
    entries = [
        e
        for e in client.find_documents(query)
        if e.type_code.code == VSM_TYPE_CODE.code
        and e.status is DocumentStatus.APPROVED
        and e.patient.value == ins.value
    ]
    if not entries:
        return None
    newest = max(entries, key=_when)
    document = client.retrieve_document(newest)
    return parse_vsm(document.content)


class VsmFetcher(Protocol):
    """Starts looking for the latest VSM; the callbacks run on the UI thread."""

    def __call__(
        self, ins: Ins, on_success: OnFetched, on_failure: OnFailure
    ) -> Operation[Any] | None: ...


def blocking_fetcher(latest: LatestVsm, runner: OperationRunner) -> VsmFetcher:
    """Run ``latest(ins)`` on the runner's pool."""

    def start(ins: Ins, on_success: OnFetched, on_failure: OnFailure) -> Operation[Any] | None:
        return runner.run(Operation(_fetch_label(), lambda: latest(ins), on_success, on_failure))

    return start


class ClientCaller(Protocol):
    """A service that runs ``work(client)`` off the UI thread (``DmpService.call``)."""

    def call(
        self,
        label: str,
        work: Callable[[Any], Any],
        on_success: Callable[[Any], None],
        on_failure: OnFailure,
    ) -> Operation[Any] | None: ...


def client_fetcher(service: ClientCaller) -> VsmFetcher:
    """Look for the latest VSM with the DMP client of the card session."""

    def start(ins: Ins, on_success: OnFetched, on_failure: OnFailure) -> Operation[Any] | None:
        return service.call(
            _fetch_label(), lambda client: latest_vsm_from(client, ins), on_success, on_failure
        )

    return start


def next_version(previous: MedicalSummary, author: CareProvider) -> MedicalSummary:
    """A new version of ``previous`` written by ``author``: same set, next version number.

    The médecin traitant stays who the previous summary said (its author when
    it named none), unless that is the new author.
    """
    treating: CareProvider | None = previous.treating_physician or previous.author
    if (
        treating is not None
        and treating.practitioner.national_id == author.practitioner.national_id
    ):
        treating = None
    return replace(
        previous,
        author=author,
        treating_physician=treating,
        document_id=None,
        version=previous.version + 1,
    )
