"""Administrative data (TD1.3a/b) and the patient's online access (TD1.5a/b/d) on the host.

TD1.3a (``PRPA_IN201307UV02``, reason ``CNSLT_DATA``, service ``patients``):
the answer ``PRPA_IN201308UV02`` has the official example's shape: DMP id and
INS, status, ``patientPerson`` (name, ``telecom`` ``HP`` / ``MC`` /
``mailto:``, sex, birth, ``deceasedInd``, ``addr``, and for a minor the legal
representative as ``personalRelationship``), the two oppositions, the
custodian, ``queryAck`` ``OK``. No DMP: ``queryResponseCode`` ``NF``. A
refusal: ``acknowledgement`` ``AE`` with the DMP code and a French text.

TD1.3b (``PRPA_IN201314UV02``, reason ``MODIF_DATA``): the request carries the
whole administrative record; contacts, address, the legal representative's
contacts and the oppositions it carries replace the stored ones (what it
omits is cleared). The identity traits (name, sex, birth date) come from the
INS referential and are not changed. A minor's own ``telecom`` are taken as
the legal representative's contacts (a minor has no online access). Closed
record: ``PRPA_IN201316UV02`` / ``DMPClosed``. The patient is notified.

Rules for both: a health professional authorised on the record (``VALIDE``);
structure staff (secretariat) get ``DMPAccessDenied``, a blocked professional
``DMPAccessDeniedByExcludedPs``.

TD1.5 (service ``patientsSpecific``; the patient is the VIHF's resource-id):

- ``createPatientAccess`` (type ``SMS`` / ``EMAIL``, ``canal``): opens the
  online access of an adult's active record; answers a login and a temporary
  password (handed to the patient by the professional; never stored, only
  the login is) and puts a notification with a one-time verification code
  sent to the channel in the outbox;
- ``patientOTPUpdate`` (``AJOUT`` / ``MODIFICATION`` / ``SUPPRESSION``): one
  channel per type; the last channel cannot be removed
  (``DMPOtpChannelRequired``); a new channel gets a verification code in the
  outbox;
- ``updatePatientAccess``: new temporary password for the existing access
  (the login stays); the patient is notified.

Refusals are answers with ``status`` = the code and ``context`` = a French
text: ``DMPNotFound``, ``DMPClosed``, ``DMPAccessDenied``,
``DMPAccessDeniedByExcludedPs``, ``DMPMinorPatient`` (a minor gets no online
access of their own: the legal representative uses theirs),
``DMPPatientAccessExists``, ``DMPPatientAccessNotFound``. Every request is
traced by the server (transaction ``TD1.3a``, ``TD1.3b``, ``TD1.5a``…); no
secret (password, code) goes to a trace or a log.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy.orm import Session

from dmp_desktop.domain.admin_data import (
    OTP_EMAIL,
    OTP_SMS,
    PostalAddress,
    check_email,
    check_mobile,
    check_phone,
    check_postal_code,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import InvalidContactError, describe
from dmp_sandbox import patients, records, xds
from dmp_sandbox import wire as ns
from dmp_sandbox.access import required_vihf_patient
from dmp_sandbox.hl7v3 import (
    OBS_OPPOSITION_BRIS_DE_GLACE,
    OBS_OPPOSITION_CENTRE_15,
    read_address,
    read_telecoms,
    td12_14,
    td13,
    td15,
    write_address,
    write_observation,
    write_telecoms,
)
from dmp_sandbox.soap import invalid
from dmp_sandbox.store import AuthorizationStatus, DmpState, Patient, utcnow

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext

H = ns.HL7
PATIENTS_NS = td15.PATIENTS_NS
SANTEOS_NS = "urn:com:santeos:dmp:patient:2010"  # declared on the official answers
STATUS_OK = "DMPOk"
MINOR = "DMPMinorPatient"
ACCESS_EXISTS = "DMPPatientAccessExists"
ACCESS_NOT_FOUND = "DMPPatientAccessNotFound"
CHANNEL_REQUIRED = "DMPOtpChannelRequired"
OUTBOX_ADMIN_UPDATED = "DONNEES_MODIFIEES"
OUTBOX_ACCESS_CREATED = "ACCES_EN_LIGNE"
OUTBOX_OTP_ADDED = "CANAL_OTP_AJOUTE"
OUTBOX_OTP_REMOVED = "CANAL_OTP_SUPPRIME"
OUTBOX_ACCESS_RENEWED = "ACCES_RENOUVELE"
CODE_VALIDITY_MINUTES = 10
_PARIS = ZoneInfo("Europe/Paris")


def _h(local: str) -> str:
    return f"{{{H}}}{local}"


def _sub(parent: etree._Element, local: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _h(local))
    for key, value in attrs.items():
        el.set(key, value)
    return el


Refusal = records.Refusal


def _check_rights(ctx: OperationContext, session: Session, patient: Patient | None) -> Patient:
    """The patient's record, if this professional may act on its administrative data."""
    if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
        raise Refusal(xds.DMP_NOT_FOUND, "Ce patient n'a pas de DMP.")
    if ctx.identity.profession_code is None:
        raise Refusal(
            xds.DMP_ACCESS_DENIED,
            "Un personnel de structure (secrétariat) ne peut ni consulter ni modifier les "
            "données administratives du DMP : elles sont réservées aux professionnels de "
            "santé autorisés.",
        )
    auth = ctx.store.find_authorization(session, patient, ctx.identity.national_id)
    status = auth.effective_status() if auth is not None else None
    if status is AuthorizationStatus.INTERDIT:
        raise Refusal(xds.DMP_EXCLUDED_PS, "Le patient vous a interdit l'accès à son DMP.")
    if status is not AuthorizationStatus.VALIDE:
        raise Refusal(
            xds.DMP_ACCESS_DENIED,
            "Vous n'êtes pas autorisé sur ce DMP : demandez au patient son accord puis "
            "enregistrez l'autorisation.",
        )
    return patient


