"""Every document we produce passes the ANS CI-SIS validation kit (validate-cda).

All the documents go to ONE run of the kit (its start-up, the schematron
compilation, costs about 10 s per run; each document then takes 0.1 to 1.5 s).
The run includes one document broken on purpose, to prove the kit is really
checking. The helper of dmp_desktop.cda.validation is also tested against a
fake kit, which needs nothing from /work/shared.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from dmp_desktop.cda import valuesets
from dmp_desktop.cda.errors import ValidationKitMissingError, ValidationRunError
from dmp_desktop.cda.level1 import Level1Document, wrap_pdf, wrap_text
from dmp_desktop.cda.validation import (
    KIT_ENV,
    ValidationReport,
    find_kit,
    parse_report,
    validate_documents,
    validate_files,
)
from dmp_desktop.cda.vsm import build_vsm, parse_vsm
from dmp_desktop.domain.summary import Confidentiality
from tests.conftest import CDA_KIT, require_shared
from tests.support.cda_samples import full_summary, minimal_pdf, minimal_summary, variant_summaries
from tests.support.vsm_examples import EXAMPLES_DIR

KIT_VSM = CDA_KIT / "ans" / "ExemplesCDA" / "VSM_1.4_2022.01.xml"
KIT_IPS = CDA_KIT / "ans" / "ExemplesCDA" / "IPS-FR_2024.01.xml"
VSM_NAMES = [f"vsm-{name}.xml" for name in variant_summaries()] + [
    "vsm-kit-example-rebuilt.xml",
    "vsm-ips-fr-rebuilt.xml",
    "vsm-ald-example.xml",
]
N1_NAMES = ["n1-pdf.xml", "n1-text.xml", "n1-pdf-restricted.xml"]
BROKEN = "broken-no-version.xml"


def _level1_documents() -> dict[str, bytes]:
    summary = full_summary()
    consultation = Level1Document(
        summary.patient,
        summary.author,
        summary.effective_time,
        "11488-4",
        document_id="1.2.250.1.999.3.1",
        set_id="1.2.250.1.999.3",
    )
    certificate = Level1Document(
        summary.patient,
        summary.author,
        summary.effective_time,
        "CERT_DECL",
        title="Certificat médical de non contre-indication au sport",
    )
    letter = Level1Document(
        summary.patient, summary.author, summary.effective_time, "96349-6", version=3
    )
    letter.confidentiality = Confidentiality.RESTRICTED
    return {
        "n1-pdf.xml": wrap_pdf(consultation, minimal_pdf()),
        "n1-text.xml": wrap_text(
            certificate,
            "Je soussigné, Dr Paul Martin, certifie avoir examiné ce jour M. Lefebvre.\n\n"
            "Pas de contre-indication à la pratique du football en compétition.",
        ),
        "n1-pdf-restricted.xml": wrap_pdf(letter, minimal_pdf("Lettre d'adressage")),
    }


def kit_documents() -> dict[str, bytes]:
    """The VSMs and level-1 documents this module puts through the official kit."""
    documents = {f"vsm-{name}.xml": build_vsm(s) for name, s in variant_summaries().items()}
    documents["vsm-kit-example-rebuilt.xml"] = build_vsm(parse_vsm(KIT_VSM.read_bytes()))
    ips = parse_vsm(KIT_IPS.read_bytes())
    for problem in ips.active_problems:  # the example's placeholders contradict their codes
        if "texte libre" in problem.label and problem.cim10_label:
            problem.label = problem.cim10_label
    documents["vsm-ips-fr-rebuilt.xml"] = build_vsm(ips)
    documents["vsm-ald-example.xml"] = (EXAMPLES_DIR / "vsm-ald-example.xml").read_bytes()
    documents.update(_level1_documents())
    documents[BROKEN] = build_vsm(minimal_summary()).replace(b'<versionNumber value="1"/>', b"")
    return documents


@pytest.fixture(scope="module")
def kit_run(
    cda_kit_batch: tuple[ValidationReport, float, int],
) -> tuple[ValidationReport, float, int]:
    """The unit tests' one validate-cda run (tests/unit/conftest.py), these documents in it."""
    require_shared(KIT_VSM)
    return cda_kit_batch


@pytest.mark.parametrize("name", VSM_NAMES)
def test_vsm_passes_the_kit(kit_run: tuple[ValidationReport, float, int], name: str) -> None:
    report = kit_run[0].file(name)
    assert report.profile == "vsm"
    assert report.passed, "\n".join(str(e) for e in report.errors)
    assert report.warnings == []


@pytest.mark.parametrize("name", N1_NAMES)
def test_level1_passes_the_kit(kit_run: tuple[ValidationReport, float, int], name: str) -> None:
    report = kit_run[0].file(name)
    assert report.profile == "n1"
    assert report.passed, "\n".join(str(e) for e in report.errors)


def test_the_kit_really_checks(kit_run: tuple[ValidationReport, float, int]) -> None:
    report, _, _ = kit_run
    broken = report.file(BROKEN)
    assert not broken.passed
    assert any("versionNumber" in issue.text for issue in broken.errors)
    assert not report.passed  # because of the broken one only
    assert [f.path for f in report.files if not f.passed] == [
        f for f in (f.path for f in report.files) if f.endswith(BROKEN)
    ]


def test_one_run_checks_every_document(kit_run: tuple[ValidationReport, float, int]) -> None:
    report, _, count = kit_run
    assert count >= 18
    assert len(report.files) == count  # its time: tests/bench/bench_cda_kit.py


# --- value sets copied from the kit --------------------------------------------------------


