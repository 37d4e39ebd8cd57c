"""The VIHF's XML signature: our signer, our verifier, and the official signed examples."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.soap import build_envelope
from dmp_desktop.dmp.vihf import VihfContext, build_vihf, parse_vihf
from dmp_desktop.dmp.vihf_signature import (
    RSA_SHA1,
    RSA_SHA256,
    VihfSignatureError,
    sign_vihf,
    verify_signed_info,
    verify_vihf_signature,
)
from dmp_desktop.net.keys import FileClientKey
from tests.conftest import DMP_MESSAGES, require_shared
from tests.unit.test_dmp_support import INS, STRUCTURE_ID, doctor

DS = f"{{{ns.DS}}}"
SAML = f"{{{ns.SAML2}}}"
TOKENS = "Exemples Jeton VIHF"
OFFICIAL_STRONG = "VIHF_INDIRECTE_RENFORCEE_signé.xml"
OFFICIAL_INDIRECT = "VIHF_INDIRECTE_signé.xml"
OFFICIAL_DIRECT = "VIHF_DIRECTE_signé.xml"
# Where our algorithms differ from the official examples' (we sign with SHA-256).
SHA256_FOR_SHA1 = {
    RSA_SHA1: RSA_SHA256,
    "http://www.w3.org/2000/09/xmldsig#sha1": "http://www.w3.org/2001/04/xmlenc#sha256",
}


@functools.cache
def structure_key(name: str = "CABINET MEDICAL FORMATION") -> FileClientKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, STRUCTURE_ID),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return FileClientKey(key, [cert])


def signed_vihf(key: FileClientKey | None = None) -> etree._Element:
    key = key or structure_key()
    ctx = VihfContext(
        practitioner=doctor(),
        issuer_dn=key.certificate_chain()[0].subject.rfc4514_string(),
        structure_id=STRUCTURE_ID,
        activity_sector="SA07",
        auth_mode="INDIRECTE_RENFORCEE",
        ins=INS,
        issue_instant=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
        assertion_id="_5f1c0e4e-structure",
    )
    return sign_vihf(build_vihf(ctx), key)


def official(name: str) -> etree._Element:
    raw = require_shared(DMP_MESSAGES / TOKENS / name).read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:  # the direct-mode examples are Latin-1 without a declaration
        raw = raw.decode("latin-1").encode("utf-8")
    return xmlsafe.parse(raw)


def layout(assertion: etree._Element) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """The signature's skeleton: element names and algorithm/URI attributes, no values."""
    signature = assertion.find(f"{DS}Signature")
    assert signature is not None
    skeleton = []
    for el in signature.iter():
        attrs = []
        for name, value in sorted(el.attrib.items()):
            if name == "URI":
                value = "#ID" if value == f"#{assertion.get('ID')}" else value
            attrs.append((name, SHA256_FOR_SHA1.get(value, value)))
        skeleton.append((etree.QName(el).text, tuple(attrs)))
    return skeleton


def reserialised(assertion: etree._Element) -> etree._Element:
    return xmlsafe.parse(etree.tostring(assertion))


# --- our signature ------------------------------------------------------------------------------


def test_round_trip_gives_the_signing_certificate() -> None:
    key = structure_key()
    verified = verify_vihf_signature(reserialised(signed_vihf(key)))
    assert verified.certificate == key.certificate_chain()[0]
    assert verified.signature_method == RSA_SHA256


def test_same_skeleton_as_the_official_reinforced_example() -> None:
    ours = signed_vihf()
    theirs = official(OFFICIAL_STRONG)
    assert layout(ours) == layout(theirs)
    # Right after Issuer, as in the official example (and the SAML schema).
    for assertion in (ours, theirs):
        names = [etree.QName(c).localname for c in assertion]
        assert names[:3] == ["Issuer", "Signature", "Subject"]
        signature = assertion.find(f"{DS}Signature")
        assert signature.prefix is None and signature.nsmap[None] == ns.DS  # default namespace
    claims = parse_vihf(reserialised(ours))
    assert claims.signed and claims.auth_mode == "INDIRECTE_RENFORCEE"
    assert claims.issuer == structure_key().certificate_chain()[0].subject.rfc4514_string()


def test_signature_survives_the_soap_envelope() -> None:
    body = etree.Element(f"{{{ns.HL7}}}PRPA_IN201307UV02")
    request = build_envelope(
        body, action="urn:test", to="https://h/", security_tokens=[signed_vihf()]
    )
    envelope = xmlsafe.parse(request.data)
    assertion = envelope.find(f".//{{{ns.WSSE}}}Security/{SAML}Assertion")
    assert verify_vihf_signature(assertion).digest_method.endswith("#sha256")


def test_the_signature_does_not_depend_on_indentation_outside_the_assertion() -> None:
    security = etree.Element(f"{{{ns.WSSE}}}Security", nsmap={"wsse": ns.WSSE, "x": "urn:x"})
    security.text = "\n   "
    security.append(signed_vihf())
    again = xmlsafe.parse(etree.tostring(security, pretty_print=False))
    verify_vihf_signature(again.find(f"{SAML}Assertion"))


def _fails(assertion: etree._Element, reason: str) -> None:
    with pytest.raises(VihfSignatureError) as err:
        verify_vihf_signature(reserialised(assertion))
    assert err.value.reason == reason