def _who(ctx: OperationContext) -> str:
    return records._who(ctx)


def _today(ctx: OperationContext) -> str:
    return f"{utcnow().astimezone(_PARIS):%d/%m/%Y}"


# --- TD1.3a ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Contacts:
    home_phone: str | None
    mobile: str | None
    email: str | None


def read_admin_data(ctx: OperationContext) -> etree._Element:
    """TD1.3a: the patient's administrative data (see the module docstring)."""
    ctx.trace.transaction = "TD1.3a"
    request = patients.read_td02(ctx.request.payload)
    ctx.trace.patient_ins, ctx.trace.patient_ins_root = request.ins.value, request.ins.oid
    records._check_vihf(ctx, request.ins)
    store = ctx.store
    with store.session() as session:
        found = store.find_patient(session, request.ins.value, request.ins.oid)
        try:
            patient = _check_rights(ctx, session, found)
        except Refusal as refusal:
            ctx.trace.outcome = ctx.trace.result = refusal.code
            if refusal.code == xds.DMP_NOT_FOUND:
                return _read_answer(request, None, None)
            return _read_answer(request, None, refusal)
        ctx.trace.result = "OK"
        return _read_answer(request, patient, None)


def _header(root: etree._Element, request: patients.Td02Request) -> None:
    _sub(root, "id", root=str(uuid.uuid4()))
    _sub(root, "creationTime", value=utcnow().astimezone(_PARIS).strftime("%Y%m%d%H%M%S"))
    _sub(root, "interactionId", extension=td13.READ_RESPONSE, root=ns.OID_HL7_INTERACTION)
    _sub(root, "processingCode", code="P")
    _sub(root, "processingModeCode", code="T")
    _sub(root, "acceptAckCode", code="NE")
    for type_code, oid, name in (
        ("RCV", request.sender_root or "0", request.sender_name or "LPS"),
        ("SND", ns.OID_DMP_DEVICE, "DMP"),
    ):
        holder = _sub(root, "receiver" if type_code == "RCV" else "sender", typeCode=type_code)
        device = _sub(holder, "device", classCode="DEV", determinerCode="INSTANCE")
        _sub(device, "id", root=oid)
        _sub(device, "softwareName").text = name


