"""Importers and search on the real reference files (slices of them, to stay fast).

The files live in the shared reference material (never in the repository);
the tests skip when it is absent. The full imports are timed by
tests/bench/bench_terminology.py.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from dmp_desktop.terminology import (
    ABBREVIATIONS,
    System,
    TerminologyIndex,
    import_atc,
    import_bdpm,
    import_cim10,
)
from tests.conftest import CDA_KIT, REFERENCE_DATA, require_shared

CIM10_CSV = REFERENCE_DATA / "cim10" / "cim10.csv"
BDPM = REFERENCE_DATA / "bdpm"
ATC_CSV = REFERENCE_DATA / "atc" / "who_atc_ddd_2026-04-25.csv"
ALLERGY_VALUE_SET = (
    CDA_KIT / "ans" / "jeuxDeValeurs" / "JDV_TypeEvenementIndesirablePrevisible_CISIS.xml"
)

_CIM10_SLICE = re.compile(r"^(E|I|J|K[25]|M54|N18|O24|H35|B24)")
_BDPM_NAMES = re.compile(
    rb"^\d{8}\t(DOLIPRANE|DAFALGAN|EFFERALGAN|PARACETAMOL|GLUCOPHAGE|KARDEGIC)"
)


def _starter() -> dict[str, list[dict[str, object]]]:
    ref = resources.files("dmp_desktop").joinpath("resources", "terminology", "starter.json")
    concepts: dict[str, list[dict[str, object]]] = json.loads(ref.read_bytes())["concepts"]
    return concepts


@pytest.fixture(scope="module")
def cim10_rows() -> dict[str, list[str]]:
    require_shared(CIM10_CSV)
    with CIM10_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["code", "type", "ssr", "psy", "short", "long"]
        return {row[0]: row for row in reader}


@pytest.fixture(scope="module")
def cim10_slices(
    tmp_path_factory: pytest.TempPathFactory, cim10_rows: dict[str, list[str]]
) -> tuple[Path, Path]:
    """The same slice of the CIM-10 as the CSV given and as the ATIH TXT a practice downloads."""
    folder = tmp_path_factory.mktemp("cim10")
    rows = [row for code, row in cim10_rows.items() if _CIM10_SLICE.match(code)]
    assert len(rows) > 1000
    csv_path = folder / "cim10.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "type", "ssr", "psy", "short", "long"])
        writer.writerows(rows)
    atih_path = folder / "LIBCIM10MULTI.TXT"
    lines = [f"{row[0]:<6}|" + "|".join(row[1:]) for row in rows]
    atih_path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return csv_path, atih_path


@pytest.fixture(scope="module")
def full_index(
    tmp_path_factory: pytest.TempPathFactory, cim10_slices: tuple[Path, Path]
) -> Iterator[TerminologyIndex]:
    require_shared(BDPM)
    require_shared(ATC_CSV)
    folder = tmp_path_factory.mktemp("bdpm")
    keep: set[bytes] = set()
    speciality_lines = [
        line
        for line in (BDPM / "CIS_bdpm.txt").read_bytes().splitlines(keepends=True)
        if _BDPM_NAMES.match(line) or b"\x92" in line
    ]
    for line in speciality_lines:
        keep.add(line[:8])
    (folder / "CIS_bdpm.txt").write_bytes(b"".join(speciality_lines))
    for name in ("CIS_CIP_bdpm.txt", "CIS_COMPO_bdpm.txt", "CIS_MITM.txt"):
        data = (BDPM / name).read_bytes().splitlines(keepends=True)
        (folder / name).write_bytes(b"".join(line for line in data if line[:8] in keep))
    index = TerminologyIndex(tmp_path_factory.mktemp("index") / "terminology.sqlite")
    import_cim10(cim10_slices[1], index)
    import_bdpm(folder, index)
    import_atc(ATC_CSV, index)
    yield index
    index.close()


def test_atih_txt_and_csv_slices_import_alike(cim10_slices: tuple[Path, Path]) -> None:
    csv_path, atih_path = cim10_slices
    with TerminologyIndex(csv_path.parent / "a.sqlite") as from_csv:
        with TerminologyIndex(csv_path.parent / "b.sqlite") as from_atih:
            report_csv = import_cim10(csv_path, from_csv)
            report_atih = import_cim10(atih_path, from_atih)
            assert report_csv.skipped == report_atih.skipped == 0
            assert report_csv.imported == report_atih.imported
            first = list(from_csv.concepts(System.CIM10))
            assert first == list(from_atih.concepts(System.CIM10))
            assert [c.extra for c in first] == [c.extra for c in from_atih.concepts(System.CIM10)]


def test_real_cim10_labels_and_codes(full_index: TerminologyIndex) -> None:
    concept = full_index.get(System.CIM10, "E11.9")
    assert concept is not None
    assert concept.display == "Diabète sucré de type 2, sans complication"
    assert concept.extra["short_label"] == "DIABETE TYPE 2, SANS COMPLIC."
    hypertension = full_index.get(System.CIM10, "I10")
    assert hypertension is not None
    assert hypertension.display == "Hypertension essentielle (primitive)"
    retired = full_index.get(System.CIM10, "K589")
    assert retired is not None
    assert retired.extra["atih_marker"] == "SU19"
    assert not retired.display.startswith("*")


def test_real_cim10_search(full_index: TerminologyIndex) -> None:
    def codes(query: str) -> list[str]:
        return [concept.code for concept in full_index.search(query, System.CIM10)]

    assert "E119" in codes("diab")[:3]
    assert "E119" in codes("diabete")[:3]
    for typed in ("E119", "e11.9", "e11 9"):
        assert codes(typed)[0] == "E119"
    assert codes("hta")[0] == "I10"
    found = [c.code for c in full_index.search("diabete type 2", System.CIM10, limit=40)]
    assert found[0] == "E119"
    # WHO subcategories before the ATIH extensions.
    assert found.index("E110") < found.index("E1100") and found.index("E118") < found.index("E1198")
    # Retired codes come after the others.
    irritable = codes("intestin irritable")
    assert irritable.index("K588") < irritable.index("K589")
    assert codes("B24")[0] == "B24"
    assert codes("b24+0")[0] == "B24+0"


def test_real_bdpm(full_index: TerminologyIndex) -> None:
    dolip = full_index.search("dolip", System.CIS)
    assert len(dolip) >= 10
    assert all(concept.display.startswith("DOLIPRANE") for concept in dolip)
    assert dolip[0].extra["marketed"] is True
    names = [concept.display for concept in full_index.search("paracetamol", System.CIS, 40)]
    assert any(name.startswith("DOLIPRANE") for name in names)
    doliprane = full_index.get(System.CIS, "60234100")
    assert doliprane is not None
    assert doliprane.display == "DOLIPRANE 1000 mg, comprimé"
    assert doliprane.extra["substances"] == ["PARACÉTAMOL"]
    assert "3400935955838" in doliprane.extra["cip13"]
    glucophage = full_index.get(System.CIS, "67547090")
    assert glucophage is not None and glucophage.extra["atc"] == "A10BA02"
    # cp1252 0x92 in CIS_bdpm.txt decodes to a right single quotation mark.
    assert any("’" in concept.display for concept in full_index.concepts(System.CIS))
    presentation = full_index.get(System.CIP, "3400935955838")
    assert presentation is not None
    assert presentation.display.startswith("DOLIPRANE 1000 mg, comprimé, plaquette(s)")
    assert full_index.search("3400935955838", System.CIS)[0].code == "60234100"


def test_real_atc(full_index: TerminologyIndex) -> None:
    assert full_index.count(System.ATC) == 6996
    paracetamol = full_index.get(System.ATC, "N02BE01")
    assert paracetamol is not None and paracetamol.display == "paracetamol"
    assert full_index.search("paracet", System.ATC)[0].code == "N02BE01"
    assert full_index.search("metformin", System.ATC)[0].code == "A10BA02"


def test_starter_cim10_labels_are_the_official_ones(cim10_rows: dict[str, list[str]]) -> None:
    for item in _starter()["cim10"]:
        row = cim10_rows[str(item["code"])]
        assert item["display"] == row[5], item["code"]


def test_abbreviation_targets_exist_in_the_real_cim10(cim10_rows: dict[str, list[str]]) -> None:
    for entry in ABBREVIATIONS:
        if entry.system is System.CIM10:
            for code in entry.codes:
                assert code in cim10_rows, (entry.abbreviation, code)
                assert not cim10_rows[code][5].startswith("***"), code


def test_starter_drugs_are_the_official_ones() -> None:
    require_shared(BDPM)
    names: dict[str, str] = {}
    for raw in (BDPM / "CIS_bdpm.txt").read_bytes().splitlines():
        fields = raw.decode("cp1252").split("\t")
        names[fields[0]] = fields[1].strip()
    mitm: dict[str, str] = {}
    for raw in (BDPM / "CIS_MITM.txt").read_bytes().splitlines():
        fields = raw.decode("cp1252").split("\t")
        mitm[fields[0]] = fields[1]
    for item in _starter()["cis"]:
        code = str(item["code"])
        assert item["display"] == names[code], code
        extra = item["extra"]
        assert isinstance(extra, dict)
        if extra.get("atc_source") == "CIS_MITM":
            assert extra["atc"] == mitm[code]


def test_starter_allergy_types_are_the_value_set() -> None:
    require_shared(ALLERGY_VALUE_SET)
    from dmp_desktop.xmlsafe import parse

    root = parse(ALLERGY_VALUE_SET.read_bytes())
    official = [
        (element.get("code"), element.get("displayName"))
        for element in root.iter("{urn:ihe:iti:svs:2008}Concept")
    ]
    shipped = [(item["code"], item["display"]) for item in _starter()["snomed_allergy"]]
    assert shipped == official
