"""Between the identity of the patient search and the other layers' patient types.

* :func:`from_dmp_status`: the DMP's TD0.2 answer as an (unqualified) identity,
  the reference of the coherence checks when INSi was not asked;
* :func:`to_document_patient` / :func:`from_document_patient`: the CDA
  header's patient (:class:`~dmp_desktop.domain.summary.PatientIdentity`,
  used by the VSM and the upload) from / to an identity.
"""

from __future__ import annotations

from dmp_desktop.domain.dmp_status import DmpStatus
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.identity.traits import (
    IdentitySource,
    IdentityTraits,
    InsIdentity,
    normalize_sex,
    split_given_names,
)

_GENDER = {"F": Gender.FEMALE, "M": Gender.MALE, "U": Gender.UNKNOWN}
_SEX = {Gender.FEMALE: "F", Gender.MALE: "M", Gender.UNKNOWN: "U"}


def from_dmp_status(status: DmpStatus) -> InsIdentity | None:
    """The patient as the DMP's TD0.2 answer names them (None when it names nobody)."""
    family = (status.patient_family_name or "").strip()
    given = split_given_names(status.patient_given_name)
    if not family or not given or status.patient_birth_date is None:
        return None
    traits = IdentityTraits(
        birth_name=family,
        given_names=given,
        sex=normalize_sex(status.patient_gender),
        birth_date=status.patient_birth_date,
    )
    return InsIdentity(
        status.ins, traits, IdentitySource.DMP, qualified=False, dmp_state=status.state.value
    )


def to_document_patient(identity: InsIdentity) -> PatientIdentity:
    """The identity as a CDA header writes it (birth names upper-cased, as INSi gives them)."""
    traits = identity.traits
    return PatientIdentity(
        ins=identity.ins,
        birth_family_name=traits.birth_name.upper(),
        birth_given_names=[g.upper() for g in traits.given_names],
        birth_date=traits.birth_date,
        gender=_GENDER.get(traits.sex, Gender.UNKNOWN),
        birthplace_code=traits.birthplace,
        used_family_name=identity.used_name,
        used_given_name=identity.used_given_name,
    )


def from_document_patient(
    patient: PatientIdentity, *, source: IdentitySource, qualified: bool
) -> InsIdentity:
    traits = IdentityTraits(
        birth_name=patient.birth_family_name,
        given_names=tuple(" ".join(patient.birth_given_names).split()),
        sex=_SEX.get(patient.gender, "U"),
        birth_date=patient.birth_date,
        birthplace=patient.birthplace_code,
        given_names_complete=qualified,
    )
    return InsIdentity(
        patient.ins,
        traits,
        source,
        qualified=qualified,
        used_name=patient.used_family_name,
        used_given_name=patient.used_given_name,
    )


__all__ = ["from_dmp_status", "from_document_patient", "to_document_patient"]
