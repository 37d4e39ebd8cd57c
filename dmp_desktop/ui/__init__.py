"""Windows, views and dialogs. Widgets only read services' state and call their methods."""

from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.pin_dialog import PinDialog

__all__ = ["MainWindow", "PinDialog"]
