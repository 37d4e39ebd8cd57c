"""TD1.1, TD1.2/TD1.4 and TD1.6 against the official material.

The requests the client builds validate against the official HL7 schemas
(PRPA_IN201311UV02, PRPA_IN201314UV02) and, for TD1.4 and TD1.6, have the
official example's shape; the official TD1.4 and TD1.6 answers read; refusals
raise typed errors; nothing is built without the recorded consent.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from dmp_desktop.dates import PARIS
from dmp_desktop.dmp import td11, td12_14, td16
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.unit.test_dmp_support import INS, doctor

MULTICACHE = Path("HL7V3") / "NE2009" / "multicacheschemas"
SOAP_BODY = "{http://www.w3.org/2003/05/soap-envelope}Body"
H = "{urn:hl7-org:v3}"
ADULT = td11.PatientIdentity("Petit", "Hugo", "M", dt.date(1985, 3, 14))
CHILD = td11.PatientIdentity("Petit", "Louise", "F", dt.date(2019, 2, 1))
TODAY = dt.date(2026, 6, 1)
REP = td11.LegalRepresentative("Petit", "Hugo", consent_given=True)


def schema(name: str) -> etree.XMLSchema:
    path = require_shared(DMP_SCHEMAS / MULTICACHE / name)
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def official_body(name: str) -> etree._Element:
    require_shared(DMP_MESSAGES)
    return etree.parse(str(DMP_MESSAGES / name)).getroot().find(SOAP_BODY)[0]


def shape(el: etree._Element) -> list[tuple[str, tuple[str, ...]]]:
    """Element names (document order) with their attribute names, text ignored."""
    return [
        (etree.QName(e).localname, tuple(sorted(e.attrib)))
        for e in el.iter()
        if isinstance(e.tag, str)
    ]


def create(identity: td11.PatientIdentity, consent: td11.CreationConsent) -> etree._Element:
    return td11.build_td11_request(
        INS, identity, consent, doctor(), sender_oid="1.2.3", sender_name="LPS", today=TODAY
    )


def test_creation_requests_are_schema_valid() -> None:
    xsd = schema("PRPA_IN201311UV02.xsd")
    adult = create(
        ADULT, td11.CreationConsent(True, opposition_bris_de_glace=True, mobile="+33611")
    )
    minor = create(CHILD, td11.CreationConsent(True, email="x@y.fr", legal_representative=REP))
    for body in (adult, minor):
        assert xsd.validate(body), xsd.error_log
    observations = {
        obs.find(f"{H}code").get("code"): obs.find(f"{H}value").get("value")
        for obs in adult.iter(f"{H}administrativeObservation")
    }
    assert observations == {
        "CONSENTEMENT_OUVERTURE_DMP": "true",
        "OPPOSITION_BRIS_DE_GLACE": "true",
        "OPPOSITION_ACCES_URGENCE": "false",
    }
    assert adult.find(f".//{H}reasonCode").get("code") == "CREA_RD"
    assert [t.get("value") for t in adult.iter(f"{H}telecom")] == ["tel:+33611"]
    # A minor: the representative is there, the contacts for online access are not.
    assert minor.find(f".//{H}guardian/{H}guardianPerson/{H}name/{H}family").text == "PETIT"
    assert list(minor.iter(f"{H}telecom")) == []


def test_no_consent_no_request() -> None:
    with pytest.raises(td11.ConsentError):
        create(ADULT, td11.CreationConsent(False))
    with pytest.raises(td11.ConsentError):
        create(CHILD, td11.CreationConsent(True))
    refused = dataclass_replace(REP, consent_given=False)
    with pytest.raises(td11.ConsentError):
        create(CHILD, td11.CreationConsent(True, legal_representative=refused))


def dataclass_replace(rep: td11.LegalRepresentative, **changes: object) -> td11.LegalRepresentative:
    import dataclasses

    return dataclasses.replace(rep, **changes)  # type: ignore[arg-type]


def test_closure_request_has_the_official_shape() -> None:
    official = official_body("TD1.4 - Fermer_requête.xml")
    ours = td12_14.build_td14_request(
        INS,
        "patb-quatre",
        "LAURENCE",
        doctor(specialty_code="SM26", specialty_label="Qualifié en Médecine Générale (SM)"),
        sender_oid="1.3.6.1.4.1.48364",
        sender_name="LPS GIE-SV",
        reason_text="FERMETURE_DEMANDE_PATIENT",
        gender="M",
    )
    xsd = schema("PRPA_IN201314UV02.xsd")
    assert xsd.validate(ours), xsd.error_log
    assert xsd.validate(official), xsd.error_log
    # Same elements, same order (the official organisation also has a name).
    assert _same_but_org_name(ours, official)
    assert ours.find(f".//{H}detectedIssueEvent/{H}code").get("code") == (
        "FERMETURE_DEMANDE_PATIENT"
    )


def _same_but_org_name(ours: etree._Element, official: etree._Element) -> bool:
    theirs = copy.deepcopy(official)
    org_name = theirs.find(f".//{H}representedOrganization/{H}name")
    if org_name is not None and ours.find(f".//{H}representedOrganization/{H}name") is None:
        org_name.getparent().remove(org_name)
    return [n for n, _ in shape(ours)] == [n for n, _ in shape(theirs)]


def test_reactivation_request_is_schema_valid() -> None:
    body = td12_14.build_td14_request(
        INS, "X", "Y", doctor(), sender_oid="1.2.3", sender_name="LPS", close=False
    )
    assert schema("PRPA_IN201314UV02.xsd").validate(body)
    assert body.find(f".//{H}reasonCode").get("code") == "REAC"
    assert body.find(f".//{H}reasonOf") is None


def test_official_closure_answer_reads() -> None:
    result = td12_14.parse_td14_response(official_body("TD1.4 - Fermer_réponse.xml"))
    assert (result.interaction, result.patient_status) == ("PRPA_IN201315UV02", "terminated")


def test_refused_closure_raises_the_dmp_code() -> None:
    answer = copy.deepcopy(official_body("TD1.4 - Fermer_réponse.xml"))
    inner = answer[0]
    inner.tag = f"{H}PRPA_IN201316UV02"
    ack = inner.find(f"{H}acknowledgement")
    ack.set("typeCode", "AE")
    detail = etree.SubElement(ack, f"{H}acknowledgementDetail", typeCode="E")
    etree.SubElement(detail, f"{H}code", code="DMPClosed")
    etree.SubElement(detail, f"{H}text").text = "Le DMP de ce patient est déjà fermé."
    # A refusal echoes the request's registrationRequest (schema: subject required).
    cap = inner.find(f"{H}controlActProcess")
    cap.remove(cap.find(f"{H}subject"))
    request = official_body("TD1.4 - Fermer_requête.xml")
    cap.append(copy.deepcopy(request.find(f"{H}controlActProcess/{H}subject")))
    xsd = schema("PRPA_IN201316UV02.xsd")
    assert xsd.validate(inner), xsd.error_log
    with pytest.raises(DmpServiceError) as info:
        td12_14.parse_td14_response(answer)
    assert info.value.code == "DMPClosed"


def test_a_wrong_answer_is_a_protocol_error() -> None:
    with pytest.raises(DmpProtocolError):
        td11.parse_td11_response(official_body("TD1.4 - Fermer_réponse.xml"))


def test_list_request_is_the_official_one() -> None:
    official = official_body("TD1.6 - Liste des PS autorisés ou bloqués_requête.xml")
    ours = td16.build_list_request()
    assert etree.tostring(ours, method="c14n") == etree.tostring(
        _strip_ws(copy.deepcopy(official)), method="c14n"
    )


def _strip_ws(el: etree._Element) -> etree._Element:
    for e in el.iter():
        if len(e):
            e.text = None
        e.tail = None
    return el


def test_official_list_answer_reads() -> None:
    answer = official_body("TD1.6 - Liste des PS autorisés ou bloqués_réponse.xml")
    [item] = td16.parse_list_response(answer)
    assert item.national_id == "899900063480"
    assert (item.family_name, item.given_name) == ("LIBRE", "MAX")
    assert item.status == "VALIDE" and not item.treating_physician
    assert item.specialties == ("G15_10/SM26",)
    assert item.start == dt.datetime(2021, 6, 1, 13, 58, 4, tzinfo=PARIS)  # no offset: Paris


def test_list_refusal_and_blocked_items() -> None:
    answer = copy.deepcopy(official_body("TD1.6 - Liste des PS autorisés ou bloqués_réponse.xml"))
    ns1 = "{urn:si-dmp-habilitations}"
    item = answer.find(f"{ns1}output/{ns1}listOfAuthorizationByPatient")
    item.find(f"{ns1}mode").text = "INTERDITE"
    assert td16.parse_list_response(answer)[0].status == "INTERDIT"
    answer.find(f"{ns1}output/{ns1}status").text = "DMPAccessDenied"
    with pytest.raises(DmpServiceError) as info:
        td16.parse_list_response(answer)
    assert info.value.code == "DMPAccessDenied"
    with pytest.raises(ValueError):
        td16.build_list_request("TOUS")
