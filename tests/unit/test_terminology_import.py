"""Importers on small synthetic files: formats, encodings, malformed lines, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmp_desktop.terminology import (
    ImportCancelledError,
    System,
    TerminologyImportError,
    TerminologyIndex,
    import_atc,
    import_bdpm,
    import_cim10,
)
from dmp_desktop.terminology import importers as importers_module

# --- CIM-10 -----------------------------------------------------------------
_ATIH_LINES = [
    "E11   |3|NNNN|3|DIABETE TYPE 2|Diabète sucré de type 2",
    "E119  |3|NNNN|3|DIABETE TYPE 2, SANS COMPLIC.|Diabète sucré de type 2, sans complication",
    "E1198 |0|NOOO|0|DIABETE TYPE 2 NON INSULINOTRAITE OU SAI, SANS COMPLIC."
    "|Diabète sucré de type 2 non insulinotraité ou sans précision, sans complication",
    "I10   |0|NOOO|0|HYPERTENSION ESSENTIELLE|Hypertension essentielle (primitive)",
    "K58   |3|NNNN|3|SYNDROME DE L'INTESTIN IRRITABLE|Syndrome de l'intestin irritable",
    "K588  |0|NOOO|0|SII, AUTRE ET SAI|Syndrome de l'intestin irritable, autre et non précisé",
    "K589  |3|NNNN|3|*** SU19 *** SII, SAI|*** SU19 *** Syndrome de l'intestin irritable, "
    "(sans diarrhée)",
    "B24+0 |0|NOOO|0|VIH SAI|Immunodéficience humaine virale [VIH], sans précision",
    "H353  |0|NOOO|0|DEGEN. MACULA|Dégénérescence de la macula et du pôle postérieur",
]


def _write_atih(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return path


def _write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("code,type,ssr,psy,short,long\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def index(tmp_path: Path) -> TerminologyIndex:
    result = TerminologyIndex(tmp_path / "index" / "terminology.sqlite")
    yield result
    result.close()


def test_import_cim10_atih_latin1(tmp_path: Path, index: TerminologyIndex) -> None:
    report = import_cim10(_write_atih(tmp_path / "LIBCIM10MULTI.TXT", _ATIH_LINES), index)
    assert report.imported == {System.CIM10: 9}
    assert report.skipped == 0
    assert index.count(System.CIM10) == 9
    concept = index.get(System.CIM10, "E11.9")
    assert concept is not None
    assert concept.code == "E119"
    assert concept.display_code == "E11.9"
    assert concept.display == "Diabète sucré de type 2, sans complication"
    assert concept.extra["pmsi_type"] == 3
    assert concept.extra["short_label"] == "DIABETE TYPE 2, SANS COMPLIC."
    retired = index.get(System.CIM10, "K589")
    assert retired is not None
    assert retired.display == "Syndrome de l'intestin irritable, (sans diarrhée)"
    assert retired.extra["atih_marker"] == "SU19"
    assert index.get(System.CIM10, "B24+0") is not None


def test_import_cim10_csv_with_quotes(tmp_path: Path, index: TerminologyIndex) -> None:
    path = _write_csv(
        tmp_path / "cim10.csv",
        [
            'E119,3,NNNN,3,"DIABETE TYPE 2, SANS COMPLIC.","Diabète sucré de type 2, '
            'sans complication"',
            "I10,0,NOOO,0,HYPERTENSION ESSENTIELLE,Hypertension essentielle (primitive)",
        ],
    )
    report = import_cim10(path, index)
    assert report.imported == {System.CIM10: 2}
    assert report.lines_read == 3
    concept = index.get(System.CIM10, "E119")
    assert concept is not None
    assert concept.display == "Diabète sucré de type 2, sans complication"


def test_cim10_malformed_lines_are_counted_and_skipped(
    tmp_path: Path, index: TerminologyIndex
) -> None:
    lines = [
        *_ATIH_LINES,
        "garbage without pipes but | one",
        "XX9   |0|NOOO|0|BAD CODE|Code invalide",
        "J449  |0|NOOO|0|BPCO SAI|",
        "",
        "I10   |0|NOOO|0|DOUBLON|Doublon",
        "J45   |3|NNNN|3|ASTHME|" + "x" * 2000,
    ]
    report = import_cim10(_write_atih(tmp_path / "LIBCIM10MULTI.TXT", lines), index)
    # J449 has only a short label: the short label is shown.
    assert report.imported == {System.CIM10: 10}
    assert report.skipped == 4
    reasons = sorted(line.reason for line in report.skipped_lines)
    assert reasons == [
        "duplicate code",
        "invalid code",
        "wrong number of columns",
        "wrong number of columns",
    ]
    assert all(line.file == "LIBCIM10MULTI.TXT" and line.line > 0 for line in report.skipped_lines)
    assert index.get(System.CIM10, "J449") is not None
    concept = index.get(System.CIM10, "I10")
    assert concept is not None and concept.display == "Hypertension essentielle (primitive)"


def test_atih_and_csv_give_the_same_index(tmp_path: Path) -> None:
    csv_rows = []
    for line in _ATIH_LINES:
        code, kind, ssr, psy, short, long = (part.strip() for part in line.split("|"))
        csv_rows.append(",".join(f'"{value}"' for value in (code, kind, ssr, psy, short, long)))
    with (
        TerminologyIndex(tmp_path / "a.sqlite") as from_atih,
        TerminologyIndex(tmp_path / "b.sqlite") as from_csv,
    ):
        import_cim10(_write_atih(tmp_path / "LIBCIM10MULTI.TXT", _ATIH_LINES), from_atih)
        import_cim10(_write_csv(tmp_path / "cim10.csv", csv_rows), from_csv)
        assert list(from_atih.concepts(System.CIM10)) == list(from_csv.concepts(System.CIM10))
        for query in ("diab", "E119", "irritable"):
            assert from_atih.search(query, System.CIM10) == from_csv.search(query, System.CIM10)


def test_failed_import_keeps_the_previous_index(tmp_path: Path, index: TerminologyIndex) -> None:
    import_cim10(_write_atih(tmp_path / "LIBCIM10MULTI.TXT", _ATIH_LINES), index)
    before = index.search("diab", System.CIM10)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("this is\nnot a list\nof codes at all\n", encoding="utf-8")
    with pytest.raises(TerminologyImportError) as error:
        import_cim10(wrong, index)
    assert error.value.reason in ("no-valid-rows", "too-many-errors")
    assert index.count(System.CIM10) == 9
    assert index.search("diab", System.CIM10) == before
    assert index.sources()[0].origin == "CIM-10 (LIBCIM10MULTI.TXT)"


def test_mostly_malformed_file_is_refused(tmp_path: Path, index: TerminologyIndex) -> None:
    lines = [_ATIH_LINES[3]] + ["nonsense"] * 5
    with pytest.raises(TerminologyImportError) as error:
        import_cim10(_write_atih(tmp_path / "LIBCIM10MULTI.TXT", lines), index)
    assert error.value.reason == "too-many-errors"
    assert index.count(System.CIM10) == 0


def test_error_in_the_middle_rolls_back(
    tmp_path: Path, index: TerminologyIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_cim10(_write_atih(tmp_path / "LIBCIM10MULTI.TXT", _ATIH_LINES), index)
    real_make_row = importers_module.make_row
    calls = 0

    def failing_make_row(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise OSError("disk full")
        return real_make_row(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importers_module, "make_row", failing_make_row)
    replacement = _write_atih(tmp_path / "other.txt", [_ATIH_LINES[3]] * 1 + _ATIH_LINES[:6])
    with pytest.raises(OSError, match="disk full"):
        import_cim10(replacement, index)
    assert index.count(System.CIM10) == 9
    assert index.get(System.CIM10, "H353") is not None


def test_cancelled_import_changes_nothing(tmp_path: Path, index: TerminologyIndex) -> None:
    import_cim10(_write_atih(tmp_path / "LIBCIM10MULTI.TXT", _ATIH_LINES), index)
    with pytest.raises(ImportCancelledError):
        import_cim10(
            _write_atih(tmp_path / "again.txt", _ATIH_LINES[:2]), index, cancelled=lambda: True
        )
    assert index.count(System.CIM10) == 9


def test_progress_reaches_one(tmp_path: Path, index: TerminologyIndex) -> None:
    seen: list[float] = []
    import_cim10(
        _write_atih(tmp_path / "LIBCIM10MULTI.TXT", _ATIH_LINES), index, progress=seen.append
    )
    assert seen
    assert seen[-1] == pytest.approx(1.0)
    assert seen == sorted(seen)


def test_missing_file(tmp_path: Path, index: TerminologyIndex) -> None:
    with pytest.raises(TerminologyImportError) as error:
        import_cim10(tmp_path / "absent.txt", index)
    assert error.value.reason == "missing"
    with pytest.raises(TerminologyImportError) as error:
        import_bdpm(tmp_path / "no-such-dir", index)
    assert error.value.reason == "missing"
    (tmp_path / "empty").mkdir()
    with pytest.raises(TerminologyImportError) as error:
        import_bdpm(tmp_path / "empty", index)
    assert error.value.reason == "missing"
    assert error.value.detail == "CIS_bdpm.txt"


# --- BDPM -------------------------------------------------------------------
def _tsv(*rows: tuple[str, ...]) -> str:
    return "".join("\t".join(row) + "\r\n" for row in rows)


def _write_bdpm(folder: Path) -> Path:
    folder.mkdir()
    specialities = _tsv(
        (
            "60234100",
            "DOLIPRANE 1000 mg, comprimé",
            "comprimé",
            "orale",
            "Autorisation active",
            "Procédure nationale",
            "Commercialisée",
            "09/07/2002",
            "",
            "",
            " OPELLA HEALTHCARE FRANCE",
            "Non",
        ),
        (
            "65196753",
            "DOLIPRANE 500 mg, comprimé effervescent",
            "comprimé effervescent(e)",
            "orale",
            "Autorisation active",
            "Procédure nationale",
            "Non commercialisée",
            "01/12/1986",
            "Warning disponibilité",
            "",
            " OPELLA HEALTHCARE FRANCE",
            "Non",
        ),
        (
            "61234567",
            "SPÉCIALITÉ D’ESSAI 5 mg, gélule",
            "gélule",
            "orale;sublinguale",
            "Autorisation active",
            "Procédure nationale",
            "Commercialisée",
            "01/01/2020",
            "",
            "",
            " LABO;AUTRE LABO",
            "Oui",
        ),
        (
            "67547090",
            "GLUCOPHAGE 850 mg, comprimé pelliculé",
            "comprimé pelliculé",
            "orale",
            "Autorisation active",
            "Procédure nationale",
            "Commercialisée",
            "01/01/1990",
            "",
            "",
            " MERCK SANTE",
            "Non",
        ),
        (
            "ABCDEFGH",
            "CODE INVALIDE",
            "comprimé",
            "orale",
            "Autorisation active",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ),
        ("6000000", "TROP COURT"),
    )
    (folder / "CIS_bdpm.txt").write_bytes(specialities.encode("cp1252"))
    presentations = (
        "60234100\t3595583\tplaquette(s) thermoformée(s) PVC-aluminium de 8  comprimé(s)"
        "\tPrésentation active\tDéclaration de commercialisation\t02/01/2003\t3400935955838"
        "\toui\t65%\t1,16\t2,18\t1,02\t\n"
        "61234567\t1234567\tflacon de 30\tPrésentation active"
        "\tDéclaration de commercialisation\t01/01/2020\t3400912345678\toui\t\t\t\t\t\n"
        "60234100\tbad\tligne\tcassée\n"
        "69999999\t7654321\torpheline\tPrésentation active\tDéclaration de commercialisation"
        "\t01/01/2020\t3400976543210\tnon\t\t\t\t\t\n"
    )
    (folder / "CIS_CIP_bdpm.txt").write_bytes(presentations.encode("utf-8"))
    compositions = _tsv(
        ("60234100", "comprimé", "02202", "PARACÉTAMOL", "1000 mg", "un comprimé", "SA", "1"),
        (
            "61234567",
            "gélule",
            "11111",
            "CHLORHYDRATE D’ESSAIMINE",
            "5 mg",
            "une gélule",
            "SA",
            "1",
        ),
        ("61234567", "gélule", "22222", "ESSAIMINE", "4 mg", "une gélule", "FT", "1"),
        (
            "67547090",
            "comprimé",
            "24321",
            "CHLORHYDRATE DE METFORMINE",
            "850 mg",
            "un comprimé",
            "SA",
            "1",
        ),
        ("67547090", "comprimé", "04442", "METFORMINE", "663 mg", "un comprimé", "FT", "1"),
        ("60234100", "ligne", "incomplète"),
    )
    (folder / "CIS_COMPO_bdpm.txt").write_bytes(compositions.encode("cp1252"))
    mitm = "67547090\tA10BA02\tGLUCOPHAGE 850 mg, comprimé pelliculé\thttp://example.invalid"
    (folder / "CIS_MITM.txt").write_bytes(mitm.encode("cp1252"))  # no final newline
    return folder


def test_import_bdpm_synthetic(tmp_path: Path, index: TerminologyIndex) -> None:
    report = import_bdpm(_write_bdpm(tmp_path / "bdpm"), index)
    # the substances (DCI) derived from the compositions and CIS_MITM: metformine, A10BA02
    assert report.imported == {System.CIP: 2, System.CIS: 4, System.SUBSTANCE: 1}
    metformine = index.get(System.SUBSTANCE, "A10BA02")
    assert metformine is not None and metformine.display == "Metformine"
    assert report.missing_files == ()
    # 2 bad CIS lines, 1 bad CIP line, 1 orphan CIP, 1 bad composition line.
    assert report.skipped == 5
    doliprane = index.get(System.CIS, "60234100")
    assert doliprane is not None
    assert doliprane.display == "DOLIPRANE 1000 mg, comprimé"
    assert doliprane.extra["substances"] == ["PARACÉTAMOL"]
    assert doliprane.extra["marketed"] is True
    assert doliprane.extra["holders"] == ["OPELLA HEALTHCARE FRANCE"]
    assert doliprane.extra["cip13"] == ["3400935955838"]
    assert doliprane.oid == "1.2.250.1.213.2.3.1"
    essai = index.get(System.CIS, "61234567")
    assert essai is not None
    assert essai.display == "SPÉCIALITÉ D’ESSAI 5 mg, gélule"  # cp1252 0x92
    assert essai.extra["substances"] == ["ESSAIMINE"]
    assert essai.extra["substances_salts"] == ["CHLORHYDRATE D’ESSAIMINE"]
    assert essai.extra["routes"] == ["orale", "sublinguale"]
    assert essai.extra["holders"] == ["LABO", "AUTRE LABO"]
    assert essai.extra["enhanced_monitoring"] is True
    glucophage = index.get(System.CIS, "67547090")
    assert glucophage is not None and glucophage.extra["atc"] == "A10BA02"
    presentation = index.get(System.CIP, "3400935955838")
    assert presentation is not None
    assert presentation.display == (
        "DOLIPRANE 1000 mg, comprimé, plaquette(s) thermoformée(s) PVC-aluminium de 8 comprimé(s)"
    )
    assert presentation.extra["cis"] == "60234100"
    assert presentation.extra["reimbursement_rate"] == "65%"
    assert index.get(System.CIP, "3595583") == presentation  # CIP7 alias


def test_bdpm_search_by_name_substance_salt_and_barcode(
    tmp_path: Path, index: TerminologyIndex
) -> None:
    import_bdpm(_write_bdpm(tmp_path / "bdpm"), index)
    assert [c.code for c in index.search("dolip", System.CIS)] == ["60234100", "65196753"]
    assert [c.code for c in index.search("paracetamol", System.CIS)] == ["60234100"]
    assert [c.code for c in index.search("chlorhydrate essai", System.CIS)] == ["61234567"]
    assert [c.code for c in index.search("metformine", System.CIS)] == ["67547090"]
    assert [c.code for c in index.search("3400935955838", System.CIS)] == ["60234100"]
    assert [c.code for c in index.search("3595583", System.CIS)] == ["60234100"]


def test_bdpm_optional_files(tmp_path: Path, index: TerminologyIndex) -> None:
    folder = _write_bdpm(tmp_path / "bdpm")
    (folder / "CIS_MITM.txt").unlink()
    (folder / "CIS_CIP_bdpm.txt").rename(folder / "cis_cip_bdpm.txt")
    report = import_bdpm(folder, index)
    assert report.missing_files == ("CIS_MITM.txt",)
    assert report.imported[System.CIP] == 2
    glucophage = index.get(System.CIS, "67547090")
    assert glucophage is not None and "atc" not in glucophage.extra


# --- ATC --------------------------------------------------------------------
def test_import_atc(tmp_path: Path, index: TerminologyIndex) -> None:
    path = tmp_path / "atc.csv"
    path.write_text(
        "atc_code,atc_name,ddd,uom,adm_r,note\n"
        "N,NERVOUS SYSTEM,NA,NA,NA,NA\n"
        "N02,ANALGESICS,NA,NA,NA,NA\n"
        "N02BE,Anilides,NA,NA,NA,NA\n"
        "N02BE01,paracetamol,3,g,O,NA\n"
        "N02BE01,paracetamol,3,g,R,NA\n"
        'N02BE51,"paracetamol, combinations excl. psycholeptics",NA,NA,NA,NA\n'
        "N02BE9,bad code,NA,NA,NA,NA\n"
        "broken\n",
        encoding="utf-8",
    )
    report = import_atc(path, index)
    assert report.imported == {System.ATC: 5}
    assert report.skipped == 2
    paracetamol = index.get(System.ATC, "n02be01")
    assert paracetamol is not None
    assert paracetamol.extra["level"] == 5
    assert paracetamol.extra["ddd"] == [
        {"value": "3", "unit": "g", "route": "O"},
        {"value": "3", "unit": "g", "route": "R"},
    ]
    assert [c.code for c in index.search("paracet", System.ATC)][:2] == ["N02BE01", "N02BE51"]
    assert [c.code for c in index.search("N02B", System.ATC)][:2] == ["N02BE", "N02BE01"]
    assert index.search("N", System.ATC)[0].code == "N"
