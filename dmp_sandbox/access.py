"""Who may read what in a patient's DMP: the host's access rules, decided from its store.

Consultation (TD3.1 search, TD3.2 retrieval) is granted by
:func:`grant_consultation`, checked in this order:

1. a structure staff member (secretary: no profession on the card) never
   lists nor reads documents: ``DMPAccessDenied``; neither does the
   Assurance Maladie's feed (VIHF role ``ALIM_AM``, see
   :mod:`dmp_sandbox.insurer`);
2. the patient must have a DMP (``DMPNotFound``) that is not closed
   (``DMPClosed``);
3. a professional the patient blocked (``INTERDIT``) is refused, even in an
   emergency: ``DMPAccessDeniedByExcludedPs``;
4. normal access needs a valid authorisation (``VALIDE``, end date not
   passed), or the presumption of a care team member in a health
   establishment (:mod:`dmp_sandbox.care_team`): ``DMPAccessDenied`` otherwise;
5. emergency access (VIHF PurposeOfUse ``bris_de_glace`` or ``centre_15``,
   code system 1.2.250.1.213.1.1.4.248) needs no authorisation, unless the
   patient opposed that mode: ``DMPEmergencyAccessOpposed``. The reason
   the professional typed is read from the VIHF attribute
   ``Motif_Acces_Urgence`` when present (a training convention, kept in the
   access trace only); it is not required: no official field carries it,
   and the "type a reason" rule is the client's (homologation).
   The centre 15 mode ("Accès par un centre de régulation médicale") is
   only for the regulating physician of a SAMU-Centre 15: a médecin whose
   certificate names a regulation centre as structure
   (:mod:`dmp_sandbox.regulation`, :func:`is_regulator`); anyone else asking
   for it is refused (``DMPAccessDenied``), and the refusal is traced.

Then, document by document (:func:`visible`): a deleted document is never
shown; a document masked from professionals (``MASQUE_PS``) is shown only to
the patient's médecin traitant DMP and to its authors. Documents invisible to
the patient or to the legal representatives are shown to professionals.

On the patient's side (their space, the copy of the record:
:func:`visible_on_patient_side`): active and archived documents, never one
invisible to the patient (``INVISIBLE_PATIENT``). A minor's record is
managed by the legal representative, who never sees a document invisible to
the legal representatives (``INVISIBLE_REPRESENTANTS_LEGAUX``); the minor
sees it only through their own secret connection, which exists only when
the record has one (``secret_connection``, as TD0.2 reports it):
:func:`patient_side_viewer`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from dmp_desktop.domain.document import Confidentiality, DocumentStatus
from dmp_desktop.domain.origin import ROLE_ALIM_AM
from dmp_desktop.domain.patient import Ins
from dmp_sandbox import care_team, wire, xds
from dmp_sandbox.auth import CertIdentity
from dmp_sandbox.regulation import DOCTOR_PROFESSION, REGULATION_CENTRES
from dmp_sandbox.soap import invalid
from dmp_sandbox.store import (
    Authorization,
    AuthorizationStatus,
    DmpState,
    DocumentRecord,
    Patient,
    Store,
)
from dmp_sandbox.vihf import VihfClaims, VihfUnreadable

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext

OID_PURPOSE_OF_USE = wire.OID_PURPOSE_OF_USE
NON_PS_ROLE_OID = wire.OID_NON_PS_ROLE
# Training-host convention (docs/wire-conventions.md): the reason typed for an
# emergency access travels in this VIHF attribute.
ATTR_EMERGENCY_REASON = "Motif_Acces_Urgence"
MAX_REASON = 500  # as the client bounds it (docs/wire-conventions.md)


class AccessMode(enum.StrEnum):
    NORMAL = "normal"
    BREAK_GLASS = "bris_de_glace"
    CENTRE_15 = "centre_15"

    @property
    def emergency(self) -> bool:
        return self is not AccessMode.NORMAL


@dataclass(frozen=True)
class AccessRequest:
    """Who asks, and how (from the certificate and the VIHF)."""

    identity: CertIdentity
    mode: AccessMode
    reason: str | None
    # Non-professional VIHF roles (1.2.250.1.213.1.1.4.6), e.g. ALIM_AM.
    roles: tuple[str, ...] = ()

    @property
    def national_id(self) -> str:
        return self.identity.national_id

    @property
    def is_insurer(self) -> bool:
        """The Assurance Maladie's feed (role ALIM_AM): may upload, never read."""
        return ROLE_ALIM_AM in self.roles

    @property
    def is_staff(self) -> bool:
        return self.identity.profession_code is None

    @property
    def display_name(self) -> str:
        """The name the patient reads: Dr Marie DURAND for a doctor, Prénom NOM otherwise."""
        given = self.identity.given_name.strip().title()
        family = self.identity.family_name.strip().upper()
        name = f"{given} {family}".strip() or self.identity.national_id
        return f"Dr {name}" if self.identity.profession_code == "10" else name


