"""The only Qt-aware layer below the widgets: card, DMP and background work as signals."""

from dmp_desktop.services import qt_compat

qt_compat.install()  # before any signal is emitted (see qt_compat)

# ruff: noqa: E402 - the binding is patched first

from dmp_desktop.services.card_service import (
    CardBackend,
    CardService,
    CardSessionLike,
    CardState,
)
from dmp_desktop.services.dmp_service import (
    ConnectionState,
    DmpClientLike,
    DmpFactory,
    DmpService,
)
from dmp_desktop.services.operations import (
    Operation,
    OperationCancelled,
    OperationRunner,
    OperationState,
)

__all__ = [
    "CardBackend",
    "CardService",
    "CardSessionLike",
    "CardState",
    "ConnectionState",
    "DmpClientLike",
    "DmpFactory",
    "DmpService",
    "Operation",
    "OperationCancelled",
    "OperationRunner",
    "OperationState",
]
