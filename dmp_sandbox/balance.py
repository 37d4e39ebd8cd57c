"""The workers' share of connections: each accepts only while it holds no more than the others.

A professional's client keeps its connection (HTTP keep-alive, one TLS
handshake), so where a connection lands decides which worker serves all of
that professional's requests. gunicorn's workers share one listening socket;
left to asyncio, the worker that wakes first accepts every connection waiting
(42 of 50 measured), and with one socket per worker (``SO_REUSEPORT``) the
kernel spreads them at random (29 / 21, 33 / 17): the busier worker's
professionals wait longer, and that worker sets the p99 (issue #16,
docs/performance.md).

Here the master makes a small table in shared memory before it forks the
workers (:class:`Shares`): for each worker, its pid, whether it accepts yet,
and how many connections it holds. A worker accepts a connection only while it
holds no more than every other live worker (:func:`may_accept`); otherwise it
stops watching the socket for a moment and the others take the connection.
Each worker writes only its own row; reading another's count a moment late
costs at most one connection of imbalance.

The accepting itself (:class:`BalancedSite`) goes through asyncio's public
``connect_accepted_socket`` with the worker's TLS context, then aiohttp's own
request handler, as ``create_server`` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import multiprocessing
import os
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

log = logging.getLogger("dmp_sandbox.balance")

RETRY_SECONDS = 0.002  # a worker that holds more looks at the socket again after this
ACCEPT_BURST = 16  # connections one wake-up may accept, each after checking the shares
HANDSHAKE_SECONDS = 60.0  # asyncio's default TLS handshake timeout

SHARES: Shares | None = None  # made by gunicorn's master (serve_workers), inherited by workers


def may_accept(mine: int, others: Sequence[int]) -> bool:
    """May a worker holding ``mine`` connections accept one more?

    Yes while no other accepting worker holds fewer: the counts then stay within
    one of each other as connections arrive.
    """
    return all(mine <= theirs for theirs in others)


class Shares:
    """Per worker: pid, accepting or not, connections held (shared memory, made before fork)."""

    def __init__(self, slots: int) -> None:
        self._pids = multiprocessing.RawArray("i", slots)
        self._accepting = multiprocessing.RawArray("b", slots)
        self._counts = multiprocessing.RawArray("i", slots)
        self._lock = multiprocessing.Lock()  # claiming a row

    def claim(self) -> int | None:
        """This process's row: a free one, or one left by a worker that is gone."""
        with self._lock:
            for slot, pid in enumerate(self._pids):
                if pid == 0 or not _alive(pid):
                    self._pids[slot] = os.getpid()
                    self._accepting[slot] = 0
                    self._counts[slot] = 0
                    return slot
        return None

    def accepting(self, slot: int, on: bool) -> None:
        self._accepting[slot] = 1 if on else 0

    def release(self, slot: int) -> None:
        with self._lock:
            self._accepting[slot] = 0
            self._counts[slot] = 0
            self._pids[slot] = 0

    def add(self, slot: int, delta: int) -> None:
        self._counts[slot] += delta  # only this row's worker writes it

    def count(self, slot: int) -> int:
        return int(self._counts[slot])

    def may_accept(self, slot: int) -> bool:
        mine = self._counts[slot]
        others = [
            self._counts[other]
            for other, pid in enumerate(self._pids)
            if other != slot
            and pid
            and self._accepting[other]
            # a row whose worker died (and was not replaced yet) does not hold anyone back
            and (self._counts[other] >= mine or _alive(pid))
        ]
        return may_accept(mine, others)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Counted(asyncio.Protocol):
    """aiohttp's request handler for one connection, telling when the connection ends."""

    def __init__(self, inner: asyncio.Protocol, on_lost: Callable[[], None]) -> None:
        self._inner = inner
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            self._inner.connection_lost(exc)
        finally:
            self._on_lost()


class BalancedSite(web.BaseSite):
    """A listening socket shared with the other workers, accepted from in turn (see above)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        sock: socket.socket,
        *,
        ssl_context: ssl.SSLContext | None,
        shares: Shares,
        slot: int,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._sock = sock
        self._shares = shares
        self._slot = slot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watching = False
        self._retry: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        host, port = sock.getsockname()[:2]
        self._name = f"{'https' if ssl_context else 'http'}://{host}:{port}"

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        await super().start()
        self._loop = asyncio.get_running_loop()
        self._sock.setblocking(False)
        self._shares.accepting(self._slot, True)
        self._watch()

    async def stop(self) -> None:
        self._unwatch()
        if self._retry is not None:
            self._retry.cancel()
        self._shares.accepting(self._slot, False)
        await super().stop()

    def _watch(self) -> None:
        self._retry = None
        if self._loop is not None and not self._watching:
            self._loop.add_reader(self._sock.fileno(), self._on_readable)
            self._watching = True

    def _unwatch(self) -> None:
        if self._loop is not None and self._watching:
            self._loop.remove_reader(self._sock.fileno())
            self._watching = False

    def _on_readable(self) -> None:
        loop = self._loop
        if loop is None:
            return
        for _ in range(ACCEPT_BURST):
            if not self._shares.may_accept(self._slot):
                # Another worker holds fewer: leave it this connection.
                self._unwatch()
                self._retry = loop.call_later(RETRY_SECONDS, self._watch)
                return
            try:
                conn, _address = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return  # nothing waiting (another worker took it)
            except OSError as exc:
                if exc.errno not in (errno.ECONNABORTED, errno.EPROTO):
                    log.warning("accepting a connection failed: %s", exc)
                return
            conn.setblocking(False)
            self._shares.add(self._slot, 1)
            task = loop.create_task(self._serve(loop, conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _serve(self, loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
        counted = False

        def lost() -> None:
            nonlocal counted
            if not counted:
                counted = True
                self._shares.add(self._slot, -1)

        server = self._runner.server
        if server is None:  # the runner is being cleaned up
            conn.close()
            lost()
            return
        try:
            await loop.connect_accepted_socket(
                lambda: _Counted(server(), lost),
                conn,
                ssl=self._ssl_context,
                ssl_handshake_timeout=HANDSHAKE_SECONDS if self._ssl_context else None,
            )
        except Exception as exc:  # a failed handshake: that connection only
            log.debug("connection not served: %s", exc)
            with contextlib.suppress(OSError):
                conn.close()
            lost()
