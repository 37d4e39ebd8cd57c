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


def test_a_key_file_made_meanwhile_by_another_process_is_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes open their first store at once: the one that loses the race uses the
    winner's key, never its own (what it wrote could not be read again)."""
    import base64

    from dmp_desktop.storage import secure

    monkeypatch.setattr(secure, "_keyring_usable", lambda: False)
    theirs = bytes(range(32))
    real_link = os.link

    def another_process_first(src: str, dst: str) -> None:
        Path(dst).write_bytes(base64.b64encode(theirs))  # the other process's whole file
        real_link(src, dst)

    monkeypatch.setattr(secure.os, "link", another_process_first)
    assert load_or_create_key(tmp_path) == theirs
    assert [p.name for p in tmp_path.iterdir()] == ["local-storage.key"]  # no leftover


def test_threads_asking_at_once_get_one_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's workers open their stores at once at login: one key in the keyring."""
    import threading
    import time

    from keyring.backend import KeyringBackend

    class SlowKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.values: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            value = self.values.get((service, username))
            time.sleep(0.01)  # every thread reads « no key yet » without the lock
            return value

        def set_password(self, service: str, username: str, password: str) -> None:
            self.values[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.values.pop((service, username), None)

    import keyring

    backend = SlowKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    monkeypatch.setattr(keyring, "get_password", backend.get_password)
    monkeypatch.setattr(keyring, "set_password", backend.set_password)
    start = threading.Barrier(6)
    keys: list[bytes] = []

    def open_store() -> None:
        start.wait()
        keys.append(load_or_create_key(None))

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 6 and len(set(keys)) == 1
