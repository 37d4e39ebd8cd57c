"""DmpClient over httpx.MockTransport: request, answers, and every failure typed."""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable

import httpx
import pytest

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.client import DEFAULT_LPS_OID, DmpClient, translate_http_error
from dmp_desktop.dmp.vihf import parse_vihf
from dmp_desktop.domain import Authorization, DmpState
from dmp_desktop.errors import (
    ClientCertificateRejectedError,
    DmpDesktopError,
    DmpProtocolError,
    DmpServiceError,
    HostCertificateError,
    HostUnreachableError,
    SettingsError,
    TimeoutError_,
)
from tests.unit.test_dmp_support import (
    INS,
    authorization_line,
    bl_line,
    doctor,
    secretary,
    settings,
    td02_answer,
)

Handler = Callable[[httpx.Request], httpx.Response]
URL = "https://dmp.test:8443/si-dmp-server/v2/services/patients"


def _message_id(request: httpx.Request) -> str:
    found = re.search(rb"<MessageID[^>]*>([^<]+)</MessageID>", request.content)
    assert found is not None
    return found.group(1).decode()


def _answering(**answer: object) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = td02_answer(relates_to=_message_id(request), **answer)  # type: ignore[arg-type]
        return httpx.Response(
            200, content=body, headers={"Content-Type": "application/soap+xml; charset=utf-8"}
        )

    return handler, seen


def _client(handler: Handler, **kwargs: object) -> DmpClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return DmpClient(http, kwargs.pop("settings", settings()), doctor(), **kwargs)  # type: ignore[arg-type]


def test_test_existence_posts_the_td02_request() -> None:
    handler, seen = _answering(attention=authorization_line("VALIDE") + bl_line("STATUT_MT", True))
    with _client(handler, issuer_dn="CN=card") as client:
        status = client.test_existence(INS)
    assert (status.state, status.authorization, status.treating_physician) == (
        DmpState.ACTIVE,
        Authorization.VALIDE,
        True,
    )
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["content-type"] == (
        'application/soap+xml; charset=utf-8; action="urn:hl7-org:v3:PRPA_IN201307UV02"'
    )
    envelope = xmlsafe.parse(request.content)
    body = envelope.find(f"{{{ns.SOAP12}}}Body/{{{ns.HL7}}}PRPA_IN201307UV02")
    assert body is not None
    value = body.find(f".//{{{ns.HL7}}}patientIdentifier/{{{ns.HL7}}}value")
    assert (value.get("root"), value.get("extension")) == (INS.oid, INS.value)
    assert body.find(f"{{{ns.HL7}}}sender/{{{ns.HL7}}}device/{{{ns.HL7}}}id").get("root") == (
        DEFAULT_LPS_OID
    )
    claims = parse_vihf(envelope.find(f".//{{{ns.WSSE}}}Security/{{{ns.SAML2}}}Assertion"))
    assert claims.issuer == "CN=card"
    assert claims.patient_ins() == INS
    assert claims.purpose_of_use == "normal"
    assert claims.structure_id == "499700433153007"


def test_purpose_goes_into_the_vihf() -> None:
    handler, seen = _answering()
    with _client(handler) as client:
        client.test_existence(INS, purpose="bris_de_glace")
    assertion = xmlsafe.parse(seen[0].content).find(f".//{{{ns.SAML2}}}Assertion")
    assert parse_vihf(assertion).purpose_of_use == "bris_de_glace"


def test_unknown_purpose_is_refused_before_sending() -> None:
    handler, seen = _answering()
    with _client(handler) as client, pytest.raises(ValueError, match="purpose"):
        client.test_existence(INS, purpose="curiosity")
    assert seen == []


def test_indirect_mode_is_not_supported_yet() -> None:
    handler, seen = _answering()
    with _client(handler, settings=settings(auth_mode="INDIRECTE_RENFORCEE")) as client:
        with pytest.raises(SettingsError):
            client.test_existence(INS)
    assert seen == []


def test_issuer_defaults_to_the_card_layout() -> None:
    handler, seen = _answering()
    with _client(handler) as client:
        client.test_existence(INS)
    assertion = xmlsafe.parse(seen[0].content).find(f".//{{{ns.SAML2}}}Assertion")
    assert parse_vihf(assertion).issuer.startswith("CN=899700433153+")  # type: ignore[union-attr]


def test_structure_id_from_the_card_when_not_configured() -> None:
    handler, seen = _answering()
    with _client(handler, settings=settings(structure_id="")) as client:
        client.test_existence(INS)
    assertion = xmlsafe.parse(seen[0].content).find(f".//{{{ns.SAML2}}}Assertion")
    assert parse_vihf(assertion).structure_id == "499700433153007"


def test_missing_structure_id_is_a_settings_error() -> None:
    handler, seen = _answering()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = DmpClient(http, settings(structure_id=""), doctor(structure_id=None))
    with pytest.raises(SettingsError):
        client.test_existence(INS)
    assert seen == []


def test_staff_card_sends_the_secretary_role() -> None:
    handler, seen = _answering()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    with DmpClient(http, settings(), secretary()) as client:
        client.test_existence(INS)
    assertion = xmlsafe.parse(seen[0].content).find(f".//{{{ns.SAML2}}}Assertion")
    assert parse_vihf(assertion).role_codes() == ["SECRETARIAT_MEDICAL"]


