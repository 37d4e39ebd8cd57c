"""The identity coherence check: what is sent must name the patient of the INS."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dmp_desktop.alimentation.build import source_patient_info
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain import Authorization, DmpState, DmpStatus, Ins, InsKind
from dmp_desktop.domain.summary import Gender
from dmp_desktop.errors import describe
from dmp_desktop.identity.coherence import (
    IdentityMismatchError,
    StatedIdentity,
    Trait,
    Where,
    check_sending,
    compare,
    stated_in_cda,
    stated_in_metadata,
)
from dmp_desktop.identity.convert import (
    from_dmp_status,
    from_document_patient,
    to_document_patient,
)
from dmp_desktop.identity.traits import (
    IdentitySource,
    IdentityTraits,
    InsIdentity,
    normalize_trait,
)
from tests.support.cda_samples import minimal_summary, sample_patient

PATIENT = sample_patient()  # LEFEBVRE JULIEN ANDRÉ MARIE, M, 1982-11-02, 69383
REFERENCE = from_document_patient(PATIENT, source=IdentitySource.INSI, qualified=True)


def _vsm(**patient_changes: object) -> bytes:
    summary = minimal_summary()
    summary.patient = dataclasses.replace(summary.patient, **patient_changes)
    return build_vsm(summary)


def test_traits_are_compared_as_the_national_base_writes_them() -> None:
    assert normalize_trait(" Lefèbvre  d’Arc-Œuvre ") == "LEFEBVRE D'ARC-OEUVRE"
    assert normalize_trait("Léa") == normalize_trait("LEA")


def test_a_document_of_the_patient_passes() -> None:
    cda = _vsm()
    stated = stated_in_cda(cda)
    assert stated.ins == PATIENT.ins and stated.birthplace == "69383"
    assert compare(REFERENCE, stated, Where.CDA_HEADER) == []
    check_sending(
        REFERENCE,
        patient=PATIENT.ins,
        cda=cda,
        source_patient_info=source_patient_info(PATIENT),
    )


def test_accents_and_case_do_not_make_a_difference() -> None:
    cda = _vsm(birth_family_name="Lefebvre", birth_given_names=["Julien", "Andre", "Marie"])
    assert compare(REFERENCE, stated_in_cda(cda), Where.CDA_HEADER) == []


@pytest.mark.parametrize(
    ("changes", "trait"),
    [
        ({"birth_family_name": "DUPONT"}, Trait.BIRTH_NAME),
        ({"birth_given_names": ["JULIEN"]}, Trait.GIVEN_NAMES),
        ({"birth_given_names": ["PIERRE", "ANDRÉ", "MARIE"]}, Trait.GIVEN_NAMES),
        ({"birth_date": dt.date(1990, 1, 1)}, Trait.BIRTH_DATE),
        ({"gender": Gender.FEMALE}, Trait.SEX),
        ({"gender": Gender.UNKNOWN}, Trait.SEX),
        ({"birthplace_code": "75056"}, Trait.BIRTHPLACE),
        ({"ins": Ins("207058575627097", InsKind.TEST_NIR)}, Trait.INS),
        ({"ins": Ins("182116938311206", InsKind.NIR)}, Trait.INS),
    ],
)
def test_each_differing_trait_is_named(changes: dict[str, object], trait: Trait) -> None:
    with pytest.raises(IdentityMismatchError) as caught:
        check_sending(
            REFERENCE,
            patient=PATIENT.ins,
            cda=_vsm(**changes),
            source_patient_info=source_patient_info(PATIENT),
        )
    error = caught.value
    assert [m.trait for m in error.mismatches] == [trait]
    assert error.first.where is Where.CDA_HEADER
    message = describe(error)
    assert trait.label_fr in message and "Rien n'a été envoyé" in message
    # The message names the trait, never the values (they are for the professional's eyes).
    assert "DUPONT" not in message and "1990" not in message and "75056" not in message
    assert any(error.first.expected in line for line in error.details_fr())


def test_the_metadata_are_checked_too() -> None:
    other = dataclasses.replace(PATIENT, birth_family_name="DUPONT", gender=Gender.FEMALE)
    with pytest.raises(IdentityMismatchError) as caught:
        check_sending(
            REFERENCE,
            patient=PATIENT.ins,
            cda=_vsm(),
            source_patient_info=source_patient_info(other),
        )
    assert {(m.where, m.trait) for m in caught.value.mismatches} == {
        (Where.XDS_METADATA, Trait.BIRTH_NAME),
        (Where.XDS_METADATA, Trait.SEX),
    }


def test_metadata_without_traits_differ() -> None:
    stated = stated_in_metadata(PATIENT.ins, ())
    traits = {m.trait for m in compare(REFERENCE, stated, Where.XDS_METADATA)}
    assert traits == {Trait.BIRTH_NAME, Trait.GIVEN_NAMES, Trait.BIRTH_DATE, Trait.SEX}


def test_metadata_are_read_with_hl7_escapes() -> None:
    stated = stated_in_metadata(
        PATIENT.ins, ("PID-5|D\\S\\ARC^JEAN^^^^^L", "PID-7|19821102", "PID-8|M")
    )
    assert stated.birth_name == "D^ARC" and stated.given_names == ("JEAN",)
    assert stated.birth_date == dt.date(1982, 11, 2) and not stated.has_birthplace


def test_an_unreadable_or_foreign_document_differs_on_every_trait() -> None:
    stated = stated_in_cda(b"<not-a-cda")
    assert len(compare(REFERENCE, stated, Where.CDA_HEADER)) == 6
    stated = stated_in_cda(b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>")
    assert Trait.INS in {m.trait for m in compare(REFERENCE, stated, Where.CDA_HEADER)}


def _td02(**changes: object) -> DmpStatus:
    values: dict[str, object] = {
        "ins": PATIENT.ins,
        "state": DmpState.ACTIVE,
        "authorization": Authorization.VALIDE,
        "patient_family_name": "Lefebvre",
        "patient_given_name": "Julien",
        "patient_birth_date": dt.date(1982, 11, 2),
        "patient_gender": "M",
    }
    values.update(changes)
    return DmpStatus(**values)  # type: ignore[arg-type]


def test_the_dmp_answer_is_a_reference_without_birthplace_nor_all_first_names() -> None:
    reference = from_dmp_status(_td02())
    assert reference is not None and not reference.qualified
    assert reference.source is IdentitySource.DMP
    # The DMP gives the first first name: the document may list the others.
    assert compare(reference, stated_in_cda(_vsm()), Where.CDA_HEADER) == []
    wrong = stated_in_cda(_vsm(birth_given_names=["PIERRE"], birthplace_code="75056"))
    assert [m.trait for m in compare(reference, wrong, Where.CDA_HEADER)] == [Trait.GIVEN_NAMES]


def test_a_dmp_answer_without_identity_is_no_reference() -> None:
    assert from_dmp_status(_td02(patient_family_name=None)) is None


def test_the_issue_case_is_refused() -> None:
    """A VSM for Léa MOREAU's INS carrying « DUPONT, masculin, né en 1990 »."""
    lea = InsIdentity(
        Ins("207058575627097", InsKind.TEST_NIR),
        IdentityTraits("MOREAU", ("LEA",), "F", dt.date(2007, 5, 25), "75056", True),
        IdentitySource.INSI,
        qualified=True,
    )
    wrong = to_document_patient(lea)
    wrong = dataclasses.replace(
        wrong, birth_family_name="DUPONT", gender=Gender.MALE, birth_date=dt.date(1990, 1, 1)
    )
    cda = _vsm(**{f.name: getattr(wrong, f.name) for f in dataclasses.fields(wrong)})
    with pytest.raises(IdentityMismatchError) as caught:
        check_sending(lea, patient=lea.ins, cda=cda, source_patient_info=())
    traits = [m.trait for m in caught.value.mismatches if m.where is Where.CDA_HEADER]
    assert traits == [Trait.BIRTH_NAME, Trait.BIRTH_DATE, Trait.SEX]


