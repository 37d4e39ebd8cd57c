"""The parapheur end to end, through the real ``dmp`` command: the secretary's SoftHSM card
(CPE-BERNARD) prepares an upload for Dr Durand, Dr Durand's card (CPS3-DURAND) reviews and
signs it, the secretary's session sends it; the training host, over real mutual TLS, checks
that the XAdES signer is the professional she feeds for and records who fed it.

Both ways of sending are run: left signed and sent by the secretary (« dmp outbox
--resume »), and « dmp outbox --sign --send » by the doctor himself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_desktop.settings import save_settings
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.e2e.test_cli_alimentation import IDENTITY, LEA, PDF, VISIBLE, dmp
from tests.host.test_alimentation_wire import submission_of

pytestmark = pytest.mark.e2e

SECRETARY = ("CPE-BERNARD", "1111")
DURAND = ("CPS3-DURAND", "1234")
MARTIN = ("CPS4-MARTIN", "4321")
DURAND_ID = "899700433153"
STAFF_ID = "3499700433153007/SEC0001"


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture
def config(training_env: TrainingEnv, host: RunningHost, tmp_path: Path) -> Path:
    """One practice computer: the secretary and the doctor share its (encrypted) outbox."""
    path = tmp_path / "settings.json"
    settings = dataclasses.replace(
        training_env.client_settings(), host_url=host.url, data_dir=str(tmp_path / "data")
    )
    save_settings(settings, path)
    return path


def prepare(config: Path, tmp_path: Path, title: str) -> dict[str, str]:
    path = tmp_path / f"{title}.pdf"
    path.write_bytes(PDF.replace(b"formation", title.encode()))
    result = dmp(
        config,
        "upload",
        str(path),
        "--ins",
        LEA.ins.value,
        "--type",
        "11488-4",
        "--title",
        title,
        "--on-behalf-of",
        DURAND_ID,
        *VISIBLE,
        *IDENTITY,
        "--json",
        card=SECRETARY,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert isinstance(answer, dict)
    return answer


def uploads_since(host: RunningHost, before: int) -> list[tuple[str, str]]:
    return [
        (t.professional_national_id, t.outcome)
        for t in host.store.traces(after_id=before)
        if t.transaction == "TD2.1"
    ]


def test_secretary_prepares_durand_signs_secretary_sends(
    host: RunningHost, config: Path, tmp_path: Path
) -> None:
    before = host.store.last_trace_id()
    item = prepare(config, tmp_path, "Courrier du parapheur")
    assert (item["state"], item["signer"]) == ("to_sign", DURAND_ID)
    assert uploads_since(host, before) == []  # checked (TD0.2), nothing sent

    mine = dmp(config, "outbox", card=SECRETARY)
    assert mine.returncode == 0, mine.stderr
    assert f"{item['outbox']}  à signer par Dr Marie DURAND" in mine.stdout
    # Her session cannot send it before the signature: nothing leaves.
    early = dmp(config, "outbox", "--resume", card=SECRETARY)
    assert early.returncode == 0, early.stderr
    assert "attendent la signature du professionnel" in early.stdout
    # Dr Martin's card is told nothing and signs nothing.
    martin = dmp(config, "outbox", "--sign", "--yes", card=MARTIN)
    assert martin.returncode == 0, martin.stderr
    assert "Aucun envoi préparé par le secrétariat n'attend votre signature" in martin.stdout
    assert uploads_since(host, before) == []

    told = dmp(config, "outbox", card=DURAND)
    assert told.returncode == 0, told.stderr
    assert "1 envoi préparé par le secrétariat attend votre signature" in told.stdout
    assert "« Courrier du parapheur »" in told.stdout
    assert "préparé par Sophie BERNARD" in told.stdout
    refused = dmp(config, "outbox", "--sign", card=DURAND, stdin="1234\nnon\n")
    assert refused.returncode == 2 and "Rien n'a été signé" in refused.stderr
    signed = dmp(config, "outbox", "--sign", card=DURAND, stdin="1234\noui\n")
    assert signed.returncode == 0, signed.stderr
    assert f"{item['outbox']}  signé par Dr Marie DURAND, en attente d'envoi" in signed.stdout
    assert uploads_since(host, before) == []  # signed, not sent

    sent = dmp(config, "outbox", "--resume", card=SECRETARY)
    assert sent.returncode == 0, sent.stderr
    assert f"{item['outbox']}  reçu par le DMP (identifiant : {item['unique_id']})" in sent.stdout
    assert uploads_since(host, before) == [(STAFF_ID, "OK")]
    again = dmp(config, "outbox", "--resume", card=SECRETARY)
    assert "rien à reprendre" in again.stdout  # gone from the outbox: never sent twice
    assert uploads_since(host, before) == [(STAFF_ID, "OK")]

    # The host: fed by the secretary (submission set, VIHF), signed by Dr Durand.
    submission = submission_of(host, item["unique_id"])
    assert submission.submitter_national_id == STAFF_ID
    assert [a["national_id"] for a in submission.authors] == [STAFF_ID]
    assert submission.signer_national_id == DURAND_ID and submission.signature_verified
    # Dr Durand finds it as his document.
    listed = dmp(config, "list", "--ins", LEA.ins.value, "--json", "--all-dates", card=DURAND)
    assert listed.returncode == 0, listed.stderr
    (document,) = [d for d in json.loads(listed.stdout) if d["unique_id"] == item["unique_id"]]
    assert document["title"] == "Courrier du parapheur"
    assert DURAND_ID in json.dumps(document["authors"])


def test_durand_signs_and_sends_in_one_go(host: RunningHost, config: Path, tmp_path: Path) -> None:
    first = prepare(config, tmp_path, "Premier courrier")
    second = prepare(config, tmp_path, "Second courrier")
    before = host.store.last_trace_id()
    result = dmp(config, "outbox", "--sign", "--send", "--yes", card=DURAND)
    assert result.returncode == 0, result.stderr
    assert "2 envois préparés par le secrétariat attendent votre signature" in result.stdout
    for item in (first, second):
        assert f"{item['outbox']}  signé, reçu par le DMP" in result.stdout
        submission = submission_of(host, item["unique_id"])
        assert (submission.submitter_national_id, submission.signer_national_id) == (
            DURAND_ID,
            DURAND_ID,
        )
    assert uploads_since(host, before) == [(DURAND_ID, "OK"), (DURAND_ID, "OK")]
    empty = dmp(config, "outbox", card=SECRETARY)
    assert "Aucun envoi en attente pour votre carte" in empty.stdout
