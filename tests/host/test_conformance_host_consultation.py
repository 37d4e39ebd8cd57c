"""The CNAM's official TD3.1, TD3.2 and TD0.3 requests, identities aside, are accepted by the
training host, and its answers have the official shape and validate against the official
schemas (ebRS 3.0 query.xsd, IHE XDS.b_DocumentRepository.xsd, the habilitations WSDL's schema).
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from lxml import etree

from dmp_desktop.dmp.mtom import parse_mtom
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.host.conftest import DURAND, MARTIN
from tests.host.test_consultation_wire import (
    ACTION_FIND,
    ACTION_RETRIEVE,
    ACTION_SET_AUTH,
    HAB,
    REGISTRY,
    REPOSITORY,
    RIM,
    RS,
    SCHEMA_QUERY,
    SCHEMA_REPOSITORY,
    SUCCESS,
    XDSB,
    XOP,
    TlsClient,
    consult_host,
    content_type,
    document_uid,
    martin,
    schema,
    tls,
)
from tests.host.wire import SAML, SOAP, WSA, ClientIdentity
from tests.support.vihf import refresh_vihf

__all__ = ["consult_host", "martin"]  # fixtures

LEA = next(p for p in demo_patients() if p.key == "actif-autorise").ins
HABILITATIONS_WSDL = DMP_SCHEMAS.parent / "wsdl" / "Habilitations.wsdl"


def official(name: str) -> etree._Element:
    require_shared(DMP_MESSAGES)
    return etree.fromstring((DMP_MESSAGES / name).read_bytes())


def with_identities(env: etree._Element, national_id: str) -> bytes:
    """The official request, sent as Dr ``national_id`` about Moreau Léa (VIHF of now)."""
    refresh_vihf(env)
    env.find(f".//{{{SAML}}}Subject/{{{SAML}}}NameID").text = national_id
    for attribute in env.iter(f"{{{SAML}}}Attribute"):
        if attribute.get("Name") == "urn:oasis:names:tc:xacml:2.0:resource:resource-id":
            attribute[0].text = LEA.cx()
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def body(env: etree._Element) -> etree._Element:
    return env.find(f"{{{SOAP}}}Body")[0]


def names(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def shape(eo: etree._Element) -> list[str]:
    """An ExtrinsicObject's structure: element kinds, slot names, classification schemes."""
    out = []
    for child in eo:
        local = etree.QName(child).localname
        key = (
            child.get("name")
            or child.get("classificationScheme")
            or child.get("identificationScheme")
        )
        item = f"{local}:{key}" if key else local
        if not out or out[-1] != item:
            out.append(item)
    return out


