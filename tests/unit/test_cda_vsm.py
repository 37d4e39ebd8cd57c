"""VSM building and reading, without the validation kit (see test_cda_conformance.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda import codes
from dmp_desktop.cda.errors import CdaFormatError, SummaryInvalidError
from dmp_desktop.cda.level1 import Level1Document, wrap_text
from dmp_desktop.cda.vsm import build_vsm, check_summary, parse_vsm
from dmp_desktop.domain.summary import (
    Allergy,
    FamilyHistory,
    LifestyleItem,
    LifestyleKind,
    MedicalSummary,
    PartialDate,
    Problem,
    ProblemStatus,
    Severity,
    summary_to_dict,
)
from dmp_desktop.errors import describe
from tests.conftest import CDA_KIT, require_shared
from tests.support.cda_samples import (
    full_summary,
    large_summary,
    minimal_summary,
    variant_summaries,
)
from tests.support.vsm_examples import EXAMPLES_DIR, build_example
from tests.support.vsm_examples import main as examples_main

NS = {"h": codes.NS_HL7, "xsi": codes.NS_XSI}
KIT_VSM = CDA_KIT / "ans" / "ExemplesCDA" / "VSM_1.4_2022.01.xml"


def tree(data: bytes) -> etree._Element:
    return xmlsafe.parse(data)


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and len(found) == 1, f"{path}: {found}"
    node = found[0]
    assert isinstance(node, etree._Element)
    return node


def count(root: etree._Element, path: str) -> int:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return len(found)


def section(root: etree._Element, template: str) -> etree._Element:
    return one(root, f"//h:section[h:templateId/@root='{template}']")


# --- header ---------------------------------------------------------------------------


def test_header_follows_the_vsm_specification() -> None:
    root = tree(build_vsm(full_summary()))
    assert one(root, "h:realmCode").get("code") == "FR"
    assert one(root, "h:typeId").get("extension") == "POCD_HD000040"
    assert [t.get("root") for t in root.findall("{urn:hl7-org:v3}templateId")] == [
        "2.16.840.1.113883.2.8.2.1",
        "1.2.250.1.213.1.1.1.1",
        "1.2.250.1.213.1.1.1.13",
    ]
    code = one(root, "h:code")
    assert (code.get("code"), code.get("codeSystem")) == ("SYNTH", "1.2.250.1.213.1.1.4.12")
    assert one(root, "h:effectiveTime").get("value") == "20260312111700+0100"
    assert one(root, "h:confidentialityCode").get("code") == "N"
    assert one(root, "h:languageCode").get("code") == "fr-FR"
    assert one(root, "h:versionNumber").get("value") == "1"
    assert one(root, "h:setId").get("root") == "1.2.250.1.999.2.2"
    assert one(root, "h:legalAuthenticator/h:signatureCode").get("code") == "S"
    author_id = one(root, "h:author/h:assignedAuthor/h:id")
    assert author_id.get("root") == "1.2.250.1.71.4.2.1"
    assert one(root, "h:author/h:assignedAuthor/h:code").get("code") == "G15_10/SM26"
    facility = one(
        root, "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code"
    )
    assert facility.get("code") == "SA08"


def test_patient_has_the_ins_traits() -> None:
    root = tree(build_vsm(full_summary()))
    role = one(root, "h:recordTarget/h:patientRole")
    ids = role.findall("{urn:hl7-org:v3}id")
    assert (ids[0].get("root"), ids[0].get("extension")) == (
        "1.2.250.1.213.1.4.10",
        "182116938311206",
    )
    assert ids[1].get("extension") == "PAT-000417"
    assert one(role, "h:patient/h:name/h:family[@qualifier='BR']").text == "LEFEBVRE"
    assert one(role, "h:patient/h:name/h:given[@qualifier='BR']").text == "JULIEN"
    assert one(role, "h:patient/h:name/h:given[not(@qualifier)]").text == "JULIEN ANDRÉ MARIE"
    assert one(role, "h:patient/h:birthTime").get("value") == "19821102"
    assert one(role, "h:patient/h:birthplace/h:place/h:addr/h:county").text == "69383"
    assert one(role, "h:patient/h:administrativeGenderCode").get("code") == "M"


def test_rules_the_kit_cannot_check_are_met() -> None:
    """validate-cda never fires these two VSM rules (see the kit's README): check them here."""
    for summary in (minimal_summary(), full_summary()):
        root = tree(build_vsm(summary))
        pcp = one(root, "h:participant[@typeCode='INF']")
        function = one(pcp, "h:functionCode")
        assert (function.get("code"), function.get("codeSystem")) == (
            "PCP",
            "2.16.840.1.113883.5.88",
        )
        assert function.get("displayName") == "Médecin traitant"
        event = one(root, "h:documentationOf/h:serviceEvent/h:code")
        assert dict(event.attrib) == {
            "code": "34117-2",
            "displayName": "Historique et clinique",
            "codeSystem": "2.16.840.1.113883.6.1",
            "codeSystemName": "LOINC",
        }
        assert count(root, "h:documentationOf/h:serviceEvent/h:effectiveTime/h:low/@value") == 1
        assert count(root, "h:documentationOf/h:serviceEvent/h:performer") == 1


def test_treating_physician_defaults_to_the_author() -> None:
    root = tree(build_vsm(minimal_summary()))
    pcp_id = one(root, "h:participant[@typeCode='INF']/h:associatedEntity/h:id")
    assert pcp_id.get("extension") == "899700433160"
    root = tree(build_vsm(full_summary()))
    pcp_id = one(root, "h:participant[@typeCode='INF']/h:associatedEntity/h:id")
    assert pcp_id.get("extension") == "899700433153"


# --- body ----------------------------------------------------------------------------------

TOP_SECTIONS = ["1.2.250.1.213.1.1.2.29", "1.2.250.1.213.1.1.2.150", "1.2.250.1.213.1.1.2.32"]
# After the three the VSM requires, in this order, only when filled in (CI-SIS templates of the
# IPS-FR and DLU sections).
OPTIONAL_SECTIONS = [
    ("vaccinations", "1.2.250.1.213.1.1.2.147"),
    ("vital_signs", "1.2.250.1.213.1.1.2.75"),
    ("functional_status", "1.2.250.1.213.1.1.2.246"),
    ("results", "1.2.250.1.213.1.1.2.151"),
    ("care_plan", "1.2.250.1.213.1.1.2.158"),
    ("advance_directives", "1.2.250.1.213.1.1.2.157"),
]


def top_templates(root: etree._Element) -> list[str]:
    sections = root.xpath("h:component/h:structuredBody/h:component/h:section", namespaces=NS)
    assert isinstance(sections, list)
    return [s.findall("{urn:hl7-org:v3}templateId")[-1].get("root") for s in sections]  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(variant_summaries()))
