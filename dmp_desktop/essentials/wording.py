"""How « L'essentiel » words a line: texts compared across documents, quantities as doctors
read them. Standard library only: the window's list imports it at start-up, without the
CDA reader (lxml, the VSM, pydantic) that :mod:`.reading` needs.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal


def normalized(text: str) -> str:
    """A text as compared across documents: no accents, lower case, single spaces."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", folded.lower()).strip()


UNITS_SHOWN = {
    "umol/L": "µmol/L",
    "10*9/L": "G/L",
    "10*12/L": "T/L",
    "mm[Hg]": "mmHg",
    "mL/min/{1.73_m2}": "mL/min/1,73 m²",
    "1": "",
}


def quantity_text(value: Decimal, unit: str) -> str:
    """« 6,9 % », « 72 µmol/L »: French decimal comma, UCUM units as doctors read them."""
    text = format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    text = text.replace(".", ",")
    shown = UNITS_SHOWN.get(unit, unit)
    shown = shown.replace("[iU]", "UI").replace("[IU]", "UI")
    return f"{text} {shown}".strip()


__all__ = ["UNITS_SHOWN", "normalized", "quantity_text"]
