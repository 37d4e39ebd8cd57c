"""The "last seen" state: per professional and patient, encrypted, with names that reveal nobody."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.storage.last_seen import LastSeen, LastSeenStore
from dmp_desktop.storage.secure import CorruptFileError, SecureStore

INS = Ins("207058575627097", InsKind.TEST_NIR)
OTHER = Ins("182116938311206", InsKind.TEST_NIR)
DURAND = "899700433153"
MARTIN = "899700433160"


def store(path: Path, key: bytes | None = None) -> LastSeenStore:
    return LastSeenStore(SecureStore(path, key or os.urandom(32)))


def test_first_consultation_then_round_trip(tmp_path: Path) -> None:
    seen = store(tmp_path)
    assert seen.load(DURAND, INS) is None
    when = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    state = seen.record(DURAND, INS, ["1.2.3.1", "1.2.3.2"], when)
    assert state == LastSeen(frozenset({"1.2.3.1", "1.2.3.2"}), when)
    assert seen.load(DURAND, INS) == state
    # Recording adds, never forgets.
    later = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    seen.record(DURAND, INS, ["1.2.3.3"], later)
    loaded = seen.load(DURAND, INS)
    assert loaded is not None
    assert loaded.unique_ids == {"1.2.3.1", "1.2.3.2", "1.2.3.3"}
    assert loaded.at == later
    assert loaded.new_among(["1.2.3.3", "1.2.3.4"]) == {"1.2.3.4"}


def test_each_professional_and_patient_apart(tmp_path: Path) -> None:
    seen = store(tmp_path)
    seen.record(DURAND, INS, ["a"])
    seen.record(MARTIN, INS, ["b"])
    seen.record(DURAND, OTHER, ["c"])
    assert seen.load(DURAND, INS).unique_ids == {"a"}  # type: ignore[union-attr]
    assert seen.load(MARTIN, INS).unique_ids == {"b"}  # type: ignore[union-attr]
    assert seen.load(DURAND, OTHER).unique_ids == {"c"}  # type: ignore[union-attr]
    assert seen.load(MARTIN, OTHER) is None


def test_files_reveal_neither_patient_nor_professional(tmp_path: Path) -> None:
    key = os.urandom(32)
    seen = store(tmp_path, key)
    seen.record(DURAND, INS, ["1.2.250.1.999.1.1"])
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 2  # the HMAC key and one state file
    for name in names:
        for secret in (INS.value, INS.value[:13], DURAND, DURAND[1:]):
            assert secret not in name
    for path in tmp_path.iterdir():
        blob = path.read_bytes()
        for secret in (INS.value, DURAND, "1.2.250.1.999.1.1"):
            assert secret.encode() not in blob
    # The name is a keyed hash: another installation (another key) names it otherwise,
    # and the same one finds it again.
    other = store(tmp_path / "other")
    assert other.name_for(DURAND, INS) != seen.name_for(DURAND, INS)
    again = store(tmp_path, key)
    assert again.name_for(DURAND, INS) == seen.name_for(DURAND, INS)
    assert again.load(DURAND, INS) is not None


def test_a_different_store_key_cannot_read_the_state(tmp_path: Path) -> None:
    store(tmp_path).record(DURAND, INS, ["a"])
    with pytest.raises(CorruptFileError):
        store(tmp_path).load(DURAND, INS)


def test_unexpected_content_is_ignored(tmp_path: Path) -> None:
    secure = SecureStore(tmp_path, os.urandom(32))
    seen = LastSeenStore(secure)
    name = seen.name_for(DURAND, INS)
    secure.write_json(name, {"v": 99, "ids": ["a"]})
    assert seen.load(DURAND, INS) is None
    secure.write_json(name, {"v": 1, "ids": "not a list"})
    assert seen.load(DURAND, INS) is None
    secure.write_json(name, {"v": 1, "ids": ["a"], "at": "not a date"})
    assert seen.load(DURAND, INS) == LastSeen(frozenset({"a"}), None)


def test_forget(tmp_path: Path) -> None:
    seen = store(tmp_path)
    seen.record(DURAND, INS, ["a"])
    seen.forget(DURAND, INS)
    assert seen.load(DURAND, INS) is None
