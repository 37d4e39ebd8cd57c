"""Text folding, tokens and code forms of the terminology package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dmp_desktop.terminology as terminology
from dmp_desktop.terminology import Concept, System, canonical_code, display_code, fold
from dmp_desktop.terminology.importers import decode_line
from dmp_desktop.terminology.normalize import (
    index_terms,
    is_valid_code,
    looks_like_code_prefix,
    query_tokens,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Diabète sucré de type 2", "diabete sucre de type 2"),
        ("ŒDÈME AIGU", "oedeme aigu"),
        ("L'artère, l’aorte et d'autres", "artere aorte et autres"),
        (
            "Reflux gastro-oesophagien (sans oesophagite)",
            "reflux gastro oesophagien sans oesophagite",
        ),
        ("LEVOTHYROX 75 µg", "levothyrox 75 ug"),
        ("IMC ≥ 30 kg/m²", "imc 30 kg m2"),
        ("  ", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_index_terms_drop_function_words_and_join_compounds() -> None:
    terms = index_terms("Reflux gastro-oesophagien de l'adulte", "REFLUX GASTRO-OESOPHAGIEN")
    words = terms.split()
    assert "de" not in words
    assert "gastrooesophagien" in words
    assert words.count("reflux") == 1
    assert "adulte" in words


def test_query_tokens_keep_a_lone_function_word() -> None:
    assert query_tokens("diabète de type 2") == ["diabete", "type", "2"]
    assert query_tokens("de") == ["de"]
    assert query_tokens("hépatite A") == ["hepatite", "a"]


@pytest.mark.parametrize("typed", ["E11.9", "e11.9", "E119", "e11 9", " e 11.9 ", "E11-9"])
def test_cim10_code_spellings(typed: str) -> None:
    assert canonical_code(System.CIM10, typed) == "E119"


def test_display_codes() -> None:
    assert display_code(System.CIM10, "E119") == "E11.9"
    assert display_code(System.CIM10, "I10") == "I10"
    assert display_code(System.CIM10, "E1198") == "E11.98"
    assert display_code(System.CIM10, "T08+0") == "T08+0"
    assert display_code(System.CIS, "60234100") == "60234100"
    concept = Concept(System.CIM10, "J449", "Maladie pulmonaire obstructive chronique")
    assert concept.display_code == "J44.9"
    assert concept.oid == "2.16.840.1.113883.6.3"


def test_code_shapes() -> None:
    assert is_valid_code(System.CIM10, "B24+0")
    assert not is_valid_code(System.CIM10, "E1")
    assert is_valid_code(System.CIS, "60234100")
    assert not is_valid_code(System.CIS, "6023410A")
    assert is_valid_code(System.CIP, "3400935955838")
    assert is_valid_code(System.CIP, "3595583")
    assert is_valid_code(System.ATC, "N02BE01")
    assert is_valid_code(System.ATC, "A")
    assert not is_valid_code(System.ATC, "N02BE0")
    assert looks_like_code_prefix(System.CIM10, "E1")
    assert not looks_like_code_prefix(System.CIM10, "HTA")


def test_system_oids() -> None:
    assert System.CIM10.oid == "2.16.840.1.113883.6.3"
    assert System.CIS.oid == "1.2.250.1.213.2.3.1"
    assert System.CIP.oid == "1.2.250.1.213.2.3.2"
    assert System.ATC.oid == "2.16.840.1.113883.6.73"
    assert System.CCAM.oid == "1.2.250.1.215.300.1"
    assert System.SNOMED_ALLERGY.oid == "2.16.840.1.113883.6.96"
    assert System.SNOMED_ALLERGY.value_set_oid == "1.2.250.1.213.1.1.5.794"
    assert System.CIM10.code_system_name == "CIM-10"


def test_decode_line_handles_utf8_cp1252_and_latin1() -> None:
    assert decode_line("Diabète".encode()) == "Diabète"
    assert decode_line("D’ESSAI".encode("cp1252")) == "D’ESSAI"
    assert decode_line(b"\xef\xbb\xbfcode") == "code"
    # 0x81 is undefined in cp1252: fall back to Latin-1 rather than fail.
    assert decode_line(b"A\x81\xe9") == "A\x81é"


def test_terminology_package_has_no_qt() -> None:
    package = Path(terminology.__file__).parent
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("PySide6", "PyQt", "shiboken")), (source.name, name)
