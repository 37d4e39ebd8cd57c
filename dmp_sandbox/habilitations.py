"""The ``habilitations`` service: TD0.3, ``setAuthorization`` (add or remove my authorisation).

The request names no patient in its body: the patient is the VIHF's
``resource-id`` (as in the official example). Body (``urn:si-dmp-habilitations``,
WSDL ``Habilitations.wsdl``)::

    <setAuthorization><action>AJOUT|SUPPRESSION</action>[<role>MEDECIN_TRAITANT</role>]</setAuthorization>

The answer has the official shape::

    <ns1:setAuthorizationResponse><ns1:output>
      <ns1:status>DMPOk</ns1:status><ns1:context>…</ns1:context>
    </ns1:output></ns1:setAuthorizationResponse>

A refusal is the same answer with the DMP code as ``status`` and a French
``context`` (the proprietary services' convention, see dmp-wire.md):

- ``DMPAccessDenied``: a structure staff member (no profession) cannot be
  authorised; only a doctor can be declared médecin traitant;
- ``DMPAccessDeniedByExcludedPs``: the patient blocked this professional
  (``INTERDIT``): they can neither authorise themselves again nor lift the block;
- ``DMPNotFound`` (no DMP), ``DMPClosed`` (closed DMP).

``AJOUT`` creates (or renews an expired) authorisation; with the role
``MEDECIN_TRAITANT`` it also declares the professional médecin traitant DMP.
``SUPPRESSION`` removes the authorisation (and the médecin traitant role);
with the role ``MEDECIN_TRAITANT`` it only withdraws that role.
A malformed request is a SOAP fault ``DMPInvalidRequest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from dmp_sandbox import xds
from dmp_sandbox.access import required_vihf_patient
from dmp_sandbox.soap import invalid
from dmp_sandbox.store import AuthorizationStatus, DmpState, utcnow

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext

HABILITATIONS_NS = "urn:si-dmp-habilitations"
ACTION_SET_AUTHORIZATION = "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization"
ACTION_SET_AUTHORIZATION_RESPONSE = f"{ACTION_SET_AUTHORIZATION}Response"

STATUS_OK = "DMPOk"
ADD, REMOVE = "AJOUT", "SUPPRESSION"
ROLE_TREATING_PHYSICIAN = "MEDECIN_TRAITANT"
DOCTOR = "10"  # G15 profession code


def _h(local: str) -> str:
    return f"{{{HABILITATIONS_NS}}}{local}"


def _answer(status: str, context: str) -> etree._Element:
    response = etree.Element(_h("setAuthorizationResponse"), nsmap={"ns1": HABILITATIONS_NS})
    output = etree.SubElement(response, _h("output"))
    etree.SubElement(output, _h("status")).text = status
    etree.SubElement(output, _h("context")).text = context
    return response


class _Refusal(Exception):
    def __init__(self, code: str, context: str) -> None:
        super().__init__(code)
        self.code = code
        self.context = context


def _read(payload: etree._Element) -> tuple[str, str | None]:
    if payload.tag != _h("setAuthorization"):
        raise invalid("Corps inattendu : setAuthorization (urn:si-dmp-habilitations) attendu.")
    action = (payload.findtext(_h("action")) or "").strip()
    if action not in (ADD, REMOVE):
        raise invalid("Action d'autorisation absente ou inconnue : AJOUT ou SUPPRESSION attendu.")
    role_el = payload.find(_h("role"))
    role = (role_el.text or "").strip() if role_el is not None else None
    if role_el is not None and role != ROLE_TREATING_PHYSICIAN:
        raise invalid("Rôle inconnu : seul MEDECIN_TRAITANT est accepté.")
    return action, role


def set_authorization(ctx: OperationContext) -> etree._Element:
    action, role = _read(ctx.request.payload)
    ctx.trace.result = f"{action}/{role}" if role else action
    ins = required_vihf_patient(ctx)
    try:
        context = _apply(ctx, ins.value, ins.oid, action, role)
    except _Refusal as refusal:
        ctx.trace.outcome = refusal.code
        return _answer(refusal.code, refusal.context)
    return _answer(STATUS_OK, context)


def _apply(
    ctx: OperationContext, ins_value: str, ins_root: str, action: str, role: str | None
) -> str:
    identity = ctx.identity
    if identity.profession_code is None:
        raise _Refusal(
            xds.DMP_ACCESS_DENIED,
            "Un personnel de structure (secrétariat) ne peut pas recevoir d'autorisation "
            "d'accès au DMP : seul un professionnel de santé peut être autorisé.",
        )
    treating = role == ROLE_TREATING_PHYSICIAN
    if treating and action == ADD and identity.profession_code != DOCTOR:
        raise _Refusal(
            xds.DMP_ACCESS_DENIED, "Seul un médecin peut être déclaré médecin traitant DMP."
        )
    store = ctx.store
    with store.session() as session:
        patient = store.find_patient(session, ins_value, ins_root)
        if patient is None or patient.state is DmpState.NONE:
            raise _Refusal(xds.DMP_NOT_FOUND, "Ce patient n'a pas de DMP.")
        if patient.state is DmpState.CLOSED:
            raise _Refusal(xds.DMP_CLOSED, "Le DMP de ce patient est fermé.")
        auth = store.find_authorization(session, patient, identity.national_id)
        status = auth.effective_status() if auth is not None else None
        if status is AuthorizationStatus.INTERDIT:
            raise _Refusal(
                xds.DMP_EXCLUDED_PS,
                "Le patient vous a interdit l'accès à son DMP : vous ne pouvez pas vous "
                "autoriser vous-même ; seul le patient peut lever cette interdiction.",
            )
        if action == ADD:
            if auth is not None and status is AuthorizationStatus.VALIDE:
                if not treating or auth.treating_physician:
                    return "Autorisation déjà présente aucune action effectuée"
                auth.treating_physician = True
                return "Vous êtes déclaré médecin traitant DMP de ce patient"
            store.set_authorization(
                session,
                patient,
                identity.national_id,
                AuthorizationStatus.VALIDE,
                treating_physician=treating,
                start_at=utcnow(),
            )
            renewed = "Autorisation renouvelée" if auth is not None else "Autorisation ajoutée"
            return f"{renewed} ; vous êtes déclaré médecin traitant DMP" if treating else renewed
        # SUPPRESSION
        if auth is None:
            return "Aucune autorisation à supprimer aucune action effectuée"
        if treating:
            if not auth.treating_physician:
                return "Vous n'êtes pas médecin traitant DMP aucune action effectuée"
            auth.treating_physician = False
            return "Vous n'êtes plus médecin traitant DMP ; votre autorisation est conservée"
        session.delete(auth)
        return "Autorisation supprimée"
