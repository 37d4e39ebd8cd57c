"""One dedicated thread for every PKCS#11 call (middleware thread safety is unknown)."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CardThread:
    """A single-worker executor; calls made from the worker itself run inline."""

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pkcs11", initializer=self._remember
        )
        self._ident: int | None = None
        self._ready = threading.Event()
        # Start the worker now so that its identity is known.
        self._executor.submit(lambda: None).result()

    def _remember(self) -> None:
        self._ident = threading.get_ident()
        self._ready.set()

    @property
    def is_current(self) -> bool:
        return threading.get_ident() == self._ident

    def submit(self, fn: Callable[..., T], *args: object) -> concurrent.futures.Future[T]:
        if self.is_current:
            fut: concurrent.futures.Future[T] = concurrent.futures.Future()
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)
            return fut
        return self._executor.submit(fn, *args)

    def call(self, fn: Callable[..., T], *args: object, timeout: float | None = 60.0) -> T:
        """Run on the card thread and wait for the result (never from the UI thread)."""
        return self.submit(fn, *args).result(timeout=timeout)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
