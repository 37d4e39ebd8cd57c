"""Composition root of the window: settings -> services -> main window.

``gui_main()`` is what ``dmp-desktop`` runs. ``build_app()`` is the same
assembly without the QApplication set-up, used by the tests with fakes for
what the real components cannot show.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any, cast

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from dmp_desktop import LPS_NAME, __version__, heap
from dmp_desktop.errors import DmpDesktopError, describe
from dmp_desktop.services.card_service import (
    DEFAULT_POLL_INTERVAL_MS,
    CardBackend,
    CardService,
)
from dmp_desktop.services.dmp_service import DmpClientLike, DmpFactory, DmpService
from dmp_desktop.services.operations import OperationRunner
from dmp_desktop.settings import Settings, load_settings, settings_path
from dmp_desktop.ui.icons import icon
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.qt_french import install_translations

log = logging.getLogger(__name__)

# Doctors read this between two patients, often on a laptop: not below 10.5 pt.
BASE_POINT_SIZE = 10.5


def open_dmp(settings: Settings, session: Any) -> DmpClientLike:
    """``dmp_desktop.connect.open_dmp``, imported when first used (network stack)."""
    from dmp_desktop.connect import open_dmp as connect_open_dmp

    return connect_open_dmp(settings, session)


class _CardManagerOnFirstUse:
    """The real :class:`~dmp_desktop.smartcard.card.CardManager`, made (and the PKCS#11
    library imported) when the card service first uses it: once the window is painted."""

    def __init__(self, module_candidates: list[str]) -> None:
        self._candidates = module_candidates
        self._real: Any = None

    def _manager(self) -> Any:
        if self._real is None:
            from dmp_desktop.smartcard.card import CardManager

            self._real = CardManager(self._candidates)
        return self._real

    def close(self) -> None:
        if self._real is not None:  # never used: nothing to close
            self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager(), name)


def build_app(
    settings: Settings,
    *,
    dmp_factory: DmpFactory = open_dmp,
    card_manager: CardBackend | None = None,
    poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
    defer_features: bool = False,
) -> MainWindow:
    """Wire the services and the window; card polling starts at once (with
    ``defer_features``: once the window, painted, has built its features).

    Without ``card_manager`` a real :class:`CardManager` is created on the
    settings' middleware and closed with the window; a given one stays the
    caller's to close.
    """
    runner = OperationRunner()
    owns_manager = card_manager is None
    if card_manager is None and defer_features:  # PKCS#11 imported after the first paint
        card_manager = cast(CardBackend, _CardManagerOnFirstUse(settings.middleware_candidates()))
    elif card_manager is None:
        from dmp_desktop.smartcard.card import CardManager

        card_manager = CardManager(settings.middleware_candidates())
    card_service = CardService(
        card_manager,
        runner,
        owns_manager=owns_manager,
        poll_interval_ms=poll_interval_ms,
        preferred_structure=lambda: settings.structure_id,
    )
    dmp_service = DmpService(settings, runner, dmp_factory)

    dmp_service.follow(card_service)  # the DMP client lives as long as the card session

    window = MainWindow(settings, card_service, dmp_service, runner, defer_features=defer_features)
    # The services live as long as the window (and are shut down by it).
    for child in (runner, card_service, dmp_service):
        child.setParent(window)
    window.after_features(card_service.start)
    return window


# -- crash handler ----------------------------------------------------------------------
_crash_box: QMessageBox | None = None


def _where(tb: TracebackType | None) -> str:
    """Module, function and line of the innermost frame: code only, never data."""
    frame_info = "?"
    while tb is not None:
        code = tb.tb_frame.f_code
        module = tb.tb_frame.f_globals.get("__name__", "?")
        frame_info = f"{module}.{code.co_name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return frame_info


def crash_message() -> tuple[str, str]:
    title = QCoreApplication.translate("CrashHandler", "Erreur inattendue")
    text = QCoreApplication.translate(
        "CrashHandler",
        "Une erreur inattendue est survenue et l'action en cours n'a pas abouti. "
        "Vous pouvez continuer à travailler ; si le problème se reproduit, "
        "redémarrez DMP Desktop et prévenez votre support informatique.",
    )
    return title, text


def handle_crash(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Log the exception's type and place only, and show a generic French message.

    Exception messages and local variables may carry a patient's identity: they
    are neither logged nor shown.
    """
    global _crash_box
    log.error("unhandled exception %s at %s", exc_type.__name__, _where(tb))
    app = QApplication.instance()
    if not isinstance(app, QApplication) or _crash_box is not None:
        return
    title, text = crash_message()
    parent: QWidget | None = app.activeWindow()
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)

    def forget() -> None:
        global _crash_box
        _crash_box = None

    box.finished.connect(forget)
    _crash_box = box
    box.open()