def test_settings_extra_overrides_lps_identifiers() -> None:
    handler, seen = _answering()
    custom = settings(extra={"lps_oid": "1.2.250.9"}, lps_homologation_id="HOMOL-1")
    with _client(handler, settings=custom) as client:
        client.test_existence(INS)
    envelope = xmlsafe.parse(seen[0].content)
    sender = envelope.find(f".//{{{ns.HL7}}}sender/{{{ns.HL7}}}device/{{{ns.HL7}}}id")
    assert sender.get("root") == "1.2.250.9"
    claims = parse_vihf(envelope.find(f".//{{{ns.SAML2}}}Assertion"))
    assert claims.lps_homologation_id == "HOMOL-1"


def test_not_found() -> None:
    handler, _ = _answering(patient_block="", response_code="NF")
    with _client(handler) as client:
        assert client.test_existence(INS).state is DmpState.NONE


def test_answer_relating_to_another_request_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=td02_answer(relates_to="urn:uuid:someone-else"))

    with _client(handler) as client, pytest.raises(DmpProtocolError):
        client.test_existence(INS)


def test_soap_fault_with_500_is_a_service_error() -> None:
    fault = b"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
      <soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value><soap:Subcode>
      <soap:Value>DMPAccessDenied</soap:Value></soap:Subcode></soap:Code>
      <soap:Reason><soap:Text xml:lang="fr">Acces refuse</soap:Text></soap:Reason>
      </soap:Fault></soap:Body></soap:Envelope>"""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, content=fault, headers={"Content-Type": "application/soap+xml"})

    with _client(handler) as client, pytest.raises(DmpServiceError) as caught:
        client.test_existence(INS)
    assert caught.value.code == "DMPAccessDenied"


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, DmpProtocolError), (503, HostUnreachableError), (504, TimeoutError_)],
)
def test_http_errors(status: int, error: type[Exception]) -> None:
    with _client(lambda request: httpx.Response(status, text="nope")) as client:
        with pytest.raises(error):
            client.test_existence(INS)


def _raising(exc: BaseException) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _wrapped(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ConnectError("refused"), HostUnreachableError),
        (httpx.ConnectTimeout("slow"), TimeoutError_),
        (httpx.ReadTimeout("slow"), TimeoutError_),
        (httpx.PoolTimeout("busy"), TimeoutError_),
        (httpx.RemoteProtocolError("eof"), HostUnreachableError),
        (httpx.ReadError("reset"), HostUnreachableError),
        (httpx.UnsupportedProtocol("ftp"), SettingsError),
        (ConnectionResetError("reset"), HostUnreachableError),
        (
            _wrapped(httpx.ConnectError("tls"), ssl.SSLCertVerificationError("unknown ca")),
            HostCertificateError,
        ),
    ],
)
def test_transport_failures_are_typed(exc: Exception, error: type[Exception]) -> None:
    with _client(_raising(exc)) as client, pytest.raises(error):
        client.test_existence(INS)


def test_typed_errors_from_the_transport_pass_through() -> None:
    original = HostCertificateError("pinned root mismatch")
    with _client(_raising(original)) as client, pytest.raises(HostCertificateError) as caught:
        client.test_existence(INS)
    assert caught.value is original


def test_typed_cause_inside_an_httpx_error_wins() -> None:
    original = ClientCertificateRejectedError()
    wrapped = _wrapped(httpx.ConnectError("handshake"), original)
    with _client(_raising(wrapped)) as client, pytest.raises(ClientCertificateRejectedError):
        client.test_existence(INS)


def test_tls_alert_about_our_certificate() -> None:
    alert = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] alert")
    alert.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"  # type: ignore[misc]
    error = translate_http_error(_wrapped(httpx.ConnectError("tls"), alert))
    assert isinstance(error, ClientCertificateRejectedError)


def test_other_httpx_errors_are_protocol_errors() -> None:
    assert isinstance(translate_http_error(httpx.DecodingError("gzip")), DmpProtocolError)


def test_answer_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xmlsafe, "MAX_XML_BYTES", 1000)
    with _client(lambda request: httpx.Response(200, content=b"<a>" + b" " * 5000)) as client:
        with pytest.raises(DmpProtocolError, match="too large"):
            client.test_existence(INS)


def test_plain_http_is_refused() -> None:
    handler, seen = _answering()
    with _client(handler, settings=settings(host_url="http://dmp.test")) as client:
        with pytest.raises(SettingsError):
            client.test_existence(INS)
    assert seen == []


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>',
        b"<soap:Envelope",
        b"<html>maintenance</html>",
    ],
)
def test_hostile_answers_through_the_client(body: bytes) -> None:
    with _client(lambda request: httpx.Response(200, content=body)) as client:
        with pytest.raises(DmpProtocolError):
            client.test_existence(INS)


def test_every_failure_is_a_dmp_desktop_error() -> None:
    for exc in (httpx.ConnectError("x"), httpx.ReadTimeout("x"), OSError("x")):
        assert isinstance(translate_http_error(exc), DmpDesktopError)


def test_close_closes_an_owned_client_only() -> None:
    handler, _ = _answering()
    owned = httpx.Client(transport=httpx.MockTransport(handler))
    DmpClient(owned, settings(), doctor()).close()
    assert owned.is_closed
    shared = httpx.Client(transport=httpx.MockTransport(handler))
    DmpClient(shared, settings(), doctor(), owns_http=False).close()
    assert not shared.is_closed
    shared.close()


def test_logs_carry_no_identity(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler, _ = _answering(attention=authorization_line("VALIDE"))
    with _client(handler) as client:
        client.test_existence(INS)
    with _client(_raising(httpx.ConnectError("x"))) as client, pytest.raises(HostUnreachableError):
        client.test_existence(INS)
    text = caplog.text
    assert "TD0.2" in text
    for secret in (INS.value, "MARTIN", "Claire", "899700433153", "LAURENCE", "patb-quatre"):
        assert secret not in text
