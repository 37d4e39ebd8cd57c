"""The index file: creation, unusable files, thread-safe reads, transactional writes."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dmp_desktop.errors import DmpDesktopError, describe
from dmp_desktop.terminology import (
    System,
    TerminologyError,
    TerminologyImportError,
    TerminologyIndex,
    TerminologyIndexError,
    import_cim10,
)
from dmp_desktop.terminology.rows import make_row


def _atih(path: Path, count: int, label: str) -> Path:
    lines = [
        f"A{number:02d}   |0|NOOO|0|{label.upper()}|{label} {number}" for number in range(count)
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return path


def test_creates_folder_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "terminology.sqlite"
    with TerminologyIndex(path) as index:
        assert index.path == path
        import_cim10(_atih(tmp_path / "cim.txt", 10, "Fièvre"), index)
    with TerminologyIndex(path) as index:
        assert index.count(System.CIM10) == 10
        assert index.search("fievre 7", System.CIM10)[0].code == "A07"


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "terminology.sqlite"
    path.write_bytes(b"this is not an SQLite file" * 100)
    with pytest.raises(TerminologyIndexError) as error:
        TerminologyIndex(path)
    assert error.value.reason == "corrupt"
    assert isinstance(error.value, TerminologyError)
    assert isinstance(error.value, DmpDesktopError)
    assert describe(error.value)  # the generic French message until a specific one exists


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "terminology.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(TerminologyIndexError) as error:
        TerminologyIndex(path)
    assert error.value.reason == "newer-schema"


def test_closed_index(tmp_path: Path) -> None:
    index = TerminologyIndex(tmp_path / "t.sqlite")
    index.search("x", System.CIM10)
    index.close()
    with pytest.raises(TerminologyIndexError) as error:
        index.search("x", System.CIM10)
    assert error.value.reason == "closed"
    with pytest.raises(TerminologyIndexError):
        import_cim10(_atih(tmp_path / "cim.txt", 3, "Toux"), index)


def test_replacing_rolls_back_on_error(tmp_path: Path) -> None:
    with TerminologyIndex(tmp_path / "t.sqlite") as index:
        with index.replacing({System.CCAM}, "test") as writer:
            writer.add(
                make_row(System.CCAM, "DEQP003", "Électrocardiographie sur au moins 12 dérivations")
            )
        assert index.count(System.CCAM) == 1
        with pytest.raises(RuntimeError), index.replacing({System.CCAM}, "test") as writer:
            writer.add(make_row(System.CCAM, "YYYY001", "Autre acte"))
            raise RuntimeError("interrupted")
        assert index.count(System.CCAM) == 1
        assert index.search("electrocardio", System.CCAM)[0].code == "DEQP003"
        assert index.search("DEQP", System.CCAM)[0].code == "DEQP003"
        with pytest.raises(ValueError), index.replacing({System.CCAM}, "test") as writer:
            writer.add(make_row(System.ATC, "A", "ALIMENTARY TRACT AND METABOLISM"))
        assert index.count(System.ATC) == 0


def test_imports_leave_other_systems_alone(tmp_path: Path) -> None:
    with TerminologyIndex.with_starter_set(tmp_path / "t.sqlite") as index:
        drugs = index.count(System.CIS)
        import_cim10(_atih(tmp_path / "cim.txt", 20, "Angine"), index)
        assert index.count(System.CIM10) == 20
        assert index.count(System.CIS) == drugs
        assert index.search("dolip", System.CIS)
        assert index.search("hta", System.CIM10) == []  # the starter CIM-10 was replaced
        origins = {source.system: source.origin for source in index.sources()}
        assert origins[System.CIM10] == "CIM-10 (cim.txt)"
        assert origins[System.CIS] == "starter set"


def test_reads_from_many_threads_during_an_import(tmp_path: Path) -> None:
    with TerminologyIndex(tmp_path / "t.sqlite") as index:
        import_cim10(_atih(tmp_path / "old.txt", 50, "Ancien"), index)
        new_file = _atih(tmp_path / "new.txt", 80, "Nouveau")
        failed_file = tmp_path / "failed.txt"
        failed_file.write_text("no\nvalid\nline\n", encoding="utf-8")
        stop = threading.Event()
        seen_counts: set[int] = set()

        def reader() -> int:
            searches = 0
            while not stop.is_set() or searches < 20:
                old = index.search("ancien", System.CIM10, limit=100)
                new = index.search("nouveau", System.CIM10, limit=100)
                # Each search sees one whole index: never a half-written one.
                assert len(old) in (0, 50)
                assert len(new) in (0, 80)
                seen_counts.add(index.count(System.CIM10))
                searches += 1
            return searches

        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(reader) for _ in range(4)]
            with pytest.raises(TerminologyImportError):
                import_cim10(failed_file, index)
            import_cim10(new_file, index)
            stop.set()
            assert all(future.result() >= 20 for future in futures)
        assert seen_counts <= {50, 80}
        assert index.count(System.CIM10) == 80


def test_two_imports_at_once_are_serialised(tmp_path: Path) -> None:
    with TerminologyIndex(tmp_path / "t.sqlite") as index:
        files = [_atih(tmp_path / f"f{n}.txt", 30 + n, f"Lot{n}") for n in range(4)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            reports = list(pool.map(lambda path: import_cim10(path, index), files))
        assert sorted(report.total for report in reports) == [30, 31, 32, 33]
        assert index.count(System.CIM10) in (30, 31, 32, 33)
