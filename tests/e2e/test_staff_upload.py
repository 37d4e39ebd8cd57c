"""A secretary's card uploads for a professional of the practice, end to end.

The real SoftHSM secretary card (CPE-BERNARD) logs in, the real client talks to
the training host over mutual TLS: the document's author is the professional
chosen "pour le compte de", the submission set and the VIHF name the secretary,
and the submission is signed by the professional she feeds for (Dr Durand's
card): the host refuses one signed with the secretary's own card (issue 13).
The secretary can neither list nor read; a professional without the patient's
authorisation cannot be the author.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_desktop.alimentation import Outbox, UploadRequest
from dmp_desktop.connect import open_dmp
from dmp_desktop.dmp.feed_errors import OnBehalfRefusedError, UploadInvalidError
from dmp_desktop.domain.document import DocumentQuery
from dmp_desktop.domain.summary import Gender
from dmp_desktop.errors import DmpServiceError, describe
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard import CardManager
from dmp_desktop.smartcard.card import CardSession
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.host.test_alimentation_wire import submission_of
from tests.unit.test_alimentation_support import PDF, identity, request

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")  # Durand authorised
DURAND = "899700433153"
MARTIN = "899700433160"
STAFF = "3499700433153007/SEC0001"
STRUCTURE = "499700433153007"


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture
def settings(training_env: TrainingEnv, host: RunningHost, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        training_env.client_settings(), host_url=host.url, data_dir=str(tmp_path / "data")
    )


def _login(manager: CardManager, label: str, pin: str) -> CardSession:
    card = next(c for c in manager.list_cards() if c.token_label == label)
    return manager.login(card, pin)


@dataclasses.dataclass
class _SignedBy:
    """The secretary's session whose XAdES signature is made by another card (the doctor's)."""

    session: CardSession
    doctor: CardSession

    @property
    def practitioner(self) -> object:
        return self.session.practitioner

    @property
    def sign_certificate(self) -> object:
        return self.doctor.sign_certificate

    def sign_with_signature_key(self, data: bytes) -> bytes:
        return self.doctor.sign_with_signature_key(data)


def _lea_request(settings: Settings, author_id: str, title: str) -> UploadRequest:
    professional = settings.professional(author_id)
    assert professional is not None
    return request(
        patient=LEA.ins,
        identity=identity(
            LEA.ins,
            birth_family_name=LEA.family_name.upper(),
            birth_given_names=[LEA.given_name.upper()],
            birth_date=LEA.birth_date,
            gender=Gender(LEA.gender),
            birthplace_code="85756",  # Léa's birthplace, as the training INSi knows it
        ),
        source=PDF,
        title=title,
        on_behalf_of=professional,
    )


def test_secretary_uploads_for_durand_who_finds_it_as_hers(
    card_manager: CardManager, host: RunningHost, settings: Settings
) -> None:
    req = _lea_request(settings, DURAND, "Courrier pour le compte du Dr Durand")
    outbox = Outbox.open(settings)
    before = host.store.last_trace_id()
    session = _login(card_manager, "CPE-BERNARD", "1111")
    signer = _login(card_manager, "CPS3-DURAND", "1234")
    try:
        assert session.practitioner.is_staff
        with open_dmp(settings, session) as client:
            item = outbox.add(req)
            # Signed with her own card: refused, kept in the outbox.
            with pytest.raises(DmpServiceError) as own:
                outbox.send(item, client, session)
            assert own.value.code == "DMPDocumentSignatureError"
            assert [i.id for i in outbox.items()] == [item.id]
            # Signed by the professional she feeds for (his card in a second reader): accepted.
            entry = outbox.send(item, client, _SignedBy(session, signer))
            # The secretary never lists nor reads the DMP: the host refuses.
            with pytest.raises(DmpServiceError) as listing:
                client.find_documents(DocumentQuery(patient=LEA.ins))
            assert describe(listing.value)
    finally:
        session.close()
        signer.close()
    assert entry.unique_id == item.unique_id
    assert [a.national_id for a in entry.authors] == [DURAND]
    assert outbox.items() == []
    # The submission set is the secretary's, the signature Dr Durand's; the trace names her.
    submission = submission_of(host, item.unique_id)
    assert submission.submitter_national_id == STAFF
    assert [a["national_id"] for a in submission.authors] == [STAFF]
    assert submission.signer_national_id == DURAND
    uploads = [t for t in host.store.traces(after_id=before) if t.transaction == "TD2.1"]
    assert [(t.professional_national_id, t.outcome, t.result) for t in uploads] == [
        (STAFF, "DMPDocumentSignatureError", "SIGNATURE_SIGNATAIRE_AUTRE"),
        (STAFF, "OK", "Success"),
    ]

    durand = _login(card_manager, "CPS3-DURAND", "1234")
    try:
        with open_dmp(settings, durand) as client:
            found = client.find_by_unique_id(LEA.ins, item.unique_id)
            assert found is not None
            retrieved = client.retrieve_document(found)
    finally:
        durand.close()
    assert [(a.national_id, a.family_name.upper()) for a in found.authors] == [(DURAND, "DURAND")]
    assert found.authors[0].institution_id == STRUCTURE
    assert b"899700433153" in retrieved.content  # the CDA's author is Dr Durand
    assert STAFF.encode() not in retrieved.content


def test_secretary_cannot_upload_for_a_professional_without_authorisation(
    card_manager: CardManager, host: RunningHost, settings: Settings
) -> None:
    req = _lea_request(settings, MARTIN, "Courrier pour le compte du Dr Martin")
    outbox = Outbox.open(settings)
    session = _login(card_manager, "CPE-BERNARD", "1111")
    try:
        with open_dmp(settings, session) as client:
            item = outbox.add(req)
            with pytest.raises(OnBehalfRefusedError) as refused:
                outbox.send(item, client, session)
    finally:
        session.close()
    message = describe(refused.value)
    assert refused.value.code == "DMPAccessDenied"
    assert "Dr Paul MARTIN n'est pas autorisé par le patient" in message
    assert "boîte d'envoi" in message
    assert [i.id for i in outbox.items()] == [item.id]  # kept, not lost


def test_secretary_without_on_behalf_of_is_stopped_before_sending(
    card_manager: CardManager, host: RunningHost, settings: Settings
) -> None:
    req = dataclasses.replace(
        _lea_request(settings, DURAND, "Courrier sans auteur"), on_behalf_of=None
    )
    outbox = Outbox.open(settings)
    before = host.store.last_trace_id()
    session = _login(card_manager, "CPE-BERNARD", "1111")
    try:
        with open_dmp(settings, session) as client:
            item = outbox.add(req)
            with pytest.raises(UploadInvalidError) as invalid:
                outbox.send(item, client, session)
    finally:
        session.close()
    assert invalid.value.problems == ("on_behalf_of_missing",)
    assert "Pour le compte de" in describe(invalid.value)
    assert host.store.traces(after_id=before) == []
