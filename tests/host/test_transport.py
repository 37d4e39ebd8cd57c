"""Mutual TLS, SOAP faults, size limits and traces of the training host."""

from __future__ import annotations

import http.client
import ssl

import pytest
from lxml import etree

from dmp_desktop.dmp.soap import read_http_response
from dmp_desktop.errors import DmpServiceError
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.pki import PkiPaths
from dmp_sandbox.server import RunningHost, build_ssl_context
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.wire import (
    SOAP,
    TlsClient,
    client_context,
    envelope,
    make_identity,
    td02_body,
    td02_request,
    vihf,
)

INS = demo_patients()[0].ins.value


def _trace_after(host: RunningHost, last_id: int) -> list:
    return host.store.traces(after_id=last_id)


def test_unknown_ca_is_refused_by_tls(
    host: RunningHost, training_env: TrainingEnv, rogue_pki: PkiPaths, tmp_path: object
) -> None:
    """Same names, other keys: the handshake fails and the application never sees it."""
    rogue = make_identity(rogue_pki, tmp_path, DURAND)  # type: ignore[arg-type]
    before = host.store.last_trace_id()
    for tls12_only in (True, False):  # TLS 1.2 (CPS3) and TLS 1.3
        ctx = client_context(training_env.pki.trust_roots, rogue, tls12_only=tls12_only)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            TlsClient(host.port, ctx).post(td02_request(DURAND, INS)[0])
    assert host.store.last_trace_id() == before


def test_client_without_certificate_is_refused(
    host: RunningHost, training_env: TrainingEnv
) -> None:
    ctx = ssl.create_default_context(cafile=str(training_env.pki.trust_roots))
    before = host.store.last_trace_id()
    with pytest.raises((ssl.SSLError, ConnectionError)):
        TlsClient(host.port, ctx).post(td02_request(DURAND, INS)[0])
    assert host.store.last_trace_id() == before


def test_vihf_name_id_must_be_the_certificate(host: RunningHost, client: TlsClient) -> None:
    before = host.store.last_trace_id()
    request, message_id = td02_request(DURAND, INS, name_id=MARTIN)
    reply = client.post(request)
    assert (reply.status, reply.fault_code) == (400, "DMPAuthenticationError")
    assert "NameID" in (reply.fault_reason or "")
    assert INS not in reply.body.decode()  # no patient data in a fault
    relates = reply.xml().findtext("{*}Header/{http://www.w3.org/2005/08/addressing}RelatesTo")
    assert relates == message_id
    # The client maps it to its typed error.
    with pytest.raises(DmpServiceError) as info:
        read_http_response(reply.status, reply.content_type, reply.body)
    assert info.value.code == "DMPAuthenticationError"
    (trace,) = _trace_after(host, before)
    assert trace.professional_national_id == DURAND  # from the certificate
    assert (trace.outcome, trace.http_status, trace.transaction) == (
        "DMPAuthenticationError",
        400,
        "TD0.2",
    )
    assert trace.patient_ins == INS
    assert trace.message_id == message_id


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        ("no-vihf", "DMPAuthenticationError", 400),
        ("indirect-mode", "DMPAuthenticationError", 400),
        ("other-profession", "DMPAuthenticationError", 400),
        ("resource-id-other-patient", "DMPInvalidRequest", 400),
        ("bad-ins-key", "DMPInvalidRequest", 400),
        ("unknown-ins-authority", "DMPInvalidRequest", 400),
        ("unknown-action", "DMPInvalidRequest", 400),
        ("no-action", "DMPInvalidRequest", 400),
        ("other-reason", "DMPInvalidRequest", 400),
        ("must-understand", "MustUnderstand", 500),
        ("soap11", "VersionMismatch", 500),
        ("not-soap", "DMPInvalidRequest", 400),
        ("empty-body", "DMPInvalidRequest", 400),
    ],
)
def test_refused_requests_get_soap_faults(
    case: str, code: str, status: int, host: RunningHost, client: TlsClient
) -> None:
    other = demo_patients()[1].ins.value
    content_type = None
    if case == "no-vihf":
        data, _ = envelope(td02_body(INS), None)
    elif case == "indirect-mode":
        data, _ = envelope(
            td02_body(INS), vihf(DURAND, resource_id=None, auth_mode="INDIRECTE_RENFORCEE")
        )
    elif case == "other-profession":
        data, _ = td02_request(DURAND, INS, role=("21", "1.2.250.1.71.1.2.7"))
    elif case == "resource-id-other-patient":
        data, _ = td02_request(DURAND, INS, resource_id=f"{other}^^^&1.2.250.1.213.1.4.10&ISO^NH")
    elif case == "bad-ins-key":
        data, _ = td02_request(DURAND, INS[:-2] + "00", resource_id=None)
    elif case == "unknown-ins-authority":
        data, _ = td02_request(DURAND, INS, root="1.2.3.4", resource_id=None)
    elif case == "unknown-action":
        data, _ = envelope(td02_body(INS), vihf(DURAND, resource_id=None), action="urn:x:y")
        content_type = 'application/soap+xml; action="urn:x:y"'
    elif case == "no-action":
        data, _ = envelope(td02_body(INS), vihf(DURAND, resource_id=None), action=None)
        content_type = "application/soap+xml"
    elif case == "other-reason":
        # (CNSLT_DATA is TD1.3a: an unknown reason instead.)
        data, _ = envelope(td02_body(INS, reason="MOTIF_INCONNU"), vihf(DURAND, resource_id=None))
    elif case == "must-understand":
        extra = etree.Element("{urn:example:unknown}Extension", nsmap={"soap": SOAP})
        extra.set(f"{{{SOAP}}}mustUnderstand", "true")
        data, _ = envelope(td02_body(INS), vihf(DURAND, resource_id=None), extra_header=extra)
    elif case == "soap11":
        data = (
            b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<e:Body><x/></e:Body></e:Envelope>"
        )
    elif case == "not-soap":
        data = b"<hello/>"
    elif case == "empty-body":
        data = f'<s:Envelope xmlns:s="{SOAP}"><s:Body/></s:Envelope>'.encode()
    before = host.store.last_trace_id()
    reply = client.post(data, content_type=content_type or client_content_type())
    assert (reply.status, reply.fault_code) == (status, code), reply.body
    assert reply.content_type.startswith("application/soap+xml")
    assert reply.fault_reason
    (trace,) = _trace_after(host, before)
    assert (trace.outcome, trace.http_status) == (code, status)
    assert trace.professional_national_id == DURAND


