"""Who the card holder is, read as a real CPS card presents it.

The reference is material nobody here wrote: the card certificate embedded in
the official TD2.1 example (IGC-Santé test card, ``CN=899900063480``,
``title=Médecin``, extension ``1.2.250.1.71.4.2.5`` = ``SM26``), the
official VIHF examples and the official TD2.1 request's ``authorSpecialty``.
"""

from __future__ import annotations

import base64
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from dmp_desktop.alimentation.build import author_values
from dmp_desktop.cda.valuesets import AUTHOR_SPECIALTIES
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.vihf import VihfContext, build_vihf, parse_vihf, practitioner_roles
from dmp_desktop.domain.practitioner import PROFESSIONS, Practitioner
from dmp_desktop.domain.summary import CareProvider, CareStructure
from dmp_desktop.errors import CardNotRecognisedError, UnknownProfessionError, describe
from dmp_desktop.smartcard.card_data import (
    PracticeSituation,
    choose_situation,
    decode_activity,
    specialty_from_info_ps,
)
from dmp_desktop.smartcard.identity import (
    cps_extensions,
    practitioner_from_certificate,
    with_situation,
)
from dmp_desktop.smartcard.specialties import (
    _DOCTOR_WORDS,
    headline,
    occupation,
    official_label,
    with_specialty,
)
from dmp_sandbox.cards import Situation, certificate_extensions, encode_activity, encode_info_ps
from tests.conftest import DMP_MESSAGES, require_shared

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
DOCTOR = Practitioner("899700433153", "DURAND", "MARIE", "Médecin", "10")
VIHF_EXAMPLES = DMP_MESSAGES / "Exemples Jeton VIHF"


def official_card_certificate() -> x509.Certificate:
    """The IGC-Santé test card certificate in the official TD2.1 signature."""
    text = require_shared(DMP_MESSAGES / "TD2.1-SignatureXades.xml").read_text("utf-8")
    found = re.search(r"<X509Certificate>(.*?)</X509Certificate>", text, re.S)
    assert found is not None
    return x509.load_der_x509_certificate(base64.b64decode("".join(found.group(1).split())))


def official_roles(path: str) -> list[tuple[str, str, str]]:
    data = require_shared(VIHF_EXAMPLES / path).read_bytes()
    # Mixed encodings in the official files: UTF-8 roles, one Latin-1 "Accès normal".
    root = etree.fromstring(data, etree.XMLParser(recover=True, encoding="utf-8"))
    return [
        (r.get("code"), r.get("codeSystem"), r.get("displayName"))
        for r in root.iter(f"{{{ns.HL7}}}Role")
    ]


# --- the official card certificate ---------------------------------------------------------------


def test_the_official_card_certificate_extensions() -> None:
    ext = cps_extensions(official_card_certificate())
    assert ext.profession_code == "10"
    assert ext.specialty_codes == ("SM26",)
    assert ext.product_category == "83"  # TRE_G01: test software certificate
    assert ext.test_product


def test_the_official_card_certificate_gives_the_official_practitioner() -> None:
    holder = practitioner_from_certificate(official_card_certificate())
    assert holder.national_id == "899900063480"
    assert (holder.family_name, holder.given_name) == ("LIBRE", "MAX")
    assert (holder.profession_code, holder.profession) == ("10", "Médecin")
    assert holder.specialty_code == "SM26"
    assert holder.specialty_label == "Qualifié en Médecine Générale (SM)"
    assert holder.structure_id is None  # a card certificate names no structure
    assert not holder.is_staff


@pytest.mark.parametrize(
    "example",
    ["VIHF_DIRECTE_non signé.xml", "VIHF_DIRECTE_signé.xml", "VIHF_INDIRECTE_RENFORCEE_signé.xml"],
)
def test_vihf_roles_are_exactly_the_official_ones(example: str) -> None:
    holder = practitioner_from_certificate(official_card_certificate())
    ours = [(r.code, r.code_system, r.display_name) for r in practitioner_roles(holder)]
    assert ours == official_roles(example)
    assert len(ours) == 2  # profession and specialty, as in every official token


