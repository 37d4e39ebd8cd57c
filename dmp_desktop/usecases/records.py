"""The record's life, once for both doors: create (TD1.1), close (TD1.4), reactivate (TD1.2),
the authorisations (TD1.6) and, as the médecin traitant, blocking a professional.

The rules:

* **Creation only with consent**: the patient's (``consent_given``), and for a
  minor the legal representative's, named, who consents in the minor's name
  (:func:`creation_problem`); otherwise :class:`ConsentNotGivenError` and
  nothing is sent.
* **Closure at the patient's request, with a reason**: a reason code
  (patient's request, death, other) and a text of at least
  :data:`MIN_CLOSURE_REASON` characters (:class:`ClosureReasonError`); the
  request carries the patient's names as the DMP's answer (TD0.2) gives them.
* **Reactivation** of a closed DMP only; an active one is left as it is.
* **Who may act** (:func:`record_action_refusals`): a DMP must exist (except to
  create one), a staff card does not manage a record, a closed DMP is only
  reactivated, the other actions need a valid authorisation.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from dmp_desktop.dmp.td11 import (
    CreationConsent,
    PatientIdentity,
    RegistrationResult,
    is_minor,
)
from dmp_desktop.dmp.td12_14 import CLOSURE_PATIENT_REQUEST, CLOSURE_REASONS
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.usecases.access import clean_reason
from dmp_desktop.usecases.errors import (
    ClosureReasonError,
    ConsentNotGivenError,
    NoDmpError,
    SecretConnectionError,
)

MIN_CLOSURE_REASON = 5
MAX_CLOSURE_REASON = 255
RECORD_ACTIONS = ("create", "authorizations", "close", "reactivate", "admin_data", "secret")


class RecordClient(Protocol):
    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus: ...

    def create_dmp(
        self, ins: Ins, identity: PatientIdentity, consent: CreationConsent
    ) -> RegistrationResult: ...

    def close_dmp(
        self,
        ins: Ins,
        family_name: str,
        given_name: str,
        *,
        reason: str = CLOSURE_PATIENT_REQUEST,
        reason_text: str | None = None,
        gender: str | None = None,
    ) -> Any: ...

    def reactivate_dmp(
        self, ins: Ins, family_name: str, given_name: str, gender: str | None = None
    ) -> Any: ...


# -- creation ----------------------------------------------------------------------------------
def creation_problem(
    identity: PatientIdentity, consent: CreationConsent, today: date | None = None
) -> str | None:
    """Why this creation cannot be sent (a code of ConsentNotGivenError), or None."""
    if consent.consent_given is not True:
        return "creation"
    if is_minor(identity.birth_date, today):
        rep = consent.legal_representative
        if (
            rep is None
            or rep.consent_given is not True
            or not rep.family_name.strip()
            or not rep.given_name.strip()
        ):
            return "legal_representative"
    return None


def create_record(
    client: RecordClient,
    ins: Ins,
    identity: PatientIdentity,
    consent: CreationConsent,
    *,
    today: date | None = None,
) -> RegistrationResult:
    """TD1.1, with the consent the rule requires (ConsentNotGivenError otherwise)."""
    problem = creation_problem(identity, consent, today)
    if problem is not None:
        raise ConsentNotGivenError(problem)
    return client.create_dmp(ins, identity, consent)


# -- closure, reactivation -------------------------------------------------------------------------
def closure_problem(reason: str, reason_text: str) -> str | None:
    if reason not in CLOSURE_REASONS:
        return "kind"
    text = clean_reason(reason_text)
    if len(text) < MIN_CLOSURE_REASON:
        return "too_short"
    if len(text) > MAX_CLOSURE_REASON:
        return "too_long"
    return None


def _existing(client: RecordClient, ins: Ins, status: DmpStatus | None) -> DmpStatus:
    status = status if status is not None else client.test_existence(ins)
    if status.state is DmpState.NONE:
        raise NoDmpError()
    return status


def close_record(
    client: RecordClient,
    ins: Ins,
    reason_text: str,
    *,
    reason: str = CLOSURE_PATIENT_REQUEST,
    status: DmpStatus | None = None,
) -> None:
    """TD1.4 at the patient's request; ``status``: the DMP's answer already at hand (else
    TD0.2 is asked first: the request carries the names and sex it gives)."""
    problem = closure_problem(reason, reason_text)
    if problem is not None:
        raise ClosureReasonError(problem)
    status = _existing(client, ins, status)
    client.close_dmp(
        ins,
        status.patient_family_name or "",
        status.patient_given_name or "",
        reason=reason,
        reason_text=clean_reason(reason_text),
        gender=status.patient_gender,
    )


def reactivate_record(client: RecordClient, ins: Ins, *, status: DmpStatus | None = None) -> bool:
    """TD1.2; False when the DMP is already active (nothing sent)."""
    status = _existing(client, ins, status)
    if status.state is DmpState.ACTIVE:
        return False
    client.reactivate_dmp(
        ins,
        status.patient_family_name or "",
        status.patient_given_name or "",
        gender=status.patient_gender,
    )
    return True


# -- who may act -----------------------------------------------------------------------------------
def record_action_refusals(
    status: DmpStatus | None, practitioner: Practitioner | None
) -> dict[str, str | None]:
    """For each of :data:`RECORD_ACTIONS`: None when it applies now, else a reason code
    (``no_card``, ``no_status``, ``no_dmp``, ``has_dmp``, ``staff``, ``blocked``,
    ``closed``, ``active``, ``no_authorisation``, ``not_minor``).

    ``secret``: a minor's secret connection, at the minor's request (a minor's DMP only).
    """
    if practitioner is None:
        return dict.fromkeys(RECORD_ACTIONS, "no_card")
    if status is None:
        return dict.fromkeys(RECORD_ACTIONS, "no_status")
    out: dict[str, str | None] = {}
    if status.state is DmpState.NONE:
        out = dict.fromkeys(RECORD_ACTIONS, "no_dmp")
        out["create"] = None
        return out
    out["create"] = "has_dmp"
    staff = "staff" if practitioner.is_staff else None
    blocked = "blocked" if status.authorization is Authorization.INTERDIT else None
    if status.state is DmpState.CLOSED:
        for key in ("authorizations", "close", "admin_data", "secret"):
            out[key] = "closed"
        out["reactivate"] = staff or blocked
        return out
    out["reactivate"] = "active"
    authorised = None
    if status.authorization is not Authorization.VALIDE:
        authorised = blocked or "no_authorisation"
    for key in ("authorizations", "close", "admin_data"):
        out[key] = staff or authorised
    out["secret"] = (staff or blocked) if status.minor else "not_minor"
    return out


def declare_secret_connection(
    client: Any, ins: Ins, practitioner: Practitioner | None, secret: bool = True
) -> DmpStatus:
    """At a minor's request, access their DMP secretly (``secret``) for the rest of this
    client's session: every later request about the patient carries the official VIHF
    confidentiality code. The DMP's answer (TD0.2) is asked first; the rule is
    :func:`record_action_refusals` (``secret``): SecretConnectionError otherwise."""
    status = client.test_existence(ins)
    refusal = record_action_refusals(status, practitioner)["secret"]
    if refusal is not None:
        raise SecretConnectionError(refusal)
    client.declare_secret_connection(status, secret)
    return status


__all__ = [
    "CLOSURE_PATIENT_REQUEST",
    "MAX_CLOSURE_REASON",
    "MIN_CLOSURE_REASON",
    "RECORD_ACTIONS",
    "ClosureReasonError",
    "close_record",
    "closure_problem",
    "create_record",
    "creation_problem",
    "declare_secret_connection",
    "reactivate_record",
    "record_action_refusals",
]
