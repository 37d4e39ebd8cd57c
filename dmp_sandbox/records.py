"""The record's life on the training host: TD1.1 creation, TD1.4 closure, TD1.2
reactivation (service ``patients``) and TD1.6 listAuthorizationByPatient
(service ``habilitations``).

TD1.1 (``PRPA_IN201311UV02``, reason ``CREA_RD``; the request of
:mod:`dmp_sandbox.hl7v3`):

- the consent ``CONSENTEMENT_OUVERTURE_DMP`` must be ``true``, and a minor
  (under 18 on the day) needs a legal representative (``guardian``): else a
  ``DMPInvalidRequest`` fault;
- a patient who already has a DMP (active or closed) gets
  ``PRPA_IN201313UV02`` ``AE`` / ``DMPFound``;
- otherwise the record is created active with a new DMP id, the oppositions
  to emergency access, the minor flag; an adult who gave a mobile or an
  e-mail gets an online access (``COMPTE_INTERNET_OUVERT``), a minor never;
  the professional who created it is authorised (``VALIDE``); the patient
  gets an outbox notification "Votre DMP a été créé…".

TD1.4 / TD1.2 (``PRPA_IN201314UV02``, ``FERM`` / ``REAC``): a health
professional authorised on the record (``VALIDE``) may close it, with the
reason of ``reasonOf/detectedIssueEvent``; an already closed record gives
``PRPA_IN201316UV02`` / ``DMPClosed``; reactivating needs a closed record
that the retention purge has not destroyed. Both notify the patient.
Refusals: ``DMPNotFound``, ``DMPAccessDenied``, ``DMPAccessDeniedByExcludedPs``.

Answers have the shape of the official TD1.4 answer (wrapper in
``asip:ci-sis:gdp:2010``; ``acknowledgement`` ``AA``, or ``AE`` with an
``acknowledgementDetail`` carrying the DMP code and a French text).

TD1.6: the patient is the VIHF's resource-id; ``mode`` ``ACTIVE`` lists the
valid authorisations, ``INTERDITE`` the blocks, ``TOUTE`` both (expired ones
are not listed: the WSDL has no mode for them). Each item carries the
professional's names when the host has seen their card, and
``specificRight`` ``MEDECIN_TRAITANT`` for the médecin traitant DMP.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_sandbox import wire as ns
from dmp_sandbox import xds
from dmp_sandbox.access import required_vihf_patient, vihf_patient
from dmp_sandbox.hl7v3 import td11, td12_14, td16
from dmp_sandbox.soap import invalid
from dmp_sandbox.store import AuthorizationStatus, DmpState, Patient, Professional, utcnow

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext

H = ns.HL7
GDP = td11.GDP_NS
PATIENTS_SERVICE_NS = "urn:si-dmp-patients"
HABILITATIONS_NS = td16.HABILITATIONS
STATUS_OK = "DMPOk"
DMP_FOUND = "DMPFound"
OUTBOX_CREATED = "DMP_CREE"
OUTBOX_CLOSED = "DMP_FERME"
OUTBOX_REACTIVATED = "DMP_REACTIVE"
_PARIS = ZoneInfo("Europe/Paris")


def _h(local: str) -> str:
    return f"{{{H}}}{local}"


class Refusal(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(code)
        self.code = code
        self.text = text


# --- reading the requests --------------------------------------------------------------------


@dataclass(frozen=True)
class MessageIds:
    id_root: str
    id_extension: str | None
    sender_root: str | None
    sender_name: str | None


@dataclass(frozen=True)
class CreateRequest:
    ids: MessageIds
    ins: Ins
    family_name: str
    given_name: str
    gender: str
    birth_date: dt.date
    mobile: str | None
    email: str | None
    guardian: str | None
    observations: dict[str, bool]
    guardian_relationship: str | None = None


@dataclass(frozen=True)
class ReviseRequest:
    ids: MessageIds
    ins: Ins
    close: bool
    reason: str | None
    reason_text: str | None


def _ids(payload: etree._Element, interaction: str) -> MessageIds:
    if payload.tag != _h(interaction):
        raise invalid(f"Corps inattendu pour l'action {interaction}.")
    msg_id = payload.find(_h("id"))
    if msg_id is None or not msg_id.get("root"):
        raise invalid(f"Requête {interaction} incomplète : id absent.")
    device = payload.find(f"{_h('sender')}/{_h('device')}")
    sender_id = device.find(_h("id")) if device is not None else None
    return MessageIds(
        id_root=msg_id.get("root", ""),
        id_extension=msg_id.get("extension"),
        sender_root=sender_id.get("root") if sender_id is not None else None,
        sender_name=device.findtext(_h("softwareName")) if device is not None else None,
    )


def _reason(payload: etree._Element) -> str | None:
    reason = payload.find(f"{_h('controlActProcess')}/{_h('reasonCode')}")
    return reason.get("code") if reason is not None else None


def _patient_el(payload: etree._Element) -> etree._Element:
    patient = payload.find(
        "/".join(
            _h(x)
            for x in ("controlActProcess", "subject", "registrationRequest", "subject1", "patient")
        )
    )
    if patient is None:
        raise invalid("Requête incomplète : registrationRequest/subject1/patient absent.")
    return patient


def _ins(patient: etree._Element) -> Ins:
    known = {kind.value for kind in InsKind}
    for id_el in patient.findall(_h("id")):
        root, extension = id_el.get("root"), id_el.get("extension")
        if root in known and extension:
            try:
                return Ins(extension.strip(), InsKind.from_oid(root))
            except InsError:
                raise invalid("Identifiant du patient (INS) invalide.") from None
    raise invalid("Identifiant du patient (INS) absent de la requête.")


def _check_vihf(ctx: OperationContext, ins: Ins) -> None:
    named = vihf_patient(ctx.vihf)
    if named is not None and (named.value, named.oid) != (ins.value, ins.oid):
        raise invalid(
            "Le patient désigné par le jeton VIHF (resource-id) n'est pas celui de la requête."
        )


def _name(person: etree._Element | None) -> tuple[str, str]:
    name = person.find(_h("name")) if person is not None else None
    if name is None:
        return "", ""
    family = (name.findtext(_h("family")) or "").strip()
    given = (name.findtext(_h("given")) or "").strip()
    return family[:100], given[:100]


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def read_create(payload: etree._Element) -> CreateRequest:
    ids = _ids(payload, td11.INTERACTION_REQUEST)
    if _reason(payload) != td11.REASON_CREATE:
        raise invalid("Motif (reasonCode) de création attendu : CREA_RD.")
    patient = _patient_el(payload)
    ins = _ins(patient)
    person = patient.find(_h("patientPerson"))
    family, given = _name(person)
    if person is None or not family or not given:
        raise invalid("Identité du patient incomplète : nom et prénom attendus.")
    birth = person.find(_h("birthTime"))
    try:
        raw = birth.get("value") if birth is not None else None
        birth_date = dt.datetime.strptime((raw or "")[:8], "%Y%m%d").date()
    except ValueError:
        raise invalid("Date de naissance du patient absente ou invalide.") from None
    gender_el = person.find(_h("administrativeGenderCode"))
    gender = (gender_el.get("code") if gender_el is not None else None) or "U"
    mobile = email = None
    for telecom in person.findall(_h("telecom")):
        value = (telecom.get("value") or "").strip()
        if value.startswith("tel:"):
            mobile = value[4:][:64] or None
        elif value.startswith("mailto:"):
            email = value[7:][:254] or None
    guardian_family, guardian_given = _name(person.find(f"{_h('guardian')}/{_h('guardianPerson')}"))
    guardian = f"{guardian_family} {guardian_given}".strip() or None
    relationship = None
    for relation in person.findall(_h("personalRelationship")):
        code = relation.find(_h("code"))
        if code is not None and (code.get("code") or "").strip():
            relationship = (code.get("code") or "").strip()[:16]
            break
    observations: dict[str, bool] = {}
    for obs in patient.findall(f"{_h('subjectOf')}/{_h('administrativeObservation')}"):
        code = obs.find(_h("code"))
        value = obs.find(_h("value"))
        if code is not None and code.get("code"):
            observations[code.get("code", "")] = _bool(
                value.get("value") if value is not None else None
            )
    return CreateRequest(
        ids,
        ins,
        family,
        given,
        gender[:1].upper() if gender[:1].upper() in ("M", "F") else "U",
        birth_date,
        mobile,
        email,
        guardian,
        observations,
        relationship,
    )


def read_revise(payload: etree._Element) -> ReviseRequest:
    ids = _ids(payload, td12_14.INTERACTION_REQUEST)
    reason_code = _reason(payload)
    if reason_code not in (td12_14.REASON_CLOSE, td12_14.REASON_REACTIVATE):
        raise invalid("Motif (reasonCode) non pris en charge : FERM ou REAC attendu.")
    ins = _ins(_patient_el(payload))
    close = reason_code == td12_14.REASON_CLOSE
    reason = text = None
    if close:
        issue = payload.find(
            f"{_h('controlActProcess')}/{_h('reasonOf')}/{_h('detectedIssueEvent')}"
        )
        code = issue.find(_h("code")) if issue is not None else None
        reason = (code.get("code") if code is not None else None) or None
        text = (issue.findtext(_h("text")) if issue is not None else None) or None
        if reason is None:
            raise invalid("Fermeture sans motif : reasonOf/detectedIssueEvent/code attendu.")
    return ReviseRequest(ids, ins, close, reason[:64] if reason else None, text)


# --- answers ---------------------------------------------------------------------------------


def _sub(parent: etree._Element, local: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _h(local))
    for key, value in attrs.items():
        el.set(key, value)
    return el


@dataclass(frozen=True)
class AnswerKind:
    wrapper: str
    reason_code: str
    reason_label: str


def build_answer(
    ids: MessageIds,
    kind: AnswerKind,
    *,
    interaction: str,
    refusal: Refusal | None = None,
    patient: Patient | None = None,
    request_subject: etree._Element | None = None,
) -> etree._Element:
    """The official TD1.4 answer's shape, for TD1.1 / TD1.2 / TD1.4.

    A refusal echoes ``request_subject`` (the request's
    ``controlActProcess/subject``): the refusal schemas require it.
    """
    root = etree.Element(f"{{{GDP}}}{kind.wrapper}", nsmap={None: H, "ns2": GDP})
    inner = _sub(root, interaction, ITSVersion="XML_1.0")
    _sub(inner, "id", extension=str(uuid.uuid4()), root=f"{ns.OID_DMP_DEVICE}.1")
    _sub(inner, "creationTime", value=utcnow().astimezone(_PARIS).strftime("%Y%m%d%H%M%S"))
    _sub(inner, "interactionId", extension=interaction, root=ns.OID_HL7_INTERACTION)
    _sub(inner, "processingCode", code="P")
    _sub(inner, "processingModeCode", code="T")
    _sub(inner, "acceptAckCode", code="NE")
    for type_code, oid, name in (
        ("RCV", ids.sender_root or "0", ids.sender_name or "LPS"),
        ("SND", ns.OID_DMP_DEVICE, td11.DMP_DEVICE_NAME),
    ):
        holder = _sub(inner, "receiver" if type_code == "RCV" else "sender", typeCode=type_code)
        device = _sub(holder, "device", classCode="DEV", determinerCode="INSTANCE")
        _sub(device, "id", root=oid)
        _sub(device, "softwareName").text = name
    ack = _sub(inner, "acknowledgement", typeCode="AE" if refusal else "AA")
    target = _sub(_sub(ack, "targetMessage"), "id")
    if ids.id_extension is not None:
        target.set("extension", ids.id_extension)
    target.set("root", ids.id_root)
    if refusal is not None:
        detail = _sub(ack, "acknowledgementDetail", typeCode="E")
        _sub(detail, "code", code=refusal.code, codeSystem=ns.OID_DMP_DEVICE)
        _sub(detail, "text").text = refusal.text
    cap = _sub(inner, "controlActProcess", classCode="CACT", moodCode="EVN")
    _sub(
        cap,
        "reasonCode",
        code=kind.reason_code,
        codeSystem=ns.OID_TD_REASON,
        displayName=kind.reason_label,
    )
    if refusal is not None and request_subject is not None:
        cap.append(copy.deepcopy(request_subject))
    if patient is not None and refusal is None:
        subject = patient_subject(cap, patient)
        _sub(subject.name, "family", qualifier="SP").text = patient.family_name.upper()
        _sub(subject.name, "given").text = patient.given_name.upper()
        add_custodian(subject.event)
    return root


@dataclass(frozen=True)
class PatientSubject:
    """The parts of an answer's ``subject/registrationEvent`` that callers fill further."""

    event: etree._Element
    patient: etree._Element
    person: etree._Element
    name: etree._Element


