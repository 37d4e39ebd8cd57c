"""The training host's rules for TD1.3 and TD1.5: only authorised health professionals,
a closed record refuses updates, a minor gets no online access of their own, one
channel at least, refusals in French, every request traced."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from dmp_desktop.dmp import td13, td15
from dmp_desktop.domain.admin_data import AdministrativeData, PostalAddress
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import DmpServiceError
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.test_consultation_wire import SECRETARY, assertion, content_type, tls
from tests.host.wire import ClientIdentity, TlsClient, envelope, make_identity
from tests.unit.test_dmp_support import doctor

PATIENTS = {p.key: p.ins for p in demo_patients()}
SPECIFIC = "/si-dmp-server/v2/services/patientsSpecific"


@pytest.fixture
def host(training_env: TrainingEnv, host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db_url, seed=True) as running:
        yield running


@pytest.fixture
def clients(
    host: RunningHost,
    training_env: TrainingEnv,
    durand: ClientIdentity,
    staff: ClientIdentity,
    tmp_path: Path,
) -> dict[str, TlsClient]:
    martin = make_identity(training_env.pki, tmp_path, MARTIN, family="MARTIN", given="PAUL")
    return {
        "durand": tls(host, training_env, durand),
        "martin": tls(host, training_env, martin),
        "staff": tls(host, training_env, staff),
    }


def _vihf(who: str, ins: Ins) -> etree._Element:
    if who == "staff":
        return assertion(staff_id(), ins.value, role=SECRETARY)
    return assertion(DURAND if who == "durand" else MARTIN, ins.value)


def staff_id() -> str:
    from tests.host.conftest import STAFF

    return STAFF


def read(clients: dict[str, TlsClient], who: str, ins: Ins) -> AdministrativeData:
    body = td13.build_read_request(ins, sender_oid="1.2.3", sender_name="LPS")
    data, _ = envelope(body, _vihf(who, ins), action=td13.ACTION_READ)
    reply = clients[who].post(data, content_type=content_type(td13.ACTION_READ))
    assert reply.status == 200, reply.body[:600]
    return td13.parse_read_response(reply.body_element(), requested=ins)


def update(clients: dict[str, TlsClient], who: str, data: AdministrativeData) -> None:
    body = td13.build_update_request(data, doctor(), sender_oid="1.2.3", sender_name="LPS")
    env, _ = envelope(body, _vihf(who, data.ins), action=td13.ACTION_UPDATE)
    reply = clients[who].post(env, content_type=content_type(td13.ACTION_UPDATE))
    assert reply.status == 200, reply.body[:600]
    td13.parse_update_response(reply.body_element())


def online(
    clients: dict[str, TlsClient], who: str, ins: Ins, body: etree._Element, action: str
) -> etree._Element:
    env, _ = envelope(body, _vihf(who, ins), action=action)
    reply = clients[who].post(env, content_type=content_type(action), path=SPECIFIC)
    assert reply.status == 200, reply.body[:600]
    return reply.body_element()


def refused(call, *args) -> DmpServiceError:  # type: ignore[no-untyped-def]
    with pytest.raises(DmpServiceError) as caught:
        call(*args)
    return caught.value


def test_rules(host: RunningHost, clients: dict[str, TlsClient]) -> None:
    first = host.store.last_trace_id()
    lea, julien, girard = (
        PATIENTS["actif-autorise"],
        PATIENTS["actif-sans-autorisation"],
        (PATIENTS["bloque"]),
    )
    # Only authorised health professionals read the administrative data.
    assert read(clients, "durand", lea).family_name == "MOREAU"
    assert refused(read, clients, "martin", lea).code == "DMPAccessDenied"
    error = refused(read, clients, "staff", lea)
    assert error.code == "DMPAccessDenied" and "secrétariat" in error.detail
    assert refused(read, clients, "durand", girard).code == "DMPAccessDeniedByExcludedPs"
    assert refused(read, clients, "durand", PATIENTS["sans-dmp"]).code == "DMPNotFound"
    assert read(clients, "martin", julien).family_name == "LEFEBVRE"

    # Update: authorised only; a closed record refuses and says so.
    data = dataclasses.replace(
        read(clients, "durand", lea),
        mobile="06 11 22 33 44",
        address=PostalAddress(("3 place du Marché",), "69001", "Lyon"),
        opposition_centre_15=True,
    )
    update(clients, "durand", data)
    stored = read(clients, "durand", lea)
    assert stored.mobile == "0611223344" and stored.address.city == "Lyon"
    assert stored.opposition_centre_15 and not stored.opposition_bris_de_glace
    assert refused(update, clients, "martin", data).code == "DMPAccessDenied"
    closed = read(clients, "durand", PATIENTS["ferme"])
    assert closed.closed
    error = refused(update, clients, "durand", dataclasses.replace(closed, mobile="0611223344"))
    assert error.code == "DMPClosed" and "fermé" in error.detail

    # Online access: not for a minor; contact of the legal representative instead.
    emma = PATIENTS["mineur"]
    answer = online(
        clients, "durand", emma, td15.build_create_request("SMS", "0611223344"), td15.ACTION_CREATE
    )
    error = refused(td15.parse_create_response, answer)
    assert error.code == "DMPMinorPatient" and "mineur" in error.detail
    minor = read(clients, "durand", emma)
    assert minor.mobile is None and minor.email is None
    update(clients, "durand", dataclasses.replace(minor, email="parent@exemple.fr"))
    with host.store.session() as session:
        row = host.store.find_patient(session, emma.value, emma.oid)
        assert row is not None
        assert (row.email, row.legal_representative_email) == (None, "parent@exemple.fr")
        assert row.online_login is None

    # Channels need the account; the last channel cannot be removed; refusals typed.
    add = td15.build_otp_request("EMAIL", "lea@exemple.fr")
    assert refused(
        td15.parse_otp_response, online(clients, "durand", lea, add, td15.ACTION_OTP)
    ).code == ("DMPPatientAccessNotFound")
    answer = online(
        clients, "martin", lea, td15.build_create_request("SMS", "0611223344"), td15.ACTION_CREATE
    )
    assert refused(td15.parse_create_response, answer).code == "DMPAccessDenied"
    create = td15.build_create_request("SMS", "0611223344")
    created = td15.parse_create_response(online(clients, "durand", lea, create, td15.ACTION_CREATE))
    assert created.login
    again = online(clients, "durand", lea, create, td15.ACTION_CREATE)
    assert refused(td15.parse_create_response, again).code == "DMPPatientAccessExists"
    remove = td15.build_otp_request("SMS", "0611223344", td15.OTP_REMOVE)
    answer = online(clients, "durand", lea, remove, td15.ACTION_OTP)
    assert refused(td15.parse_otp_response, answer).code == "DMPOtpChannelRequired"
    td15.parse_otp_response(online(clients, "durand", lea, add, td15.ACTION_OTP))
    td15.parse_otp_response(online(clients, "durand", lea, remove, td15.ACTION_OTP))
    with host.store.session() as session:
        row = host.store.find_patient(session, lea.value, lea.oid)
        assert row is not None and (row.otp_sms, row.otp_email) == (None, "lea@exemple.fr")

    # A bad channel is a French fault, not a stored value.
    bad = etree.fromstring(
        "<createPatientAccess xmlns='urn:si-dmp-patients'><type>SMS</type>"
        "<canal>0123456789</canal></createPatientAccess>"
    )
    env, _ = envelope(bad, _vihf("durand", julien), action=td15.ACTION_CREATE)
    reply = clients["durand"].post(
        env, content_type=content_type(td15.ACTION_CREATE), path=SPECIFIC
    )
    assert reply.status >= 400 and "mobile" in (reply.fault_reason or "")

    # Every request is traced, refusals with their code.
    traces = host.store.traces(after_id=first)
    outcomes = [(t.transaction, t.outcome) for t in traces]
    assert ("TD1.3a", "DMPAccessDenied") in outcomes
    assert ("TD1.3b", "DMPClosed") in outcomes
    assert ("TD1.5a", "DMPMinorPatient") in outcomes
    assert ("TD1.5b", "DMPOtpChannelRequired") in outcomes
    assert ("TD1.5a", "DMPInvalidRequest") in outcomes
    assert sum(1 for t in traces if t.transaction == "TD1.5b" and t.outcome == "OK") == 2
    kinds = [m.kind for m, _, _ in host.store.outbox(ins_value=lea.value)]
    assert kinds.count("CANAL_OTP_AJOUTE") == 1 and kinds.count("CANAL_OTP_SUPPRIME") == 1
