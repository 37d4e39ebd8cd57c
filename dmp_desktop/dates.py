"""Dates and times: every format the software reads or writes, and its rules, in one place.

The rules, decided here once:

* **Instants are aware.** :func:`utc_now` is the software's clock;
  :data:`PARIS` is France's legal time (the DMP's). Writing an instant from a
  naive datetime is refused (``ValueError``): its meaning would depend on the
  machine's time zone.
* **HL7 v3 TS** (CDA documents, HL7 v3 messages): written
  ``YYYYMMDDhhmmss±ZZZZ`` (:func:`hl7_ts`), a day as ``YYYYMMDD``
  (:func:`hl7_date`). Read with any HL7 precision
  (``YYYY[MM[DD[hh[mm[ss[.f…]]]]]][±ZZZZ]``, :func:`parse_hl7_ts`); a value
  without an offset is Paris legal time, as the official examples write it.
* **XDS DTM** (ebRIM slots, HL7 v2 fields): UTC, no offset, written
  ``YYYYMMDDhhmmss`` (:func:`xds_dtm`, a day at 00:00:00), read with any
  precision down to the year (:func:`parse_xds_dtm`).
* **xs:dateTime** (SAML ``IssueInstant``, XAdES ``SigningTime``):
  :func:`xs_datetime_utc` (``…T…Z``, the fraction the official example has),
  :func:`xs_datetime` (its own offset, milliseconds); read with an offset or
  ``Z``, a value without one is UTC (:func:`parse_xs_datetime`).
* **ISO 8601** (command-line options, our own JSON files): a day is exactly
  ``YYYY-MM-DD`` (:func:`parse_iso_date`); an instant has an offset
  (:func:`parse_iso_instant`).
* **French display**: ``JJ/MM/AAAA`` and ``JJ/MM/AAAA à HH:MM``, an aware
  instant shown in Paris legal time (:func:`fr_date`, :func:`fr_datetime`);
  a typed day is exactly ``JJ/MM/AAAA`` (:func:`parse_fr_date`).

Every reader raises :class:`DateFormatError` (a ``ValueError``) on a value
that is not a real date in its format; the caller decides what that means
(a protocol error for an answer of the DMP, a usage error on the command
line). Plain Python: no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

PARIS = ZoneInfo("Europe/Paris")

_TS = re.compile(
    r"^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?"
    r"([+-]\d{4})?$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FR_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


class DateFormatError(ValueError):
    """A value that is not a date (or an instant) of the expected format."""


def or_none(parse: Callable[[str], T], text: str | None) -> T | None:
    """``parse(text)``, or None when ``text`` is empty or not of the format.

    For what is only read and shown (a foreign document's header); an answer
    of the DMP uses the readers themselves and refuses a bad date.
    """
    if text is None or not text.strip():
        return None
    try:
        return parse(text)
    except DateFormatError:
        return None


# --- clocks -----------------------------------------------------------------------------------


def utc_now() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


def paris_now() -> datetime:
    """Now in France's legal time, to the second, with its offset."""
    return datetime.now(PARIS).replace(microsecond=0)


def paris_today() -> date:
    """Today's date in France's legal time: the DMP's day, whatever the machine's zone.

    ``date.today()`` is the machine's day: on a machine set to UTC it is still the
    6th for an hour after midnight in Paris, when documents are already dated the 7th.
    """
    return datetime.now(PARIS).date()


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("an instant needs a time zone (naive datetime refused)")
    return value


# --- HL7 v3 TS ----------------------------------------------------------------------------------


def hl7_ts(value: datetime) -> str:
    """An instant as an HL7 TS to the second with its offset: ``20200312111700+0100``."""
    return _aware(value).strftime("%Y%m%d%H%M%S%z")


def hl7_date(value: date) -> str:
    """A day as an HL7 TS: ``20200312``."""
    return f"{value:%Y%m%d}"


def _match_ts(text: str, what: str) -> tuple[list[int | None], str | None, str | None]:
    match = _TS.match(text.strip())
    if match is None:
        raise DateFormatError(f"not an {what}")
    *parts, fraction, offset = match.groups()
    return [int(p) if p is not None else None for p in parts], fraction, offset


def _build(
    parts: list[int | None], fraction: str | None, tz: timezone | ZoneInfo, what: str
) -> datetime:
    year, month, day, hour, minute, second = parts
    micro = int((fraction or "0").ljust(6, "0")) if fraction else 0
    try:
        return datetime(
            year or 1,
            month or 1,
            day or 1,
            hour or 0,
            minute or 0,
            second or 0,
            micro,
            tzinfo=tz,
        )
    except ValueError:
        raise DateFormatError(f"not a real {what}") from None


def parse_hl7_ts(text: str) -> datetime:
    """An HL7 TS of any precision, aware (no offset: Paris legal time)."""
    parts, fraction, offset = _match_ts(text, "HL7 TS")
    tz: timezone | ZoneInfo = PARIS
    if offset is not None:
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if hours > 14 or minutes > 59:
            raise DateFormatError("not a real HL7 TS offset")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return _build(parts, fraction, tz, "HL7 TS")


def parse_hl7_date(text: str) -> date:
    """The day of an HL7 TS that names one (``YYYYMMDD…``, e.g. a birth date)."""
    parts, _, _ = _match_ts(text, "HL7 date")
    if parts[2] is None:
        raise DateFormatError("an HL7 date without its day")
    return _build(parts, None, UTC, "HL7 date").date()


# --- XDS DTM (UTC) ------------------------------------------------------------------------------


def xds_dtm(value: date | datetime) -> str:
    """An XDS DTM as the DMP writes it: ``YYYYMMDDhhmmss`` in UTC (a day: 00:00:00)."""
    if isinstance(value, datetime):
        return f"{_aware(value).astimezone(UTC):%Y%m%d%H%M%S}"
    return f"{value:%Y%m%d}000000"


def parse_xds_dtm(text: str) -> datetime:
    """An XDS DTM (``YYYY[MM[DD[hh[mm[ss]]]]]``, UTC) as an aware datetime."""
    value = text.strip()
    if len(value) == 14 and value.isascii() and value.isdigit():  # the usual form, fast
        try:
            return datetime(
                int(value[:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[8:10]),
                int(value[10:12]),
                int(value[12:]),
                tzinfo=UTC,
            )
        except ValueError:
            raise DateFormatError("not a real XDS DTM") from None
    parts, fraction, offset = _match_ts(value, "XDS DTM")
    if offset is not None or fraction is not None:
        raise DateFormatError("an XDS DTM is UTC, without offset nor fraction")
    return _build(parts, None, UTC, "XDS DTM")


# --- xs:dateTime --------------------------------------------------------------------------------


def xs_datetime_utc(value: datetime, digits: int = 3) -> str:
    """``2021-06-16T09:23:15.273Z``: UTC, ``digits`` (0-6) of the second's fraction."""
    moment = _aware(value).astimezone(UTC)
    text = f"{moment:%Y-%m-%dT%H:%M:%S}"
    if digits > 0:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + "Z"


def xs_datetime(value: datetime) -> str:
    """``2019-04-04T14:20:12.282+02:00``: the instant with its own offset, milliseconds."""
    return _aware(value).isoformat(timespec="milliseconds")


def parse_xs_datetime(text: str) -> datetime:
    """An xs:dateTime, aware (no offset: UTC, as SAML states its instants)."""
    raw = text.strip()
    if not raw or not raw[:4].isdigit() or "T" not in raw:
        raise DateFormatError("not an xs:dateTime")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise DateFormatError("not an xs:dateTime") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --- ISO 8601 -----------------------------------------------------------------------------------


def parse_iso_date(text: str) -> date:
    """Exactly ``YYYY-MM-DD`` (no week dates, no ``YYYYMMDD``), a real day."""
    raw = text.strip()
    if not _ISO_DATE.match(raw):
        raise DateFormatError("not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DateFormatError("not a real date") from None


def parse_iso_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset (as :meth:`datetime.isoformat` writes an aware one)."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DateFormatError("not an ISO 8601 instant") from None
    if parsed.tzinfo is None:
        raise DateFormatError("an ISO 8601 instant without its offset")
    return parsed


# --- French display -----------------------------------------------------------------------------


def _paris(value: date | datetime) -> date | datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(PARIS)
    return value


def fr_date(value: date | datetime) -> str:
    """``12/03/2026`` (an aware instant: its day in Paris)."""
    return f"{_paris(value):%d/%m/%Y}"


def fr_datetime(value: datetime) -> str:
    """``12/03/2026 à 11:17`` (an aware instant: in Paris legal time)."""
    return f"{_paris(value):%d/%m/%Y à %H:%M}"


def fr_time(value: datetime, *, seconds: bool = False) -> str:
    """``11:17`` (or ``11:17:05``; an aware instant: in Paris legal time)."""
    return f"{_paris(value):%H:%M:%S}" if seconds else f"{_paris(value):%H:%M}"


def parse_fr_date(text: str) -> date:
    """Exactly ``JJ/MM/AAAA``, a real day."""
    match = _FR_DATE.match(text.strip())
    if match is None:
        raise DateFormatError("not a date JJ/MM/AAAA")
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise DateFormatError("not a real date") from None


__all__ = [
    "PARIS",
    "DateFormatError",
    "fr_date",
    "fr_datetime",
    "fr_time",
    "hl7_date",
    "hl7_ts",
    "or_none",
    "paris_now",
    "parse_fr_date",
    "parse_hl7_date",
    "parse_hl7_ts",
    "parse_iso_date",
    "parse_iso_instant",
    "parse_xds_dtm",
    "parse_xs_datetime",
    "utc_now",
    "xds_dtm",
    "xs_datetime",
    "xs_datetime_utc",
]
