"""The client's DmpClient (over httpx, file key) against the training host."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Authorization, DmpState, Practitioner
from dmp_desktop.errors import DmpServiceError, describe
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN, STAFF
from tests.host.wire import ClientIdentity, client_context

DR_DURAND = Practitioner(
    DURAND, "DURAND", "MARIE", "Médecin", profession_code="10", structure_id="499700433153007"
)


def _client(
    host: RunningHost, env: TrainingEnv, identity: ClientIdentity, who: Practitioner
) -> DmpClient:
    settings = dataclasses.replace(env.client_settings(), host_url=host.url)
    http = httpx.Client(verify=client_context(env.pki.trust_roots, identity), timeout=30)
    return DmpClient(http, settings, who)


def test_dmp_client_reads_every_demo_patient(
    host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    with _client(host, training_env, durand, DR_DURAND) as dmp:
        for patient in demo_patients():
            status = dmp.test_existence(patient.ins)
            expected = patient.expected_for_durand
            if expected == "NF":
                assert status.state is DmpState.NONE
                continue
            assert status.authorization is Authorization(expected)
            assert status.minor is patient.is_minor
            assert status.patient_family_name == patient.family_name.upper()
            assert status.patient_birth_date == patient.birth_date


def test_dmp_client_for_a_staff_card(
    host: RunningHost, training_env: TrainingEnv, staff: ClientIdentity
) -> None:
    secretary = Practitioner(STAFF, "BERNARD", "SOPHIE", "Secrétaire médicale")
    with _client(host, training_env, staff, secretary) as dmp:
        status = dmp.test_existence(demo_patients()[0].ins)
    assert status.state is DmpState.ACTIVE
    assert status.authorization is Authorization.NON_EXISTE


def test_vihf_for_someone_else_is_an_authentication_error(
    host: RunningHost, training_env: TrainingEnv, durand: ClientIdentity
) -> None:
    impostor = dataclasses.replace(DR_DURAND, national_id=MARTIN)
    with (
        _client(host, training_env, durand, impostor) as dmp,
        pytest.raises(DmpServiceError) as info,
    ):
        dmp.test_existence(demo_patients()[0].ins)
    assert info.value.code == "DMPAuthenticationError"
    assert "authentification" in describe(info.value)
