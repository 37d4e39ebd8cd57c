"""Composition of the core without Qt: logged-in card -> TLS client -> DMP client.

Used by the window (through services/) and by the CLI, so that both run the
very same code.
"""

from __future__ import annotations

from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.vihf import issuer_dn_from_certificate
from dmp_desktop.net import CardClientKey, make_http_client
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard.card import CardSession


def open_dmp(settings: Settings, session: CardSession) -> DmpClient:
    """A DMP client whose TLS client key is the card's authentication key."""
    http = make_http_client(settings, CardClientKey(session))
    return DmpClient(
        http,
        settings,
        session.practitioner,
        issuer_dn=issuer_dn_from_certificate(session.auth_certificate),
    )
