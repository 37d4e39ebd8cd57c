"""The medical summary (VSM) in the DMP: found once, sent once, for both doors.

* :func:`vsm_entries` is THE lookup of the patient's VSMs: type ``SYNTH``,
  active, every date, masked ones included (the DMP shows them to whom it
  may), this patient only. Everything else derives from it:
  :func:`my_previous_vsm` (the newest one I wrote: what my new VSM replaces,
  RPLC) and :func:`latest_vsm` (the newest one, whoever wrote it: where the
  editor starts).
* :func:`prepare_vsm` builds the VSM to send: the author is the card holder
  acting for the structure of the card (or of the settings), the version
  follows my previous VSM's (same set id), the three visibility choices are
  explicit; the result goes through the outbox like any upload
  (:meth:`~dmp_desktop.usecases.upload.UploadDesk.queue`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from dmp_desktop.alimentation import MEDIA_CDA, UploadRequest, check_upload, type_code
from dmp_desktop.alimentation.build import author_provider, version_of
from dmp_desktop.dmp.feed_errors import UploadInvalidError
from dmp_desktop.domain.document import (
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import CareProvider, MedicalSummary, PatientIdentity
from dmp_desktop.settings import Settings
from dmp_desktop.usecases.errors import SummaryPatientMismatchError
from dmp_desktop.usecases.upload import Visibility, same_ins

VSM_TYPE = "SYNTH"
DEFAULT_TITLE = "Synthèse médicale"


class VsmSource(Protocol):
    """What the lookups need of a DMP client (ITI-18, ITI-43)."""

    def find_documents(self, query: DocumentQuery) -> Sequence[DocumentEntry]: ...

    def retrieve_document(self, entry: DocumentEntry) -> RetrievedDocument: ...


def vsm_query(ins: Ins) -> DocumentQuery:
    return DocumentQuery(
        patient=ins,
        since=None,
        statuses=frozenset({DocumentStatus.APPROVED}),
        include_masked=True,
        type_codes=(type_code(VSM_TYPE),),
    )


def vsm_entries(client: VsmSource, ins: Ins) -> list[DocumentEntry]:
    """The patient's active VSMs, as the DMP shows them to the card holder."""
    return [
        e
        for e in client.find_documents(vsm_query(ins))
        if e.type_code.code == VSM_TYPE
        and e.status is DocumentStatus.APPROVED
        and same_ins(e.patient, ins)
    ]


def _when(entry: DocumentEntry) -> datetime:
    moment = entry.creation_time or entry.submission_time or entry.service_start
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def newest(entries: Sequence[DocumentEntry]) -> DocumentEntry | None:
    return max(entries, key=_when) if entries else None


def my_previous_vsm(client: VsmSource, ins: Ins, national_id: str) -> DocumentEntry | None:
    """The newest active VSM of this DMP written by ``national_id`` (what a new one replaces)."""
    mine = [
        e for e in vsm_entries(client, ins) if any(a.national_id == national_id for a in e.authors)
    ]
    return newest(mine)


def latest_vsm(client: VsmSource, ins: Ins) -> MedicalSummary | None:
    """The newest active VSM of the patient, whoever wrote it, read back (None: there is none)."""
    from dmp_desktop.cda.vsm import parse_vsm

    entry = newest(vsm_entries(client, ins))
    if entry is None:
        return None
    return parse_vsm(client.retrieve_document(entry).content)


def vsm_author(practitioner: Practitioner, settings: Settings) -> CareProvider:
    """The author of a VSM: the card holder, for the structure of the card or of the settings."""
    return author_provider(practitioner, settings)


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


def prepare_vsm(
    client: VsmSource,
    practitioner: Practitioner,
    settings: Settings,
    ins: Ins,
    summary: MedicalSummary,
    visibility: Visibility,
    *,
    identity: PatientIdentity | None = None,
) -> UploadRequest:
    """The VSM to send to ``ins``'s DMP, replacing my previous one (RPLC) when there is one.

    ``identity``: the patient's INS traits for the header (default: the
    summary's own). Raises :class:`SummaryPatientMismatchError` when the
    summary is about another patient, ``SummaryInvalidError`` when it cannot
    give a valid VSM, ``UploadInvalidError`` for the upload's own rules.
    """
    from dmp_desktop.cda.vsm import build_vsm

    patient = identity or summary.patient
    if patient.ins.value != ins.value or summary.patient.ins.value != ins.value:
        raise SummaryPatientMismatchError()
    patient = replace(patient, ins=ins)
    previous = my_previous_vsm(client, ins, practitioner.national_id)
    set_id, version = None, 1
    if previous is not None:
        found = version_of(client.retrieve_document(previous).content)
        if found is not None:
            set_id, version = found[0], found[1] + 1
    document = replace(
        summary,
        patient=patient,
        author=vsm_author(practitioner, settings),
        document_id=None,
        set_id=set_id,
        version=version,
    )
    req = UploadRequest(
        patient=ins,
        source=build_vsm(document),
        filename="vsm.xml",
        media_type=MEDIA_CDA,
        type_code=type_code(VSM_TYPE),
        service_date=document.effective_time.date(),
        title=document.title or DEFAULT_TITLE,
        masked=visibility.masked,
        invisible_patient=visibility.invisible_patient,
        invisible_legal_reps=visibility.invisible_legal_reps,
        replaces=previous,
        identity=patient,
    )
    problems = check_upload(req, holder=practitioner)
    if problems:
        raise UploadInvalidError(problems)
    return req


__all__ = [
    "DEFAULT_TITLE",
    "VSM_TYPE",
    "latest_vsm",
    "my_previous_vsm",
    "newest",
    "next_version",
    "prepare_vsm",
    "vsm_author",
    "vsm_entries",
    "vsm_query",
]
