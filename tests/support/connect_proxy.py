"""A small real HTTP CONNECT proxy on loopback (asyncio, in a thread of its own).

It does what a practice's proxy does with HTTPS: reads ``CONNECT host:port``,
optionally demands ``Proxy-Authorization: Basic`` (407 otherwise), may refuse
some destinations (403), opens a TCP connection to the destination and relays
bytes both ways without looking at them. It records what it was asked.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class ProxyLog:
    connects: list[str] = field(default_factory=list)  # "host:port" asked for
    authorizations: list[str | None] = field(default_factory=list)
    relayed_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ConnectProxy:
    def __init__(self, *, credentials: tuple[str, str] | None = None, deny: str = "") -> None:
        self.credentials = credentials
        self.deny = deny  # destination host refused with 403
        self.log = ProxyLog()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()  # every open stream, closed at stop

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    # -- life ---------------------------------------------------------------------------
    def start(self) -> ConnectProxy:
        self._thread = threading.Thread(target=self._run, name="connect-proxy", daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "proxy did not start"
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            # Nothing left behind: every relay cancelled, every socket closed.
            self._server.close()
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            for writer in list(self._writers):
                writer.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.run_until_complete(asyncio.sleep(0.05))  # let the transports close
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- one client ---------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # the proxy stops: end quietly (asyncio logs a cancelled handler)
        finally:
            writer.close()
            self._writers.discard(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = [*lines[0].split(" "), "", "", ""][:3]
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        auth = headers.get("proxy-authorization")
        with self.log.lock:
            self.log.connects.append(target)
            self.log.authorizations.append(auth)
        if method != "CONNECT":
            await self._answer(writer, 405, "Method Not Allowed")
            return
        if self.credentials is not None:
            expected = base64.b64encode(":".join(self.credentials).encode()).decode()
            if auth != f"Basic {expected}":
                await self._answer(writer, 407, "Proxy Authentication Required")
                return
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if self.deny and host == self.deny:
            await self._answer(writer, 403, "Forbidden")
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except (OSError, ValueError):
            await self._answer(writer, 502, "Bad Gateway")
            return
        self._writers.add(up_writer)
        try:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            up_writer.close()
            self._writers.discard(up_writer)

    async def _answer(self, writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n".encode())
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                with self.log.lock:
                    self.log.relayed_bytes += len(data)
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.close()


@contextlib.contextmanager
def running_proxy(**options: object) -> Iterator[ConnectProxy]:
    proxy = ConnectProxy(**options).start()  # type: ignore[arg-type]
    try:
        yield proxy
    finally:
        proxy.stop()