def _read_answer(
    request: patients.Td02Request, patient: Patient | None, refusal: Refusal | None
) -> etree._Element:
    root = etree.Element(_h(td13.READ_RESPONSE), nsmap={None: H, "ns2": records.GDP, "xsi": ns.XSI})
    root.set("ITSVersion", "XML_1.0")
    _header(root, request)
    ack = _sub(root, "acknowledgement", typeCode="AE" if refusal else "AA")
    target = _sub(_sub(ack, "targetMessage"), "id")
    if request.id_extension is not None:
        target.set("extension", request.id_extension)
    target.set("root", request.id_root)
    if refusal is not None:
        detail = _sub(ack, "acknowledgementDetail", typeCode="E")
        _sub(detail, "code", code=refusal.code, codeSystem=ns.OID_DMP_DEVICE)
        _sub(detail, "text").text = refusal.text
    cap = _sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _sub(
        cap,
        "reasonCode",
        code=td13.REASON_READ,
        codeSystem=ns.OID_TD_REASON,
        displayName=td13.REASON_READ_LABEL,
    )
    if patient is not None:
        _patient_subject(cap, patient)
    query_ack = _sub(cap, "queryAck")
    query_id = _sub(query_ack, "queryId")
    if request.query_id_extension is not None:
        query_id.set("extension", request.query_id_extension)
    query_id.set("root", request.query_id_root)
    code = "AE" if refusal else (td13.QUERY_FOUND if patient else td13.QUERY_NOT_FOUND)
    _sub(query_ack, "queryResponseCode", code=code)
    return root


def _address(patient: Patient) -> PostalAddress:
    return PostalAddress(
        lines=tuple(line for line in (patient.address_lines or "").split("\n") if line),
        postal_code=patient.postal_code or "",
        city=patient.city or "",
        country=patient.country or "",
    )


def _patient_subject(cap: etree._Element, patient: Patient) -> None:
    subject = records.patient_subject(cap, patient)
    pat, person = subject.patient, subject.person
    _sub(subject.name, "given").text = patient.given_name.upper()
    _sub(subject.name, "family", qualifier="SP").text = patient.family_name.upper()
    if not patient.is_minor:
        _telecoms(person, patient.home_phone, patient.mobile, patient.email)
    _sub(person, "administrativeGenderCode", code=patient.gender or "U")
    _sub(person, "birthTime", value=f"{patient.birth_date:%Y%m%d}")
    _sub(person, "deceasedInd", value="false")
    address = _address(patient)
    if not address.empty:
        write_address(person, address)
    if patient.is_minor and patient.legal_representative:
        rel = _sub(person, "personalRelationship", classCode="PRS")
        relationship = patient.legal_representative_relationship or "GUARD"
        _sub(rel, "code", code=relationship, codeSystem=td13.OID_RELATIONSHIP)
        _telecoms(
            rel, None, patient.legal_representative_mobile, patient.legal_representative_email
        )
        holder = _sub(rel, "relationshipHolder1", classCode="PSN", determinerCode="INSTANCE")
        family, _, given = patient.legal_representative.partition(" ")
        rep_name = _sub(holder, "name")
        _sub(rep_name, "given").text = given or family
        _sub(rep_name, "family").text = family
    for code, flag in (
        (OBS_OPPOSITION_BRIS_DE_GLACE, patient.opposition_bris_de_glace),
        (OBS_OPPOSITION_CENTRE_15, patient.opposition_centre_15),
    ):
        write_observation(pat, code, flag)
    records.add_custodian(subject.event)


