"""The one shared ``httpx.Client`` of the application, over card-backed mutual TLS."""

from __future__ import annotations

import httpx
from cryptography import x509

from dmp_desktop.net.keys import ClientKey
from dmp_desktop.net.proxy import ProxyConfig
from dmp_desktop.net.tls import TlsSessions
from dmp_desktop.net.transport import MutualTlsTransport
from dmp_desktop.net.trust import load_igc_sante_root, load_trust_roots
from dmp_desktop.settings import Settings

USER_AGENT = "dmp-desktop"


def client_timeout(settings: Settings) -> httpx.Timeout:
    """Explicit timeouts: connect from the settings, read/write from the settings;
    waiting for a free pooled connection may last one whole exchange."""
    return httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout + settings.read_timeout,
    )


def make_http_client(
    settings: Settings,
    key: ClientKey,
    *,
    trust_roots: list[x509.Certificate] | None = None,
    tls_sessions: TlsSessions | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` whose TLS client key is ``key`` and whose host must chain
    to ``trust_roots`` (default: the PEM bundle named by ``settings.trust_roots``,
    or the shipped IGC-Santé root on the production DMP), through the settings'
    HTTP proxy if any (:mod:`dmp_desktop.net.proxy`).

    Share one client between worker threads; close it when the card session ends
    (open connections stay authenticated as the card's holder until closed).
    Errors come out typed, see :mod:`dmp_desktop.net.transport`. ``tls_sessions``:
    TLS sessions to resume, shared with the other clients of the same card session.
    """
    if trust_roots is not None:
        roots = trust_roots
    elif settings.pins_shipped_root():
        roots = load_igc_sante_root()  # production DMP: the root shipped, fingerprint checked
    else:
        roots = load_trust_roots(settings.trust_roots)
    transport = MutualTlsTransport(
        key,
        roots,
        proxy=ProxyConfig(settings.proxy_url, settings.proxy_from_environment),
        tls_sessions=tls_sessions,
    )
    return httpx.Client(
        transport=transport,
        timeout=client_timeout(settings),
        # httpx must not route requests itself (an env proxy would get a transport of
        # httpx's own, without the card): the transport tunnels through the proxy.
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )
