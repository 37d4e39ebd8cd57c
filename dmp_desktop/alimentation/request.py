"""What the professional asks to send, and every reason it cannot be sent as it is.

:class:`UploadRequest` is what the upload dialog (and ``dmp upload``) fills
in: the patient and the traits of the qualified INS, the file, the document
type (J07), the date of the act, the title and the three visibility choices,
each always given explicitly; optionally the document it replaces and, for a
staff card (secretary), the practice's professional it is sent for.
:func:`validate_upload` lists every problem at once, in French; nothing is
sent while one remains (:class:`~dmp_desktop.alimentation.Outbox` refuses it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dmp_desktop import xmlsafe
from dmp_desktop.alimentation import convert, doctypes
from dmp_desktop.cda.codes import TPL_VSM
from dmp_desktop.cda.errors import CdaError
from dmp_desktop.cda.header import read_header
from dmp_desktop.dates import paris_today
from dmp_desktop.dmp.feed_errors import UploadInvalidError, problem_fr
from dmp_desktop.domain.document import Code, DocumentEntry, DocumentStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import PatientIdentity

MAX_TITLE = 255


@dataclass(frozen=True)
class UploadRequest:
    """One document to send to a patient's DMP (or to replace one with).

    ``source`` is the file's bytes or its path; ``media_type`` the type the
    caller knows (``None``: decided from the content; ``application/hl7-cda+xml``:
    a CDA document built by this software, the VSM, sent as it is).
    ``identity`` holds the traits of the patient's qualified INS (birth
    names, birth date and place, sex): no upload without them.
    """

    patient: Ins
    source: bytes | Path = field(repr=False)
    filename: str
    media_type: str | None
    type_code: Code
    service_date: date
    title: str
    masked: bool
    invisible_patient: bool
    invisible_legal_reps: bool
    replaces: DocumentEntry | None = None
    identity: PatientIdentity | None = field(default=None, repr=False)
    comments: str = ""
    # A staff card (secretary) uploads for one of the practice's professionals:
    # the document's author; the card holder stays the submitter.
    on_behalf_of: Practitioner | None = None

    def data(self) -> bytes:
        """The file's bytes (read from disk when ``source`` is a path)."""
        if isinstance(self.source, Path):
            return self.source.read_bytes()
        return self.source


def _identity_problems(req: UploadRequest) -> list[str]:
    identity = req.identity
    if identity is None:
        return ["ins_not_qualified"]
    if identity.ins.value != req.patient.value or identity.ins.kind is not req.patient.kind:
        return ["identity_mismatch"]
    if not identity.birth_family_name.strip() or not any(
        g.strip() for g in identity.birth_given_names
    ):
        return ["ins_not_qualified"]
    if not identity.birthplace_code:
        return ["birthplace_missing"]
    return []


def _cda_problems(req: UploadRequest, data: bytes) -> list[str]:
    """A pre-built CDA: it must be a VSM about this patient."""
    try:
        header = read_header(xmlsafe.parse(data))
    except (xmlsafe.UnsafeXmlError, CdaError):
        return ["not_a_vsm"]
    if TPL_VSM not in header.template_ids or not header.document_id:
        return ["not_a_vsm"]
    patient = header.patient
    if patient is None or patient.ins.value != req.patient.value:
        return ["identity_mismatch"]
    return []


def _author_problems(req: UploadRequest, holder: Practitioner | None) -> list[str]:
    """Who the document's author is: the professional, never a secretary."""
    other = req.on_behalf_of
    if other is not None and other.is_staff:
        return ["on_behalf_of_staff"]
    if holder is None:
        return []
    if holder.is_staff:
        return ["on_behalf_of_missing"] if other is None else []
    if other is not None and other.national_id != holder.national_id:
        return ["on_behalf_of_not_staff"]
    return []


def check_upload(
    req: UploadRequest, *, today: date | None = None, holder: Practitioner | None = None
) -> list[str]:
    """Problem codes (``upload.problem.<code>`` in :mod:`dmp_desktop.messages`); empty: can be sent.

    ``holder``: the card holder, when known (a staff card must name the
    professional it uploads for; a professional uploads only as themself).
    """
    problems: list[str] = _author_problems(req, holder)
    if req.media_type != convert.MEDIA_CDA:
        problems += _identity_problems(req)
    try:
        data = req.data()
    except OSError:
        data = b""
    media, source_problems = convert.check_source(data, req.media_type)
    problems += source_problems
    if media == convert.MEDIA_CDA and not source_problems:
        problems += _cda_problems(req, data)
    code = req.type_code.code
    if not doctypes.is_known_type(code):
        problems.append("unknown_type")
    elif not doctypes.for_professionals(code):
        problems.append("type_not_for_professionals")
    title = req.title.strip()
    if not title:
        problems.append("title_missing")
    elif len(title) > MAX_TITLE:
        problems.append("title_too_long")
    if req.service_date > (today or paris_today()):
        problems.append("date_in_future")
    elif req.service_date.year < 1900:
        problems.append("date_too_old")
    if req.masked and req.invisible_patient:
        problems.append("forbidden_visibility")
    old = req.replaces
    if old is not None:
        if old.status is not DocumentStatus.APPROVED:
            problems.append("replaced_not_approved")
        if old.patient.value != req.patient.value or old.patient.kind is not req.patient.kind:
            problems.append("replaced_other_patient")
    return list(dict.fromkeys(problems))  # each once, in order


def validate_upload(req: UploadRequest, holder: Practitioner | None = None) -> list[str]:
    """Every reason ``req`` cannot be sent, in French (empty list: it can be sent)."""
    return [problem_fr(code) for code in check_upload(req, holder=holder)]


def require_valid(req: UploadRequest, holder: Practitioner | None = None) -> None:
    problems = check_upload(req, holder=holder)
    if problems:
        raise UploadInvalidError(problems)


__all__ = ["MAX_TITLE", "UploadRequest", "check_upload", "require_valid", "validate_upload"]
