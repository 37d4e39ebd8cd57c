"""The dmp-sandbox command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dmp_sandbox.__main__ import main
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.store import Store
from dmp_sandbox.training import TrainingEnv, default_root
from tests.host.conftest import DURAND
from tests.host.wire import ClientIdentity, TlsClient, client_context, td02_request

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dmp_actors.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DMP_TRAINING_DIR", str(tmp_path / "ici"))
    assert default_root() == tmp_path / "ici"
    monkeypatch.delenv("DMP_TRAINING_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_root() == tmp_path / "data" / "dmp-desktop" / "training"


def test_seed_demo_into_a_database_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'autre.db'}"
    assert main(["seed", "--demo", "--db", url]) == 0
    assert main(["seed", "--demo", "--db", url]) == 0  # idempotent
    out = capsys.readouterr().out
    for patient in demo_patients():
        assert patient.ins.value in out
    assert "Moreau".upper() in out and "INTERDIT" in out and "EXPIRE" in out
    with Store(url) as store, store.session() as session:
        from sqlalchemy import func, select

        from dmp_sandbox.store import Patient

        assert session.scalar(select(func.count()).select_from(Patient)) == len(demo_patients())


def test_usage_errors_are_french(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    assert "Précisez" in capsys.readouterr().err
    assert main(["serve", "--dir", str(tmp_path / "vide")]) == 2
    assert "introuvable" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "Hôte DMP de formation" in capsys.readouterr().out


def test_pki_init_and_first_ins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "init", str(tmp_path / "pki")]) == 0
    assert (tmp_path / "pki" / "host-chain.pem").is_file()
    assert main(["demo", "first-ins"]) == 0
    assert capsys.readouterr().out.strip().endswith(demo_patients()[0].ins.value)


def test_card_create_in_its_own_softhsm(tmp_path: Path, softhsm_available: None) -> None:
    # In a subprocess: this process's PKCS#11 library stays on the session's cards.
    assert main(["pki", "init", str(tmp_path / "pki")]) == 0
    result = _run(
        "card", "create", "--dir", str(tmp_path), "--label", "CPS3-TEST",
        "--national-id", "899700000042", "--family", "Petit", "--given", "Jean",
        "--pin", "1234",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "CPS3-TEST" in result.stdout
    slots = subprocess.run(
        ["softhsm2-util", "--show-slots"],
        capture_output=True,
        text=True,
        env={**os.environ, "SOFTHSM2_CONF": str(tmp_path / "softhsm" / "softhsm2.conf")},
        check=True,
    )
    assert "CPS3-TEST" in slots.stdout


def test_serve_prints_url_answers_and_stops_on_sigterm(
    training_env: TrainingEnv, durand: ClientIdentity, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    assert main(["seed", "--demo", "--db", db]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "dmp_actors.cli", "serve", "--dir", str(training_env.root),
         "--db", db, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "prêt" in line, line + (proc.stderr.read() if proc.stderr else "")
        url = line.strip().rsplit(" ", 1)[-1]
        port = int(url.rsplit(":", 1)[-1])
        assert url == f"https://localhost:{port}"
        assert _run("wait-ready", "--port", str(port), "--timeout", "5").returncode == 0
        client = TlsClient(port, client_context(training_env.pki.trust_roots, durand))
        reply = client.post(td02_request(DURAND, demo_patients()[0].ins.value)[0])
        assert reply.status == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "arrêté" in out
    assert demo_patients()[0].ins.value not in err  # no patient data in the logs
    assert "TD0.2" in err  # the host's own line for the request
    assert "POST /si-dmp-server" not in err  # no HTTP access line unless --access-log
    with Store(db) as store:
        assert [t.outcome for t in store.traces()] == ["OK"]


def test_demo_init_info_and_refusal_to_overwrite(tmp_path: Path, softhsm_available: None) -> None:
    env_dir = tmp_path / "formation"
    result = _run("demo", "init", "--dir", str(env_dir), "--port", "9443")
    assert result.returncode == 0, result.stderr
    assert "CPS3-DURAND" in result.stdout and "207058575627097" in result.stdout
    assert (env_dir / "settings.json").is_file() and (env_dir / "host.db").is_file()
    assert '"host_url": "https://localhost:9443"' in (env_dir / "settings.json").read_text()
    with Store(TrainingEnv(env_dir).db_url) as store, store.session() as session:
        assert store.find_patient(session, "207058575627097", "1.2.250.1.213.1.4.10")
    info = _run("demo", "info", env={"DMP_TRAINING_DIR": str(env_dir)})
    assert info.returncode == 0 and "Chevalier".upper() in info.stdout
    again = _run("demo", "init", "--dir", str(env_dir))
    assert again.returncode == 1 and "--force" in again.stderr


def test_wait_ready_times_out(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["wait-ready", "--port", str(port), "--timeout", "0.3"]) == 1
