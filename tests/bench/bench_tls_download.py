"""Download throughput: card-backed TLS (tlslite-ng + cryptography AES-GCM) vs stdlib ssl.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_tls_download.py [--size-mb 20] [--repeat 5]
        [--pure-python-mb 0]

It creates its own training environment (test PKI + SoftHSM cards) in a
temporary directory, serves a body of ``--size-mb`` MB over loopback HTTPS with
a client certificate required (stdlib ``ssl`` server, in a separate process like
a remote host would be), then downloads it:

1. with ``make_http_client`` and the CPS3 SoftHSM card (the key stays on the token);
2. with a plain ``httpx.Client`` over the standard ``ssl`` module and a client
   key read from a file.

Each client first makes a small request (handshake, timed separately), then
downloads the body on the kept-alive connection. The two clients alternate,
round after round (``--repeat``, 5 by default); minimum and median of each.
The server sets ``TCP_NODELAY``: without it the small request's answer waited
for a delayed ACK (~40 ms), which the handshake figure used to include. With
``--pure-python-mb N`` it also measures tlslite-ng's own pure-Python AES-GCM
on N MB, for reference.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

MB = 1_000_000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        body = self.server.body if self.path == "/body" else b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.body = body

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Headers and body are two writes: without TCP_NODELAY the second one waits
        # for the client's delayed ACK (about 40 ms on Linux), a pause of the network
        # stack that the handshake time used to include.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


def _serve_forever(pki_root: str, size: int, ports: Any) -> None:
    """Server process body: the server gets its own interpreter (no shared GIL)."""
    from dmp_sandbox.pki import PkiPaths

    pki = PkiPaths(Path(pki_root))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.host_cert, pki.host_key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(pki.client_cas)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    server = _Server(context, os.urandom(size))
    ports.put(int(server.server_address[1]))
    server.serve_forever(0.05)


@contextmanager
def serve(pki: Any, size: int) -> Iterator[int]:
    """Serve a random body of ``size`` bytes from another process, like a remote host."""
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    process = context.Process(target=_serve_forever, args=(str(pki.root), size, ports))
    process.start()
    try:
        yield int(ports.get(timeout=60))
    finally:
        process.terminate()
        process.join()
        ports.close()


def measure(client: httpx.Client, base: str, size: int) -> tuple[float, float, float]:
    """(handshake + first request seconds, body download seconds, client CPU seconds)."""
    started = time.perf_counter()
    if client.get(f"{base}/hello").content != b"ok":
        raise RuntimeError("unexpected answer")
    handshake = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(f"{base}/body")
    if len(response.content) != size:
        raise RuntimeError("truncated download")
    return handshake, time.perf_counter() - started, time.process_time() - cpu


def run_once(
    label: str, make: Callable[[], httpx.Client], base: str, size: int
) -> tuple[float, float]:
    """One new client: (handshake + first request seconds, download seconds)."""
    with make() as client:
        handshake, seconds, cpu = measure(client, base, size)
    print(
        f"  {label:<34} handshake {handshake * 1000:6.1f} ms   "
        f"download {seconds:6.3f} s (client CPU {cpu:5.3f} s)   "
        f"{size / MB / seconds:7.1f} MB/s"
    )
    return handshake, seconds


def interleaved(
    clients: dict[str, Callable[[], httpx.Client]], base: str, size: int, repeat: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Each client in turn, ``repeat`` rounds: handshakes and downloads per client."""
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in clients}
    for _ in range(repeat):
        for name, make in clients.items():
            handshake, seconds = run_once(name, make, base, size)
            results[name][0].append(handshake)
            results[name][1].append(seconds)
    return results


def file_client_material(pki: Any, directory: Path) -> tuple[Path, Path]:
    """A client certificate from the test persons CA, key in a file (for stdlib ssl)."""
    from dmp_sandbox.pki import issue_leaf, load_cert, load_key, new_key, pem, write_key

    key = new_key()
    cert = issue_leaf(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-file-key")]),
        key.public_key(),
        load_cert(pki.persons_cert),
        load_key(pki.persons_key),
        client=True,
    )
    cert_path, key_path = directory / "client.pem", directory / "private" / "client.key"
    cert_path.write_bytes(pem(cert))
    write_key(key_path, key)
    return cert_path, key_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pure-python-mb", type=float, default=0.0)
    args = parser.parse_args()
    size = int(args.size_mb * MB)

    with tempfile.TemporaryDirectory(prefix="dmp-bench-") as tmp:
        from dmp_sandbox.training import init_training_env

        env = init_training_env(Path(tmp) / "training", port=0)
        os.environ["SOFTHSM2_CONF"] = str(env.softhsm_conf)

        from dmp_desktop.net import CardClientKey, make_http_client
        from dmp_desktop.settings import SOFTHSM_MODULE, Settings
        from dmp_desktop.smartcard import CardManager

        pki = env.pki
        settings = Settings(trust_roots=str(pki.trust_roots), read_timeout=600.0)
        cert_path, key_path = file_client_material(pki, Path(tmp))
        manager = CardManager([SOFTHSM_MODULE])
        card = next(c for c in manager.list_cards() if c.token_label == "CPS3-DURAND")
        session = manager.login(card, "1234")

        def card_client() -> httpx.Client:
            return make_http_client(settings, CardClientKey(session))

        def stdlib_client() -> httpx.Client:
            context = ssl.create_default_context(cafile=str(pki.trust_roots))
            context.load_cert_chain(cert_path, key_path)
            return httpx.Client(verify=context, timeout=600.0, trust_env=False)

        try:
            with serve(pki, size) as port:
                base = f"https://localhost:{port}"
                print(f"{args.size_mb:g} MB over loopback, {args.repeat} interleaved round(s)")
                card_name, std_name = "card (tlslite-ng + cryptography)", "stdlib ssl (file key)"
                results = interleaved(
                    {card_name: card_client, std_name: stdlib_client}, base, size, args.repeat
                )
                (card_hs, card_dl), (std_hs, std_dl) = results[card_name], results[std_name]
                for name, (hs, dl) in results.items():
                    print(
                        f"{name}: handshake min {min(hs) * 1000:.1f} ms, median "
                        f"{statistics.median(hs) * 1000:.1f} ms; download min {min(dl):.3f} s, "
                        f"median {statistics.median(dl):.3f} s "
                        f"({size / MB / statistics.median(dl):.1f} MB/s)"
                    )
                median = statistics.median
                print(
                    f"throughput ratio card/stdlib: median {median(std_dl) / median(card_dl):.2f}, "
                    f"best runs {min(std_dl) / min(card_dl):.2f}; handshake ratio card/stdlib: "
                    f"median {statistics.median(card_hs) / statistics.median(std_hs):.2f}, "
                    f"best runs {min(card_hs) / min(std_hs):.2f}"
                )
            if args.pure_python_mb:
                small = int(args.pure_python_mb * MB)
                from tlslite import recordlayer
                from tlslite.utils import cipherfactory

                hooked = recordlayer.createAESGCM
                recordlayer.createAESGCM = cipherfactory.createAESGCM
                try:
                    with serve(pki, small) as port:
                        _, slow = run_once(
                            "card, tlslite pure-Python AES-GCM",
                            card_client,
                            f"https://localhost:{port}",
                            small,
                        )
                        print(f"pure-Python AES-GCM: {small / MB / slow:.2f} MB/s")
                finally:
                    recordlayer.createAESGCM = hooked
        finally:
            session.close()
            manager.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
