"""Access to a patient's DMP: consent, emergency access, and what the professional may see.

The rules, once for both doors:

* **Consent is never automatic.** :func:`authorise` records the
  professional's authorisation (TD0.3) only with ``patient_consented=True``,
  which the window passes when the doctor answers « oui » to the consent
  question and the ``dmp`` command when the professional confirmed it
  (``--yes`` or the interactive question).
* **Emergency access** (« bris de glace », « centre 15 ») is a deliberate
  choice with a reason: :func:`emergency_access` is the one rule for that
  reason, the same for both purposes: whitespace collapsed, at least
  :data:`MIN_REASON_LENGTH` and at most :data:`MAX_REASON_LENGTH`
  characters. The reason is traced by the DMP and told to the patient
  afterwards, whether a regulating doctor or an emergency physician opened
  the record: one bar for both. The reason is an input of the use case;
  where it travels on the wire is the DMP client's business.
* **What the pane shows** (:func:`consultation_state`): a staff card never
  reads; no DMP, a closed DMP, a professional blocked by the patient (no
  emergency access either), an authorised professional or an emergency
  access sees the documents, otherwise the consent question.
* **What the DMP's answer means for this card** (:func:`status_summary`): the
  one sentence the window's status panel and ``dmp status`` print; a staff
  card is told what it may do (feed, not read), never to ask for a consent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.usecases.errors import ConsentNotGivenError, EmergencyAccessError

PURPOSE_NORMAL = "normal"
PURPOSE_BREAK_GLASS = "bris_de_glace"
PURPOSE_CENTRE_15 = "centre_15"
EMERGENCY_PURPOSES = (PURPOSE_BREAK_GLASS, PURPOSE_CENTRE_15)
MIN_REASON_LENGTH = 10
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class AccessMode:
    """The purpose of use every request carries, and the reason given for an emergency."""

    purpose: str = PURPOSE_NORMAL
    reason: str | None = None

    @property
    def emergency(self) -> bool:
        return self.purpose in EMERGENCY_PURPOSES


NORMAL_ACCESS = AccessMode()


def clean_reason(text: str | None) -> str:
    """The reason as it is kept and sent: inner whitespace collapsed, ends trimmed."""
    return " ".join((text or "").split())


def emergency_problem(purpose: str | None, reason: str | None) -> str | None:
    """Why this emergency access cannot start (a code of :class:`EmergencyAccessError`)."""
    if purpose not in EMERGENCY_PURPOSES:
        return "purpose"
    text = clean_reason(reason)
    if not text:
        return "reason_missing"
    if len(text) < MIN_REASON_LENGTH:
        return "reason_too_short"
    if len(text) > MAX_REASON_LENGTH:
        return "reason_too_long"
    return None


def emergency_access(purpose: str | None, reason: str | None) -> AccessMode:
    """The emergency access asked for; raises :class:`EmergencyAccessError` if the rule says no."""
    problem = emergency_problem(purpose, reason)
    if problem is not None:
        raise EmergencyAccessError(problem, purpose)
    assert purpose is not None  # noqa: S101 - checked by emergency_problem
    return AccessMode(purpose, clean_reason(reason))


def access_mode(purpose: str | None, reason: str | None) -> AccessMode:
    """Normal access (no purpose given) or the emergency access asked for.

    A reason without an emergency purpose is refused rather than ignored: the
    professional meant something the request would not say.
    """
    if purpose in (None, PURPOSE_NORMAL):
        if clean_reason(reason):
            raise EmergencyAccessError("reason_without_emergency", None)
        return NORMAL_ACCESS
    return emergency_access(purpose, reason)


# -- consent -------------------------------------------------------------------------------------
class AuthorizationClient(Protocol):
    def set_authorization(
        self, ins: Ins, *, grant: bool = True, treating_physician: bool = False
    ) -> None: ...


def authorise(
    client: AuthorizationClient,
    ins: Ins,
    *,
    patient_consented: bool,
    treating_physician: bool = False,
) -> None:
    """TD0.3: record my authorisation (and médecin traitant if asked), the patient having
    consented. ``patient_consented`` is the professional's explicit answer; False raises
    :class:`ConsentNotGivenError` and nothing is sent."""
    if patient_consented is not True:
        raise ConsentNotGivenError("access")
    client.set_authorization(ins, grant=True, treating_physician=treating_physician)


def revoke(client: AuthorizationClient, ins: Ins, *, treating_physician: bool = False) -> None:
    """TD0.3: withdraw my authorisation (or only the médecin traitant declaration)."""
    client.set_authorization(ins, grant=False, treating_physician=treating_physician)


# -- what the professional may see ---------------------------------------------------------
class ConsultationState(enum.Enum):
    """What the consultation of a patient's DMP shows."""

    EMPTY = "empty"  # no patient
    NO_DMP = "no_dmp"
    CLOSED = "closed"
    STAFF = "staff"  # a secretary's card: may feed a DMP, never read it
    ASK_CONSENT = "ask_consent"  # no (or an expired) authorisation: ask the question
    DECLINED = "declined"  # the doctor answered "no"
    BLOCKED = "blocked"  # INTERDIT: no way around it, not even in an emergency
    DOCUMENTS = "documents"  # authorised, or emergency access


