"""TD2.1: the host refuses a document whose CDA recordTarget contradicts its INS's identity.

Raw submissions (the test-side TD2.1 builder of test_alimentation_wire): a
level-1 CDA filed under Léa MOREAU's INS whose header names someone else
(the case of the issue: « DUPONT, masculin, né en 1990 ») is refused with
``XDSPatientIdDoesNotMatch`` naming the traits, and nothing is stored; the
same document with her traits is registered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dmp_desktop.cda.level1 import Level1Document, wrap_text
from dmp_desktop.domain.summary import Gender
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.record_target import KnownIdentity, header_contradictions
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND
from tests.host.test_alimentation_wire import (
    DURAND_AUTHOR,
    Doc,
    FileSigner,
    document_count,
    make_signer,
    new_uid,
    patient_identity,
    upload,
    upload_request,
)
from tests.host.wire import TlsClient

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")


@pytest.fixture(scope="module")
def signer(training_env: TrainingEnv) -> FileSigner:
    return make_signer(training_env.pki)


def _doc(**patient_changes: object) -> Doc:
    uid = new_uid()
    patient = dataclasses.replace(patient_identity(LEA.ins), **patient_changes)
    document = Level1Document(
        patient=patient,
        author=DURAND_AUTHOR.provider(),
        effective_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        type_code="11488-4",
        title="Note de consultation",
        document_id=uid,
        set_id=f"{uid}.0",
    )
    return Doc(uid, wrap_text(document, "Note de consultation\n\nExamen normal."), DURAND_AUTHOR)


def test_the_issue_case_is_refused_and_nothing_is_stored(
    host: RunningHost, client: TlsClient, signer: FileSigner
) -> None:
    before = document_count(host)
    doc = _doc(birth_family_name="DUPONT", gender=Gender.MALE, birth_date=dt.date(1990, 1, 1))
    answer = upload(client, upload_request(DURAND, LEA.ins, [doc], signer=signer))
    assert not answer.ok
    code, context, location = answer.errors[0]
    assert code == "XDSPatientIdDoesNotMatch" and location == doc.unique_id
    for trait in ("le nom de naissance", "la date de naissance", "le sexe"):
        assert trait in context
    assert "DUPONT" not in context and "1990" not in context  # traits named, never values
    assert document_count(host) == before


@pytest.mark.parametrize(
    ("changes", "trait"),
    [
        ({"birth_given_names": ["EMMA"]}, "le(s) prénom(s) de naissance"),
        ({"birth_given_names": ["LEA", "MARIE"]}, "le(s) prénom(s) de naissance"),
        ({"birthplace_code": "69383"}, "le lieu de naissance"),
        ({"gender": Gender.UNKNOWN}, "le sexe"),
    ],
)
def test_each_contradicting_trait_is_named(
    client: TlsClient, signer: FileSigner, changes: dict[str, object], trait: str
) -> None:
    answer = upload(client, upload_request(DURAND, LEA.ins, [_doc(**changes)], signer=signer))
    assert answer.error_code == "XDSPatientIdDoesNotMatch"
    assert trait in answer.errors[0][1]


def test_the_patient_own_traits_are_registered(
    host: RunningHost, client: TlsClient, signer: FileSigner
) -> None:
    before = document_count(host)
    # Diacritics and case do not matter; the full list of first names is the base's.
    doc = _doc(birth_family_name="Moreau", birth_given_names=["Léa", "Camille"])
    answer = upload(client, upload_request(DURAND, LEA.ins, [doc], signer=signer))
    assert answer.ok, answer.errors
    assert document_count(host) == before + 1


def test_a_patient_outside_the_identity_base_is_judged_on_the_dmp_record() -> None:
    from lxml import etree

    known = KnownIdentity("ROY", ("JEANNE",), False, "F", dt.date(1957, 1, 9), None)
    root = etree.fromstring(
        b"<ClinicalDocument xmlns='urn:hl7-org:v3'><recordTarget><patientRole><patient>"
        b"<name><family qualifier='BR'>Roy</family><given>JEANNE MARIE</given></name>"
        b"<administrativeGenderCode code='F'/><birthTime value='19570109'/>"
        b"<birthplace><place><addr><county>75056</county></addr></place></birthplace>"
        b"</patient></patientRole></recordTarget></ClinicalDocument>"
    )
    # Other first names and a birthplace the DMP record does not hold: no contradiction.
    assert header_contradictions(root, known) == []
    root.find(".//{urn:hl7-org:v3}birthTime").set("value", "19570110")
    assert header_contradictions(root, known) == ["birth_date"]
