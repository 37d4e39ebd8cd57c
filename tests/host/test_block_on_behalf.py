"""The médecin traitant blocks a professional on the patient's behalf (training extension).

The real DmpClient over mutual TLS against the training host: Dr Durand, Moreau
Léa's médecin traitant DMP, blocks Dr Martin, who is then refused (TD0.2 says
INTERDIT, the documents are refused, his own TD0.3 cannot lift it); Dr Martin
cannot block anyone on Léa's record; nobody can block the médecin traitant;
the actions are in the patient's history and outbox; unblocking lifts it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from dmp_desktop.dmp import td16_block
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Authorization, DmpState, Practitioner
from dmp_desktop.domain.document import DocumentQuery
from dmp_desktop.errors import DmpServiceError, describe
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.patient_cli import history
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.wire import ClientIdentity, client_context, make_identity

P = {p.key: p for p in demo_patients()}
LEA = P["actif-autorise"].ins
BLANC = P["ferme"].ins
STRUCTURE = "499700433153007"
DR_DURAND = Practitioner(DURAND, "DURAND", "MARIE", "Médecin", profession_code="10")
DR_MARTIN = Practitioner(MARTIN, "MARTIN", "PAUL", "Médecin", profession_code="10")


@pytest.fixture
def block_host(training_env: TrainingEnv, host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db_url, seed=True) as running:
        yield running


def _client(
    host: RunningHost, env: TrainingEnv, identity: ClientIdentity, who: Practitioner
) -> DmpClient:
    settings = dataclasses.replace(env.client_settings(), host_url=host.url)
    http = httpx.Client(verify=client_context(env.pki.trust_roots, identity), timeout=30)
    return DmpClient(http, settings, dataclasses.replace(who, structure_id=STRUCTURE))


def test_request_shape() -> None:
    body = td16_block.build_request(" 899700433160 ", block=True)
    assert etree.QName(body).namespace == "urn:dmp-formation:habilitations"
    assert etree.QName(body).localname == "blockProfessional"
    assert [(etree.QName(c).localname, c.text) for c in body] == [("nationalId", MARTIN)]
    with pytest.raises(ValueError):
        td16_block.build_request("  ", block=False)


def test_treating_physician_blocks_and_unblocks_a_professional(
    block_host: RunningHost,
    training_env: TrainingEnv,
    durand: ClientIdentity,
    identity_dir: Path,
) -> None:
    martin_identity = make_identity(
        training_env.pki, identity_dir, MARTIN, family="MARTIN", given="PAUL"
    )
    with (
        _client(block_host, training_env, durand, DR_DURAND) as durand_dmp,
        _client(block_host, training_env, martin_identity, DR_MARTIN) as martin_dmp,
    ):
        # Dr Martin gets Léa's consent and reads her record.
        martin_dmp.set_authorization(LEA)
        assert martin_dmp.test_existence(LEA).authorization is Authorization.VALIDE
        martin_dmp.find_documents(DocumentQuery(patient=LEA))

        # Not her médecin traitant: he cannot block anyone on her behalf.
        with pytest.raises(DmpServiceError) as info:
            martin_dmp.set_professional_blocked(LEA, DURAND, blocked=True)
        assert info.value.code == "DMPAccessDenied"
        assert "médecin traitant" in info.value.detail

        # Dr Durand, her médecin traitant, blocks him at her request.
        context = durand_dmp.set_professional_blocked(LEA, MARTIN, blocked=True)
        assert "MARTIN" in context and "bloqué" in context
        again = durand_dmp.set_professional_blocked(LEA, MARTIN, blocked=True)
        assert "déjà bloqué" in again

        # Dr Martin is refused from now on, and cannot lift the block himself.
        assert martin_dmp.test_existence(LEA).authorization is Authorization.INTERDIT
        with pytest.raises(DmpServiceError) as info:
            martin_dmp.find_documents(DocumentQuery(patient=LEA))
        assert info.value.code == "DMPAccessDeniedByExcludedPs"
        with pytest.raises(DmpServiceError) as info:
            martin_dmp.set_authorization(LEA)
        assert info.value.code == "DMPAccessDeniedByExcludedPs"

        # The list shows him blocked, and Dr Durand as médecin traitant.
        listed = {a.national_id: a for a in durand_dmp.list_authorizations(LEA)}
        assert listed[MARTIN].status == "INTERDIT"
        assert listed[DURAND].treating_physician and listed[DURAND].status == "VALIDE"

        # The médecin traitant can never be blocked (not even by herself).
        with pytest.raises(DmpServiceError) as info:
            durand_dmp.set_professional_blocked(LEA, DURAND, blocked=True)
        assert info.value.code == td16_block.TREATING_PHYSICIAN_PROTECTED
        assert "médecin traitant" in describe(info.value)
        assert durand_dmp.test_existence(LEA).authorization is Authorization.VALIDE

        # A closed record: nothing changes.
        with pytest.raises(DmpServiceError) as info:
            durand_dmp.set_professional_blocked(BLANC, MARTIN, blocked=True)
        assert info.value.code == "DMPClosed"

        # Unblocked: Dr Martin may ask for her consent again.
        assert "débloqué" in durand_dmp.set_professional_blocked(LEA, MARTIN, blocked=False)
        status = martin_dmp.test_existence(LEA)
        assert status.state is DmpState.ACTIVE
        assert status.authorization is Authorization.NON_EXISTE

    lines = history(block_host.store, LEA)
    blocked = [line for line in lines if "a bloqué un professionnel à votre demande" in line]
    assert len(blocked) == 4  # Dr Martin refused, Dr Durand twice, Dr Durand on herself refused
    assert any("DURAND" in line and "refusé" not in line for line in blocked)
    assert any("MARTIN" in line and "refusé" in line for line in blocked)
    assert any("a débloqué un professionnel à votre demande" in line for line in lines)
    texts = [m.text for m, _, _ in block_host.store.outbox(ins_value=LEA.value)]
    assert any("a bloqué l'accès de Dr Paul MARTIN" in t for t in texts)
    assert any("a levé le blocage de Dr Paul MARTIN" in t for t in texts)
