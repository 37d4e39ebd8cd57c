"""The application's SVG icons: package data (``dmp_desktop/resources/icons``), in the
checkout as in an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap

_HERE = Path(__file__).resolve()
ICON_DIRS: tuple[Path, ...] = (_HERE.parents[1] / "resources" / "icons",)


def icon_path(name: str) -> Path | None:
    for directory in ICON_DIRS:
        candidate = directory / f"{name}.svg"
        if candidate.is_file():
            return candidate
    return None


@cache
def icon(name: str) -> QIcon:
    """The icon ``name`` (``card``, ``patient``...), or an empty icon if it is missing."""
    path = icon_path(name)
    return QIcon(str(path)) if path is not None else QIcon()


def pixmap(name: str, size: int, device_pixel_ratio: float = 1.0) -> QPixmap:
    return icon(name).pixmap(QSize(size, size), device_pixel_ratio)
