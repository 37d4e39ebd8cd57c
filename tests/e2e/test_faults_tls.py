"""TLS the client must refuse, on top of tests/e2e/test_tls_card.py: an old protocol only.

tests/e2e/test_tls_card.py already proves the card-backed client refuses an
unknown root, a wrong host name, a TLS 1.3-only server for a CPS3 card and
CBC-only suites. Missing there: a server stuck at TLS 1.0 or 1.1 (an old
appliance, a downgrade). The client must refuse before its certificate is
sent or the card signs anything, and say so in French.
"""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Iterator

import pytest
from cryptography import x509

from dmp_desktop.errors import HostCertificateError, TlsNegotiationError, describe
from dmp_desktop.net import CardClientKey, make_http_client
from dmp_desktop.net.keys import ClientKey
from dmp_desktop.net.tls import REASON_NEGOTIATION
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager, CardSession
from dmp_sandbox.training import TrainingEnv

pytestmark = pytest.mark.e2e


class CountingKey:
    """The card's key, counting its signatures (there must be none)."""

    def __init__(self, inner: ClientKey) -> None:
        self.inner = inner
        self.supports_pss = inner.supports_pss
        self.signatures = 0

    def certificate_chain(self) -> list[x509.Certificate]:
        return self.inner.certificate_chain()

    def sign_pkcs1(self, digest_info: bytes) -> bytes:
        self.signatures += 1
        return self.inner.sign_pkcs1(digest_info)

    def sign_pss(self, digest: bytes, hash_name: str, salt_len: int) -> bytes:
        self.signatures += 1
        return self.inner.sign_pss(digest, hash_name, salt_len)


class OldTlsServer:
    """One loopback port speaking TLS 1.0/1.1 at most (OpenSSL at security level 0)."""

    def __init__(self, env: TrainingEnv, maximum: ssl.TLSVersion) -> None:
        with warnings.catch_warnings():  # the old versions are deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = maximum
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(env.pki.host_cert, env.pki.host_key)
        ctx.load_verify_locations(cafile=str(env.pki.client_cas))
        ctx.verify_mode = ssl.CERT_OPTIONAL
        self.ctx = ctx
        self.errors: list[str] = []
        self.requests = 0
        self.client_certificates = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    if tls.getpeercert(binary_form=True):
                        self.client_certificates += 1
                    if tls.recv(1024):
                        self.requests += 1
            except (ssl.SSLError, OSError) as exc:
                self.errors.append(type(exc).__name__)

    def close(self) -> None:
        self._sock.close()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def session(card_manager: CardManager) -> Iterator[CardSession]:
    card = next(c for c in card_manager.list_cards() if c.token_label == "CPS3-DURAND")
    opened = card_manager.login(card, "1234")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    "maximum", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["tls1.0", "tls1.1"]
)
def test_a_server_below_tls12_is_refused_before_anything_is_sent(
    training_env: TrainingEnv, session: CardSession, maximum: ssl.TLSVersion
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server = OldTlsServer(training_env, maximum)
    key = CountingKey(CardClientKey(session))
    settings = Settings(trust_roots=str(training_env.pki.trust_roots), connect_timeout=5.0)
    try:
        with make_http_client(settings, key) as client, pytest.raises(TlsNegotiationError) as err:
            client.get(f"https://localhost:{server.port}/")
    finally:
        server.close()
    # A version or cipher mismatch, not an untrusted certificate (never looked at).
    assert not isinstance(err.value, HostCertificateError)
    assert err.value.reason == REASON_NEGOTIATION
    assert key.signatures == 0  # the card never signed
    assert server.client_certificates == 0 and server.requests == 0
    message = describe(err.value)
    assert "aucune version de TLS ou méthode de chiffrement en commun" in message
    assert "certificat" not in message
