"""Regenerate ``resources/terminology/starter.json`` from the official files.

Maintainer tool, not used at run time::

    python scripts/build_terminology_starter.py \\
        --reference-data ../shared/reference-data --cda-kit ../shared/cda-kit

The codes below are a choice (common in general practice); every label, and
every other field, is read from the official files: the ATIH CIM-10, the
ANSM BDPM and the CI-SIS value set of allergy and intolerance types.
A drug's ATC code comes from ``CIS_MITM.txt``; when the speciality is not in
that file, it is taken from the specialities of ``CIS_MITM.txt`` with the
same substances and route, if they all agree (``atc_source`` says which).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dmp_desktop.terminology.importers import import_bdpm, import_cim10
from dmp_desktop.terminology.index import TerminologyIndex
from dmp_desktop.terminology.model import Concept, System
from dmp_desktop.terminology.rows import STARTER_RESOURCE
from dmp_desktop.terminology.starter import STARTER_FORMAT

ALLERGY_VALUE_SET = "JDV_TypeEvenementIndesirablePrevisible_CISIS.xml"

# CIM-10 codes common in general practice (canonical form), grouped by domain.
CIM10_CODES: tuple[str, ...] = tuple(
    """
    I10 I119 I489 I480 I481 I482 I509 I259 I252 I219 I209 I200 I639 I64 G459 I269 I26
    I802 I839 I872 I702 I739 I951 R002 R55 Z921 Z950 Z955
    E119 E11 E109 E10 E149 E780 E785 E782 E669 E039 E059 E041 E282 E559 D509 D649 E611
    E876 E790 M109 N189 N183 R730
    J449 J441 J459 J069 J029 J039 J019 J00 J209 J40 J189 J304 J301 J329 J111 U071 G473
    K219 K21 K297 K30 K590 K581 K588 K529 A09 K573 K802 K760 K746 K649 R104 R11
    M545 M544 M542 M549 M179 M169 M159 M199 M819 M791 M797 M751 M771 M255 M069 M45 M353
    M329 G560
    F329 F339 F411 F419 F410 F432 F510 G470 F102 F172 Z720 F209 F319 F900 F840 F03 G309
    G20 G409 G439 G442 R51 R42 H811 G35
    N390 N300 N10 N40 N951 N952 N946 N200 R32 Z300 O244 A64 B24 Z21
    L209 L309 L400 L700 L219 L500 B029 B001 L600 B351 B353 B373 A46 L039
    H669 H659 H109 H101 H612 H353 H409 H259 H919
    B349 B019 B279 A692 B86 B80 R05 R509 R53 R074 R060 R634 R600 T784
    Z880 Z824 Z833 Z803 Z966 Z000
    C509 C61 C189 C349 C449 C911
    """.split()
)

# Specialities (CIS) common in general practice.
CIS_CODES: tuple[str, ...] = tuple(
    """
    60234100 69309629 63368332 67119691 62887947 67721153 60025403 67058605 68787715
    61137241 62689634 63435884 62484259 68634000 63646874 62431527 63855240 61227030
    63454500 60914025
    64755969 61348441 63564053 61902218 69340279 67071218 69800507 63245753 63458349
    65728601 63524315 63849839 67481345 69197614 69557432 69015780 66153192 65606743
    64565845 63162282 60077574 67113350 66394873 64408662 69902323 67143532 68212077
    68479386 63191743 60981789
    67547090 61052830 67346461 68831670 64889982 67947145 61400703 63787647 65979151
    62080626 65143010 68416845 68588503
    64720167 61073237 61237448 60363967 61833327 61665908 66296411 63566855 61519586
    64539416 64672103 63565244 66053338 65740799 62059468 65528337 65636245 65203952
    67951706
    64578892 64103828 65220275 60071952 69298346 60885246 68081368 63636264 60246750
    67219535 60683198 60160707 61403425 69847791 66796142 63179285 68508795 63096099
    64148136 61331730 63226984 62390849
    63489259 69441965 68269288 69630186
    67203730 66819566 60812935 65823679
    """.split()
)

_CIS_EXTRA_KEYS = (
    "form",
    "routes",
    "authorisation",
    "marketing",
    "marketed",
    "substances",
    "substances_salts",
    "holders",
    "atc",
    "cip13",
)


def _cim10_entry(concept: Concept, headings: set[str]) -> dict[str, Any]:
    extra = {
        key: concept.extra[key] for key in ("pmsi_type", "short_label") if key in concept.extra
    }
    if concept.code in headings:
        extra["heading"] = True
    return {"code": concept.code, "display": concept.display, "extra": extra}


def _atc_by_substances(
    index: TerminologyIndex,
) -> dict[tuple[tuple[str, ...], tuple[str, ...]], set[str]]:
    result: dict[tuple[tuple[str, ...], tuple[str, ...]], set[str]] = {}
    for concept in index.concepts(System.CIS):
        atc = concept.extra.get("atc")
        if atc:
            key = (
                tuple(sorted(concept.extra.get("substances", []))),
                tuple(sorted(concept.extra.get("routes", []))),
            )
            result.setdefault(key, set()).add(str(atc))
    return result


def _cis_entry(
    concept: Concept,
    index: TerminologyIndex,
    by_substances: dict[tuple[tuple[str, ...], tuple[str, ...]], set[str]],
) -> dict[str, Any]:
    extra = {key: concept.extra[key] for key in _CIS_EXTRA_KEYS if key in concept.extra}
    if "atc" in extra:
        extra["atc_source"] = "CIS_MITM"
    else:
        key = (
            tuple(sorted(concept.extra.get("substances", []))),
            tuple(sorted(concept.extra.get("routes", []))),
        )
        candidates = by_substances.get(key, set())
        if len(candidates) == 1:
            extra["atc"] = next(iter(candidates))
            extra["atc_source"] = "CIS_MITM, same substances and route"
    aliases: list[str] = []
    for cip13 in concept.extra.get("cip13", []):
        aliases.append(cip13)
        presentation = index.get(System.CIP, cip13)
        if presentation is not None and presentation.extra.get("cip7"):
            aliases.append(str(presentation.extra["cip7"]))
    return {"code": concept.code, "display": concept.display, "extra": extra, "aliases": aliases}


def _allergy_types(cda_kit: Path) -> list[dict[str, Any]]:
    from dmp_desktop.xmlsafe import parse

    path = cda_kit / "ans" / "jeuxDeValeurs" / ALLERGY_VALUE_SET
    root = parse(path.read_bytes())
    entries: list[dict[str, Any]] = []
    for element in root.iter("{urn:ihe:iti:svs:2008}Concept"):
        code = element.get("code", "")
        extra: dict[str, Any] = {"value_set": "1.2.250.1.213.1.1.5.794"}
        if not code.isdigit():
            extra["provisional"] = True
        entries.append({"code": code, "display": element.get("displayName", ""), "extra": extra})
    return entries


def build(reference_data: Path, cda_kit: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        index = TerminologyIndex(Path(folder) / "full.sqlite")
        try:
            import_cim10(reference_data / "cim10" / "cim10.csv", index)
            import_bdpm(reference_data / "bdpm", index)
            all_codes = [concept.code for concept in index.concepts(System.CIM10)]
            headings = {code[:3] for code in all_codes if len(code) > 3}
            cim10 = []
            for code in CIM10_CODES:
                concept = index.get(System.CIM10, code)
                if concept is None:
                    raise SystemExit(f"CIM-10 code not found: {code}")
                cim10.append(_cim10_entry(concept, headings))
            by_substances = _atc_by_substances(index)
            cis = []
            for code in CIS_CODES:
                concept = index.get(System.CIS, code)
                if concept is None:
                    raise SystemExit(f"CIS code not found: {code}")
                cis.append(_cis_entry(concept, index, by_substances))
        finally:
            index.close()
    return {
        "format": STARTER_FORMAT,
        "description": (
            "Starter set of DMP Desktop: common general-practice CIM-10 codes, common drugs "
            "(CIS) and the SNOMED CT allergy and intolerance types of the VSM. Codes and "
            "labels copied from the official files named in 'sources'."
        ),
        "sources": {
            "cim10": "ATIH, CIM-10 FR à usage PMSI (LIBCIM10MULTI columns; 2022 edition or later)",
            "cis": (
                "ANSM, Base de données publique des médicaments (CIS_bdpm, CIS_CIP_bdpm, "
                "CIS_COMPO_bdpm, CIS_MITM), download of May 2026"
            ),
            "snomed_allergy": (
                "ANS CI-SIS value set JDV_TypeEvenementIndesirablePrevisible_CISIS "
                "(1.2.250.1.213.1.1.5.794, 2024-06-04)"
            ),
        },
        "concepts": {
            System.CIM10.value: cim10,
            System.CIS.value: cis,
            System.SNOMED_ALLERGY.value: _allergy_types(cda_kit),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reference-data", type=Path, required=True)
    parser.add_argument("--cda-kit", type=Path, required=True)
    default_output = Path(__file__).resolve().parents[1].joinpath(*STARTER_RESOURCE)
    parser.add_argument("--output", type=Path, default=default_output)
    args = parser.parse_args(argv)
    data = build(args.reference_data, args.cda_kit)
    text = json.dumps(data, ensure_ascii=False, indent=1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    counts = {name: len(items) for name, items in data["concepts"].items()}
    sys.stdout.write(f"{args.output}: {counts}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
