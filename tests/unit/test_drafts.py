"""VSM drafts: encrypted, named by a keyed hash, autosaved in order, and they survive kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins, InsKind, nir_key
from dmp_desktop.domain.summary import Gender, Problem, summary_to_dict
from dmp_desktop.errors import describe
from dmp_desktop.services.drafts import (
    DraftAutosaver,
    DraftStore,
    DraftUnreadableError,
    PatientHeader,
    VsmDraft,
)
from dmp_desktop.services.operations import OperationRunner
from dmp_desktop.settings import Settings
from dmp_desktop.storage.secure import CorruptFileError, SecureStore
from tests.support.cda_samples import full_summary, minimal_summary, sample_author

REPO = Path(__file__).resolve().parents[2]
AUTHOR_ID = sample_author().practitioner.national_id


def _store(tmp_path: Path, key: bytes | None = None) -> DraftStore:
    return DraftStore(SecureStore(tmp_path / "drafts", key or os.urandom(32)))


def _draft() -> VsmDraft:
    summary = full_summary()
    return VsmDraft(PatientHeader.from_identity(summary.patient), summary)


def _comparable(draft: VsmDraft) -> dict[str, object]:
    data = summary_to_dict(draft.summary)
    data.pop("author")
    return data


def test_round_trip_keeps_every_section(tmp_path: Path) -> None:
    store = _store(tmp_path)
    draft = _draft()
    draft.summary.patient = draft.header.stand_in()
    store.save(AUTHOR_ID, draft)
    loaded = store.load(sample_author(), draft.header.ins)
    assert loaded is not None
    assert loaded.header == draft.header
    assert _comparable(loaded) == _comparable(draft)
    assert loaded.summary.author == sample_author()
    assert loaded.saved_at is not None and loaded.saved_at.utcoffset() is not None


def test_incomplete_header_and_half_typed_fields_survive(tmp_path: Path) -> None:
    store = _store(tmp_path)
    summary = minimal_summary()
    header = PatientHeader(ins=summary.patient.ins, birth_family_name="LEFEBVRE")
    draft = VsmDraft(header, summary, unparsed={"active_problems[0].onset": "03/20"})
    store.save(AUTHOR_ID, draft)
    loaded = store.load(sample_author(), header.ins)
    assert loaded is not None
    assert loaded.header.birth_date is None and loaded.header.gender is None
    assert loaded.header.birth_given_names == []
    assert loaded.unparsed == {"active_problems[0].onset": "03/20"}
    assert loaded.summary.patient.birth_family_name == "LEFEBVRE"


def test_file_names_and_contents_reveal_nobody(tmp_path: Path) -> None:
    key = os.urandom(32)
    store = _store(tmp_path, key)
    draft = _draft()
    store.save(AUTHOR_ID, draft)
    names = sorted(p.name for p in (tmp_path / "drafts").iterdir())
    assert len(names) == 2  # the draft and the (encrypted) naming key
    ins = draft.header.ins.value
    for path in (tmp_path / "drafts").iterdir():
        raw = path.read_bytes()
        for secret in (ins, "LEFEBVRE", AUTHOR_ID, "Diabète"):
            assert secret not in path.name
            assert secret.encode() not in raw
    name = store.name_for(AUTHOR_ID, draft.header.ins)
    assert name.startswith("vsm-") and ins not in name
    # Stable for the same store (a restart finds the draft), different per professional.
    assert _store(tmp_path, key).name_for(AUTHOR_ID, draft.header.ins) == name
    assert store.name_for("899700433153", draft.header.ins) != name
    # Another key (another computer or user account): another name, the draft is not found.
    assert _store(tmp_path / "other").name_for(AUTHOR_ID, draft.header.ins) != name
    assert store.count() == 1
    store.delete(AUTHOR_ID, draft.header.ins)
    assert store.count() == 0
    assert store.load(sample_author(), draft.header.ins) is None


def test_unreadable_drafts_are_refused_and_left_in_place(tmp_path: Path) -> None:
    store = _store(tmp_path)
    draft = _draft()
    name = store.name_for(AUTHOR_ID, draft.header.ins)
    store.write(name, b'{"format": "something else"}')
    with pytest.raises(DraftUnreadableError) as err:
        store.load(sample_author(), draft.header.ins)
    assert "illisible" in describe(err.value)
    assert (tmp_path / "drafts" / f"{name}.enc").exists()
    store.save(AUTHOR_ID, draft)
    with pytest.raises(CorruptFileError):
        _store(tmp_path).load(sample_author(), draft.header.ins)  # another key


def test_header_from_the_dmp_status_and_completed_from_a_vsm() -> None:
    ins = Ins("182116938311206", InsKind.TEST_NIR)
    status = DmpStatus(
        ins=ins,
        state=DmpState.ACTIVE,
        authorization=Authorization.VALIDE,
        patient_family_name="LEFEBVRE",
        patient_given_name="JULIEN",
        patient_birth_date=date(1982, 11, 2),
        patient_gender="M",
    )
    header = PatientHeader.from_status(status)
    assert header.birth_given_names == ["JULIEN"]
    assert header.gender is Gender.MALE and header.birthplace_code is None
    assert header.identity() is not None
    completed = header.completed_from(full_summary().patient)
    assert completed.birth_given_names == ["JULIEN", "ANDRÉ", "MARIE"]
    assert completed.birthplace_code == "69383"
    nir = "2840575123456"
    other = replace(full_summary().patient, ins=Ins(f"{nir}{nir_key(nir):02d}", InsKind.TEST_NIR))
    assert header.completed_from(other) is header  # another patient: nothing taken
    unknown = PatientHeader(ins=ins)
    assert unknown.identity() is None
    assert unknown.missing() == ["birth_date", "gender"]
    assert unknown.stand_in().gender is Gender.UNKNOWN


# --- the autosaver --------------------------------------------------------------------------


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[OperationRunner]:
    runner = OperationRunner()
    yield runner
    runner.shutdown(wait=True)


def test_autosave_waits_for_a_pause_then_writes_off_the_ui_thread(
    qtbot: QtBot, tmp_path: Path, runner: OperationRunner
) -> None:
    store = _store(tmp_path)
    draft = _draft()
    threads: list[threading.Thread] = []
    real_write = store.write

    def spying_write(name: str, payload: bytes) -> None:
        threads.append(threading.current_thread())
        real_write(name, payload)

    store.write = spying_write  # type: ignore[method-assign]
    saver = DraftAutosaver(store, AUTHOR_ID, lambda: draft, runner, delay_ms=30)
    for _ in range(5):
        saver.changed()
    assert saver.pending and saver.dirty and not threads
    with qtbot.waitSignal(saver.saved, timeout=5000):
        pass
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert not saver.dirty
    assert store.load(sample_author(), draft.header.ins) is not None
    saver.close()


def test_flush_writes_at_once_and_an_older_save_never_wins(
    qtbot: QtBot, tmp_path: Path, runner: OperationRunner
) -> None:
    store = _store(tmp_path)
    draft = _draft()
    saver = DraftAutosaver(store, AUTHOR_ID, lambda: draft, runner, delay_ms=60_000)
    saver.changed()
    assert saver.flush() and not saver.dirty
    draft.summary.active_problems.append(Problem("Dernière modification"))
    saver.changed()
    saver.flush()
    # A save prepared earlier (generation 1) arriving late is dropped.
    name = store.name_for(AUTHOR_ID, draft.header.ins)
    assert saver._write(1, name, b"stale", saver.last_saved) is None  # type: ignore[arg-type]
    loaded = store.load(sample_author(), draft.header.ins)
    assert loaded is not None
    assert loaded.summary.active_problems[-1].label == "Dernière modification"
    saver.discard()
    assert store.load(sample_author(), draft.header.ins) is None
    saver.close()


def test_a_failed_save_says_so_in_french(
    qtbot: QtBot, tmp_path: Path, runner: OperationRunner
) -> None:
    store = _store(tmp_path)

    def full_disk(name: str, payload: bytes) -> None:
        raise OSError(28, "No space left on device")

    store.write = full_disk  # type: ignore[method-assign]
    draft = _draft()
    saver = DraftAutosaver(store, AUTHOR_ID, lambda: draft, runner, delay_ms=0)
    with qtbot.waitSignal(saver.failed, timeout=5000) as blocker:
        saver.changed()
    assert "erreur" in blocker.args[0].lower()
    assert saver.dirty  # still to be saved
    saver.close()


# --- kill -9 ---------------------------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication([])
    from tests.support.cda_samples import minimal_summary, sample_author
    from dmp_desktop.domain.summary import Problem
    from dmp_desktop.services.drafts import (
        DraftAutosaver, DraftStore, PatientHeader, VsmDraft,
    )
    from dmp_desktop.services.operations import OperationRunner
    from dmp_desktop.settings import Settings

    store = DraftStore.open(Settings(data_dir=sys.argv[1], training_mode=True))
    summary = minimal_summary()
    draft = VsmDraft(PatientHeader.from_identity(summary.patient), summary)
    runner = OperationRunner()
    saver = DraftAutosaver(
        store, sample_author().practitioner.national_id, lambda: draft, runner, delay_ms=0
    )

    def type_more() -> None:
        n = len(summary.active_problems) + 1
        summary.active_problems.append(Problem(f"Problème n° {n} " + "x" * 2000))
        saver.changed()

    def saved(_when: object) -> None:
        print(f"saved {len(summary.active_problems)}", flush=True)
        type_more()  # the doctor keeps typing: saves follow each other until the kill

    saver.saved.connect(saved)
    type_more()
    app.exec()
    """
)

