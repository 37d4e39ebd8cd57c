"""Encrypted local files: round trip, tampering, atomicity, key handling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dmp_desktop.errors import describe
from dmp_desktop.storage.secure import (
    CorruptFileError,
    KeyUnavailableError,
    SecureStore,
    atomic_write,
    load_or_create_key,
)


def test_round_trip_and_nothing_in_clear(tmp_path: Path) -> None:
    store = SecureStore(tmp_path, os.urandom(32))
    store.write_json("draft-1", {"patient": "MOREAU Léa", "text": "diabète"})
    assert store.read_json("draft-1") == {"patient": "MOREAU Léa", "text": "diabète"}
    raw = (tmp_path / "draft-1.enc").read_bytes()
    assert b"MOREAU" not in raw and "diabète".encode() not in raw
    assert oct((tmp_path / "draft-1.enc").stat().st_mode & 0o777) == "0o600"
    assert list(store.names()) == ["draft-1"]


def test_tampered_or_renamed_file_is_refused(tmp_path: Path) -> None:
    store = SecureStore(tmp_path, os.urandom(32))
    store.write_bytes("a", b"secret")
    blob = bytearray((tmp_path / "a.enc").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "a.enc").write_bytes(bytes(blob))
    with pytest.raises(CorruptFileError):
        store.read_bytes("a")
    store.write_bytes("b", b"secret")
    os.replace(tmp_path / "b.enc", tmp_path / "c.enc")  # bound to its name
    with pytest.raises(CorruptFileError) as err:
        store.read_bytes("c")
    assert "illisible" in describe(err.value)


def test_wrong_key_is_refused(tmp_path: Path) -> None:
    SecureStore(tmp_path, os.urandom(32)).write_bytes("a", b"x")
    with pytest.raises(CorruptFileError):
        SecureStore(tmp_path, os.urandom(32)).read_bytes("a")


def test_names_are_checked(tmp_path: Path) -> None:
    store = SecureStore(tmp_path, os.urandom(32))
    for bad in ("../x", "", ".hidden", "a/b"):
        with pytest.raises(ValueError):
            store.write_bytes(bad, b"x")
    assert store.read_bytes("missing") is None


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f"
    atomic_write(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]  # no temporary left behind


def test_training_fallback_key_file_without_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmp_desktop.storage import secure

    monkeypatch.setattr(secure, "_keyring_usable", lambda: False)
    # Without a keyring, training mode uses a 0600 key file...
    key = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == key
    assert oct((tmp_path / "local-storage.key").stat().st_mode & 0o777) == "0o600"
    # ...and outside training mode the store refuses rather than keep the key in clear.
    with pytest.raises(KeyUnavailableError):
        load_or_create_key(None)
