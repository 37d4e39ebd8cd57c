"""The parapheur's states: a secretary prepares (TO_SIGN, « à signer par Dr X »), only Dr X's
card signs (PENDING, signed), then the secretary's session — or his — sends the very CDA he
signed, with his signature, once.

The DMP here is the in-memory :class:`FakeDmp` (it verifies the XAdES signature and keeps
its certificate); the store is the real encrypted SecureStore. The real cards and the
training host, which checks that the signer is the professional the secretary feeds for,
are in tests/e2e/test_parapheur.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dmp_desktop.alimentation import NotAuthorError, Outbox, OutboxState
from dmp_desktop.dmp.feed_errors import NotSignerError, SignatureAwaitedError
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import CardRemovedError, describe
from dmp_desktop.storage.secure import SecureStore
from dmp_desktop.usecases import upload
from dmp_desktop.usecases.errors import NotYourUploadError
from tests.unit.test_alimentation_support import PDF, FakeDmp, SoftSigner, request
from tests.unit.test_dmp_support import doctor, secretary, settings

KEY = os.urandom(32)
DURAND = doctor(national_id="899700433153", family_name="DURAND", given_name="Marie")
MARTIN = doctor(national_id="899700433160", family_name="MARTIN", given_name="Paul")
SECRETARY = secretary()


def desk(tmp_path: Path) -> upload.UploadDesk:
    return upload.UploadDesk(
        settings(),
        open_outbox=lambda _s: Outbox(SecureStore(tmp_path / "outbox", KEY)),
        open_state=lambda _s: SecureStore(tmp_path / "state", KEY),
    )


def prepared(uploads: upload.UploadDesk, note: bytes = b"", for_whom: Practitioner = DURAND):
    return uploads.queue(request(source=PDF + note, on_behalf_of=for_whom), SECRETARY)


def test_a_secretarys_upload_waits_for_the_professionals_signature(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    item = prepared(uploads)
    assert item.state is OutboxState.TO_SIGN and item.awaiting_signature
    assert (item.author_id, item.signer_id) == (SECRETARY.national_id, DURAND.national_id)
    assert item.prepared_by == "Anne DUPONT"
    assert upload.PendingState.of(item) is upload.PendingState.TO_SIGN
    assert upload.pending_fr(item) == "à signer par Dr Marie DURAND"
    # The secretary sees it waiting; Dr Durand is told; nobody else.
    assert [i.id for i in uploads.pending(SECRETARY)] == [item.id]
    assert [i.id for i in uploads.to_sign(DURAND)] == [item.id]
    assert uploads.to_sign(MARTIN) == [] and uploads.to_sign(SECRETARY) == []
    assert uploads.pending(DURAND) == []
    assert upload.to_sign_fr(1) == "1 envoi préparé par le secrétariat attend votre signature"
    assert upload.to_sign_fr(3) == "3 envois préparés par le secrétariat attendent votre signature"
    # A second click on the same file gives the same item, not a second upload.
    assert prepared(uploads).id == item.id
    # The state survives a restart (another process, same disk).
    (again,) = desk(tmp_path).pending(SECRETARY)
    assert again.state is OutboxState.TO_SIGN and again.signer_id == DURAND.national_id


def test_nothing_leaves_before_the_signature(tmp_path: Path) -> None:
    uploads, fake = desk(tmp_path), FakeDmp()
    item = prepared(uploads)
    card = SoftSigner(SECRETARY)
    with fake.client(SECRETARY) as client:
        with pytest.raises(SignatureAwaitedError) as awaited:
            uploads.send(item, client, card)
        assert uploads.resume(client, card) == []  # skipped, untouched
        with pytest.raises(SignatureAwaitedError):
            uploads.outbox().send(item, client, card)
    assert "attend la signature de Dr Marie DURAND" in describe(awaited.value)
    assert fake.requests == [] and card.signed == 0
    assert uploads.outbox().get(item.id).state is OutboxState.TO_SIGN  # type: ignore[union-attr]


def test_only_the_professional_it_is_filed_for_signs_it(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    item = prepared(uploads)
    for other in (SoftSigner(MARTIN), SoftSigner(SECRETARY)):
        ((_, refused),) = uploads.sign(other, [item.id])
        assert isinstance(refused, NotSignerError)
        assert "Seul Dr Marie DURAND peut signer" in describe(refused)
        assert other.signed == 0
        assert uploads.sign(other) == []  # nothing waits for them
    assert uploads.outbox().get(item.id).awaiting_signature  # type: ignore[union-attr]
    # Martin cannot send it either, signed or not; the secretary cannot discard another's.
    with pytest.raises(NotYourUploadError):
        uploads.discard(item.id, MARTIN)


def test_signed_in_one_go_then_sent_by_the_secretary_with_his_signature(tmp_path: Path) -> None:
    uploads, fake = desk(tmp_path), FakeDmp()
    first, second = prepared(uploads), prepared(uploads, b"% second\n")
    for_martin = prepared(uploads, b"% martin\n", MARTIN)
    durand = SoftSigner(DURAND)
    results = uploads.sign(durand)
    assert [(i.id, type(r).__name__) for i, r in results] == [
        (first.id, "OutboxItem"),
        (second.id, "OutboxItem"),
    ]
    assert durand.signed == 2  # one signature per prepared submission, one card session
    signed = {i.id: i for i in uploads.pending(SECRETARY)}
    assert signed[first.id].state is OutboxState.PENDING and signed[first.id].signed_at
    assert upload.pending_fr(signed[first.id]) == (
        "signé par Dr Marie DURAND, en attente d'envoi"
    )
    assert upload.pending_fr(signed[for_martin.id]) == "à signer par Dr Paul MARTIN"
    assert uploads.to_sign(DURAND) == []
    assert uploads.sign(durand, [first.id])[0][1].id == first.id  # type: ignore[union-attr]
    assert durand.signed == 2  # already signed: not again

    # The secretary's session sends them (TD0.2 is not asked: the reference is given).
    card = SoftSigner(SECRETARY)
    with fake.client(SECRETARY) as client:
        sent = [
            uploads.outbox().send(signed[i], client, card) for i in (first.id, second.id)
        ]
    assert [e.unique_id for e in sent] == [first.unique_id, second.unique_id]
    assert card.signed == 0  # her card signed nothing
    assert [s.certificate for s in fake.signatures] == [durand.sign_certificate] * 2
    assert [i.id for i in uploads.pending(SECRETARY)] == [for_martin.id]
    # The CDA sent is the one built when she prepared it: Dr Durand is its author.
    cda = fake.documents[first.unique_id].content
    assert b"899700433153" in cda and SECRETARY.national_id.encode() not in cda


def test_the_professional_may_send_what_he_signed(tmp_path: Path) -> None:
    uploads, fake = desk(tmp_path), FakeDmp()
    item = prepared(uploads)
    durand, martin = SoftSigner(DURAND), SoftSigner(MARTIN)
    with fake.client(DURAND) as client:
        with pytest.raises(NotAuthorError):
            uploads.outbox().send(item, client, durand)  # not signed yet: not his to send
        with pytest.raises(SignatureAwaitedError):
            uploads.send(item, client, durand)
        ((_, signed),) = uploads.sign(durand)
        with fake.client(MARTIN) as other, pytest.raises(NotYourUploadError):
            uploads.send(signed, other, martin)  # type: ignore[arg-type]
        entry = uploads.outbox().send(signed, client, durand)  # type: ignore[arg-type]
    assert entry.unique_id == item.unique_id
    assert durand.signed == 1  # the signature made once, sent as made
    assert uploads.pending(SECRETARY) == []


def test_a_card_pulled_out_stops_the_batch_and_loses_nothing(tmp_path: Path) -> None:
    uploads = desk(tmp_path)
    first, second = prepared(uploads), prepared(uploads, b"% second\n")

    class PulledAfterOne(SoftSigner):
        def sign_with_signature_key(self, data: bytes) -> bytes:
            if self.signed:
                raise CardRemovedError()
            return super().sign_with_signature_key(data)

    with pytest.raises(CardRemovedError):
        uploads.sign(PulledAfterOne(DURAND))
    states = {i.id: upload.PendingState.of(i) for i in uploads.pending(SECRETARY)}
    assert states == {first.id: upload.PendingState.SIGNED, second.id: upload.PendingState.TO_SIGN}


def test_a_secretary_never_replaces_through_the_parapheur(tmp_path: Path) -> None:
    from tests.unit.test_usecases import entry

    uploads = desk(tmp_path)
    old = entry("old")
    with pytest.raises(NotAuthorError):
        uploads.queue(request(on_behalf_of=DURAND, replaces=old), SECRETARY)
    assert uploads.outbox().items() == []
