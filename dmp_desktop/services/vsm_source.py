"""Where the editor's starting point comes from: the latest VSM in the patient's DMP.

The editor takes a :class:`VsmFetcher`: it starts the search off the UI
thread and calls back on the UI thread. Two are provided:
:func:`blocking_fetcher` runs a plain callable, :data:`LatestVsm` (INS ->
summary or None), as an :class:`Operation` (tests inject a fake this way);
:func:`client_fetcher` runs the use case :func:`dmp_desktop.usecases.vsm.latest_vsm`
(the one lookup of the patient's VSMs) through a service that lends the DMP
client of the card session to a worker (``DmpService.call``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.summary import MedicalSummary
from dmp_desktop.services.operations import ClientCaller, Operation, OperationRunner
from dmp_desktop.usecases.vsm import latest_vsm, next_version

LatestVsm = Callable[[Ins], MedicalSummary | None]
OnFetched = Callable[[MedicalSummary | None], None]
OnFailure = Callable[[BaseException], None]
FETCH_LABEL = str(QT_TRANSLATE_NOOP("VsmSource", "Recherche du dernier VSM dans le DMP"))


def _fetch_label() -> str:
    return QCoreApplication.translate("VsmSource", FETCH_LABEL)


class VsmFetcher(Protocol):
    """Starts looking for the latest VSM; the callbacks run on the UI thread."""

    def __call__(
        self, ins: Ins, on_success: OnFetched, on_failure: OnFailure
    ) -> Operation[Any] | None: ...


def blocking_fetcher(latest: LatestVsm, runner: OperationRunner) -> VsmFetcher:
    """Run ``latest(ins)`` on the runner's pool."""

    def start(ins: Ins, on_success: OnFetched, on_failure: OnFailure) -> Operation[Any] | None:
        return runner.run(Operation(_fetch_label(), lambda: latest(ins), on_success, on_failure))

    return start


def client_fetcher(service: ClientCaller) -> VsmFetcher:
    """Look for the latest VSM with the DMP client of the card session."""

    def start(ins: Ins, on_success: OnFetched, on_failure: OnFailure) -> Operation[Any] | None:
        return service.call(
            _fetch_label(), lambda client: latest_vsm(client, ins), on_success, on_failure
        )

    return start


__all__ = [
    "FETCH_LABEL",
    "LatestVsm",
    "VsmFetcher",
    "blocking_fetcher",
    "client_fetcher",
    "next_version",
]
