"""A coded posology in words, and its CDA form (frequency as ``PIVL_TS``).

``describe`` gives what the narrative of the document (and the editor)
shows: « 1 comprimé, 2 fois par jour, voie orale, pendant 3 mois ».
``frequency_period`` and ``from_period`` turn "N times per period" into the
``PIVL_TS`` period CDA R2 can carry (data types R1 have no frequency): once
per period is the period itself (``1 d``, as the ANS VSM example writes
« 1 cp/j »); N times a day is a period of 24/N hours flagged
``institutionSpecified`` (the times of day are the patient's, not every
24/N hours exactly).
"""

from __future__ import annotations

from decimal import Decimal

from dmp_desktop.cda import valuesets
from dmp_desktop.domain.summary import Posology
from dmp_desktop.terminology.ucum import (
    TIME_UNITS,
    dose_unit_text,
    hours,
    number_text,
    time_text,
)

_PER = {"h": "par heure", "d": "par jour", "wk": "par semaine", "mo": "par mois", "a": "par an"}


def route_label(code: str | None) -> str | None:
    if code is None:
        return None
    return valuesets.ROUTES.get(code) or valuesets.IMMUNIZATION_ROUTES.get(code)


def dose_text(p: Posology) -> str | None:
    if p.dose is None:
        return None
    amount = number_text(p.dose)
    top = p.dose if p.dose_max is None else p.dose_max
    if p.dose_max is not None and p.dose_max != p.dose:
        amount = f"{amount} à {number_text(p.dose_max)}"
    unit = dose_unit_text(p.dose_unit, top) if p.dose_unit else ""
    return f"{amount} {unit}".strip()


def frequency_text(p: Posology) -> str | None:
    if p.period is None or p.period_unit is None:
        return None
    times = p.times or 1
    if p.period == 1 and p.period_unit in _PER:
        per = _PER[p.period_unit]
    else:
        per = f"toutes les {time_text(p.period, p.period_unit)}"
        if times == 1:
            return per
        per = f"par période de {time_text(p.period, p.period_unit)}"
    return f"{times} fois {per}"


def describe(p: Posology | None) -> str:
    """The posology in French; empty when nothing is coded."""
    if p is None:
        return ""
    parts = [dose_text(p), frequency_text(p)]
    route = route_label(p.route)
    if route:
        parts.append(route[:1].lower() + route[1:])
    if p.duration is not None and p.duration_unit:
        parts.append(f"pendant {time_text(p.duration, p.duration_unit)}")
    return ", ".join(part for part in parts if part)


def frequency_period(p: Posology) -> tuple[Decimal, str, bool] | None:
    """(period value, UCUM unit, institutionSpecified) of the ``PIVL_TS``; None if no frequency."""
    if p.period is None or p.period_unit is None:
        return None
    times = p.times or 1
    if times == 1:
        return p.period, p.period_unit, False
    span = hours(p.period, p.period_unit)
    if span is None:
        return None
    each = span / times
    if each == each.to_integral_value():
        return each.normalize(), "h", True
    minutes = each * 60
    return minutes.quantize(Decimal(1)), "min", True


def from_period(value: Decimal, unit: str, institution_specified: bool) -> tuple[int, Decimal, str]:
    """(times, period, unit) read back from a ``PIVL_TS`` period."""
    if institution_specified and unit in ("h", "min"):
        span = hours(value, unit)
        if span and span > 0:
            per_day = Decimal(24) / span
            if per_day == per_day.to_integral_value() and per_day >= 1:
                return int(per_day), Decimal(1), "d"
    return 1, value, unit


def known_time_unit(unit: str | None) -> bool:
    return unit in TIME_UNITS