def _telecoms(
    holder: etree._Element, home: str | None, mobile: str | None, email: str | None
) -> None:
    write_telecoms(holder, home, mobile, email)


# --- TD1.3b ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateRequest:
    ids: records.MessageIds
    ins: Ins
    contacts: _Contacts
    address: PostalAddress
    representative: _Contacts | None
    representative_name: str | None
    observations: dict[str, bool]


def _checked(contacts: tuple[str | None, str | None, str | None]) -> _Contacts:
    home, mobile, email = contacts
    try:
        return _Contacts(
            check_phone(home) if home else None,
            check_mobile(mobile) if mobile else None,
            check_email(email) if email else None,
        )
    except InvalidContactError as exc:
        raise invalid(describe(exc)) from None


def read_update(payload: etree._Element) -> UpdateRequest:
    ids = records._ids(payload, td12_14.INTERACTION_REQUEST)
    patient = records._patient_el(payload)
    ins = records._ins(patient)
    person = patient.find(_h("patientPerson"))
    contacts = _checked(read_telecoms(person))
    address = read_address(person.find(_h("addr")) if person is not None else None)
    if address.postal_code and address.country.strip().lower() in ("", "france", "fr"):
        try:
            check_postal_code(address.postal_code)
        except InvalidContactError as exc:
            raise invalid(describe(exc)) from None
    representative = representative_name = None
    rel = person.find(_h("personalRelationship")) if person is not None else None
    if rel is not None:
        representative = _checked(read_telecoms(rel))
        rep_name = rel.find(f"{_h('relationshipHolder1')}/{_h('name')}")
        if rep_name is not None:
            family = (rep_name.findtext(_h("family")) or "").strip()
            given = (rep_name.findtext(_h("given")) or "").strip()
            representative_name = f"{family} {given}".strip()[:255] or None
    observations: dict[str, bool] = {}
    for obs in patient.findall(f"{_h('subjectOf')}/{_h('administrativeObservation')}"):
        code = obs.find(_h("code"))
        value = obs.find(_h("value"))
        if code is not None and code.get("code"):
            observations[code.get("code", "")] = (
                value is not None and (value.get("value") or "").strip().lower() == "true"
            )
    return UpdateRequest(
        ids, ins, contacts, address, representative, representative_name, observations
    )


def update_admin_data(ctx: OperationContext) -> etree._Element:
    """TD1.3b (see the module docstring)."""
    ctx.trace.transaction = "TD1.3b"
    request = read_update(ctx.request.payload)
    ctx.trace.patient_ins, ctx.trace.patient_ins_root = request.ins.value, request.ins.oid
    records._check_vihf(ctx, request.ins)
    kind = records.AnswerKind(
        wrapper=td12_14.RESPONSE_WRAPPER,
        reason_code=td13.REASON_UPDATE,
        reason_label=td13.REASON_UPDATE_LABEL,
    )
    store = ctx.store
    with store.session() as session:
        try:
            patient = _check_rights(
                ctx, session, store.find_patient(session, request.ins.value, request.ins.oid)
            )
            if patient.state is DmpState.CLOSED:
                raise Refusal(
                    xds.DMP_CLOSED,
                    "Le DMP de ce patient est fermé : ses données administratives ne peuvent "
                    "plus être modifiées. Réactivez-le d'abord.",
                )
        except Refusal as refusal:
            ctx.trace.outcome = ctx.trace.result = refusal.code
            return records.build_answer(
                request.ids,
                kind,
                interaction=td12_14.INTERACTION_REFUSED,
                refusal=refusal,
                request_subject=ctx.request.payload.find(
                    f"{_h('controlActProcess')}/{_h('subject')}"
                ),
            )
        _apply(patient, request)
        store.notify_patient(
            session,
            patient,
            OUTBOX_ADMIN_UPDATED,
            f"Vos données administratives (coordonnées, adresse, choix d'accès en urgence) "
            f"ont été modifiées le {_today(ctx)} par {_who(ctx)}.",
            professional_national_id=ctx.identity.national_id,
        )
        ctx.trace.result = "MODIFIE/MINEUR" if patient.is_minor else "MODIFIE"
        return records.build_answer(
            request.ids, kind, interaction=td12_14.INTERACTION_ACCEPTED, patient=patient
        )