def test_sections_are_in_order_and_text_rules_hold(name: str) -> None:
    summary = variant_summaries()[name]
    root = tree(build_vsm(summary))
    optional = [
        template
        for key, template in OPTIONAL_SECTIONS
        if getattr(summary, key)  # an empty list gives no section
    ]
    assert top_templates(root) == TOP_SECTIONS + optional
    history = section(root, "1.2.250.1.213.1.1.2.30")
    risks = section(root, "1.2.250.1.213.1.1.2.31")
    plan = section(root, "1.2.250.1.213.1.1.2.32")
    summary_section = section(root, "1.2.250.1.213.1.1.2.29")
    assert count(summary_section, "h:id") == 1 and count(plan, "h:id") == 1
    for container, size in ((history, 4), (risks, 3)):
        children = count(container, "h:component/h:section")
        has_text = count(container, "h:text") == 1
        if children == 0:
            assert has_text
        if children == size:
            assert not has_text
    treatments = count(plan, "h:component/h:section")
    assert (treatments == 1) == bool(summary.treatments)
    assert (count(plan, "h:text") == 1) == (not summary.treatments)
    # Every leaf section has a text; every coded leaf section has entries.
    for leaf in root.xpath("//h:section[not(h:component/h:section)]", namespaces=NS):
        assert isinstance(leaf, etree._Element)
        if leaf is history or leaf is risks or leaf is plan:
            continue
        assert count(leaf, "h:text") == 1
    # Empty optional sections are left out.
    assert count(root, "//h:section[h:code/@code='11450-4']") == (
        1 if summary.active_problems else 0
    )
    assert count(root, "//h:section[h:code/@code='48765-2']") == (1 if summary.allergies else 0)
    assert count(root, "//h:section[h:code/@code='10157-6']") == (
        1 if summary.family_history else 0
    )


