"""The official TD1.4 and TD1.6 requests, identities aside, are accepted by the training host,
and its TD1.1 / TD1.4 answers (accepted and refused) validate against the official schemas
(PRPA_IN201312/13/15/16UV02) and have the official TD1.4 answer's shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from dmp_desktop.dmp import td11
from dmp_sandbox.demo import demo_ins, demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.host.conftest import DURAND
from tests.host.test_consultation_wire import HABILITATIONS, assertion, content_type, tls
from tests.host.wire import SAML, SOAP, WSA, ClientIdentity, TlsClient, envelope
from tests.support.vihf import refresh_vihf
from tests.unit.test_dmp_support import doctor

H = "{urn:hl7-org:v3}"
MULTICACHE = DMP_SCHEMAS / "HL7V3" / "NE2009" / "multicacheschemas"
EMMA = next(p for p in demo_patients() if p.key == "mineur").ins
ACTION_REVISE = "urn:hl7-org:v3:PRPA_IN201314UV02"
ACTION_LIST = "urn:si-dmp-habilitations:HabilitationsEndPoint:listAuthorizationByPatient"


@pytest.fixture(scope="module")
def conformance_host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    db = tmp_path_factory.mktemp("records-conformance-db") / "host.db"
    with run_in_thread(training_env, f"sqlite:///{db}", seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def durand_tls(
    conformance_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(conformance_host, training_env, durand)


def schema(name: str) -> etree.XMLSchema:
    path = require_shared(MULTICACHE / name)
    return etree.XMLSchema(etree.parse(str(path)))


def official(name: str) -> etree._Element:
    require_shared(DMP_MESSAGES)
    return etree.parse(str(Path(DMP_MESSAGES) / name)).getroot()


def with_identities(env: etree._Element, national_id: str, cx: str) -> bytes:
    refresh_vihf(env)
    env.find(f".//{{{SAML}}}Subject/{{{SAML}}}NameID").text = national_id
    for attribute in env.iter(f"{{{SAML}}}Attribute"):
        if attribute.get("Name") == "urn:oasis:names:tc:xacml:2.0:resource:resource-id":
            attribute[0].text = cx
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def inner(reply_body: etree._Element) -> etree._Element:
    return reply_body[0]


def names(el: etree._Element) -> list[str]:
    return [etree.QName(e).localname for e in el.iter() if isinstance(e.tag, str)]


def test_official_closure_request_is_accepted_then_refused(durand_tls: TlsClient) -> None:
    request = official("TD1.4 - Fermer_requête.xml")
    request.find(f".//{H}patient/{H}id").set("extension", EMMA.value)
    data = with_identities(request, DURAND, EMMA.cx())
    reply = durand_tls.post(data, content_type=content_type(ACTION_REVISE))
    assert reply.status == 200, reply.body[:800]
    env = reply.xml()
    assert env.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == (
        "urn:hl7-org:v3:PRPA_IN201314ResponseUV02"
    )
    answer = reply.body_element()
    assert etree.QName(answer).localname == "PRPA_IN201314UV02_Response"
    accepted = inner(answer)
    xsd = schema("PRPA_IN201315UV02.xsd")
    assert xsd.validate(accepted), xsd.error_log
    reference = inner(official("TD1.4 - Fermer_réponse.xml").find(f"{{{SOAP}}}Body")[0])
    # The official shape; ours also names the patient (DMP id, INS) like TD0.2.
    ours = [n for n in names(accepted) if n != "id" and n != "targetMessage"]
    theirs = [n for n in names(reference) if n != "id" and n != "targetMessage"]
    assert ours == theirs
    assert accepted.find(f".//{H}patient/{H}statusCode").get("code") == "terminated"

    again = official("TD1.4 - Fermer_requête.xml")
    again.find(f".//{H}patient/{H}id").set("extension", EMMA.value)
    refused = inner(
        durand_tls.post(
            with_identities(again, DURAND, EMMA.cx()), content_type=content_type(ACTION_REVISE)
        ).body_element()
    )
    xsd = schema("PRPA_IN201316UV02.xsd")
    assert xsd.validate(refused), xsd.error_log
    assert refused.find(f"{H}acknowledgement").get("typeCode") == "AE"
    code = refused.find(f"{H}acknowledgement/{H}acknowledgementDetail/{H}code")
    assert code.get("code") == "DMPClosed"


def test_creation_answers_are_schema_valid(durand_tls: TlsClient) -> None:
    ins = demo_ins("1850375123456")
    identity = td11.PatientIdentity("Petit", "Hugo", "M", dt.date(1985, 3, 14))
    verdicts = []
    for _ in range(2):
        body = td11.build_td11_request(
            ins,
            identity,
            td11.CreationConsent(True, email="hugo@example.org"),
            doctor(),
            sender_oid="1.2.3",
            sender_name="LPS",
        )
        data, _ = envelope(body, assertion(DURAND, ins.value), action=td11.ACTION_CREATE)
        reply = durand_tls.post(data, content_type=content_type(td11.ACTION_CREATE))
        assert reply.status == 200, reply.body[:800]
        assert reply.xml().findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == (
            td11.ACTION_CREATE_RESPONSE
        )
        verdicts.append(inner(reply.body_element()))
    created, found = verdicts
    xsd = schema("PRPA_IN201312UV02.xsd")
    assert xsd.validate(created), xsd.error_log
    xsd = schema("PRPA_IN201313UV02.xsd")
    assert xsd.validate(found), xsd.error_log
    detail = found.find(f"{H}acknowledgement/{H}acknowledgementDetail/{H}code")
    assert detail.get("code") == "DMPFound"


def test_official_list_request_is_accepted(durand_tls: TlsClient) -> None:
    lea = next(p for p in demo_patients() if p.key == "actif-autorise").ins
    request = official("TD1.6 - Liste des PS autorisés ou bloqués_requête.xml")
    reply = durand_tls.post(
        with_identities(request, DURAND, lea.cx()),
        content_type=content_type(ACTION_LIST),
        path=HABILITATIONS,
    )
    assert reply.status == 200, reply.body[:800]
    answer = reply.body_element()
    reference = official("TD1.6 - Liste des PS autorisés ou bloqués_réponse.xml")
    ref_answer = reference.find(f"{{{SOAP}}}Body")[0]
    assert answer.tag == ref_answer.tag
    item = answer.find("{*}output/{*}listOfAuthorizationByPatient")
    ref_item = ref_answer.find("{*}output/{*}listOfAuthorizationByPatient")
    expected = [
        etree.QName(e).localname
        for e in ref_item
        if etree.QName(e).localname not in ("codeSpeciality", "libSpeciality")
    ]
    assert [etree.QName(e).localname for e in item][: len(expected)] == expected
    assert answer.findtext("{*}output/{*}status") == "DMPOk"
