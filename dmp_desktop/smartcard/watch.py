"""Watching the readers: slot events where the middleware reports them, polling otherwise.

Every PKCS#11 call of the application runs on the one card thread (the
middleware's thread safety is unknown, and python-pkcs11 initialises it
without ``CKF_OS_LOCKING_OK``). A *blocking* ``C_WaitForSlotEvent`` would hold
that thread for as long as nothing happens, so the watcher asks the
non-blocking form (``CKF_DONT_BLOCK``) at each tick instead: it returns the
events the middleware queued since the previous tick.

- ``EVENTS``: the middleware has reported a slot event at least once (the
  Cryptolib CPS does): its silence can be trusted, so a tick with no event
  costs one call and no card access; the readers are looked at when an event
  arrives, plus every :data:`SAFETY_TICKS` ticks in case an event was lost.
- ``POLLING``: the middleware does not implement the call
  (``CKR_FUNCTION_NOT_SUPPORTED``), or has never reported anything. SoftHSM
  answers ``CKR_NO_EVENT`` to the non-blocking form forever and refuses the
  blocking one, so its silence means nothing: the readers are looked at on
  every tick (about once a second).

python-pkcs11 0.10 consumes the event and then fails to build its ``Slot``
object (``TypeError``): that still counts as an event.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from pkcs11.exceptions import FunctionNotSupported, NoEvent, PKCS11Error

log = logging.getLogger(__name__)

SAFETY_TICKS = 5
_MAX_DRAIN = 32


class WatchMode(enum.Enum):
    UNKNOWN = "unknown"  # no event seen yet: poll
    EVENTS = "events"
    POLLING = "polling"


class SlotWatcher:
    """Decides, at each tick and on the card thread, whether to look at the readers."""

    def __init__(self, safety_ticks: int = SAFETY_TICKS) -> None:
        self.mode = WatchMode.UNKNOWN
        self._safety_ticks = max(1, safety_ticks)
        self._quiet_ticks = 0

    def reset(self) -> None:
        """A new middleware was loaded: learn again what it can do."""
        self.mode = WatchMode.UNKNOWN
        self._quiet_ticks = 0

    def _drain(self, lib: Any) -> int | None:
        """Number of events queued (0: none); None when the middleware has no events."""
        events = 0
        for _ in range(_MAX_DRAIN):
            try:
                lib.wait_for_slot_event(blocking=False)
            except NoEvent:
                return events
            except FunctionNotSupported:
                return None
            except TypeError:
                pass  # python-pkcs11 0.10: event consumed, Slot object not built
            except PKCS11Error as exc:
                log.debug("slot event query failed: %s", type(exc).__name__)
                return None if events == 0 else events
            events += 1
        return events

    def should_look(self, lib: Any) -> bool:
        """True when the readers (or the logged-in card) must be looked at now."""
        if self.mode is WatchMode.POLLING:
            return True
        events = self._drain(lib)
        if events is None:
            if self.mode is WatchMode.UNKNOWN:
                log.info("slot events not available: polling the readers")
                self.mode = WatchMode.POLLING
            return True
        if events:
            if self.mode is not WatchMode.EVENTS:
                log.info("slot events reported by the middleware")
            self.mode = WatchMode.EVENTS
            self._quiet_ticks = 0
            return True
        if self.mode is WatchMode.UNKNOWN:
            return True
        self._quiet_ticks += 1
        if self._quiet_ticks >= self._safety_ticks:
            self._quiet_ticks = 0
            return True
        return False
