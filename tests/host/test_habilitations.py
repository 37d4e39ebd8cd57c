"""TD0.3 (setAuthorization) against the training host, over mutual TLS, and its effect on access."""

from __future__ import annotations

import pytest

from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.store import AuthorizationStatus
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN, STAFF
from tests.host.test_consultation_wire import (
    SECRETARY,
    SUCCESS,
    TlsClient,
    consult_host,
    content_type,
    find,
    find_request,
    martin,
    set_authorization,
    set_authorization_request,
    tls,
)
from tests.host.wire import ClientIdentity, make_identity

__all__ = ["consult_host", "martin"]  # fixtures

P = {p.key: p.ins.value for p in demo_patients()}
LEA, LEFEBVRE, GIRARD, FAURE = (
    P["actif-autorise"],
    P["actif-sans-autorisation"],
    P["bloque"],
    P["autorisation-expiree"],
)
BLANC, ROUSSEL, EMMA = P["ferme"], P["sans-dmp"], P["mineur"]


@pytest.fixture(scope="module")
def durand_tls(
    consult_host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> TlsClient:
    return tls(consult_host, training_env, durand)


@pytest.fixture(scope="module")
def martin_tls(
    consult_host: RunningHost, training_env: TrainingEnv, martin: ClientIdentity
) -> TlsClient:
    return tls(consult_host, training_env, martin)


def authorization(host: RunningHost, ins: str, national_id: str) -> tuple[str, bool] | None:
    with host.store.session() as session:
        patient = host.store.find_patient(session, ins, "1.2.250.1.213.1.4.10")
        assert patient is not None
        auth = host.store.find_authorization(session, patient, national_id)
        if auth is None:
            return None
        return auth.effective_status().value, auth.treating_physician


def test_add_then_remove_an_authorisation(consult_host: RunningHost, martin_tls: TlsClient) -> None:
    # Dr Martin is not authorised on Moreau Léa: refused, then authorised, then allowed.
    assert find(martin_tls, find_request(MARTIN, LEA)).error_code == "DMPAccessDenied"
    status, context = set_authorization(martin_tls, set_authorization_request(MARTIN, LEA))
    assert (status, context) == ("DMPOk", "Autorisation ajoutée")
    assert authorization(consult_host, LEA, MARTIN) == ("VALIDE", False)
    trace = consult_host.store.traces()[-1]
    assert (trace.transaction, trace.outcome, trace.result) == ("TD0.3", "OK", "AJOUT")
    assert (trace.service, trace.patient_ins) == ("habilitations", LEA)
    # As in the official answer when nothing changes.
    assert set_authorization(martin_tls, set_authorization_request(MARTIN, LEA)) == (
        "DMPOk",
        "Autorisation déjà présente aucune action effectuée",
    )
    answer = find(martin_tls, find_request(MARTIN, LEA))
    assert answer.status == SUCCESS
    titles = answer.titles()
    # Not médecin traitant: another author's masked document stays hidden, his own is shown.
    assert "Compte rendu de consultation de psychiatrie" not in titles
    assert "Compte rendu de consultation (remplacement)" in titles
    status, context = set_authorization(
        martin_tls, set_authorization_request(MARTIN, LEA, "SUPPRESSION")
    )
    assert (status, context) == ("DMPOk", "Autorisation supprimée")
    assert authorization(consult_host, LEA, MARTIN) is None
    assert find(martin_tls, find_request(MARTIN, LEA)).error_code == "DMPAccessDenied"
    assert set_authorization(martin_tls, set_authorization_request(MARTIN, LEA, "SUPPRESSION")) == (
        "DMPOk",
        "Aucune autorisation à supprimer aucune action effectuée",
    )


def test_declare_and_withdraw_the_treating_physician(
    consult_host: RunningHost, martin_tls: TlsClient
) -> None:
    status, context = set_authorization(
        martin_tls, set_authorization_request(MARTIN, EMMA, role="MEDECIN_TRAITANT")
    )
    assert status == "DMPOk" and "médecin traitant" in context
    assert authorization(consult_host, EMMA, MARTIN) == ("VALIDE", True)
    assert consult_host.store.traces()[-1].result == "AJOUT/MEDECIN_TRAITANT"
    status, context = set_authorization(
        martin_tls,
        set_authorization_request(MARTIN, EMMA, "SUPPRESSION", role="MEDECIN_TRAITANT"),
    )
    assert status == "DMPOk" and "conservée" in context
    assert authorization(consult_host, EMMA, MARTIN) == ("VALIDE", False)
    # Declaring on an existing authorisation only adds the role.
    status, context = set_authorization(
        martin_tls, set_authorization_request(MARTIN, EMMA, role="MEDECIN_TRAITANT")
    )
    assert status == "DMPOk" and context == "Vous êtes déclaré médecin traitant DMP de ce patient"
    assert authorization(consult_host, EMMA, MARTIN) == ("VALIDE", True)
    set_authorization(martin_tls, set_authorization_request(MARTIN, EMMA, "SUPPRESSION"))
    assert authorization(consult_host, EMMA, MARTIN) is None


def test_an_expired_authorisation_is_renewed(
    consult_host: RunningHost, durand_tls: TlsClient
) -> None:
    assert authorization(consult_host, FAURE, DURAND) == ("EXPIRE", False)
    assert find(durand_tls, find_request(DURAND, FAURE)).error_code == "DMPAccessDenied"
    status, context = set_authorization(durand_tls, set_authorization_request(DURAND, FAURE))
    assert (status, context) == ("DMPOk", "Autorisation renouvelée")
    assert authorization(consult_host, FAURE, DURAND) == ("VALIDE", False)
    assert find(durand_tls, find_request(DURAND, FAURE)).status == SUCCESS


@pytest.mark.parametrize(
    ("ins", "action", "role", "code"),
    [
        (GIRARD, "AJOUT", None, "DMPAccessDeniedByExcludedPs"),
        (GIRARD, "AJOUT", "MEDECIN_TRAITANT", "DMPAccessDeniedByExcludedPs"),
        (GIRARD, "SUPPRESSION", None, "DMPAccessDeniedByExcludedPs"),
        (BLANC, "AJOUT", None, "DMPClosed"),
        (ROUSSEL, "AJOUT", None, "DMPNotFound"),
    ],
)
def test_refusals(
    consult_host: RunningHost,
    durand_tls: TlsClient,
    ins: str,
    action: str,
    role: str | None,
    code: str,
) -> None:
    before = authorization(consult_host, ins, DURAND) if ins != ROUSSEL else None
    status, context = set_authorization(
        durand_tls, set_authorization_request(DURAND, ins, action, role=role)
    )
    assert status == code and context
    if ins == GIRARD:
        assert "vous-même" in context
        assert authorization(consult_host, ins, DURAND) == (AuthorizationStatus.INTERDIT, False)
    elif ins != ROUSSEL:
        assert authorization(consult_host, ins, DURAND) == before
    trace = consult_host.store.traces()[-1]
    assert (trace.transaction, trace.outcome, trace.http_status) == ("TD0.3", code, 200)


def test_staff_cannot_be_authorised(
    consult_host: RunningHost, training_env: TrainingEnv, staff: ClientIdentity
) -> None:
    staff_tls = tls(consult_host, training_env, staff)
    status, context = set_authorization(
        staff_tls, set_authorization_request(STAFF, LEA, card_role=SECRETARY)
    )
    assert status == "DMPAccessDenied" and "personnel de structure" in context
    assert authorization(consult_host, LEA, STAFF) is None


def test_only_a_doctor_is_declared_treating_physician(
    consult_host: RunningHost, training_env: TrainingEnv, identity_dir: object
) -> None:
    nurse = make_identity(
        training_env.pki,
        identity_dir,  # type: ignore[arg-type]
        "899700433290",
        family="FAVRE",
        given="LUCIE",
        title="Infirmier",
    )
    nurse_tls = tls(consult_host, training_env, nurse)
    status, _ = set_authorization(
        nurse_tls,
        set_authorization_request(
            "899700433290",
            LEFEBVRE,
            role="MEDECIN_TRAITANT",
            card_role=("60", "1.2.250.1.71.1.2.7"),
        ),
    )
    assert status == "DMPAccessDenied"
    status, _ = set_authorization(
        nurse_tls,
        set_authorization_request("899700433290", LEFEBVRE, card_role=("60", "1.2.250.1.71.1.2.7")),
    )
    assert status == "DMPOk"
    assert authorization(consult_host, LEFEBVRE, "899700433290") == ("VALIDE", False)


@pytest.mark.parametrize(
    ("action", "role", "ins"),
    [
        (None, None, LEA),
        ("MODIFICATION", None, LEA),
        ("AJOUT", "INFIRMIER", LEA),
        ("AJOUT", None, None),
    ],
)
def test_malformed_requests_are_faults(
    durand_tls: TlsClient, action: str | None, role: str | None, ins: str | None
) -> None:
    reply = durand_tls.post(
        set_authorization_request(DURAND, ins, action, role=role),
        content_type=content_type(
            "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization"
        ),
        path="/si-dmp-server/v2/services/habilitations",
    )
    assert (reply.status, reply.fault_code) == (400, "DMPInvalidRequest")
