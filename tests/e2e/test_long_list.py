"""A long list over the real wire: the real client (SoftHSM card, mutual TLS with
tlslite-ng) asks a host answering a canned ITI-18 answer of several MiB.

Longer than one piece (1 MiB), the answer is parsed by the compiled reader in a
thread of its own while the next bytes arrive (``client._FeedingThread``): the
entries must be those of the pure-Python reading of the same bytes, an answer
that turns hostile after its first pieces must give the same typed error, and
the thread must be gone afterwards, whatever happened.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_desktop.connect import open_dmp
from dmp_desktop.dmp import client as dmp_client
from dmp_desktop.dmp import xds
from dmp_desktop.domain.document import DocumentQuery
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.errors import DmpProtocolError
from dmp_desktop.smartcard import CardManager
from dmp_sandbox.training import TrainingEnv
from tests.bench.support import RELATES_TO_PLACEHOLDER, canned_host
from tests.support.big_answer import OFFICIAL_INS, find_documents_answer
from tests.unit.test_ebrimscan import _require_compiled

pytestmark = pytest.mark.e2e

ENTRIES = 400  # about 2.8 MB: three pieces


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("long-list")
    good = find_documents_answer(ENTRIES, relates_to=RELATES_TO_PLACEHOLDER.decode())
    last = good.rindex(b"</ns4:ExtrinsicObject>")
    nested = good[:last] + good[good.index(b"<ns4:ExtrinsicObject") : last] + good[last:]
    files = {"good": good, "nested at the end": nested, "truncated": good[: len(good) - 4000]}
    paths = {}
    for name, data in files.items():
        path = directory / f"{name.replace(' ', '-')}.xml"
        path.write_bytes(data)
        paths[name] = path
    return paths


@pytest.fixture
def counted_threads(monkeypatch: pytest.MonkeyPatch) -> list[dmp_client._FeedingThread]:
    made: list[dmp_client._FeedingThread] = []

    class Counted(dmp_client._FeedingThread):
        def __init__(self, sink: object) -> None:
            super().__init__(sink)
            made.append(self)

    monkeypatch.setattr(dmp_client, "_FeedingThread", Counted)
    return made


@pytest.fixture
def find(training_env: TrainingEnv, card_manager: CardManager) -> Iterator[object]:
    card = next(c for c in card_manager.list_cards() if c.token_label == "CPS3-DURAND")
    session = card_manager.login(card, "1234")

    def find(answer: Path) -> object:
        with canned_host(training_env.pki, {xds.ACTION_FIND: answer}) as url:
            settings = dataclasses.replace(training_env.client_settings(), host_url=url)
            client = open_dmp(settings, session)
            try:
                return client.find_documents(
                    DocumentQuery(patient=Ins(OFFICIAL_INS, InsKind.TEST_NIR))
                )
            except DmpProtocolError as exc:
                return ("DmpProtocolError", str(exc))
            finally:
                client.close()

    yield find
    session.close()


def _parsing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dmp-parse"]


def test_a_long_list_is_parsed_in_its_own_thread_and_read_alike(
    find: object,
    answers: dict[str, Path],
    counted_threads: list[object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _require_compiled()
    entries = find(answers["good"])  # type: ignore[operator]
    assert isinstance(entries, list) and len(entries) == ENTRIES
    assert len(counted_threads) == 1 and not _parsing_threads()
    monkeypatch.setenv("DMP_DESKTOP_PURE_PYTHON", "1")
    assert find(answers["good"]) == entries  # type: ignore[operator]
    assert len(counted_threads) == 1  # the lxml reading parses where it receives


@pytest.mark.parametrize("name", ["nested at the end", "truncated"])
def test_a_long_answer_gone_wrong_is_refused_alike(
    find: object,
    answers: dict[str, Path],
    counted_threads: list[object],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    _require_compiled()
    outcome = find(answers[name])  # type: ignore[operator]
    assert isinstance(outcome, tuple) and outcome[0] == "DmpProtocolError", outcome
    assert len(counted_threads) == 1 and not _parsing_threads()
    monkeypatch.setenv("DMP_DESKTOP_PURE_PYTHON", "1")
    assert find(answers[name]) == outcome  # type: ignore[operator]
