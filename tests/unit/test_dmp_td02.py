"""TD0.2: the PRPA_IN201307UV02 request and the PRPA_IN201308UV02 reader."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dates import PARIS
from dmp_desktop.dmp.soap import parse_envelope
from dmp_desktop.dmp.td02 import (
    CLOSURE_REASON_PATIENT_REQUEST,
    KEYWORD_MINOR,
    KEYWORD_SECRET_CONNECTION,
    OID_CLOSURE_REASON,
    STATUS_CLOSED,
    build_td02_request,
    parse_td02_response,
)
from dmp_desktop.domain import Authorization, DmpState, Ins, InsKind
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from tests.unit.test_dmp_support import (
    INS,
    attention_line,
    authorization_line,
    bl_line,
    td02_answer,
)

H = "{urn:hl7-org:v3}"
OTHER_PATIENT = "180017512345660"  # a valid NIR (key 60), not the one asked for
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _request() -> etree._Element:
    element = build_td02_request(
        INS,
        sender_oid="1.2.3.4",
        sender_name="DMP Desktop",
        message_id="m-1",
        query_id="q-1",
        now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=PARIS),
    )
    return xmlsafe.parse(etree.tostring(element))


def test_request_header_fields() -> None:
    root = _request()
    assert root.tag == f"{H}PRPA_IN201307UV02"
    assert root.get("ITSVersion") == "XML_1.0"
    assert dict(root.find(f"{H}id").attrib) == {"root": "1.2.3.4.1.1", "extension": "m-1"}
    assert root.find(f"{H}creationTime").get("value") == "20260102030405+0100"
    assert dict(root.find(f"{H}interactionId").attrib) == {
        "root": "2.16.840.1.113883.1.6",
        "extension": "PRPA_IN201307UV02",
    }
    assert root.find(f"{H}processingCode").get("code") == "D"
    assert root.find(f"{H}processingModeCode").get("code") == "T"
    assert root.find(f"{H}acceptAckCode").get("code") == "AL"
    receiver = root.find(f"{H}receiver")
    assert receiver.get("typeCode") == "RCV"
    assert receiver.find(f"{H}device/{H}id").get("root") == "1.2.250.1.213.4.1.1.1"
    assert receiver.findtext(f"{H}device/{H}softwareName") == "DMP"
    sender = root.find(f"{H}sender")
    assert sender.get("typeCode") == "SND"
    assert sender.find(f"{H}device/{H}id").get("root") == "1.2.3.4"
    assert sender.findtext(f"{H}device/{H}softwareName") == "DMP Desktop"
    assert root.find(f"{H}attentionLine").get(XSI_NIL) == "true"


def test_request_query() -> None:
    cap = _request().find(f"{H}controlActProcess")
    assert (cap.get("classCode"), cap.get("moodCode")) == ("CACT", "EVN")
    reason = cap.find(f"{H}reasonCode")
    assert (reason.get("code"), reason.get("codeSystem")) == ("TEST_EXST", "1.2.250.1.213.1.1.4.11")
    query = cap.find(f"{H}queryByParameter")
    assert dict(query.find(f"{H}queryId").attrib) == {"root": "1.2.3.4.2", "extension": "q-1"}
    assert query.find(f"{H}statusCode").get("code") == "new"
    params = query.find(f"{H}parameterList")
    assert params.find(f"{H}dataSource").get(XSI_NIL) == "true"
    value = params.find(f"{H}patientIdentifier/{H}value")
    assert dict(value.attrib) == {"root": "1.2.250.1.213.1.4.10", "extension": "207058575627097"}
    assert params.findtext(f"{H}patientIdentifier/{H}semanticsText") == "Patient.id"


def test_request_ids_are_fresh_by_default() -> None:
    one = build_td02_request(INS, sender_oid="1.2", sender_name="x")
    two = build_td02_request(INS, sender_oid="1.2", sender_name="x")
    assert one.find(f"{H}id").get("extension") != two.find(f"{H}id").get("extension")


def test_request_uses_the_ins_authority() -> None:
    nir = Ins(OTHER_PATIENT, InsKind.NIR)
    element = build_td02_request(nir, sender_oid="1.2", sender_name="x")
    value = element.find(
        f"{H}controlActProcess/{H}queryByParameter/{H}parameterList/{H}patientIdentifier/{H}value"
    )
    assert value.get("root") == "1.2.250.1.213.1.4.8"


# --- reading ----------------------------------------------------------------------------------


def _status(data: bytes, requested: Ins | None = INS):  # type: ignore[no-untyped-def]
    return parse_td02_response(parse_envelope(data).body, requested=requested)


def test_active_valid_treating_physician() -> None:
    status = _status(
        td02_answer(
            attention=authorization_line("VALIDE") + bl_line("STATUT_MT", True),
            observations="COMPTE_INTERNET_OUVERT=true",
        )
    )
    assert status.state is DmpState.ACTIVE
    assert status.authorization is Authorization.VALIDE
    assert status.treating_physician is True
    assert (status.minor, status.secret_connection) == (False, False)
    assert status.patient_family_name == "patb-quatre"
    assert status.patient_given_name == "LAURENCE"
    assert status.patient_birth_date == date(1907, 5, 25)
    assert status.patient_gender == "F"
    assert status.observations == {"COMPTE_INTERNET_OUVERT": "true"}
    assert status.closure_date is None and status.closure_reason is None


def test_not_found() -> None:
    status = _status(
        td02_answer(
            attention=authorization_line("NON_EXISTE"), patient_block="", response_code="NF"
        )
    )
    assert status.state is DmpState.NONE
    assert status.ins == INS
    assert status.authorization is Authorization.NON_EXISTE
    assert status.summary_fr() == "Ce patient n'a pas de DMP."


def test_not_found_without_the_requested_ins_is_unusable() -> None:
    with pytest.raises(DmpProtocolError):
        _status(td02_answer(patient_block="", response_code="NF"), requested=None)


@pytest.mark.parametrize("code", ["INTERDIT", "EXPIRE", "NON_EXISTE", "VALIDE"])
def test_authorisations(code: str) -> None:
    status = _status(td02_answer(attention=authorization_line(code)))
    assert status.authorization is Authorization(code)
    assert status.treating_physician is False


@pytest.mark.parametrize("closed", ["terminated", "nullified", "closed"])
def test_closed_with_date_and_reason(closed: str) -> None:
    status = _status(
        td02_answer(
            status=closed,
            effective_time='<effectiveTime value="20240315"/>',
            reason_of=(
                '<reasonOf typeCode="RSON"><detectedIssueEvent classCode="ALRT" moodCode="EVN">'
                f'<code code="{CLOSURE_REASON_PATIENT_REQUEST}" codeSystem="{OID_CLOSURE_REASON}"/>'
                "<text>Demande du patient</text></detectedIssueEvent></reasonOf>"
            ),
        )
    )
    assert status.state is DmpState.CLOSED
    assert status.closure_date == date(2024, 3, 15)
    assert status.closure_reason == CLOSURE_REASON_PATIENT_REQUEST


def test_closed_date_from_interval_and_reason_from_text() -> None:
    status = _status(
        td02_answer(
            status=STATUS_CLOSED,
            effective_time='<effectiveTime><high value="20231231235959"/></effectiveTime>',
            reason_of=(
                '<reasonOf typeCode="RSON"><detectedIssueEvent classCode="ALRT" moodCode="EVN">'
                "<code/><text>Décès</text></detectedIssueEvent></reasonOf>"
            ),
        )
    )
    assert status.closure_date == date(2023, 12, 31)
    assert status.closure_reason == "Décès"


def test_closed_date_and_reason_from_observations() -> None:
    data = td02_answer(status=STATUS_CLOSED, observations="DATE_FERMETURE=20220101").replace(
        b"</patient>",
        b'<subjectOf typeCode="SBJ"><administrativeObservation classCode="OBS" moodCode="EVN">'
        b'<code code="MOTIF_FERMETURE"/><value code="FERMETURE_DEMANDE_PATIENT" xsi:type="CV"/>'
        b"</administrativeObservation></subjectOf></patient>",
    )
    status = _status(data)
    assert status.closure_date == date(2022, 1, 1)
    assert status.closure_reason == "FERMETURE_DEMANDE_PATIENT"


def test_closed_without_details() -> None:
    status = _status(td02_answer(status=STATUS_CLOSED))
    assert status.state is DmpState.CLOSED
    assert status.closure_date is None and status.closure_reason is None


def _born(data: bytes, birth: str) -> bytes:
    return data.replace(b'<birthTime value="19070525"/>', f'<birthTime value="{birth}"/>'.encode())


@pytest.mark.parametrize(
    ("birth", "minor"),
    [("20080601", True), ("20080531", False), ("20120229", True), ("19070525", False)],
)
def test_minor_from_the_official_birth_time(birth: str, minor: bool) -> None:
    """The official answer has no "minor" field: the birth date decides (18 years)."""
    data = _born(td02_answer(attention=authorization_line("VALIDE")), birth)
    status = parse_td02_response(parse_envelope(data).body, requested=INS, today=date(2026, 5, 31))
    assert status.minor is minor
    assert status.secret_connection is False


def test_invented_keywords_are_not_read() -> None:
    """The former training keywords say nothing: an adult stays an adult."""
    status = _status(
        td02_answer(
            attention=(
                authorization_line("VALIDE")
                + bl_line(KEYWORD_MINOR, True)
                + bl_line(KEYWORD_SECRET_CONNECTION, True)
            ),
            observations=f"{KEYWORD_MINOR}=true,{KEYWORD_SECRET_CONNECTION}=true",
        )
    )
    assert (status.minor, status.secret_connection) == (False, False)


def test_birth_name_preferred() -> None:
    data = td02_answer().replace(
        b'<family qualifier="SP">patb-quatre</family>',
        b'<family qualifier="SP">EPOUSE</family><family qualifier="BR">NAISSANCE</family>',
    )
    assert _status(data).patient_family_name == "NAISSANCE"


def test_ins_read_from_the_answer_when_not_given() -> None:
    assert _status(td02_answer(), requested=None).ins == INS


@pytest.mark.parametrize(("type_code", "code"), [("AE", "DMPAccessDenied"), ("AR", "DMPClosed")])
def test_error_acknowledgement_is_a_service_error(type_code: str, code: str) -> None:
    ack = (
        f'<acknowledgement typeCode="{type_code}"><targetMessage><id root="1.2"/></targetMessage>'
        f'<acknowledgementDetail typeCode="E"><code code="{code}"/><text>Refus</text>'
        "</acknowledgementDetail></acknowledgement>"
    )
    with pytest.raises(DmpServiceError) as caught:
        _status(td02_answer(ack=ack, patient_block="", response_code="AE"))
    assert (caught.value.code, caught.value.detail) == (code, "Refus")


def test_error_acknowledgement_without_detail_uses_the_type_code() -> None:
    ack = (
        '<acknowledgement typeCode="AE"><targetMessage><id root="1.2"/></targetMessage>'
        "</acknowledgement>"
    )
    with pytest.raises(DmpServiceError) as caught:
        _status(td02_answer(ack=ack))
    assert caught.value.code == "AE"


def test_query_error_is_a_service_error() -> None:
    with pytest.raises(DmpServiceError) as caught:
        _status(td02_answer(patient_block="", response_code="QE"))
    assert caught.value.code == "QE"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(td02_answer(ins="207058575627000"), id="invalid-ins-in-answer"),
        pytest.param(td02_answer(ins=OTHER_PATIENT), id="another-patient"),
        pytest.param(td02_answer(status="suspended"), id="unknown-status"),
        pytest.param(
            td02_answer(attention=authorization_line("PEUT_ETRE")), id="bad-authorisation"
        ),
        pytest.param(td02_answer(patient_block=""), id="found-without-patient"),
        pytest.param(td02_answer(response_code=""), id="no-response-code"),
        pytest.param(
            td02_answer().replace(b'<birthTime value="19070525"/>', b'<birthTime value="1907"/>'),
            id="bad-birth-time",
        ),
        pytest.param(
            td02_answer().replace(
                b'<birthTime value="19070525"/>', b'<birthTime value="19071345"/>'
            ),
            id="impossible-birth-date",
        ),
        pytest.param(
            td02_answer().replace(b"<queryAck>", b"<other>").replace(b"</queryAck>", b"</other>"),
            id="no-query-ack",
        ),
    ],
)
def test_unreadable_answers_are_protocol_errors(data: bytes) -> None:
    with pytest.raises(DmpProtocolError):
        _status(data)


def test_answer_about_another_patient_says_so() -> None:
    with pytest.raises(DmpProtocolError, match="another patient"):
        _status(td02_answer(ins=OTHER_PATIENT))


def test_wrong_root_is_a_protocol_error() -> None:
    with pytest.raises(DmpProtocolError):
        parse_td02_response(etree.Element(f"{H}PRPA_IN201306UV02"), requested=INS)
    with pytest.raises(DmpProtocolError):
        parse_td02_response(None, requested=INS)


def test_answer_without_requested_ins_and_without_known_ids() -> None:
    with pytest.raises(DmpProtocolError):
        _status(td02_answer(ins_root="1.2.3"), requested=None)


def test_answer_with_other_ins_authority_is_about_the_requested_ins() -> None:
    # The DMP may echo only its own id and another authority: keep what was asked.
    status = _status(td02_answer(ins_root="1.2.250.1.213.1.4.8", ins=OTHER_PATIENT))
    assert status.ins == INS


def test_attention_line_without_keyword_is_ignored() -> None:
    status = _status(td02_answer(attention=attention_line("", "<value/>")))
    assert status.authorization is None
