"""What the filtering proxies of the window share."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel


def change_filter(proxy: QSortFilterProxyModel, apply: Callable[[], object]) -> None:
    """Run ``apply`` (which changes what ``proxy`` accepts) and refilter the proxy."""
    begin = getattr(proxy, "beginFilterChange", None)
    if begin is not None:  # Qt 6.9+ (invalidateFilter is deprecated there)
        begin()
        apply()
        proxy.endFilterChange()
    else:  # pragma: no cover - older Qt
        apply()
        proxy.invalidateFilter()
