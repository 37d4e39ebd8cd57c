"""``dmp patient search`` (INSi then TD0.5) and ``dmp patients`` (TD0.4), end to end.

The real ``dmp`` command in a subprocess, Dr Durand's SoftHSM card (it signs the
TLS handshake and, for INSi, the professional's assertion with its signature
key), the training host over real mutual TLS with the demo patients and the
training INSi base (a homonym of Julien LEFEBVRE makes the 02 answer happen).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_desktop.domain.summary import Gender, summary_to_json
from dmp_desktop.settings import save_settings
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.support.cda_samples import minimal_summary
from tests.support.cli import run_dmp

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
LEA = PATIENTS["actif-autorise"]
JULIEN = PATIENTS["actif-sans-autorisation"]
EMMA = PATIENTS["mineur"]
HOMONYM_INS = "182115935018727"
# No system keyring here: the training-mode key file encrypts the local data.
KEYLESS = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def config(
    training_env: TrainingEnv, host: RunningHost, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The training client on this host, with its own local data (recent patients, outbox)."""
    folder = tmp_path_factory.mktemp("cli")
    settings = dataclasses.replace(
        training_env.client_settings(), host_url=host.url, data_dir=str(folder / "data")
    )
    save_settings(settings, folder / "settings.json")
    return folder / "settings.json"