def read_access(identity: CertIdentity, vihf: VihfClaims) -> AccessRequest:
    """The access mode and reason of a VIHF; a bad purpose is an invalid request."""
    code = (vihf.purpose_of_use or AccessMode.NORMAL.value).strip()
    if vihf.purpose_code_system and vihf.purpose_code_system != OID_PURPOSE_OF_USE:
        raise xds.invalid(
            "Mode d'accès (PurposeOfUse) hors nomenclature : "
            f"le système de codes attendu est {OID_PURPOSE_OF_USE}."
        )
    try:
        mode = AccessMode(code)
    except ValueError:
        raise xds.invalid(
            "Mode d'accès (PurposeOfUse) inconnu : normal, bris_de_glace ou centre_15 attendu."
        ) from None
    reason = (vihf.attribute(ATTR_EMERGENCY_REASON) or "").strip() or None
    if reason is not None:
        reason = " ".join(reason.split())[:MAX_REASON]
    roles = tuple(vihf.role_codes(NON_PS_ROLE_OID))
    return AccessRequest(identity, mode, reason if mode.emergency else None, roles)


def check_centre_15(request: AccessRequest) -> None:
    """The centre 15 mode is the regulating physician's only (``DMPAccessDenied``)."""
    if request.mode is AccessMode.CENTRE_15 and not is_regulator(request.identity):
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED,
            "Le mode d'accès « centre 15 » est réservé au médecin régulateur d'un centre de "
            "régulation médicale (SAMU-Centre 15) : utilisez l'accès normal ou, en cas "
            "d'urgence, le bris de glace.",
        )


def is_regulator(identity: CertIdentity) -> bool:
    """A médecin of a SAMU-Centre 15 regulation centre (:mod:`dmp_sandbox.regulation`)."""
    return (
        identity.profession_code == DOCTOR_PROFESSION
        and (identity.structure_id or "") in REGULATION_CENTRES
    )


def vihf_patient(vihf: VihfClaims) -> Ins | None:
    """The patient named by the VIHF resource-id (None when absent)."""
    if vihf.ins_value is None:
        return None
    try:
        return vihf.patient_ins()
    except VihfUnreadable:
        raise xds.invalid(
            "Le patient désigné par le jeton VIHF (resource-id) est invalide."
        ) from None


def required_vihf_patient(ctx: OperationContext) -> Ins:
    """The patient a patient-scoped service acts on, named by the VIHF's resource-id.

    Absent or invalid: an invalid-request SOAP fault. Recorded on the trace.
    """
    try:
        ins = vihf_patient(ctx.vihf)
    except xds.XdsError as exc:
        raise invalid(exc.context) from None
    if ins is None:
        raise invalid("Le jeton VIHF doit désigner le patient (attribut resource-id).")
    ctx.trace.patient_ins, ctx.trace.patient_ins_root = ins.value, ins.oid
    return ins


@dataclass
class Grant:
    """A consultation granted on one patient's DMP (valid inside its session)."""

    patient: Patient
    request: AccessRequest
    treating_physician: bool

    def sees(self, doc: DocumentRecord) -> bool:
        return visible(doc, self)


def grant_consultation(store: Store, session: Session, ins: Ins, request: AccessRequest) -> Grant:
    """Apply the rules of the module docstring; raise :class:`xds.XdsError` on refusal."""
    if request.is_insurer:
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED,
            "L'Assurance Maladie (rôle ALIM_AM) alimente le DMP mais ne peut ni rechercher ni "
            "consulter ses documents.",
        )
    if request.is_staff:
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED,
            "Un personnel de structure (secrétariat) ne peut ni rechercher ni consulter "
            "les documents du DMP : la consultation est réservée aux professionnels de santé.",
        )
    check_centre_15(request)
    patient, auth = store.find_patient_access(session, ins.value, ins.oid, request.national_id)
    if patient is None or patient.state is DmpState.NONE:
        raise xds.XdsError(xds.DMP_NOT_FOUND, "Ce patient n'a pas de DMP.")
    if patient.state is DmpState.CLOSED:
        raise xds.XdsError(
            xds.DMP_CLOSED,
            "Le DMP de ce patient est fermé : ses documents ne sont plus consultables.",
        )
    return professional_grant(session, patient, auth, request, CONSULTATION_REFUSALS)


