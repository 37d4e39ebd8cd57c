"""The training host over HTTPS with mutual TLS (aiohttp + the standard ``ssl`` module).

- Server certificate: the test PKI's host chain; client certificates are
  required and verified against the test IGC-Santé CAs (``client_cas``), so
  a certificate from an unknown CA never reaches the application.
- TLS 1.2 minimum (CPS3 cards sign with PKCS#1 v1.5 only and can only do
  TLS 1.2 client authentication), ECDHE key exchange with AES-GCM (or
  ChaCha20) only.
- ``POST /si-dmp-server/v2/services/<service>``: SOAP 1.2
  (``application/soap+xml``); see :mod:`dmp_sandbox.host` for the logic and
  :mod:`dmp_sandbox.soap` for the faults.
- Every request reaching the application leaves one row in ``traces``,
  written before the answer is sent (if it cannot be written, the answer is
  an internal error instead).

Tests and tools run the host in-process with :func:`run_in_thread`; the
``dmp-sandbox serve`` command runs it in the foreground with :func:`serve`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import gc
import logging
import signal
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from aiohttp import web

from dmp_sandbox.auth import CertIdentity, identity_from_der
from dmp_sandbox.faults import HostFaults
from dmp_sandbox.host import (
    OPERATIONS,
    SERVICE_PATH_PREFIX,
    SERVICES,
    DmpHost,
    HostResponse,
    TraceContext,
    content_type_info,
)
from dmp_sandbox.insi import MAX_BODY as INSI_MAX_BODY
from dmp_sandbox.insi import PATH as INSI_PATH
from dmp_sandbox.insi import InsiService
from dmp_sandbox.pki import PkiPaths
from dmp_sandbox.schemas import process_schemas
from dmp_sandbox.soap import FaultCode, SoapFault, invalid
from dmp_sandbox.store import SeenProfessional, Store
from dmp_sandbox.vihf_verify import SignerTrust
from dmp_sandbox.wire import MULTIPART_RELATED, SOAP12_CONTENT_TYPE
from dmp_sandbox.xades_verify import STRICT_DSIG_SCHEMA, DocumentSignerTrust, SignaturePolicy

if TYPE_CHECKING:
    # The training environment (its cards module reads the card layout): never loaded by
    # a serving process, which judges with its own code only.
    from dmp_sandbox.training import TrainingEnv

log = logging.getLogger("dmp_sandbox.server")

TLS_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!DSS"
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 5.0

HOST_KEY = web.AppKey("dmp_host", DmpHost)
EXECUTOR_KEY = web.AppKey("dmp_executor", concurrent.futures.ThreadPoolExecutor)
INSI_KEY = web.AppKey("insi", InsiService)
# Whether an endpoint writes the trace with its answer (see _answer); False once test
# faults are installed (dmp_sandbox.faults).
RECORD_WITH_ANSWER_KEY = web.AppKey("dmp_record_with_answer", bool)
# Per-request state, set by the middleware (each request runs in its own task).
_REQUEST_STATE: contextvars.ContextVar[tuple[TraceContext, CertIdentity | None]] = (
    contextvars.ContextVar("dmp_request_state")
)


def build_ssl_context(pki: PkiPaths) -> ssl.SSLContext:
    """Server side of mutual TLS: host chain, client certificates required."""
    return server_ssl_context(pki.host_cert, pki.host_key, pki.client_cas)


def server_ssl_context(cert: str | Path, key: str | Path, client_cas: str | Path) -> ssl.SSLContext:
    """:func:`build_ssl_context` from the files themselves (gunicorn's workers get paths)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(cafile=str(client_cas))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_ciphers(TLS_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return ctx


def _peer_identity(request: web.Request) -> CertIdentity | None:
    transport = request.transport
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return _identity_of(der)


@functools.lru_cache(maxsize=4096)
def _identity_of(der: bytes) -> CertIdentity | None:
    """The identity a (TLS-verified) certificate names, read once per certificate.

    Keyed on the certificate's exact bytes (DER): the same bytes always name the
    same identity, so a connection's later requests, and the professional's next
    connections, do not parse it again.
    """
    try:
        return identity_from_der(der)
    except ValueError:
        return None


def _web_response(answer: HostResponse) -> web.Response:
    return web.Response(
        status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type}
    )


