"""Unit-test fixtures: one run of the official CDA kit for every document the unit tests check.

Starting validate-cda compiles the CI-SIS schematrons (about 8 s here): the
documents of every module that needs the kit go through a single run. That
run is a subprocess, so it starts in the background when the tests start
running, if one of the tests selected needs it (never for ``--collect-only``
nor for a selection without kit tests), and overlaps the other tests; the
fixture waits for its result. How long the run takes is printed, never
asserted (``tests/bench/bench_cda_kit.py`` measures it).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from dmp_desktop.cda.validation import ValidationReport, validate_documents
from tests.conftest import CDA_KIT, needs_cda_kit_time, require_shared

KIT_SCRIPT = CDA_KIT / "validate-cda"
Batch = tuple[ValidationReport, float, int]
_started: list[Future[Batch]] = []


def _run_batch() -> Batch:
    from tests.unit.test_cda_conformance import kit_documents
    from tests.unit.test_patient_space_cda import documents as patient_space_documents
    from tests.unit.test_structured_documents import documents as structured_documents

    documents = kit_documents()
    extra = patient_space_documents() | structured_documents()
    assert not set(documents) & set(extra), "two modules gave the kit the same file name"
    documents.update(extra)
    start = time.perf_counter()
    report = validate_documents(documents, profile="auto")
    return report, time.perf_counter() - start, len(documents)


def _uses_kit(item: pytest.Item) -> bool:
    return "cda_kit_batch" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that read the kit's report run last, so its run overlaps the others.

    Waiting for the run is part of their set-up: they get the kit's time bound.
    """
    items.sort(key=_uses_kit)  # stable: the order within each group is kept
    for item in items:
        if _uses_kit(item):
            item.add_marker(needs_cda_kit_time)


def kit_wanted(session: pytest.Session) -> bool:
    """Will this session run a test that reads the kit's report?"""
    if session.config.option.collectonly:
        return False
    return any(_uses_kit(item) for item in session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Tests are about to run: start the kit's one run in the background if one needs it."""
    if kit_wanted(session) and KIT_SCRIPT.is_file() and not _started:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cda-kit")
        _started.append(executor.submit(_run_batch))
        executor.shutdown(wait=False)


@pytest.fixture(scope="session")
def cda_kit_batch() -> Batch:
    """(report, seconds, number of documents) of one validate-cda run over them all."""
    require_shared(KIT_SCRIPT)
    report, elapsed, count = _started[0].result() if _started else _run_batch()
    print(
        f"\nvalidate-cda: {count} documents in one run, {elapsed:.1f} s "
        f"(schematron compilation {report.seconds_compile:.1f} s)"
    )
    return report, elapsed, count
