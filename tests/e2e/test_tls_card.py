"""Card-backed mutual TLS against a real loopback HTTPS server (stdlib ssl / OpenSSL).

The client key is on the SoftHSM test cards; the server requires a client
certificate from the test PKI, exactly like the DMP host.
"""

from __future__ import annotations

import concurrent.futures
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from dmp_desktop.errors import (
    CardRemovedError,
    ClientCertificateRejectedError,
    DmpProtocolError,
    HostCertificateError,
    HostUnreachableError,
    TimeoutError_,
    TlsNegotiationError,
    describe,
)
from dmp_desktop.net import CardClientKey, FileClientKey, make_http_client
from dmp_desktop.net.keys import ClientKey
from dmp_desktop.net.tls import REASON_NEGOTIATION, VerifyingTLSConnection
from dmp_desktop.net.transport import MutualTlsTransport
from dmp_desktop.net.trust import REASON_CHAIN, REASON_NAME
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager, CardSession
from dmp_sandbox.pki import PkiPaths, issue_leaf, load_cert, load_key, new_key, pem, write_key

# isort: split
from tlslite.tlsconnection import TLSConnection

pytestmark = pytest.mark.e2e


# --- loopback HTTPS server -----------------------------------------------------


@dataclass
class ServerStats:
    requests: int = 0
    handshakes: int = 0
    handshake_errors: list[str] = field(default_factory=list)
    peer_certs: list[bytes] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    closed_connections: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_closed_connections(self, count: int) -> None:
        with self.lock:
            assert self.lock.wait_for(lambda: self.closed_connections >= count, timeout=10)

    def wait_for_handshake_errors(self, count: int) -> list[str]:
        """The server thread may record a failed handshake after the client gave up."""
        with self.lock:
            assert self.lock.wait_for(lambda: len(self.handshake_errors) >= count, timeout=10)
            return list(self.handshake_errors)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _TlsServer

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.server.stats.lock:
            self.server.stats.requests += 1
        if self.path.startswith("/bytes/"):
            self._reply(b"\xa5" * int(self.path.rsplit("/", 1)[1]))
            return
        if self.path == "/then-close":  # answer, then drop the keep-alive connection
            self._reply(b"bye")
            self.close_connection = True
            return
        if self.path == "/truncated":  # announce 1000 bytes, send 10, hang up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True
            return
        assert isinstance(self.connection, ssl.SSLSocket)
        der = self.connection.getpeercert(binary_form=True) or b""
        subject = x509.load_der_x509_certificate(der).subject.rfc4514_string() if der else ""
        self._reply(subject.encode())

    def do_POST(self) -> None:
        with self.server.stats.lock:
            self.server.stats.requests += 1
        size = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(size)
        self._reply(str(len(data)).encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _linger(sock: socket.socket) -> None:
    """Read what the client still sends before closing, as web servers do.

    In TLS 1.3 the client sends its request right after its Finished message,
    before it can know its certificate was refused; closing with that request
    unread makes the kernel answer with a reset, which may reach the client
    before the server's alert. Draining lets the alert arrive first.
    """
    try:
        sock.settimeout(2.0)
        while sock.recv(65536):
            pass
    except OSError:
        pass


class _TlsServer(ThreadingHTTPServer):
    """The TLS handshake runs in the connection's thread, not in the accept loop."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.stats = ServerStats()

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self.stats.lock:
                self.stats.handshake_errors.append(str(exc))
                self.stats.lock.notify_all()
            _linger(request)
            return
        try:
            with self.stats.lock:
                self.stats.handshakes += 1
                self.stats.peer_certs.append(tls.getpeercert(binary_form=True) or b"")
                self.stats.versions.append(str(tls.version()))
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()
            with self.stats.lock:
                self.stats.closed_connections += 1
                self.stats.lock.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up is not a test failure


@dataclass
class RunningServer:
    server: _TlsServer

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def stats(self) -> ServerStats:
        return self.server.stats

    def url(self, path: str = "/", host: str = "localhost") -> str:
        return f"https://{host}:{self.port}{path}"


ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def tls_server(training_env: Any) -> Iterator[ServerFactory]:
    pki: PkiPaths = training_env.pki
    started: list[tuple[_TlsServer, threading.Thread]] = []

    def start(
        cert_chain: Path | None = None,
        key: Path | None = None,
        *,
        min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        max_version: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
    ) -> RunningServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_chain or pki.host_cert, key or pki.host_key)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.client_cas)
        context.minimum_version = min_version
        if max_version is not None:
            context.maximum_version = max_version
        if ciphers is not None:
            context.set_ciphers(ciphers)
        server = _TlsServer(context)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread))
        return RunningServer(server)

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- keys and clients ------------------------------------------------------------


class CountingKey:
    """Wraps a ClientKey and counts the signatures it makes (one per handshake)."""

    def __init__(self, inner: ClientKey) -> None:
        self.inner = inner
        self.supports_pss = inner.supports_pss
        self.pkcs1 = 0
        self.pss = 0

    def certificate_chain(self) -> list[x509.Certificate]:
        return self.inner.certificate_chain()

    def sign_pkcs1(self, digest_info: bytes) -> bytes:
        self.pkcs1 += 1
        return self.inner.sign_pkcs1(digest_info)

    def sign_pss(self, digest: bytes, hash_name: str, salt_len: int) -> bytes:
        self.pss += 1
        return self.inner.sign_pss(digest, hash_name, salt_len)


class RemovedCardKey(CountingKey):
    """Fake for a state SoftHSM cannot produce mid-handshake: the card is pulled out."""

    def sign_pkcs1(self, digest_info: bytes) -> bytes:
        raise CardRemovedError()

    def sign_pss(self, digest: bytes, hash_name: str, salt_len: int) -> bytes:
        raise CardRemovedError()


@pytest.fixture(scope="module")
def card_sessions(card_manager: CardManager) -> Iterator[dict[str, CardSession]]:
    sessions: dict[str, CardSession] = {}
    for label, pin in (("CPS3-DURAND", "1234"), ("CPS4-MARTIN", "4321")):
        card = next(c for c in card_manager.list_cards() if c.token_label == label)
        sessions[label] = card_manager.login(card, pin)
    yield sessions
    for session in sessions.values():
        session.close()


@pytest.fixture
def settings(training_env: Any) -> Settings:
    return Settings(
        trust_roots=str(training_env.pki.trust_roots), connect_timeout=5.0, read_timeout=10.0
    )


def _client(settings: Settings, key: ClientKey) -> httpx.Client:
    return make_http_client(settings, key)


def _transport(client: httpx.Client) -> MutualTlsTransport:
    transport = client._transport
    assert isinstance(transport, MutualTlsTransport)
    return transport


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _rogue_client_key(rogue: PkiPaths, supports_pss: bool) -> FileClientKey:
    key = new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.COMMON_NAME, "899700433153"),
        ]
    )
    cert = issue_leaf(
        subject,
        key.public_key(),
        load_cert(rogue.persons_cert),
        load_key(rogue.persons_key),
        client=True,
    )
    return FileClientKey(key, [cert], supports_pss=supports_pss)


# --- tests -------------------------------------------------------------------------


def test_cps3_card_does_tls12_with_pkcs1_and_the_server_sees_the_card(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server()
    session = card_sessions["CPS3-DURAND"]
    key = CountingKey(CardClientKey(session))
    with _client(settings, key) as client:
        response = client.get(server.url())
        stream = response.extensions["network_stream"]
        assert response.status_code == 200
        assert response.text == session.auth_certificate.subject.rfc4514_string()
        assert stream.get_extra_info("tls_version") == "TLS 1.2"
        assert stream.get_extra_info("cipher") in ("aes256gcm", "aes128gcm")
        assert stream.get_extra_info("cipher_implementation") == "cryptography"
    assert server.stats.peer_certs == [_der(session.auth_certificate)]
    assert server.stats.versions == ["TLSv1.2"]
    assert (key.pkcs1, key.pss) == (1, 0)


def test_cps4_card_negotiates_tls13_with_pss(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server()
    session = card_sessions["CPS4-MARTIN"]
    key = CountingKey(CardClientKey(session))
    with _client(settings, key) as client:
        response = client.post(server.url("/echo"), content=b"z" * 100_000)
        assert response.text == "100000"
        assert response.extensions["network_stream"].get_extra_info("tls_version") == "TLS 1.3"
    assert server.stats.peer_certs == [_der(session.auth_certificate)]
    assert server.stats.versions == ["TLSv1.3"]
    assert (key.pkcs1, key.pss) == (0, 1)


def test_cps4_card_signs_pss_in_tls12_too(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server(max_version=ssl.TLSVersion.TLSv1_2)
    key = CountingKey(CardClientKey(card_sessions["CPS4-MARTIN"]))
    with _client(settings, key) as client:
        assert client.get(server.url()).status_code == 200
    assert server.stats.versions == ["TLSv1.2"]
    assert (key.pkcs1, key.pss) == (0, 1)


def test_keep_alive_reuses_the_connection_one_card_signature(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server()
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client:
        first = client.get(server.url("/bytes/70000"))
        second = client.post(server.url("/echo"), content=b"abc")
        assert len(first.content) == 70000
        assert second.text == "3"
        assert _transport(client).handshakes == 1
    assert key.pkcs1 == 1
    assert server.stats.handshakes == 1
    assert server.stats.requests == 2


def test_connection_closed_by_the_server_is_replaced(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server()
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client:
        assert client.get(server.url("/then-close")).text == "bye"
        server.stats.wait_for_closed_connections(1)
        assert client.get(server.url("/bytes/10")).content == b"\xa5" * 10
        assert _transport(client).handshakes == 2
        # The new connection resumes the first one's TLS session: no second card signature.
        assert _transport(client).resumed == 1
    assert key.pkcs1 == 1


def test_truncated_response_is_a_protocol_error(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server()
    with _client(settings, CardClientKey(card_sessions["CPS3-DURAND"])) as client:
        with pytest.raises(DmpProtocolError):
            client.get(server.url("/truncated"))
        # The broken connection was dropped; the next request gets a fresh one.
        assert client.get(server.url("/bytes/3")).content == b"\xa5\xa5\xa5"
        assert _transport(client).handshakes == 2


def test_shared_client_from_a_thread_pool(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server()
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client:

        def fetch(i: int) -> int:
            return len(client.get(server.url(f"/bytes/{1000 + i}")).content)

        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            sizes = list(pool.map(fetch, range(24)))
        assert sizes == [1000 + i for i in range(24)]
        handshakes = _transport(client).handshakes
        resumed = _transport(client).resumed
    assert 1 <= handshakes <= 4  # pool limit: at most 4 connections, 4 card signatures
    # A connection opened after another one's handshake may resume its TLS session: no
    # card signature then (seen once under load). Each full handshake signs once.
    assert key.pkcs1 == handshakes - resumed >= 1
    assert server.stats.requests == 24


def test_untrusted_host_is_refused_before_anything_is_sent(
    tls_server: ServerFactory,
    card_sessions: dict[str, CardSession],
    settings: Settings,
    rogue_pki: Any,
) -> None:
    server = tls_server(rogue_pki.host_cert, rogue_pki.host_key)
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client, pytest.raises(HostCertificateError) as err:
        client.post(server.url("/echo"), content=b"patient data")
    assert err.value.reason == REASON_CHAIN
    assert "Aucune donnée n'a été envoyée" in describe(err.value)
    assert len(server.stats.wait_for_handshake_errors(1)) == 1
    assert server.stats.requests == 0 and server.stats.handshakes == 0
    assert key.pkcs1 == 0  # the card never signed for that server


def test_post_handshake_check_catches_what_the_early_hook_would(
    tls_server: ServerFactory,
    card_sessions: dict[str, CardSession],
    settings: Settings,
    rogue_pki: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Should a tlslite-ng update stop calling the mid-handshake hook, the check
    # after the handshake still refuses the host before any request byte.
    monkeypatch.setattr(
        VerifyingTLSConnection, "_clientGetKeyFromChain", TLSConnection._clientGetKeyFromChain
    )
    server = tls_server(rogue_pki.host_cert, rogue_pki.host_key)
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client, pytest.raises(HostCertificateError) as err:
        client.post(server.url("/echo"), content=b"patient data")
    assert err.value.reason == REASON_CHAIN
    server.stats.wait_for_closed_connections(1)
    assert server.stats.handshakes == 1 and server.stats.requests == 0


def test_host_name_not_in_the_certificate_is_refused(
    tls_server: ServerFactory,
    card_sessions: dict[str, CardSession],
    settings: Settings,
    training_env: Any,
    tmp_path: Path,
) -> None:
    pki: PkiPaths = training_env.pki
    host_key = new_key()
    orgs = load_cert(pki.orgs_cert)
    cert = issue_leaf(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other.example")]),
        host_key.public_key(),
        orgs,
        load_key(pki.orgs_key),
        server=True,
        dns_names=["other.example"],
    )
    (tmp_path / "chain.pem").write_bytes(pem(cert, orgs))
    write_key(tmp_path / "private" / "host.key", host_key)
    server = tls_server(tmp_path / "chain.pem", tmp_path / "private" / "host.key")
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client:
        for host in ("localhost", "127.0.0.1"):
            with pytest.raises(HostCertificateError) as err:
                client.get(server.url(host=host))
            assert err.value.reason == REASON_NAME
    assert server.stats.requests == 0
    assert key.pkcs1 == 0


@pytest.mark.parametrize("supports_pss", [False, True], ids=["tls12", "tls13"])
def test_client_certificate_from_an_unknown_ca_is_rejected(
    tls_server: ServerFactory, settings: Settings, rogue_pki: Any, supports_pss: bool
) -> None:
    server = tls_server()
    key = _rogue_client_key(rogue_pki, supports_pss)
    with _client(settings, key) as client, pytest.raises(ClientCertificateRejectedError):
        client.get(server.url())
    assert "certificate verify failed" in server.stats.wait_for_handshake_errors(1)[0]
    assert server.stats.requests == 0


def test_cps3_refuses_a_tls13_only_server(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    # TLS 1.3 forbids PKCS#1 v1.5 signatures: a CPS3 card cannot do it.
    server = tls_server(min_version=ssl.TLSVersion.TLSv1_3)
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client, pytest.raises(TlsNegotiationError) as err:
        client.get(server.url())
    assert err.value.reason == REASON_NEGOTIATION
    assert not isinstance(err.value, HostCertificateError)  # not an untrusted certificate
    assert server.stats.requests == 0 and key.pkcs1 == 0


def test_cbc_only_server_is_refused(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server(
        max_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA"
    )
    key = CountingKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client, pytest.raises(TlsNegotiationError) as err:
        client.get(server.url())
    assert err.value.reason == REASON_NEGOTIATION
    assert not isinstance(err.value, HostCertificateError)  # not an untrusted certificate
    assert server.stats.requests == 0 and key.pkcs1 == 0


def test_connection_refused_is_host_unreachable(
    card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with _client(settings, CardClientKey(card_sessions["CPS3-DURAND"])) as client:
        with pytest.raises(HostUnreachableError):
            client.get(f"https://127.0.0.1:{port}/")


def test_silent_server_times_out(card_sessions: dict[str, CardSession], settings: Settings) -> None:
    settings.connect_timeout = 0.3
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never answers
        port = silent.getsockname()[1]
        with _client(settings, CardClientKey(card_sessions["CPS3-DURAND"])) as client:
            with pytest.raises(TimeoutError_):
                client.get(f"https://127.0.0.1:{port}/")


def test_card_removed_during_handshake_surfaces_as_card_error(
    tls_server: ServerFactory, card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    server = tls_server()
    key = RemovedCardKey(CardClientKey(card_sessions["CPS3-DURAND"]))
    with _client(settings, key) as client, pytest.raises(CardRemovedError):
        client.get(server.url())
    assert server.stats.requests == 0


def test_plain_http_is_never_used(
    card_sessions: dict[str, CardSession], settings: Settings
) -> None:
    with _client(settings, CardClientKey(card_sessions["CPS3-DURAND"])) as client:
        with pytest.raises(httpx.UnsupportedProtocol):
            client.get("http://127.0.0.1:9/")
