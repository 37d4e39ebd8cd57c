"""Fuzzing the training host with mutated requests (built by the real client, then mutated).

The host answers every request, however broken, with a SOAP answer or a
fault; a mutated request must never make it fail inside (``DMPInternalError``,
an exception logged by the host) and every request leaves its trace outcome.
Each request's VIHF is renewed after the mutation when the XML still parses
(the host refuses a replayed or stale assertion, see dmp_sandbox.replay).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_sandbox.demo import seed_demo
from dmp_sandbox.host import DmpHost, TraceContext
from dmp_sandbox.store import Store
from tests.support.fuzz import TRIED, fuzz_settings, mutate_content_type, mutate_xml
from tests.support.seeds import IDENTITY, Request, host_requests
from tests.support.vihf import refresh_vihf

REQUESTS = list(host_requests())


@pytest.fixture(scope="module")
def dmp_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DmpHost]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('fuzz-host') / 'host.db'}")
    seed_demo(store)
    yield DmpHost(store)
    store.close()


def fresh(body: bytes) -> bytes:
    try:
        root = xmlsafe.parse(body)
    except xmlsafe.UnsafeXmlError:
        return body
    return etree.tostring(refresh_vihf(root), xml_declaration=True, encoding="UTF-8")


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def handle(host: DmpHost, service: str, content_type: str, body: bytes) -> None:
    TRIED["requêtes à l'hôte"] += 1
    trace = TraceContext()
    errors = _Errors()
    logger = logging.getLogger("dmp_sandbox")
    logger.addHandler(errors)
    try:
        answer = host.handle(service, content_type, fresh(body), IDENTITY, trace)
    finally:
        logger.removeHandler(errors)
    assert b"DMPInternalError" not in answer.body, answer.body[:600]
    assert errors.records == [], [r.getMessage() for r in errors.records]
    assert trace.outcome is not None


@fuzz_settings(default=60)
@given(
    st.sampled_from(REQUESTS).flatmap(
        lambda request: st.tuples(st.just(request), mutate_xml(request.body))
    )
)
def test_mutated_requests_get_answers_not_internal_errors(
    dmp_host: DmpHost, case: tuple[Request, bytes]
) -> None:
    request, body = case
    handle(dmp_host, request.service, request.content_type, body)


@fuzz_settings(default=20)
@given(
    st.sampled_from(REQUESTS).flatmap(
        lambda request: st.tuples(st.just(request), mutate_content_type(request.content_type))
    )
)
def test_mangled_content_types(dmp_host: DmpHost, case: tuple[Request, str]) -> None:
    request, content_type = case
    handle(dmp_host, request.service, content_type, request.body)


def test_the_seeds_are_answered(dmp_host: DmpHost) -> None:
    assert len(REQUESTS) >= 5
    for request in REQUESTS:
        trace = TraceContext()
        answer = dmp_host.handle(
            request.service, request.content_type, fresh(request.body), IDENTITY, trace
        )
        assert answer.status == 200, (request.name, answer.body[:500])