def _apply(patient: Patient, request: UpdateRequest) -> None:
    contacts = request.contacts
    if patient.is_minor:
        # A minor has no contact of their own for the DMP: the legal representative's.
        rep = request.representative or _Contacts(None, contacts.mobile, contacts.email)
        patient.legal_representative_mobile = rep.mobile
        patient.legal_representative_email = rep.email
        if request.representative_name:
            patient.legal_representative = request.representative_name
        patient.mobile = patient.email = None
    else:
        patient.mobile = contacts.mobile
        patient.email = contacts.email
    patient.home_phone = contacts.home_phone
    address = request.address
    patient.address_lines = "\n".join(line[:255] for line in address.lines)[:512] or None
    patient.postal_code = address.postal_code[:16] or None
    patient.city = address.city[:100] or None
    patient.country = address.country[:64] or None
    if OBS_OPPOSITION_BRIS_DE_GLACE in request.observations:
        patient.opposition_bris_de_glace = request.observations[OBS_OPPOSITION_BRIS_DE_GLACE]
    if OBS_OPPOSITION_CENTRE_15 in request.observations:
        patient.opposition_centre_15 = request.observations[OBS_OPPOSITION_CENTRE_15]


def revise(ctx: OperationContext) -> etree._Element:
    """``PRPA_IN201314UV02``: TD1.3b for ``MODIF_DATA``, else TD1.4 / TD1.2 (records)."""
    if records._reason(ctx.request.payload) == td13.REASON_UPDATE:
        return update_admin_data(ctx)
    return records.revise_dmp(ctx)


# --- TD1.5 -----------------------------------------------------------------------------------


def _p(local: str) -> str:
    return f"{{{PATIENTS_NS}}}{local}"


def _access_answer(
    operation: str,
    status: str,
    context: str = "",
    *,
    login: str | None = None,
    password: str | None = None,
) -> etree._Element:
    root = etree.Element(_p(f"{operation}Response"), nsmap={"ns1": PATIENTS_NS, "ns2": SANTEOS_NS})
    output = etree.SubElement(root, _p("output"))
    if login is not None:
        etree.SubElement(output, _p("login")).text = login
    if password is not None:
        etree.SubElement(output, _p("password")).text = password
    etree.SubElement(output, _p("status")).text = status
    context_el = etree.SubElement(output, _p("context"))
    if context:
        context_el.text = context
    return root


def _payload(ctx: OperationContext, operation: str) -> etree._Element:
    payload = ctx.request.payload
    if payload.tag != _p(operation):
        raise invalid(f"Corps inattendu : {operation} attendu.")
    required_vihf_patient(ctx)
    return payload


def _online_patient(ctx: OperationContext, session: Session) -> Patient:
    ins_value, ins_root = ctx.trace.patient_ins or "", ctx.trace.patient_ins_root or ""
    patient = _check_rights(ctx, session, ctx.store.find_patient(session, ins_value, ins_root))
    if patient.state is DmpState.CLOSED:
        raise Refusal(
            xds.DMP_CLOSED,
            "Le DMP de ce patient est fermé : son accès en ligne ne peut pas être modifié.",
        )
    if patient.is_minor:
        raise Refusal(
            MINOR,
            "Patient mineur : il ne peut pas avoir d'accès en ligne à son DMP. Son "
            "représentant légal y accède avec son propre compte.",
        )
    return patient


