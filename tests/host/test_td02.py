"""TD0.2 (test of existence) against the training host, over real mutual TLS."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from dmp_desktop.dmp.soap import read_http_response
from dmp_desktop.dmp.td02 import parse_td02_response
from dmp_desktop.domain import Authorization, DmpState, Ins, InsKind
from dmp_sandbox.demo import DemoPatient, demo_ins, demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_MESSAGES, require_shared, shared_missing
from tests.host.conftest import DURAND, MARTIN, STAFF
from tests.host.wire import (
    HL7,
    SAML,
    SOAP,
    WSA,
    ClientIdentity,
    Reply,
    TlsClient,
    client_context,
    td02_request,
)
from tests.support.vihf import refresh_vihf

NS = {"h": HL7, "s": SOAP, "a": WSA}
PATIENTS = {p.key: p for p in demo_patients()}


def _one(el: etree._Element, xpath: str) -> etree._Element:
    found = el.xpath(xpath, namespaces=NS)
    assert len(found) == 1, f"{xpath}: {len(found)} found"
    return found[0]


def _attention(body: etree._Element, keyword: str) -> etree._Element:
    return _one(body, f"h:attentionLine[h:keyWordText/@code='{keyword}']/h:value")


def _validate(schema: etree.XMLSchema | None, body: etree._Element) -> None:
    if schema is None:
        shared_missing("PRPA_IN201308UV02 schema")
    copy = etree.fromstring(etree.tostring(body))
    assert schema.validate(copy), schema.error_log


def _check_envelope(reply: Reply, request: bytes, message_id: str) -> etree._Element:
    assert reply.status == 200, reply.body
    assert reply.content_type.startswith("application/soap+xml")
    env = reply.xml()
    assert _one(env, "s:Header/a:Action").text == "urn:hl7-org:v3:PRPA_IN201308UV02"
    assert _one(env, "s:Header/a:RelatesTo").text == message_id
    assert _one(env, "s:Header/a:To").text == "http://www.w3.org/2005/08/addressing/anonymous"
    assert _one(env, "s:Header/a:MessageID").text.startswith("urn:uuid:")
    body = reply.body_element()
    sent = etree.fromstring(request).find(f"{{{SOAP}}}Body")[0]
    sent_id = _one(sent, "h:id")
    target = _one(body, "h:acknowledgement[@typeCode='AA']/h:targetMessage/h:id")
    assert (target.get("root"), target.get("extension")) == (
        sent_id.get("root"),
        sent_id.get("extension"),
    )
    sent_query = _one(sent, "h:controlActProcess/h:queryByParameter/h:queryId")
    query = _one(body, "h:controlActProcess/h:queryAck/h:queryId")
    assert query.get("extension") == sent_query.get("extension")
    assert _one(body, "h:controlActProcess/h:reasonCode").get("code") == "TEST_EXST"
    return body


@pytest.mark.parametrize("key", list(PATIENTS))
def test_td02_for_each_demo_patient(
    key: str, client: TlsClient, host: RunningHost, schema_1308: etree.XMLSchema | None
) -> None:
    patient: DemoPatient = PATIENTS[key]
    request, message_id = td02_request(DURAND, patient.ins.value)
    reply = client.post(request)
    body = _check_envelope(reply, request, message_id)
    _validate(schema_1308, body)
    code = _one(body, "h:controlActProcess/h:queryAck/h:queryResponseCode").get("code")
    expected = patient.expected_for_durand
    if expected == "NF":
        assert code == "NF"
        assert not body.xpath("h:controlActProcess/h:subject", namespaces=NS)
        assert not body.xpath("h:attentionLine", namespaces=NS)
    else:
        assert code == "OK"
        assert _attention(body, "AUTORISATION").get("code") == expected
        mt = any(a.treating_physician for a in patient.authorizations if a.national_id == DURAND)
        assert _attention(body, "STATUT_MT").get("value") == ("true" if mt else "false")
        assert _attention(body, "PATIENT_MINEUR").get("value") == str(patient.is_minor).lower()
        assert _attention(body, "CONNEXION_SECRETE").get("value") == "false"
        pat = _one(body, "h:controlActProcess/h:subject/h:registrationEvent/h:subject1/h:patient")
        ins_id = _one(pat, "h:id[@root='1.2.250.1.213.1.4.10']")
        assert ins_id.get("extension") == patient.ins.value
        assert _one(pat, "h:id[@root='1.2.250.1.213.1.4.2']").get("extension")
        closed = patient.closure_reason is not None
        assert _one(pat, "h:statusCode").get("code") == ("terminated" if closed else "active")
        person = _one(pat, "h:patientPerson")
        assert _one(person, "h:name/h:family").text == patient.family_name.upper()
        assert _one(person, "h:birthTime").get("value") == f"{patient.birth_date:%Y%m%d}"
        assert _one(person, "h:administrativeGenderCode").get("code") == patient.gender
        observation = _one(
            pat,
            "h:subjectOf/h:administrativeObservation[h:code/@code='COMPTE_INTERNET_OUVERT']",
        )
        assert (
            _one(observation, "h:value").get("value") == str(patient.internet_account_open).lower()
        )
        if closed:
            issue = _one(body, "h:controlActProcess/h:reasonOf/h:detectedIssueEvent/h:code")
            assert issue.get("code") == patient.closure_reason
            effective = _one(
                body, "h:controlActProcess/h:subject/h:registrationEvent/h:effectiveTime"
            )
            assert (
                effective.get("value")
                == f"{dt.datetime.now(dt.UTC).date() - dt.timedelta(days=60):%Y%m%d}"
            )

    # The client's own reader understands the answer the same way.
    response = read_http_response(
        reply.status,
        reply.content_type,
        reply.body,
        expected_action="urn:hl7-org:v3:PRPA_IN201308UV02",
        relates_to=message_id,
    )
    status = parse_td02_response(response.body, patient.ins)
    if expected == "NF":
        assert status.state is DmpState.NONE
    else:
        assert status.authorization is Authorization(expected)
        assert status.minor is patient.is_minor
        assert status.state is (DmpState.CLOSED if patient.closure_reason else DmpState.ACTIVE)
        if patient.closure_reason:
            assert status.closure_reason == patient.closure_reason
            assert status.closure_date == dt.datetime.now(dt.UTC).date() - dt.timedelta(days=60)

    trace = host.store.traces()[-1]
    assert (trace.transaction, trace.outcome, trace.http_status) == ("TD0.2", "OK", 200)
    assert trace.professional_national_id == DURAND
    assert trace.patient_ins == patient.ins.value
    assert trace.message_id == message_id
    assert trace.result == ("NF" if expected == "NF" else f"OK/{expected}")


def test_unknown_patient_is_not_found(client: TlsClient) -> None:
    request, message_id = td02_request(DURAND, demo_ins("1010175001001").value)
    reply = client.post(request)
    body = _check_envelope(reply, request, message_id)
    assert _one(body, "h:controlActProcess/h:queryAck/h:queryResponseCode").get("code") == "NF"


def test_authorisation_is_per_professional(
    host: RunningHost, training_env: TrainingEnv, identity_dir: object
) -> None:
    from tests.host.wire import make_identity

    martin = make_identity(training_env.pki, identity_dir, MARTIN, family="MARTIN", given="PAUL")  # type: ignore[arg-type]
    martin_client = TlsClient(host.port, client_context(training_env.pki.trust_roots, martin))
    patient = PATIENTS["actif-sans-autorisation"]
    reply = martin_client.post(td02_request(MARTIN, patient.ins.value)[0])
    body = reply.body_element()
    assert _attention(body, "AUTORISATION").get("code") == "VALIDE"
    assert _attention(body, "STATUT_MT").get("value") == "true"
    assert host.store.professional(MARTIN) is not None


def test_staff_card_may_test_existence(
    host: RunningHost, training_env: TrainingEnv, staff: ClientIdentity
) -> None:
    staff_client = TlsClient(host.port, client_context(training_env.pki.trust_roots, staff))
    patient = PATIENTS["actif-autorise"]
    role = ("SECRETARIAT_MEDICAL", "1.2.250.1.213.1.1.4.6")
    reply = staff_client.post(td02_request(STAFF, patient.ins.value, role=role)[0])
    assert reply.status == 200, reply.body
    assert _attention(reply.body_element(), "AUTORISATION").get("code") == "NON_EXISTE"
    # A staff card cannot claim a profession in its VIHF.
    reply = staff_client.post(td02_request(STAFF, patient.ins.value)[0])
    assert (reply.status, reply.fault_code) == (400, "DMPAuthenticationError")


def test_cps3_like_client_tls12_ecdhe_rsa_aes_gcm(
    host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    ctx = client_context(training_env.pki.trust_roots, durand, tls12_only=True)
    cps3 = TlsClient(host.port, ctx)
    reply = cps3.post(td02_request(DURAND, PATIENTS["actif-autorise"].ins.value)[0])
    assert reply.status == 200


def test_official_td02_request_is_accepted(
    host: RunningHost, client: TlsClient, schema_1308: etree.XMLSchema | None
) -> None:
    """The CNAM's TD0.2 example, identities aside, gets an answer valid against the XSD."""
    require_shared(DMP_MESSAGES)
    source = DMP_MESSAGES / "TD0.2 - Test d'existence_requête.xml"
    env = refresh_vihf(etree.fromstring(source.read_bytes()))  # a VIHF of now
    patient = PATIENTS["actif-autorise"]
    ins = Ins(patient.ins.value, InsKind.TEST_NIR)
    name_id = env.find(f".//{{{SAML}}}Subject/{{{SAML}}}NameID")
    name_id.text = DURAND
    for attribute in env.iter(f"{{{SAML}}}Attribute"):
        if attribute.get("Name") == "urn:oasis:names:tc:xacml:2.0:resource:resource-id":
            attribute[0].text = ins.cx()
    value = env.find(f".//{{{HL7}}}patientIdentifier/{{{HL7}}}value")
    value.set("root", ins.oid)
    value.set("extension", ins.value)
    request = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    message_id = env.findtext(f"{{{SOAP}}}Header/{{{WSA}}}MessageID")
    reply = client.post(request)
    body = _check_envelope(reply, request, message_id)
    if schema_1308 is None:
        shared_missing("PRPA_IN201308UV02 schema")
    _validate(schema_1308, body)
    assert _attention(body, "AUTORISATION").get("code") == "VALIDE"
    # Same top-level shape as the official answer.
    official = etree.fromstring(
        (DMP_MESSAGES / "TD0.2 - Test d'existence_réponse.xml").read_bytes()
    ).find(f"{{{SOAP}}}Body")[0]

    def shape(el: etree._Element) -> list[str]:
        return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]

    assert [t for t in shape(body) if t != "attentionLine"] == [
        t for t in shape(official) if t != "attentionLine"
    ]
    cap, official_cap = (_one(e, "h:controlActProcess") for e in (body, official))
    assert shape(cap) == shape(official_cap)
