"""Signals can be emitted and disconnected forever without draining ``True``
(PySide6 6.12.0 on CPython 3.11 drops a reference at each call: see qt_compat)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from dmp_desktop.services import qt_compat


class _Emitter(QObject):
    fired = Signal(object)


def test_emit_and_disconnect_keep_true_alive() -> None:
    qt_compat.install()
    emitter = _Emitter()
    received: list[object] = []
    before = sys.getrefcount(True)
    emitter.fired.connect(received.append)
    for i in range(2000):
        emitter.fired.emit(i)
    for _ in range(200):
        emitter.fired.connect(print)
        emitter.fired.disconnect(print)
    emitter.fired.disconnect(received.append)
    assert len(received) == 2000
    assert sys.getrefcount(True) - before >= 0