def _record(store: Store, trace: TraceContext, identity: CertIdentity | None) -> None:
    """The request's trace row and the professional of its certificate: one transaction."""
    seen = None
    if identity is not None and not identity.is_structure:
        seen = SeenProfessional(
            identity.national_id,
            family_name=identity.family_name,
            given_name=identity.given_name,
            profession=identity.profession,
            profession_code=identity.profession_code,
            structure_id=identity.structure_id,
        )
    store.record_request(trace.row(), seen)


async def _in_worker(app: web.Application, fn: Callable[[], object]) -> object:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(app[EXECUTOR_KEY], fn)


@web.middleware
async def _trace_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """One trace row per request, whatever happens (404, 405, 413, faults...)."""
    identity = _peer_identity(request)
    trace = TraceContext(
        remote_address=request.remote,
        professional_national_id=identity.national_id if identity else None,
    )
    _REQUEST_STATE.set((trace, identity))
    store = request.app[HOST_KEY].store
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        trace.http_status = exc.status
        trace.outcome = trace.outcome or f"HTTP{exc.status}"
        await _in_worker(request.app, lambda: _record(store, trace, identity))
        raise
    except Exception:
        log.exception("unexpected error in the HTTP layer")
        response = _web_response(
            DmpHost.fault(
                SoapFault(FaultCode.INTERNAL, "Erreur interne de l'hôte de formation."), trace
            )
        )
    if trace.written:  # with the answer, on the same worker thread (_answer)
        return response
    trace.http_status = response.status
    try:
        await _in_worker(request.app, lambda: _record(store, trace, identity))
    except Exception:
        log.exception("trace could not be written: answer withheld")
        return _web_response(
            DmpHost.fault(
                SoapFault(FaultCode.INTERNAL, "Erreur interne de l'hôte de formation."), trace
            )
        )
    return response


async def _answer(
    request: web.Request,
    trace: TraceContext,
    identity: CertIdentity | None,
    work: Callable[[], HostResponse],
) -> web.Response:
    """The host's answer, computed on a worker thread; its trace written in the same job.

    One trip to the worker threads per request instead of two: the trace row is
    still written, committed, before the answer leaves (if it cannot be, the
    answer is withheld, as :func:`_trace_middleware` does). Not when test faults
    are installed (:mod:`dmp_sandbox.faults` marks the trace after the handler):
    the middleware writes it then.
    """
    app = request.app
    executor = app[EXECUTOR_KEY]
    loop = asyncio.get_running_loop()
    if not app[RECORD_WITH_ANSWER_KEY]:
        return _web_response(await loop.run_in_executor(executor, work))
    store = app[HOST_KEY].store

    def answer_and_record() -> HostResponse:
        answer = work()
        trace.http_status = answer.status
        trace.written = True  # whatever happens next: the middleware does not write it again
        try:
            _record(store, trace, identity)
        except Exception:
            log.exception("trace could not be written: answer withheld")
            return DmpHost.fault(
                SoapFault(FaultCode.INTERNAL, "Erreur interne de l'hôte de formation."), trace
            )
        return answer

    return _web_response(await loop.run_in_executor(executor, answer_and_record))


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _soap_endpoint(request: web.Request) -> web.StreamResponse:
    trace, identity = _REQUEST_STATE.get()
    service = request.match_info["service"]
    spec = SERVICES.get(service)
    if spec is None:
        return _web_response(DmpHost.fault(invalid("Service inconnu.", 404), trace))
    trace.service = service
    content_type = request.headers.get("Content-Type")
    media, ct_action = content_type_info(content_type)
    trace.action = ct_action
    operation = OPERATIONS.get((service, ct_action or ""))
    if operation is not None:  # known before the body is read: refusals are traced with it
        trace.transaction = operation.transaction
    if media != SOAP12_CONTENT_TYPE and not (media == MULTIPART_RELATED and spec.mtom):
        fault = invalid(f"Type de contenu attendu : {SOAP12_CONTENT_TYPE} (SOAP 1.2).", 415)
        return _web_response(DmpHost.fault(fault, trace))
    body = await _read_limited(request, spec.max_body)
    if body is None:
        fault = invalid(
            f"Message trop volumineux pour ce service (limite : {spec.max_body} octets).", 413
        )
        return _web_response(DmpHost.fault(fault, trace))
    host = request.app[HOST_KEY]
    return await _answer(
        request,
        trace,
        identity,
        lambda: host.handle(service, content_type, body, identity, trace),
    )


