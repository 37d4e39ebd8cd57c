"""What the benchmarks share: interleaved runs with minimum and median, a canned HTTPS host.

* :func:`interleave` runs a project measure and its reference one after the
  other, round after round (never all of one then all of the other, so that
  a change of load on this shared machine weighs on both alike), and
  :func:`summary` reports minimum and median of each and their ratios.
* :func:`canned_host` serves fixed SOAP answers over mutual TLS (stdlib
  ``ssl``, client certificate required) from another process, with
  ``TCP_NODELAY`` on every connection: without it, an answer written in two
  pieces (headers, then body) waits for the client's delayed ACK, about 40 ms
  on Linux, which is the network stack's pause, not the client's work. Used
  where the client alone is measured (the training host's own cost would
  blur it); the host is measured by ``bench_load.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import socket
import ssl
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- measures -----------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    values: list[float] = field(default_factory=list)

    @property
    def minimum(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def interleave(
    measures: Mapping[str, Callable[[], float]], rounds: int, *, warmup: int = 1
) -> dict[str, Series]:
    """Each measure returns seconds; they run in turn, ``rounds`` times (after ``warmup``)."""
    series = {name: Series(name) for name in measures}
    for round_ in range(warmup + rounds):
        for name, measure in measures.items():
            value = measure()
            if round_ >= warmup:
                series[name].values.append(value)
    return series


def summary(project: Series, reference: Series, unit: str = "s") -> str:
    scale = 1000.0 if unit == "ms" else 1.0
    return (
        f"{project.name}: min {project.minimum * scale:.3f} {unit}, "
        f"median {project.median * scale:.3f} {unit} | "
        f"{reference.name}: min {reference.minimum * scale:.3f} {unit}, "
        f"median {reference.median * scale:.3f} {unit} | "
        f"ratio min {project.minimum / reference.minimum:.2f}, "
        f"median {project.median / reference.median:.2f}"
    )


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _libc() -> Any:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def settle_allocator() -> float:
    """Between two measured runs, outside the timers: the C allocator's freed memory settled.

    After a large tree is freed, glibc keeps its small chunks unmerged (« fastbins »)
    until the next large allocation, which then merges them all: 70-80 ms after a 2,000-entry
    tree, 0.7-0.8 s after a 20,000-entry one, charged to whoever allocates next. Interleaved
    runs would charge one side's freeing to the other. ``malloc_trim(0)`` merges them now
    and gives the free pages back to the system, so every run starts from the same state
    and pays for the memory it uses itself. Returns the seconds it took (glibc only;
    elsewhere nothing is done and 0 is returned).
    """
    libc = _LIBC
    if libc is None or not hasattr(libc, "malloc_trim"):
        return 0.0
    started = time.perf_counter()
    libc.malloc_trim(0)
    return time.perf_counter() - started


def consolidate_allocator() -> None:
    """The freed chunks merged, their pages kept mapped (glibc: any ``mallopt`` call merges)."""
    libc = _LIBC
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(1, 128)  # M_MXFAST set to its default: mallopt merges the free chunks first


_LIBC = _libc() if sys.platform.startswith("linux") else None


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# --- a canned HTTPS host ------------------------------------------------------------------------

_MESSAGE_ID = re.compile(rb"<(?:\w+:)?MessageID[^>]*>([^<]+)<")
_ACTION = re.compile(r'action="([^"]+)"')
RELATES_TO_PLACEHOLDER = b"urn:uuid:relates-to-placeholder"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = self.rfile.read(length)
        found = _ACTION.search(self.headers.get("Content-Type") or "")
        answer = self.server.answers.get(found.group(1) if found else "")
        if answer is None:
            self.send_error(404)
            return
        head, tail = answer
        message = _MESSAGE_ID.search(request)
        relates = message.group(1) if message else b""
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(head) + len(relates) + len(tail)))
        self.end_headers()
        self.wfile.write(head)
        self.wfile.write(relates)
        self.wfile.write(tail)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext, answers: dict[str, tuple[bytes, bytes]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.answers = answers
        self.connections = 0

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


def _serve(pki_root: str, files: dict[str, str], ports: Any) -> None:
    from dmp_sandbox.pki import PkiPaths

    pki = PkiPaths(Path(pki_root))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.host_cert, pki.host_key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(pki.client_cas)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    answers = {}
    for action, path in files.items():
        head, _, tail = Path(path).read_bytes().partition(RELATES_TO_PLACEHOLDER)
        answers[action] = (head, tail)
    server = _Server(context, answers)
    ports.put(int(server.server_address[1]))
    server.serve_forever(0.05)


@contextmanager
def canned_host(pki: Any, answers: Mapping[str, Path]) -> Iterator[str]:
    """``https://localhost:<port>`` answering each SOAP action with a file's bytes.

    In each answer, :data:`RELATES_TO_PLACEHOLDER` is replaced by the request's
    MessageID (the client checks ``RelatesTo``).
    """
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    files = {action: str(path) for action, path in answers.items()}
    process = context.Process(target=_serve, args=(str(pki.root), files, ports), daemon=True)
    process.start()
    try:
        yield f"https://localhost:{int(ports.get(timeout=60))}"
    finally:
        process.terminate()
        process.join()
        ports.close()


def reset_peak_rss() -> None:
    """Start counting this process's peak resident memory afresh (Linux ``clear_refs``).

    Needed in a child process: ``ru_maxrss`` keeps the peak of the parent's memory
    inherited at fork, across exec.
    """
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def peak_rss_mb() -> float:
    """This process's peak resident memory since :func:`reset_peak_rss` (MB, ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


__all__ = [
    "RELATES_TO_PLACEHOLDER",
    "ROOT",
    "Series",
    "canned_host",
    "interleave",
    "load_average",
    "peak_rss_mb",
    "reset_peak_rss",
    "rss_mb",
    "summary",
    "timed",
]
