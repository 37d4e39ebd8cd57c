"""Encrypted, crash-safe local files.

Everything the software keeps about patients on disk (drafts, the upload
outbox, the "last seen" state of document lists) goes through
:class:`SecureStore`: AES-256-GCM with a key held in the system keyring,
written atomically (temporary file, fsync, rename, fsync of the folder), so
that a ``kill -9`` or a power cut leaves either the old or the new version,
never a torn file.

The key lives in the system keyring (Secret Service, macOS Keychain, Windows
Credential Locker). Where no keyring exists (a headless training machine),
training mode falls back to a key file readable only by the user; outside
training mode the store refuses to work rather than write health data with a
key lying next to it.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# keyring and cryptography are imported where used: the window imports this module at
# start-up (its services hold stores), and opens a store only once a card is in use.
from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.messages import Msg, coded

log = logging.getLogger(__name__)

KEYRING_SERVICE = "dmp-desktop"
KEYRING_USER = "local-storage-key"
_MAGIC = b"DMPD1"
_NONCE = 12


class KeyUnavailableError(DmpDesktopError):
    """No keyring to hold the local encryption key (outside training mode)."""

    message_id = "storage.key_unavailable"


class CorruptFileError(DmpDesktopError):
    """A local file could not be decrypted (wrong key, tampering, truncation)."""

    message_id = "storage.corrupt"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class LocalWriteError(DmpDesktopError):
    """A local file could not be written; ``reason``: ``full``, ``denied`` or ``failed``.

    Nothing was replaced: the previous version of the file, if any, is intact.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def message(self) -> Msg:
        return coded("storage.write", self.reason, "storage.write.failed")

    @classmethod
    def from_os_error(cls, exc: OSError) -> LocalWriteError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return cls("full")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return cls("denied")
        return cls("failed")


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _keyring_usable() -> bool:
    import keyring

    backend = keyring.get_keyring()
    return not backend.__class__.__module__.startswith("keyring.backends.fail")


# Several workers (and the ``dmp`` command beside the window) open stores at once on first
# use: one key must come out, or what was written with a key that lost the race can never be
# read again (CorruptFileError).
_KEY_LOCK = threading.Lock()


def load_or_create_key(fallback_dir: Path | None) -> bytes:
    """The 256-bit local key: from the keyring, created on first use (once, whatever the
    threads asking at the same time).

    ``fallback_dir`` (training mode only) holds a 0600 key file when the
    machine has no keyring.
    """
    with _KEY_LOCK:
        return _load_or_create_key(fallback_dir)


def _load_or_create_key(fallback_dir: Path | None) -> bytes:
    import keyring
    import keyring.errors
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if _keyring_usable():
        try:
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
            if stored:
                return base64.b64decode(stored)
            key = AESGCM.generate_key(bit_length=256)
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, base64.b64encode(key).decode())
            return key
        except keyring.errors.KeyringError as exc:
            if fallback_dir is None:
                raise KeyUnavailableError() from exc
            log.warning("keyring unusable (%s): training key file used", type(exc).__name__)
    if fallback_dir is None:
        raise KeyUnavailableError()
    return _key_file(fallback_dir / "local-storage.key")


def _key_file(key_file: Path) -> bytes:
    """The training key file's key, created once: the file appears whole (a hard link to a
    written temporary file), and a process that loses the race reads the winner's key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{key_file.name}.", dir=key_file.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, key_file)  # fails if another made it first: theirs is the key
            except FileExistsError:
                pass
            except OSError:  # no hard links on this file system: the plain way
                os.replace(tmp, key_file)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return base64.b64decode(key_file.read_bytes())


class SecureStore:
    """A folder of small encrypted documents, addressed by name (``[A-Za-z0-9._-]+``)."""

    def __init__(self, directory: Path, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256 key expected")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.directory = Path(directory)
        self._aead = AESGCM(key)

    @classmethod
    def open(cls, directory: Path, *, training_mode: bool) -> SecureStore:
        fallback = Path(directory) if training_mode else None
        return cls(directory, load_or_create_key(fallback))

    def _path(self, name: str) -> Path:
        if not name or not all(c.isalnum() or c in "._-" for c in name) or name.startswith("."):
            raise ValueError("invalid storage name")
        return self.directory / f"{name}.enc"

    def write_bytes(self, name: str, data: bytes) -> None:
        nonce = secrets.token_bytes(_NONCE)
        blob = _MAGIC + nonce + self._aead.encrypt(nonce, data, name.encode())
        try:
            atomic_write(self._path(name), blob)
        except OSError as exc:  # disk full, read-only, no permission: say which, keep the old
            raise LocalWriteError.from_os_error(exc) from None

    def read_bytes(self, name: str) -> bytes | None:
        path = self._path(name)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _NONCE + 16:
            raise CorruptFileError(name)
        nonce = blob[len(_MAGIC) : len(_MAGIC) + _NONCE]
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(nonce, blob[len(_MAGIC) + _NONCE :], name.encode())
        except InvalidTag:
            raise CorruptFileError(name) from None

    def write_json(self, name: str, value: Any) -> None:
        self.write_bytes(name, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def read_json(self, name: str) -> Any:
        data = self.read_bytes(name)
        return None if data is None else json.loads(data.decode("utf-8"))

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            pass

    def names(self) -> Iterator[str]:
        if not self.directory.exists():
            return iter(())
        return iter(sorted(p.name[: -len(".enc")] for p in self.directory.glob("*.enc")))
