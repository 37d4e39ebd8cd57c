"""TLS parameters, host validation and error mapping, without a network."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from dmp_desktop.errors import (
    CardRemovedError,
    ClientCertificateRejectedError,
    HostCertificateError,
    HostUnreachableError,
    SettingsError,
    TimeoutError_,
    TlsNegotiationError,
    describe,
)
from dmp_desktop.net import FileClientKey, HostVerifier, load_trust_roots, make_http_client
from dmp_desktop.net.tls import REASON_NEGOTIATION, TlsSession, handshake_settings, map_tls_error
from dmp_desktop.net.transport import MutualTlsTransport, TlsStream
from dmp_desktop.net.trust import (
    REASON_CHAIN,
    REASON_EXPIRED,
    REASON_NAME,
    REASON_NO_CERTIFICATE,
    name_matches,
)
from dmp_desktop.settings import Settings
from dmp_sandbox.pki import PkiPaths, issue_leaf, load_cert, load_key

# isort: split
from tlslite.constants import AlertDescription, AlertLevel, CipherSuite
from tlslite.errors import TLSAbruptCloseError, TLSLocalAlert, TLSRemoteAlert
from tlslite.messages import Alert

# --- TLS parameters -------------------------------------------------------------


@pytest.mark.parametrize("supports_pss", [False, True], ids=["cps3", "cps4"])
def test_never_below_tls12_and_only_ecdhe_rsa_aes_gcm(supports_pss: bool) -> None:
    settings = handshake_settings(supports_pss)
    assert settings.minVersion == (3, 3)
    assert min(settings.versions) == (3, 3)
    offered = (
        CipherSuite.getEcdheCertSuites(settings)
        + CipherSuite.getCertSuites(settings)
        + CipherSuite.getDheCertSuites(settings)
        + CipherSuite.getEcdsaSuites(settings)
        + CipherSuite.getTLS13Suites(settings)
    )
    names = {CipherSuite.ietfNames[s] for s in offered}
    assert names >= {
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    }
    for name in names:
        assert "GCM" in name, name
        assert name.startswith(("TLS_ECDHE_RSA_", "TLS_AES_")), name
    assert settings.macNames == ["aead"]
    assert not settings.certificate_compression_send


def test_cps3_gets_tls12_and_pkcs1_only() -> None:
    settings = handshake_settings(supports_pss=False)
    assert settings.maxVersion == (3, 3) and settings.versions == [(3, 3)]
    assert settings.rsaSchemes == ["pkcs1"]
    assert not CipherSuite.getTLS13Suites(settings, (3, 3))


def test_cps4_may_use_tls13_and_pss() -> None:
    settings = handshake_settings(supports_pss=True)
    assert settings.maxVersion == (3, 4)
    assert settings.rsaSchemes[0] == "pss"
    assert set(settings.rsaSigHashes) == {"sha256", "sha384", "sha512"}


# --- host validation ------------------------------------------------------------


def _host_cert(
    pki: PkiPaths, dns: list[str], ips: list[str], not_before: dt.datetime | None = None
) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return issue_leaf(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns or ips)[0])]),
        key.public_key(),
        load_cert(pki.orgs_cert),
        load_key(pki.orgs_key),
        server=True,
        dns_names=dns,
        ips=ips,
        not_before=not_before,
        days=1 if not_before else 30,
    )


def test_verifier_accepts_the_training_host(training_env: Any) -> None:
    pki: PkiPaths = training_env.pki
    verifier = HostVerifier(load_trust_roots(pki.trust_roots))
    chain = x509.load_pem_x509_certificates(pki.host_cert.read_bytes())
    verifier.verify(chain, "localhost")
    verifier.verify(chain, "LOCALHOST.")
    verifier.verify(chain, "127.0.0.1")


def test_verifier_explains_its_refusals(training_env: Any, rogue_pki: Any) -> None:
    pki: PkiPaths = training_env.pki
    orgs = load_cert(pki.orgs_cert)
    verifier = HostVerifier(load_trust_roots(pki.trust_roots))
    good = x509.load_pem_x509_certificates(pki.host_cert.read_bytes())
    rogue = x509.load_pem_x509_certificates(rogue_pki.host_cert.read_bytes())
    expired = _host_cert(pki, ["localhost"], [], dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    cases = [
        (good, "dmp.example", REASON_NAME),
        (good, "::1", REASON_NAME),
        (rogue, "localhost", REASON_CHAIN),
        (good[:1], "localhost", REASON_CHAIN),  # intermediate missing
        ([expired, orgs], "localhost", REASON_EXPIRED),
        ([], "localhost", REASON_NO_CERTIFICATE),
    ]
    for chain, host, reason in cases:
        with pytest.raises(HostCertificateError) as err:
            verifier.verify(chain, host)
        assert err.value.reason == reason, (host, reason)


def test_wildcards_match_one_label_only(training_env: Any) -> None:
    cert = _host_cert(training_env.pki, ["*.dmp.example"], ["10.0.0.1"])
    assert name_matches(cert, "api.dmp.example")
    assert not name_matches(cert, "a.b.dmp.example")
    assert not name_matches(cert, "dmp.example")
    assert name_matches(cert, "10.0.0.1")
    assert not name_matches(cert, "10.0.0.2")


def test_trust_roots_file_errors_are_settings_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        load_trust_roots(tmp_path / "missing.pem")
    (tmp_path / "empty.pem").write_text("no certificate here\n")
    with pytest.raises(SettingsError):
        load_trust_roots(tmp_path / "empty.pem")
    with pytest.raises(SettingsError):
        HostVerifier([])


# --- error mapping ----------------------------------------------------------------


def _remote(description: int) -> TLSRemoteAlert:
    return TLSRemoteAlert(Alert().create(description, AlertLevel.fatal))


def _local(description: int) -> TLSLocalAlert:
    return TLSLocalAlert(Alert().create(description, AlertLevel.fatal), "test")


def test_alerts_after_our_certificate_mean_it_was_rejected() -> None:
    for description in (
        AlertDescription.unknown_ca,
        AlertDescription.bad_certificate,
        AlertDescription.handshake_failure,
        AlertDescription.certificate_required,
    ):
        mapped = map_tls_error(_remote(description), signed=True, in_handshake=True)
        assert isinstance(mapped, ClientCertificateRejectedError)
        # TLS 1.3: the verdict arrives after the handshake, before any response.
        mapped = map_tls_error(
            _remote(description), signed=True, in_handshake=False, before_first_response=True
        )
        assert isinstance(mapped, ClientCertificateRejectedError)
    later = map_tls_error(_remote(AlertDescription.unknown_ca), signed=True, in_handshake=False)
    assert isinstance(later, HostUnreachableError)
    hung_up = map_tls_error(BrokenPipeError(), signed=True, in_handshake=True)
    assert isinstance(hung_up, ClientCertificateRejectedError)


def test_negotiation_failures_are_not_certificate_errors() -> None:
    for exc in (
        _remote(AlertDescription.protocol_version),
        _remote(AlertDescription.handshake_failure),
        _local(AlertDescription.protocol_version),
        _local(AlertDescription.insufficient_security),
    ):
        mapped = map_tls_error(exc, signed=False, in_handshake=True)
        assert isinstance(mapped, TlsNegotiationError)
        assert not isinstance(mapped, HostCertificateError)
        assert mapped.reason == REASON_NEGOTIATION
        assert "certificat" not in describe(mapped)
        assert "TLS" in describe(mapped)


def test_network_failures_and_pass_through() -> None:
    assert isinstance(map_tls_error(TimeoutError(), signed=False, in_handshake=True), TimeoutError_)
    lost = (ConnectionResetError(), TLSAbruptCloseError(), _remote(AlertDescription.decode_error))
    for exc in lost:
        assert isinstance(map_tls_error(exc, signed=False, in_handshake=True), HostUnreachableError)
    removed = CardRemovedError()
    assert map_tls_error(removed, signed=False, in_handshake=True) is removed
    rejection = HostCertificateError(REASON_CHAIN)
    assert (
        map_tls_error(OSError(), signed=False, in_handshake=True, host_rejection=rejection)
        is rejection
    )
    interrupt = KeyboardInterrupt()
    assert map_tls_error(interrupt, signed=True, in_handshake=True) is interrupt


# --- the httpx client ------------------------------------------------------------


def test_http_client_has_explicit_timeouts_and_ignores_the_environment(
    training_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    pki: PkiPaths = training_env.pki
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "structure")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    settings = Settings(trust_roots=str(pki.trust_roots), connect_timeout=3.0, read_timeout=7.0)
    with make_http_client(settings, FileClientKey(key, [cert])) as client:
        assert client.timeout == httpx.Timeout(connect=3.0, read=7.0, write=7.0, pool=10.0)
        assert not client.trust_env
        assert isinstance(client._transport, MutualTlsTransport)
        assert not client._mounts  # no proxy transport that would bypass the card
        with pytest.raises(httpx.UnsupportedProtocol):
            client.get("http://localhost/")
    with pytest.raises(SettingsError):
        make_http_client(Settings(trust_roots="/nonexistent.pem"), FileClientKey(key, [cert]))


# --- the network stream ------------------------------------------------------------


class _FakeConn:
    """Stands in for a tlslite-ng connection: one record (or error) per read."""

    closed = False

    def __init__(self, records: list[bytes | BaseException]) -> None:
        self.records = records

    def read(self, max: int, min: int) -> bytes:
        item = self.records.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item[:max]


class _FakeReader:
    def __init__(self, buffered: bool) -> None:
        self.buffered = buffered

    def has_full_record(self) -> bool:
        return self.buffered

    def pending(self) -> int:
        return 0


def _stream(
    records: list[bytes | BaseException], buffered: bool
) -> tuple[TlsStream, socket.socket]:
    ours, theirs = socket.socketpair()
    session = TlsSession(
        conn=_FakeConn(records),
        sock=ours,
        reader=_FakeReader(buffered),  # type: ignore[arg-type]
        host="localhost",
        signed=True,
        version="TLS 1.2",
        cipher="aes256gcm",
        implementation="cryptography",
    )
    return TlsStream(session), theirs


def test_stream_hands_over_buffered_records_and_defers_their_errors() -> None:
    stream, peer = _stream([b"ab", b"cd", _remote(AlertDescription.decode_error)], True)
    with peer:
        assert stream.read(100) == b"abcd"  # the error waits for the next read
        assert stream.get_extra_info("is_readable")  # pending error: not reusable
        with pytest.raises(HostUnreachableError):
            stream.read(100)
        assert stream.get_extra_info("is_readable")  # closed: never reused


def test_stream_does_not_wait_for_records_not_yet_received() -> None:
    stream, peer = _stream([b"ab", b"cd"], False)
    with peer:
        assert stream.read(100) == b"ab"
        assert stream.read(1) == b"c"
        stream.close()


def test_stream_maps_a_rejection_before_the_first_response() -> None:
    stream, peer = _stream([_remote(AlertDescription.certificate_required)], True)
    with peer, pytest.raises(ClientCertificateRejectedError):
        stream.read(100)


def test_read_ahead_socket_tells_a_tls_answer_from_anything_else() -> None:
    """« HTTP/1.1 500 » where a ServerHello was expected is not a TLS server at all."""
    from dmp_desktop.net.tls import ReadAheadSocket

    for first, is_tls in (
        (b"HTTP/1.1 500 Internal Server Error\r\n\r\n", False),
        (b"\x16\x03\x03\x00\x01x", True),
    ):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            reader = ReadAheadSocket(ours)
            assert reader.answered_in_tls()  # nothing received yet
            theirs.sendall(first)
            assert reader.recv(1) == first[:1]
            assert reader.answered_in_tls() is is_tls


def _reset_after(data: bytes) -> tuple[socket.socket, socket.socket]:
    """A TCP connection whose server said ``data`` then reset the connection (SO_LINGER 0)."""
    import struct
    import time

    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname())
        theirs, _ = listener.accept()
    theirs.sendall(data)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    theirs.close()
    time.sleep(0.2)  # the reset has arrived: the next send meets it
    return ours, theirs


def test_a_reset_met_while_writing_after_a_tls13_handshake_leaves_the_alert_readable() -> None:
    """TLS 1.3: the host judges our certificate after our last handshake message, sends its
    alert and hangs up; our request then meets the reset. The alert, already received, is
    still read (it says why), then the write's own error at the end of what was received."""
    from dmp_desktop.net.tls import ReadAheadSocket

    ours, _ = _reset_after(b"\x15\x03\x03\x00\x02\x02\x30")  # what an alert record looks like
    with ours:
        reader = ReadAheadSocket(ours)
        reader.defer_send_errors = True
        assert reader.send(b"GET / HTTP/1.1\r\n\r\n") == 18  # kept for later
        reader.sendall(b"more")  # nothing more is sent, nothing raised
        assert reader.recv(7) == b"\x15\x03\x03\x00\x02\x02\x30"
        with pytest.raises(ConnectionResetError):
            reader.recv(5)


def test_a_reset_met_while_writing_raises_at_once_otherwise() -> None:
    from dmp_desktop.net.tls import ReadAheadSocket

    ours, _ = _reset_after(b"")
    with ours:
        reader = ReadAheadSocket(ours)
        with pytest.raises(ConnectionResetError):
            reader.send(b"GET / HTTP/1.1\r\n\r\n")
