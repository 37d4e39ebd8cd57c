"""Local state encrypted at rest (drafts, outbox, last-seen state): see :mod:`.secure`."""

from dmp_desktop.storage.secure import KeyUnavailableError, SecureStore, atomic_write

__all__ = ["KeyUnavailableError", "SecureStore", "atomic_write"]