@pytest.mark.parametrize("name", sorted(variant_summaries()))
def test_every_reference_points_to_the_narrative(name: str) -> None:
    root = tree(build_vsm(variant_summaries()[name]))
    ids = [node.get("ID") for node in root.iter() if isinstance(node.tag, str) and node.get("ID")]
    assert len(ids) == len(set(ids)), "narrative IDs must be unique"
    for ref in root.xpath("//h:reference/@value", namespaces=NS):
        assert isinstance(ref, str)
        assert ref.startswith("#") and ref[1:] in ids, ref
    entry_ids = root.xpath("//h:entry//h:id/@root", namespaces=NS)
    assert isinstance(entry_ids, list)
    assert len(entry_ids) == len(set(entry_ids)), "entry ids must be unique"


def test_entries_use_the_kit_templates_and_codes() -> None:
    root = tree(build_vsm(full_summary()))
    problems = section(root, "1.2.250.1.213.1.1.2.132")
    acts = problems.xpath("h:entry/h:act", namespaces=NS)
    assert isinstance(acts, list) and len(acts) == 3
    first_act = acts[0]
    assert isinstance(first_act, etree._Element)
    assert one(first_act, "h:code").get("nullFlavor") == "NA"
    assert one(first_act, "h:statusCode").get("code") == "active"
    obs = one(first_act, "h:entryRelationship[@typeCode='SUBJ']/h:observation")
    assert one(obs, "h:code").get("code") == "282291009"
    value = one(obs, "h:value")
    assert value.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "CD"
    assert (value.get("code"), value.get("codeSystem")) == ("E11.9", "2.16.840.1.113883.6.3")
    assert one(value, "h:originalText/h:reference").get("value") == "#pb-1"
    comment = one(obs, "h:entryRelationship[@inversionInd='true']/h:act")
    assert one(comment, "h:code").get("code") == "48767-8"

    medication = one(root, "(//h:entry[@typeCode='DRIV']/h:substanceAdministration)[1]")
    material = one(medication, "h:consumable/h:manufacturedProduct/h:manufacturedMaterial")
    code = one(material, "h:code")
    assert (code.get("code"), code.get("codeSystem")) == ("67346461", "1.2.250.1.213.2.3.1")
    translations = {t.get("codeSystem"): t.get("code") for t in code.findall("{*}translation")}
    assert translations == {
        "1.2.250.1.213.2.3.2": "3400939718330",
        "2.16.840.1.113883.6.73": "A10BA02",
    }
    assert one(material, "h:name").text == "METFORMINE BIOGARAN 1000 mg, comprimé pelliculé"

    allergy = one(root, "(//h:observation[h:templateId/@root='1.3.6.1.4.1.19376.1.5.3.1.4.6'])[1]")
    assert one(allergy, "h:code").get("code") == "416098002"
    assert count(allergy, "h:value/h:originalText/h:reference") == 1
    agent = one(allergy, "h:participant/h:participantRole/h:playingEntity/h:code")
    assert (agent.get("code"), agent.get("codeSystem")) == ("J01C", "2.16.840.1.113883.6.73")
    severity = one(allergy, "h:entryRelationship/h:observation[h:code/@code='SEV']/h:value")
    assert severity.get("code") == "24484000"

    tobacco = one(root, "//h:observation[h:code/@code='74011-8']/h:value")
    assert (tobacco.get("value"), tobacco.get("unit")) == ("25", "{pack}/a")


def test_build_is_deterministic_with_fixed_ids() -> None:
    assert build_vsm(full_summary()) == build_vsm(full_summary())


