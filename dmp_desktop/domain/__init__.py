"""Plain dataclasses shared by every layer (no Qt, no I/O).

Names are imported when first used (PEP 562): the card (``dmp cards``, the window's
start) needs only :mod:`.practitioner`, not the record's status and its dates.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
    from dmp_desktop.domain.patient import Ins, InsError, InsKind, nir_key
    from dmp_desktop.domain.practitioner import Practitioner

_EXPORTS = {
    "Authorization": "dmp_status",
    "DmpState": "dmp_status",
    "DmpStatus": "dmp_status",
    "Ins": "patient",
    "InsError": "patient",
    "InsKind": "patient",
    "nir_key": "patient",
    "Practitioner": "practitioner",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "Authorization",
    "DmpState",
    "DmpStatus",
    "Ins",
    "InsError",
    "InsKind",
    "Practitioner",
    "nir_key",
]
