"""Round trips of a consultation: TD0.2 then ITI-18 cost what the protocol requires, no more.

The real client (``connect.open_dmp``, the SoftHSM cards) and the real window
talk to the real training host through the fault proxy, which counts TCP
connections, HTTP exchanges and round trips (each time the host starts
answering after the client spoke; the TCP handshake itself is not seen).
The card counts its signatures. No clock: counts only.

What the protocol requires for TD0.2 then ITI-18 on a new card session: one
connection, one full TLS handshake (2 round trips in TLS 1.2 for a CPS3
card, 1 in TLS 1.3 for a CPS4), one card signature, one round trip per
request. A later connection of the same card session (after a cancelled
exchange closed the first one) resumes the TLS session: one round trip, no
card signature, and the host still knows who is asking.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from dmp_desktop.app import build_app
from dmp_desktop.connect import open_dmp
from dmp_desktop.dmp.xds import default_query
from dmp_desktop.domain.dmp_status import DmpState
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager, CardSession
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import AuthorizationStatus, Trace
from dmp_sandbox.training import TrainingEnv
from tests.support.fault_proxy import FaultProxy

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
CARDS = {"CPS3-DURAND": ("1234", 2), "CPS4-MARTIN": ("4321", 1)}  # PIN, handshake round trips


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        store = running.store
        with store.session() as session:  # Dr MARTIN (CPS4) too may read Léa's record
            patient = store.find_patient(session, LEA.ins.value, LEA.ins.oid)
            assert patient is not None
            store.set_authorization(session, patient, "899700433160", AuthorizationStatus.VALIDE)
        yield running


@pytest.fixture
def proxy(host: RunningHost) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", host.port) as running:
        yield running


def settings_for(env: TrainingEnv, proxy: FaultProxy, data: Path) -> Settings:
    return dataclasses.replace(env.client_settings(), host_url=proxy.url, data_dir=str(data))


class Signatures:
    """Counts the signatures a card session makes with its authentication key."""

    def __init__(self, session: CardSession) -> None:
        self.count = 0
        sign_pkcs1, sign_pss = session.sign_auth_pkcs1, session.sign_auth_pss

        def pkcs1(digest_info: bytes) -> bytes:
            self.count += 1
            return sign_pkcs1(digest_info)

        def pss(digest: bytes, hash_name: str = "sha256", salt_len: int = 32) -> bytes:
            self.count += 1
            return sign_pss(digest, hash_name, salt_len)

        session.sign_auth_pkcs1 = pkcs1  # type: ignore[method-assign]
        session.sign_auth_pss = pss  # type: ignore[method-assign]


def last_traces(host: RunningHost, count: int) -> list[Trace]:
    with host.store.session() as session:
        rows = session.scalars(select(Trace).order_by(Trace.id.desc()).limit(count)).all()
        session.expunge_all()
    return list(reversed(rows))


@pytest.mark.parametrize("label", sorted(CARDS))
def test_td02_then_iti18_cost_what_the_protocol_requires(
    label: str,
    host: RunningHost,
    proxy: FaultProxy,
    training_env: TrainingEnv,
    card_manager: CardManager,
    tmp_path: Path,
) -> None:
    pin, handshake_trips = CARDS[label]
    # TLS 1.3 (CPS4): the host sends its session tickets right after the client's Finished;
    # when the request reaches it just after, the proxy sees the tickets as a flight of
    # their own (the client does not wait for them): one more counted, at most.
    slack = 1 if handshake_trips == 1 else 0
    card = next(c for c in card_manager.list_cards() if c.token_label == label)
    session = card_manager.login(card, pin)
    signatures = Signatures(session)
    settings = settings_for(training_env, proxy, tmp_path)
    try:
        with open_dmp(settings, session) as client:
            assert client.test_existence(LEA.ins).state is DmpState.ACTIVE
            client.find_documents(default_query(LEA.ins))
            assert (proxy.stats.connections, proxy.stats.exchanges) == (1, 2)
            first = proxy.stats.round_trips_by_connection[0]
            assert handshake_trips + 2 <= first <= handshake_trips + 2 + slack
            assert signatures.count == 1

        # The client closed (as after a cancelled exchange), a new one for the same card
        # session: the TLS session is resumed, one round trip, nothing signed by the card.
        with open_dmp(settings, session) as client:
            assert client.test_existence(LEA.ins).state is DmpState.ACTIVE
            client.find_documents(default_query(LEA.ins))
            assert (proxy.stats.connections, proxy.stats.exchanges) == (2, 4)
            second = proxy.stats.round_trips_by_connection[1]
            assert 1 + 2 <= second <= 1 + 2 + slack
            assert signatures.count == 1
            transport = client._http._transport  # type: ignore[attr-defined]
            assert (transport.handshakes, transport.resumed) == (1, 1)
        # The host knew who asked on the resumed connection, as on the first one.
        national_id = session.practitioner.national_id
        traces = last_traces(host, 4)
        assert [t.professional_national_id for t in traces] == [national_id] * 4
        assert [t.transaction for t in traces] == ["TD0.2", "TD3.1"] * 2
    finally:
        session.close()

    # The card session ended: its TLS sessions are not offered any more.
    session = card_manager.login(card, pin)
    signatures = Signatures(session)
    try:
        with open_dmp(settings, session) as client:
            client.test_existence(LEA.ins)
        assert signatures.count == 1  # a full handshake again, signed by the card
    finally:
        session.close()


def test_the_window_opens_a_record_in_four_round_trips(
    qtbot: QtBot,
    host: RunningHost,
    proxy: FaultProxy,
    training_env: TrainingEnv,
    card_manager: CardManager,
    tmp_path: Path,
) -> None:
    """INS + Entrée: TD0.2 then the list, on the connection the TD0.2 opened."""
    window = build_app(
        settings_for(training_env, proxy, tmp_path / "data"), card_manager=card_manager
    )
    qtbot.addWidget(window)
    window.show()
    screen = window.card_screen
    qtbot.waitUntil(lambda: screen.model.rowCount() >= 1)
    rows = range(screen.model.rowCount())
    row = next(r for r in rows if "CPS3-DURAND" in screen.model.data(screen.model.index(r, 0)))
    screen.card_list.setCurrentIndex(screen.model.index(row, 0))
    with qtbot.waitSignal(window.card_service.pinRequested, timeout=10000):
        qtbot.keyClick(screen.card_list, Qt.Key.Key_Return)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, "1234")
    with qtbot.waitSignal(window.card_service.loggedIn, timeout=10000):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
    assert proxy.stats.connections == 0  # logging in sends nothing to the DMP

    edit = window.workspace.patient_pane.ins_edit
    edit.setFocus()
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=20000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert (proxy.stats.connections, proxy.stats.exchanges) == (1, 2)
    assert proxy.stats.round_trips == 2 + 2  # TLS 1.2 handshake, TD0.2, ITI-18

    # F5: the list again, on the kept-alive connection, one round trip.
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=20000):
        assert window.consultation.refresh()
    assert (proxy.stats.connections, proxy.stats.exchanges) == (1, 3)
    assert proxy.stats.round_trips == 4 + 1
    window.close()
