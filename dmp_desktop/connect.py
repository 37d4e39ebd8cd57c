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
import threading
import weakref

from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.vihf import AUTH_MODE_INDIRECT_STRONG, issuer_dn_from_certificate
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import SituationChoiceRequiredError
from dmp_desktop.net import CardClientKey, TlsSessions, make_http_client
from dmp_desktop.net.structure import load_structure
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard.card import CardSession
from dmp_desktop.smartcard.card_data import choose_situation
from dmp_desktop.storage.audit import EmergencyJournal


def emergency_journal(settings: Settings) -> EmergencyJournal:
    """The local journal of emergency accesses (storage/audit.py)."""
    return EmergencyJournal.open(
        settings.local_data_dir() / "audit", training_mode=settings.training_mode
    )


def card_practitioner(settings: Settings, session: CardSession) -> Practitioner:
    """The card holder in the practice situation of the card to use today.

    The card's only situation, else the one the user chose (the settings'
    ``structure_id``); a card with several and no choice raises
    :class:`SituationChoiceRequiredError` (the window asks, the CLI says how).
    A card without situations keeps the settings' structure.
    """
    if not session.situations or session.situation is not None:
        return session.practitioner
    chosen = choose_situation(session.situations, settings.structure_id)
    if chosen is None:
        raise SituationChoiceRequiredError(
            tuple((s.structure_id, s.structure_name) for s in session.situations)
        )
    return session.choose_situation(chosen.structure_id)

# The TLS sessions of each card session, shared by the clients made for it (a client
# is made again after a cancelled exchange): they die with the card session.
_TLS_SESSIONS: weakref.WeakKeyDictionary[CardSession, TlsSessions] = weakref.WeakKeyDictionary()
_TLS_LOCK = threading.Lock()


def tls_sessions_of(session: CardSession) -> TlsSessions:
    """The TLS sessions to resume for ``session`` (none once it is closed)."""
    with _TLS_LOCK:
        if session.closed:
            _TLS_SESSIONS.pop(session, None)
            return TlsSessions()
        found = _TLS_SESSIONS.get(session)
        if found is None:
            found = _TLS_SESSIONS[session] = TlsSessions()
        return found


def open_dmp(settings: Settings, session: CardSession) -> DmpClient:
    """A DMP client for the card holder, authenticated as the settings say.

    Its connections resume the TLS sessions of the earlier clients of the same
    card session when the host agrees (:func:`tls_sessions_of`).
    """
    sessions = tls_sessions_of(session)
    if settings.auth_mode == AUTH_MODE_INDIRECT_STRONG:
        structure = load_structure(settings.structure_p12)
        # The VIHF speaks for the structure of the certificate (its OU), as officially.
        settings = dataclasses.replace(settings, structure_id=structure.structure_id)
        professional = dataclasses.replace(
            session.practitioner,
            structure_id=structure.structure_id,
            structure_name=structure.name,
            activity_sector=None,  # the structure's sector: the settings'
        )
        return DmpClient(
            make_http_client(settings, structure.key, tls_sessions=sessions),
            settings,
            professional,
            journal=emergency_journal(settings),
            issuer_dn=structure.subject_dn,
            vihf_signer=structure.key,
        )
    practitioner = card_practitioner(settings, session)
    http = make_http_client(settings, CardClientKey(session), tls_sessions=sessions)
    return DmpClient(
        http,
        settings,
        practitioner,
        journal=emergency_journal(settings),
        issuer_dn=issuer_dn_from_certificate(session.auth_certificate),
    )
