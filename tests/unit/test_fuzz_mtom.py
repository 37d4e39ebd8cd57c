"""Fuzzing MTOM (multipart/related) answers: the training host's TD3.2 answers and the official one.

The MIME structure is mutated (boundaries, headers, parts, truncation), the
root part's XML too, and the Content-Type header is mangled. Reading goes
through what the client does (``parse_mtom``, the envelope, the
``RetrieveDocumentSetResponse``, the integrity check against the registry
entry, and the whole ``DmpClient.retrieve_document``); only
``DmpProtocolError``, ``DmpServiceError`` or ``UnsafeXmlError`` may come out.
"""

from __future__ import annotations

import dataclasses

import httpx
from hypothesis import given
from hypothesis import strategies as st

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.mtom import parse_mtom
from dmp_desktop.dmp.soap import parse_envelope, read_http_response
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from dmp_desktop.settings import Settings
from tests.support.fuzz import (
    TRIED,
    answering,
    fuzz_settings,
    mutate_bytes,
    mutate_content_type,
    mutate_xml,
)
from tests.support.seeds import DURAND, STRUCTURE_ID, Answer, official_answers, recording

TYPED = (DmpProtocolError, DmpServiceError, xmlsafe.UnsafeXmlError)

MTOM_ANSWERS = [
    a
    for a in (*official_answers(), *recording().answers)
    if a.content_type.startswith("multipart/")
]
RETRIEVED = list(recording().retrieved)


def read_mtom(content_type: str, body: bytes, entry: DocumentEntry | None = None) -> None:
    TRIED["réponses MTOM"] += 1
    try:
        read_http_response(200, content_type, body)  # the SOAP reader's own multipart path
    except TYPED:
        pass
    try:
        message = parse_mtom(content_type, body)
        answer = parse_envelope(message.root)
        result = xds.parse_retrieve_response(answer.body, message)
        if entry is not None:
            for document in result.documents:
                xds.check_integrity(entry, document)
    except TYPED:
        pass


def _root_mutated(answer: Answer) -> st.SearchStrategy[bytes]:
    """The same MIME message with its XML root part mutated."""
    root = parse_mtom(answer.content_type, answer.body).root
    return mutate_xml(root).map(lambda new: answer.body.replace(root, new, 1))


@fuzz_settings(default=70)
@given(
    st.sampled_from(MTOM_ANSWERS).flatmap(
        lambda answer: st.tuples(
            mutate_content_type(answer.content_type),
            st.one_of(mutate_bytes(answer.body), _root_mutated(answer)),
        )
    )
)
def test_mutated_multiparts_raise_only_typed_errors(case: tuple[str, bytes]) -> None:
    read_mtom(*case)


@fuzz_settings(default=30)
@given(
    st.sampled_from(RETRIEVED).flatmap(
        lambda pair: st.tuples(
            st.just(pair[0]),
            st.just(pair[1].content_type),
            st.one_of(mutate_bytes(pair[1].body), _root_mutated(pair[1])),
        )
    )
)
def test_the_client_retrieves_mutated_documents_with_typed_errors(
    case: tuple[DocumentEntry, str, bytes],
) -> None:
    entry, content_type, body = case
    TRIED["client DMP (TD3.2)"] += 1

    def handle(request: httpx.Request) -> httpx.Response:
        patched = answering(body, request.read())
        return httpx.Response(200, headers={"Content-Type": content_type}, content=patched)

    settings = Settings(
        host_url="https://dmp.test",
        ins_kind="TEST_NIR",
        structure_id=STRUCTURE_ID,
        profile="formation",
    )
    http = httpx.Client(transport=httpx.MockTransport(handle))
    with DmpClient(http, settings, DURAND) as client:
        try:
            document = client.retrieve_document(entry)
        except TYPED:
            return
    # Accepted: exactly the registered bytes (size and SHA-1 checked by the client).
    assert entry.size is None or len(document.content) == entry.size


def test_the_seeds_are_read_as_they_are() -> None:
    assert len(MTOM_ANSWERS) >= 5 and RETRIEVED
    for entry, answer in RETRIEVED:
        message = parse_mtom(answer.content_type, answer.body)
        result = xds.parse_retrieve_response(parse_envelope(message.root).body, message)
        for document in result.documents:
            xds.check_integrity(entry, document)
    tampered = dataclasses.replace(RETRIEVED[0][0], hash_sha1="0" * 40)
    message = parse_mtom(RETRIEVED[0][1].content_type, RETRIEVED[0][1].body)
    result = xds.parse_retrieve_response(parse_envelope(message.root).body, message)
    try:
        xds.check_integrity(tampered, result.documents[0])
    except DmpProtocolError:
        pass
    else:
        raise AssertionError("a document that does not match its hash must be refused")