async def _insi_endpoint(request: web.Request) -> web.StreamResponse:
    """INSi (``/lps``): the training host's identity teleservice (dmp_sandbox.insi)."""
    trace, identity = _REQUEST_STATE.get()
    body = await _read_limited(request, INSI_MAX_BODY)
    if body is None:
        fault = invalid(f"Message trop volumineux (limite : {INSI_MAX_BODY} octets).", 413)
        return _web_response(DmpHost.fault(fault, trace))
    service = request.app[INSI_KEY]
    content_type = request.headers.get("Content-Type")
    return await _answer(
        request, trace, identity, lambda: service.handle(content_type, body, identity, trace)
    )


def create_app(
    store: Store,
    *,
    workers: int | None = None,
    pki: PkiPaths | None = None,
    skip_signature_check: bool = False,
    strict_signature_schema: bool | None = None,
) -> web.Application:
    """The aiohttp application over ``store`` (TLS is the server's business).

    ``pki``: the test hierarchy a structure-mode VIHF's signer and a
    submission's signer (TD2.1) must chain to. ``skip_signature_check``:
    test-only, see :mod:`dmp_sandbox.xades_verify`. ``strict_signature_schema``:
    refuse submission signatures not valid against the XML-DSig schema (default:
    :data:`dmp_sandbox.xades_verify.STRICT_DSIG_SCHEMA`).
    """
    app = web.Application(
        middlewares=[_trace_middleware],
        client_max_size=max(spec.max_body for spec in SERVICES.values()),
    )
    schemas = process_schemas()
    schemas.check_available()  # a host that cannot judge does not start
    schemas.preload()
    signatures = SignaturePolicy(
        DocumentSignerTrust.from_pki(pki) if pki is not None else None,
        skip_signature_check,
        STRICT_DSIG_SCHEMA if strict_signature_schema is None else strict_signature_schema,
    )
    app[HOST_KEY] = DmpHost(
        store, SignerTrust.from_pki(pki) if pki is not None else None, signatures, schemas
    )
    # Database work and XML run on worker threads, off the event loop. SQLite
    # gets one worker (one writer at a time); other databases a small pool.
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=workers or (1 if store.is_sqlite else 4), thread_name_prefix="dmp-host"
    )
    app[EXECUTOR_KEY] = executor
    app[RECORD_WITH_ANSWER_KEY] = True

    async def _shutdown_executor(_app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)

    app.on_cleanup.append(_shutdown_executor)
    app.router.add_post(SERVICE_PATH_PREFIX + "{service}", _soap_endpoint)
    app[INSI_KEY] = InsiService(DocumentSignerTrust.from_pki(pki) if pki is not None else None)
    app.router.add_post(INSI_PATH, _insi_endpoint)
    return app


def public_url(host: str, port: int) -> str:
    """The URL clients use: the host certificate names ``localhost`` and 127.0.0.1."""
    name = "localhost" if host in ("127.0.0.1", "localhost", "0.0.0.0", "::", "::1") else host  # noqa: S104
    return f"https://{name}:{port}"


@dataclass
class _Started:
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event
    port: int


async def _run(
    store: Store,
    pki: PkiPaths,
    host: str,
    port: int,
    started: Callable[[_Started], None],
    *,
    handle_signals: bool = False,
    access_log: bool = False,
    skip_signature_check: bool = False,
    strict_signature_schema: bool | None = None,
    faults: HostFaults | None = None,
) -> None:
    ssl_ctx = build_ssl_context(pki)
    app = create_app(
        store,
        pki=pki,
        skip_signature_check=skip_signature_check,
        strict_signature_schema=strict_signature_schema,
    )
    if faults is not None:  # tests only (run_in_thread)
        faults.install(app)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=log if access_log else None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_ctx)
        await site.start()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        address = runner.addresses[0]
        started(_Started(loop, stop, int(address[1])))
        await stop.wait()
    finally:
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().remove_signal_handler(sig)
        await runner.cleanup()
        await _abort_lingering_transports()


def freeze_startup_heap() -> None:
    """Keep the cyclic garbage collector off what a serving process loaded at start-up.

    The schemas' Python side, the SQLAlchemy mappings, the modules: some 130,000
    objects that live as long as the process. Left to the collector, each full
    collection walks them all again while every request of the process waits
    (70 to 180 ms measured under load). Frozen (:func:`gc.freeze`), a full
    collection walks only what requests created. For serving processes only
    (:func:`serve` and each worker of :mod:`dmp_sandbox.workers`), not for the
    hosts the tests start in their own process.
    """
    gc.collect()
    gc.freeze()