def install_crash_handler() -> None:
    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        handle_crash(exc_type, exc, tb)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        log.error(
            "unhandled exception %s in thread at %s",
            args.exc_type.__name__,
            _where(args.exc_traceback),
        )

    sys.excepthook = excepthook
    threading.excepthook = thread_hook


# -- application ----------------------------------------------------------------------
def configure_application(app: QApplication, *, style: bool = True) -> None:
    """Names, Fusion style, a readable base font, icon, Qt's strings in French.

    ``style=False``: the application was made with ``-style Fusion`` (:func:`gui_main`);
    ``setStyle`` would make a second style, and its Python wrapper (PySide makes the
    Python enums of a Qt class when it first meets it: QStyle's are some 5 ms)."""
    app.setApplicationName(LPS_NAME)
    QGuiApplication.setApplicationDisplayName(LPS_NAME)  # Qt ends window titles with it
    app.setApplicationVersion(__version__)
    app.setOrganizationName(LPS_NAME)
    if style:
        app.setStyle("Fusion")
    font = app.font()
    if 0 < font.pointSizeF() < BASE_POINT_SIZE:
        font.setPointSizeF(BASE_POINT_SIZE)
        app.setFont(font)
    app.setWindowIcon(icon("dmp-desktop"))
    install_translations(app)


def settle_heap() -> None:
    """Once the window is built: keep what start-up made out of the collector's full passes.

    Modules, classes and the window's widgets live as long as the application.
    Without this, each full pass of Python's cyclic garbage collector walks them
    all again (some 85,000 objects, 50 to 100 ms during which no thread runs
    Python, so the window cannot repaint), which happens while a long list of
    documents is being read. Objects made later (the patients' documents) are
    collected as usual, in fewer and larger passes: reading a list of 20,000
    documents allocates some 150,000 objects, which at the default threshold
    (700) triggers hundreds of passes, the longer ones holding every thread.
    The UI thread also takes the interpreter back sooner from a thread at work
    (:data:`dmp_desktop.heap.SWITCH_INTERVAL_S`). See :mod:`dmp_desktop.heap`.
    """
    heap.settle()


def _profile_option(argv: Sequence[str]) -> str | None:
    """``--profile formation|dmp`` (or ``--profile=…``) among the window's arguments."""
    from dmp_desktop.__main__ import window_options

    profile = window_options(list(argv)[1:]).profile
    return str(profile) if profile else None


def gui_main(argv: Sequence[str] | None = None) -> int:
    """Run the window; returns the process exit code.

    ``--profile formation|dmp`` runs with that profile instead of the settings' one.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    QGuiApplication.setApplicationDisplayName(LPS_NAME)
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app, styled = existing, False
    else:  # Fusion made with the application (see configure_application)
        app, styled = QApplication([*(argv or sys.argv), "-style", "Fusion"]), True
    configure_application(app, style=not styled)
    install_crash_handler()
    try:
        settings = load_settings(profile=_profile_option(argv or sys.argv))
        settings.validate()
    except DmpDesktopError as exc:
        QMessageBox.critical(None, LPS_NAME, describe(exc))
        return 2
    settings.apply_environment()
    # The card screen is painted first; the workspace and the features are built just
    # after (docs/performance.md: cold start).
    window = build_app(settings, defer_features=True)
    window.settings_file = settings_path()
    window.show()
    window.after_features(settle_heap)
    try:
        return app.exec()
    finally:
        window.shutdown()
