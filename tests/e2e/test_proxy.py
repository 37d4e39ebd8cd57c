"""Card-backed TLS through a real HTTP CONNECT proxy (the practice's proxy).

The card's TLS runs end to end inside the tunnel: the proxy relays bytes and
never sees the certificate in clear; the server sees the card's certificate.
"""

from __future__ import annotations

import dataclasses

import pytest

from dmp_desktop.errors import HostUnreachableError, ProxyError, SettingsError, describe
from dmp_desktop.net import CardClientKey, make_http_client
from dmp_desktop.net.proxy import ProxyConfig
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardSession
from tests.e2e.test_tls_card import (  # noqa: F401 - fixtures
    ServerFactory,
    card_sessions,
    settings,
    tls_server,
)
from tests.support.connect_proxy import running_proxy

pytestmark = pytest.mark.e2e


def test_explicit_proxy_tunnels_the_card_tls(
    tls_server: ServerFactory,  # noqa: F811
    card_sessions: dict[str, CardSession],  # noqa: F811
    settings: Settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    server = tls_server()
    with running_proxy() as proxy:
        proxied = dataclasses.replace(settings, proxy_url=proxy.url)
        key = CardClientKey(card_sessions["CPS3-DURAND"])
        with make_http_client(proxied, key) as client:
            first = client.get(server.url())
            second = client.get(server.url("/bytes/70000"))
        assert first.status_code == 200
        assert "899700433153" in first.text  # the server saw the card's certificate
        assert len(second.content) == 70000
        assert proxy.log.connects == [f"localhost:{server.port}"]  # one tunnel, kept alive
        assert proxy.log.authorizations == [None]
        assert proxy.log.relayed_bytes > 70000
        assert server.stats.handshakes == 1


def test_system_proxy_from_the_environment(
    tls_server: ServerFactory,  # noqa: F811
    card_sessions: dict[str, CardSession],  # noqa: F811
    settings: Settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_server()
    key = CardClientKey(card_sessions["CPS3-DURAND"])
    with running_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with make_http_client(settings, key) as client:
            assert client.get(server.url()).status_code == 200
        assert proxy.log.connects == [f"localhost:{server.port}"]
        # NO_PROXY for the DMP host: direct connection.
        monkeypatch.setenv("NO_PROXY", "localhost")
        with make_http_client(settings, key) as client:
            assert client.get(server.url()).status_code == 200
        assert len(proxy.log.connects) == 1
        # The environment ignored when the settings say so.
        monkeypatch.delenv("NO_PROXY")
        direct = dataclasses.replace(settings, proxy_from_environment=False)
        with make_http_client(direct, key) as client:
            assert client.get(server.url()).status_code == 200
        assert len(proxy.log.connects) == 1


def test_proxy_credentials_and_refusals(
    tls_server: ServerFactory,  # noqa: F811
    card_sessions: dict[str, CardSession],  # noqa: F811
    settings: Settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    server = tls_server()
    key = CardClientKey(card_sessions["CPS3-DURAND"])
    with running_proxy(credentials=("cabinet", "s3cret:é")) as proxy:
        without = dataclasses.replace(settings, proxy_url=proxy.url)
        with make_http_client(without, key) as client, pytest.raises(ProxyError) as refused:
            client.get(server.url())
        assert refused.value.status == 407
        assert "identification" in describe(refused.value)
        assert server.stats.handshakes == 0  # nothing reached the DMP
        with_auth = dataclasses.replace(
            settings, proxy_url=proxy.url_with("cabinet", "s3cret%3A%C3%A9")
        )
        with make_http_client(with_auth, key) as client:
            assert client.get(server.url()).status_code == 200
        assert proxy.log.authorizations[-1] is not None
    with running_proxy(deny="localhost") as proxy:
        denied = dataclasses.replace(settings, proxy_url=proxy.url)
        with make_http_client(denied, key) as client, pytest.raises(ProxyError) as refused:
            client.get(server.url())
        assert refused.value.status == 403
        assert "403" in describe(refused.value)


def test_unreachable_proxy_and_bad_proxy_urls(
    card_sessions: dict[str, CardSession],  # noqa: F811
    settings: Settings,  # noqa: F811
) -> None:
    with running_proxy() as proxy:
        port = proxy.port
    gone = dataclasses.replace(settings, proxy_url=f"http://127.0.0.1:{port}")
    key = CardClientKey(card_sessions["CPS3-DURAND"])
    with make_http_client(gone, key) as client, pytest.raises(ProxyError) as caught:
        client.get("https://localhost:1/")
    assert caught.value.status == 0
    assert not isinstance(caught.value, HostUnreachableError)
    assert "proxy" in describe(caught.value)
    for bad in ("https://proxy:3128", "proxy:3128", "http://:3128", "http://proxy:port"):
        with pytest.raises(SettingsError):
            ProxyConfig(bad).proxy_for("localhost")
