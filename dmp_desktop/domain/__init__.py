"""Plain dataclasses shared by every layer (no Qt, no I/O)."""

from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins, InsError, InsKind, nir_key
from dmp_desktop.domain.practitioner import Practitioner

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
