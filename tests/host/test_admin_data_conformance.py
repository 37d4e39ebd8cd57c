"""The official TD1.3a/b and TD1.5a/b/d requests (VIHF identities aside) are accepted by the
training host over real mutual TLS, its answers have the official answers' shape (and the
official schemas' for TD1.3), the client reads them, and every action is traced."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from dmp_desktop.dmp import td13, td15
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.host.conftest import DURAND
from tests.host.test_consultation_wire import content_type, tls
from tests.host.wire import SAML, SOAP, WSA, ClientIdentity, Reply, TlsClient
from tests.support.vihf import refresh_vihf

H = "{urn:hl7-org:v3}"
MULTICACHE = DMP_SCHEMAS / "HL7V3" / "NE2009" / "multicacheschemas"
SPECIFIC = "/si-dmp-server/v2/services/patientsSpecific"
LEA = next(p for p in demo_patients() if p.key == "actif-autorise").ins


@pytest.fixture
def host(training_env: TrainingEnv, host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db_url, seed=True) as running:
        yield running


@pytest.fixture
def durand_tls(host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity) -> TlsClient:
    return tls(host, training_env, durand)


def official(name: str) -> etree._Element:
    """An official request; its template placeholders (TD1.3b's ``^{date}``) filled in."""
    require_shared(DMP_MESSAGES)
    root = etree.parse(str(Path(DMP_MESSAGES) / name)).getroot()
    for element in root.iter():
        if element.get("value") == "^{date}":
            element.set("value", "20260101120000")
    return root


def post_official(client: TlsClient, name: str, action: str, path: str | None = None) -> Reply:
    env = refresh_vihf(official(name))
    env.find(f".//{{{SAML}}}Subject/{{{SAML}}}NameID").text = DURAND
    for attribute in env.iter(f"{{{SAML}}}Attribute"):
        if attribute.get("Name") == "urn:oasis:names:tc:xacml:2.0:resource:resource-id":
            attribute[0].text = LEA.cx()
    data = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    kwargs = {"path": path} if path else {}
    reply = client.post(data, content_type=content_type(action), **kwargs)
    assert reply.status == 200, reply.body[:800]
    return reply


def action_of(reply: Reply) -> str | None:
    return reply.xml().findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action")


def shape(el: etree._Element) -> list[str]:
    return [etree.QName(e).localname for e in el.iter() if isinstance(e.tag, str)]


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(require_shared(MULTICACHE / name))))


