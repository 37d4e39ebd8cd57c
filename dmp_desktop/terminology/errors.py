"""Typed errors of the terminology package.

They carry short reason codes and file names, never prose for the user: the
French wording is in :mod:`dmp_desktop.messages` (``terminology.*``). Reference files
hold no patient data, so naming a file or a line number is safe.
"""

from __future__ import annotations

from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.messages import Msg, coded


class TerminologyError(DmpDesktopError):
    """Base of the terminology errors."""


class TerminologyIndexError(TerminologyError):
    """The index file cannot be used.

    ``reason``: ``"corrupt"`` (not an SQLite database or damaged),
    ``"newer-schema"`` (written by a newer version of the application),
    ``"closed"`` (used after :meth:`TerminologyIndex.close`),
    ``"unwritable"`` (the file or its folder cannot be written).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def message(self) -> Msg:
        return coded("terminology.index", self.reason, "terminology.index.corrupt")


class TerminologyImportError(TerminologyError):
    """An import failed; the index still holds what it held before.

    ``reason``: ``"missing"`` (file or folder not found), ``"unreadable"``
    (I/O error), ``"unrecognised"`` (not the expected format),
    ``"no-valid-rows"``, ``"too-many-errors"`` (more than half the lines
    malformed: probably the wrong file), ``"cancelled"``.
    """

    def __init__(self, source: str, reason: str, detail: str = "") -> None:
        super().__init__(source, reason, detail)
        self.source = source
        self.reason = reason
        self.detail = detail

    def message(self) -> Msg:
        return coded(
            "terminology.import",
            self.reason,
            "terminology.import.unrecognised",
            name=self.detail or self.source,
        )


class ImportCancelledError(TerminologyImportError):
    """The caller asked the import to stop; nothing was changed."""

    def __init__(self, source: str) -> None:
        super().__init__(source, "cancelled")