def consultation_state(
    status: DmpStatus | None,
    practitioner: Practitioner | None,
    access: AccessMode = NORMAL_ACCESS,
    *,
    declined: bool = False,
) -> ConsultationState:
    """What to show for this patient, this card holder and this access mode."""
    if status is None:
        return ConsultationState.EMPTY
    if practitioner is not None and practitioner.is_staff:
        return ConsultationState.STAFF
    if status.state is DmpState.NONE:
        return ConsultationState.NO_DMP
    if status.state is DmpState.CLOSED:
        return ConsultationState.CLOSED
    if status.authorization is Authorization.INTERDIT:
        return ConsultationState.BLOCKED
    if status.authorization is Authorization.VALIDE or access.emergency:
        return ConsultationState.DOCUMENTS
    return ConsultationState.DECLINED if declined else ConsultationState.ASK_CONSENT


def status_summary(status: DmpStatus, practitioner: Practitioner | None) -> str:
    """The DMP's answer (TD0.2) in one French sentence for this card holder, the same in
    both doors: a secretary's card (staff) may feed the record but not read it, so she
    is told that instead of being asked for the patient's consent."""
    return status.summary_fr(staff=practitioner is not None and practitioner.is_staff)


def may_use_emergency_access(state: ConsultationState) -> bool:
    """Emergency access is offered where consent is missing, never to a blocked professional."""
    return emergency_refusal(state) is None


_EMERGENCY_REFUSALS = {
    ConsultationState.EMPTY: "not_possible",
    ConsultationState.NO_DMP: "no_dmp",
    ConsultationState.CLOSED: "closed",
    ConsultationState.STAFF: "staff",
    ConsultationState.BLOCKED: "blocked",
    ConsultationState.DOCUMENTS: "not_needed",
}


def emergency_refusal(state: ConsultationState) -> str | None:
    """Why an emergency access cannot be opened in this state (a code of
    :class:`EmergencyAccessError`), or None: only where the patient's consent is missing,
    never for a professional the patient blocked, a staff card, a missing or closed DMP,
    nor for a professional already authorised (the access would be traced as an emergency
    for nothing)."""
    return _EMERGENCY_REFUSALS.get(state)


class StatusClient(Protocol):
    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus: ...


def open_emergency_access(
    client: StatusClient,
    ins: Ins,
    practitioner: Practitioner | None,
    purpose: str | None,
    reason: str | None,
) -> AccessMode:
    """The emergency access the professional asks for, checked: the reason first (nothing
    sent), then the DMP's answer (TD0.2) about who may use it (:func:`emergency_refusal`)."""
    access = emergency_access(purpose, reason)
    status = client.test_existence(ins)
    problem = emergency_refusal(consultation_state(status, practitioner))
    if problem is not None:
        raise EmergencyAccessError(problem, purpose)
    return access


def may_see_masked(status: DmpStatus | None) -> bool:
    """Documents masked from professionals: for the patient's médecin traitant only."""
    return status is not None and status.treating_physician


def may_declare_treating_physician(
    status: DmpStatus | None, practitioner: Practitioner | None, access: AccessMode
) -> bool:
    """A doctor (profession 10) not yet médecin traitant, outside an emergency access."""
    return (
        practitioner is not None
        and practitioner.profession_code == "10"
        and status is not None
        and not status.treating_physician
        and not access.emergency
    )


__all__ = [
    "EMERGENCY_PURPOSES",
    "MAX_REASON_LENGTH",
    "MIN_REASON_LENGTH",
    "NORMAL_ACCESS",
    "PURPOSE_BREAK_GLASS",
    "PURPOSE_CENTRE_15",
    "PURPOSE_NORMAL",
    "AccessMode",
    "ConsultationState",
    "access_mode",
    "authorise",
    "clean_reason",
    "consultation_state",
    "emergency_access",
    "emergency_problem",
    "emergency_refusal",
    "may_declare_treating_physician",
    "may_see_masked",
    "may_use_emergency_access",
    "open_emergency_access",
    "revoke",
    "status_summary",
]
