"""The outbox: pending -> sent-unconfirmed -> confirmed / discarded; nothing lost, nothing twice.

The DMP here is :class:`FakeDmp` (it can lose an answer after storing the
document, which the real host shows only through a broken connection: the
e2e tests do it for real); the store is the real encrypted SecureStore.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from pathlib import Path

import pytest

from dmp_desktop.alimentation import (
    NotAuthorError,
    Outbox,
    OutboxItemGoneError,
    OutboxState,
    UploadInvalidError,
    UploadUnconfirmedError,
)
from dmp_desktop.errors import CardRemovedError, DmpServiceError, describe
from dmp_desktop.storage.secure import SecureStore
from tests.unit.test_alimentation_support import FakeDmp, SoftSigner, Stored, request
from tests.unit.test_dmp_support import INS, doctor

KEY = os.urandom(32)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


def _outbox(directory: Path) -> Outbox:
    return Outbox(SecureStore(directory, KEY), clock=Clock())


def _uploads(fake: FakeDmp) -> int:
    return sum(1 for a in fake.actions() if a.endswith("ProvideAndRegisterDocumentSet-b"))


def test_an_upload_is_kept_until_confirmed(tmp_path: Path) -> None:
    outbox, fake, card = _outbox(tmp_path), FakeDmp(), SoftSigner()
    item = outbox.add(request())
    assert item.state is OutboxState.PENDING
    assert [i.id for i in outbox.items()] == [item.id]
    with fake.client() as client:
        entry = outbox.send(item, client, card)
    assert entry.unique_id == item.unique_id
    assert entry.entry_uuid  # as the registry lists it
    assert outbox.items() == []  # confirmed: gone from the outbox
    assert list(fake.documents) == [item.unique_id]
    with fake.client() as client, pytest.raises(OutboxItemGoneError):
        outbox.send(item, client, card)  # a stale item is never sent twice
    assert _uploads(fake) == 1


def test_encrypted_at_rest_and_survives_a_restart(tmp_path: Path) -> None:
    item = _outbox(tmp_path).add(request(title="Bilan cardiologique confidentiel"))
    blobs = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"Bilan cardiologique", INS.value.encode(), b"MOREAU", b"%PDF"):
        assert secret not in blobs
    (again,) = _outbox(tmp_path).items()  # a new process, the same disk
    assert again.id == item.id and again.request == item.request
    assert again.state is OutboxState.PENDING


def test_lost_answer_then_resume_checks_by_unique_id(tmp_path: Path) -> None:
    outbox, card = _outbox(tmp_path), SoftSigner()
    fake = FakeDmp(next_upload=["lose"])  # stored by the DMP, answer lost
    item = outbox.add(request())
    with fake.client() as client, pytest.raises(UploadUnconfirmedError) as caught:
        outbox.send(item, client, card)
    assert "vérifiera d'abord s'il est déjà dans le DMP" in describe(caught.value)
    (waiting,) = _outbox(tmp_path).items()  # the crash / restart case
    assert waiting.state is OutboxState.SENT_UNCONFIRMED and waiting.attempts == 1
    assert waiting.last_error == "HostUnreachableError"
    with fake.client() as client:
        entry = _outbox(tmp_path).send(waiting, client, card)
    assert entry.unique_id == item.unique_id
    assert _uploads(fake) == 1  # found by its unique id: not sent again
    assert len(fake.documents) == 1
    assert _outbox(tmp_path).items() == []


def test_dropped_before_arrival_is_sent_again_identically(tmp_path: Path) -> None:
    outbox, card = _outbox(tmp_path), SoftSigner()
    fake = FakeDmp(next_upload=["drop"])
    item = outbox.add(request())
    with fake.client() as client, pytest.raises(UploadUnconfirmedError):
        outbox.send(item, client, card)
    first = fake.requests[0].content
    with fake.client() as client:
        outbox.send(outbox.items()[0], client, card)
    assert _uploads(fake) == 2 and len(fake.documents) == 1
    # Same CDA, same unique ids: the retry is the same document, not a new one.
    cda = fake.documents[item.unique_id].content
    assert cda in first


def test_refusal_keeps_the_item_pending_with_the_code(tmp_path: Path) -> None:
    outbox, card = _outbox(tmp_path), SoftSigner()
    fake = FakeDmp(next_upload=["XDSRegistryMetadataError"])
    item = outbox.add(request())
    with fake.client() as client, pytest.raises(DmpServiceError):
        outbox.send(item, client, card)
    (waiting,) = outbox.items()
    assert (waiting.state, waiting.last_error) == (OutboxState.PENDING, "XDSRegistryMetadataError")
    with fake.client() as client:
        outbox.send(waiting, client, card)  # the DMP accepts it now
    assert outbox.items() == []


def test_a_duplicate_answer_means_the_first_attempt_got_through(tmp_path: Path) -> None:
    outbox, card = _outbox(tmp_path), SoftSigner()
    item = outbox.add(request())
    fake = FakeDmp(next_upload=["XDSDuplicateUniqueIdInRegistry"])
    fake.documents[item.unique_id] = Stored(
        item.unique_id, "urn:uuid:00000000-0000-4000-8000-0000000000aa", b"x", "11488-4", ()
    )
    with fake.client() as client:
        assert outbox.send(item, client, card).unique_id == item.unique_id
    assert outbox.items() == []


def test_card_removed_before_sending_leaves_it_pending(tmp_path: Path) -> None:
    outbox, fake = _outbox(tmp_path), FakeDmp()

    class Removed(SoftSigner):
        def sign_with_signature_key(self, data: bytes) -> bytes:
            raise CardRemovedError()

    item = outbox.add(request())
    with fake.client() as client, pytest.raises(CardRemovedError):
        outbox.send(item, client, Removed())
    (waiting,) = outbox.items()
    assert (waiting.state, waiting.last_error) == (OutboxState.PENDING, "CardRemovedError")
    assert fake.requests == []


def test_discard_and_invalid_requests(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path)
    with pytest.raises(UploadInvalidError):
        outbox.add(request(identity=None))
    assert outbox.items() == []
    kept = outbox.add(request(title="A"))
    discarded = outbox.add(request(title="B", source=b"%PDF-1.4 other"))
    outbox.discard(discarded.id)
    fake = FakeDmp()
    with fake.client() as client, pytest.raises(OutboxItemGoneError):
        outbox.send(discarded, client, SoftSigner())
    assert fake.requests == []  # never sent
    outbox.discard(kept.id)
    assert outbox.items() == []
    with pytest.raises(OutboxItemGoneError):
        outbox.discard(kept.id)
    with pytest.raises(OutboxItemGoneError):
        outbox.discard("../../etc")


def test_the_same_document_twice_is_one_upload(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path)
    first = outbox.add(request())
    assert outbox.add(request()).id == first.id  # a double click
    other = outbox.add(request(type_code=first.type_code, source=b"%PDF-1.4 another"))
    assert other.id != first.id
    assert len(outbox.items()) == 2


def test_only_who_prepared_it_sends_it(tmp_path: Path) -> None:
    outbox, fake = _outbox(tmp_path), FakeDmp(next_upload=["drop"])
    durand = SoftSigner()
    item = outbox.add(request(), author_id=durand.practitioner.national_id)
    assert item.author_id == durand.practitioner.national_id  # owned from the start
    with fake.client() as client, pytest.raises(UploadUnconfirmedError):
        outbox.send(item, client, durand)
    martin = SoftSigner(doctor(national_id="899700433160", family_name="MARTIN", given_name="Paul"))
    with fake.client(martin.practitioner) as client, pytest.raises(NotAuthorError):
        outbox.send(outbox.items()[0], client, martin)
    with fake.client() as client:
        done = outbox.send(outbox.items()[0], client, durand)
    assert done.unique_id == item.unique_id
    assert outbox.items() == []


def test_replacement_reads_the_old_set_id(tmp_path: Path) -> None:
    outbox, fake, card = _outbox(tmp_path), FakeDmp(), SoftSigner()
    with fake.client() as client:
        first = outbox.send(outbox.add(request()), client, card)
        item = outbox.add(request(replaces=first, source=b"%PDF-1.4 corrected"))
        second = outbox.send(item, client, card)
    from dmp_desktop.alimentation.build import version_of

    old = version_of(fake.documents[first.unique_id].content)
    new = version_of(fake.documents[second.unique_id].content)
    assert old is not None and new == (old[0], old[1] + 1)
    assert fake.documents[first.unique_id].status.endswith(":Deprecated")


def test_sends_are_serialised(tmp_path: Path) -> None:
    outbox, fake, card = _outbox(tmp_path), FakeDmp(), SoftSigner()
    item = outbox.add(request())
    errors: list[BaseException] = []

    def send() -> None:
        try:
            with fake.client() as client:
                outbox.send(item, client, card)
        except OutboxItemGoneError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _uploads(fake) == 1 and len(errors) == 2


def test_an_upload_in_flight_blocks_neither_the_list_nor_the_other_items(tmp_path: Path) -> None:
    """The DMP may take until its time-out to answer: meanwhile the window lists the outbox,
    adds and discards other items (the outbox is not locked over the network)."""
    outbox, fake, card = _outbox(tmp_path), FakeDmp(), SoftSigner()
    slow = outbox.add(request())
    entered, gate = threading.Event(), threading.Event()
    results: list[object] = []

    def send() -> None:
        with fake.client() as client:
            upload = client.upload_document

            def held(*args: object, **kwargs: object) -> object:
                entered.set()
                gate.wait()
                return upload(*args, **kwargs)

            client.upload_document = held  # type: ignore[method-assign]
            results.append(outbox.send(slow, client, card))

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert entered.wait(60)  # the upload is on the wire (a hang guard, not a measure)
        # Without the fix each of these waited for the gate: the test hung, then failed.
        assert [i.id for i in outbox.items()] == [slow.id]
        other = outbox.add(dataclasses.replace(request(), title="Autre"))
        assert {i.id for i in outbox.items()} == {slow.id, other.id}
        outbox.discard(other.id)
        assert outbox.get(slow.id) is not None
    finally:
        gate.set()
        sender.join()
    assert len(results) == 1 and outbox.items() == []
    assert _uploads(fake) == 1


def test_item_fields_for_the_window(tmp_path: Path) -> None:
    item = _outbox(tmp_path).add(request())
    assert (item.title, item.patient, item.type_code.code) == (
        "Compte rendu de consultation",
        INS,
        "11488-4",
    )
    assert item.service_date == dt.date(2026, 3, 12)
    assert OutboxState.SENT_UNCONFIRMED.label_fr == "envoyé, réception non confirmée"
    assert dataclasses.replace(item, state=OutboxState.CONFIRMED).state.label_fr
