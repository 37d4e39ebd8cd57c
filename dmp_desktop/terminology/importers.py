"""Importers of the reference files a practice downloads.

- CIM-10: the ATIH ``LIBCIM10MULTI.TXT`` (``code|type|ssr|psy|short|long``,
  Latin-1, codes padded with spaces) or the same columns as a CSV with a
  ``code,type,ssr,psy,short,long`` header.
- BDPM (ANSM): ``CIS_bdpm.txt`` (required), ``CIS_CIP_bdpm.txt``,
  ``CIS_COMPO_bdpm.txt``, ``CIS_MITM.txt`` from one folder; tab-separated.
- ATC: the WHO ATC/DDD index as CSV (``atc_code,atc_name,ddd,uom,adm_r,note``).
  Its licence forbids commercial use: importing it is the practice's choice.

Files are read line by line as bytes and each line is decoded on its own:
UTF-8 when valid, otherwise Windows-1252 (the ANSM files mix both; 0x92 is
an apostrophe), otherwise Latin-1. A malformed line is counted and skipped.
Each import runs in one transaction: if it fails, is cancelled, or more than
half of the lines are malformed (probably the wrong file), the index keeps
what it had.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from dmp_desktop.terminology.errors import ImportCancelledError, TerminologyImportError
from dmp_desktop.terminology.index import IndexWriter, TerminologyIndex
from dmp_desktop.terminology.model import ImportReport, SkippedLine, System
from dmp_desktop.terminology.normalize import canonical_code, is_valid_code, unique
from dmp_desktop.terminology.rows import WEIGHT_HEADING, make_row, split_atih_marker

ProgressCallback = Callable[[float], None]
CancelCheck = Callable[[], bool]

MAX_SKIPPED_LINES_KEPT = 50
_CHECK_EVERY = 2000
# Imports run in a worker thread while the doctor types: give the GIL away
# this often so that searches are not stuck behind the importer.
_YIELD_EVERY = 32
_MAX_LINE_BYTES = 1 << 16

BDPM_SPECIALITIES = "CIS_bdpm.txt"
BDPM_PRESENTATIONS = "CIS_CIP_bdpm.txt"
BDPM_COMPOSITIONS = "CIS_COMPO_bdpm.txt"
BDPM_ATC = "CIS_MITM.txt"


def decode_line(raw: bytes) -> str:
    """One line of a reference file as text, whatever its encoding."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return text.lstrip("\ufeff")


@dataclass
class _Run:
    """Counters and callbacks shared by the files of one import."""

    source: str
    total_bytes: int
    progress: ProgressCallback | None
    cancelled: CancelCheck | None
    started: float = field(default_factory=time.perf_counter)
    lines_read: int = 0
    valid: int = 0
    skipped: int = 0
    done_bytes: int = 0
    skipped_lines: list[SkippedLine] = field(default_factory=list)

    def skip(self, file: str, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_lines) < MAX_SKIPPED_LINES_KEPT:
            self.skipped_lines.append(SkippedLine(file, line, reason))

    def tick(self, position: int) -> None:
        if self.cancelled is not None and self.cancelled():
            raise ImportCancelledError(self.source)
        if self.progress is not None and self.total_bytes:
            self.progress(min(1.0, (self.done_bytes + position) / self.total_bytes))

    def lines(self, path: Path) -> Iterator[tuple[int, str]]:
        """(line number, decoded line) for the non-blank lines of ``path``."""
        try:
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    self.lines_read += 1
                    if number % _YIELD_EVERY == 0:
                        time.sleep(0)
                    if number % _CHECK_EVERY == 0:
                        self.tick(handle.tell())
                    if len(raw) > _MAX_LINE_BYTES:
                        self.skip(path.name, number, "line too long")
                        continue
                    stripped = raw.rstrip(b"\r\n")
                    if not stripped.strip():
                        continue
                    yield number, decode_line(stripped)
                self.done_bytes += handle.tell()
        except OSError as exc:
            raise TerminologyImportError(self.source, "unreadable", path.name) from exc
        self.tick(0)

    def check(self, concepts: int) -> None:
        """Refuse an import that yields nothing or is mostly malformed (wrong file?)."""
        if concepts == 0 or self.valid == 0:
            raise TerminologyImportError(self.source, "no-valid-rows")
        if self.skipped > self.valid:
            raise TerminologyImportError(
                self.source, "too-many-errors", f"{self.skipped} malformed, {self.valid} valid"
            )

    def report(self, writer: IndexWriter, missing: tuple[str, ...] = ()) -> ImportReport:
        return ImportReport(
            source=self.source,
            imported={system: writer.count(system) for system in sorted(writer.systems, key=_key)},
            lines_read=self.lines_read,
            skipped=self.skipped,
            seconds=time.perf_counter() - self.started,
            skipped_lines=tuple(self.skipped_lines),
            missing_files=missing,
        )


