"""The one background-work abstraction: UI-thread callbacks, late progress, cancel."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.services.operations import Operation, OperationRunner, OperationState


@pytest.fixture
def runner() -> Iterator[OperationRunner]:
    runner = OperationRunner(progress_delay_ms=100)
    yield runner
    runner.shutdown(wait=True)


def test_success_is_delivered_on_the_ui_thread(qtbot: QtBot, runner: OperationRunner) -> None:
    seen: list[tuple[int, threading.Thread]] = []
    worker: list[threading.Thread] = []

    def work() -> int:
        worker.append(threading.current_thread())
        return 42

    op = Operation("calcul", work, lambda value: seen.append((value, threading.current_thread())))
    with qtbot.waitSignal(runner.operationFinished):
        runner.run(op)
    assert seen == [(42, threading.main_thread())]
    assert worker[0] is not threading.main_thread()
    assert op.state is OperationState.SUCCEEDED


def test_failure_callback_gets_the_exception(qtbot: QtBot, runner: OperationRunner) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        raise ValueError("boom")

    with qtbot.waitSignal(runner.operationFinished):
        runner.run(Operation("échec", work, on_failure=errors.append))
    assert isinstance(errors[0], ValueError)


def test_fast_work_never_shows_progress(qtbot: QtBot, runner: OperationRunner) -> None:
    # Watched past the progress delay: it must not show after the fact either.
    with qtbot.assertNotEmitted(runner.progressShown, wait=200):
        with qtbot.waitSignal(runner.operationFinished):
            runner.run(Operation("rapide", lambda: 1))


def test_slow_work_shows_progress_then_cancel_ignores_result(
    qtbot: QtBot, runner: OperationRunner
) -> None:
    gate = threading.Event()
    results: list[object] = []
    cancelled: list[bool] = []
    discarded: list[object] = []
    op = Operation(
        "lent",
        lambda: gate.wait(5) and "résultat",
        results.append,
        on_cancel=lambda: cancelled.append(True),
        discard=discarded.append,
    )
    with qtbot.waitSignal(runner.progressShown) as shown:
        runner.run(op)
    assert shown.args == [op]
    assert runner.visible == [op]
    with qtbot.waitSignal(runner.progressHidden):
        op.cancel()
    assert cancelled == [True]
    assert op.state is OperationState.CANCELLED
    gate.set()
    qtbot.waitUntil(lambda: discarded == ["résultat"])
    assert results == []


def test_silent_work_never_shows_progress(qtbot: QtBot, runner: OperationRunner) -> None:
    gate = threading.Event()
    with qtbot.assertNotEmitted(runner.progressShown, wait=200):
        op = runner.run(Operation("silencieux", lambda: gate.wait(5), silent=True))
    with qtbot.waitSignal(runner.operationFinished):
        gate.set()
    assert op.state is OperationState.SUCCEEDED


def test_custom_executor_runs_on_that_thread(qtbot: QtBot, runner: OperationRunner) -> None:
    from dmp_desktop.smartcard.thread import CardThread

    card_thread = CardThread()
    try:
        ran_on: list[bool] = []
        with qtbot.waitSignal(runner.operationFinished):
            runner.run(
                Operation("carte", lambda: card_thread.is_current, ran_on.append),
                submit=card_thread.submit,
            )
        assert ran_on == [True]
    finally:
        card_thread.shutdown()


def test_a_cancelled_operation_lets_go_of_its_callbacks(
    qtbot: QtBot, runner: OperationRunner
) -> None:
    # The runner keeps a cancelled operation until its worker returns: its callbacks, and
    # the patient's data they hold, must not stay reachable meanwhile (card pulled).
    gate = threading.Event()
    secret = ["284057512345672"]
    cancelled: list[bool] = []
    op = Operation(
        "lent",
        lambda: gate.wait(5) and secret[0],
        lambda value: secret.append(value),
        lambda exc: secret.append(str(exc)),
        on_cancel=lambda: cancelled.append(bool(secret)),
        silent=True,
    )
    runner.run(op)
    op.cancel()
    assert cancelled == [True]  # on_cancel ran first, with what it needed
    assert op.on_success is None and op.on_failure is None and op.on_cancel is None
    assert op.work.__closure__ is None  # the worker has its own reference to the work
    assert op in runner._running.values()  # still running: the reason for letting go
    gate.set()
    qtbot.waitUntil(lambda: not runner._running)  # a cancelled operation signals no finish
    assert secret == ["284057512345672"]  # and nothing was called after the cancel


def test_an_operation_cancelled_before_it_runs_lets_go_too() -> None:
    op = Operation("jamais lancée", lambda: 1, lambda value: None)
    op.cancel()
    assert op.state is OperationState.CANCELLED
    assert op.on_success is None
