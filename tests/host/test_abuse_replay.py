"""The VIHF replay memory on its own (dmp_sandbox.replay), with a clock the test moves."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from lxml import etree

from dmp_sandbox.host import TraceContext
from dmp_sandbox.replay import (
    MAX_SKEW,
    AssertionGuard,
    AssertionRefused,
    AssertionTimes,
    check_assertion,
    read_times,
)
from dmp_sandbox.soap import FaultCode, SoapFault
from tests.support.vihf import SAML, saml_instant

T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


class Clock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def times(assertion_id: str, issued: dt.datetime = T0, **conditions: dt.datetime) -> AssertionTimes:
    return AssertionTimes(assertion_id, issued, conditions.get("nb"), conditions.get("noa"))


def reason(guard: AssertionGuard, value: AssertionTimes) -> str:
    with pytest.raises(AssertionRefused) as refused:
        guard.check(value)
    return refused.value.reason


def test_an_id_is_accepted_once_within_its_validity() -> None:
    clock = Clock()
    guard = AssertionGuard(clock=clock)
    guard.check(times("_a"))
    assert guard.seen("_a") and len(guard) == 1
    assert reason(guard, times("_a")) == "rejoue"
    clock.now = T0 + MAX_SKEW - dt.timedelta(seconds=1)
    assert reason(guard, times("_a")) == "rejoue"
    clock.now = T0 + MAX_SKEW  # the assertion itself has expired: refused as such, and forgotten
    assert reason(guard, times("_a")) == "expire"
    guard.check(times("_b", issued=clock.now))
    assert not guard.seen("_a") and len(guard) == 1


def test_window_and_conditions() -> None:
    guard = AssertionGuard(clock=Clock())
    assert reason(guard, times("_f", T0 + MAX_SKEW + MINUTE)) == "futur"
    guard.check(times("_g", T0 + MAX_SKEW))  # exactly at the tolerance: accepted
    assert reason(guard, times("_nb", nb=T0 + 6 * MINUTE)) == "futur"
    assert reason(guard, times("_noa", noa=T0)) == "expire"  # NotOnOrAfter is exclusive
    guard.check(times("_long", T0 - 30 * MINUTE, noa=T0 + 10 * MINUTE))
    assert guard.valid_until(times("_x", T0, noa=T0 + 5 * 60 * MINUTE)) == T0 + 60 * MINUTE


def test_memory_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = AssertionGuard(clock=clock, max_entries=3)
    for i in range(3):
        guard.check(times(f"_{i}", issued=T0 + i * dt.timedelta(seconds=1)))
    with caplog.at_level(logging.WARNING, logger="dmp_sandbox.replay"):
        guard.check(times("_3"))
    assert len(guard) == 3 and not guard.seen("_0")  # the soonest to expire went first
    assert "memory full" in caplog.text


def test_concurrent_replays_only_one_wins() -> None:
    guard = AssertionGuard(clock=Clock())
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            guard.check(times("_race"))
            result = "ok"
        except AssertionRefused as exc:
            result = exc.reason
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["rejoue"] * 7


def _assertion(**attributes: str) -> etree._Element:
    element = etree.Element(f"{{{SAML}}}Assertion")
    for name, value in attributes.items():
        element.set(name, value)
    return element


def test_reading_the_assertion() -> None:
    element = _assertion(ID="_r", IssueInstant="2026-11-25T10:00:00.123Z")
    etree.SubElement(element, f"{{{SAML}}}Conditions", NotOnOrAfter="2026-11-25T10:30:00")
    read = read_times(element)
    assert read.assertion_id == "_r"
    assert read.issue_instant == T0.replace(microsecond=123000)
    assert read.not_on_or_after == T0 + 30 * MINUTE  # no zone: UTC
    for broken, code in (
        (_assertion(IssueInstant=saml_instant(T0)), "sans_id"),
        (_assertion(ID="x" * 300, IssueInstant=saml_instant(T0)), "sans_id"),
        (_assertion(ID="_r"), "horodatage"),
        (_assertion(ID="_r", IssueInstant="25/11/2026"), "horodatage"),
    ):
        with pytest.raises(AssertionRefused) as refused:
            read_times(broken)
        assert refused.value.reason == code


def test_the_host_check_traces_the_cause_and_answers_in_french() -> None:
    guard = AssertionGuard(clock=Clock())
    trace = TraceContext()
    element = _assertion(ID="_h", IssueInstant=saml_instant(T0 - 10 * MINUTE))
    with pytest.raises(SoapFault) as fault:
        check_assertion(element, trace, guard)
    assert fault.value.code is FaultCode.AUTHENTICATION and fault.value.http_status == 400
    assert "horloge" in fault.value.reason
    assert trace.result == "VIHF_EXPIRE"


def _shared_guards(url: str, clock: Clock) -> tuple[object, object, object, object]:
    from dmp_sandbox.replay import SharedAssertionGuard
    from dmp_sandbox.store import Store

    first = Store(url)
    second = Store(url, migrate=False)  # another process of the same host: another engine
    return (
        first,
        second,
        SharedAssertionGuard(first, clock=clock),
        SharedAssertionGuard(second, clock=clock),
    )


def _replay_across_processes(url: str) -> None:
    clock = Clock()
    first, second, a, b = _shared_guards(url, clock)
    try:
        a.check(times("_a"))  # type: ignore[attr-defined]
        assert reason(b, times("_a")) == "rejoue"  # type: ignore[arg-type]
        assert reason(a, times("_a")) == "rejoue"  # type: ignore[arg-type]
        clock.now = T0 + MAX_SKEW - dt.timedelta(seconds=1)
        assert reason(b, times("_a")) == "rejoue"  # type: ignore[arg-type]
        clock.now = T0 + MAX_SKEW  # expired: refused as such by either
        assert reason(b, times("_a")) == "expire"  # type: ignore[arg-type]
        b.check(times("_b", issued=clock.now))  # type: ignore[attr-defined]
        assert reason(a, times("_b", issued=clock.now)) == "rejoue"  # type: ignore[arg-type]
        # the table itself: a row whose validity ended is replaced, a live one is not
        assert first.remember_assertion("_x", T0 + MINUTE, T0)  # type: ignore[attr-defined]
        assert not second.remember_assertion("_x", T0 + MINUTE, T0)  # type: ignore[attr-defined]
        assert second.remember_assertion("_x", T0 + 3 * MINUTE, T0 + 2 * MINUTE)  # type: ignore[attr-defined]
    finally:
        first.close()  # type: ignore[attr-defined]
        second.close()  # type: ignore[attr-defined]


def test_a_replay_reaching_another_host_process_is_refused_sqlite(tmp_path: object) -> None:
    """Several workers share the database, not their memory: the ids go in ``vihf_seen``."""
    _replay_across_processes(f"sqlite:///{tmp_path}/host.db")


def test_a_replay_reaching_another_host_process_is_refused_postgresql(postgres_db_url: str) -> None:
    _replay_across_processes(postgres_db_url)
