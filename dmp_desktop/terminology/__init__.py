"""Terminologies for the VSM editor: CIM-10, drugs (BDPM: CIS/CIP), ATC, SNOMED CT allergy types.

Plain Python (no Qt). Typical use::

    index = TerminologyIndex.with_starter_set(data_dir / "terminology.sqlite")
    import_cim10(downloads / "LIBCIM10MULTI.TXT", index)      # optional, in a worker
    index.search("diab", System.CIM10)                       # -> [Concept(...), ...]

See docs/terminology.md.
"""

from dmp_desktop.terminology.abbreviations import ABBREVIATIONS, Abbreviation
from dmp_desktop.terminology.errors import (
    ImportCancelledError,
    TerminologyError,
    TerminologyImportError,
    TerminologyIndexError,
)
from dmp_desktop.terminology.importers import import_atc, import_bdpm, import_ccam, import_cim10
from dmp_desktop.terminology.index import TerminologyIndex
from dmp_desktop.terminology.model import (
    Concept,
    ImportReport,
    SkippedLine,
    SourceInfo,
    System,
    display_code,
)
from dmp_desktop.terminology.normalize import canonical_code, fold
from dmp_desktop.terminology.starter import load_starter_set

__all__ = [
    "ABBREVIATIONS",
    "Abbreviation",
    "Concept",
    "ImportCancelledError",
    "ImportReport",
    "SkippedLine",
    "SourceInfo",
    "System",
    "TerminologyError",
    "TerminologyImportError",
    "TerminologyIndex",
    "TerminologyIndexError",
    "canonical_code",
    "display_code",
    "fold",
    "import_atc",
    "import_bdpm",
    "import_ccam",
    "import_cim10",
    "load_starter_set",
]
