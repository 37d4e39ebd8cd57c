"""Typed errors of the use cases: a rule said no before anything was sent to the DMP.

They carry codes and data, never prose nor health data; each names its
message of :mod:`dmp_desktop.messages` (``usecase.*``), so that the ``dmp``
command and the window say the same thing for the same rule
(``dmp_desktop.errors.describe``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.messages import Msg, msg


class UseCaseError(DmpDesktopError):
    """Base: a DMP rule refused the request; nothing was sent."""

    message_id = "usecase.refused"


_CONSENT_IDS = {
    "access": "usecase.consent.access",
    "creation": "usecase.consent.creation",
    "legal_representative": "usecase.consent.legal_representative",
}


class ConsentNotGivenError(UseCaseError):
    """The professional did not confirm that the patient consented: nothing recorded.

    ``what``: ``access`` (TD0.3), ``creation`` (TD1.1), ``legal_representative``
    (a minor's creation without the legal representative's named consent).
    """

    def __init__(self, what: str = "access") -> None:
        super().__init__(what)
        self.what = what

    def message(self) -> Msg:
        return msg(_CONSENT_IDS.get(self.what, "usecase.consent.access"))


_EMERGENCY_IDS = {
    "purpose": "usecase.emergency.purpose",
    "reason_missing": "usecase.emergency.reason_missing",
    "reason_too_short": "usecase.emergency.reason_too_short",
    "reason_too_long": "usecase.emergency.reason_too_long",
    "reason_without_emergency": "usecase.emergency.reason_without_emergency",
    "not_possible": "usecase.emergency.not_possible",
    "no_dmp": "usecase.emergency.no_dmp",
    "closed": "usecase.emergency.closed",
    "staff": "usecase.emergency.staff",
    "blocked": "usecase.emergency.blocked",
    "not_needed": "usecase.emergency.not_needed",
}


class EmergencyAccessError(UseCaseError):
    """The emergency access cannot start as asked.

    ``problem``: ``purpose`` (no valid emergency purpose chosen),
    ``reason_missing``, ``reason_too_short``, ``reason_too_long``,
    ``reason_without_emergency`` (a reason given for a normal access); who may use it:
    ``blocked`` (the patient blocked this professional), ``no_dmp``, ``closed``,
    ``staff`` (a secretary's card), ``not_needed`` (already authorised),
    ``not_possible`` (no patient).
    """

    def __init__(self, problem: str, purpose: str | None = None) -> None:
        super().__init__(problem, purpose)
        self.problem = problem
        self.purpose = purpose

    @property
    def about_the_request(self) -> bool:
        """The request itself is wrong (purpose, reason), not who makes it for whom."""
        return self.problem == "purpose" or self.problem.startswith("reason")

    def message(self) -> Msg:
        from dmp_desktop.usecases.access import MAX_REASON_LENGTH, MIN_REASON_LENGTH

        message_id = _EMERGENCY_IDS.get(self.problem, "usecase.emergency.not_possible")
        return msg(message_id, min=MIN_REASON_LENGTH, max=MAX_REASON_LENGTH)


_UPLOAD_REFUSAL_IDS = {
    "no_card": "usecase.upload.no_card",
    "no_status": "usecase.upload.no_status",
    "no_dmp": "usecase.upload.no_dmp",
    "closed": "usecase.upload.closed",
    "blocked": "usecase.upload.blocked",
    "no_authorisation": "usecase.upload.no_authorisation",
}


class UploadRefusedError(UseCaseError):
    """Nothing can be sent to this patient's DMP now; ``reason``: ``no_card``,
    ``no_status``, ``no_dmp``, ``closed``, ``blocked``, ``no_authorisation``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def message(self) -> Msg:
        return msg(_UPLOAD_REFUSAL_IDS.get(self.reason, "usecase.upload.no_status"))


class ObjectionError(UseCaseError):
    """The patient objected to this very file being sent (recognised by its SHA-256)."""

    message_id = "usecase.objection"

    def __init__(self, since: datetime) -> None:
        super().__init__(since.isoformat())
        self.since = since

    def message_params(self) -> dict[str, Any]:
        from dmp_desktop.dates import fr_date

        return {"date": fr_date(self.since)}


class NotYourUploadError(UseCaseError):
    """This pending upload was prepared with another card: only its author may see,
    send, discard or withdraw it."""

    message_id = "usecase.outbox.not_yours"


class DocumentNotFoundError(UseCaseError):
    """No document of this DMP has this unique id, or it is not accessible to the card holder."""

    message_id = "usecase.document_not_found"


class InvalidFilterError(UseCaseError):
    """A document type typed as a list filter is not a code (``value`` is what was typed)."""

    message_id = "usecase.invalid_type_filter"

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value

    def message_params(self) -> dict[str, Any]:
        return {"value": self.value}


class NoDmpError(UseCaseError):
    """The patient has no DMP (TD0.2 said so): nothing was sent."""

    message_id = "usecase.no_dmp"


_CLOSURE_IDS = {
    "kind": "usecase.closure.kind",
    "too_short": "usecase.closure.too_short",
    "too_long": "usecase.closure.too_long",
}


_SECRET_IDS = {
    "no_card": "usecase.secret.no_card",
    "no_status": "usecase.secret.no_status",
    "no_dmp": "usecase.secret.no_dmp",
    "staff": "usecase.secret.staff",
    "blocked": "usecase.secret.blocked",
    "closed": "usecase.secret.closed",
    "not_minor": "usecase.secret.not_minor",
}


class SecretConnectionError(UseCaseError):
    """A minor's secret connection cannot be declared now; ``reason``: a code of
    :func:`dmp_desktop.usecases.records.record_action_refusals` (``not_minor``, ``staff``,
    ``blocked``, ``closed``, ``no_dmp``, ``no_card``, ``no_status``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def message(self) -> Msg:
        return msg(_SECRET_IDS.get(self.reason, "usecase.secret.no_status"))


class ClosureReasonError(UseCaseError):
    """The closure's reason is of an unknown kind (``kind``), ``too_short`` or ``too_long``."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem

    def message(self) -> Msg:
        from dmp_desktop.usecases.records import MAX_CLOSURE_REASON, MIN_CLOSURE_REASON

        message_id = _CLOSURE_IDS.get(self.problem, "usecase.closure.too_short")
        return msg(message_id, min=MIN_CLOSURE_REASON, max=MAX_CLOSURE_REASON)


class SummaryPatientMismatchError(UseCaseError):
    """The medical summary is about another patient than the one chosen: nothing sent."""

    message_id = "usecase.summary_other_patient"


__all__ = [
    "ClosureReasonError",
    "ConsentNotGivenError",
    "DocumentNotFoundError",
    "EmergencyAccessError",
    "InvalidFilterError",
    "NoDmpError",
    "NotYourUploadError",
    "ObjectionError",
    "SecretConnectionError",
    "SummaryPatientMismatchError",
    "UploadRefusedError",
    "UseCaseError",
]