def test_document_patient_round_trip() -> None:
    assert to_document_patient(REFERENCE) == dataclasses.replace(PATIENT, local_id=None)
    assert StatedIdentity(None, None, (), None, None).has_birthplace


# --- before queueing an upload -----------------------------------------------------------------


def test_an_upload_is_checked_before_it_is_queued() -> None:
    from dmp_desktop.identity.coherence import check_request
    from tests.unit.test_alimentation_support import request

    lea = InsIdentity(
        Ins("207058575627097", InsKind.TEST_NIR),
        IdentityTraits("MOREAU", ("LEA", "CLAIRE"), "F", dt.date(2007, 5, 25), "69383", True),
        IdentitySource.INSI,
        qualified=True,
    )
    req = request()  # a PDF for Léa, her traits in the form
    check_request(lea, req)
    wrong = dataclasses.replace(
        req, identity=dataclasses.replace(req.identity, birth_family_name="DUPONT")
    )
    with pytest.raises(IdentityMismatchError) as caught:
        check_request(lea, wrong)
    assert {(m.where, m.trait) for m in caught.value.mismatches} == {
        (Where.CDA_HEADER, Trait.BIRTH_NAME),
        (Where.XDS_METADATA, Trait.BIRTH_NAME),
    }
    # A CDA sent as it is (the VSM): its own header is what counts.
    vsm = dataclasses.replace(
        req,
        source=_vsm(ins=lea.ins, birth_family_name="DUPONT"),
        media_type="application/hl7-cda+xml",
    )
    with pytest.raises(IdentityMismatchError) as caught:
        check_request(lea, vsm)
    assert (Where.CDA_HEADER, Trait.BIRTH_NAME) in {
        (m.where, m.trait) for m in caught.value.mismatches
    }
    # Another patient's INS in the metadata.
    other = dataclasses.replace(req, patient=PATIENT.ins)
    with pytest.raises(IdentityMismatchError) as caught:
        check_request(lea, other)
    assert (Where.XDS_METADATA, Trait.INS) in {(m.where, m.trait) for m in caught.value.mismatches}


def test_the_viewer_header_keeps_the_birth_name_next_to_the_used_name() -> None:
    from dmp_desktop.cda.render import render_html

    cda = _vsm(used_family_name="MARTIN")
    html = render_html(cda)
    assert "MARTIN" in html and "nom de naissance LEFEBVRE" in html
    assert "nom de naissance" not in render_html(_vsm())  # no used name: nothing more to say
