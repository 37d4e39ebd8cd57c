"""Mutual TLS for httpx with a client key that stays on the CPS card.

Importing this package routes tlslite-ng's AES-GCM through ``cryptography``
(see :mod:`dmp_desktop.net.aead`). Errors raised by the client's calls are the
typed errors of :mod:`dmp_desktop.errors` (see :mod:`dmp_desktop.net.transport`).
"""

from dmp_desktop.net import aead as _aead
from dmp_desktop.net.client import make_http_client
from dmp_desktop.net.keys import CardClientKey, ClientKey, FileClientKey
from dmp_desktop.net.tls import TlsSessions
from dmp_desktop.net.transport import MutualTlsTransport
from dmp_desktop.net.trust import HostVerifier, load_trust_roots

_aead.install()

__all__ = [
    "CardClientKey",
    "ClientKey",
    "FileClientKey",
    "HostVerifier",
    "MutualTlsTransport",
    "TlsSessions",
    "load_trust_roots",
    "make_http_client",
]
