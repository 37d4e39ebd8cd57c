"""The cyclic garbage collector and the window's pauses (docs/performance.md).

A pass of CPython's cyclic collector walks every object of the generations it
collects while holding the interpreter lock: no other thread runs Python
meanwhile, and a UI thread that needs Python to paint (every cell of the
documents table is a Python call) waits. Two kinds of objects make passes long:

* what start-up made (modules, classes, widgets), which lives as long as the
  application: frozen once the window is built (:func:`settle`);
* the entries of a long list of documents (20,000 entries are some 80,000
  objects the collector tracks, 60,000 more for their rows in the table),
  which live as long as the patient's record is open: built inside
  :func:`kept_out_of_collection`, they are moved out of the collector's passes as
  soon as they survive its youngest one, so that no later pass walks them again
  (a pass of the middle generation over them took 20 to 160 ms).

The objects moved out are still freed by reference counting when the record is
closed (a list's entries hold no reference cycle: ``tests/unit/test_heap.py``);
what the collector would have found among them, a cycle that became garbage
after surviving a pass, stays in memory (a few hundred small objects per list).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Allocations between two passes of the youngest generation, once the window is built.
YOUNG_THRESHOLD = 20_000
# How long a thread may run Python before one waiting for the interpreter lock gets it
# (CPython's default is 5 ms). The UI thread needs the lock for each call into Python
# (every cell painted, every slot): with a thread building a list, 5 ms per call.
SWITCH_INTERVAL_S = 0.0005

_lock = threading.Lock()
_building = 0


def starting() -> None:
    """At the very start of the window's process: start-up makes objects that live as
    long as the application (modules, classes, the enums PySide makes for each Qt class
    it first meets); collect the youngest generation every :data:`YOUNG_THRESHOLD`
    allocations rather than 700 (dozens of passes, 8 to 10 ms, before the first paint)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, gc.get_threshold()[0]), middle, old)


def settle() -> None:
    """Once the window is built: keep what start-up made out of the collector's passes,
    collect the youngest generation less often, and let the UI thread take the interpreter
    back sooner from a thread at work."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def _freeze_survivors(phase: str, _info: dict[str, Any]) -> None:
    if phase == "stop" and _building:
        gc.freeze()  # what survived this pass: out of every later one (a list splice)


@contextmanager
def kept_out_of_collection() -> Iterator[None]:
    """Objects made inside (in any thread) that survive a pass of the collector are moved
    out of its later passes (:func:`gc.freeze` after each pass while a block runs).

    For long-lived data built in bulk: a long list of documents."""
    global _building
    with _lock:
        _building += 1
        if _building == 1:
            gc.callbacks.append(_freeze_survivors)
    try:
        yield
    finally:
        with _lock:
            _building -= 1
            if _building == 0 and _freeze_survivors in gc.callbacks:
                gc.callbacks.remove(_freeze_survivors)
