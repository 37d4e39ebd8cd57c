"""Text and code normalisation shared by the importers, the index and the search.

Labels and queries go through the same :func:`fold`: lower case, accents
removed (NFKD, combining marks dropped), ligatures spelled out, elided
articles removed (``l'artère`` -> ``artere``), every other non-alphanumeric
character turned into a space. What is indexed is the set of folded tokens
minus a few French function words; hyphenated compounds are indexed joined
too (``gastro-oesophagien`` also gives ``gastrooesophagien``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from dmp_desktop.terminology.model import System

# Function words that carry nothing in a label search. Single letters are
# kept: "hépatite A", "vitamine D".
STOPWORDS: frozenset[str] = frozenset(
    "au aux dans de des du en et la le les ou par pour sur un une".split()
)

_APOSTROPHES = "'\u2018\u2019\u02bc`\u00b4"
_ELISION = re.compile(rf"\b(?:[cdjlmnst]|qu)[{_APOSTROPHES}]", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_COMPOUND = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
_SPECIAL: dict[str, str] = {
    "œ": "oe",
    "æ": "ae",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "µ": "u",
    "μ": "u",
}


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _accent_table() -> dict[int, str]:
    """NFKD without combining marks, precomputed for Latin letters and common symbols."""
    table: dict[int, str] = {}
    for block in (range(0x80, 0x250), range(0x1E00, 0x1F00), range(0x2000, 0x2200)):
        for point in block:
            char = chr(point)
            stripped = _strip_marks(char)
            if stripped != char:
                table[point] = stripped
    table.update({ord(key): value for key, value in _SPECIAL.items()})
    return table


_ACCENTS = _accent_table()


def _unaccent_lower(text: str) -> str:
    if any(mark in text for mark in _APOSTROPHES):
        text = _ELISION.sub(" ", text)
    text = text.casefold()
    if text.isascii():
        return text
    text = text.translate(_ACCENTS)
    if text.isascii():
        return text
    return _strip_marks(text)


def fold(text: str) -> str:
    """Lower case, no accents, punctuation folded to single spaces."""
    return _NON_ALNUM.sub(" ", _unaccent_lower(text)).strip()


def tokens(text: str) -> list[str]:
    """The folded words of ``text``, in order (function words included)."""
    return fold(text).split()


def index_terms(*texts: str) -> str:
    """The text given to the full-text index for these labels: unique tokens."""
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        base = _unaccent_lower(text)
        if "-" in base:
            for compound in _COMPOUND.findall(base):
                seen[compound.replace("-", "")] = None
        for token in _NON_ALNUM.split(base):
            if token and token not in STOPWORDS:
                seen[token] = None
    return " ".join(seen)


def query_tokens(query: str) -> list[str]:
    """The tokens a query searches for.

    Function words are dropped, except when the query is nothing else (the
    doctor may be typing ``de`` on the way to ``dermatose``).
    """
    words = tokens(query)
    kept = [word for word in words if word not in STOPWORDS]
    return kept if kept else words


# --- codes ------------------------------------------------------------------
_CODE_SEPARATORS = re.compile(r"[\s.\-_/]+")
_CIM10_CODE = re.compile(r"[A-Z][0-9]{2}[0-9+]{0,4}")
_CIM10_CODE_PREFIX = re.compile(r"[A-Z][0-9]{1,2}[0-9+]{0,4}")
_ATC_CODE = re.compile(r"[A-Z](?:[0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?)?")
_ATC_CODE_PREFIX = re.compile(r"[A-Z][0-9]{1,2}(?:[A-Z]{1,2}[0-9]{0,2})?")
_CCAM_CODE = re.compile(r"[A-Z]{4}[0-9]{3}")
_CCAM_CODE_PREFIX = re.compile(r"[A-Z]{4}[0-9]{0,3}")
_DIGITS = re.compile(r"[0-9]+")


def canonical_code(system: System, raw: str) -> str:
    """The stored form of a code: ``e11.9``, ``E11 9`` and ``E119`` give ``E119``.

    Numeric systems (CIS, CIP, SNOMED CT) only lose their spaces.
    """
    if system in (System.CIS, System.CIP, System.SNOMED_ALLERGY):
        return "".join(raw.split())
    return _CODE_SEPARATORS.sub("", raw).upper()


def is_valid_code(system: System, code: str) -> bool:
    """Whether ``code`` (canonical) has the shape of a code of ``system``."""
    if system is System.CIM10:
        return _CIM10_CODE.fullmatch(code) is not None
    if system is System.CIS:
        return len(code) == 8 and _DIGITS.fullmatch(code) is not None
    if system is System.CIP:
        return len(code) in (7, 13) and _DIGITS.fullmatch(code) is not None
    if system in (System.ATC, System.SUBSTANCE, System.ALLERGY_CLASS):
        return _ATC_CODE.fullmatch(code) is not None
    if system is System.CCAM:
        return _CCAM_CODE.fullmatch(code) is not None
    if system is System.SNOMED_ALLERGY:
        return bool(code) and len(code) <= 40 and "\n" not in code
    return False


def looks_like_code_prefix(system: System, code: str) -> bool:
    """Whether a canonical query is worth a code-prefix search in ``system``."""
    if system is System.CIM10:
        return _CIM10_CODE_PREFIX.fullmatch(code) is not None
    if system in (System.ATC, System.SUBSTANCE, System.ALLERGY_CLASS):
        return _ATC_CODE_PREFIX.fullmatch(code) is not None
    if system is System.CCAM:
        return _CCAM_CODE_PREFIX.fullmatch(code) is not None and len(code) >= 4
    if system in (System.CIS, System.CIP, System.SNOMED_ALLERGY):
        return len(code) >= 3 and _DIGITS.fullmatch(code) is not None
    return False


def unique(values: Iterable[str]) -> list[str]:
    """The values in first-seen order, without duplicates or empty strings."""
    return list(dict.fromkeys(value for value in values if value))