def dmp(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_dmp(config, *args, env=KEYLESS)


def search(config: Path, *traits: str, as_json: bool = True) -> tuple[int, dict | str, str]:
    args = ["patient", "search", *traits, *(["--json"] if as_json else [])]
    result = dmp(config, *args)
    out: dict | str = json.loads(result.stdout) if as_json and result.stdout else result.stdout
    return result.returncode, out, result.stderr


def lefebvre(*more: str) -> tuple[str, ...]:
    return ("--birth-name", "LEFEBVRE", "--sex", "M", "--birth-date", "1982-11-02", *more)


def test_00_gives_the_qualified_identity_then_her_dmp(config: Path, host: RunningHost) -> None:
    before = host.store.last_trace_id()
    code, out, err = search(
        config,
        *("--birth-name", "Moreau", "--given-names", "Léa", "--sex", "F"),
        *("--birth-date", "2007-05-25"),
    )
    assert code == 0, err
    assert isinstance(out, dict)
    insi = out["insi"]
    assert insi["code"] == "00" and insi["advice"] == ""
    identity = insi["identity"]
    assert identity["ins"] == LEA.ins.value and identity["ins_oid"] == LEA.ins.oid
    assert identity["qualified"] and identity["source"] == "insi"
    assert identity["birth_name"] == "MOREAU" and identity["given_names"] == ["LEA", "CAMILLE"]
    assert (identity["sex"], identity["birth_date"], identity["birthplace"]) == (
        "F",
        "2007-05-25",
        "85756",
    )
    assert [(d["ins"], d["dmp"], d["differs_from_insi"]) for d in out["dmp"]] == [
        (LEA.ins.value, "active", False)
    ]
    transactions = [t.transaction for t in host.store.traces(after_id=before)]
    assert transactions == ["INSi", "TD0.5"]


def test_00_in_plain_french(config: Path) -> None:
    code, out, _err = search(
        config, *("--birth-name", "MOREAU", "--given-names", "LEA", "--sex", "F"),
        *("--birth-date", "2007-05-25"), as_json=False,
    )  # fmt: skip
    assert code == 0
    assert isinstance(out, str)
    assert "INSi : une identité trouvée (00). Identité qualifiée" in out
    assert "Nom de naissance : MOREAU" in out and "Prénom(s) de naissance : LEA CAMILLE" in out
    assert "Lieu de naissance : 85756" in out
    assert "MOREAU Léa, née le 25/05/2007 — DMP actif" in out


def test_02_asks_for_more_traits_then_00(config: Path) -> None:
    code, out, _err = search(config, *lefebvre("--given-names", "JULIEN"))
    assert code == 1 and isinstance(out, dict)
    assert out["insi"]["code"] == "02" and out["insi"]["identity"] is None
    assert (
        "autres prénoms" in out["insi"]["advice"] and "lieu de naissance" in out["insi"]["advice"]
    )
    # The DMP knows one Julien LEFEBVRE born that day.
    assert [d["ins"] for d in out["dmp"]] == [JULIEN.ins.value]

    # The other first names of his identity card tell them apart...
    code, out, _err = search(config, *lefebvre("--given-names", "JULIEN ANDRE"))
    assert code == 0 and isinstance(out, dict)
    assert out["insi"]["identity"]["ins"] == JULIEN.ins.value
    assert out["insi"]["identity"]["given_names"] == ["JULIEN", "ANDRE", "MARIE"]
    assert [(d["ins"], d["differs_from_insi"]) for d in out["dmp"]] == [(JULIEN.ins.value, False)]

    # ... and so does the birthplace: the homonym, whom the DMP does not know.
    code, out, _err = search(config, *lefebvre("--given-names", "JULIEN", "--birthplace", "59350"))
    assert code == 0 and isinstance(out, dict)
    assert out["insi"]["identity"]["ins"] == HOMONYM_INS
    # The DMP's Julien LEFEBVRE is not this one: flagged.
    assert [(d["ins"], d["differs_from_insi"]) for d in out["dmp"]] == [(JULIEN.ins.value, True)]


def test_01_says_what_to_try(config: Path) -> None:
    code, out, _err = search(
        config, *("--birth-name", "MOREAU", "--given-names", "LEA", "--sex", "F"),
        *("--birth-date", "2007-05-26"), as_json=False,
    )  # fmt: skip
    assert code == 1 and isinstance(out, str)
    assert "INSi : aucune identité trouvée (01)." in out
    assert "nom de naissance (et non le nom d'usage)" in out
    assert "DMP (TD0.5) : aucun DMP avec ces traits." in out


def test_bad_traits_are_refused_before_anything_is_sent(config: Path, host: RunningHost) -> None:
    before = host.store.last_trace_id()
    code, _out, err = search(
        config, *lefebvre("--given-names", "JULIEN", "--birthplace", "750"), as_json=False
    )
    assert code == 2 and "code INSEE à 5 caractères" in err
    code, _out, err = search(config, *lefebvre("--given-names", "JULIEN", "--sex", "X"))
    assert code == 2
    assert host.store.traces(after_id=before) == []


def test_my_dmp_patients(config: Path) -> None:
    result = dmp(config, "patients", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["ins"] for r in rows] == [EMMA.ins.value, LEA.ins.value]  # by name
    lea = rows[1]
    assert lea["treating_physician"] and lea["birth_date"] == "2007-05-25"
    assert lea["qualified"] is False and lea["source"] == "dmp"
    result = dmp(config, "patients", "--filter", "mor")
    assert result.returncode == 0
    assert "1 DMP sur lesquels vous êtes autorisé" in result.stdout
    assert "MOREAU Léa, née le 25/05/2007 · médecin traitant DMP" in result.stdout
    assert "CHEVALIER" not in result.stdout


# --- nothing is sent for another patient -------------------------------------------------------

PDF = b"%PDF-1.4\n% compte rendu\n%%EOF\n"
LEA_TRAITS = ("--birth-date", "2007-05-25", "--sex", "F", "--birthplace", "85756")


def upload(config: Path, pdf: Path, *traits: str) -> subprocess.CompletedProcess[str]:
    return dmp(
        config,
        *("upload", str(pdf), "--ins", LEA.ins.value, "--type", "11488-4"),
        *("--not-masked", "--visible-patient", "--visible-legal-reps", "--json"),
        *traits,
    )


def uploads_reaching(host: RunningHost, since: int) -> list[str]:
    return [
        t.transaction or "" for t in host.store.traces(after_id=since) if t.transaction == "TD2.1"
    ]


def test_an_upload_naming_another_patient_is_refused_before_sending(
    config: Path, host: RunningHost, tmp_path: Path
) -> None:
    pdf = tmp_path / "cr.pdf"
    pdf.write_bytes(PDF)
    before = host.store.last_trace_id()
    # The case: Léa MOREAU's INS, « DUPONT, masculin, né en 1990 ».
    result = upload(
        config,
        pdf,
        *("--birth-name", "DUPONT", "--given-names", "LEA", "--sex", "M"),
        *("--birth-date", "1990-01-01", "--birthplace", "85756"),
    )
    assert result.returncode == 1, result.stderr
    assert "Envoi refusé, identité incohérente : le nom de naissance" in result.stderr
    # birth date, sex (and the first names when an earlier INSi search gave them all)
    assert "autre(s) trait(s) différent(s))" in result.stderr
    assert "« DUPONT » ; identité INS : « MOREAU »" in result.stderr  # values for the professional
    assert uploads_reaching(host, before) == []  # nothing reached the DMP
    outbox = dmp(config, "outbox", "--json")
    assert json.loads(outbox.stdout or "[]") == []  # nor waits to be sent


def test_after_insi_the_qualified_identity_is_the_reference(
    config: Path, host: RunningHost, tmp_path: Path
) -> None:
    code, _out, _err = search(
        config, *("--birth-name", "MOREAU", "--given-names", "LEA", "--sex", "F"),
        *("--birth-date", "2007-05-25"),
    )  # fmt: skip
    assert code == 0
    pdf = tmp_path / "cr.pdf"
    pdf.write_bytes(PDF)
    before = host.store.last_trace_id()
    # INSi gave all her birth first names: the first one alone no longer passes.
    result = upload(config, pdf, "--birth-name", "MOREAU", "--given-names", "LEA", *LEA_TRAITS)
    assert result.returncode == 1
    assert "le(s) prénom(s) de naissance" in result.stderr
    assert uploads_reaching(host, before) == []
    result = upload(
        config, pdf, "--birth-name", "MOREAU", "--given-names", "LEA CAMILLE", *LEA_TRAITS
    )
    assert result.returncode == 0, result.stderr
    assert uploads_reaching(host, before) == ["TD2.1"]


def test_a_vsm_naming_another_patient_is_refused(
    config: Path, host: RunningHost, tmp_path: Path
) -> None:
    summary = minimal_summary()
    summary.patient = dataclasses.replace(
        summary.patient,
        ins=LEA.ins,
        birth_family_name="DUPONT",
        birth_given_names=["LEA"],
        gender=Gender.MALE,
        birth_date=dt.date(1990, 1, 1),
        birthplace_code="85756",
    )
    source = tmp_path / "summary.json"
    source.write_text(summary_to_json(summary), encoding="utf-8")
    before = host.store.last_trace_id()
    result = dmp(
        config,
        *("vsm", "send", "--from", str(source), "--ins", LEA.ins.value),
        *("--not-masked", "--visible-patient", "--visible-legal-reps"),
    )
    assert result.returncode == 1
    assert "identité incohérente" in result.stderr and "en-tête CDA" in result.stderr
    assert uploads_reaching(host, before) == []