def test_every_official_request_vihf_has_our_two_roles() -> None:
    holder = practitioner_from_certificate(official_card_certificate())
    ours = [(r.code, r.code_system, r.display_name) for r in practitioner_roles(holder)]
    requests = sorted(require_shared(DMP_MESSAGES).glob("TD*_requête.xml"))
    assert len(requests) >= 15
    for path in requests:  # some are MTOM messages: read the Role elements as text
        text = path.read_bytes().decode("utf-8", "replace")
        roles = [
            tuple(
                re.search(f'{a}="([^"]*)"', tag).group(1)
                for a in ("code", "codeSystem", "displayName")
            )  # type: ignore[union-attr]
            for tag in re.findall(r"<Role [^>]*>", text)
        ]
        assert roles == ours, path.name


def test_the_built_vihf_carries_the_official_roles() -> None:
    holder = with_situation(
        practitioner_from_certificate(official_card_certificate()),
        PracticeSituation(1, "499900063480001", "CABINET DR LIBRE", "SA07"),
    )
    context = VihfContext(
        practitioner=holder,
        issuer_dn=official_card_certificate().subject.rfc4514_string(),
        structure_id=holder.structure_id or "",
        activity_sector=holder.activity_sector or "",
    )
    claims = parse_vihf(build_vihf(context))
    assert [(r.code, r.code_system, r.display_name) for r in claims.roles] == official_roles(
        "VIHF_DIRECTE_non signé.xml"
    )
    assert claims.structure_id == "499900063480001"
    assert claims.activity_sector == "SA07^1.2.250.1.71.4.2.4"


def test_author_specialty_is_the_official_one() -> None:
    holder = practitioner_from_certificate(official_card_certificate())
    provider = CareProvider(holder, CareStructure(id="499900063480001", name="CABINET DR LIBRE"))
    request = require_shared(DMP_MESSAGES / "TD2.1 - Alimentation_requête.xml").read_text("utf-8")
    official = set(
        re.findall(r'<Slot name="authorSpecialty">\s*<ValueList>\s*<Value>([^<]*)</Value>', request)
    )
    assert official == {
        "G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5"
    }
    assert author_values(provider).specialty in official


# --- profession: extension, else title; never a silent secretary ---------------------------------


def _certificate(
    national_id: str = "899700433177",
    title: str | None = "Médecin",
    *,
    profession: str | None = None,
    specialty: str | None = None,
    raw: list[x509.UnrecognizedExtension] | None = None,
) -> x509.Certificate:
    key = _KEY
    rdns = [x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")])]
    if title is not None:
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, title)]))
    rdns.append(
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(NameOID.GIVEN_NAME, "CLAIRE"),
                x509.NameAttribute(NameOID.SURNAME, "LEROY"),
                x509.NameAttribute(NameOID.COMMON_NAME, national_id),
            ]
        )
    )
    name = x509.Name(rdns)
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    extensions = (
        raw
        if raw is not None
        else (certificate_extensions(profession, specialty) if profession else [])
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.mark.parametrize(
    ("title", "code", "label"),
    [
        ("Médecin", "10", "Médecin"),
        ("Pharmacien", "21", "Pharmacien"),
        ("Infirmière", "60", "Infirmier"),
        ("SAGE-FEMME", "50", "Sage-Femme"),
        ("Orthophoniste", "91", "Orthophoniste"),
        ("Manipulateur ERM", "98", "Manipulateur ERM"),
    ],
)
def test_every_g15_title_is_a_profession(title: str, code: str, label: str) -> None:
    holder = practitioner_from_certificate(_certificate(title=title))
    assert (holder.profession_code, holder.profession) == (code, label)


def test_the_extension_wins_over_the_title() -> None:
    holder = practitioner_from_certificate(_certificate(title="Docteur", profession="40"))
    assert (holder.profession_code, holder.profession) == ("40", "Chirurgien-Dentiste")


def test_an_unknown_title_is_a_clear_french_error_not_a_secretary() -> None:
    with pytest.raises(UnknownProfessionError) as caught:
        practitioner_from_certificate(_certificate(title="Naturopathe"))
    assert isinstance(caught.value, CardNotRecognisedError)
    message = describe(caught.value)
    assert "« Naturopathe »" in message and "profession" in message
    with pytest.raises(UnknownProfessionError):
        practitioner_from_certificate(_certificate(title=None))


def test_an_unknown_profession_code_is_refused() -> None:
    from asn1crypto import core

    raw = [
        x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.2.250.1.71.1.2.7"), core.Integer(77).dump()
        )
    ]
    with pytest.raises(UnknownProfessionError) as caught:
        practitioner_from_certificate(_certificate(title="Médecin", raw=raw))
    assert caught.value.code == "77"
    assert "code 77" in describe(caught.value)