def client_content_type() -> str:
    from tests.host.wire import CONTENT_TYPE

    return CONTENT_TYPE


@pytest.mark.parametrize(
    "data",
    [
        b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body>",
        b"\x00\xff garbage",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<lolz>&lol2;</lolz>",
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    ],
    ids=["truncated", "garbage", "empty", "entity-expansion", "external-dtd"],
)
def test_malformed_xml_and_dtd_get_a_fault_and_the_host_survives(
    data: bytes, host: RunningHost, client: TlsClient
) -> None:
    reply = client.post(data)
    assert (reply.status, reply.fault_code) == (400, "DMPInvalidRequest")
    assert b"root:" not in reply.body
    # Still serving.
    assert client.post(td02_request(DURAND, INS)[0]).status == 200


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_body_gets_413(chunked: bool, host: RunningHost, client: TlsClient) -> None:
    request, _ = td02_request(DURAND, INS)
    padding = b"<!--" + b"x" * (1024 * 1024) + b"-->"
    data = request.replace(b"<soap:Body>", padding + b"<soap:Body>", 1)
    before = host.store.last_trace_id()
    reply = client.post(data, chunked=chunked)
    assert (reply.status, reply.fault_code) == (413, "DMPInvalidRequest")
    (trace,) = _trace_after(host, before)
    assert (trace.http_status, trace.outcome) == (413, "DMPInvalidRequest")
    assert (trace.transaction, trace.professional_national_id) == ("TD0.2", DURAND)
    assert client.post(request).status == 200


def test_a_trace_row_for_every_request(host: RunningHost, client: TlsClient) -> None:
    before = host.store.last_trace_id()
    ok, _ = td02_request(DURAND, INS)
    wrong_name, _ = td02_request(DURAND, INS, name_id=MARTIN)
    calls = [
        (lambda: client.post(ok), 200),
        (lambda: client.post(wrong_name), 400),
        (lambda: client.post(b"<broken"), 400),
        (lambda: client.post(ok, content_type="text/xml"), 415),
        (lambda: client.post(ok, content_type=None), 415),
        (lambda: client.post(ok, path="/si-dmp-server/v2/services/inconnu"), 404),
        (lambda: client.post(ok, path="/ailleurs"), 404),
        (lambda: client.post(b"", method="GET"), 405),
        (lambda: client.post(ok, path="/si-dmp-server/v2/services/registry"), 400),
    ]
    for call, status in calls:
        assert call().status == status
    traces = _trace_after(host, before)
    assert [t.http_status for t in traces] == [status for _, status in calls]
    assert all(t.professional_national_id == DURAND for t in traces)
    assert all(t.remote_address == "127.0.0.1" for t in traces)
    assert all(t.at.tzinfo is not None for t in traces)
    assert [t.outcome for t in traces][:3] == ["OK", "DMPAuthenticationError", "DMPInvalidRequest"]


def test_an_answer_whose_trace_cannot_be_written_is_withheld(
    host: RunningHost, client: TlsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trace row is committed before the answer leaves, or the answer is not sent."""
    before = host.store.last_trace_id()

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database gone")

    with monkeypatch.context() as patch:
        patch.setattr(host.store, "record_request", broken)
        reply = client.post(td02_request(DURAND, INS)[0])
        assert (reply.status, reply.fault_code) == (500, "DMPInternalError")
        assert INS not in reply.body.decode()  # not the answer, nothing of the patient
        unknown = client.post(td02_request(DURAND, INS)[0], path="/si-dmp-server/v2/services/x")
        assert unknown.status == 500  # a refusal is withheld the same way
    assert host.store.last_trace_id() == before  # nothing written, nothing answered
    assert client.post(td02_request(DURAND, INS)[0]).status == 200
    (trace,) = _trace_after(host, before)
    assert (trace.outcome, trace.http_status) == ("OK", 200)


def test_keep_alive_connection_serves_several_requests(
    host: RunningHost, training_env: TrainingEnv, durand: object
) -> None:
    ctx = client_context(training_env.pki.trust_roots, durand)  # type: ignore[arg-type]
    conn = http.client.HTTPSConnection("localhost", host.port, context=ctx, timeout=30)
    try:
        for _ in range(3):
            data, _id = td02_request(DURAND, INS)
            conn.request(
                "POST",
                "/si-dmp-server/v2/services/patients",
                body=data,
                headers={"Content-Type": client_content_type()},
            )
            response = conn.getresponse()
            assert response.status == 200
            response.read()
    finally:
        conn.close()


def test_server_tls_settings(training_env: TrainingEnv) -> None:
    ctx = build_ssl_context(training_env.pki)
    assert ctx.minimum_version is ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    names = {c["name"] for c in ctx.get_ciphers()}
    assert {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"} <= names
    tls12 = [n for n in names if not n.startswith("TLS_")]  # TLS 1.3 suites are fixed
    assert all(n.startswith("ECDHE-") and ("GCM" in n or "CHACHA20" in n) for n in tls12)
