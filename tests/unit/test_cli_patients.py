"""The command line of the patient search: options, traits checked before any card is used."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from dmp_desktop.cli.common import Io
from dmp_desktop.cli.main import _parser, main

TRAITS = ["--birth-name", "Moreau", "--given-names", "Léa Camille", "--sex", "F"]
BIRTH = ["--birth-date", "2007-05-25"]


def test_patient_search_and_create_take_the_same_trait_options() -> None:
    search = _parser().parse_args(["patient", "search", *TRAITS, *BIRTH, "--birthplace", "85756"])
    assert (search.birth_name, search.given_names, search.sex) == ("Moreau", "Léa Camille", "F")
    assert search.birth_date == dt.date(2007, 5, 25) and search.birthplace == "85756"
    create = _parser().parse_args(["create", "--ins", "207058575627097", *TRAITS, *BIRTH])
    assert (create.nom, create.prenom, create.sexe) == ("Moreau", "Léa Camille", "F")
    assert create.naissance == dt.date(2007, 5, 25)
    old = _parser().parse_args(
        [
            "create",
            "--ins",
            "1",
            "--nom",
            "A",
            "--prenom",
            "B",
            "--sexe",
            "M",
            "--naissance",
            "2000-01-01",
        ]
    )
    assert (old.nom, old.prenom, old.sexe) == ("A", "B", "M")  # the French names still work


def test_bad_traits_exit_2_without_touching_a_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DMP_DESKTOP_CONFIG", str(tmp_path / "none.json"))
    err = io.StringIO()
    code = main(
        ["--profile", "formation", "patient", "search", *TRAITS, *BIRTH, "--birthplace", "7505"],
        io=Io(io.StringIO(), err, io.StringIO()),
        open_dmp=lambda *_a: (_ for _ in ()).throw(AssertionError("no DMP call")),
    )
    assert code == 2
    assert "code INSEE à 5 caractères" in err.getvalue()
