"""Host abuse: what a hostile or broken client tries, refused by the training host and traced.

Oversized bodies, no client certificate, a VIHF for another professional
than the TLS certificate, a replayed, stale or future-dated assertion, and a
professional reaching for a patient they have no right to. Each refusal that
reaches the application leaves a trace row saying why (the TLS layer refuses
a missing certificate before any request exists: there is nothing to trace).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import http.client
import ssl
import uuid

import pytest
from lxml import etree

from dmp_desktop.connect import open_dmp
from dmp_desktop.dmp.xds import default_query
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.smartcard import CardManager
from dmp_sandbox import replay
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.host import SERVICES
from dmp_sandbox.replay import AssertionTimes
from dmp_sandbox.server import RunningHost
from dmp_sandbox.store import Trace
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.test_consultation_wire import (
    ACTION_FIND,
    FAILURE,
    REGISTRY,
    assertion,
    content_type,
    document_uid,
    find,
    find_body,
    find_request,
    martin,
    retrieve,
    retrieve_request,
    tls,
)
from tests.host.wire import (
    SAML,
    ClientIdentity,
    Reply,
    TlsClient,
    envelope,
    td02_body,
    td02_request,
)
from tests.support.vihf import saml_instant

__all__ = ["martin"]  # fixture

P = {p.key: p.ins.value for p in demo_patients()}
LEA, LEFEBVRE = P["actif-autorise"], P["actif-sans-autorisation"]
AUTH = "DMPAuthenticationError"


def traces_after(host: RunningHost, first: int) -> list[Trace]:
    return host.store.traces(after_id=first)


def last_trace(host: RunningHost) -> Trace:
    return traces_after(host, host.store.last_trace_id() - 1)[-1]


def td02_with(token: etree._Element, ins: str = LEA) -> bytes:
    return envelope(td02_body(ins), token)[0]


def dated(offset: dt.timedelta, *, conditions: dict[str, dt.timedelta] | None = None) -> bytes:
    """A TD0.2 by Dr Durand about Léa whose VIHF was issued ``offset`` from now."""
    token = assertion(DURAND, LEA, purpose=None)
    now = dt.datetime.now(dt.UTC)
    token.set("IssueInstant", saml_instant(now + offset))
    if conditions:
        element = etree.Element(f"{{{SAML}}}Conditions")
        for name, delta in conditions.items():
            element.set(name, saml_instant(now + delta))
        token.find(f"{{{SAML}}}Subject").addnext(element)
    return td02_with(token)


def refused(reply: Reply, code: str = AUTH) -> str:
    assert reply.status == 400, reply.body[:500]
    assert reply.fault_code == code
    return reply.fault_reason or ""


# --- size -------------------------------------------------------------------------------------


def test_oversized_body_is_refused_before_parsing_and_traced(
    host: RunningHost, client: TlsClient
) -> None:
    first = host.store.last_trace_id()
    limit = SERVICES["patients"].max_body
    ok, _ = td02_request(DURAND, LEA)
    padded = ok.replace(b"<soap:Body>", b"<soap:Body>" + b" " * (limit + 1 - len(ok)), 1)
    assert len(padded) == limit + 1
    reply = client.post(padded)
    assert (reply.status, reply.fault_code) == (413, "DMPInvalidRequest")
    assert "trop volumineux" in (reply.fault_reason or "")
    (row,) = traces_after(host, first)
    assert (row.http_status, row.outcome, row.professional_national_id) == (
        413,
        "DMPInvalidRequest",
        DURAND,
    )
    assert client.post(ok).status == 200  # the host is still serving


# --- who is calling ---------------------------------------------------------------------------


def test_no_client_certificate_is_refused_at_tls(
    host: RunningHost, training_env: TrainingEnv
) -> None:
    first = host.store.last_trace_id()
    ctx = ssl.create_default_context(cafile=str(training_env.pki.trust_roots))
    conn = http.client.HTTPSConnection("localhost", host.port, context=ctx, timeout=10)
    ok, _ = td02_request(DURAND, LEA)
    try:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            conn.request("POST", "/si-dmp-server/v2/services/patients", body=ok)
            conn.getresponse().read()
    finally:
        conn.close()
    assert traces_after(host, first) == []  # no request ever reached the application


def test_vihf_of_another_professional_is_refused_and_traced(
    host: RunningHost, client: TlsClient
) -> None:
    request, message_id = td02_request(DURAND, LEA, name_id=MARTIN)
    reason = refused(client.post(request))
    assert "NameID" in reason
    row = last_trace(host)
    assert (row.professional_national_id, row.outcome, row.http_status) == (DURAND, AUTH, 400)
    assert (row.transaction, row.message_id, row.patient_ins) == ("TD0.2", message_id, LEA)


@pytest.mark.parametrize("role", ["ASSUREUR", "EMPLOYEUR", "BANQUE", "AUTOMATE"])
def test_no_role_gives_an_insurer_an_employer_or_a_bank_any_access(
    host: RunningHost, client: TlsClient, role: str
) -> None:
    request, _ = td02_request(DURAND, LEA, role=(role, "1.2.250.1.213.1.1.4.6"))
    reason = refused(client.post(request))
    assert f"Rôle inconnu du DMP dans le jeton VIHF ({role})" in reason
    row = last_trace(host)
    assert (row.professional_national_id, row.outcome, row.http_status) == (DURAND, AUTH, 400)


# --- freshness and replay of the VIHF -------------------------------------------------------


def test_the_same_request_twice_is_a_replay(host: RunningHost, client: TlsClient) -> None:
    request, _ = td02_request(DURAND, LEA)
    assert client.post(request).status == 200
    reason = refused(client.post(request))
    assert "déjà utilisé" in reason
    row = last_trace(host)
    assert (row.outcome, row.result, row.professional_national_id) == (AUTH, "VIHF_REJOUE", DURAND)


def test_an_assertion_reused_in_another_message_is_a_replay(
    host: RunningHost, client: TlsClient
) -> None:
    token = assertion(DURAND, LEA, purpose=None)
    first, _ = envelope(td02_body(LEA), copy.deepcopy(token))
    second, _ = envelope(td02_body(LEA), copy.deepcopy(token))  # new message id, same VIHF
    assert client.post(first).status == 200
    refused(client.post(second))
    assert last_trace(host).result == "VIHF_REJOUE"


@pytest.mark.parametrize(
    ("offset_minutes", "result"),
    [(-6, "VIHF_EXPIRE"), (6, "VIHF_FUTUR"), (-60 * 24 * 30, "VIHF_EXPIRE")],
)
def test_stale_or_future_assertions_are_refused(
    host: RunningHost, client: TlsClient, offset_minutes: int, result: str
) -> None:
    reason = refused(client.post(dated(dt.timedelta(minutes=offset_minutes))))
    assert "horloge" in reason  # says what to do: check the workstation's clock
    row = last_trace(host)
    assert (row.outcome, row.result, row.transaction) == (AUTH, result, "TD0.2")


@pytest.mark.parametrize("offset_minutes", [-4, 4])
def test_a_clock_a_few_minutes_off_is_tolerated(client: TlsClient, offset_minutes: int) -> None:
    assert client.post(dated(dt.timedelta(minutes=offset_minutes))).status == 200


@pytest.mark.parametrize(
    ("issued", "conditions", "result"),
    [
        (-20, {"NotOnOrAfter": 10}, None),  # NotOnOrAfter rules when present
        (-1, {"NotOnOrAfter": -0.5}, "VIHF_EXPIRE"),
        (0, {"NotBefore": 10, "NotOnOrAfter": 20}, "VIHF_FUTUR"),
        (-120, {"NotOnOrAfter": 60}, "VIHF_EXPIRE"),  # never more than an hour
    ],
)
def test_conditions_of_the_assertion(
    host: RunningHost,
    client: TlsClient,
    issued: float,
    conditions: dict[str, float],
    result: str | None,
) -> None:
    request = dated(
        dt.timedelta(minutes=issued),
        conditions={k: dt.timedelta(minutes=v) for k, v in conditions.items()},
    )
    reply = client.post(request)
    if result is None:
        assert reply.status == 200, reply.body[:500]
        return
    refused(reply)
    assert last_trace(host).result == result


@pytest.mark.parametrize(
    ("attribute", "value", "result"),
    [
        ("ID", None, "VIHF_SANS_ID"),
        ("ID", "", "VIHF_SANS_ID"),
        ("IssueInstant", None, "VIHF_HORODATAGE"),
        ("IssueInstant", "hier", None),  # unreadable: the VIHF reader refuses it first
    ],
)
def test_assertion_without_id_or_date(
    host: RunningHost, client: TlsClient, attribute: str, value: str | None, result: str | None
) -> None:
    token = assertion(DURAND, LEA, purpose=None)
    if value is None:
        del token.attrib[attribute]
    else:
        token.set(attribute, value)
    refused(client.post(td02_with(token)))
    row = last_trace(host)
    assert row.outcome == AUTH and row.result == result


# --- a patient the professional has no right to -------------------------------------------------


@pytest.fixture(scope="module")
def martin_tls(host: RunningHost, training_env: TrainingEnv, martin: ClientIdentity) -> TlsClient:
    return tls(host, training_env, martin)


def test_no_authorisation_no_documents(host: RunningHost, martin_tls: TlsClient) -> None:
    """Dr Martin is not authorised on Léa's DMP: neither her list nor a document of hers."""
    answer = find(martin_tls, find_request(MARTIN, LEA))
    assert answer.status == FAILURE and answer.objects == []
    assert answer.error_code and answer.error_code.startswith("DMPAccessDenied")
    row = last_trace(host)
    assert (row.transaction, row.professional_national_id, row.patient_ins) == (
        "TD3.1",
        MARTIN,
        LEA,
    )
    assert row.outcome == answer.error_code and row.document_count == 0

    uid = document_uid(host, LEA, "biologie")
    got = retrieve(martin_tls, retrieve_request(MARTIN, LEA, uid))
    assert got.status == FAILURE and got.documents == {}
    row = last_trace(host)
    assert (row.transaction, row.outcome, row.document_count) == ("TD3.2", got.error_codes[0], 0)


