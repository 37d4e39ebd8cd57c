"""The ``patients`` service: TD0.2, test of existence (PRPA_IN201307UV02 -> PRPA_IN201308UV02).

The answer has the exact shape of the CNAM's official example
(``TD0.2 - Test d'existence_réponse.xml``) and validates against the official
``PRPA_IN201308UV02.xsd``:

- ``attentionLine`` ``AUTORISATION`` (1.2.250.1.213.4.1.2.6.1) whose value
  (CV, 1.2.250.1.213.4.1.2.6.2) is ``NON_EXISTE`` / ``INTERDIT`` / ``EXPIRE`` /
  ``VALIDE`` (``EXPIRE`` also when a valid authorisation's end date is past),
  then BL ``attentionLine`` elements (codeSystem 1.2.250.1.213.4.1.2.6.3)
  ``STATUT_MT`` (the caller is "médecin traitant DMP"), ``PATIENT_MINEUR``
  and ``CONNEXION_SECRETE``, always all four, whenever the DMP exists
  (active or closed). The minor / secret-connection keywords are not in the
  public material: they are the ones :mod:`dmp_sandbox.hl7v3` names (as the client does) and
  reads, imported from there;
- ``acknowledgement`` ``AA`` whose ``targetMessage/id`` is the request's id;
- ``controlActProcess`` with reasonCode ``TEST_EXST``; when the DMP exists a
  ``subject/registrationEvent/subject1/patient`` with the DMP id (root
  1.2.250.1.213.1.4.2) and the INS, ``statusCode`` ``active`` or
  ``terminated``, ``patientPerson`` (name, gender, birth time) and the
  ``subjectOf/administrativeObservation`` elements of the official answer
  (``COMPTE_INTERNET_OUVERT``, ``RATTACHEMENT_ENS``);
- a closed DMP also carries its closure date as
  ``registrationEvent/effectiveTime/@value`` (YYYYMMDD) and its reason as
  ``controlActProcess/reasonOf/detectedIssueEvent`` (code in
  1.2.250.1.213.4.1.2.4, e.g. ``FERMETURE_DEMANDE_PATIENT``, and its text);
- ``queryAck`` echoing the request's ``queryId`` with ``queryResponseCode``
  ``OK``, or ``NF`` (and no ``subject``, no ``attentionLine``) when the
  patient has no DMP.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from lxml import etree

from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_sandbox import care_team
from dmp_sandbox.auth import CertIdentity
from dmp_sandbox.hl7v3 import td02
from dmp_sandbox.soap import invalid
from dmp_sandbox.store import AuthorizationStatus, DmpState, Store
from dmp_sandbox.wire import HL7, OID_DMP_DEVICE, OID_DMP_ID, OID_TD_REASON, XSI

DMP_DEVICE_NAME = td02.DMP_DEVICE_NAME
INTERACTION_REQUEST = td02.INTERACTION_REQUEST
INTERACTION_RESPONSE = td02.INTERACTION_RESPONSE
KEYWORD_AUTHORIZATION = td02.KEYWORD_AUTHORIZATION
KEYWORD_MINOR = td02.KEYWORD_MINOR
KEYWORD_SECRET_CONNECTION = td02.KEYWORD_SECRET_CONNECTION
KEYWORD_TREATING_PHYSICIAN = td02.KEYWORD_TREATING_PHYSICIAN
OID_AUTHORIZATION_KEYWORD = td02.OID_AUTHORIZATION_KEYWORD
OID_AUTHORIZATION_VALUE = td02.OID_AUTHORIZATION_VALUE
OID_CLOSURE_REASON = td02.OID_CLOSURE_REASON
OID_STATUS_KEYWORD = td02.OID_STATUS_KEYWORD
QUERY_FOUND = td02.QUERY_FOUND
QUERY_NOT_FOUND = td02.QUERY_NOT_FOUND
REASON_TEST_EXISTENCE = td02.REASON_TEST_EXISTENCE
REASON_TEST_EXISTENCE_LABEL = td02.REASON_TEST_EXISTENCE_LABEL
STATUS_ACTIVE = td02.STATUS_ACTIVE
STATUS_CLOSED = td02.STATUS_CLOSED

INTERACTION_ROOT = "2.16.840.1.113883.1.6"
GDP_NS = "asip:ci-sis:gdp:2010"  # declared on the official answers
PATIENTS_SERVICE_NS = "urn:si-dmp-patients"

OID_DMP_OBSERVATION = "1.2.250.1.213.4.1.2.3"
OID_ACCOUNT_OBSERVATION = "1.2.250.1.213.4.1.2.9"


@dataclass(frozen=True)
class Observation:
    code: str
    code_system: str
    display_name: str | None = None


# The administrativeObservations of the official TD0.2 answer.
OBS_INTERNET_ACCOUNT = Observation("COMPTE_INTERNET_OUVERT", OID_ACCOUNT_OBSERVATION)
OBS_ENS = Observation(
    "RATTACHEMENT_ENS", OID_DMP_OBSERVATION, "information de rattachement du DMP à un ENS"
)

_PARIS = ZoneInfo("Europe/Paris")


def _h(local: str) -> str:
    return f"{{{HL7}}}{local}"


@dataclass(frozen=True)
class Td02Request:
    id_root: str
    id_extension: str | None
    query_id_root: str
    query_id_extension: str | None
    ins: Ins
    sender_root: str | None
    sender_name: str | None


@dataclass(frozen=True)
class Td02Result:
    """What the store says, copied out of the session (plain values)."""

    exists: bool
    state: DmpState = DmpState.NONE
    authorization: AuthorizationStatus | None = None
    treating_physician: bool = False
    dmp_id: str | None = None
    family_name: str = ""
    given_name: str = ""
    gender: str = "U"
    birth_date: dt.date | None = None
    closure_date: dt.date | None = None
    closure_reason: str | None = None
    closure_text: str | None = None
    minor: bool = False
    secret_connection: bool = False
    observations: dict[Observation, bool] = field(default_factory=dict)

    @property
    def authorization_code(self) -> str:
        return self.authorization.value if self.authorization else "NON_EXISTE"

    @property
    def trace_result(self) -> str:
        if not self.exists:
            return QUERY_NOT_FOUND
        return f"{QUERY_FOUND}/{self.authorization_code}"


def _required(el: etree._Element | None, what: str) -> etree._Element:
    if el is None:
        raise invalid(f"Requête PRPA_IN201307UV02 incomplète : {what} absent.")
    return el


def read_reason(payload: etree._Element) -> str | None:
    reason = payload.find(f"{_h('controlActProcess')}/{_h('reasonCode')}")
    return reason.get("code") if reason is not None else None


def read_td02(payload: etree._Element) -> Td02Request:
    if payload.tag != _h(INTERACTION_REQUEST):
        raise invalid("Corps inattendu pour l'action PRPA_IN201307UV02.")
    interaction = payload.find(_h("interactionId"))
    if interaction is not None and interaction.get("extension") not in (None, INTERACTION_REQUEST):
        raise invalid("interactionId incohérent avec l'action.")
    msg_id = _required(payload.find(_h("id")), "id")
    if not msg_id.get("root"):
        raise invalid("Requête PRPA_IN201307UV02 incomplète : id/@root absent.")
    query = _required(
        payload.find(f"{_h('controlActProcess')}/{_h('queryByParameter')}"), "queryByParameter"
    )
    query_id = _required(query.find(_h("queryId")), "queryId")
    value = _required(
        query.find(f"{_h('parameterList')}/{_h('patientIdentifier')}/{_h('value')}"),
        "patientIdentifier/value",
    )
    root, extension = value.get("root"), value.get("extension")
    if not root or not extension:
        raise invalid("Identifiant du patient (INS) incomplet.")
    try:
        ins = Ins(extension.strip(), InsKind.from_oid(root.strip()))
    except InsError as exc:
        raise invalid("Identifiant du patient (INS) invalide.") from exc
    sender = payload.find(f"{_h('sender')}/{_h('device')}")
    sender_root = sender_name = None
    if sender is not None:
        sender_id = sender.find(_h("id"))
        sender_root = sender_id.get("root") if sender_id is not None else None
        sender_name = sender.findtext(_h("softwareName"))
    return Td02Request(
        id_root=msg_id.get("root", ""),
        id_extension=msg_id.get("extension"),
        query_id_root=query_id.get("root", ""),
        query_id_extension=query_id.get("extension"),
        ins=ins,
        sender_root=sender_root,
        sender_name=sender_name,
    )


def lookup(
    store: Store, ins: Ins, national_id: str, identity: CertIdentity | None = None
) -> Td02Result:
    """TD0.2 against the store, for the professional ``national_id``.

    A care team member presumed authorised in an establishment
    (:mod:`dmp_sandbox.care_team`; ``identity`` tells) reads ``VALIDE`` unless blocked.
    """
    with store.reading() as session:
        patient, auth = store.find_patient_access(session, ins.value, ins.oid, national_id)
        if patient is None or patient.state is DmpState.NONE:
            return Td02Result(exists=False)
        status = auth.effective_status() if auth is not None else None
        if (
            identity is not None
            and status not in (AuthorizationStatus.VALIDE, AuthorizationStatus.INTERDIT)
            and patient.state is DmpState.ACTIVE
            and care_team.presumed(session, patient, identity)
        ):
            status = AuthorizationStatus.VALIDE
        return Td02Result(
            exists=True,
            state=patient.state,
            authorization=status,
            treating_physician=bool(
                auth is not None
                and auth.treating_physician
                and status is AuthorizationStatus.VALIDE
            ),
            dmp_id=patient.dmp_id,
            family_name=patient.family_name,
            given_name=patient.given_name,
            gender=patient.gender,
            birth_date=patient.birth_date,
            closure_date=patient.closure_date if patient.state is DmpState.CLOSED else None,
            closure_reason=patient.closure_reason if patient.state is DmpState.CLOSED else None,
            closure_text=patient.closure_text if patient.state is DmpState.CLOSED else None,
            minor=patient.is_minor,
            secret_connection=patient.secret_connection,
            observations={
                OBS_INTERNET_ACCOUNT: patient.internet_account_open,
                OBS_ENS: patient.ens_attached,
            },
        )


def _sub(parent: etree._Element, local: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _h(local))
    for key, value in attrs.items():
        el.set(key, value)
    return el


def _device(parent: etree._Element, type_code: str, root: str, name: str) -> None:
    holder = _sub(parent, "receiver" if type_code == "RCV" else "sender", typeCode=type_code)
    device = _sub(holder, "device", classCode="DEV", determinerCode="INSTANCE")
    _sub(device, "id", root=root)
    _sub(device, "softwareName").text = name


def _typed_value(parent: etree._Element, xsi_type: str, **attrs: str) -> None:
    value = _sub(parent, "value", **attrs)
    value.set(f"{{{XSI}}}type", xsi_type)


def _bl(flag: bool) -> str:
    return "true" if flag else "false"


def build_td02_answer(
    request: Td02Request, result: Td02Result, now: dt.datetime | None = None
) -> etree._Element:
    """The PRPA_IN201308UV02 element for ``result``."""
    now = now or dt.datetime.now(dt.UTC)
    root = etree.Element(_h(INTERACTION_RESPONSE), nsmap={None: HL7, "ns2": GDP_NS, "xsi": XSI})
    root.set("ITSVersion", "XML_1.0")
    _sub(root, "id", root=str(uuid.uuid4()))
    _sub(root, "creationTime", value=now.astimezone(_PARIS).strftime("%Y%m%d%H%M%S"))
    _sub(root, "interactionId", extension=INTERACTION_RESPONSE, root=INTERACTION_ROOT)
    _sub(root, "processingCode", code="P")
    _sub(root, "processingModeCode", code="T")
    _sub(root, "acceptAckCode", code="NE")
    _device(root, "RCV", request.sender_root or "0", request.sender_name or "LPS")
    _device(root, "SND", OID_DMP_DEVICE, DMP_DEVICE_NAME)
    if result.exists:
        line = _sub(root, "attentionLine")
        _sub(line, "keyWordText", code=KEYWORD_AUTHORIZATION, codeSystem=OID_AUTHORIZATION_KEYWORD)
        _typed_value(line, "CV", code=result.authorization_code, codeSystem=OID_AUTHORIZATION_VALUE)
        for keyword, flag in (
            (KEYWORD_TREATING_PHYSICIAN, result.treating_physician),
            (KEYWORD_MINOR, result.minor),
            (KEYWORD_SECRET_CONNECTION, result.secret_connection),
        ):
            line = _sub(root, "attentionLine")
            _sub(line, "keyWordText", code=keyword, codeSystem=OID_STATUS_KEYWORD)
            _typed_value(line, "BL", value=_bl(flag))
    ack = _sub(root, "acknowledgement", typeCode="AA")
    target = _sub(_sub(ack, "targetMessage"), "id")
    if request.id_extension is not None:
        target.set("extension", request.id_extension)
    target.set("root", request.id_root)
    cap = _sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _sub(
        cap,
        "reasonCode",
        code=REASON_TEST_EXISTENCE,
        codeSystem=OID_TD_REASON,
        displayName=REASON_TEST_EXISTENCE_LABEL,
    )
    if result.exists:
        _subject(cap, request, result)
        if result.state is DmpState.CLOSED and result.closure_reason:
            issue = _sub(
                _sub(cap, "reasonOf", typeCode="RSON"),
                "detectedIssueEvent",
                classCode="ALRT",
                moodCode="EVN",
            )
            _sub(issue, "code", code=result.closure_reason, codeSystem=OID_CLOSURE_REASON)
            _sub(issue, "text").text = result.closure_text or result.closure_reason
    query_ack = _sub(cap, "queryAck")
    query_id = _sub(query_ack, "queryId")
    if request.query_id_extension is not None:
        query_id.set("extension", request.query_id_extension)
    query_id.set("root", request.query_id_root)
    _sub(query_ack, "queryResponseCode", code=QUERY_FOUND if result.exists else QUERY_NOT_FOUND)
    return root


def _subject(cap: etree._Element, request: Td02Request, result: Td02Result) -> None:
    subject = _sub(cap, "subject", contextConductionInd="false", typeCode="SUBJ")
    event = _sub(subject, "registrationEvent", classCode="REG", moodCode="EVN")
    _sub(event, "statusCode", code="completed")
    if result.state is DmpState.CLOSED and result.closure_date is not None:
        _sub(event, "effectiveTime", value=result.closure_date.strftime("%Y%m%d"))
    patient = _sub(_sub(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    if result.dmp_id:
        _sub(patient, "id", extension=result.dmp_id, root=OID_DMP_ID)
    _sub(patient, "id", extension=request.ins.value, root=request.ins.oid)
    closed = result.state is DmpState.CLOSED
    _sub(patient, "statusCode", code=STATUS_CLOSED if closed else STATUS_ACTIVE)
    person = _sub(patient, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
    name = _sub(person, "name")
    prefix = {"M": "M", "F": "MME"}.get(result.gender)
    if prefix:
        _sub(name, "prefix").text = prefix
    _sub(name, "given").text = result.given_name.upper()
    _sub(name, "family", qualifier="SP").text = result.family_name.upper()
    _sub(person, "administrativeGenderCode", code=result.gender or "U")
    if result.birth_date is not None:
        _sub(person, "birthTime", value=result.birth_date.strftime("%Y%m%d"))
    for observation, flag in result.observations.items():
        obs = _sub(
            _sub(patient, "subjectOf", typeCode="SBJ"),
            "administrativeObservation",
            classCode="OBS",
            moodCode="EVN",
        )
        code = _sub(obs, "code", code=observation.code, codeSystem=observation.code_system)
        if observation.display_name:
            code.set("displayName", observation.display_name)
        _typed_value(obs, "BL", value=_bl(flag))
    custodian = _sub(event, "custodian", typeCode="CST")
    _sub(_sub(custodian, "assignedEntity", classCode="ASSIGNED"), "id", root=OID_DMP_DEVICE)
