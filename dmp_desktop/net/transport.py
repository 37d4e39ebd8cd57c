"""httpx over the card-backed TLS: an httpx transport with its own small pool.

httpcore's ``HTTP11Connection`` does the HTTP/1.1 work on a network stream
(:class:`TlsStream`) provided here, over the tlslite-ng connection of
:mod:`dmp_desktop.net.tls`. :class:`MutualTlsTransport` owns the connections
(keep-alive, one request per connection at a time, safe to share between threads).

Errors raised by ``httpx.Client`` calls going through :class:`MutualTlsTransport`
(directly from the transport, not wrapped in ``httpx.HTTPError``):

* :class:`~dmp_desktop.errors.HostCertificateError`: the host's chain or name
  is not trusted. Nothing was sent (not even our certificate).
* :class:`~dmp_desktop.errors.TlsNegotiationError`: the host only offers TLS
  versions/ciphers we refuse (or the reverse). Nothing was sent.
* :class:`~dmp_desktop.errors.ProxyError`: the HTTP proxy (settings or system)
  could not be reached or refused the CONNECT tunnel (:mod:`.proxy`).
* :class:`~dmp_desktop.errors.ClientCertificateRejectedError`: the host
  refused our certificate (alert after our certificate, TLS 1.2 or 1.3).
* :class:`~dmp_desktop.errors.HostUnreachableError`: DNS failure, connection
  refused/reset, connection lost, other TLS failure.
* :class:`~dmp_desktop.errors.TimeoutError_`: connect, read, write or pool timeout.
* :class:`~dmp_desktop.errors.DmpProtocolError`: the host's HTTP is malformed
  (or it closed the connection without answering).
* :class:`~dmp_desktop.errors.CardRemovedError` (and other card errors): the
  card could not sign during a handshake.

Any of them, raised while a response body is being read, also comes from
iterating / reading the response. A failed connection is closed, never reused.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
import typing
from collections.abc import Iterable, Iterator

import httpcore
import httpx
from cryptography import x509

from dmp_desktop.errors import (
    DmpDesktopError,
    DmpProtocolError,
    HostNotReachedError,
    HostUnreachableError,
    TimeoutError_,
)
from dmp_desktop.net.keys import ClientKey
from dmp_desktop.net.proxy import ProxyConfig, connect_through
from dmp_desktop.net.tls import TlsClientConfig, TlsSession, TlsSessions, map_tls_error

log = logging.getLogger(__name__)

# Time allowed to send close_notify when a connection is closed.
_CLOSE_TIMEOUT = 2.0


def _socket_readable(sock: socket.socket) -> bool:
    """True if a read would not block (data, EOF or error): an idle keep-alive
    connection in that state has been closed by the server."""
    if sock.fileno() < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class TlsStream(httpcore.NetworkStream):
    """An established TLS connection, as httpcore sees it."""

    def __init__(self, session: TlsSession) -> None:
        self._session = session
        self._conn = session.conn
        self._sock = session.sock
        self._got_data = False
        self._closed = False
        self._timeout: float | None = -1.0  # what the socket is set to (-1: unknown)
        self._deferred: BaseException | None = None

    def _set_timeout(self, timeout: float | None) -> None:
        # settimeout() is a system call: skip it when the value does not change.
        if timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = timeout

    def _fail(self, exc: BaseException) -> typing.NoReturn:
        self._close_socket()
        mapped = map_tls_error(
            exc,
            signed=self._session.signed,
            in_handshake=False,
            before_first_response=not self._got_data,
        )
        if mapped is exc:
            raise exc
        raise mapped from exc

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._deferred is not None:
            exc, self._deferred = self._deferred, None
            self._fail(exc)
        try:
            self._set_timeout(timeout)
            data = self._conn.read(max=max_bytes, min=1)
        except BaseException as exc:
            self._fail(exc)
        if not data:
            return b""
        if not self._got_data:
            self._got_data = True
            self._session.reader.defer_send_errors = False  # the host took our certificate
        # tlslite-ng returns one record (16 KiB at most) per call; hand httpcore
        # every record already buffered, without blocking: about four times
        # fewer trips through httpcore and h11 on a bulk download.
        parts = [data]
        size = len(data)
        reader = self._session.reader
        while size < max_bytes and reader.has_full_record():
            try:
                # min=0: process exactly the buffered record, even if it is not
                # application data (a TLS 1.3 ticket), and never wait for another.
                more = self._conn.read(max=max_bytes - size, min=0)
            except Exception as exc:
                self._deferred = exc
                break
            except BaseException as exc:
                self._fail(exc)
            if more:
                parts.append(more)
                size += len(more)
            elif self._conn.closed:
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._set_timeout(timeout)
            self._conn.write(buffer)
        except BaseException as exc:
            self._fail(exc)

    def _close_socket(self) -> None:
        self._closed = True
        self._sock.close()

    def close(self) -> None:
        if self._closed:
            return
        try:
            if not self._conn.closed:
                self._set_timeout(_CLOSE_TIMEOUT)
                self._conn.close()  # close_notify
        except Exception:
            log.debug("TLS close_notify not sent")
        finally:
            self._close_socket()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        raise RuntimeError("TLS inside TLS (HTTPS proxy) is not supported")

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            # Idle connection: buffered or incoming bytes mean the server closed it.
            return (
                self._closed
                or self._deferred is not None
                or self._conn.closed
                or self._session.reader.pending() > 0
                or _socket_readable(self._sock)
            )
        if info == "server_addr" and not self._closed:
            return self._sock.getpeername()
        if info == "client_addr" and not self._closed:
            return self._sock.getsockname()
        if info == "tls_version":
            return self._session.version
        if info == "cipher":
            return self._session.cipher
        if info == "cipher_implementation":
            return self._session.implementation
        return None  # in particular "ssl_object": no HTTP/2 negotiation


@contextlib.contextmanager
def _typed_errors() -> Iterator[None]:
    """httpcore's own exceptions, as the application's typed errors."""
    try:
        yield
    except DmpDesktopError:
        raise
    except httpcore.TimeoutException:
        raise TimeoutError_() from None
    except httpcore.RemoteProtocolError as exc:
        raise DmpProtocolError(f"HTTP: {exc}") from None
    except httpcore.NetworkError as exc:
        raise HostUnreachableError(type(exc).__name__) from None


class _PooledStream(httpx.SyncByteStream):
    """A response body; closing it hands the connection back to the pool (once)."""

    def __init__(self, stream: Iterable[bytes], on_close: typing.Callable[[], None]) -> None:
        self._stream = stream
        self._on_close: typing.Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        with _typed_errors():
            yield from self._stream

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is None:
            return
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                with _typed_errors():
                    close()
        finally:
            on_close()


class MutualTlsTransport(httpx.BaseTransport):
    """httpx transport: HTTPS/1.1 with the client key held by a :class:`ClientKey`.

    Connection pool: at most ``max_connections`` connections; a connection
    belongs either to the idle list or to exactly one request until its
    response is closed, so threads never share one (httpcore's own pool can
    close a connection it has just handed out, encode/httpcore#1110). Idle
    connections are reused (keep-alive) until ``keepalive_expiry`` or until the
    server closes them; a new connection resumes the TLS session of an earlier
    one when the host agrees (``tls_sessions``, shared by the clients of one card
    session: no card signature, one round trip less). No request is ever retried.
    """

    def __init__(
        self,
        key: ClientKey,
        trust_roots: list[x509.Certificate],
        *,
        max_connections: int = 4,
        keepalive_expiry: float = 30.0,
        proxy: ProxyConfig | None = None,
        tls_sessions: TlsSessions | None = None,
    ) -> None:
        self._config = TlsClientConfig(key, trust_roots, sessions=tls_sessions)
        self._proxy = proxy or ProxyConfig(from_environment=False)
        self._keepalive_expiry = keepalive_expiry
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._idle: list[httpcore.HTTP11Connection] = []
        self._closed = False
        self._handshakes = 0
        self._resumed = 0

    @property
    def handshakes(self) -> int:
        """Number of TLS handshakes done so far, full or resumed."""
        return self._handshakes

    @property
    def resumed(self) -> int:
        """How many of them resumed an earlier session (no client signature, fewer round trips)."""
        return self._resumed

    # -- connections ------------------------------------------------------------
    def _connect(self, host: str, port: int, timeout: float | None) -> TlsStream:
        proxy = self._proxy.proxy_for(host)
        if proxy is not None:
            sock = connect_through(proxy, host, port, timeout)  # typed errors
        else:
            try:
                sock = socket.create_connection((host, port), timeout)
            except TimeoutError:
                raise TimeoutError_() from None
            except OSError as exc:
                log.debug("connection to %s:%d failed: %s", host, port, type(exc).__name__)
                raise HostNotReachedError(type(exc).__name__) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            sock.close()
            raise HostNotReachedError("socket") from None
        session = self._config.handshake(sock, host, port)  # closes the socket on failure
        with self._lock:
            self._handshakes += 1
            self._resumed += int(session.resumed)
        return TlsStream(session)

    def _checkout(self, origin: httpcore.Origin) -> httpcore.HTTP11Connection | None:
        """An idle connection to ``origin`` (most recently used first), else None."""
        stale: list[httpcore.HTTP11Connection] = []
        found = None
        with self._lock:
            if self._closed:
                raise RuntimeError("the HTTP client is closed")
            for conn in reversed(self._idle):
                if conn.has_expired() or not conn.is_idle():
                    stale.append(conn)
                elif found is None and conn.can_handle_request(origin):
                    found = conn
            self._idle = [c for c in self._idle if c is not found and c not in stale]
        for conn in stale:
            conn.close()
        return found

    def _checkin(self, conn: httpcore.HTTP11Connection) -> None:
        try:
            with self._lock:
                keep = not self._closed and conn.is_idle()
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()
        finally:
            self._slots.release()

    # -- httpx ------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https":
            raise httpx.UnsupportedProtocol("only https:// URLs are allowed")
        assert isinstance(request.stream, httpx.SyncByteStream)  # noqa: S101 - httpx contract
        timeouts = request.extensions.get("timeout", {})
        pool_timeout = timeouts.get("pool")
        if not self._slots.acquire(timeout=pool_timeout):
            raise TimeoutError_()
        try:
            core_request = httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
            origin = core_request.url.origin
            conn = self._checkout(origin)
            if conn is None:
                host = request.extensions.get("sni_hostname") or origin.host.decode("ascii")
                stream = self._connect(host, origin.port, timeouts.get("connect"))
                conn = httpcore.HTTP11Connection(
                    origin=origin, stream=stream, keepalive_expiry=self._keepalive_expiry
                )
            try:
                with _typed_errors():
                    response = conn.handle_request(core_request)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            self._slots.release()
            raise
        assert isinstance(response.stream, Iterable)  # noqa: S101 - httpcore contract
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_PooledStream(response.stream, lambda: self._checkin(conn)),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
