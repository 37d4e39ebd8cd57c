"""The host's store on another database URL than the default file (in-memory SQLite).

PostgreSQL goes through the same code (``postgresql+psycopg://...``); the tests taking
``postgres_db_url`` run on the test command's throwaway server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from dmp_sandbox.demo import DURAND, demo_patients, seed_demo
from dmp_sandbox.patients import lookup
from dmp_sandbox.store import AuthorizationStatus, DmpState, SeenProfessional, Store, utcnow


@pytest.fixture
def store() -> Iterator[Store]:
    with Store("sqlite://") as memory:
        yield memory


def test_seed_and_lookup_in_memory(store: Store) -> None:
    patients = seed_demo(store)
    seed_demo(store)  # idempotent
    with store.session() as session:
        for demo in patients:
            row = store.find_patient(session, demo.ins.value, demo.ins.oid)
            assert row is not None and row.family_name == demo.family_name
    for demo in patients:
        result = lookup(store, demo.ins, DURAND)
        if demo.expected_for_durand == "NF":
            assert not result.exists
        else:
            assert result.authorization_code == demo.expected_for_durand


def test_expiry_is_derived_from_the_end_date(store: Store) -> None:
    demo = demo_patients()[0]
    now = utcnow()
    with store.session() as session:
        patient = store.upsert_patient(
            session,
            demo.ins.value,
            demo.ins.oid,
            family_name="Test",
            given_name="Test",
            birth_date=dt.date(1980, 1, 1),
            gender="M",
            dmp_state=DmpState.ACTIVE.value,
        )
        auth = store.set_authorization(
            session, patient, DURAND, AuthorizationStatus.VALIDE, end_at=now + dt.timedelta(days=1)
        )
        assert auth.effective_status(now) is AuthorizationStatus.VALIDE
        assert auth.effective_status(now + dt.timedelta(days=2)) is AuthorizationStatus.EXPIRE
        blocked = store.set_authorization(
            session, patient, "899700000001", AuthorizationStatus.INTERDIT, end_at=now
        )
        assert blocked.effective_status(now + dt.timedelta(days=2)) is AuthorizationStatus.INTERDIT


def test_traces_keep_utc_and_order(store: Store) -> None:
    first = store.last_trace_id()
    at = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    store.add_trace(at=at, outcome="OK", http_status=200, transaction="TD0.2")
    store.add_trace(outcome="DMPAuthenticationError", http_status=400)
    rows = store.traces(after_id=first)
    assert [r.outcome for r in rows] == ["OK", "DMPAuthenticationError"]
    assert rows[0].at == at and rows[0].at.tzinfo is dt.UTC
    with pytest.raises(Exception, match="naive"):
        store.add_trace(at=dt.datetime(2026, 1, 1), outcome="OK", http_status=200)


def test_professionals_are_upserted(store: Store) -> None:
    for family in ("DURAND", "DURAND-LEROY"):
        store.seen_professional(
            DURAND,
            family_name=family,
            given_name="MARIE",
            profession="Médecin",
            profession_code="10",
            structure_id="499700433153007",
        )
    pro = store.professional(DURAND)
    assert pro is not None and pro.family_name == "DURAND-LEROY"


# --- the host's write for every request (record_request) ---------------------------------------


def _seen(family: str = "DURAND") -> SeenProfessional:
    return SeenProfessional(
        DURAND,
        family_name=family,
        given_name="MARIE",
        profession="Médecin",
        profession_code="10",
        structure_id="499700433153007",
    )


def check_record_request(store: Store) -> None:
    first = store.last_trace_id()
    store.record_request({"outcome": "OK", "http_status": 200, "transaction": "TD0.2"}, _seen())
    pro = store.professional(DURAND)
    assert pro is not None and pro.family_name == "DURAND" and pro.profession_code == "10"
    first_seen, last_seen = pro.first_seen_at, pro.last_seen_at
    # The same professional again, unchanged: the trace is written, the row left as it was.
    store.record_request({"outcome": "OK", "http_status": 200}, _seen())
    again = store.professional(DURAND)
    assert again is not None and again.last_seen_at == last_seen
    # A certificate whose fields changed: the row follows at once; first_seen_at stays.
    store.record_request({"outcome": "OK", "http_status": 200}, _seen("DURAND-LEROY"))
    changed = store.professional(DURAND)
    assert changed is not None and changed.family_name == "DURAND-LEROY"
    assert changed.first_seen_at == first_seen and changed.last_seen_at >= last_seen
    # No professional (a structure's certificate, none at all): the trace alone.
    store.record_request({"outcome": "DMPAuthenticationError", "http_status": 400}, None)
    rows = store.traces(after_id=first)
    assert [(r.outcome, r.http_status) for r in rows] == [
        ("OK", 200),
        ("OK", 200),
        ("OK", 200),
        ("DMPAuthenticationError", 400),
    ]
    assert rows[0].transaction == "TD0.2" and rows[0].at.tzinfo is dt.UTC


def test_a_request_is_recorded_in_one_transaction(store: Store) -> None:
    check_record_request(store)


def test_a_professional_is_refreshed_after_a_while(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.record_request({"outcome": "OK", "http_status": 200}, _seen())
    pro = store.professional(DURAND)
    assert pro is not None
    monkeypatch.setattr("dmp_sandbox.store.SEEN_REFRESH", 0.0)
    store.record_request({"outcome": "OK", "http_status": 200}, _seen())
    later = store.professional(DURAND)
    assert later is not None and later.last_seen_at > pro.last_seen_at


def test_nothing_is_remembered_when_the_trace_cannot_be_written(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        store.record_request(
            {"at": dt.datetime(2026, 1, 1), "outcome": "OK", "http_status": 200}, _seen()
        )
    assert store.professional(DURAND) is None  # rolled back with the trace
    store.record_request({"outcome": "OK", "http_status": 200}, _seen())
    assert store.professional(DURAND) is not None  # so written by the next request


def test_a_request_is_recorded_in_one_transaction_on_postgresql(postgres_db_url: str) -> None:
    with Store(postgres_db_url) as pg:
        check_record_request(pg)


def test_a_patient_and_one_professional_s_authorization_in_one_query(store: Store) -> None:
    patients = seed_demo(store)
    demo = next(p for p in patients if p.expected_for_durand == "VALIDE")
    with store.session() as session:
        patient, auth = store.find_patient_access(session, demo.ins.value, demo.ins.oid, DURAND)
        assert patient is not None and patient.ins_value == demo.ins.value
        assert auth is not None and auth.professional_national_id == DURAND
        assert auth == store.find_authorization(session, patient, DURAND)
        # Another professional, never authorised: the patient, no authorisation (not Durand's).
        someone, none = store.find_patient_access(
            session, demo.ins.value, demo.ins.oid, "899700999999"
        )
        assert someone is patient and none is None
        assert store.find_patient_access(session, "000000000000000", demo.ins.oid, DURAND) == (
            None,
            None,
        )


def test_reads_on_postgresql_need_no_transaction_and_cannot_write(postgres_db_url: str) -> None:
    """store.reading(): no BEGIN nor COMMIT on the server (two round trips fewer a request),
    the data committed before each statement, and a write refused rather than half done."""
    from psycopg.pq import TransactionStatus
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    def server_side(session: object) -> TransactionStatus:
        connection = session.connection().connection.dbapi_connection  # type: ignore[attr-defined]
        return TransactionStatus(connection.info.transaction_status)

    with Store(postgres_db_url) as pg:
        demo = next(p for p in seed_demo(pg) if p.expected_for_durand == "VALIDE")
        with pg.session() as session:
            session.execute(text("SELECT 1"))
            assert server_side(session) is TransactionStatus.INTRANS  # what reading() avoids
        with pg.reading() as session:
            patient, auth = pg.find_patient_access(session, demo.ins.value, demo.ins.oid, DURAND)
            assert patient is not None and auth is not None
            assert server_side(session) is TransactionStatus.IDLE  # no transaction was opened
            # What another request commits meanwhile is seen by the next statement.
            pg.record_request({"outcome": "OK", "http_status": 200, "transaction": "TD0.2"}, None)
            assert session.scalar(text("SELECT count(*) FROM traces")) == 1
            with pytest.raises(DBAPIError, match="read-only transaction"):
                session.execute(text("DELETE FROM traces"))
        assert len(pg.traces()) == 1
        # TD0.2 reads through it.
        result = lookup(pg, demo.ins, DURAND)
        assert result.exists and result.authorization is AuthorizationStatus.VALIDE


def test_reading_on_sqlite_is_a_transaction_under_the_store_s_lock(store: Store) -> None:
    """SQLite has one writer at a time: reads wait for the store's lock like writes do."""
    import threading

    demo = next(p for p in seed_demo(store) if p.expected_for_durand == "VALIDE")
    assert store._lock is not None
    taken: list[bool] = []

    def try_the_lock() -> None:
        got = store._lock.acquire(blocking=False)  # type: ignore[union-attr]
        taken.append(got)
        if got:
            store._lock.release()  # type: ignore[union-attr]

    with store.reading() as session:
        patient, _ = store.find_patient_access(session, demo.ins.value, demo.ins.oid, DURAND)
        assert patient is not None
        other = threading.Thread(target=try_the_lock)
        other.start()
        other.join()
    assert taken == [False]  # another thread could not take it meanwhile
    try_the_lock()
    assert taken == [False, True]


def test_reads_keep_the_deployment_s_own_connection_options(postgres_db_url: str) -> None:
    """The read-only setting does not replace the URL's ``options`` (a search_path, a timeout)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    url = make_url(postgres_db_url).update_query_dict({"options": "-c statement_timeout=12345"})
    with Store(url.render_as_string(hide_password=False)) as pg:
        with pg.reading() as session:
            assert session.scalar(text("SHOW statement_timeout")) == "12345ms"
            with pytest.raises(DBAPIError, match="read-only transaction"):
                session.execute(text("DELETE FROM traces"))