async def _abort_lingering_transports() -> None:
    """Close what the shutdown left open: TLS connections idle or mid-request at stop.

    aiohttp closes the handlers it knows; an idle kept-alive TLS connection (or
    one whose request never finished) can keep its socket past the loop's end,
    and a later garbage collection then warns (ResourceWarning) in whatever
    runs next. The selector loop's own table of transports is the only place
    that still holds them (CPython's selector event loops).
    """
    loop = asyncio.get_running_loop()
    transports = getattr(loop, "_transports", None)
    if not transports:
        return
    for transport in list(transports.values()):
        if transport is not None and not transport.is_closing():
            transport.abort()
    for _ in range(2):  # abort() closes the socket on the next turns of the loop
        await asyncio.sleep(0)


def serve(
    store: Store,
    pki: PkiPaths,
    host: str = "127.0.0.1",
    port: int = 8443,
    on_ready: Callable[[str], None] | None = None,
    *,
    access_log: bool = False,
) -> None:
    """Run the host in the foreground until SIGINT or SIGTERM (graceful shutdown).

    ``access_log``: one HTTP line per request on the log (the trace table holds every
    request anyway).
    """

    def started(info: _Started) -> None:
        freeze_startup_heap()
        if on_ready is not None:
            on_ready(public_url(host, info.port))

    asyncio.run(
        _run(store, pki, host, port, started, handle_signals=True, access_log=access_log)
    )


@dataclass
class RunningHost:
    """A host serving on a background thread; stop it (or leave the ``with`` block)."""

    url: str
    port: int
    host: str
    store: Store
    env: TrainingEnv
    _thread: threading.Thread = field(repr=False)
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _stop: asyncio.Event = field(repr=False)
    _owns_store: bool = field(default=True, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def service_url(self, service: str = "patients") -> str:
        return f"{self.url}{SERVICE_PATH_PREFIX}{service}"

    def stop(self) -> None:
        """Stop serving, wait for the thread, close the store (if ours). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self._loop.call_soon_threadsafe(self._stop.set)
        except RuntimeError:  # the loop already ended (the thread died)
            pass
        self._thread.join()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> RunningHost:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_thread(
    env: TrainingEnv,
    db_url: str | None = None,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    seed: bool = False,
    store: Store | None = None,
    skip_signature_check: bool = False,
    strict_signature_schema: bool | None = None,
    faults: HostFaults | None = None,
) -> RunningHost:
    """Start the host of ``env`` on a background thread; return once it is listening.

    ``db_url`` defaults to the environment's database (``env.db_url``);
    ``port=0`` picks a free port (see ``.port`` / ``.url``). ``seed=True``
    (re)loads the demo patients first. Pass ``store`` to share an open
    :class:`Store` (it is then left open on stop). ``skip_signature_check``
    is for one test only (the official TD2.1 example, signed by a certificate
    the test PKI does not know): submission signatures are then read, not
    verified. Never set it anywhere else. ``faults``: test-only answers
    replaced, delayed or lost on purpose (:mod:`dmp_sandbox.faults`); none
    unless given.
    """
    owns_store = store is None
    if store is None:
        store = Store(db_url or env.db_url)
    try:
        if seed:
            from dmp_sandbox.demo import seed_demo

            seed_demo(store)
        ready: concurrent.futures.Future[_Started] = concurrent.futures.Future()

        def started(info: _Started) -> None:
            ready.set_result(info)

        def main() -> None:
            try:
                asyncio.run(
                    _run(
                        store,
                        env.pki,
                        host,
                        port,
                        started,
                        skip_signature_check=skip_signature_check,
                        strict_signature_schema=strict_signature_schema,
                        faults=faults,
                    )
                )
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                else:
                    log.exception("training host thread ended with an error")

        thread = threading.Thread(target=main, name="dmp-training-host", daemon=True)
        thread.start()
        try:
            info = ready.result(timeout=STARTUP_TIMEOUT)
        except BaseException:
            thread.join(timeout=STARTUP_TIMEOUT)
            raise
    except BaseException:
        if owns_store:
            store.close()
        raise
    return RunningHost(
        url=public_url(host, info.port),
        port=info.port,
        host=host,
        store=store,
        env=env,
        _thread=thread,
        _loop=info.loop,
        _stop=info.stop,
        _owns_store=owns_store,
    )


def wait_ready(host: str, port: int, timeout: float) -> bool:
    """True once something accepts TCP connections on (host, port), within ``timeout``."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def pki_ready(pki: PkiPaths) -> bool:
    return all(Path(p).is_file() for p in (pki.host_cert, pki.host_key, pki.client_cas))