def test_a_changed_claim_breaks_the_digest() -> None:
    assertion = signed_vihf()
    assertion.find(f"{SAML}Subject/{SAML}NameID").text = "899700433160"  # another doctor
    _fails(assertion, "empreinte")


def test_a_changed_attribute_value_breaks_the_digest() -> None:
    assertion = signed_vihf()
    for value in assertion.iter(f"{SAML}AttributeValue"):
        if value.text == "INDIRECTE_RENFORCEE":
            value.text = "DIRECTE"
    _fails(assertion, "empreinte")


def test_a_forged_signature_value_is_refused() -> None:
    assertion = signed_vihf()
    value = assertion.find(f"{DS}Signature/{DS}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    _fails(assertion, "signature")


def test_another_certificate_in_keyinfo_is_refused() -> None:
    assertion = signed_vihf()
    other = structure_key("AUTRE CABINET").certificate_chain()[0]
    from cryptography.hazmat.primitives.serialization import Encoding

    cert_el = assertion.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    cert_el.text = base64.b64encode(other.public_bytes(Encoding.DER)).decode()
    _fails(assertion, "signature")


def test_removed_signature() -> None:
    assertion = signed_vihf()
    assertion.remove(assertion.find(f"{DS}Signature"))
    _fails(assertion, "absente")


def test_reference_to_something_else() -> None:
    assertion = signed_vihf()
    assertion.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference").set("URI", "#_other")
    _fails(assertion, "reference")


def test_wrapping_attack_with_a_duplicate_id_is_refused() -> None:
    original = signed_vihf()
    evil = copy.deepcopy(original)
    evil.find(f"{SAML}Subject/{SAML}NameID").text = "899700433160"
    # The signed original hidden inside the forged assertion, same ID.
    holder = etree.SubElement(evil, f"{SAML}Advice")
    holder.append(original)
    with pytest.raises(VihfSignatureError) as err:
        verify_vihf_signature(reserialised(evil))
    assert err.value.reason in ("reference", "empreinte")


def test_other_transforms_are_refused() -> None:
    assertion = signed_vihf()
    transforms = assertion.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}Transforms")
    transforms.remove(transforms[0])
    _fails(assertion, "forme")


def test_weak_or_unknown_algorithms_are_refused() -> None:
    assertion = signed_vihf()
    method = assertion.find(f"{DS}Signature/{DS}SignedInfo/{DS}SignatureMethod")
    method.set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5")
    _fails(assertion, "algorithme")
    with pytest.raises(VihfSignatureError) as err:
        verify_vihf_signature(reserialised(signed_vihf()), algorithms=frozenset({RSA_SHA1}))
    assert err.value.reason == "algorithme"


def test_signature_misplaced_after_subject() -> None:
    assertion = signed_vihf()
    signature = assertion.find(f"{DS}Signature")
    assertion.find(f"{SAML}Subject").addnext(signature)
    _fails(assertion, "forme")


def test_signing_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        sign_vihf(signed_vihf(), structure_key())


def test_a_card_can_sign_a_vihf_too(card_manager: object) -> None:
    """The signer only needs ``sign_pkcs1``: the CPS card's key works like a PKCS#12."""
    from dmp_desktop.net.keys import CardClientKey
    from dmp_desktop.smartcard import CardManager

    assert isinstance(card_manager, CardManager)
    card = next(c for c in card_manager.list_cards() if c.token_label == "CPS4-MARTIN")
    session = card_manager.login(card, "4321")
    try:
        key = CardClientKey(session)
        assertion = signed_vihf(key)  # type: ignore[arg-type]
        verified = verify_vihf_signature(reserialised(assertion))
        assert verified.certificate == session.auth_certificate
    finally:
        session.close()


# --- the official signed examples -------------------------------------------------------------


@pytest.mark.parametrize("name", [OFFICIAL_STRONG, OFFICIAL_INDIRECT, OFFICIAL_DIRECT])
def test_official_signed_examples_are_read(name: str) -> None:
    claims = parse_vihf(official(name))
    assert claims.signed
    assert claims.name_id
    assert claims.auth_mode in ("DIRECTE", "INDIRECTE", "INDIRECTE_RENFORCEE")


@pytest.mark.parametrize("name", [OFFICIAL_STRONG, OFFICIAL_INDIRECT])
def test_official_signed_info_verifies_with_our_canonicalisation(name: str) -> None:
    """Their SignedInfo, canonicalised by us, verifies with the KeyInfo certificate (a
    TEST IGC-Santé organisations certificate we cannot chain: its CA is not ours)."""
    certificate = verify_signed_info(official(name))
    issuer = certificate.issuer.rfc4514_string()
    assert "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS" in issuer


@pytest.mark.parametrize("name", [OFFICIAL_STRONG, OFFICIAL_INDIRECT])
def test_official_examples_were_edited_after_signing(name: str) -> None:
    """Their digests no longer match their content (values were anonymised after
    signing): a verifier must refuse them, and ours does, for that reason."""
    with pytest.raises(VihfSignatureError) as err:
        verify_vihf_signature(official(name))
    assert err.value.reason == "empreinte"


def test_official_direct_example_has_a_certificate_strict_der_refuses() -> None:
    with pytest.raises(VihfSignatureError) as err:
        verify_signed_info(official(OFFICIAL_DIRECT))
    assert err.value.reason == "certificat"
