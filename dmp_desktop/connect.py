"""Composition of the core without Qt: logged-in card -> TLS client -> DMP client.

Used by the window (through services/) and by the CLI, so that both run the
very same code. Two authentication modes (``settings.auth_mode``):

- ``DIRECTE``: the TLS client key is the card's authentication key; the
  VIHF is unsigned and its issuer is the card certificate's subject.
- ``INDIRECTE_RENFORCEE``: the TLS client key is the structure's (PKCS#12,
  passphrase in the keyring), the VIHF is signed with it and its issuer is
  the structure certificate's subject; the professional still logged in
  with the card and PIN, and the VIHF names the card holder.
"""

from __future__ import annotations

import dataclasses

from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.vihf import AUTH_MODE_INDIRECT_STRONG, issuer_dn_from_certificate
from dmp_desktop.net import CardClientKey, make_http_client
from dmp_desktop.net.structure import load_structure
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard.card import CardSession


def open_dmp(settings: Settings, session: CardSession) -> DmpClient:
    """A DMP client for the card holder, authenticated as the settings say."""
    if settings.auth_mode == AUTH_MODE_INDIRECT_STRONG:
        structure = load_structure(settings.structure_p12)
        # The VIHF speaks for the structure of the certificate (its OU), as officially.
        settings = dataclasses.replace(settings, structure_id=structure.structure_id)
        return DmpClient(
            make_http_client(settings, structure.key),
            settings,
            session.practitioner,
            issuer_dn=structure.subject_dn,
            vihf_signer=structure.key,
        )
    http = make_http_client(settings, CardClientKey(session))
    return DmpClient(
        http,
        settings,
        session.practitioner,
        issuer_dn=issuer_dn_from_certificate(session.auth_certificate),
    )
