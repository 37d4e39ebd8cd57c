"""``dmp-sandbox purge``: a DMP closed more than 10 years ago is destroyed, not before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dmp_sandbox.__main__ import main
from dmp_sandbox.demo import demo_patients, seed_demo
from dmp_sandbox.purge import purge, retention_end
from dmp_sandbox.store import (
    Authorization,
    DocumentContent,
    DocumentRecord,
    OutboxMessage,
    Patient,
    Store,
    Trace,
)

BLANC = next(p for p in demo_patients() if p.key == "ferme")


def closure_date(store: Store) -> dt.date:
    with store.session() as session:
        patient = store.find_patient(session, BLANC.ins.value, BLANC.ins.oid)
        assert patient is not None and patient.closure_date is not None
        return patient.closure_date


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def test_purge_after_ten_years_and_not_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'host.db'}"
    with Store(url) as store:
        seed_demo(store)
        closed = closure_date(store)
        with store.session() as session:
            patient = store.find_patient(session, BLANC.ins.value, BLANC.ins.oid)
            assert patient is not None
            patient.mobile = "+33611223344"
            store.notify_patient(session, patient, "DMP_FERME", "Votre DMP a été fermé.")
            session.add(
                Trace(
                    at=at(closed),
                    patient_ins=BLANC.ins.value,
                    patient_ins_root=BLANC.ins.oid,
                    transaction="TD1.4",
                    outcome="OK",
                    http_status=200,
                )
            )
            pid = patient.id
            documents = session.scalar(
                select(func.count())
                .select_from(DocumentRecord)
                .where(DocumentRecord.patient_id == pid)
            )
        active_before = _active_patients(store)

        # The day the ten years end: kept.
        assert main(["purge", "--now", at(retention_end(closed)).isoformat(), "--db", url]) == 0
        assert "rien n'a été détruit" in capsys.readouterr().out
        assert purge(store, at(retention_end(closed) - dt.timedelta(days=400))).records == 0

        # The day after: destroyed.
        later = at(retention_end(closed) + dt.timedelta(days=1)).isoformat()
        assert main(["purge", "--now", later, "--db", url]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"1 DMP détruit(s) : {documents} document(s)")
        with store.session() as session:
            assert store.find_patient(session, BLANC.ins.value, BLANC.ins.oid) is None
            row = session.get(Patient, pid)
            assert row is not None and row.purged_at is not None
            readable = (row.family_name, row.given_name, row.mobile, row.dmp_id, row.closure_text)
            assert readable == ("", "", None, None, None)
            assert BLANC.ins.value not in row.ins_value
            for model, column in (
                (DocumentRecord, DocumentRecord.patient_id),
                (Authorization, Authorization.patient_id),
                (OutboxMessage, OutboxMessage.patient_id),
            ):
                assert (
                    session.scalar(select(func.count()).select_from(model).where(column == pid))
                    == 0
                )
            assert session.scalar(select(func.count()).select_from(DocumentContent)) == (
                session.scalar(select(func.count()).select_from(DocumentRecord))
            )
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(Trace)
                    .where(Trace.patient_ins == BLANC.ins.value)
                )
                == 0
            )
        # The other records are untouched; a second run destroys nothing more.
        assert _active_patients(store) == active_before
        assert purge(store, at(retention_end(closed) + dt.timedelta(days=2))).records == 0


def _active_patients(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        return [
            (p.ins_value, p.family_name)
            for p in session.scalars(
                select(Patient).where(Patient.purged_at.is_(None)).order_by(Patient.id)
            )
            if p.ins_value != BLANC.ins.value
        ]


def test_bad_date_is_a_french_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["purge", "--now", "demain", "--db", f"sqlite:///{tmp_path / 'h.db'}"])
    assert info.value.code == 2
    assert "date invalide" in capsys.readouterr().err