_READER = textwrap.dedent(
    """
    import sys
    from tests.support.cda_samples import minimal_summary, sample_author
    from dmp_desktop.services.drafts import DraftStore
    from dmp_desktop.settings import Settings

    store = DraftStore.open(Settings(data_dir=sys.argv[1], training_mode=True))
    draft = store.load(sample_author(), minimal_summary().patient.ins)
    labels = [p.label.split(" x")[0] for p in draft.summary.active_problems]
    expected = [f"Problème n° {n}" for n in range(1, len(labels) + 1)]
    print(len(labels) if labels == expected else f"torn: {labels[:3]}", flush=True)
    """
)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["QT_QPA_PLATFORM"] = "offscreen"
    # No system keyring in the test: the training-mode key file next to the drafts.
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def test_a_draft_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    errors = tmp_path / "writer-stderr.txt"
    with (
        errors.open("w") as stderr,
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=_environment(),
            cwd=REPO,
        ) as writer,
    ):
        assert writer.stdout is not None
        last = 0
        try:
            for line in writer.stdout:
                last = int(line.split()[1])
                if last >= 25:
                    break
        finally:
            os.kill(writer.pid, signal.SIGKILL)  # in the middle of the following saves
            writer.wait(timeout=30)
    assert last >= 25, errors.read_text()
    assert writer.returncode == -signal.SIGKILL
    reader = subprocess.run(
        [sys.executable, "-c", _READER, str(data_dir)],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert reader.returncode == 0, reader.stderr
    found = int(reader.stdout.strip())  # a whole draft, never a torn one
    assert found >= last
    # Nothing in the folder names the patient.
    drafts = data_dir / "drafts"
    assert all("182116938311206" not in p.name for p in drafts.iterdir())
    assert Settings(data_dir=str(data_dir)).local_data_dir() == data_dir
