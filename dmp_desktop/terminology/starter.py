"""The starter set shipped with the application (``resources/terminology/starter.json``).

About 150 CIM-10 codes common in general practice, 80 common drugs (CIS with
their ATC code) and the SNOMED CT allergy and intolerance types of the VSM,
with their official labels. It lets the demo and a fresh installation search
before the practice imports the full lists; an import replaces it system by
system. Regenerate it with ``python scripts/build_terminology_starter.py``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from dmp_desktop.terminology.errors import TerminologyImportError
from dmp_desktop.terminology.index import TerminologyIndex
from dmp_desktop.terminology.model import System
from dmp_desktop.terminology.normalize import canonical_code, is_valid_code
from dmp_desktop.terminology.rows import STARTER_RESOURCE, make_row

STARTER_FORMAT = 1
_SOURCE = "starter set"


def read_starter_set() -> dict[str, Any]:
    """The parsed starter file."""
    try:
        ref = resources.files("dmp_desktop").joinpath(*STARTER_RESOURCE)
        data = json.loads(ref.read_bytes())
    except (OSError, ValueError) as exc:
        raise TerminologyImportError(_SOURCE, "unreadable", type(exc).__name__) from exc
    if not isinstance(data, dict) or data.get("format") != STARTER_FORMAT:
        raise TerminologyImportError(_SOURCE, "unrecognised")
    return data


def load_starter_set(index: TerminologyIndex, *, only_empty: bool = True) -> list[System]:
    """Load the starter concepts; with ``only_empty``, only into systems with no concept.

    Returns the systems loaded, in one transaction.
    """
    data = read_starter_set()
    concepts = data.get("concepts", {})
    targets: list[System] = []
    for name in concepts:
        try:
            system = System(name)
        except ValueError:
            continue
        if not only_empty or index.count(system) == 0:
            targets.append(system)
    if not targets:
        return []
    with index.replacing(targets, _SOURCE, starter=True) as writer:
        for system in targets:
            for item in concepts[system.value]:
                code = canonical_code(system, str(item.get("code", "")))
                display = str(item.get("display", "")).strip()
                if not is_valid_code(system, code) or not display:
                    writer.skipped += 1
                    continue
                extra = item.get("extra") or {}
                aliases = [str(alias) for alias in item.get("aliases", [])]
                writer.add(make_row(system, code, display, extra, aliases))
    return targets