def patient_subject(cap: etree._Element, patient: Patient) -> PatientSubject:
    """Append the record's ``subject`` to ``cap``: ids, status, person and name prefix.

    The name parts are left to the caller: the official TD1.4 answer has
    family then given, the TD1.3a answer given then family.
    """
    event = _sub(
        _sub(cap, "subject", contextConductionInd="false", typeCode="SUBJ"),
        "registrationEvent",
        classCode="REG",
        moodCode="EVN",
    )
    _sub(event, "statusCode", code="completed")
    pat = _sub(_sub(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    if patient.dmp_id:
        _sub(pat, "id", extension=patient.dmp_id, root=ns.OID_DMP_ID)
    _sub(pat, "id", extension=patient.ins_value, root=patient.ins_root)
    closed = patient.state is DmpState.CLOSED
    _sub(pat, "statusCode", code="terminated" if closed else "active")
    person = _sub(pat, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
    name = _sub(person, "name")
    prefix = {"M": "M", "F": "MME"}.get(patient.gender)
    if prefix:
        _sub(name, "prefix").text = prefix
    return PatientSubject(event=event, patient=pat, person=person, name=name)


def add_custodian(event: etree._Element) -> None:
    """The DMP as the record's custodian, last child of ``registrationEvent``."""
    custodian = _sub(event, "custodian", typeCode="CST")
    _sub(_sub(custodian, "assignedEntity", classCode="ASSIGNED"), "id", root=ns.OID_DMP_DEVICE)


# --- TD1.1 -----------------------------------------------------------------------------------


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def create_dmp(ctx: OperationContext) -> etree._Element:
    request = read_create(ctx.request.payload)
    ctx.trace.patient_ins, ctx.trace.patient_ins_root = request.ins.value, request.ins.oid
    _check_vihf(ctx, request.ins)
    if not request.observations.get(td11.OBS_CONSENT, False):
        raise invalid(
            "Le consentement du patient à l'ouverture de son DMP (CONSENTEMENT_OUVERTURE_DMP) "
            "est absent : recueillez-le avant de créer le DMP."
        )
    minor = _age(request.birth_date, utcnow().astimezone(_PARIS).date()) < 18
    if minor and request.guardian is None:
        raise invalid(
            "Patient mineur : le DMP ne peut être créé qu'avec le consentement de son "
            "représentant légal (guardian)."
        )
    answer = AnswerKind(
        wrapper=td11.RESPONSE_WRAPPER,
        reason_code=td11.REASON_CREATE,
        reason_label=td11.REASON_CREATE_LABEL,
    )
    store = ctx.store
    with store.session() as session:
        patient = store.find_patient(session, request.ins.value, request.ins.oid)
        if patient is not None and patient.state is not DmpState.NONE:
            ctx.trace.outcome = DMP_FOUND
            ctx.trace.result = DMP_FOUND
            closed = patient.state is DmpState.CLOSED
            return build_answer(
                request.ids,
                answer,
                interaction=td11.INTERACTION_REFUSED,
                request_subject=_request_subject(ctx),
                refusal=Refusal(
                    DMP_FOUND,
                    "Ce patient a déjà un DMP fermé : réactivez-le au lieu d'en créer un."
                    if closed
                    else "Ce patient a déjà un DMP : il n'a pas été créé une seconde fois.",
                ),
            )
        online = not minor and bool(request.mobile or request.email)
        now = utcnow()
        patient = store.upsert_patient(
            session,
            request.ins.value,
            request.ins.oid,
            family_name=request.family_name,
            given_name=request.given_name,
            gender=request.gender,
            birth_date=request.birth_date,
            is_minor=minor,
            dmp_state=DmpState.ACTIVE.value,
            dmp_id=f"{uuid.uuid4().int % 10**22:022d}",
            dmp_created_at=now,
            closure_date=None,
            closure_reason=None,
            closure_text=None,
            opposition_bris_de_glace=request.observations.get(
                td11.OBS_OPPOSITION_BRIS_DE_GLACE, False
            ),
            opposition_centre_15=request.observations.get(td11.OBS_OPPOSITION_CENTRE_15, False),
            internet_account_open=online,
            mobile=None if minor else request.mobile,
            email=None if minor else request.email,
            legal_representative=request.guardian if minor else None,
            legal_representative_relationship=(
                (request.guardian_relationship or "GUARD") if minor else None
            ),
        )
        if ctx.identity.profession_code is not None:
            store.set_authorization(
                session, patient, ctx.identity.national_id, AuthorizationStatus.VALIDE
            )
        if online:
            from dmp_sandbox.admin_data import open_access_at_creation  # (imports this module)

            access_notice = open_access_at_creation(patient)
        store.notify_patient(
            session,
            patient,
            OUTBOX_CREATED,
            "Votre DMP a été créé le "
            f"{now.astimezone(_PARIS):%d/%m/%Y} par {_who(ctx)}. "
            + (
                access_notice
                if online
                else "Vous pouvez demander un accès en ligne à tout moment."
                if not minor
                else "Le patient étant mineur, l'accès en ligne est réservé à son représentant "
                "légal."
            ),
            professional_national_id=ctx.identity.national_id,
        )
        ctx.trace.result = "CREE/MINEUR" if minor else "CREE"
        return build_answer(
            request.ids, answer, interaction=td11.INTERACTION_ACCEPTED, patient=patient
        )


def _request_subject(ctx: OperationContext) -> etree._Element | None:
    return ctx.request.payload.find(f"{_h('controlActProcess')}/{_h('subject')}")


def _who(ctx: OperationContext) -> str:
    pro = ctx.store.professional(ctx.identity.national_id)
    if pro is not None and pro.family_name:
        return f"{pro.given_name.title()} {pro.family_name.upper()}".strip()
    return f"le professionnel {ctx.identity.national_id}"


# --- TD1.4 / TD1.2 ---------------------------------------------------------------------------


def revise_dmp(ctx: OperationContext) -> etree._Element:
    request = read_revise(ctx.request.payload)
    ctx.trace.transaction = "TD1.4" if request.close else "TD1.2"
    ctx.trace.patient_ins, ctx.trace.patient_ins_root = request.ins.value, request.ins.oid
    _check_vihf(ctx, request.ins)
    answer = AnswerKind(
        wrapper=td12_14.RESPONSE_WRAPPER,
        reason_code=td12_14.REASON_CLOSE if request.close else td12_14.REASON_REACTIVATE,
        reason_label=(
            td12_14.REASON_CLOSE_LABEL if request.close else td12_14.REASON_REACTIVATE_LABEL
        ),
    )
    store = ctx.store
    with store.session() as session:
        patient = store.find_patient(session, request.ins.value, request.ins.oid)
        try:
            patient = _apply_revision(ctx, session, patient, request)
        except Refusal as refusal:
            ctx.trace.outcome = ctx.trace.result = refusal.code
            return build_answer(
                request.ids,
                answer,
                interaction=td12_14.INTERACTION_REFUSED,
                refusal=refusal,
                request_subject=_request_subject(ctx),
            )
        return build_answer(
            request.ids, answer, interaction=td12_14.INTERACTION_ACCEPTED, patient=patient
        )


def _apply_revision(
    ctx: OperationContext, session: Session, patient: Patient | None, request: ReviseRequest
) -> Patient:
    store = ctx.store
    if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
        raise Refusal(xds.DMP_NOT_FOUND, "Ce patient n'a pas de DMP.")
    if ctx.identity.profession_code is None:
        raise Refusal(
            xds.DMP_ACCESS_DENIED,
            "Un personnel de structure (secrétariat) ne peut ni fermer ni réactiver un DMP.",
        )
    auth = store.find_authorization(session, patient, ctx.identity.national_id)
    status = auth.effective_status() if auth is not None else None
    if status is AuthorizationStatus.INTERDIT:
        raise Refusal(xds.DMP_EXCLUDED_PS, "Le patient vous a interdit l'accès à son DMP.")
    now = utcnow()
    if request.close:
        if patient.state is DmpState.CLOSED:
            raise Refusal(xds.DMP_CLOSED, "Le DMP de ce patient est déjà fermé.")
        if status is not AuthorizationStatus.VALIDE:
            raise Refusal(
                xds.DMP_ACCESS_DENIED,
                "Vous n'êtes pas autorisé sur ce DMP : seul un professionnel autorisé peut "
                "le fermer à la demande du patient.",
            )
        patient.dmp_state = DmpState.CLOSED.value
        patient.closure_date = now.astimezone(_PARIS).date()
        patient.closure_reason = request.reason
        patient.closure_text = (request.reason_text or request.reason or "")[:255]
        store.notify_patient(
            session,
            patient,
            OUTBOX_CLOSED,
            f"Votre DMP a été fermé le {now.astimezone(_PARIS):%d/%m/%Y} par {_who(ctx)}. "
            "Ses données sont conservées 10 ans ; vous pouvez demander sa réactivation.",
            professional_national_id=ctx.identity.national_id,
        )
        ctx.trace.result = f"FERME/{request.reason}"
        return patient
    if patient.state is DmpState.ACTIVE:
        ctx.trace.result = "DEJA_ACTIF"
        return patient
    patient.dmp_state = DmpState.ACTIVE.value
    patient.closure_date = patient.closure_reason = patient.closure_text = None
    if status is not AuthorizationStatus.VALIDE:
        store.set_authorization(
            session,
            patient,
            ctx.identity.national_id,
            AuthorizationStatus.VALIDE,
        )
    store.notify_patient(
        session,
        patient,
        OUTBOX_REACTIVATED,
        f"Votre DMP a été réactivé le {now.astimezone(_PARIS):%d/%m/%Y} par {_who(ctx)}.",
        professional_national_id=ctx.identity.national_id,
    )
    ctx.trace.result = "REACTIVE"
    return patient


# --- TD1.6 -----------------------------------------------------------------------------------


def _hab(local: str) -> str:
    return f"{{{HABILITATIONS_NS}}}{local}"


def _list_answer(status: str, context: str, items: list[dict[str, object]]) -> etree._Element:
    response = etree.Element(
        _hab("listAuthorizationByPatientResponse"), nsmap={"ns1": HABILITATIONS_NS}
    )
    output = etree.SubElement(response, _hab("output"))
    for item in items:
        el = etree.SubElement(output, _hab("listOfAuthorizationByPatient"))
        for key in (
            "nationalId",
            "nationalIdType",
            "firstName",
            "lastName",
            "startOfAuthorization",
            "lastActionDate",
            "mode",
            "specificRight",
        ):
            value = item.get(key)
            if value:
                etree.SubElement(el, _hab(key)).text = str(value)
    etree.SubElement(output, _hab("status")).text = status
    etree.SubElement(output, _hab("context")).text = context
    return response


def list_authorizations(ctx: OperationContext) -> etree._Element:
    payload = ctx.request.payload
    if payload.tag != _hab("listAuthorizationByPatient"):
        raise invalid("Corps inattendu : listAuthorizationByPatient attendu.")
    mode = (payload.findtext(_hab("mode")) or td16.MODE_ALL).strip()
    if mode not in td16.MODES:
        raise invalid("Mode inconnu : ACTIVE, INTERDITE ou TOUTE attendu.")
    ins = required_vihf_patient(ctx)
    ctx.trace.result = mode
    store = ctx.store
    with store.session() as session:
        patient = store.find_patient(session, ins.value, ins.oid)
        if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
            ctx.trace.outcome = xds.DMP_NOT_FOUND
            return _list_answer(xds.DMP_NOT_FOUND, "Ce patient n'a pas de DMP.", [])
        own = store.find_authorization(session, patient, ctx.identity.national_id)
        if (
            ctx.identity.profession_code is None
            or own is None
            or (own.effective_status() is not AuthorizationStatus.VALIDE)
        ):
            ctx.trace.outcome = xds.DMP_ACCESS_DENIED
            return _list_answer(
                xds.DMP_ACCESS_DENIED,
                "Seul un professionnel autorisé sur ce DMP peut en voir les autorisations.",
                [],
            )
        names = {
            pro.national_id: pro
            for pro in session.scalars(
                select(Professional).where(
                    Professional.national_id.in_(
                        [a.professional_national_id for a in patient.authorizations]
                    )
                )
            )
        }
        items: list[dict[str, object]] = []
        for auth in sorted(patient.authorizations, key=lambda a: a.start_at):
            status = auth.effective_status()
            wire = {
                AuthorizationStatus.VALIDE: td16.MODE_ACTIVE,
                AuthorizationStatus.INTERDIT: td16.MODE_BLOCKED,
            }.get(status)
            if wire is None or (mode != td16.MODE_ALL and mode != wire):
                continue
            pro = names.get(auth.professional_national_id)
            start = auth.start_at.astimezone(_PARIS).strftime("%Y%m%d%H%M%S")
            items.append(
                {
                    "nationalId": auth.professional_national_id,
                    "nationalIdType": ns.OID_PS_ID,
                    "firstName": pro.given_name if pro else "",
                    "lastName": pro.family_name if pro else "",
                    "startOfAuthorization": start,
                    "lastActionDate": start,
                    "mode": wire,
                    "specificRight": td16.RIGHT_TREATING_PHYSICIAN
                    if auth.treating_physician and wire == td16.MODE_ACTIVE
                    else None,
                }
            )
        return _list_answer(STATUS_OK, "", items)
