"""How one concept becomes an index row: searchable terms, rank weight, flags.

Importers and the starter set both go through :func:`make_row`, so a concept
is found the same way whichever source it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from dmp_desktop.terminology.abbreviations import synonyms_for
from dmp_desktop.terminology.model import System
from dmp_desktop.terminology.normalize import fold, index_terms

STARTER_RESOURCE = ("resources", "terminology", "starter.json")

# Rank weights: lower comes first among entries that match equally well.
WEIGHT_PREFERRED = 10
WEIGHT_EXTENSION = 20
WEIGHT_HEADING = 30
WEIGHT_INACTIVE = 40
WEIGHT_RETIRED = 100

_ATIH_MARKER = re.compile(r"^\s*\*{3}\s*(?P<marker>[A-Z]{2}\d{2})\s*\*{3}\s*")


@dataclass(frozen=True)
class Row:
    """A concept ready to be written: what is shown, what is searched, how it ranks."""

    system: System
    code: str
    display: str
    folded: str
    terms: str
    weight: int
    common: bool
    extra: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def extra_json(self) -> str:
        return json.dumps(self.extra, ensure_ascii=False, separators=(",", ":"))


def split_atih_marker(label: str) -> tuple[str, str | None]:
    """``*** SU19 *** Label`` -> (``Label``, ``SU19``); labels without marker unchanged."""
    match = _ATIH_MARKER.match(label)
    if match is None:
        return label, None
    return label[match.end() :], match.group("marker")


@cache
def _starter_codes() -> dict[str, frozenset[str]]:
    """Codes of the starter set, per system value: they are the common ones."""
    try:
        ref = resources.files("dmp_desktop").joinpath(*STARTER_RESOURCE)
        data = json.loads(ref.read_bytes())
        systems = data["concepts"]
        return {
            name: frozenset(str(item["code"]) for item in items) for name, items in systems.items()
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def common_codes(system: System) -> frozenset[str]:
    """Codes a general practitioner uses often (those of the starter set)."""
    return _starter_codes().get(system.value, frozenset())


@cache
def _synonyms(system: System) -> dict[str, list[str]]:
    return synonyms_for(system)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):
                yield item


def make_row(
    system: System,
    code: str,
    display: str,
    extra: Mapping[str, Any] | None = None,
    aliases: Iterable[str] = (),
) -> Row:
    """The index row for a concept (``code`` canonical, ``display`` as shown)."""
    info: dict[str, Any] = dict(extra or {})
    texts: list[str] = [display]
    if system is System.CIM10:
        texts.extend(_strings(info.get("short_label")))
        texts.append(code)
        texts.extend(_synonyms(system).get(code, ()))
        if info.get("atih_marker"):
            weight = WEIGHT_RETIRED
        elif len(code) <= 4:
            weight = WEIGHT_HEADING if info.get("heading") else WEIGHT_PREFERRED
        else:
            weight = WEIGHT_EXTENSION
    elif system is System.CIS:
        texts.extend(_strings(info.get("substances")))
        texts.extend(_strings(info.get("substances_salts")))
        active = info.get("authorisation") == "Autorisation active"
        marketed = bool(info.get("marketed"))
        weight = (
            WEIGHT_PREFERRED
            if active and marketed
            else WEIGHT_EXTENSION
            if active
            else WEIGHT_INACTIVE
        )
    elif system is System.CIP:
        marketed = bool(info.get("marketed"))
        weight = WEIGHT_PREFERRED if marketed else WEIGHT_INACTIVE
    elif system is System.ATC:
        texts.append(code)
        texts.extend(_strings(info.get("synonyms")))
        level = {1: 1, 3: 2, 4: 3, 5: 4, 7: 5}.get(len(code), 5)
        weight = WEIGHT_PREFERRED + 5 * (5 - level)
    else:
        texts.extend(_strings(info.get("synonyms")))
        texts.extend(_strings(info.get("other_names")))  # substances: other BDPM names
        texts.extend(_strings(info.get("words")))  # allergy classes: the words that find them
        weight = WEIGHT_PREFERRED
    return Row(
        system=system,
        code=code,
        display=display,
        folded=fold(display),
        terms=index_terms(*texts),
        weight=weight,
        common=code in common_codes(system),
        extra=info,
        aliases=tuple(aliases),
    )