def test_official_requests_are_accepted_and_answered_in_the_official_shape(
    host: RunningHost, durand_tls: TlsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first_trace = host.store.last_trace_id()

    # TD1.3a
    reply = post_official(durand_tls, "TD1.3a - Consultation_requête.xml", td13.ACTION_READ)
    assert action_of(reply) == td13.ACTION_READ_RESPONSE
    answer = reply.body_element()
    xsd = schema("PRPA_IN201308UV02.xsd")
    assert xsd.validate(answer), xsd.error_log
    reference = official("TD1.3a - Consultation_réponse.xml").find(f"{{{SOAP}}}Body")[0]
    # Every element we answer is one the official answer has (a major has no
    # personalRelationship; we give no empty birthPlace).
    assert set(shape(answer)) <= set(shape(reference))
    before = td13.parse_read_response(answer, requested=LEA)
    assert (before.family_name, before.given_name) == ("MOREAU", "LÉA")

    # TD1.3b, then TD1.3a again shows the change.
    reply = post_official(durand_tls, "TD1.3b - Modification_requête.xml", td13.ACTION_UPDATE)
    assert action_of(reply) == td13.ACTION_UPDATE_RESPONSE
    accepted = reply.body_element()[0]
    xsd = schema("PRPA_IN201315UV02.xsd")
    assert xsd.validate(accepted), xsd.error_log
    assert td13.parse_update_response(reply.body_element()).patient_status == "active"
    reference = official("TD1.3b - Modification_réponse.xml").find(f"{{{SOAP}}}Body")[0][0]
    # The official shape; ours also names the patient (DMP id, INS) as for TD1.4.
    assert [n for n in shape(accepted) if n != "id"] == [n for n in shape(reference) if n != "id"]
    reply = post_official(durand_tls, "TD1.3a - Consultation_requête.xml", td13.ACTION_READ)
    after = td13.parse_read_response(reply.body_element(), requested=LEA)
    assert (after.home_phone, after.mobile, after.email) == (
        "0123456789",
        "0607080901",
        "dominque.pattrois@mail.com",
    )
    assert after.address.lines == ("20 rue des edelweiss",) and after.address.city == "Paris"
    # Identity traits come from the INS: the request's other name did not replace them.
    assert after.family_name == "MOREAU" and after.birth_date == before.birth_date

    # TD1.5a, b, d
    reply = post_official(
        durand_tls,
        "TD1.5a - Création du compte internet patient_requête.xml",
        td15.ACTION_CREATE,
        SPECIFIC,
    )
    assert action_of(reply) == td15.ACTION_CREATE_RESPONSE
    reference = official("TD1.5a - Création du compte internet patient_réponse.xml")
    assert shape(reply.body_element()) == shape(reference.find(f"{{{SOAP}}}Body")[0])
    created = td15.parse_create_response(reply.body_element())
    assert created.login and created.temporary_password

    reply = post_official(
        durand_tls, "TD1.5b - Ajout d'un canal OTP_requête.xml", td15.ACTION_OTP, SPECIFIC
    )
    reference = official("TD1.5b - Ajout d'un canal OTP_réponse.xml")
    assert shape(reply.body_element()) == shape(reference.find(f"{{{SOAP}}}Body")[0])
    assert td15.parse_otp_response(reply.body_element()).context == "OTP mis à jour"

    reply = post_official(
        durand_tls,
        "TD1.5d - Maj des information du compte internet_requête.xml",
        td15.ACTION_UPDATE,
        SPECIFIC,
    )
    assert action_of(reply) in td15.ACTION_UPDATE_RESPONSES
    reference = official("TD1.5d - Maj des information du compte internet_réponse.xml")
    assert shape(reply.body_element()) == shape(reference.find(f"{{{SOAP}}}Body")[0])
    renewed = td15.parse_update_response(reply.body_element())
    assert renewed.login == created.login
    assert renewed.temporary_password not in (None, created.temporary_password)

    # The outbox: account opened (login and a one-time code, never the password), channel
    # added (a code), credentials renewed; the administrative change too.
    messages = [m for m, ins, _ in host.store.outbox(ins_value=LEA.value)]
    kinds = [m.kind for m in messages]
    for kind in ("DONNEES_MODIFIEES", "ACCES_EN_LIGNE", "CANAL_OTP_AJOUTE", "ACCES_RENOUVELE"):
        assert kind in kinds
    opened = next(m for m in messages if m.kind == "ACCES_EN_LIGNE")
    assert created.login in opened.text and "06 •• •• •• 06" in opened.text
    assert "Code de vérification" in opened.text
    secrets = (created.temporary_password, renewed.temporary_password)
    assert not any(s in m.text for m in messages for s in secrets)

    # Every action traced, with the patient; no secret in a trace or in the log.
    traces = host.store.traces(after_id=first_trace)
    assert [t.transaction for t in traces] == [
        "TD1.3a",
        "TD1.3b",
        "TD1.3a",
        "TD1.5a",
        "TD1.5b",
        "TD1.5d",
    ]
    assert all(t.outcome == "OK" and t.patient_ins == LEA.value for t in traces)
    assert all(t.professional_national_id == DURAND for t in traces)
    for secret in secrets:
        assert secret not in caplog.text
        assert not any(secret in str(vars(t)) for t in traces)