def _patient_with_access(ctx: OperationContext, session: Session) -> Patient:
    """:func:`_online_patient`, who must already have an online access (TD1.5b/d)."""
    patient = _online_patient(ctx, session)
    if not patient.online_login:
        raise Refusal(
            ACCESS_NOT_FOUND,
            "Ce patient n'a pas encore d'accès en ligne : créez-le d'abord.",
        )
    return patient


def _channel(payload: etree._Element) -> tuple[str, str]:
    channel_type = (payload.findtext(_p("type")) or "").strip().upper()
    value = (payload.findtext(_p("canal")) or "").strip()
    if channel_type not in td15.CHANNEL_TYPES:
        raise invalid("Type de canal inconnu : SMS ou EMAIL attendu.")
    try:
        return channel_type, td15.check_channel(channel_type, value)
    except InvalidContactError as exc:
        raise invalid(describe(exc)) from None


def _masked(channel_type: str, value: str) -> str:
    if channel_type == OTP_SMS:
        return f"{value[:2]} •• •• •• {value[-2:]}"
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain}"


def _code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _new_login() -> str:
    letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(4))
    return letters + f"{secrets.randbelow(10**4):04d}"


def _new_password() -> str:
    alphabet = string.ascii_letters + string.digits + "!#=?*"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(8))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def _channel_label(channel_type: str) -> str:
    return "par SMS au" if channel_type == OTP_SMS else "par courriel à"


def _refused(ctx: OperationContext, operation: str, refusal: Refusal) -> etree._Element:
    ctx.trace.outcome = ctx.trace.result = refusal.code
    return _access_answer(operation, refusal.code, refusal.text)


def create_access(ctx: OperationContext) -> etree._Element:
    """TD1.5a ``createPatientAccess``."""
    operation = "createPatientAccess"
    payload = _payload(ctx, operation)
    channel_type, value = _channel(payload)
    with ctx.store.session() as session:
        try:
            patient = _online_patient(ctx, session)
            if patient.online_login:
                raise Refusal(
                    ACCESS_EXISTS,
                    "Ce patient a déjà un accès en ligne : renouvelez ses identifiants "
                    "(updatePatientAccess) au lieu d'en créer un autre.",
                )
        except Refusal as refusal:
            return _refused(ctx, operation, refusal)
        login, password = _new_login(), _new_password()
        patient.online_login = login
        patient.online_access_at = utcnow()
        patient.internet_account_open = True
        if channel_type == OTP_SMS:
            patient.otp_sms = value
            patient.mobile = patient.mobile or value
        else:
            patient.otp_email = value
            patient.email = patient.email or value
        ctx.store.notify_patient(
            session,
            patient,
            OUTBOX_ACCESS_CREATED,
            f"Votre accès en ligne à votre DMP a été ouvert le {_today(ctx)} par {_who(ctx)}. "
            f"Votre identifiant : {login} ; votre mot de passe provisoire vous est remis par "
            f"ce professionnel. Code de vérification envoyé {_channel_label(channel_type)} "
            f"{_masked(channel_type, value)} : {_code()} (valable {CODE_VALIDITY_MINUTES} "
            "minutes).",
            professional_national_id=ctx.identity.national_id,
        )
        ctx.trace.result = f"CREE/{channel_type}"
        return _access_answer(operation, STATUS_OK, login=login, password=password)


def open_access_at_creation(patient: Patient) -> str:
    """TD1.1 with a mobile or an e-mail (adults): open the online access and say how.

    The login and one-time-code channels are set as TD1.5a would; no password is
    made here (the patient's first login goes through a one-time code, and a
    professional can renew the credentials with TD1.5d). Returns the notice's text.
    """
    patient.online_login = _new_login()
    patient.online_access_at = utcnow()
    patient.internet_account_open = True
    sent = []
    if patient.mobile:
        patient.otp_sms = patient.mobile
        sent.append(f"{_channel_label(OTP_SMS)} {_masked(OTP_SMS, patient.mobile)}")
    if patient.email:
        patient.otp_email = patient.email
        sent.append(f"{_channel_label(OTP_EMAIL)} {_masked(OTP_EMAIL, patient.email)}")
    return (
        f"Votre accès en ligne est ouvert : identifiant {patient.online_login}. "
        f"Code de première connexion envoyé {' et '.join(sent)} : {_code()} "
        f"(valable {CODE_VALIDITY_MINUTES} minutes)."
    )


