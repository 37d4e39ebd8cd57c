"""Who the card holder is: the training layout of CPS_INFO_PS, specialty labels, the
VIHF roles a specialist's card gives."""

from __future__ import annotations

import pytest

from dmp_desktop.cda.valuesets import AUTHOR_SPECIALTIES
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.vihf import practitioner_roles
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.smartcard.card_data import (
    TRAINING_LAYOUT,
    CardProfessionalData,
    decode_info_ps,
    encode_info_ps,
)
from dmp_desktop.smartcard.specialties import (
    _DOCTOR_WORDS,
    headline,
    occupation,
    official_label,
    with_specialty,
)

DOCTOR = Practitioner("899700433153", "DURAND", "MARIE", "Médecin", "10")


def test_training_layout_round_trip() -> None:
    data = encode_info_ps("10", "SM26")
    assert data[0] == 0x30 and TRAINING_LAYOUT.encode() in data
    assert decode_info_ps(data) == CardProfessionalData("10", "SM26")
    assert decode_info_ps(encode_info_ps("21")) == CardProfessionalData("21", None)


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"",
        b"\x30\x00",
        b"\x30\x80\x00\x00",  # indefinite length: not DER
        b"\x30\x81\x05" + b"\x0c\x03abc",  # non-minimal length
        encode_info_ps("10", "SM26")[:-1],  # truncated
        encode_info_ps("10", "SM26") + b"\x00",  # trailing bytes
        bytes.fromhex("3009") + b"\x04\x07" + b"CPS-RAW",  # a real card's raw ASN.1: not ours
        b"\x30\x0b\x0c\x09" + b"AUTRE/1.0",
    ],
)
def test_anything_else_is_not_understood(data: bytes | None) -> None:
    assert decode_info_ps(data) is None


def test_codes_are_checked_when_writing() -> None:
    with pytest.raises(ValueError):
        encode_info_ps("10", "SM26; DROP")


def test_official_labels_come_from_the_j01_table() -> None:
    assert official_label("10", "SM26") == "Qualifié en Médecine Générale (SM)"
    assert official_label("10", "SM04") == "Cardiologie et maladies vasculaires (SM)"
    assert official_label("10", "XX99") is None
    assert official_label(None, "SM26") is None


def test_every_doctor_word_names_a_real_specialty() -> None:
    for code in _DOCTOR_WORDS:
        assert f"G15_10/{code}" in AUTHOR_SPECIALTIES


def test_how_a_doctor_reads_a_colleague() -> None:
    assert headline(with_specialty(DOCTOR, "SM26")) == "Dr Marie DURAND · Médecin généraliste"
    assert occupation(with_specialty(DOCTOR, "SM04")) == "Cardiologue"
    assert occupation(with_specialty(DOCTOR, "SM13")) == "Médecin, chirurgie vasculaire"
    assert occupation(with_specialty(DOCTOR, "ZZ01")) == "Médecin"  # unknown code
    assert occupation(DOCTOR) == "Médecin"


def test_a_specialist_card_adds_the_r01_role_to_the_vihf() -> None:
    roles = practitioner_roles(with_specialty(DOCTOR, "SM26"))
    assert [(r.code, r.code_system, r.display_name) for r in roles] == [
        ("10", ns.OID_PROFESSION, "Médecin"),
        ("SM26", ns.OID_SPECIALTY, "Qualifié en Médecine Générale (SM)"),
    ]
