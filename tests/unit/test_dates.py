"""One date module: its formats and rules, and no other date parsing or formatting in the client."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import dmp_desktop
from dmp_desktop import dates
from dmp_desktop.dates import (
    PARIS,
    DateFormatError,
    fr_date,
    fr_datetime,
    fr_time,
    hl7_date,
    hl7_ts,
    or_none,
    paris_now,
    parse_fr_date,
    parse_hl7_date,
    parse_hl7_ts,
    parse_iso_date,
    parse_iso_instant,
    parse_xds_dtm,
    parse_xs_datetime,
    utc_now,
    xds_dtm,
    xs_datetime,
    xs_datetime_utc,
)

WINTER = timezone(timedelta(hours=1))
MOMENT = datetime(2026, 3, 12, 11, 17, 5, 273456, tzinfo=WINTER)


# --- writing ------------------------------------------------------------------------------------


def test_instants_are_written_with_their_zone_and_naive_ones_are_refused() -> None:
    assert hl7_ts(MOMENT) == "20260312111705+0100"
    assert xds_dtm(MOMENT) == "20260312101705"  # UTC
    assert xs_datetime_utc(MOMENT) == "2026-03-12T10:17:05.273Z"
    assert xs_datetime_utc(MOMENT, 4) == "2026-03-12T10:17:05.2734Z"
    assert xs_datetime_utc(MOMENT, 0) == "2026-03-12T10:17:05Z"
    assert xs_datetime(MOMENT) == "2026-03-12T11:17:05.273+01:00"
    naive = datetime(2026, 3, 12, 11, 17)
    for writer in (hl7_ts, xds_dtm, xs_datetime_utc, xs_datetime):
        with pytest.raises(ValueError, match="naive"):
            writer(naive)  # type: ignore[operator]


def test_days() -> None:
    assert hl7_date(date(1980, 1, 9)) == "19800109"
    assert xds_dtm(date(2026, 3, 12)) == "20260312000000"


def test_clocks_are_aware() -> None:
    assert utc_now().tzinfo is UTC
    now = paris_now()
    assert now.tzinfo is PARIS and now.microsecond == 0
    assert abs(now - utc_now()) < timedelta(minutes=1)


def test_the_hl7_creation_time_of_a_request_carries_paris_offset() -> None:
    from dmp_desktop.dmp import td02

    summer = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    body = td02.build_td02_request(
        td02_ins(), sender_oid="1.2.3", sender_name="LPS", now=summer.astimezone(PARIS)
    )
    created = body.find("{urn:hl7-org:v3}creationTime")
    assert created is not None and created.get("value") == "20260701100000+0200"
    assert parse_hl7_ts(created.get("value", "")) == summer


def td02_ins():  # type: ignore[no-untyped-def]
    from dmp_desktop.domain.patient import Ins, InsKind

    return Ins("207058575627097", InsKind.TEST_NIR)


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260312111705+0100", MOMENT.replace(microsecond=0)),
        ("20260312111705.273456+0100", MOMENT),
        ("202603121117+0100", MOMENT.replace(second=0, microsecond=0)),
        ("20260312", datetime(2026, 3, 12, tzinfo=PARIS)),
        ("2026", datetime(2026, 1, 1, tzinfo=PARIS)),
        ("20260712100000", datetime(2026, 7, 12, 8, 0, tzinfo=UTC)),  # no offset: Paris (summer)
    ],
)
def test_hl7_ts_of_any_precision(text: str, expected: datetime) -> None:
    parsed = parse_hl7_ts(text)
    assert parsed == expected and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026031",
        "20261312",
        "20260230",
        "20260312250000",
        "20260312+01",
        "2026-03-12",
        "20260312111705+2400",
        "x20260312",
    ],
)
def test_bad_hl7_ts_is_refused(text: str) -> None:
    with pytest.raises(DateFormatError):
        parse_hl7_ts(text)


def test_hl7_dates() -> None:
    assert parse_hl7_date("19800109") == date(1980, 1, 9)
    assert parse_hl7_date("19800109120000+0100") == date(1980, 1, 9)
    for bad in ("198001", "19800132", "19800109garbage"):
        with pytest.raises(DateFormatError):
            parse_hl7_date(bad)


def test_xds_dtm_is_utc_without_offset() -> None:
    assert parse_xds_dtm("20260312101705") == datetime(2026, 3, 12, 10, 17, 5, tzinfo=UTC)
    assert parse_xds_dtm("2026") == datetime(2026, 1, 1, tzinfo=UTC)
    for bad in ("20260312101705+0100", "20260312101705.5", "2026031", "20260231"):
        with pytest.raises(DateFormatError):
            parse_xds_dtm(bad)
    assert parse_xds_dtm(xds_dtm(MOMENT)) == MOMENT.replace(microsecond=0)


def test_xs_datetime() -> None:
    assert parse_xs_datetime("2021-06-16T09:23:15.273Z") == datetime(
        2021, 6, 16, 9, 23, 15, 273000, tzinfo=UTC
    )
    assert parse_xs_datetime("2019-04-04T14:20:12.282+02:00").utcoffset() == timedelta(hours=2)
    assert parse_xs_datetime("2021-06-16T09:23:15").tzinfo is UTC  # SAML: UTC
    for bad in ("", "2021-06-16", "16/06/2021 09:23", "2021-13-16T09:23:15Z"):
        with pytest.raises(DateFormatError):
            parse_xs_datetime(bad)


def test_iso_is_strict() -> None:
    assert parse_iso_date(" 2024-01-31 ") == date(2024, 1, 31)
    for bad in ("20240131", "2024-W05-3", "2024-1-31", "2024-02-30", "31/01/2024", ""):
        with pytest.raises(DateFormatError):
            parse_iso_date(bad)
    assert parse_iso_instant(MOMENT.isoformat()) == MOMENT
    with pytest.raises(DateFormatError, match="offset"):
        parse_iso_instant("2026-03-12T11:17:05")


def test_french_display_is_in_paris_time() -> None:
    late_utc = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)  # already 1 January in Paris
    assert fr_date(late_utc) == "01/01/2026"
    assert fr_datetime(late_utc) == "01/01/2026 à 00:30"
    assert fr_time(late_utc) == "00:30"
    assert fr_date(date(2026, 3, 2)) == "02/03/2026"
    assert parse_fr_date("02/03/2026") == date(2026, 3, 2)
    for bad in ("2/3/2026", "31/02/2026", "2026-03-02"):
        with pytest.raises(DateFormatError):
            parse_fr_date(bad)


def test_or_none_is_for_what_is_only_shown() -> None:
    assert or_none(parse_hl7_ts, None) is None
    assert or_none(parse_hl7_ts, "  ") is None
    assert or_none(parse_hl7_ts, "garbage") is None
    assert or_none(parse_hl7_date, "19800109") == date(1980, 1, 9)


# --- one place ----------------------------------------------------------------------------------

# Writing or parsing a date format by hand, or a naive "now", anywhere but dates.py.
_HAND_MADE = re.compile(
    r"strptime\(|strftime\(|%Y%m%d|%d/%m/%Y|%H:%M|datetime\.now\(\)|date\.fromisoformat\("
)


def test_no_date_format_outside_the_date_module() -> None:
    package = Path(dmp_desktop.__file__).parent
    found = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        if path != Path(dates.__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _HAND_MADE.search(line)
    ]
    assert not found, "use dmp_desktop.dates:\n" + "\n".join(found)