def update_otp(ctx: OperationContext) -> etree._Element:
    """TD1.5b ``patientOTPUpdate``."""
    operation = "patientOTPUpdate"
    payload = _payload(ctx, operation)
    channel_type, value = _channel(payload)
    action = (payload.findtext(_p("action")) or td15.OTP_ADD).strip().upper()
    if action not in td15.OTP_ACTIONS:
        raise invalid("Action inconnue : AJOUT, MODIFICATION ou SUPPRESSION attendue.")
    field = "otp_sms" if channel_type == OTP_SMS else "otp_email"
    other = "otp_email" if channel_type == OTP_SMS else "otp_sms"
    with ctx.store.session() as session:
        try:
            patient = _patient_with_access(ctx, session)
            if action == td15.OTP_REMOVE and getattr(patient, other) is None:
                raise Refusal(
                    CHANNEL_REQUIRED,
                    "Le patient doit garder au moins un moyen de recevoir ses codes : "
                    "ajoutez-en un autre avant de supprimer celui-ci.",
                )
        except Refusal as refusal:
            return _refused(ctx, operation, refusal)
        if action == td15.OTP_REMOVE:
            if getattr(patient, field) != value:
                raise invalid("Ce canal n'est pas enregistré pour ce patient.")
            setattr(patient, field, None)
            ctx.store.notify_patient(
                session,
                patient,
                OUTBOX_OTP_REMOVED,
                f"Le moyen de recevoir vos codes {_masked(channel_type, value)} a été retiré "
                f"de votre accès en ligne le {_today(ctx)} par {_who(ctx)}.",
                professional_national_id=ctx.identity.national_id,
            )
        else:
            setattr(patient, field, value)
            ctx.store.notify_patient(
                session,
                patient,
                OUTBOX_OTP_ADDED,
                f"Un moyen de recevoir vos codes à usage unique a été ajouté à votre accès en "
                f"ligne le {_today(ctx)} par {_who(ctx)}. Code de vérification envoyé "
                f"{_channel_label(channel_type)} {_masked(channel_type, value)} : {_code()} "
                f"(valable {CODE_VALIDITY_MINUTES} minutes).",
                professional_national_id=ctx.identity.national_id,
            )
        ctx.trace.result = f"{action}/{channel_type}"
        return _access_answer(operation, STATUS_OK, "OTP mis à jour")


def renew_access(ctx: OperationContext) -> etree._Element:
    """TD1.5d ``updatePatientAccess``: a new temporary password, same login."""
    operation = "updatePatientAccess"
    _payload(ctx, operation)
    with ctx.store.session() as session:
        try:
            patient = _patient_with_access(ctx, session)
        except Refusal as refusal:
            return _refused(ctx, operation, refusal)
        password = _new_password()
        ctx.store.notify_patient(
            session,
            patient,
            OUTBOX_ACCESS_RENEWED,
            f"De nouveaux identifiants d'accès en ligne à votre DMP vous ont été remis le "
            f"{_today(ctx)} par {_who(ctx)}. Si vous ne l'avez pas demandé, signalez-le.",
            professional_national_id=ctx.identity.national_id,
        )
        ctx.trace.result = "RENOUVELE"
        return _access_answer(operation, STATUS_OK, login=patient.online_login, password=password)


__all__ = [
    "OTP_EMAIL",
    "OTP_SMS",
    "create_access",
    "read_admin_data",
    "renew_access",
    "revise",
    "update_otp",
]
