"""UCUM units: is a unit well-formed, and how a French doctor says the common ones.

CDA quantities (``PQ``) carry their unit in UCUM (the Unified Code for Units
of Measure, ucum.org). :func:`is_valid` checks a unit against the UCUM
grammar (components joined by ``.`` and ``/``, exponents, parentheses,
annotations ``{...}``, prefixes on metric units only) and a table of the unit
atoms of the UCUM specification that medicine uses. It does not convert
units: that a dose is a mass and a weight in kilograms is checked by the
caller with :func:`dimension`.

The French labels are ours (how doctors write them), not part of UCUM.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Prefixes (UCUM §2.1, table 1): allowed on metric atoms only.
PREFIXES: tuple[str, ...] = (
    "da",  # two letters first, so that "da" wins over "d"
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "Y",
    "Z",
    "E",
    "P",
    "T",
    "G",
    "M",
    "k",
    "h",
    "d",
    "c",
    "m",
    "u",
    "n",
    "p",
    "f",
    "a",
    "z",
    "y",
)

# Metric atoms (prefixes allowed): base units, SI and other metric units of the specification.
METRIC: frozenset[str] = frozenset(
    {
        "m", "s", "g", "rad", "K", "C", "cd",
        "mol", "sr", "Hz", "N", "Pa", "J", "W", "A", "V", "F", "Ohm", "S", "Wb", "Cel", "T",
        "H", "lm", "lx", "Bq", "Gy", "Sv", "l", "L", "ar", "t", "bar", "u", "eV", "pc",
        "[c]", "[h]", "[k]", "[e]", "[m_e]", "[m_p]", "[G]", "[g]", "[ly]", "gf",
        "Ky", "Gal", "dyn", "erg", "P", "St", "Mx", "G", "Oe", "Gb", "sb", "Lmb", "ph", "Ci",
        "R", "RAD", "REM", "cal", "bit", "By", "Bd", "U", "kat", "eq", "osm", "[iU]", "[IU]",
        "m[Hg]", "m[H2O]", "B", "B[SPL]", "B[V]", "B[mV]", "B[uV]", "B[W]", "B[kW]", "Np",
        "st", "mho", "g%",
    }
)  # fmt: skip

# Other atoms (no prefix).
NON_METRIC: frozenset[str] = frozenset(
    {
        "10*", "10^", "[pi]", "%", "[ppth]", "[ppm]", "[ppb]", "[pptr]",
        "min", "h", "d", "a", "wk", "mo", "a_t", "a_j", "a_g", "mo_s", "mo_j", "mo_g",
        "deg", "'", "''", "gon", "circ", "sph",
        "[in_i]", "[ft_i]", "[yd_i]", "[mi_i]", "[lb_av]", "[oz_av]", "[degF]", "[degR]",
        "[Cal]", "[pH]", "[arb'U]", "[USP'U]", "[GPL'U]", "[MPL'U]", "[APL'U]", "[beth'U]",
        "[anti'Xa'U]", "[todd'U]", "[dye'U]", "[smgy'U]", "[bdsk'U]", "[ka'U]", "[knk'U]",
        "[mclg'U]", "[tb'U]", "[CCID_50]", "[TCID_50]", "[EID_50]", "[PFU]", "[FFU]", "[CFU]",
        "[IR]", "[BAU]", "[AU]", "[Amb'a'1'U]", "[PNU]", "[Lf]", "[D'ag'U]", "[tbs_us]",
        "[tsp_us]", "[foz_us]", "[pt_us]", "[qt_us]", "[gal_us]", "[cup_us]", "[drp]",
        "[HPF]", "[LPF]", "[diop]", "[p'diop]", "[%payload]", "[mesh_i]", "[Ch]", "[S]",
        "[HP]", "[hp'_X]", "[hp'_C]", "[hp'_M]", "[hp'_Q]", "[kp_X]", "[kp_C]", "[kp_M]",
        "[kp_Q]", "[MET]", "[wood'U]", "[hnsf'U]", "[stone_av]", "[gr]", "[pk_br]", "[bu_us]",
        "[in_us]", "[ft_us]", "[mu_0]", "[eps_0]", "[car_m]", "[car_Au]", "[mi_us]",
        "[ly]", "[psi]", "atm", "[iU]", "[IU]", "mm[Hg]",
    }
)  # fmt: skip

_EXPONENT = re.compile(r"[+-]?\d+$")
_ANNOTATION = re.compile(r"\{[^{}]*\}")


def _simple_unit_ok(symbol: str) -> bool:
    if symbol in NON_METRIC or symbol in METRIC:
        return True
    for prefix in PREFIXES:
        if symbol.startswith(prefix) and symbol[len(prefix) :] in METRIC:
            return True
    return False


def _component_ok(text: str) -> bool:
    if not text:
        return False
    # an annotation may follow an annotatable unit, or stand alone (meaning 1)
    match = re.search(r"\{[^{}]*\}$", text)
    if match:
        body = text[: match.start()]
        if "{" in body or "}" in body:
            return False
        return body == "" or _component_ok(body)
    if "{" in text or "}" in text:
        return False
    if text.isdigit():
        return True  # a factor
    if _simple_unit_ok(text):
        return True
    exponent = _EXPONENT.search(text)
    if exponent is None:
        return False
    symbol = text[: exponent.start()]
    return bool(symbol) and _simple_unit_ok(symbol)


def _split_term(text: str) -> list[str] | None:
    """Components of a term, split on ``.`` and ``/`` outside brackets and braces; None if
    unbalanced."""
    parts: list[str] = []
    depth_square = depth_curly = depth_round = 0
    current = ""
    for char in text:
        if char == "[":
            depth_square += 1
        elif char == "]":
            depth_square -= 1
        elif char == "{":
            depth_curly += 1
        elif char == "}":
            depth_curly -= 1
        elif char == "(" and not depth_square and not depth_curly:
            depth_round += 1
        elif char == ")" and not depth_square and not depth_curly:
            depth_round -= 1
        if min(depth_square, depth_curly, depth_round) < 0:
            return None
        if char in "./" and not (depth_square or depth_curly or depth_round):
            parts.append(current)
            current = ""
            continue
        current += char
    if depth_square or depth_curly or depth_round:
        return None
    parts.append(current)
    return parts


def is_valid(unit: str | None) -> bool:
    """True when ``unit`` is a well-formed UCUM unit made of known atoms (``{pack}/a``,
    ``mg``, ``kg/m2``, ``mm[Hg]``, ``10*9/L``, ``{tablet}``)."""
    if not unit or unit != unit.strip() or any(c.isspace() for c in unit):
        return False
    text = unit[1:] if unit.startswith("/") else unit
    parts = _split_term(text)
    if parts is None:
        return False
    for part in parts:
        if part.startswith("(") and part.endswith(")"):
            if not is_valid(part[1:-1]):
                return False
            continue
        if not _component_ok(part):
            return False
    return True


# --- what the common units mean (dimension) and how they read -----------------------------------

TIME_UNITS: dict[str, tuple[Decimal, str, str]] = {
    # unit -> (hours, singular, plural)
    "min": (Decimal(1) / 60, "minute", "minutes"),
    "h": (Decimal(1), "heure", "heures"),
    "d": (Decimal(24), "jour", "jours"),
    "wk": (Decimal(24 * 7), "semaine", "semaines"),
    "mo": (Decimal("730.5"), "mois", "mois"),
    "a": (Decimal(8766), "an", "ans"),
}

# Dose units offered for a posology (UCUM) and how they read: (singular, plural).
DOSE_UNITS: dict[str, tuple[str, str]] = {
    "{tablet}": ("comprimé", "comprimés"),
    "{capsule}": ("gélule", "gélules"),
    "{sachet}": ("sachet", "sachets"),
    "{puff}": ("bouffée", "bouffées"),
    "{drop}": ("goutte", "gouttes"),
    "{application}": ("application", "applications"),
    "{suppository}": ("suppositoire", "suppositoires"),
    "{patch}": ("patch", "patchs"),
    "{ampoule}": ("ampoule", "ampoules"),
    "{dose}": ("dose", "doses"),
    "{spoon}": ("cuillère", "cuillères"),
    "mg": ("mg", "mg"),
    "g": ("g", "g"),
    "ug": ("µg", "µg"),
    "mL": ("mL", "mL"),
    "[iU]": ("UI", "UI"),
    "[IU]": ("UI", "UI"),
    "{tbl}": ("comprimé", "comprimés"),
}

# Quantities of a lifestyle observation, as doctors read them (« 5 paquets-années »).
QUANTITY_UNITS: dict[str, tuple[str, str]] = {
    "{pack}/a": ("paquet-année", "paquets-années"),
    "{cigarette}/d": ("cigarette par jour", "cigarettes par jour"),
    "{verre}/d": ("verre par jour", "verres par jour"),
    "{verre}/wk": ("verre par semaine", "verres par semaine"),
    "h/wk": ("heure par semaine", "heures par semaine"),
    "min/wk": ("minute par semaine", "minutes par semaine"),
}


def quantity_text(value: Decimal, unit: str | None) -> str:
    """« 5 paquets-années »: a UCUM quantity in French words, never a raw ``{pack}/a``."""
    number = number_text(value)
    if not unit:
        return number
    names = QUANTITY_UNITS.get(unit) or DOSE_UNITS.get(unit)
    if names is None:
        return f"{number} {unit.replace('{', '').replace('}', '')}"
    return f"{number} {names[1] if value >= 2 else names[0]}"


MASS_UNITS = frozenset({"kg", "g", "[lb_av]"})
LENGTH_UNITS = frozenset({"cm", "m", "mm", "[in_i]"})


def dimension(unit: str) -> str | None:
    """``time``, ``mass`` or ``length`` for the common units of those kinds, else None."""
    if unit in TIME_UNITS:
        return "time"
    if unit in MASS_UNITS:
        return "mass"
    if unit in LENGTH_UNITS:
        return "length"
    return None


def hours(value: Decimal, unit: str) -> Decimal | None:
    """A duration in hours (None for a unit that is not a time)."""
    known = TIME_UNITS.get(unit)
    return value * known[0] if known else None


def number_text(value: Decimal) -> str:
    """A number as French writes it: ``1,5``, ``2``."""
    text = format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def dose_unit_text(unit: str, value: Decimal | None) -> str:
    names = DOSE_UNITS.get(unit)
    if names is None:
        return unit
    plural = value is not None and value >= 2
    return names[1] if plural else names[0]


def time_text(value: Decimal, unit: str) -> str:
    names = TIME_UNITS.get(unit)
    if names is None:
        return f"{number_text(value)} {unit}"
    word = names[2] if value >= 2 else names[1]
    return f"{number_text(value)} {word}"