def test_ids_are_generated_when_absent() -> None:
    summary = minimal_summary()
    summary.document_id = None
    summary.set_id = None
    a, b = tree(build_vsm(summary)), tree(build_vsm(summary))
    assert one(a, "h:id").get("root") != one(b, "h:id").get("root")
    assert one(a, "h:id").get("root", "").startswith("2.25.")


def test_multiline_text_becomes_br_and_comes_back() -> None:
    root = tree(build_vsm(full_summary()))
    content = one(root, "//h:content[@ID='pb-1-comment']")
    assert count(content, "h:br") == 1
    back = parse_vsm(build_vsm(full_summary()))
    assert back.active_problems[0].comment == full_summary().active_problems[0].comment


# --- checking -------------------------------------------------------------------------


def test_check_summary_lists_every_problem() -> None:
    summary = minimal_summary()
    summary.patient.birthplace_code = None
    summary.active_problems = [
        Problem(" ", cim10="diabète"),
        Problem("HTA", resolution=PartialDate(2020), status=ProblemStatus.ACTIVE),
    ]
    summary.allergies = [Allergy("x", type_code="123", agent_cis="12")]
    summary.no_known_allergies = True
    summary.family_history = [FamilyHistory("COUSINE", "x")]
    summary.lifestyle = [
        LifestyleItem(LifestyleKind.TOBACCO, "x", quantity=None),
        LifestyleItem(LifestyleKind.ALCOHOL, ""),
    ]
    summary.vigilance_points = ["  "]
    summary.effective_time = datetime(2026, 1, 1, 12, 0)
    paths = {(p.path, p.reason) for p in check_summary(summary)}
    assert paths == {
        ("patient.birthplace_code", "birthplace_required"),
        ("active_problems[0].label", "required"),
        ("active_problems[0].cim10", "bad_format"),
        ("active_problems[1].resolution", "resolution_needs_resolved"),
        ("allergies[0].type_code", "unknown_code"),
        ("allergies[0].agent_cis", "bad_format"),
        ("no_known_allergies", "conflicts_with_allergies"),
        ("family_history[0].relationship", "unknown_code"),
        ("lifestyle[1].text", "required"),
        ("vigilance_points[0]", "empty"),
        ("effective_time", "naive_time"),
    }
    with pytest.raises(SummaryInvalidError) as caught:
        build_vsm(summary)
    message = describe(caught.value)
    assert "lieu de naissance" in message and "Allergie n° 1" in message
    assert "Pénicill" not in message


def test_check_accepts_the_samples() -> None:
    for summary in variant_summaries().values():
        assert check_summary(summary) == []


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [minimal_summary, full_summary, large_summary])
def test_parse_gives_back_what_was_built(factory: Callable[[], MedicalSummary]) -> None:
    summary = factory()
    back = parse_vsm(build_vsm(summary))
    assert summary_to_dict(back) == summary_to_dict(summary)
    assert back == summary


@pytest.mark.parametrize("name", sorted(variant_summaries()))
def test_build_parse_build_is_a_fixed_point(name: str) -> None:
    built = build_vsm(variant_summaries()[name])
    assert build_vsm(parse_vsm(built)) == built


def test_special_characters_are_normalised_not_lost() -> None:
    summary = variant_summaries()["special-characters"]
    back = parse_vsm(build_vsm(summary))
    label = back.active_problems[0].label
    assert label.startswith('<script>alert("x")</script> & "guillemets"')
    assert "\x0b" not in label
    comment = back.active_problems[0].comment or ""
    assert comment.startswith("Ligne 1\nLigne 2\nLigne 3\n\nParagraphe 😀 long")
    assert back.title == summary.title