@pytest.fixture(scope="module")
def durand_tls(
    consult_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(consult_host, training_env, durand)


def test_official_td31_request_is_accepted(
    consult_host: RunningHost, durand_tls: TlsClient
) -> None:
    request = official("TD3.1 - Recherche de document_requête.xml")
    message_id = request.findtext(f"{{{SOAP}}}Header/{{{WSA}}}MessageID")
    reply = durand_tls.post(
        with_identities(request, DURAND), content_type=content_type(ACTION_FIND), path=REGISTRY
    )
    assert reply.status == 200, reply.body[:1000]
    env = reply.xml()
    assert env.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == (
        "urn:ihe:iti:2007:RegistryStoredQueryResponse"
    )
    assert env.findtext(f"{{{SOAP}}}Header/{{{WSA}}}RelatesTo") == message_id
    answer = body(env)
    assert answer.get("status") == SUCCESS
    xsd = schema(SCHEMA_QUERY)
    assert xsd is not None
    assert xsd.validate(etree.fromstring(etree.tostring(answer))), xsd.error_log

    reference = body(official("TD3.1 - Recherche de document_réponse.xml"))
    assert etree.QName(answer).localname == etree.QName(reference).localname
    assert sorted(answer.attrib) == sorted(reference.attrib)
    ours = answer.findall(f"{{{RIM}}}RegistryObjectList/{{{RIM}}}ExtrinsicObject")
    theirs = reference.findall(f"{{{RIM}}}RegistryObjectList/{{{RIM}}}ExtrinsicObject")
    assert ours and theirs
    # Same attributes, and the same slots, classifications and identifiers in the same order
    # (the official entries all carry event codes; compare with one of ours that has some).
    assert sorted(ours[0].attrib) == sorted(theirs[0].attrib)
    with_events = [
        eo
        for eo in ours
        if "2c6b8cb7" in etree.tostring(eo).decode()
        and eo.find(f"{{{RIM}}}Description") is not None
    ]
    assert with_events
    assert shape(with_events[0]) == shape(theirs[0])
    patient_id = with_events[0].find(
        f"{{{RIM}}}ExternalIdentifier[@identificationScheme="
        "'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427']"
    )
    assert patient_id.get("value").startswith(f"{LEA.value}^^^&{LEA.oid}&ISO^NH^^")


def test_official_td32_request_is_accepted(
    consult_host: RunningHost, durand_tls: TlsClient
) -> None:
    request = official("TD3.2 - Consultation d'un document_requête.xml")
    uid = document_uid(consult_host, LEA.value, "cardiologie")
    request.find(f".//{{{XDSB}}}DocumentUniqueId").text = uid
    reply = durand_tls.post(
        with_identities(request, DURAND),
        content_type=content_type(ACTION_RETRIEVE),
        path=REPOSITORY,
    )
    assert reply.status == 200, reply.body[:1000]
    message = parse_mtom(reply.content_type, reply.body)
    env = etree.fromstring(message.root)
    assert env.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == (
        "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
    )
    answer = body(env)
    reference = body(official("TD3.2 - Consultation d'un document_réponse.xml"))
    assert names(answer) == names(reference)
    doc, ref_doc = (a.find(f"{{{XDSB}}}DocumentResponse") for a in (answer, reference))
    assert names(doc) == names(ref_doc)
    assert names(doc.find(f"{{{XDSB}}}Document")) == ["Include"]
    assert answer.find(f"{{{RS}}}RegistryResponse").get("status") == SUCCESS
    assert doc.findtext(f"{{{XDSB}}}RepositoryUniqueId") == ref_doc.findtext(
        f"{{{XDSB}}}RepositoryUniqueId"
    )
    href = doc.find(f"{{{XDSB}}}Document/{{{XOP}}}Include").get("href")
    assert href.startswith("cid:") and "%3A" in href  # percent-encoded, as the official
    data = message.part(href).data
    assert unquote(href[4:]) in message.parts and data.startswith(b"<?xml")
    # XOP decoding (the Include replaced by the base64 content) validates against the XSD.
    import base64

    holder = doc.find(f"{{{XDSB}}}Document")
    holder.remove(holder[0])
    holder.text = base64.b64encode(data).decode("ascii")
    xsd = schema(SCHEMA_REPOSITORY)
    assert xsd is not None
    assert xsd.validate(etree.fromstring(etree.tostring(answer))), xsd.error_log


def habilitations_schema() -> etree.XMLSchema:
    require_shared(HABILITATIONS_WSDL)
    wsdl = etree.parse(str(HABILITATIONS_WSDL))
    xs = wsdl.find(
        ".//{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema"
    )
    return etree.XMLSchema(etree.fromstring(etree.tostring(xs)))


def test_official_td03_request_is_accepted(
    consult_host: RunningHost, training_env: TrainingEnv, martin: ClientIdentity
) -> None:
    client = tls(consult_host, training_env, martin)
    xsd = habilitations_schema()
    reference = body(official("TD0.3 - Mise à jour de l'autorisation_réponse.xml"))
    assert xsd.validate(etree.fromstring(etree.tostring(reference))), xsd.error_log
    contexts = []
    for _ in range(2):
        request = official("TD0.3 - Mise à jour de l'autorisation_requête.xml")
        assert xsd.validate(etree.fromstring(etree.tostring(body(request))))
        reply = client.post(
            with_identities(request, MARTIN),
            content_type=content_type(ACTION_SET_AUTH),
            path="/si-dmp-server/v2/services/habilitations",
        )
        assert reply.status == 200, reply.body[:1000]
        env = reply.xml()
        assert env.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == (
            "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorizationResponse"
        )
        answer = body(env)
        assert xsd.validate(etree.fromstring(etree.tostring(answer))), xsd.error_log
        assert names(answer) == names(reference)
        output = answer.find(f"{{{HAB}}}output")
        assert names(output) == names(reference.find(f"{{{HAB}}}output"))
        assert output.findtext(f"{{{HAB}}}status") == "DMPOk"
        contexts.append(output.findtext(f"{{{HAB}}}context"))
    assert contexts == [
        "Autorisation ajoutée",
        reference.findtext(f"{{{HAB}}}output/{{{HAB}}}context"),
    ]
