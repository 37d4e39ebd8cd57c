"""TLS sessions kept for resumption: per host and port, dropped with the card session."""

from __future__ import annotations

from dataclasses import dataclass

from dmp_desktop.connect import tls_sessions_of
from dmp_desktop.net.tls import TlsClientConfig, TlsSessions


@dataclass
class _Session:
    """What a tlslite session shows the cache."""

    usable: bool = True

    def valid(self) -> bool:
        return self.usable


class _CardSession:
    closed = False


def test_one_session_per_host_and_port_and_only_valid_ones() -> None:
    sessions = TlsSessions()
    first, other = _Session(), _Session()
    sessions.put("dmp.test", 443, first)
    sessions.put("dmp.test", 8443, other)
    assert sessions.get("dmp.test", 443) is first
    assert sessions.get("dmp.test", 8443) is other
    assert sessions.get("other.test", 443) is None
    first.usable = False  # expired: never offered, and forgotten
    assert sessions.get("dmp.test", 443) is None
    assert len(sessions) == 1
    sessions.clear()
    assert sessions.get("dmp.test", 8443) is None


def test_nothing_is_offered_once_the_key_is_gone() -> None:
    class GoneKey:
        available = False

    config = TlsClientConfig.__new__(TlsClientConfig)  # only the resumption choice is tested
    config.key = GoneKey()  # type: ignore[assignment]
    config.sessions = TlsSessions()
    config.sessions.put("dmp.test", 443, _Session())
    assert config._resumable("dmp.test", 443) is None
    assert len(config.sessions) == 0


def test_the_sessions_of_a_card_session_die_with_it() -> None:
    card = _CardSession()
    shared = tls_sessions_of(card)  # type: ignore[arg-type]
    assert tls_sessions_of(card) is shared  # type: ignore[arg-type]
    shared.put("dmp.test", 443, _Session())
    card.closed = True
    assert len(tls_sessions_of(card)) == 0  # type: ignore[arg-type]
    assert tls_sessions_of(card) is not shared  # type: ignore[arg-type]
