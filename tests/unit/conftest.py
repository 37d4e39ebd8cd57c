"""Unit-test fixtures: one run of the official CDA kit for every document the unit tests check.

Starting validate-cda compiles the CI-SIS schematrons (about 8 s here): the
documents of every module that needs the kit go through a single run.
"""

from __future__ import annotations

import time

import pytest

from dmp_desktop.cda.validation import ValidationReport, validate_documents
from tests.conftest import CDA_KIT, require_shared


@pytest.fixture(scope="session")
def cda_kit_batch() -> tuple[ValidationReport, float, int]:
    """(report, seconds, number of documents) of one validate-cda run over them all."""
    require_shared(CDA_KIT / "validate-cda")
    from tests.unit.test_cda_conformance import kit_documents
    from tests.unit.test_patient_space_cda import documents as patient_space_documents

    documents = kit_documents()
    extra = patient_space_documents()
    assert not set(documents) & set(extra), "two modules gave the kit the same file name"
    documents.update(extra)
    start = time.perf_counter()
    report = validate_documents(documents, profile="auto")
    elapsed = time.perf_counter() - start
    print(
        f"\nvalidate-cda: {len(documents)} documents in one run, {elapsed:.1f} s "
        f"(schematron compilation {report.seconds_compile:.1f} s)"
    )
    return report, elapsed, len(documents)
