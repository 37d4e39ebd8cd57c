"""Client-side TLS with tlslite-ng, the private key staying with its holder (the card).

What is enforced here:

* TLS 1.2 at least; TLS 1.3 only when the key can sign RSASSA-PSS (CPS4),
  since TLS 1.3 forbids PKCS#1 v1.5 in CertificateVerify. A CPS3 card gets
  TLS 1.2 and only ``rsa_pkcs1_*`` signature schemes.
* ECDHE_RSA key exchange with AES-GCM only (no CBC, no RC4, no static RSA);
  ALPN offers ``http/1.1`` only.
* The host's chain and name are validated against the pinned roots *while the
  handshake runs*, as soon as the server's Certificate message is parsed and
  before our own certificate (the professional's identity) is sent or the card
  signs anything. A post-handshake check repeats the validation if that hook
  was not reached, so no application byte can ever precede validation.
* Failures come out as the typed errors of :mod:`dmp_desktop.errors`.

tlslite-ng internals used (pinned to tlslite-ng 0.8.x in pyproject.toml):
``TLSConnection._clientGetKeyFromChain`` (the generator that processes the
server's Certificate message, TLS 1.2 and 1.3) is extended in
:class:`VerifyingTLSConnection`, and ``TLSRecordLayer._sendError`` is used to
send the fatal alert; the AEAD hook is documented in :mod:`dmp_desktop.net.aead`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from dmp_desktop.net import _tlslite_import  # noqa: F401 - before any tlslite import

# isort: split
from tlslite.constants import AlertDescription
from tlslite.errors import (
    BaseTLSException,
    TLSAbruptCloseError,
    TLSAlert,
    TLSLocalAlert,
    TLSRemoteAlert,
)
from tlslite.handshakesettings import HandshakeSettings
from tlslite.tlsconnection import TLSConnection
from tlslite.utils.cryptomath import numBytes
from tlslite.utils.rsakey import RSAKey
from tlslite.x509 import X509
from tlslite.x509certchain import X509CertChain

from dmp_desktop.errors import (
    TLS_NEGOTIATION,
    ClientCertificateRejectedError,
    DmpDesktopError,
    HostCertificateError,
    HostUnreachableError,
    TimeoutError_,
    TlsNegotiationError,
)
from dmp_desktop.net.keys import ClientKey, encode_digest_info, hash_algorithm
from dmp_desktop.net.trust import HostVerifier

log = logging.getLogger(__name__)

TLS12 = (3, 3)
TLS13 = (3, 4)
ALPN_HTTP11 = b"http/1.1"
AEAD_CIPHERS = ("aes256gcm", "aes128gcm")
SIGNATURE_HASHES = ("sha256", "sha384", "sha512")

REASON_NEGOTIATION = TLS_NEGOTIATION

# Alerts by which a server says "your certificate (or its signature) is refused".
_CLIENT_CERT_ALERTS = frozenset(
    {
        AlertDescription.handshake_failure,
        AlertDescription.bad_certificate,
        AlertDescription.unsupported_certificate,
        AlertDescription.certificate_revoked,
        AlertDescription.certificate_expired,
        AlertDescription.certificate_unknown,
        AlertDescription.unknown_ca,
        AlertDescription.access_denied,
        AlertDescription.decrypt_error,
        AlertDescription.certificate_required,
    }
)
# Alerts that mean "no common version / cipher / group" during the handshake.
_NEGOTIATION_ALERTS = frozenset(
    {
        AlertDescription.handshake_failure,
        AlertDescription.protocol_version,
        AlertDescription.insufficient_security,
    }
)
# Alerts we send when the server picks a version or parameters we refuse.
_REFUSED_LOCALLY = frozenset(
    {
        AlertDescription.protocol_version,
        AlertDescription.insufficient_security,
        AlertDescription.illegal_parameter,
    }
)


def handshake_settings(supports_pss: bool) -> HandshakeSettings:
    """The only TLS parameters this client ever offers (validated copy)."""
    s = HandshakeSettings()
    s.minVersion = TLS12
    if supports_pss:
        s.maxVersion = TLS13
        s.versions = [TLS13, TLS12]
        s.rsaSchemes = ["pss", "pkcs1"]
    else:
        s.maxVersion = TLS12
        s.versions = [TLS12]
        s.rsaSchemes = ["pkcs1"]
    s.cipherNames = list(AEAD_CIPHERS)
    s.macNames = ["aead"]
    s.keyExchangeNames = ["ecdhe_rsa"]
    s.rsaSigHashes = list(SIGNATURE_HASHES)
    s.ecdsaSigHashes = []
    s.dsaSigHashes = []
    s.more_sig_schemes = []
    s.eccCurves = ["x25519", "secp256r1", "secp384r1"]
    s.keyShares = ["x25519", "secp256r1"]
    s.dhGroups = []
    s.minKeySize = 2048
    s.useEncryptThenMAC = False  # irrelevant with AEAD suites
    s.useExtendedMasterSecret = True
    s.use_heartbeat_extension = False
    s.sendFallbackSCSV = False
    s.pskConfigs = []
    s.certificate_compression_send = []
    s.certificate_compression_receive = []
    validated: HandshakeSettings = s.validate()
    return validated


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class DelegatingRSAKey(RSAKey):
    """A tlslite-ng RSA key whose private operations are signatures by a :class:`ClientKey`.

    tlslite-ng's client CertificateVerify calls ``sign(data, padding, hashAlg, saltLen)``:
    in TLS 1.2 with PKCS#1 v1.5, ``data`` is already the DER DigestInfo and
    ``hashAlg`` is None; with PSS (TLS 1.2 or 1.3), ``data`` is the digest, and
    ``hashAlg``/``saltLen`` name the hash and salt length. It then checks the
    result with ``verify`` (public key only). ``hashAndSign`` (unused by the
    client) ends in ``sign`` with ``hashAlg`` set: the DigestInfo is built here.
    Raw private-key operations (decryption, raw signatures) are refused.
    """

    def __init__(self, key: ClientKey, public_numbers: rsa.RSAPublicNumbers) -> None:
        # RSAKey.__init__ deliberately raises NotImplementedError: set its fields here.
        self.n = public_numbers.n
        self.e = public_numbers.e
        self.key_type = "rsa"
        self._key_hash = None
        self._client_key = key
        self.signatures = 0

    def hasPrivateKey(self) -> bool:
        return True

    def acceptsPassword(self) -> bool:
        return False

    def write(self, password: Any = None) -> str:
        raise NotImplementedError("the private key never leaves its holder")

    def _rawPrivateKeyOp(self, message: int) -> int:
        raise NotImplementedError("raw RSA private operations are not allowed")

    def _rawPublicKeyOp(self, ciphertext: int) -> int:
        return pow(ciphertext, self.e, self.n)

    def sign(
        self,
        data: bytes | bytearray,
        padding: str = "pkcs1",
        hashAlg: str | None = None,
        saltLen: int | None = None,
    ) -> bytearray:
        scheme = padding.lower()
        if scheme == "pkcs1":
            digest_info = encode_digest_info(hashAlg, bytes(data)) if hashAlg else bytes(data)
            signature = self._client_key.sign_pkcs1(digest_info)
        elif scheme == "pss":
            if not self._client_key.supports_pss or not hashAlg:
                raise NotImplementedError("this key does not sign with RSASSA-PSS")
            salt = hash_algorithm(hashAlg).digest_size if saltLen is None else saltLen
            signature = self._client_key.sign_pss(bytes(data), hashAlg.lower(), salt)
        else:
            raise ValueError(f"unsupported RSA padding: {padding}")
        self.signatures += 1
        size = numBytes(self.n)
        if len(signature) > size:
            raise ValueError("signature longer than the modulus")
        return bytearray(bytes(size - len(signature)) + bytes(signature))


class ReadAheadSocket:
    """The socket as tlslite-ng sees it, with reads served from a read-ahead buffer.

    tlslite-ng reads each record with two or three ``recv`` calls (1 byte, 4
    bytes, then the body); reading up to 64 KiB at a time divides the number
    of system calls by about ten on a bulk download. Everything else is the
    socket's own.
    """

    READ_AHEAD = 65536

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0
        self.first_byte: int | None = None  # the server's very first byte
        # TLS 1.3: the server judges our certificate after our last handshake message, then
        # sends its alert and closes. Our first request may then meet a reset while it is
        # written, and tlslite-ng drops its keys on a failed write: the alert, already
        # received, could no longer be read. While this is set (a signed TLS 1.3 handshake,
        # nothing received since), a reset on sending is kept for later and the bytes count
        # as sent: the next read returns what the server said (its alert), else that error.
        self.defer_send_errors = False
        self._send_error: OSError | None = None

    def answered_in_tls(self) -> bool:
        """Whether the server's first byte (if any) starts a TLS record (types 20 to 24).

        Something else (« HTTP/1.1 500 », a captive portal's page) is not a TLS
        server at all, whatever alert tlslite-ng then reports.
        """
        return self.first_byte is None or 20 <= self.first_byte <= 24

    def pending(self) -> int:
        """Bytes already received from the network but not yet handed to tlslite-ng."""
        return len(self._data) - self._pos

    def has_full_record(self) -> bool:
        """Whether a whole TLS record is buffered (reading it will not block)."""
        available = len(self._data) - self._pos
        if available < 5:
            return False
        length = int.from_bytes(self._data[self._pos + 3 : self._pos + 5], "big")
        return available >= 5 + length

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._data):
            self._data = self._sock.recv(max(bufsize, self.READ_AHEAD))
            self._pos = 0
            if self.first_byte is None and self._data:
                self.first_byte = self._data[0]
            if not self._data and self._send_error is not None:
                raise self._send_error  # nothing more from the server: the write's own error
        end = self._pos + bufsize
        chunk = self._data[self._pos : end]
        self._pos = min(end, len(self._data))
        return chunk

    def send(self, data: bytes) -> int:
        if self._send_error is not None:
            return len(data)
        try:
            return self._sock.send(data)
        except ConnectionError as exc:
            if not self.defer_send_errors:
                raise
            self._send_error = exc
            return len(data)

    def sendall(self, data: bytes) -> None:
        if self._send_error is not None:
            return
        try:
            self._sock.sendall(data)
        except ConnectionError as exc:
            if not self.defer_send_errors:
                raise
            self._send_error = exc

    def settimeout(self, value: float | None) -> None:
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    def getpeername(self) -> Any:
        return self._sock.getpeername()

    def setsockopt(self, *args: Any) -> None:
        self._sock.setsockopt(*args)

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()


def _tlslite_chain(certs: Sequence[x509.Certificate]) -> Any:
    parsed = []
    for cert in certs:
        item = X509()
        item.parseBinary(bytearray(cert.public_bytes(Encoding.DER)))
        parsed.append(item)
    return X509CertChain(parsed)


def _cryptography_chain(chain: Any) -> list[x509.Certificate]:
    if chain is None:
        return []
    return [x509.load_der_x509_certificate(bytes(c.bytes)) for c in chain.x509List]


class VerifyingTLSConnection(TLSConnection):
    """A TLSConnection that validates the server chain when it arrives, mid-handshake."""

    def __init__(self, sock: ReadAheadSocket, verifier: HostVerifier, host: str) -> None:
        super().__init__(sock)
        self._dmp_verifier = verifier
        self._dmp_host = host
        self.dmp_server_checked = False
        self.dmp_host_rejection: HostCertificateError | None = None

    def _clientGetKeyFromChain(
        self, certificate: Any, settings: Any, tack_ext: Any = None
    ) -> Iterator[Any]:
        try:
            self._dmp_verifier.verify(_cryptography_chain(certificate.cert_chain), self._dmp_host)
        except HostCertificateError as exc:
            self.dmp_host_rejection = exc
            # Fatal alert, then tlslite-ng shuts the connection down and raises.
            yield from self._sendError(AlertDescription.bad_certificate, exc.reason)
            raise  # _sendError always raises; never go on with an unverified server
        self.dmp_server_checked = True
        yield from super()._clientGetKeyFromChain(certificate, settings, tack_ext)


def map_tls_error(
    exc: BaseException,
    *,
    signed: bool,
    in_handshake: bool,
    before_first_response: bool = False,
    host_rejection: HostCertificateError | None = None,
) -> BaseException:
    """The typed error to raise for a failure of a TLS connection (or ``exc`` itself)."""
    if host_rejection is not None:
        return host_rejection
    if isinstance(exc, DmpDesktopError):
        return exc
    if isinstance(exc, TimeoutError):  # socket.timeout
        return TimeoutError_()
    cert_phase = signed and (in_handshake or before_first_response)
    if isinstance(exc, TLSAlert):
        description = exc.description
        name = AlertDescription.toStr(description)
        if isinstance(exc, TLSRemoteAlert) and cert_phase and description in _CLIENT_CERT_ALERTS:
            return ClientCertificateRejectedError(name)
        if in_handshake and not signed and description in _NEGOTIATION_ALERTS:
            return TlsNegotiationError(REASON_NEGOTIATION)
        if isinstance(exc, TLSLocalAlert) and in_handshake and description in _REFUSED_LOCALLY:
            return TlsNegotiationError(REASON_NEGOTIATION)
        return HostUnreachableError(f"TLS: {name}")
    if in_handshake and signed and isinstance(exc, (TLSAbruptCloseError, ConnectionError)):
        # The server hung up while reading our certificate and signature (a fast
        # server may close before our last handshake record is even written).
        return ClientCertificateRejectedError(type(exc).__name__)
    if isinstance(exc, TLSAbruptCloseError):
        return HostUnreachableError("connexion fermée par le serveur")
    if isinstance(exc, BaseTLSException):
        return HostUnreachableError(f"TLS: {type(exc).__name__}")
    if isinstance(exc, OSError):
        return HostUnreachableError(type(exc).__name__)
    return exc


@dataclass
class TlsSession:
    """An established, validated TLS connection and what the transport needs to know."""

    conn: Any  # VerifyingTLSConnection
    sock: socket.socket
    reader: ReadAheadSocket
    host: str
    signed: bool
    version: str
    cipher: str
    implementation: str
    resumed: bool = False


class TlsSessions:
    """TLS sessions to resume, one per host and port; in memory only, never written anywhere.

    A resumed session (TLS 1.2 session id or ticket, TLS 1.3 ticket) skips the
    certificates and the key exchange: one round trip instead of two in TLS 1.2,
    and no signature by the card, the host knowing the card holder from the
    session it resumes. Shared by the connections of one card session (see
    :func:`dmp_desktop.connect.open_dmp`); emptied as soon as the key is no longer
    available (the card session ended) and never used after that.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, int], Any] = {}

    def get(self, host: str, port: int) -> Any | None:
        with self._lock:
            session = self._sessions.get((host, port))
        if session is not None and not session.valid():
            self.forget(host, port)
            return None
        return session

    def put(self, host: str, port: int, session: Any) -> None:
        # Not checked for validity here: TLS 1.3 tickets come after the handshake.
        if session is None:
            return
        with self._lock:
            self._sessions[(host, port)] = session

    def forget(self, host: str, port: int) -> None:
        with self._lock:
            self._sessions.pop((host, port), None)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


