"""TD3.3 (ITI-57): mask / unmask, visibility, archive, delete — what is sent, what is refused."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, iti57, ns, rim, xds
from dmp_desktop.dmp.feed_errors import (
    DocumentStatusError,
    ForbiddenVisibilityError,
    NotAuthorError,
)
from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from tests.unit.test_alimentation_support import (
    BASE,
    SOAP_CT,
    FakeDmp,
    Stored,
    message_id,
    registry_response,
)
from tests.unit.test_dmp_support import INS, doctor, settings
from tests.unit.test_dmp_xds import extrinsic_object, query_response

RIM = f"{{{ebrs.RIM}}}"
MINE = "899700433153^MARTIN^Claire^^^^^^&amp;1.2.250.1.71.4.2.1&amp;ISO^D^^^IDNPS"
THEIRS = "899700433160^MARTIN^Paul^^^^^^&amp;1.2.250.1.71.4.2.1&amp;ISO^D^^^IDNPS"


def _fake(author: str = MINE, flags: tuple[str, ...] = ()) -> FakeDmp:
    fake = FakeDmp()
    fake.documents["1.2.3"] = Stored(
        "1.2.3",
        "urn:uuid:7953af1a-ba1c-11eb-816f-0050569e422e",
        b"x",
        "11488-4",
        flags,
        author=author,
    )
    return fake


def _entry(fake: FakeDmp) -> DocumentEntry:
    with fake.client() as client:
        entry = client.find_by_unique_id(INS, "1.2.3")
    assert entry is not None
    return entry


def _sent_body(request: httpx.Request) -> etree._Element:
    envelope = xmlsafe.parse(request.content)
    return next(iter(envelope.find(f"{{{ns.SOAP12}}}Body")))


def test_mask_resubmits_the_entry_as_a_new_version() -> None:
    fake = _fake()
    entry = _entry(fake)
    with fake.client() as client:
        after = client.update_confidentiality(
            entry, masked=True, invisible_patient=False, invisible_legal_reps=False
        )
    assert after.masked_from_professionals and after.version == "2"
    request = fake.requests[-1]
    assert str(request.url) == BASE + "registry"
    assert 'action="urn:ihe:iti:2010:UpdateDocumentSet"' in request.headers["content-type"]
    body = _sent_body(request)
    assert body.tag == f"{{{ebrs.LCM}}}SubmitObjectsRequest"
    objects = body.find(f"{RIM}RegistryObjectList")
    assert [el.tag.split("}")[1] for el in objects] == [
        "RegistryPackage",
        "Association",
        "ExtrinsicObject",
    ]
    assoc = objects.find(f"{RIM}Association")
    assert assoc.get("associationType") == rim.ASSOC_HAS_MEMBER
    assert ebrs.all_slots(assoc) == {
        "SubmissionSetStatus": ["Original"],
        "PreviousVersion": ["1"],
    }
    eo = objects.find(f"{RIM}ExtrinsicObject")
    assert (eo.get("id"), eo.get("lid"), eo.get("status")) == (
        "Document01",
        entry.entry_uuid,
        DocumentStatus.APPROVED.value,
    )
    assert eo.find(f"{RIM}VersionInfo").get("versionName") == "1"
    flags = [
        c.get("nodeRepresentation")
        for c in eo.findall(f"{RIM}Classification")
        if c.get("classificationScheme") == xds.CLASS_CONFIDENTIALITY
    ]
    assert flags == ["N", "MASQUE_PS"]
    # Everything else is the metadata as the registry gave it.
    slots = ebrs.all_slots(eo)
    assert slots["hash"] == [entry.hash_sha1]
    assert slots["size"] == [str(entry.size)]
    assert slots["repositoryUniqueId"] == [entry.repository_id]
    assert slots["sourcePatientInfo"] == ["PID-5|NOM^Prenom^^^^^L", "PID-7|19760717"]
    assert list(slots)[:3] == ["creationTime", "hash", "languageCode"]
    assert fake.documents["1.2.3"].confidentiality == ("MASQUE_PS",)


def test_unmask_and_visibility_keep_the_other_flags() -> None:
    fake = _fake(flags=("MASQUE_PS", "INVISIBLE_REPRESENTANTS_LEGAUX"))
    entry = _entry(fake)
    with fake.client() as client:
        after = client.update_confidentiality(
            entry,
            masked=False,
            invisible_patient=entry.invisible_to_patient,
            invisible_legal_reps=entry.invisible_to_legal_reps,
        )
        assert not after.masked_from_professionals and after.invisible_to_legal_reps
        assert fake.documents["1.2.3"].confidentiality == ("INVISIBLE_REPRESENTANTS_LEGAUX",)
        again = client.update_confidentiality(
            after, masked=False, invisible_patient=False, invisible_legal_reps=True
        )
    assert again is after  # nothing changes: nothing sent
    assert len(fake.requests) == 2


def test_the_forbidden_pair_is_refused_before_sending() -> None:
    fake = _fake()
    entry = _entry(fake)
    with fake.client() as client, pytest.raises(ForbiddenVisibilityError):
        client.update_confidentiality(
            entry, masked=True, invisible_patient=True, invisible_legal_reps=False
        )
    assert len(fake.requests) == 1  # the listing only


@pytest.mark.parametrize(
    ("action", "original", "new"),
    [
        ("archive", DocumentStatus.APPROVED, DocumentStatus.ARCHIVED),
        ("delete", DocumentStatus.APPROVED, DocumentStatus.DELETED),
        ("delete", DocumentStatus.ARCHIVED, DocumentStatus.DELETED),
    ],
)
def test_status_updates(action: str, original: DocumentStatus, new: DocumentStatus) -> None:
    fake = _fake()
    fake.documents["1.2.3"].status = original.value
    entry = _entry(fake)
    with fake.client() as client:
        after = getattr(client, f"{action}_document")(entry)
    assert after.status is new
    body = _sent_body(fake.requests[-1])
    objects = body.find(f"{RIM}RegistryObjectList")
    assert objects.find(f"{RIM}ExtrinsicObject") is None
    (assoc,) = objects.findall(f"{RIM}Association")
    assert assoc.get("associationType") == rim.ASSOC_UPDATE_STATUS
    assert (assoc.get("sourceObject"), assoc.get("targetObject")) == (
        "SubmissionSet01",
        entry.entry_uuid,
    )
    assert ebrs.all_slots(assoc) == {
        "OriginalStatus": [original.value],
        "NewStatus": [new.value],
    }
    assert fake.documents["1.2.3"].status == new.value


def test_only_the_author_deletes_and_only_active_documents_are_archived() -> None:
    fake = _fake(author=THEIRS)
    entry = _entry(fake)
    with fake.client() as client:
        with pytest.raises(NotAuthorError):
            client.delete_document(entry)
        with pytest.raises(DocumentStatusError):
            client.archive_document(dataclasses.replace(entry, status=DocumentStatus.ARCHIVED))
        client.archive_document(entry)  # archiving is not reserved to the author
    assert len(fake.requests) == 2


def test_refusals_and_answers() -> None:
    fake = _fake()
    entry = _entry(fake)

    def answer(action: str, *errors: tuple[str, str, str]) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            data = registry_response(message_id(request.content), *errors, action=action)
            return httpx.Response(200, content=data, headers=SOAP_CT)

        return httpx.MockTransport(handler)

    from dmp_desktop.dmp.client import DmpClient

    ok = "urn:ihe:iti:2010:UpdateDocumentSetResponse"  # IHE's spelling is read too
    with DmpClient(httpx.Client(transport=answer(ok)), settings(), doctor()) as client:
        client.archive_document(entry)
    refused = answer(ok, ("XDSMetadataVersionError", "version", "Error"))
    with (
        DmpClient(httpx.Client(transport=refused), settings(), doctor()) as client,
        pytest.raises(DmpServiceError) as caught,
    ):
        client.archive_document(entry)
    assert caught.value.code == "XDSMetadataVersionError"
    odd = answer("urn:ihe:iti:2007:RegistryStoredQueryResponse")
    with (
        DmpClient(httpx.Client(transport=odd), settings(), doctor()) as client,
        pytest.raises(DmpProtocolError),
    ):
        client.archive_document(entry)


def test_find_by_unique_id_asks_every_status_and_masked_documents() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = query_response(
            extrinsic_object(unique_id="1.1", status=DocumentStatus.DEPRECATED.value),
            extrinsic_object(unique_id="1.2", confidentiality=("MASQUE_PS",)),
            relates_to=message_id(request.content),
        )
        return httpx.Response(200, content=body, headers=SOAP_CT)

    from dmp_desktop.dmp.client import DmpClient

    with DmpClient(httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor()) as c:
        assert c.find_by_unique_id(INS, "1.1") is not None
        assert c.find_by_unique_id(INS, "1.2") is not None
        assert c.find_by_unique_id(INS, "1.3") is None
    slots = ebrs.all_slots(_sent_body(seen[0]).find(f"{RIM}AdhocQuery"))
    statuses = ebrs.unquote_values(slots["$XDSDocumentEntryStatus"][0])
    assert set(statuses) == {
        DocumentStatus.APPROVED.value,
        DocumentStatus.DEPRECATED.value,
        DocumentStatus.ARCHIVED.value,
    }
    assert "$XDSDocumentEntryServiceStartTimeFrom" not in slots


def test_new_confidentiality_keeps_n_r_v_and_labels() -> None:
    fake = _fake(flags=("INVISIBLE_PATIENT",))
    entry = _entry(fake)
    codes = iti57.new_confidentiality(
        entry, masked=False, invisible_patient=True, invisible_legal_reps=True
    )
    assert [c.code for c in codes] == ["N", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"]
    assert codes[2].display == "Non visible par les représentants légaux du patient"
