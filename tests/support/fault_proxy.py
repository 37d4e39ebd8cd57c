"""A fault-injecting TCP proxy on loopback, between the client and the real training host.

It forwards bytes both ways and, when told, misbehaves like a bad network or
a dying host. It sits below TLS: it cannot read or forge HTTP inside the
encrypted stream (answers such as an HTTP 500 come from the host's own test
hook, :mod:`dmp_sandbox.faults`), but it knows TLS record boundaries, so it
can tell the request from the answer:

- the *request* of an exchange starts with the first client record of
  application data large enough to be an HTTP request (the TLS 1.3
  ``Finished`` is application data too, but tiny);
- the *answer* is what the server sends after it.

Modes (:meth:`FaultProxy.set_mode`), applied to the next ``times`` exchanges
(or connections, for the connection-level ones), then back to forwarding:

- :class:`Delay`: the answer starts ``seconds`` late (latency);
- :class:`ResetAfter`: ``n`` bytes of the answer, then the connection is
  reset (RST) both ways: the host did the work, the client got half an answer;
- :class:`CloseBeforeAnswer`: the client's connection is closed before any
  byte of the answer (``forward_request=True``: the host still gets the
  request and does the work; ``False``: it never sees it);
- :class:`Inject`: a new connection gets ``data`` (e.g. a plain-text HTTP
  500) instead of the host's bytes, then is closed; a TLS client sees a
  broken handshake;
- :class:`Refuse`: a new connection is accepted and reset at once.

Everything runs on daemon threads; :meth:`FaultProxy.close` stops them and
closes every socket.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

TLS_APPLICATION_DATA = 23
TLS_RECORD_HEADER = 5
REQUEST_MIN_RECORD = 512  # an HTTP request with its VIHF is several kB; Finished is ~50 bytes
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Pass:
    """Forward everything (the default)."""


@dataclass(frozen=True)
class Delay:
    seconds: float


@dataclass(frozen=True)
class ResetAfter:
    answer_bytes: int


@dataclass(frozen=True)
class CloseBeforeAnswer:
    forward_request: bool = True


@dataclass(frozen=True)
class Inject:
    data: bytes


@dataclass(frozen=True)
class Refuse:
    """Accept, then reset at once."""


Mode = Pass | Delay | ResetAfter | CloseBeforeAnswer | Inject | Refuse
_CONNECTION_MODES = (Inject, Refuse)


@dataclass
class ProxyStats:
    connections: int = 0
    exchanges: int = 0  # requests seen (one per HTTP request)
    # Round trips: how many times the host started sending after the client had sent
    # (a TLS 1.2 full handshake is 2, a resumed one or TLS 1.3's 1, each HTTP exchange 1;
    # the TCP handshake is not seen by the proxy).
    round_trips: int = 0
    round_trips_by_connection: list[int] = field(default_factory=list)  # in connection order
    faults: list[str] = field(default_factory=list)  # modes applied, in order
    request_bytes: int = 0
    answer_bytes: int = 0


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0) instead of a FIN, waking up any thread reading it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    sock.close()


class _Records:
    """Incremental TLS record reader: yields (type, length) as records complete."""

    def __init__(self) -> None:
        self._buffer = b""
        self._need = 0  # bytes of the current record's body still to skip
        self.tls: bool | None = None

    def feed(self, data: bytes) -> list[tuple[int, int]]:
        if self.tls is None and data:
            self.tls = data[0] in (20, 21, 22, 23)
        if not self.tls:
            return [(TLS_APPLICATION_DATA, len(data))] if data else []
        out: list[tuple[int, int]] = []
        while data:
            if self._need:
                taken = min(self._need, len(data))
                self._need -= taken
                data = data[taken:]
                continue
            self._buffer += data
            data = b""
            if len(self._buffer) < TLS_RECORD_HEADER:
                break
            kind = self._buffer[0]
            length = int.from_bytes(self._buffer[3:5], "big")
            out.append((kind, length))
            rest = self._buffer[TLS_RECORD_HEADER:]
            self._buffer = b""
            self._need = length
            data = rest
        return out


class _Connection:
    def __init__(self, proxy: FaultProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server: socket.socket | None = None
        self.lock = threading.Lock()
        self.closed = False
        self.requests = _Records()
        self.in_request = False  # a request was sent and its answer has not started
        self.answering = False  # the answer of the current exchange is being forwarded
        self.mode: Mode = Pass()
        self.answered = 0  # answer bytes forwarded in this exchange
        self.client_spoke = False  # the client sent something the host has not answered yet
        self.number = 0  # its place among the proxy's connections (0 for the first)

    def close(self, *, reset: bool = False) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.server):
            if sock is None:
                continue
            if reset:
                _reset(sock)
            else:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def run(self) -> None:
        mode = self.proxy._next_connection_mode()
        if isinstance(mode, Inject):
            try:
                self.client.sendall(mode.data)
            except OSError:
                pass
            self.close()
            return
        if isinstance(mode, Refuse):
            self.close(reset=True)
            return
        try:
            server = socket.create_connection(self.proxy.target, timeout=10)
        except OSError:
            self.close(reset=True)
            return
        with self.lock:
            closed = self.closed
            if not closed:
                self.server = server
        if closed:  # dropped while connecting upstream: close() could not see this socket
            server.close()
            return
        self.server.settimeout(None)
        self.client.settimeout(None)
        upstream = threading.Thread(target=self._client_to_server, daemon=True)
        upstream.start()
        self._server_to_client()
        upstream.join()

    # -- client -> server: find the requests -----------------------------------------------------
    def _client_to_server(self) -> None:
        assert self.server is not None
        try:
            while True:
                data = self.client.recv(CHUNK)
                if not data:
                    break
                starts_request = any(
                    kind == TLS_APPLICATION_DATA
                    and (length >= REQUEST_MIN_RECORD or not self.requests.tls)
                    for kind, length in self.requests.feed(data)
                )
                if starts_request and not self.in_request:
                    self._new_exchange()
                mode = self.mode
                if isinstance(mode, CloseBeforeAnswer) and not mode.forward_request:
                    self.proxy._fault("CloseBeforeAnswer(forward_request=False)")
                    self.close(reset=True)
                    return
                with self.proxy._lock:
                    self.client_spoke = True  # before forwarding: the answer may come at once
                self.server.sendall(data)
                with self.proxy._lock:
                    self.proxy.stats.request_bytes += len(data)
        except OSError:
            pass
        finally:
            if self.server is not None and not self.closed:
                try:
                    self.server.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def _new_exchange(self) -> None:
        self.in_request = True
        self.answering = False
        self.answered = 0
        self.mode = self.proxy._next_exchange_mode()

    # -- server -> client: the answers, with the faults -------------------------------------------
    def _server_to_client(self) -> None:
        assert self.server is not None
        try:
            while True:
                data = self.server.recv(CHUNK)
                if not data:
                    break
                with self.proxy._lock:
                    if self.client_spoke:
                        self.proxy.stats.round_trips += 1
                        self.proxy.stats.round_trips_by_connection[self.number] += 1
                        self.client_spoke = False
                if self.in_request and not self.answering:
                    self.answering = True
                    if not self._answer_starts():
                        return
                if self.answering:
                    data = self._answer_chunk(data)
                    if data is None:
                        return
                self.client.sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def _answer_starts(self) -> bool:
        """The first bytes of an answer arrived; False when the connection was dropped."""
        mode = self.mode
        if isinstance(mode, Delay):
            self.proxy._fault(f"Delay({mode.seconds})")
            if self.proxy._stopping.wait(mode.seconds):
                return False
        if isinstance(mode, CloseBeforeAnswer):
            self.proxy._fault("CloseBeforeAnswer")
            self.close(reset=True)
            return False
        return True

    def _answer_chunk(self, data: bytes) -> bytes | None:
        """The part of ``data`` to forward, or None when the connection was reset."""
        mode = self.mode
        if isinstance(mode, ResetAfter):
            room = mode.answer_bytes - self.answered
            if room < len(data):
                if room > 0:
                    self.client.sendall(data[:room])
                    self._count(room)
                self.proxy._fault(f"ResetAfter({mode.answer_bytes})")
                self.close(reset=True)
                return None
        self._count(len(data))
        # A new request on this connection ends the answer (keep-alive).
        self.in_request = False
        return data

    def _count(self, size: int) -> None:
        self.answered += size
        with self.proxy._lock:
            self.proxy.stats.answer_bytes += size


class FaultProxy:
    """Listens on 127.0.0.1 and forwards to ``target``; see the module docstring."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # (mode, remaining or None: always, exchanges or connections to let through first)
        self._modes: list[tuple[Mode, int | None, int]] = []
        self._connections: list[_Connection] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The host's URL through the proxy (the host certificate names ``localhost``)."""
        return f"https://localhost:{self.port}"

    def set_mode(self, mode: Mode, *, times: int | None = 1, after: int = 0) -> None:
        """Misbehave like ``mode`` for ``times`` exchanges (None: until changed).

        ``after``: exchanges (connections, for :class:`Inject` and :class:`Refuse`)
        forwarded untouched first, e.g. ``after=1`` spares the TD0.2 that opens
        a consultation and hits the document list that follows.
        """
        with self._lock:
            self._modes = [] if isinstance(mode, Pass) else [(mode, times, after)]

    def clear(self) -> None:
        self.set_mode(Pass())

    def _take(self, connection_level: bool) -> Mode:
        with self._lock:
            if not self._modes:
                return Pass()
            mode, remaining, skip = self._modes[0]
            if isinstance(mode, _CONNECTION_MODES) != connection_level:
                return Pass()
            if skip > 0:
                self._modes = [(mode, remaining, skip - 1)]
                return Pass()
            if remaining is not None:
                remaining -= 1
                self._modes = [(mode, remaining, 0)] if remaining > 0 else []
            return mode

    def _next_connection_mode(self) -> Mode:
        return self._take(connection_level=True)

    def _next_exchange_mode(self) -> Mode:
        with self._lock:
            self.stats.exchanges += 1
        return self._take(connection_level=False)

    def _fault(self, name: str) -> None:
        with self._lock:
            self.stats.faults.append(name)

    def drop_connections(self) -> None:
        """Reset every open connection (the host vanished)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close(reset=True)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            connection = _Connection(self, client)
            with self._lock:
                connection.number = self.stats.connections
                self.stats.round_trips_by_connection.append(0)
                self.stats.connections += 1
                self._connections = [c for c in self._connections if not c.closed]
                self._connections.append(connection)
            threading.Thread(target=connection.run, name="fault-proxy-conn", daemon=True).start()

    def close(self) -> None:
        self._stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=5)
        self.drop_connections()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