def test_parse_the_kit_reference_vsm() -> None:
    require_shared(KIT_VSM)
    summary = parse_vsm(KIT_VSM.read_bytes())
    assert summary.patient.ins.value == "279035121518989"
    assert summary.patient.birth_given_names == ["DOMINIQUE", "MARIE-LOUISE"]
    assert summary.patient.birthplace_code == "51215"
    assert summary.author.practitioner.national_id == "801234567897"
    assert summary.author.structure.facility_type == "SA04"
    assert summary.treating_physician is None  # the author is the médecin traitant
    assert [p.cim10 for p in summary.active_problems] == ["G45.9", "I20.0"]
    assert [p.status for p in summary.medical_history] == [ProblemStatus.RESOLVED] * 2
    assert summary.medical_history[0].resolution == PartialDate(2018, 4, 30)
    assert summary.surgical_history[0].ccam == "DDAF004"
    assert summary.allergies[0].agent == "Paracétamol"
    assert summary.allergies[0].agent_cis == "60234100"
    assert summary.lifestyle[0].unit == "{pack}/a"
    assert summary.lifestyle[1].value_code == "398705004"
    assert summary.family_history[0].relationship == "MTH"
    assert len(summary.vigilance_points) == 3
    assert [t.cis for t in summary.treatments] == ["63564053", "63245753"]
    assert check_summary(summary) == []


def test_parse_refuses_dtd_and_entity_bombs() -> None:
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol2;</title></ClinicalDocument>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>'
    )
    for data in (bomb, external):
        with pytest.raises(xmlsafe.UnsafeXmlError):
            parse_vsm(data)


def test_parse_refuses_what_is_not_a_vsm() -> None:
    with pytest.raises(CdaFormatError):
        parse_vsm(b'<html xmlns="http://www.w3.org/1999/xhtml"/>')
    summary = minimal_summary()
    level1 = wrap_text(
        Level1Document(summary.patient, summary.author, summary.effective_time, "11488-4"),
        "Compte rendu",
    )
    with pytest.raises(CdaFormatError):
        parse_vsm(level1)
    with pytest.raises(xmlsafe.UnsafeXmlError):
        parse_vsm(b"<ClinicalDocument")


# --- the documented example -----------------------------------------------------------------


def test_committed_example_equals_a_fresh_build(tmp_path: Path) -> None:
    committed = (EXAMPLES_DIR / "vsm-ald-example.xml").read_bytes()
    assert committed == build_example(EXAMPLES_DIR / "vsm-ald-example.json"), (
        "docs/examples is stale: run python -m tests.support.vsm_examples"
    )
    assert examples_main(["--check"]) == 0
    (tmp_path / "vsm-ald-example.json").write_bytes(
        (EXAMPLES_DIR / "vsm-ald-example.json").read_bytes()
    )
    assert examples_main(["--check", "--dir", str(tmp_path)]) == 1
    assert examples_main(["--dir", str(tmp_path)]) == 0
    assert (tmp_path / "vsm-ald-example.xml").read_bytes() == committed


def test_example_is_a_realistic_ald_summary() -> None:
    summary = parse_vsm((EXAMPLES_DIR / "vsm-ald-example.xml").read_bytes())
    assert {p.cim10 for p in summary.active_problems} >= {"E11.9", "I10", "E78.0"}
    assert summary.allergies[0].severity is Severity.SEVERE
    assert summary.lifestyle[0].kind is LifestyleKind.TOBACCO
    assert {t.atc for t in summary.treatments} == {"A10BA02", "C09AA05", "C10AA05", "B01AC06"}


def test_example_drug_codes_exist_in_the_bdpm() -> None:
    """The CIS and CIP codes of the example are facts of the BDPM (reference data)."""
    bdpm = require_shared(CDA_KIT.parent / "reference-data" / "bdpm")
    summary = parse_vsm((EXAMPLES_DIR / "vsm-ald-example.xml").read_bytes())
    cis_names = {}
    for line in (bdpm / "CIS_bdpm.txt").read_bytes().decode("cp1252").splitlines():
        fields = line.split("\t")
        cis_names[fields[0]] = fields[1]
    presentations = set()
    for line in (bdpm / "CIS_CIP_bdpm.txt").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        presentations.add((fields[0], fields[6]))
    atc = {}
    for line in (bdpm / "CIS_MITM.txt").read_bytes().decode("cp1252").splitlines():
        fields = line.split("\t")
        atc[fields[0]] = fields[1]
    for treatment in summary.treatments:
        assert treatment.cis is not None
        assert cis_names[treatment.cis] == treatment.name
        assert (treatment.cis, treatment.cip) in presentations
        assert atc[treatment.cis] == treatment.atc
