"""Fuzzing the client's reading of SOAP answers: mutations of the official and the host's answers.

Whatever comes back, only typed errors come out: ``DmpProtocolError`` (the
answer is unreadable or unexpected), ``DmpServiceError`` (a refusal the
answer states), ``UnsafeXmlError`` (hostile XML), and for HTTP 502/503/504
the network errors those statuses mean. Every body reader is run on
every mutated body (a mutation may turn one answer into another kind), and
the whole client (``DmpClient``) reads mutated answers through an in-memory
HTTP hop. ``DMP_FUZZ_EXAMPLES=<n>`` runs longer (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from hypothesis import given
from hypothesis import strategies as st

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import iti41, iti57, td03, xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.soap import read_http_response
from dmp_desktop.dmp.td02 import parse_td02_response
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.errors import DmpProtocolError, DmpServiceError, NetworkError
from dmp_desktop.settings import Settings
from tests.support.fuzz import (
    TRIED,
    answering,
    fuzz_settings,
    mutate_content_type,
    mutate_xml,
)
from tests.support.seeds import DURAND, STRUCTURE_ID, Answer, host_answers, official_answers

# NetworkError: HTTP 502/503/504 mean "host unreachable" / "timeout" (dmp.soap), whatever the body.
TYPED = (DmpProtocolError, DmpServiceError, xmlsafe.UnsafeXmlError, NetworkError)
LEA = Ins("207058575627097", InsKind.TEST_NIR)

BODY_READERS: tuple[Callable[[object], object], ...] = (
    lambda body: parse_td02_response(body),  # type: ignore[arg-type]
    lambda body: parse_td02_response(body, requested=LEA),  # type: ignore[arg-type]
    lambda body: xds.parse_find_documents_response(body),  # type: ignore[arg-type]
    lambda body: xds.parse_find_documents_response(body, requested=LEA),  # type: ignore[arg-type]
    lambda body: xds.parse_retrieve_response(body),  # type: ignore[arg-type]
    lambda body: td03.parse_set_authorization_response(body),  # type: ignore[arg-type]
    lambda body: iti41.parse_response(body),  # type: ignore[arg-type]
    lambda body: iti57.parse_response(body),  # type: ignore[arg-type]
)


def soap_answers() -> list[Answer]:
    return [
        a
        for a in (*official_answers(), *host_answers())
        if not a.content_type.startswith("multipart/")
    ]


ANSWERS = soap_answers()


def read_everything(status: int, content_type: str, data: bytes) -> None:
    """What the client does with an answer, and every body reader on top."""
    TRIED["réponses SOAP"] += 1
    try:
        answer = read_http_response(status, content_type, data)
    except TYPED:
        return
    for reader in BODY_READERS:
        try:
            reader(answer.body)
        except TYPED:
            pass


@fuzz_settings(default=100)
@given(
    st.sampled_from(ANSWERS).flatmap(
        lambda answer: st.tuples(
            st.sampled_from((answer.status, 200, 400, 500, 503)),
            st.just(answer.content_type),
            mutate_xml(answer.body),
        )
    )
)
def test_mutated_answers_raise_only_typed_errors(case: tuple[int, str, bytes]) -> None:
    read_everything(*case)


@fuzz_settings(default=40)
@given(
    st.sampled_from(ANSWERS).flatmap(
        lambda answer: st.tuples(
            st.just(answer.status), mutate_content_type(answer.content_type), st.just(answer.body)
        )
    )
)
def test_mangled_content_types_raise_only_typed_errors(case: tuple[int, str, bytes]) -> None:
    read_everything(*case)


# --- the whole client, answers mutated on the way back -------------------------------------------


def _client(answer_for: Callable[[bytes], tuple[int, str, bytes]]) -> DmpClient:
    def handle(request: httpx.Request) -> httpx.Response:
        status, content_type, body = answer_for(request.read())
        body = answering(body, request.read())
        return httpx.Response(status, headers={"Content-Type": content_type}, content=body)

    settings = Settings(
        host_url="https://dmp.test",
        ins_kind="TEST_NIR",
        structure_id=STRUCTURE_ID,
        profile="formation",
    )
    return DmpClient(httpx.Client(transport=httpx.MockTransport(handle)), settings, DURAND)


CLIENT_CALLS: dict[str, Callable[[DmpClient], object]] = {
    "TD0.2": lambda client: client.test_existence(LEA),
    "TD3.1": lambda client: client.find_documents(xds.default_query(LEA, datetime.now(UTC).date())),
    "TD0.3": lambda client: client.set_authorization(LEA),
}


@fuzz_settings(default=40)
@given(
    st.sampled_from([a for a in ANSWERS if a.transaction in CLIENT_CALLS]).flatmap(
        lambda answer: st.tuples(st.just(answer), mutate_xml(answer.body))
    )
)
def test_the_client_reads_mutated_answers_with_typed_errors(case: tuple[Answer, bytes]) -> None:
    answer, body = case
    TRIED["client DMP"] += 1
    with _client(lambda _request: (answer.status, answer.content_type, body)) as client:
        try:
            CLIENT_CALLS[answer.transaction](client)
        except TYPED:
            pass


SEED_READERS: dict[str, Callable[[object], object]] = {
    "TD0.2": lambda body: parse_td02_response(body, requested=LEA),  # type: ignore[arg-type]
    "TD3.1": BODY_READERS[2],
    "TD3.2": BODY_READERS[4],
    "TD0.3": BODY_READERS[5],
    "TD2.1": BODY_READERS[6],
    "TD3.3": BODY_READERS[7],
}


def test_the_seeds_are_read_as_they_are() -> None:
    """The unmutated answers are readable: the fuzzing starts from valid messages."""
    assert len(ANSWERS) >= 10
    for answer in ANSWERS:
        try:
            body = read_http_response(answer.status, answer.content_type, answer.body).body
        except DmpServiceError:
            assert answer.transaction == "fault"
            continue
        try:
            SEED_READERS[answer.transaction[:5]](body)  # TD3.3a -> TD3.3
        except DmpProtocolError as exc:  # TD0.2 about another patient than Léa
            assert exc.reason == "the answer is about another patient", answer.name