def _key(system: System) -> str:
    return system.value


def _size(*paths: Path | None) -> int:
    total = 0
    for path in paths:
        if path is not None:
            try:
                total += path.stat().st_size
            except OSError:
                pass
    return total


# --- CIM-10 -----------------------------------------------------------------
def import_cim10(
    path: str | PathLike[str],
    index: TerminologyIndex,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> ImportReport:
    """Replace the CIM-10 of ``index`` with the ATIH list in ``path`` (TXT or CSV)."""
    file = Path(path)
    source = f"CIM-10 ({file.name})"
    if not file.is_file():
        raise TerminologyImportError(source, "missing", file.name)
    run = _Run(source, _size(file), progress, cancelled)
    with index.replacing({System.CIM10}, source) as writer:
        parents: set[str] = set()
        for number, fields in _cim10_records(run, file):
            if len(fields) < 6 or any(len(value) > 1000 for value in fields):
                run.skip(file.name, number, "wrong number of columns")
                continue
            code = canonical_code(System.CIM10, fields[0])
            if not is_valid_code(System.CIM10, code):
                run.skip(file.name, number, "invalid code")
                continue
            short_label = fields[4].strip()
            long_label, marker = split_atih_marker(fields[5].strip() or short_label)
            short_label = split_atih_marker(short_label)[0]
            if not long_label:
                run.skip(file.name, number, "empty label")
                continue
            extra: dict[str, Any] = {}
            pmsi_type = fields[1].strip()
            if pmsi_type.isdigit():
                extra["pmsi_type"] = int(pmsi_type)
            if short_label:
                extra["short_label"] = short_label
            if marker:
                extra["atih_marker"] = marker
            if writer.add(make_row(System.CIM10, code, long_label, extra)):
                run.valid += 1
                if len(code) > 3:
                    parents.add(code[:3])
            else:
                run.skip(file.name, number, "duplicate code")
        writer.skipped = run.skipped
        run.check(writer.count(System.CIM10))
        writer.set_weight(System.CIM10, parents, WEIGHT_HEADING)
        return run.report(writer)


def _cim10_records(run: _Run, file: Path) -> Iterator[tuple[int, list[str]]]:
    lines = run.lines(file)
    first = next(lines, None)
    if first is None:
        return
    number, text = first
    if "|" in text:
        yield number, text.split("|")
        for number, text in lines:
            yield number, text.split("|")
        return
    # CSV: the csv module gets the decoded lines; numbers follow the physical lines.
    numbers: list[int] = []

    def feed() -> Iterator[str]:
        numbers.append(number)
        yield text
        for line_number, line in lines:
            numbers.append(line_number)
            yield line

    reader = csv.reader(feed())
    header = True
    for fields in _safe_csv(reader, run, file):
        if header:
            header = False
            if fields and fields[0].strip().lower() == "code":
                continue
        yield numbers[-1], fields


def _safe_csv(reader: Iterator[list[str]], run: _Run, file: Path) -> Iterator[list[str]]:
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            run.skip(file.name, run.lines_read, "malformed CSV")
            continue
        yield fields


# --- BDPM -------------------------------------------------------------------
def _find(directory: Path, name: str) -> Path | None:
    exact = directory / name
    if exact.is_file():
        return exact
    wanted = name.casefold()
    try:
        for candidate in directory.iterdir():
            if candidate.name.casefold() == wanted and candidate.is_file():
                return candidate
    except OSError:
        return None
    return None


@dataclass
class _Presentation:
    line: int
    cip13: str
    cip7: str
    label: str
    status: str
    marketing: str
    rate: str


def import_bdpm(
    directory: str | PathLike[str],
    index: TerminologyIndex,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> ImportReport:
    """Replace the specialities (CIS) and presentations (CIP) with the BDPM in ``directory``.

    ``CIS_bdpm.txt`` is required; the presentations, compositions (substances)
    and ATC codes (``CIS_MITM.txt``) are added when their files are present.
    """
    folder = Path(directory)
    source = "BDPM (ANSM)"
    if not folder.is_dir():
        raise TerminologyImportError(source, "missing", folder.name)
    specialities = _find(folder, BDPM_SPECIALITIES)
    if specialities is None:
        raise TerminologyImportError(source, "missing", BDPM_SPECIALITIES)
    presentations_file = _find(folder, BDPM_PRESENTATIONS)
    compositions_file = _find(folder, BDPM_COMPOSITIONS)
    atc_file = _find(folder, BDPM_ATC)
    missing = tuple(
        name
        for name, found in (
            (BDPM_PRESENTATIONS, presentations_file),
            (BDPM_COMPOSITIONS, compositions_file),
            (BDPM_ATC, atc_file),
        )
        if found is None
    )
    run = _Run(
        source,
        _size(specialities, presentations_file, compositions_file, atc_file),
        progress,
        cancelled,
    )
    substances = _read_compositions(run, compositions_file) if compositions_file else {}
    atc_codes = _read_atc_per_cis(run, atc_file) if atc_file else {}
    presentations = _read_presentations(run, presentations_file) if presentations_file else {}

    with index.replacing({System.CIS, System.CIP, System.SUBSTANCE}, source) as writer:
        single: dict[str, set[str]] = {}  # substance -> ATC codes of its one-substance drugs
        for number, line in run.lines(specialities):
            fields = line.split("\t")
            if len(fields) < 7:
                run.skip(specialities.name, number, "wrong number of columns")
                continue
            cis = fields[0].strip()
            name = fields[1].strip()
            if not is_valid_code(System.CIS, cis) or not name:
                run.skip(specialities.name, number, "invalid CIS code or empty name")
                continue
            field_at = _getter(fields)
            names, salts = substances.get(cis, ([], []))
            cips = presentations.pop(cis, [])
            extra: dict[str, Any] = {
                "form": field_at(2),
                "routes": unique(route.strip() for route in field_at(3).split(";")),
                "authorisation": field_at(4),
                "procedure": field_at(5),
                "marketing": field_at(6),
                "marketed": field_at(6) == "Commercialisée",
                "substances": names,
            }
            if [salt for salt in salts if salt not in names]:
                extra["substances_salts"] = [salt for salt in salts if salt not in names]
            if field_at(8):
                extra["bdm_status"] = field_at(8)
            holders = unique(holder.strip() for holder in field_at(10).split(";"))
            if holders:
                extra["holders"] = holders
            if field_at(11):
                extra["enhanced_monitoring"] = field_at(11).casefold() == "oui"
            if cis in atc_codes:
                extra["atc"] = atc_codes[cis]
                if len(names) == 1 and len(atc_codes[cis]) == 7:
                    single.setdefault(names[0], set()).add(atc_codes[cis])
            if cips:
                extra["cip13"] = [presentation.cip13 for presentation in cips]
            aliases = [value for p in cips for value in (p.cip13, p.cip7) if value]
            if not writer.add(make_row(System.CIS, cis, name, extra, aliases)):
                run.skip(specialities.name, number, "duplicate code")
                continue
            run.valid += 1
            for presentation in cips:
                cip_extra: dict[str, Any] = {
                    "cis": cis,
                    "presentation": presentation.label,
                    "status": presentation.status,
                    "marketing": presentation.marketing,
                    "marketed": presentation.status == "Présentation active"
                    and presentation.marketing.startswith("Déclaration de commercialisation"),
                }
                if presentation.cip7:
                    cip_extra["cip7"] = presentation.cip7
                if presentation.rate:
                    cip_extra["reimbursement_rate"] = presentation.rate
                display = f"{name}, {presentation.label}" if presentation.label else name
                cip_aliases = [presentation.cip7] if presentation.cip7 else []
                writer.add(
                    make_row(System.CIP, presentation.cip13, display, cip_extra, cip_aliases)
                )
        _write_substances(writer, single)
        if presentations_file is not None:
            for orphans in presentations.values():
                for orphan in orphans:
                    run.valid -= 1
                    run.skip(presentations_file.name, orphan.line, "presentation of an unknown CIS")
        writer.skipped = run.skipped
        run.check(writer.count(System.CIS))
        return run.report(writer, missing)


_SALT_WORDS = re.compile(r"\s+(BASE|ANHYDRE|HYDRATEE?|MONOHYDRATEE?)$")


def _substance_name(name: str) -> str:
    """« METFORMINE BASE » is metformine: the moiety's name without its base/hydrate word."""
    return _SALT_WORDS.sub("", name.strip())


def _write_substances(writer: IndexWriter, single: dict[str, set[str]]) -> None:
    """Substances (DCI) by their ATC code: a substance is named by its French BDPM name
    when every single-substance drug holding it has the same level-5 ATC code."""
    by_code: dict[str, list[str]] = {}
    for name, codes in single.items():
        if len(codes) == 1:
            by_code.setdefault(next(iter(codes)), []).append(name)
    for code, names in sorted(by_code.items()):
        names.sort(key=lambda name: len(_substance_name(name)))
        words = _substance_name(names[0]).lower().split(" ")
        shown = " ".join(w.upper() if len(w) == 1 else w for w in words)
        shown = shown[:1].upper() + shown[1:]
        extra: dict[str, Any] = {"source": "BDPM (CIS_COMPO + CIS_MITM)"}
        if len(names) > 1:
            extra["other_names"] = names[1:]
        writer.add(make_row(System.SUBSTANCE, code, shown, extra))


def _getter(fields: list[str]) -> Callable[[int], str]:
    def field_at(position: int) -> str:
        return fields[position].strip() if position < len(fields) else ""

    return field_at


def _read_compositions(run: _Run, path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """CIS -> (active substances, salt forms), in file order.

    Per link number the therapeutic fraction (FT) names the active moiety
    (``METFORMINE``) when the substance (SA) is a salt (``CHLORHYDRATE DE
    METFORMINE``); the FT is shown, both are searchable.
    """
    per_cis: dict[str, dict[str, dict[str, str]]] = {}
    for number, line in run.lines(path):
        fields = line.split("\t")
        if len(fields) < 7:
            run.skip(path.name, number, "wrong number of columns")
            continue
        cis = fields[0].strip()
        name = fields[3].strip()
        nature = fields[6].strip().upper()
        link = fields[7].strip() if len(fields) > 7 else ""
        if not is_valid_code(System.CIS, cis) or not name or nature not in ("SA", "FT"):
            run.skip(path.name, number, "invalid composition line")
            continue
        run.valid += 1
        per_cis.setdefault(cis, {}).setdefault(link or name, {}).setdefault(nature, name)
    result: dict[str, tuple[list[str], list[str]]] = {}
    for cis, links in per_cis.items():
        shown = unique(parts.get("FT") or parts.get("SA", "") for parts in links.values())
        salts = unique(parts["SA"] for parts in links.values() if "FT" in parts and "SA" in parts)
        result[cis] = (shown, salts)
    return result


def _read_atc_per_cis(run: _Run, path: Path) -> dict[str, str]:
    result: dict[str, str] = {}
    for number, line in run.lines(path):
        fields = line.split("\t")
        if len(fields) < 2:
            run.skip(path.name, number, "wrong number of columns")
            continue
        cis = fields[0].strip()
        atc = canonical_code(System.ATC, fields[1])
        if not is_valid_code(System.CIS, cis) or not is_valid_code(System.ATC, atc):
            run.skip(path.name, number, "invalid CIS or ATC code")
            continue
        run.valid += 1
        result.setdefault(cis, atc)
    return result


def _read_presentations(run: _Run, path: Path) -> dict[str, list[_Presentation]]:
    result: dict[str, list[_Presentation]] = {}
    for number, line in run.lines(path):
        fields = line.split("\t")
        if len(fields) < 7:
            run.skip(path.name, number, "wrong number of columns")
            continue
        field_at = _getter(fields)
        cis = field_at(0)
        cip7 = field_at(1)
        cip13 = field_at(6)
        if (
            not is_valid_code(System.CIS, cis)
            or len(cip13) != 13
            or not cip13.isdigit()
            or (cip7 and (len(cip7) != 7 or not cip7.isdigit()))
        ):
            run.skip(path.name, number, "invalid CIS or CIP code")
            continue
        run.valid += 1
        result.setdefault(cis, []).append(
            _Presentation(
                line=number,
                cip13=cip13,
                cip7=cip7,
                label=" ".join(field_at(2).split()),
                status=field_at(3),
                marketing=field_at(4),
                rate=field_at(8),
            )
        )
    return result


# --- ATC --------------------------------------------------------------------
def import_atc(
    path: str | PathLike[str],
    index: TerminologyIndex,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> ImportReport:
    """Replace the ATC classification with the WHO ATC/DDD CSV in ``path``.

    Labels are the WHO's, in English. Licence: non-commercial (see
    docs/terminology.md); the application never ships this file, the
    practice imports it if its own use is allowed.
    """
    file = Path(path)
    source = f"ATC ({file.name})"
    if not file.is_file():
        raise TerminologyImportError(source, "missing", file.name)
    run = _Run(source, _size(file), progress, cancelled)
    labels: dict[str, str] = {}
    ddds: dict[str, list[dict[str, str]]] = {}
    records = csv.reader(text for _, text in run.lines(file))
    first = True
    for fields in _safe_csv(records, run, file):
        if first:
            first = False
            if fields and fields[0].strip().lower() == "atc_code":
                continue
        if len(fields) < 2:
            run.skip(file.name, run.lines_read, "wrong number of columns")
            continue
        code = canonical_code(System.ATC, fields[0])
        label = fields[1].strip()
        if not is_valid_code(System.ATC, code) or not label:
            run.skip(file.name, run.lines_read, "invalid ATC code or empty label")
            continue
        if code not in labels:
            labels[code] = label
            run.valid += 1
        ddd = _ddd(fields)
        if ddd:
            ddds.setdefault(code, []).append(ddd)
    with index.replacing({System.ATC}, source) as writer:
        for code, label in labels.items():
            extra: dict[str, Any] = {"level": _atc_level(code)}
            if code in ddds:
                extra["ddd"] = ddds[code]
            writer.add(make_row(System.ATC, code, label, extra))
        writer.skipped = run.skipped
        run.check(writer.count(System.ATC))
        return run.report(writer)


def _ddd(fields: list[str]) -> dict[str, str]:
    names = ("value", "unit", "route", "note")
    values = [value.strip() for value in fields[2:6]]
    return {
        name: value for name, value in zip(names, values, strict=False) if value and value != "NA"
    }


def _atc_level(code: str) -> int:
    return {1: 1, 3: 2, 4: 3, 5: 4, 7: 5}.get(len(code), 5)


# --- CCAM -------------------------------------------------------------------
_CCAM_LINE = re.compile(r"^\s*\"?([A-Za-z]{4}\d{3})\"?\s*[;,\t|]\s*(.+?)\s*$")


def import_ccam(
    path: str | PathLike[str],
    index: TerminologyIndex,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> ImportReport:
    """Replace the CCAM with the list in ``path``: one act per line, code then label.

    The Assurance Maladie publishes the CCAM as a spreadsheet (ameli,
    « Téléchargement de la CCAM ») and the ATIH as « CCAM descriptive à usage
    PMSI »: saved as CSV (``;`` or ``,``) or text with tabs, the first two
    columns are the code (``DDAF004``) and the label. Header lines, and lines
    whose first column is not a code (chapters, notes), are skipped and counted.
    """
    file = Path(path)
    source = f"CCAM ({file.name})"
    if not file.is_file():
        raise TerminologyImportError(source, "missing", file.name)
    run = _Run(source, _size(file), progress, cancelled)
    with index.replacing({System.CCAM}, source) as writer:
        for number, line in run.lines(file):
            match = _CCAM_LINE.match(line)
            if match is None:
                run.skip(file.name, number, "not an act line")
                continue
            code = match.group(1).upper()
            label = match.group(2).strip().strip('"').split(";")[0].split("\t")[0].strip()
            if not label:
                run.skip(file.name, number, "empty label")
                continue
            if writer.add(make_row(System.CCAM, code, label, {})):
                run.valid += 1
            else:
                run.skip(file.name, number, "duplicate code")
        writer.skipped = run.skipped
        run.check(writer.count(System.CCAM))
        return run.report(writer)
