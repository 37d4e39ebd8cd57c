"""The DMP client: typed calls over one httpx client. Plain Python, no Qt.

Safe to call from worker threads (it keeps no per-call state). Every failure
comes out as a :class:`~dmp_desktop.errors.DmpDesktopError` subclass; logs
carry the WS-Addressing message id and timings, never an INS, a name or a body.
"""

from __future__ import annotations

import logging
import ssl
import time
from urllib.parse import urlsplit

import httpx

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.soap import SoapRequest, SoapResponse, build_envelope, read_http_response
from dmp_desktop.dmp.td02 import build_td02_request, parse_td02_response
from dmp_desktop.dmp.vihf import (
    AUTH_MODE_DIRECT,
    PURPOSE_LABELS,
    LpsInfo,
    VihfContext,
    build_vihf,
    practitioner_dn,
)
from dmp_desktop.dmp.xmlutil import Element
from dmp_desktop.domain import DmpStatus, Ins, Practitioner
from dmp_desktop.errors import (
    ClientCertificateRejectedError,
    DmpDesktopError,
    DmpProtocolError,
    HostCertificateError,
    HostUnreachableError,
    SettingsError,
    TimeoutError_,
)
from dmp_desktop.settings import Settings

log = logging.getLogger(__name__)

# This software's OID (a UUID-derived OID under 2.25, ITU-T X.667): sender
# device id; message ids are <oid>.1.1, query ids <oid>.2. Override with
# settings.extra["lps_oid"] once an OID is assigned by the homologation.
# (UUID 47ec6c65-902d-4deb-86e6-da7e1e0ba503)
DEFAULT_LPS_OID = "2.25.95602768306245465660688465239265223939"

_CLIENT_CERT_ALERTS = (
    "BAD_CERTIFICATE",
    "CERTIFICATE_REQUIRED",
    "UNKNOWN_CA",
    "CERTIFICATE_UNKNOWN",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_EXPIRED",
    "ACCESS_DENIED",
)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from (bounded)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def translate_http_error(exc: BaseException) -> DmpDesktopError:
    """httpx (or socket / TLS) failure -> the core's typed error (a typed cause wins)."""
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, DmpDesktopError):
            return cause
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            message = getattr(cause, "verify_message", None) or "certificate not trusted"
            return HostCertificateError(str(message))
        if isinstance(cause, ssl.SSLError):
            reason = str(getattr(cause, "reason", None) or "").upper()
            if reason.startswith(("TLSV1_ALERT_", "SSLV3_ALERT_", "TLSV13_ALERT_")) and any(
                alert in reason for alert in _CLIENT_CERT_ALERTS
            ):
                return ClientCertificateRejectedError()
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError_()
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return SettingsError("adresse du DMP invalide.")
    if isinstance(exc, httpx.TransportError | OSError):
        return HostUnreachableError(type(exc).__name__)
    return DmpProtocolError(type(exc).__name__)


class DmpClient:
    """Transactions with the DMP host, one method per transaction."""

    def __init__(
        self,
        http: httpx.Client,
        settings: Settings,
        practitioner: Practitioner,
        issuer_dn: str | None = None,
        *,
        owns_http: bool = True,
    ) -> None:
        self._http = http
        self._settings = settings
        self._practitioner = practitioner
        # Direct mode: the issuer is the card certificate's subject. Without
        # it, a DN rebuilt from the holder stands in (same layout).
        self._issuer_dn = issuer_dn or practitioner_dn(practitioner)
        self._owns_http = owns_http
        self._lps = LpsInfo.from_settings(settings)
        extra = settings.extra or {}
        self._lps_oid = str(extra.get("lps_oid", DEFAULT_LPS_OID))

    @property
    def practitioner(self) -> Practitioner:
        return self._practitioner

    # --- transactions -------------------------------------------------------------------------

    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus:
        """TD0.2: does ``ins`` have a DMP, and may this practitioner access it?

        ``purpose`` is the VIHF purpose of use: ``normal``, ``bris_de_glace``
        or ``centre_15`` (anything else is a programming error: ValueError).
        """
        url = self._settings.service_url("patients")
        body = build_td02_request(ins, sender_oid=self._lps_oid, sender_name=self._lps.name)
        request = build_envelope(
            body,
            action=ns.ACTION_TD02,
            to=url,
            security_tokens=[self._vihf(ins, purpose)],
        )
        answer = self._call(url, request, expected_action=ns.ACTION_TD02_RESPONSE, name="TD0.2")
        return parse_td02_response(answer.body, requested=ins)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> DmpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -----------------------------------------------------------------------------

    def _vihf(self, ins: Ins | None, purpose: str) -> Element:
        if purpose not in PURPOSE_LABELS:
            raise ValueError(f"unknown purpose of use: {purpose}")
        auth_mode = self._settings.auth_mode or AUTH_MODE_DIRECT
        if auth_mode != AUTH_MODE_DIRECT:
            # Indirect modes need a VIHF signed with the structure's certificate.
            raise SettingsError(
                "seul le mode d'authentification direct (carte CPS) est pris en charge."
            )
        structure_id = self._settings.structure_id or self._practitioner.structure_id or ""
        if not structure_id:
            raise SettingsError("identifiant de la structure manquant.")
        context = VihfContext(
            practitioner=self._practitioner,
            issuer_dn=self._issuer_dn,
            structure_id=structure_id,
            activity_sector=self._settings.activity_sector or "SA07",
            purpose=purpose,
            auth_mode=auth_mode,
            ins=ins,
            lps=self._lps,
        )
        return build_vihf(context)

    def _call(
        self, url: str, request: SoapRequest, *, expected_action: str, name: str
    ) -> SoapResponse:
        if urlsplit(url).scheme != "https":
            raise SettingsError("l'adresse du DMP doit commencer par https://.")
        started = time.monotonic()
        try:
            status, content_type, data = self._post(url, request)
        except (httpx.HTTPError, OSError) as exc:
            error = translate_http_error(exc)
            log.info("%s %s failed: %s", name, request.message_id, type(error).__name__)
            raise error from None
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info("%s %s -> HTTP %d in %.0f ms", name, request.message_id, status, elapsed_ms)
        try:
            return read_http_response(
                status,
                content_type,
                data,
                expected_action=expected_action,
                relates_to=request.message_id,
            )
        except DmpDesktopError as exc:
            log.info("%s %s refused: %s", name, request.message_id, type(exc).__name__)
            raise

    def _post(self, url: str, request: SoapRequest) -> tuple[int, str | None, bytes]:
        headers = {"Content-Type": request.content_type, "Accept": ns.SOAP12_CONTENT_TYPE}
        limit = xmlsafe.MAX_XML_BYTES
        with self._http.stream("POST", url, content=request.data, headers=headers) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise DmpProtocolError("answer too large")
                chunks.append(chunk)
            return response.status_code, response.headers.get("content-type"), b"".join(chunks)


__all__ = ["DEFAULT_LPS_OID", "DmpClient", "translate_http_error"]
