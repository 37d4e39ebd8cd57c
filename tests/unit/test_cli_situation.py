"""``dmp … --situation STRUCTURE``: a card with several practice situations, chosen on the
command line (the window has its dialog). The real CardManager over the fake token (the
same ``CPS_ACTIVITY_nn_PS`` objects as a real card, behind the PIN); the DMP client is a
stub that records who the card holder acts as (``connect.card_practitioner``, as
``open_dmp`` does).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from dmp_desktop.cli.common import Io
from dmp_desktop.cli.main import main
from dmp_desktop.connect import card_practitioner
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.settings import Settings, save_settings
from dmp_desktop.smartcard import card as card_module
from dmp_sandbox.cards import Situation
from tests.unit.test_smartcard_fakes import (
    FakeLib,
    FakeReader,
    doctor_card,
    fake_loader,
    fake_module,
)

PIN = "2468"
CABINET = Situation("499700433177001", "CABINET DR LEROY", "SA07")
CENTRE = Situation("1690009998", "CENTRE HOSPITALIER DE FORMATION", "SA01")
INS = "207058575627097"


class StubClient:
    def __init__(self, settings: Settings, session: Any) -> None:
        self.practitioner = card_practitioner(settings, session)

    def test_existence(self, ins: Ins, purpose: str = "normal", **_kw: object) -> DmpStatus:
        return DmpStatus(ins, DmpState.ACTIVE, Authorization.VALIDE)

    def close(self) -> None:
        pass


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    settings = Settings(
        host_url="https://localhost:8443",
        training_mode=True,
        ins_kind="TEST_NIR",
        data_dir=str(tmp_path / "data"),
        structure_id="",  # nothing remembered: the card's situations must be chosen
    )
    save_settings(settings, path)
    return path


@pytest.fixture
def cards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeLib:
    lib = FakeLib([FakeReader(0, "Lecteur du cabinet")])
    lib.insert(doctor_card(pin=PIN, specialty="SM26", situations=(CABINET, CENTRE)))
    module = fake_module(tmp_path)
    real = card_module.CardManager
    monkeypatch.setattr(
        card_module, "CardManager", lambda _c: real([module], loader=fake_loader(lib, module))
    )
    return lib


def run(config: Path, *options: str) -> tuple[int, str, list[StubClient]]:
    opened: list[StubClient] = []

    def open_dmp(settings: Settings, session: Any) -> StubClient:
        opened.append(StubClient(settings, session))
        return opened[-1]

    out, err = io.StringIO(), io.StringIO()
    argv = ["--config", str(config), "status", "--ins", INS, "--pin-stdin", *options]
    code = main(argv, io=Io(out, err, io.StringIO(PIN + "\n")), open_dmp=open_dmp)
    return code, err.getvalue(), opened


@pytest.mark.usefixtures("cards")
def test_the_situation_is_chosen_on_the_command_line(config: Path) -> None:
    code, err, (client,) = run(config, "--situation", CENTRE.structure_id)
    assert code == 0, err
    who = client.practitioner
    assert (who.structure_id, who.structure_name, who.activity_sector) == (
        "1690009998",
        "CENTRE HOSPITALIER DE FORMATION",
        "SA01",
    )
    code, err, (client,) = run(config, "--situation", f" {CABINET.structure_id} ")
    assert code == 0, err
    assert client.practitioner.structure_id == CABINET.structure_id


@pytest.mark.usefixtures("cards")
def test_without_a_choice_the_command_says_how_to_choose(config: Path) -> None:
    code, err, opened = run(config)
    assert code == 3 and opened == []  # a card problem: nothing asked of the DMP
    assert "plusieurs situations d'exercice" in err
    assert "CABINET DR LEROY (499700433177001)" in err
    assert "--situation" in err


@pytest.mark.usefixtures("cards")
def test_an_unknown_situation_is_a_usage_error_listing_the_cards(config: Path) -> None:
    code, err, opened = run(config, "--situation", "123456789")
    assert code == 2 and opened == []
    assert "pas de situation d'exercice pour la structure « 123456789 »" in err
    assert "CENTRE HOSPITALIER DE FORMATION (1690009998)" in err


def test_the_option_is_offered_by_every_card_command() -> None:
    from dmp_desktop.cli.main import parse_arguments

    for argv in (
        ["status", "--ins", INS],
        ["list", "--ins", INS],
        ["outbox"],
        ["essentials", "--ins", INS],
    ):
        args = parse_arguments([*argv, "--situation", "1690009998"])
        assert args.situation == "1690009998"