class TlsClientConfig:
    """Everything prepared once per HTTP client: certificate chain, settings, verifier."""

    def __init__(
        self,
        key: ClientKey,
        trust_roots: Sequence[x509.Certificate],
        *,
        sessions: TlsSessions | None = None,
    ) -> None:
        chain = key.certificate_chain()
        if not chain:
            raise ValueError("the client key has no certificate")
        public = chain[0].public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("only RSA client certificates are supported")
        self.key = key
        self._public_numbers = public.public_numbers()
        self._chain = _tlslite_chain(chain)
        self.settings = handshake_settings(bool(key.supports_pss))
        self.verifier = HostVerifier(trust_roots)
        self.sessions = sessions if sessions is not None else TlsSessions()

    def _resumable(self, host: str, port: int) -> Any | None:
        """The session to offer the host, if the key is still there (else forget them all)."""
        if not getattr(self.key, "available", True):
            self.sessions.clear()
            return None
        return self.sessions.get(host, port)

    def handshake(self, sock: socket.socket, host: str, port: int = 0) -> TlsSession:
        """Run the handshake on a connected socket; closes the socket on any failure.

        A session of an earlier connection to (``host``, ``port``) is offered for
        resumption; the host decides (a full handshake otherwise).
        """
        started = time.monotonic()
        reader = ReadAheadSocket(sock)
        conn = VerifyingTLSConnection(reader, self.verifier, host)
        rsa_key = DelegatingRSAKey(self.key, self._public_numbers)
        previous = self._resumable(host, port)
        try:
            conn.handshakeClientCert(
                self._chain,
                rsa_key,
                settings=self.settings,
                session=previous,
                serverName=None if _is_ip(host) else host,
                alpn=[bytearray(ALPN_HTTP11)],
            )
            self._check_established(conn, host, previous)
        except BaseException as exc:
            sock.close()
            if previous is not None:
                self.sessions.forget(host, port)
            if not reader.answered_in_tls() and not isinstance(exc, DmpDesktopError):
                mapped: BaseException = HostUnreachableError("réponse qui n'est pas du TLS")
            else:
                mapped = map_tls_error(
                    exc,
                    signed=rsa_key.signatures > 0,
                    in_handshake=True,
                    host_rejection=conn.dmp_host_rejection,
                )
            log.debug("TLS handshake with %s failed: %s", host, type(mapped).__name__)
            if mapped is exc:
                raise
            raise mapped from exc
        conn.ignoreAbruptClose = True  # HTTP framing detects truncated messages
        reader.defer_send_errors = rsa_key.signatures > 0 and conn.getVersionName() == "TLS 1.3"
        session = TlsSession(
            conn=conn,
            sock=sock,
            reader=reader,
            host=host,
            signed=rsa_key.signatures > 0,
            version=str(conn.getVersionName()),
            cipher=str(conn.getCipherName()),
            implementation=str(conn.getCipherImplementation()),
            resumed=bool(conn.resumed),
        )
        if session.resumed and conn.session.serverCertChain is None and previous is not None:
            conn.session.serverCertChain = previous.serverCertChain  # for the next resumption
        # TLS 1.3 tickets arrive after the handshake, into this same session object.
        self.sessions.put(host, port, conn.session)
        log.debug(
            "TLS with %s: %s %s (%s), %s, client signatures: %d, %.0f ms",
            host,
            session.version,
            session.cipher,
            session.implementation,
            "resumed" if session.resumed else "full handshake",
            rsa_key.signatures,
            (time.monotonic() - started) * 1000,
        )
        return session

    def _check_established(self, conn: Any, host: str, previous: Any | None = None) -> None:
        """Defence in depth, before the first application byte.

        A resumed TLS 1.3 session carries no certificate (the host proved it holds
        the secret of the session we offered): the chain of that session, which
        was for this same host and port, is checked again instead.
        """
        if not conn.dmp_server_checked:
            chain = conn.session.serverCertChain
            if chain is None and conn.resumed and previous is not None:
                chain = previous.serverCertChain
            self.verifier.verify(_cryptography_chain(chain), host)
            conn.dmp_server_checked = True
        if conn.version < TLS12 or conn.getCipherName() not in AEAD_CIPHERS:
            raise TlsNegotiationError(REASON_NEGOTIATION)
        proto = bytes(conn.session.appProto or b"")
        if proto not in (b"", ALPN_HTTP11):
            raise TlsNegotiationError(REASON_NEGOTIATION)
