"""The one shared ``httpx.Client`` of the application, over card-backed mutual TLS."""

from __future__ import annotations

import httpx
from cryptography import x509

from dmp_desktop.net.keys import ClientKey
from dmp_desktop.net.transport import MutualTlsTransport
from dmp_desktop.net.trust import load_trust_roots
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
) -> httpx.Client:
    """An ``httpx.Client`` whose TLS client key is ``key`` and whose host must chain
    to ``trust_roots`` (default: the PEM bundle named by ``settings.trust_roots``).

    Share one client between worker threads; close it when the card session ends
    (open connections stay authenticated as the card's holder until closed).
    Errors come out typed, see :mod:`dmp_desktop.net.transport`.
    """
    roots = trust_roots if trust_roots is not None else load_trust_roots(settings.trust_roots)
    transport = MutualTlsTransport(key, roots)
    return httpx.Client(
        transport=transport,
        timeout=client_timeout(settings),
        # No proxies or .netrc from the environment: an env proxy would get a
        # transport of httpx's own, without the card.
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )
