"""The parapheur in the window, for the doctor: what the secretariat prepared for him is
announced in the status bar (« 2 envois préparés par le secrétariat attendent votre
signature »), the banner opens the « Envois en attente » panel where they are listed for
review, and « Signer » signs them all at once with his card (the secretariat's session
sends them) — or « Signer et envoyer » sends them too. Another doctor is told nothing.

The outbox is the real encrypted store of the window's data folder, filled beforehand by
the use case exactly as the secretary's session does (UploadDesk.queue with her card).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.alimentation import OutboxItem, OutboxState, UploadRequest, type_code
from dmp_desktop.dmp import xades
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.usecases.upload import PendingState, UploadDesk
from tests.ui.conftest import WindowFactory
from tests.ui.consultation_fakes import AUTHORISED
from tests.ui.fakes import DURAND, MARTIN, FakeCard, FakeCardManager
from tests.ui.test_document_actions import SECRETARY
from tests.ui.test_upload_support import PDF, AlimentationDmp, alimentation_settings, log_in


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alimentation_settings(tmp_path)


@pytest.fixture
def dmp(settings: Settings) -> AlimentationDmp:
    return AlimentationDmp(settings)


def prepare(settings: Settings, title: str, for_whom: Practitioner = DURAND) -> OutboxItem:
    """The secretary's session: checked, kept « à signer par Dr X »."""
    req = UploadRequest(
        patient=AUTHORISED,
        source=PDF + title.encode(),
        filename="courrier.pdf",
        media_type=None,
        type_code=type_code("11488-4"),
        service_date=date(2026, 3, 1),
        title=title,
        masked=False,
        invisible_patient=False,
        invisible_legal_reps=False,
        identity=PatientIdentity(
            AUTHORISED, "LEGRAND", ["JEANNE"], date(1984, 5, 12), Gender.FEMALE, "75056"
        ),
        on_behalf_of=for_whom,
    )
    item = UploadDesk(settings).queue(req, SECRETARY)
    assert item.awaiting_signature
    return item


def open_as(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    dmp: AlimentationDmp,
    cards: FakeCardManager,
) -> MainWindow:
    window = make_window(settings, cards, dmp)
    log_in(qtbot, window)
    return window


def test_the_doctor_is_told_reviews_and_signs_in_one_go(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, dmp: AlimentationDmp
) -> None:
    first = prepare(settings, "Courrier au cardiologue")
    second = prepare(settings, "Résultats de biologie")
    cards = FakeCardManager([FakeCard("CPS3-DURAND", DURAND, "1234")])
    try:
        window = open_as(qtbot, make_window, settings, dmp, cards)
        actions = window.alimentation
        banner = actions.to_sign_banner
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        text = "2 envois préparés par le secrétariat attendent votre signature"
        assert banner.accessibleName() == text and text in banner.text()

        banner.click()  # opens the panel, the prepared uploads listed for review
        panel = actions.panel
        assert panel is not None and panel.isVisible()
        assert panel.sign_box.isVisible() and panel.sign_table.isVisible()
        rows = [
            [panel.sign_proxy.index(r, c).data() for c in range(panel.sign_proxy.columnCount())]
            for r in range(panel.sign_proxy.rowCount())
        ]
        assert sorted(r[2] for r in rows) == ["Courrier au cardiologue", "Résultats de biologie"]
        assert {r[1] for r in rows} == {"LEGRAND Jeanne"}
        assert {r[4] for r in rows} == {"à signer par Dr Marie DURAND"}
        assert text in panel.sign_label.text()
        assert dmp.uploads == []  # his own outbox is empty: nothing to resume

        service = actions.service
        with qtbot.waitSignal(service.signingDone, timeout=5000) as done:
            panel.sign_button.click()
        results, sent = done.args
        assert sent is False
        assert [type(r).__name__ for _i, r in results] == ["OutboxItem", "OutboxItem"]
        session = window.card_service.session
        assert session is not None and session.signatures == 2  # one login, both signed
        assert dmp.uploads == []  # « Signer » only: the secretariat sends them
        qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5000)
        qtbot.waitUntil(lambda: not panel.sign_box.isVisible(), timeout=5000)
        assert "le secrétariat les enverra" in panel.notice.text()
        left = UploadDesk(settings).pending(SECRETARY)
        assert {i.id for i in left} == {first.id, second.id}
        assert {PendingState.of(i) for i in left} == {PendingState.SIGNED}
    finally:
        cards.close()


def test_sign_and_send_from_the_panel(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, dmp: AlimentationDmp
) -> None:
    item = prepare(settings, "Courrier au cardiologue")
    for_martin = prepare(settings, "Pour le Dr Martin", MARTIN)
    cards = FakeCardManager([FakeCard("CPS3-DURAND", DURAND, "1234")])
    try:
        window = open_as(qtbot, make_window, settings, dmp, cards)
        actions = window.alimentation
        qtbot.waitUntil(actions.to_sign_banner.isVisible, timeout=5000)
        assert "1 envoi préparé par le secrétariat attend votre signature" in (
            actions.to_sign_banner.text()
        )
        panel = actions.show_outbox()
        assert panel is not None and panel.sign_proxy.rowCount() == 1
        with qtbot.waitSignal(actions.service.signingDone, timeout=10000) as done:
            panel.sign_send_button.click()
        ((signed, entry),) = done.args[0]
        assert done.args[1] is True
        assert getattr(entry, "unique_id", None) == item.unique_id, entry
        # Sent by his session with the signature his card made over the prepared CDA.
        (submission,) = dmp.uploads
        (signature,) = dmp.signatures
        assert signature is not None
        session = window.card_service.session
        assert session is not None and session.signatures == 1
        verified = xades.verify_signature(
            signature, {submission.document.unique_id: submission.content}
        )
        assert verified.certificate == session.sign_certificate
        assert "reçu(s) par le DMP" in panel.notice.text()
        qtbot.waitUntil(lambda: not actions.to_sign_banner.isVisible(), timeout=5000)
        # Dr Martin's item is untouched, still waiting for him.
        (waiting,) = UploadDesk(settings).pending(SECRETARY)
        assert waiting.id == for_martin.id and waiting.state is OutboxState.TO_SIGN
        assert signed.id == item.id
    finally:
        cards.close()


def test_another_doctor_is_told_nothing(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, dmp: AlimentationDmp
) -> None:
    prepare(settings, "Courrier au cardiologue")
    cards = FakeCardManager([FakeCard("CPS4-MARTIN", MARTIN, "1234")])
    try:
        window = open_as(qtbot, make_window, settings, dmp, cards)
        actions = window.alimentation
        qtbot.waitUntil(lambda: actions.service.practitioner is not None, timeout=5000)
        with qtbot.waitSignal(actions.service.outboxChanged, timeout=5000):
            actions.service.reload_outbox()
        assert not actions.to_sign_banner.isVisible()
        panel = actions.show_outbox()
        assert panel is not None and not panel.sign_box.isVisible()
        assert panel.service.to_sign == []
    finally:
        cards.close()