def _kit_value_set(name: str, system: str | None = None) -> dict[str, tuple[str, str]]:
    from lxml import etree

    path = require_shared(CDA_KIT / "ans" / "jeuxDeValeurs" / name)
    concepts = etree.parse(str(path)).iter("{urn:ihe:iti:svs:2008}Concept")
    return {
        c.get("code", ""): (c.get("codeSystem", ""), c.get("displayName", ""))
        for c in concepts
        if system is None or c.get("codeSystem") == system
    }


def test_value_set_tables_match_the_kit() -> None:
    assert valuesets.DOCUMENT_TYPES == _kit_value_set("JDV_J07_XdsTypeCode_CISIS.xml")
    pairs = [
        (
            valuesets.FACILITY_TYPES,
            "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS.xml",
            "1.2.250.1.71.4.2.4",
        ),
        (
            valuesets.PRACTICE_SETTINGS,
            "JDV_J04_XdsPracticeSettingCode_CISIS.xml",
            "1.2.250.1.213.1.1.4.9",
        ),
        (
            valuesets.AUTHOR_SPECIALTIES,
            "JDV_J01_XdsAuthorSpecialty_CISIS.xml",
            "1.2.250.1.213.1.1.4.5",
        ),
        (valuesets.FAMILY_RELATIONSHIPS, "JDV_HL7_PersonalRelationshipRoleType_CISIS.xml", None),
        (valuesets.ALLERGY_TYPES, "JDV_TypeEvenementIndesirablePrevisible_CISIS.xml", None),
        (valuesets.ROUTES, "JDV_RouteofAdministration_CISIS.xml", None),
        (valuesets.IMMUNIZATION_ROUTES, "JDV_ImmunizationRouteCodes_CISIS.xml", None),
        (valuesets.VITAL_SIGNS, "JDV_SignesVitaux_CISIS.xml", None),
        (
            valuesets.IMMUNIZATION_KINDS,
            "JDV_HL7_ActSubstanceAdministrationImmunizationCode_CISIS.xml",
            None,
        ),
    ]
    for table, name, system in pairs:
        kit = _kit_value_set(name, system)
        assert table == {code: label for code, (_, label) in kit.items()}, name
    for with_systems, name in (
        (valuesets.ADVANCE_DIRECTIVE_TYPES, "JDV_TypeDirectiveAnticipee_CISIS.xml"),
        (valuesets.RELATIONSHIPS, "JDV_J11_RelationPatient_CISIS.xml"),
    ):
        assert with_systems == _kit_value_set(name), name


# --- the validation helper, against a fake kit -------------------------------------------------

FAKE_REPORT = {
    "passed": False,
    "seconds": {"total": 1.5, "schematron_compile": 1.0},
    "files": [
        {
            "file": "/tmp/a.xml",
            "profile": "vsm",
            "status": "FAIL",
            "seconds": 0.2,
            "template_ids": ["1.2.250.1.213.1.1.1.13"],
            "checks": [
                {
                    "check": "schematron",
                    "name": "profils/IHE.sch",
                    "status": "FAIL",
                    "errors": [
                        {
                            "pattern": "p",
                            "location": "/ClinicalDocument",
                            "line": 2,
                            "test": "t",
                            "text": "  bad\n  thing ",
                        }
                    ],
                    "warnings": [],
                }
            ],
        }
    ],
}


def _fake_kit(tmp_path: Path, body: str) -> Path:
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "validate-cda").write_text(textwrap.dedent(body), encoding="utf-8")
    return kit


def test_parse_report() -> None:
    report = parse_report(FAKE_REPORT)
    assert not report.passed
    assert report.seconds_compile == 1.0
    only = report.file("a.xml")
    assert only.errors[0].text == "bad thing"
    assert only.errors[0].line == 2
    assert "FAIL a.xml (vsm)" in report.summary()
    with pytest.raises(ValidationRunError):
        parse_report({"nothing": True})


def test_helper_runs_the_kit_it_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kit = _fake_kit(
        tmp_path,
        f"""
        import json, sys
        report = {json.dumps(FAKE_REPORT)!r}
        data = json.loads(report)
        data["argv"] = sys.argv[1:]
        print(json.dumps(data))
        sys.exit(1)
        """,
    )
    monkeypatch.setenv(KIT_ENV, str(kit))
    assert find_kit() == kit
    report = validate_documents({"doc.xml": b"<x/>"}, profile="vsm", volet="V.sch")
    assert report.raw["argv"][:5] == ["--json", "--profile", "vsm", "--volet", "V.sch"]
    assert report.raw["argv"][5].endswith("doc.xml")
    with pytest.raises(ValueError):
        validate_documents({"../escape.xml": b"<x/>"})
    with pytest.raises(ValueError):
        validate_files([tmp_path / "a.xml"], profile="strict")


@pytest.mark.parametrize(
    "body",
    [
        "import sys\nprint('usage error', file=sys.stderr)\nsys.exit(2)\n",
        "print('not json')\n",
    ],
)
def test_helper_reports_kit_failures(tmp_path: Path, body: str) -> None:
    kit = _fake_kit(tmp_path, body)
    with pytest.raises(ValidationRunError):
        validate_files([tmp_path / "a.xml"], kit=kit)


def test_missing_kit_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationKitMissingError) as caught:
        find_kit(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in caught.value.searched


def test_helper_uses_this_interpreter(tmp_path: Path) -> None:
    kit = _fake_kit(
        tmp_path,
        """
        import json, sys
        print(json.dumps({"passed": True, "files": [], "seconds": {}, "exe": sys.executable}))
        """,
    )
    report = validate_files([tmp_path / "a.xml"], kit=kit)
    assert report.passed
    assert report.raw["exe"] == sys.executable
