"""The vocabularies installed on this computer, as the coherence checks see them.

:class:`Vocabulary` is what :mod:`dmp_desktop.cda.summary_checks` asks: the
concept of a code, and whether a system holds the full official list (only
then does "not found" mean "does not exist"; the starter set is an extract).

The CLI and the window point :func:`use_index` at the practice's index (the
file the VSM editor searches) once, at start; :func:`installed` then gives
the same vocabulary to every caller, so that building a VSM checks its codes
whichever door it goes through. The index is opened on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from dmp_desktop.terminology.index import TerminologyIndex
from dmp_desktop.terminology.model import Concept, SourceInfo, System
from dmp_desktop.terminology.normalize import canonical_code


class Vocabulary(Protocol):
    def lookup(self, system: System, code: str) -> Concept | None:
        """The concept of ``code`` (any usual spelling), or None."""
        ...

    def is_complete(self, system: System) -> bool:
        """True when ``system`` holds an official list imported in full (not the extract)."""
        ...

    def origin(self, system: System) -> str | None:
        """Where the list comes from (file name and date), for messages."""
        ...


class IndexVocabulary:
    """A :class:`Vocabulary` over a :class:`TerminologyIndex`."""

    def __init__(self, index: TerminologyIndex) -> None:
        self.index = index

    def _source(self, system: System) -> SourceInfo | None:
        # read each time (a few rows): an import in another thread changes it
        for info in self.index.sources():
            if info.system is system:
                return info
        return None

    def lookup(self, system: System, code: str) -> Concept | None:
        if not code:
            return None
        return self.index.get(system, canonical_code(system, code))

    def is_complete(self, system: System) -> bool:
        source = self._source(system)
        return source is not None and not source.starter and source.count > 0

    def origin(self, system: System) -> str | None:
        source = self._source(system)
        if source is None:
            return None
        return f"{source.origin} ({source.imported_at[:10]})"


INDEX_FILE = "terminology.sqlite"


def index_path(data_dir: Path) -> Path:
    """Where the practice's terminology index lives in the application data folder."""
    return Path(data_dir) / INDEX_FILE


_lock = threading.Lock()
_path: Path | None = None
_installed: IndexVocabulary | None = None


def use_index(path: Path | None) -> None:
    """The index every check uses from now on (None: no vocabulary, format checks only)."""
    global _path, _installed
    with _lock:
        if _installed is not None and path != _path:
            _installed.index.close()
            _installed = None
        _path = Path(path) if path is not None else None


def use_installed_in(data_dir: Path) -> bool:
    """Use the application's index in ``data_dir`` if there is one (True), else none."""
    path = index_path(data_dir)
    use_index(path if path.is_file() else None)
    return path.is_file()


def use_vocabulary(vocabulary: IndexVocabulary | None) -> None:
    """Use an already opened vocabulary (the window shares the editor's index)."""
    global _path, _installed
    with _lock:
        _installed = vocabulary
        _path = vocabulary.index.path if vocabulary is not None else None


def installed() -> IndexVocabulary | None:
    """The practice's vocabulary, opened on first use; None when none is configured."""
    global _installed
    with _lock:
        if _installed is None and _path is not None:
            _installed = IndexVocabulary(TerminologyIndex.with_starter_set(_path))
        return _installed