def test_a_document_of_another_patient_under_an_authorised_one(
    host: RunningHost, martin_tls: TlsClient
) -> None:
    """Authorised on Lefebvre's DMP, Dr Martin asks for one of Léa's documents by its id."""
    uid = document_uid(host, LEA, "biologie")
    got = retrieve(martin_tls, retrieve_request(MARTIN, LEFEBVRE, uid))
    assert got.status == FAILURE and got.documents == {}
    row = last_trace(host)
    assert row.transaction == "TD3.2" and row.outcome != "OK" and row.document_count == 0


def test_a_search_about_another_patient_than_the_vihf(
    host: RunningHost, martin_tls: TlsClient
) -> None:
    token = assertion(MARTIN, LEFEBVRE)  # the VIHF names the patient he may see
    request = envelope(find_body(LEA), token, action=ACTION_FIND)[0]
    reply = martin_tls.post(request, content_type=content_type(ACTION_FIND), path=REGISTRY)
    assert reply.status in (200, 400)
    assert b"ExtrinsicObject" not in reply.body
    assert last_trace(host).outcome != "OK"


def test_message_ids_are_not_what_makes_a_replay(client: TlsClient) -> None:
    """Two fresh assertions in two messages sharing a message id: both answered."""
    message_id = f"urn:uuid:{uuid.uuid4()}"
    for _ in range(2):
        token = assertion(DURAND, LEA, purpose=None)
        request, _ = envelope(td02_body(LEA), token, message_id=message_id)
        assert client.post(request).status == 200


# --- the real client never replays ---------------------------------------------------------------


def test_the_client_sends_a_fresh_assertion_with_every_request(
    host: RunningHost,
    training_env: TrainingEnv,
    card_manager: CardManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dr Durand's card, the real DmpClient: each request carries a new ID, issued now."""
    seen: list[AssertionTimes] = []
    check = replay.GUARD.check

    def recording(times: AssertionTimes) -> None:
        seen.append(times)
        check(times)

    monkeypatch.setattr(replay.GUARD, "check", recording)
    card = next(c for c in card_manager.list_cards() if c.token_label == "CPS3-DURAND")
    session = card_manager.login(card, "1234")
    settings = dataclasses.replace(training_env.client_settings(), host_url=host.url)
    try:
        with open_dmp(settings, session) as client:
            for _ in range(3):
                client.test_existence(Ins(LEA, InsKind.TEST_NIR))
            client.find_documents(default_query(Ins(LEA, InsKind.TEST_NIR), dt.date.today()))
    finally:
        session.close()
    assert len(seen) == 4
    assert len({t.assertion_id for t in seen}) == 4
    now = dt.datetime.now(dt.UTC)
    assert all(abs(now - t.issue_instant) < dt.timedelta(minutes=1) for t in seen)