def test_structure_staff_are_recognised_by_their_structure_id() -> None:
    holder = practitioner_from_certificate(
        _certificate("3499700433153007/SEC0001", title="Secrétaire médicale")
    )
    assert holder.is_staff and holder.profession == "Secrétaire médicale"
    roles = practitioner_roles(holder)
    assert [(r.code, r.code_system) for r in roles] == [("SECRETARIAT_MEDICAL", ns.OID_NON_PS_ROLE)]


def test_malformed_extensions_read_as_absent() -> None:
    raw = [
        x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.250.1.71.1.2.7"), b"\x04\x01\x0a"),
        x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.250.1.71.4.2.5"), b"\x30\x05\x0c"),
        x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.250.1.71.1.2.5"), b"\xff"),
    ]
    cert = _certificate(title="Médecin", raw=raw)
    ext = cps_extensions(cert)
    assert (ext.profession_code, ext.specialty_codes, ext.product_category) == (None, (), None)
    assert practitioner_from_certificate(cert).profession_code == "10"  # from the title


# --- specialty: extension, else CPS_INFO_PS; checked against J01 ---------------------------------


def test_specialty_from_the_certificate_extension() -> None:
    holder = practitioner_from_certificate(_certificate(profession="10", specialty="SM04"))
    assert holder.specialty_code == "SM04"
    assert holder.specialty_label == "Cardiologie et maladies vasculaires (SM)"


def test_specialty_from_cps_info_ps_when_the_certificate_has_none() -> None:
    info = encode_info_ps("899700433177", "10", "SM26")
    holder = practitioner_from_certificate(_certificate(profession="10"), info)
    assert holder.specialty_code == "SM26"


def test_cps_info_ps_is_read_as_ber_tlv_last_value() -> None:
    assert specialty_from_info_ps(encode_info_ps("899700433177", "10", "SM26")) == "SM26"
    assert specialty_from_info_ps(encode_info_ps("899700433177", "10", None)) is None
    # Another BER layout, same rule (last value), padding at the end of the card file.
    other = bytes.fromhex("300f") + b"\x80\x03ABC" + b"\xa1\x06\x81\x04SM04" + b"\x00\x00"
    assert specialty_from_info_ps(other) == "SM04"


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"",
        b"\x30\x05\x0c\x03",  # truncated
        b"\x30\x84\xff\xff\xff\xff",  # huge length
        b"\xa1" * 40 + b"\x00" * 40,  # nested too deep
        b"\x30\x06\x0c\x04SM2\xff",  # not UTF-8
        b"\x30\x06\x0c\x04DROP",  # not a code
        b"A" * 5000,  # too large
    ],
)
def test_anything_else_in_cps_info_ps_is_not_understood(data: bytes | None) -> None:
    assert specialty_from_info_ps(data) is None


def test_a_specialty_unknown_for_the_profession_is_dropped() -> None:
    info = encode_info_ps("899700433177", "60", "SM26")  # a nurse cannot be "SM26"
    holder = practitioner_from_certificate(_certificate(title="Infirmier"), info)
    assert holder.profession_code == "60" and holder.specialty_code is None


# --- practice situations (CPS_ACTIVITY_nn_PS) ----------------------------------------------------


def test_activity_object_is_read() -> None:
    data = encode_activity(Situation("499700433153007", "CABINET MEDICAL FORMATION", "SA07"))
    assert data[0] == 0xEE
    assert decode_activity(3, data) == PracticeSituation(
        3, "499700433153007", "CABINET MEDICAL FORMATION", "SA07"
    )


