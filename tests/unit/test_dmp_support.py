"""Shared builders for the tests of dmp_desktop.dmp (no official material needed).

Imported by the other ``test_dmp_*`` modules; its own test only checks that
the answers it builds are well-formed SOAP.
"""

from __future__ import annotations

from dmp_desktop.domain import Ins, InsKind, Practitioner
from dmp_desktop.settings import Settings

INS = Ins("207058575627097", InsKind.TEST_NIR)
STRUCTURE_ID = "499700433153007"


def doctor(**changes: object) -> Practitioner:
    values: dict[str, object] = {
        "national_id": "899700433153",
        "family_name": "MARTIN",
        "given_name": "Claire",
        "profession": "Médecin",
        "profession_code": "10",
        "specialty_code": "SM26",
        "specialty_label": "Qualifié en Médecine Générale (SM)",
        "structure_id": STRUCTURE_ID,
        "structure_name": "CABINET MEDICAL FORMATION",
    }
    values.update(changes)
    return Practitioner(**values)  # type: ignore[arg-type]


def secretary() -> Practitioner:
    return doctor(
        national_id="3499700433153007001",
        family_name="DUPONT",
        given_name="Anne",
        profession="Secrétaire médicale",
        profession_code=None,
        specialty_code=None,
        specialty_label=None,
    )


def settings(**changes: object) -> Settings:
    # The training profile: these tests also cover the training host's conventions
    # (tests/unit/test_dmp_profile_wire.py covers the DMP profile).
    base = Settings(
        host_url="https://dmp.test:8443", structure_id=STRUCTURE_ID, profile="formation"
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def td02_answer(
    *,
    relates_to: str = "urn:uuid:0b6f4648-f2e9-4a06-94fd-c563a807212f",
    action: str = "urn:hl7-org:v3:PRPA_IN201308UV02",
    attention: str = "",
    ack: str = '<acknowledgement typeCode="AA"><targetMessage><id root="1.2" extension="x"/>'
    "</targetMessage></acknowledgement>",
    patient_block: str | None = None,
    response_code: str = "OK",
    status: str = "active",
    effective_time: str = "",
    reason_of: str = "",
    observations: str = "",
    ins: str = "207058575627097",
    ins_root: str = "1.2.250.1.213.1.4.10",
) -> bytes:
    """A TD0.2 answer envelope in the official shape, with parts to vary."""
    obs = "".join(
        f'<subjectOf typeCode="SBJ"><administrativeObservation classCode="OBS" moodCode="EVN">'
        f'<code code="{code}" codeSystem="1.2.250.1.213.4.1.2.9"/>'
        f'<value value="{value}" xsi:type="BL"/></administrativeObservation></subjectOf>'
        for code, value in (pair.split("=") for pair in observations.split(",") if pair)
    )
    if patient_block is None:
        patient_block = f"""
      <subject contextConductionInd="false" typeCode="SUBJ">
        <registrationEvent classCode="REG" moodCode="EVN">
          <statusCode code="completed"/>
          {effective_time}
          <subject1 typeCode="SBJ">
            <patient classCode="PAT">
              <id extension="1197854176879056415520" root="1.2.250.1.213.1.4.2"/>
              <id extension="{ins}" root="{ins_root}"/>
              <statusCode code="{status}"/>
              <patientPerson classCode="PSN" determinerCode="INSTANCE">
                <name><given>LAURENCE</given><family qualifier="SP">patb-quatre</family></name>
                <administrativeGenderCode code="F"/>
                <birthTime value="19070525"/>
              </patientPerson>
              {obs}
            </patient>
          </subject1>
          <custodian typeCode="CST"><assignedEntity classCode="ASSIGNED">
            <id root="1.2.250.1.213.4.1.1.1"/></assignedEntity></custodian>
        </registrationEvent>
      </subject>"""
    text = f"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">
  <soap:Header>
    <Action xmlns="http://www.w3.org/2005/08/addressing">{action}</Action>
    <MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:52c2786e-cb61-48cc-a621-24113888b3e6</MessageID>
    <To xmlns="http://www.w3.org/2005/08/addressing">http://www.w3.org/2005/08/addressing/anonymous</To>
    <RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{relates_to}</RelatesTo>
  </soap:Header>
  <soap:Body>
    <PRPA_IN201308UV02 ITSVersion="XML_1.0" xmlns="urn:hl7-org:v3"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <id root="0cc7f660-e7b5-4131-aee3-5ad75c0b32f2"/>
      <creationTime value="20210601125305"/>
      <interactionId extension="PRPA_IN201308UV02" root="2.16.840.1.113883.1.6"/>
      <processingCode code="P"/>
      <processingModeCode code="T"/>
      <acceptAckCode code="NE"/>
      <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE">
        <id root="1.3.6.1.4.1.48364"/></device></receiver>
      <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE">
        <id root="1.2.250.1.213.4.1.1.1"/></device></sender>
      {attention}
      {ack}
      <controlActProcess classCode="CACT" moodCode="EVN">
        <reasonCode code="TEST_EXST" codeSystem="1.2.250.1.213.1.1.4.11"/>
        {patient_block}
        {reason_of}
        <queryAck><queryResponseCode code="{response_code}"/></queryAck>
      </controlActProcess>
    </PRPA_IN201308UV02>
  </soap:Body>
</soap:Envelope>"""
    return text.encode("utf-8")


def attention_line(keyword: str, value_xml: str, system: str = "1.2.250.1.213.4.1.2.6.1") -> str:
    return (
        f'<attentionLine><keyWordText code="{keyword}" codeSystem="{system}"/>{value_xml}'
        "</attentionLine>"
    )


def authorization_line(code: str) -> str:
    return attention_line(
        "AUTORISATION", f'<value code="{code}" codeSystem="1.2.250.1.213.4.1.2.6.2" xsi:type="CV"/>'
    )


def bl_line(keyword: str, value: bool, system: str = "1.2.250.1.213.4.1.2.6.3") -> str:
    return attention_line(
        keyword, f'<value value="{"true" if value else "false"}" xsi:type="BL"/>', system
    )


def test_support_answer_is_a_soap_envelope() -> None:
    from dmp_desktop import xmlsafe

    root = xmlsafe.parse(td02_answer(attention=authorization_line("VALIDE")))
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
