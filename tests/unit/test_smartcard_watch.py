"""Watching the readers: slot events when the middleware reports them, polling otherwise."""

from __future__ import annotations

from dmp_desktop.smartcard.watch import SAFETY_TICKS, SlotWatcher, WatchMode
from tests.unit.test_smartcard_fakes import FakeLib, FakeReader, doctor_card


def test_middleware_without_events_is_polled_every_tick() -> None:
    lib = FakeLib([FakeReader(0)], events="unsupported")
    watcher = SlotWatcher()
    assert all(watcher.should_look(lib) for _ in range(10))
    assert watcher.mode is WatchMode.POLLING
    assert lib.event_queries == 1  # asked once, then never again


def test_silence_is_not_trusted_until_an_event_was_seen() -> None:
    lib = FakeLib([FakeReader(0)], events="silent")  # SoftHSM's behaviour
    watcher = SlotWatcher()
    assert all(watcher.should_look(lib) for _ in range(10))
    assert watcher.mode is WatchMode.UNKNOWN


def test_reported_events_spare_the_card_between_changes() -> None:
    lib = FakeLib([FakeReader(0)], events="reported")
    watcher = SlotWatcher()
    assert watcher.should_look(lib)  # nothing known yet
    lib.insert(doctor_card())
    assert watcher.should_look(lib) and watcher.mode is WatchMode.EVENTS
    quiet = [watcher.should_look(lib) for _ in range(SAFETY_TICKS)]
    assert quiet == [False] * (SAFETY_TICKS - 1) + [True]  # a look now and then, in case
    lib.remove(0)
    assert watcher.should_look(lib)  # removal seen at the next tick
    assert not watcher.should_look(lib)
    lib.insert(doctor_card())
    lib.remove(0)
    assert watcher.should_look(lib)  # both events drained at once
    assert not watcher.should_look(lib)


def test_reset_learns_again() -> None:
    lib = FakeLib([FakeReader(0)], events="unsupported")
    watcher = SlotWatcher()
    watcher.should_look(lib)
    watcher.reset()
    assert watcher.mode is WatchMode.UNKNOWN