@dataclass(frozen=True)
class Refusals:
    """The words of a professional's refusal, for what he came to do (steps 3 and 4)."""

    excluded: str  # the patient blocked him
    expired: str  # his authorisation has expired
    not_authorised: str  # he has none


CONSULTATION_REFUSALS = Refusals(
    excluded="Le patient vous a interdit l'accès à son DMP, y compris en mode d'urgence.",
    expired=(
        "Votre autorisation d'accès à ce DMP a expiré : demandez au patient son accord "
        "puis renouvelez l'autorisation."
    ),
    not_authorised=(
        "Vous n'êtes pas autorisé à accéder à ce DMP : demandez au patient son accord "
        "puis enregistrez l'autorisation."
    ),
)


def professional_grant(
    session: Session,
    patient: Patient,
    auth: Authorization | None,
    request: AccessRequest,
    refusals: Refusals,
) -> Grant:
    """Steps 3 to 5 for a health professional, whether he consults or feeds the record.

    ``auth``: his authorisation on this record, if any. Raises :class:`xds.XdsError`
    with the words of ``refusals``.
    """
    status = auth.effective_status() if auth is not None else None
    if status is AuthorizationStatus.INTERDIT:
        raise xds.XdsError(xds.DMP_EXCLUDED_PS, refusals.excluded)
    if (
        request.mode is AccessMode.NORMAL
        and status is not AuthorizationStatus.VALIDE
        and not care_team.presumed(session, patient, request.identity)
    ):
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED,
            refusals.expired if status is AuthorizationStatus.EXPIRE else refusals.not_authorised,
        )
    if request.mode is AccessMode.BREAK_GLASS and patient.opposition_bris_de_glace:
        raise xds.XdsError(
            xds.DMP_EMERGENCY_OPPOSED,
            "Le patient s'est opposé à l'accès à son DMP en mode bris de glace.",
        )
    if request.mode is AccessMode.CENTRE_15 and patient.opposition_centre_15:
        raise xds.XdsError(
            xds.DMP_EMERGENCY_OPPOSED,
            "Le patient s'est opposé à l'accès à son DMP par le centre de régulation (centre 15).",
        )
    treating = bool(
        auth is not None and auth.treating_physician and status is AuthorizationStatus.VALIDE
    )
    return Grant(patient, request, treating)


class PatientSideViewer(enum.StrEnum):
    """Who looks at the record from the patient's side."""

    PATIENT = "patient"  # an adult, or a minor through their own secret connection
    REPRESENTATIVE = "representant"  # a minor's legal representative


class NoOwnAccess(Exception):
    """A minor without a secret connection has no access of their own to the record."""


def patient_side_viewer(patient: Patient, *, minor_own_access: bool = False) -> PatientSideViewer:
    """The representative for a minor, unless the minor uses the secret connection they have."""
    if not patient.is_minor:
        return PatientSideViewer.PATIENT
    if not minor_own_access:
        return PatientSideViewer.REPRESENTATIVE
    if not patient.secret_connection:
        raise NoOwnAccess(
            "Ce patient mineur n'a pas de connexion secrète : son DMP est géré par son "
            "représentant légal."
        )
    return PatientSideViewer.PATIENT


PATIENT_SIDE_STATUSES = frozenset({DocumentStatus.APPROVED.value, DocumentStatus.ARCHIVED.value})


def visible_on_patient_side(doc: DocumentRecord, viewer: PatientSideViewer) -> bool:
    """May the patient (or a minor's legal representative) see this document?"""
    if doc.status not in PATIENT_SIDE_STATUSES:
        return False
    codes = doc.confidentiality_codes()
    if Confidentiality.INVISIBLE_PATIENT.value in codes:
        return False
    return not (
        viewer is PatientSideViewer.REPRESENTATIVE
        and Confidentiality.INVISIBLE_LEGAL_REPS.value in codes
    )


def visible(doc: DocumentRecord, grant: Grant) -> bool:
    """May the professional of ``grant`` see this document? (see the module docstring)."""
    if doc.status == DocumentStatus.DELETED.value or doc.patient_id != grant.patient.id:
        return False
    if Confidentiality.MASKED_PS.value in doc.confidentiality_codes():
        return grant.treating_physician or grant.request.national_id in doc.author_ids()
    return True
