"""Work-arounds for defects of the Qt binding, detected at run time, never assumed.

PySide6 6.12.0 on CPython 3.11: ``SignalInstance.emit()`` and
``SignalInstance.disconnect()`` return ``True`` without giving the caller a
reference of its own. Every call then drops one reference to ``True`` for good,
until the interpreter aborts with "bool_dealloc: deallocating True or False"
(a few thousand signals: well within an hour of card polling). On CPython
3.12+ ``True`` is immortal and the defect is invisible.

:func:`install` measures the defect on a throw-away object and, only if it is
there, wraps the two methods so that the missing reference is added back.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBES = 16
_installed: list[str] = []


class _Probe(QObject):
    probed = Signal()


def _receiver() -> None:
    pass


def _leaks(call: Callable[[], object]) -> bool:
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        call()
    return before - sys.getrefcount(True) >= _PROBES


def _add_reference(result: object) -> None:
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))


def _wrap(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: SignalInstance, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        if result is True or result is False:
            _add_reference(result)
        return result

    wrapper.__name__ = getattr(method, "__name__", "wrapper")
    wrapper.__doc__ = getattr(method, "__doc__", None)
    return wrapper


def install() -> list[str]:
    """Patch what leaks (idempotent); returns the names of the patched methods."""
    if _installed:
        return list(_installed)
    probe = _Probe()
    if _leaks(probe.probed.emit):
        SignalInstance.emit = _wrap(SignalInstance.emit)  # type: ignore[method-assign]
        _installed.append("SignalInstance.emit")

    def connect_disconnect() -> object:
        probe.probed.connect(_receiver)
        return probe.probed.disconnect(_receiver)

    if _leaks(connect_disconnect):
        SignalInstance.disconnect = _wrap(  # type: ignore[method-assign]
            SignalInstance.disconnect
        )
        _installed.append("SignalInstance.disconnect")
    probe.deleteLater()
    _installed.append("")  # marks "checked" even when nothing needed a patch
    return [name for name in _installed if name]


def patched() -> list[str]:
    return [name for name in _installed if name]
