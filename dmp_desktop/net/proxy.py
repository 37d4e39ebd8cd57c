"""Reaching the DMP through the practice's HTTP proxy: an HTTP CONNECT tunnel.

The card-backed TLS (:mod:`dmp_desktop.net.tls`) runs on a socket of our own,
so httpx's proxy support cannot be used: with a proxy, the socket is a
tunnel opened by ``CONNECT host:port`` (RFC 9110 §9.3.6) before the TLS
handshake, which then runs end to end with the DMP (the proxy sees neither
the card's certificate nor any content). Which proxy:

- an explicit one in the settings (``proxy_url``, ``http://[user:password@]host:port``);
- else, when ``proxy_from_environment``, the system's: ``HTTPS_PROXY`` /
  ``NO_PROXY`` (and the Windows or macOS system settings), as
  :func:`urllib.request.getproxies` and :func:`urllib.request.proxy_bypass`
  read them — what httpx's ``trust_env`` means;
- else none: a direct connection.

Only ``http://`` proxies (the tunnel itself is plain until TLS starts).
Credentials in the proxy URL are sent as ``Proxy-Authorization: Basic``
and never logged.
"""

from __future__ import annotations

import base64
import logging
import socket
import urllib.request
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from dmp_desktop.errors import ProxyError, SettingsError, TimeoutError_

log = logging.getLogger(__name__)

_MAX_HEADER = 16 * 1024
DEFAULT_PROXY_PORT = 8080


@dataclass(frozen=True)
class ProxyConfig:
    """The settings' proxy choice; :meth:`proxy_for` says which proxy a host goes through."""

    url: str = ""
    from_environment: bool = True

    def proxy_for(self, host: str) -> SplitResult | None:
        if self.url:
            return parse_proxy_url(self.url)
        if not self.from_environment:
            return None
        proxies = urllib.request.getproxies()
        candidate = proxies.get("https") or proxies.get("all")
        if not candidate:
            return None
        try:
            if urllib.request.proxy_bypass(host):
                return None
        except (OSError, ValueError):
            pass
        if "://" not in candidate:
            candidate = f"http://{candidate}"
        return parse_proxy_url(candidate)


def parse_proxy_url(url: str) -> SplitResult:
    """``http://[user:password@]host[:port]``; SettingsError otherwise."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "http" or not parts.hostname or port == -1:
        raise SettingsError("settings.proxy_url")
    return parts


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_through(
    proxy: SplitResult, host: str, port: int, timeout: float | None
) -> socket.socket:
    """A socket tunnelled to ``host:port`` by ``proxy`` (the TLS handshake comes next)."""
    proxy_host = proxy.hostname or ""
    proxy_port = proxy.port or DEFAULT_PROXY_PORT
    try:
        sock = socket.create_connection((proxy_host, proxy_port), timeout)
    except TimeoutError:
        raise TimeoutError_() from None
    except OSError as exc:
        log.debug("proxy connection failed: %s", type(exc).__name__)
        raise ProxyError(0) from None
    try:
        authority = _authority(host, port)
        lines = [
            f"CONNECT {authority} HTTP/1.1",
            f"Host: {authority}",
            "User-Agent: dmp-desktop",
        ]
        if proxy.username is not None:
            secret = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
            token = base64.b64encode(secret.encode("utf-8")).decode("ascii")
            lines.append(f"Proxy-Authorization: Basic {token}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        status = _read_connect_answer(sock)
    except TimeoutError:
        sock.close()
        raise TimeoutError_() from None
    except OSError as exc:
        sock.close()
        log.debug("proxy tunnel failed: %s", type(exc).__name__)
        raise ProxyError(0) from None
    except ProxyError:
        sock.close()
        raise
    if not 200 <= status < 300:
        sock.close()
        log.info("proxy refused the tunnel: HTTP %d", status)
        raise ProxyError(status)
    return sock


def _read_connect_answer(sock: socket.socket) -> int:
    """The status of the proxy's answer; reads the headers and nothing past them."""
    data = b""
    while b"\r\n\r\n" not in data:
        # One byte at a time: nothing of the tunnel may be consumed here (a server
        # speaks only after our ClientHello, but a proxy answer may be pipelined).
        chunk = sock.recv(1)
        if not chunk:
            raise ProxyError(0)
        data += chunk
        if len(data) > _MAX_HEADER:
            raise ProxyError(0)
    status_line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProxyError(0)
    return int(parts[1])


__all__ = ["ProxyConfig", "connect_through", "parse_proxy_url"]