def test_activity_with_other_tags_and_long_form_length() -> None:
    name = ("CENTRE HOSPITALIER " * 10).strip().encode()
    body = b"\x83\x02XY" + b"\x84\x81" + bytes([len(name)]) + name
    body += b"\x85\x0a1690009998" + b"\x86\x04SA01" + b"\x87\x01Z"
    data = b"\xee\x81" + bytes([len(body)]) + body
    situation = decode_activity(1, data)
    assert situation is not None
    assert (situation.structure_id, situation.activity_sector) == ("1690009998", "SA01")
    assert situation.structure_name.startswith("CENTRE HOSPITALIER")


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"",
        b"\x30\x03\x85\x01X",  # not 0xEE
        b"\xee\x06\x84\x04NOID",  # no structure id
        b"\xee\x09\x85\x07A B;C'D",  # not an id
        b"\xee\x05\x85\x10AB",  # truncated
    ],
)
def test_unreadable_activities_are_ignored(data: bytes | None) -> None:
    assert decode_activity(1, data) is None


def test_a_bad_sector_is_dropped_not_invented() -> None:
    data = encode_activity(Situation("499700433153007", "CABINET", "XX99"))
    situation = decode_activity(1, data)
    assert situation is not None and situation.activity_sector is None


def test_choosing_a_situation() -> None:
    one = PracticeSituation(1, "499700433153007", "CABINET", "SA07")
    two = PracticeSituation(2, "1690009998", "CENTRE HOSPITALIER", "SA01")
    assert choose_situation((one,), None) == one
    assert choose_situation((one, two), None) is None  # the user chooses
    assert choose_situation((one, two), "1690009998") == two
    assert choose_situation((one, two), "000") is None
    holder = with_situation(DOCTOR, two)
    assert (holder.structure_id, holder.structure_name, holder.activity_sector) == (
        "1690009998",
        "CENTRE HOSPITALIER",
        "SA01",
    )


# --- labels --------------------------------------------------------------------------------------


def test_g15_labels_are_the_j01_ones() -> None:
    for code, label in PROFESSIONS.items():
        assert AUTHOR_SPECIALTIES[f"G15_{code}"] == label


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


# --- the certificate as the card gives it (DER, read without cryptography) -----------------------


def test_the_der_bytes_read_as_the_certificate() -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = _certificate("3499700433153007/SEC0001", title="Secrétaire médicale")
    assert practitioner_from_certificate(cert.public_bytes(Encoding.DER)) == (
        practitioner_from_certificate(cert)
    )
    cert = _certificate(profession="10", specialty="SM04")
    der = cert.public_bytes(Encoding.DER)
    assert practitioner_from_certificate(der) == practitioner_from_certificate(cert)
    assert cps_extensions(der) == cps_extensions(cert)
    assert cps_extensions(der).profession_code == "10"


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x02\x01", b"not a certificate"])
def test_unreadable_der_is_a_value_error(der: bytes) -> None:
    with pytest.raises(ValueError):
        practitioner_from_certificate(der)


def test_a_repeated_extension_reads_as_absent() -> None:
    from asn1crypto import core
    from cryptography.hazmat.primitives.serialization import Encoding

    from dmp_desktop.smartcard.identity import _Read

    der = _certificate(profession="40").public_bytes(Encoding.DER)
    once = core.Integer(40).dump()
    # Duplicate the TRE_G15 extension inside the DER (cryptography refuses to build it).
    read = _Read(der)
    assert read.extensions["1.2.250.1.71.1.2.7"] == once
    from asn1crypto import x509 as asn1_x509

    cert = asn1_x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    extensions = list(tbs["extensions"])
    tbs["extensions"] = asn1_x509.Extensions([*extensions, extensions[1]])
    doubled = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": cert["signature_algorithm"],
            "signature_value": cert["signature_value"],
        }
    ).dump(force=True)
    assert "1.2.250.1.71.1.2.7" not in _Read(doubled).extensions
    assert cps_extensions(doubled).profession_code is None
