"""The host's TD0.4 (« Liste des DMP autorisés ») and TD0.5 (search without INS), raw wire.

Requests are written here in the official shape (not with the client's
builders); answers are checked against the official schemas where the
official answers themselves validate (``PatientsSpecific.wsdl``), and read
as the official answers are.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid

import pytest
from lxml import etree

from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.host.conftest import MARTIN
from tests.host.wire import HL7, TlsClient, envelope, vihf

PATIENTS_NS = "urn:si-dmp-patients"
ACTION_TD04 = "urn:si-dmp-patients:PatientSpecificEndPoint:patientList"
ACTION_TD05 = "urn:hl7-org:v3:PRPA_IN201305UV02"
SPECIFIC = "/si-dmp-server/v2/services/patientsSpecific"
PDQ = "/si-dmp-server/v2/services/patientsPDQ"
TD04_REQUEST = "TD0.4 - Liste des DMP autorisés_requête.xml"
TD05_REQUEST = "TD0.5 - Recherche d'un patient sans INS_requête.xml"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
DEMO = {p.key: p for p in demo_patients()}


def _ct(action: str) -> str:
    return f'application/soap+xml; charset=UTF-8; action="{action}"'


def _official_body(name: str) -> etree._Element:
    root = etree.parse(str(require_shared(DMP_MESSAGES / name))).getroot()
    body = root.find(f"{{{SOAP}}}Body")
    assert body is not None
    return copy.deepcopy(next(c for c in body if isinstance(c.tag, str)))


def _post(client: TlsClient, body: etree._Element, action: str, path: str, national_id: str):
    data, _ = envelope(body, vihf(national_id, resource_id=None), action=action)
    return client.post(data, content_type=_ct(action), path=path)


# --- TD0.4 -------------------------------------------------------------------------------------


def _td04(since: str = "20100101000000", date_type: str = "LASTAUTORIZATION") -> etree._Element:
    body = _official_body(TD04_REQUEST)
    body.find(f"{{{PATIENTS_NS}}}startDate").text = since
    body.find(f"{{{PATIENTS_NS}}}dateType").text = date_type
    return body


def _rows(reply) -> list[dict[str, str]]:
    assert reply.status == 200, reply.body[:500]
    answer = reply.body_element()
    assert answer.tag == f"{{{PATIENTS_NS}}}patientListResponse"
    output = answer.find(f"{{{PATIENTS_NS}}}output")
    assert output.findtext(f"{{{PATIENTS_NS}}}status") == "DMPOk"
    rows = []
    for data in output.iterfind(f"{{{PATIENTS_NS}}}patientlistData"):
        row = {etree.QName(c).localname: (c.text or "") for c in data if len(c) == 0}
        ids = {
            i.findtext(f"{{{PATIENTS_NS}}}nationalIdType"): i.findtext(
                f"{{{PATIENTS_NS}}}nationalId"
            )
            for i in data.iterfind(f"{{{PATIENTS_NS}}}patientIdentifier")
        }
        row.update(ids)
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def patients_specific_schema() -> etree.XMLSchema:
    path = require_shared(DMP_SCHEMAS.parent / "wsdl" / "PatientsSpecific.wsdl")
    wsdl = etree.parse(str(path))
    return etree.XMLSchema(
        etree.ElementTree(wsdl.getroot().find(f"{{{WSDL}}}types/{{{XSD}}}schema"))
    )


def test_official_td04_request_lists_durand_authorised_dmps(
    host: RunningHost, client: TlsClient, durand, patients_specific_schema: etree.XMLSchema
) -> None:
    reply = _post(client, _official_body(TD04_REQUEST), ACTION_TD04, SPECIFIC, durand.national_id)
    rows = _rows(reply)
    test_root = "1.2.250.1.213.1.4.10"
    listed = {r[test_root] for r in rows}
    # Valid authorisations on active DMPs only: not blocked, expired, closed or unauthorised.
    assert listed == {DEMO["actif-autorise"].ins.value, DEMO["mineur"].ins.value}
    lea = next(r for r in rows if r[test_root] == DEMO["actif-autorise"].ins.value)
    assert lea["lastName"] == "MOREAU" and lea["firstName"] == "LÉA"
    assert lea["dateOfBirth"] == "20070525" and lea["MT"] == "true" and lea["message"] == "false"
    assert len(lea["1.2.250.1.213.1.4.2"]) == 22  # the DMP id comes first, as officially
    assert "lastAddDate" in lea  # Léa has documents
    answer = etree.ElementTree(copy.deepcopy(reply.body_element()))
    assert patients_specific_schema.validate(answer), patients_specific_schema.error_log


def test_td04_filters_on_the_start_date(client: TlsClient, durand) -> None:
    tomorrow = f"{dt.datetime.now(dt.UTC) + dt.timedelta(days=1):%Y%m%d%H%M%S}"
    assert _rows(_post(client, _td04(tomorrow), ACTION_TD04, SPECIFIC, durand.national_id)) == []
    rows = _rows(
        _post(client, _td04(date_type="LASTDOC"), ACTION_TD04, SPECIFIC, durand.national_id)
    )
    # LASTDOC: only the DMPs with a document added since the start date.
    assert DEMO["actif-autorise"].ins.value in {r["1.2.250.1.213.1.4.10"] for r in rows}


def test_td04_is_per_professional(client: TlsClient, training_env, identity_dir) -> None:
    from tests.host.wire import client_context, make_identity

    martin = make_identity(training_env.pki, identity_dir, MARTIN, family="MARTIN", given="PAUL")
    other = TlsClient(client.port, client_context(training_env.pki.trust_roots, martin))
    rows = _rows(_post(other, _td04(), ACTION_TD04, SPECIFIC, MARTIN))
    assert {r["1.2.250.1.213.1.4.10"] for r in rows} == {DEMO["actif-sans-autorisation"].ins.value}
    assert rows[0]["MT"] == "true"


def test_td04_refuses_a_bad_start_date(client: TlsClient, durand) -> None:
    reply = _post(client, _td04("hier"), ACTION_TD04, SPECIFIC, durand.national_id)
    assert reply.status == 400 and reply.fault_code == "DMPInvalidRequest"


# --- TD0.5 -------------------------------------------------------------------------------------


def _td05(
    family: str, given: str | None = None, birth: str | None = None, sex: str | None = None
) -> etree._Element:
    """The official TD0.5 request, its parameters replaced (schema order kept)."""
    body = _official_body(TD05_REQUEST)
    params = body.find(f".//{{{HL7}}}parameterList")
    for child in list(params):
        params.remove(child)

    def parameter(local: str, semantics: str) -> etree._Element:
        holder = etree.SubElement(params, f"{{{HL7}}}{local}")
        value = etree.SubElement(holder, f"{{{HL7}}}value")
        etree.SubElement(holder, f"{{{HL7}}}semanticsText").text = semantics
        return value

    if sex:
        parameter("livingSubjectAdministrativeGender", "LivingSubject.administrativeGender").set(
            "code", sex
        )
    if birth:
        parameter("livingSubjectBirthTime", "LivingSubject.birthTime").set("value", birth)
    name = parameter("livingSubjectName", "LivingSubject.name")
    etree.SubElement(name, f"{{{HL7}}}family").text = family
    if given:
        etree.SubElement(name, f"{{{HL7}}}given").text = given
    body.find(f"{{{HL7}}}id").set("extension", str(uuid.uuid4()))
    return body


def _patients(reply) -> tuple[str, list[dict[str, str]]]:
    assert reply.status == 200, reply.body[:500]
    answer = reply.body_element()
    assert answer.tag == f"{{{HL7}}}PRPA_IN201306UV02"
    assert answer.find(f"{{{HL7}}}acknowledgement/{{{HL7}}}typeCode").get("code") == "AA"
    cap = answer.find(f"{{{HL7}}}controlActProcess")
    code = cap.find(f"{{{HL7}}}queryAck/{{{HL7}}}queryResponseCode").get("code")
    found = []
    for patient in cap.iterfind(
        f"{{{HL7}}}subject/{{{HL7}}}registrationEvent/{{{HL7}}}subject1/{{{HL7}}}patient"
    ):
        person = patient.find(f"{{{HL7}}}patientPerson")
        found.append(
            {
                "ins": patient.find(f"{{{HL7}}}id").get("extension"),
                "family": person.findtext(f"{{{HL7}}}name/{{{HL7}}}family[@qualifier='BR']"),
                "given": person.findtext(f"{{{HL7}}}name/{{{HL7}}}given"),
                "birth": person.find(f"{{{HL7}}}birthTime").get("value"),
                "status": patient.find(f"{{{HL7}}}statusCode").get("code"),
            }
        )
    return code, found


def test_the_official_td05_request_is_answered(client: TlsClient, durand) -> None:
    reply = _post(client, _official_body(TD05_REQUEST), ACTION_TD05, PDQ, durand.national_id)
    assert _patients(reply) == ("NF", [])  # DECHAINE is not a training patient


def test_td05_finds_by_name_and_birth_date(client: TlsClient, durand) -> None:
    reply = _post(client, _td05("Moreau", birth="20070525"), ACTION_TD05, PDQ, durand.national_id)
    code, found = _patients(reply)
    assert code == "OK"
    assert found == [
        {
            "ins": DEMO["actif-autorise"].ins.value,
            "family": "MOREAU",
            "given": "LÉA",
            "birth": "20070525",
            "status": "active",
        }
    ]
    # The answer echoes the query, as the official one.
    answer = reply.body_element()
    assert answer.find(f".//{{{HL7}}}controlActProcess/{{{HL7}}}queryByParameter") is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (("MOREAU", None, "20070526", None), []),
        (("MOREAU", "Emma", None, None), []),
        (("MOREAU", None, None, "M"), []),
        (("moreau", "léa", "20070525", "F"), ["actif-autorise"]),
        (("BLANC", None, None, None), ["ferme"]),  # a closed DMP is found, as closed
        (("ROUSSEL", None, None, None), []),  # no DMP: not the DMP's patient
    ],
)
def test_td05_matches_every_trait_given(
    client: TlsClient, durand, query: tuple, expected: list[str]
) -> None:
    code, found = _patients(_post(client, _td05(*query), ACTION_TD05, PDQ, durand.national_id))
    assert code == ("OK" if expected else "NF")
    assert [f["ins"] for f in found] == [DEMO[k].ins.value for k in expected]
    if expected == ["ferme"]:
        assert found[0]["status"] == "terminated"


def test_td05_without_a_name_is_refused(client: TlsClient, durand) -> None:
    body = _td05("X")
    name = body.find(f".//{{{HL7}}}livingSubjectName/{{{HL7}}}value/{{{HL7}}}family")
    name.text = " "
    reply = _post(client, body, ACTION_TD05, PDQ, durand.national_id)
    assert reply.status == 400 and reply.fault_code == "DMPInvalidRequest"
