"""The submission signature (IHE DSG / XAdES): made on the SoftHSM card, checked, tampered with."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from dmp_desktop.dmp import ns, xades
from dmp_desktop.errors import CardNotRecognisedError
from dmp_desktop.smartcard import CardManager
from dmp_desktop.smartcard.card import CardSession
from tests.conftest import DMP_MESSAGES, require_shared
from tests.support.xmldsig import XADES_132, XMLDSIG_SCHEMA, xades_as_132
from tests.unit.test_alimentation_support import SoftSigner

DS = f"{{{ns.DS}}}"
XA = f"{{{xades.XADES}}}"
DOC = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>CR</title></ClinicalDocument>"
WHEN = dt.datetime(2026, 3, 12, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def durand(card_manager: CardManager) -> Iterator[CardSession]:
    card = next(c for c in card_manager.list_cards() if c.token_label == "CPS3-DURAND")
    session = card_manager.login(card, "1234")
    yield session
    session.close()


@pytest.fixture(scope="module")
def soft() -> SoftSigner:
    return SoftSigner()


def _sign(signer: object, documents: dict[str, bytes] | None = None) -> bytes:
    docs = documents or {"1.2.250.1.999.1": DOC}
    return xades.sign_submission(
        [xades.SignedDocument(uid, data) for uid, data in docs.items()],
        signer,  # type: ignore[arg-type]
        signing_time=WHEN,
    )


def test_signed_on_the_card_with_its_signature_key(durand: CardSession) -> None:
    data = _sign(durand)
    verified = xades.verify_signature(data, {"1.2.250.1.999.1": DOC})
    assert durand.sign_certificate is not None
    assert verified.certificate == durand.sign_certificate  # not the authentication one
    assert verified.certificate != durand.auth_certificate
    assert verified.covered == ("urn:oid:1.2.250.1.999.1",)
    assert verified.signing_time == "2026-03-12T10:30:00.000+00:00"


def test_shape_of_the_official_signature(soft: SoftSigner) -> None:
    root = etree.fromstring(_sign(soft))
    assert root.tag == f"{DS}Signature" and root.get("Id")
    signed_info = root.find(f"{DS}SignedInfo")
    assert [el.tag for el in signed_info] == [
        f"{DS}CanonicalizationMethod",
        f"{DS}SignatureMethod",
        f"{DS}Reference",
        f"{DS}Reference",
    ]
    assert signed_info[0].get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert signed_info[1].get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    assert [(r.get("Type"), r.get("URI")) for r in signed_info.findall(f"{DS}Reference")] == [
        ("http://www.w3.org/2000/09/xmldsig#Manifest", "#IHEManifest"),
        ("http://uri.etsi.org/01903/v1.1.1#SignedProperties", "#S0-SignedProperties"),
    ]
    assert [el.tag for el in root] == [
        f"{DS}SignedInfo",
        f"{DS}SignatureValue",
        f"{DS}KeyInfo",
        f"{DS}Object",
        f"{DS}Object",
        f"{DS}Object",
    ]
    # As in the official example, the purpose is in no namespace (see xades.py).
    purpose = root.find(f"{DS}Object/SignatureProperties/SignatureProperty")
    assert purpose.get("Id") == "purposeOfSignature"
    assert purpose.get("Target") == "#" + root.get("Id")
    assert purpose.text == "1.2.840.10065.1.12.1.14"
    cert = root.find(
        f"{DS}Object/{XA}QualifyingProperties/{XA}SignedProperties/"
        f"{XA}SignedSignatureProperties/{XA}SigningCertificate/{XA}Cert"
    )
    issuer = cert.find(f"{XA}IssuerSerial/{DS}X509IssuerName").text
    assert issuer == "CN=TEST AC SIGNATURE"
    assert cert.find(f"{XA}IssuerSerial/{DS}X509SerialNumber").text == "4242"
    assert soft.sign_certificate is not None
    der = soft.sign_certificate.public_bytes(Encoding.DER)
    assert root.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate").text == (
        base64.b64encode(der).decode()
    )


def test_several_documents_are_all_in_the_manifest(soft: SoftSigner) -> None:
    docs = {"1.2.3.1": DOC, "1.2.3.2": b"%PDF-1.4 second"}
    verified = xades.verify_signature(_sign(soft, docs), docs)
    assert verified.covered == ("urn:oid:1.2.3.1", "urn:oid:1.2.3.2")
    with pytest.raises(xades.XadesError, match="document"):
        xades.verify_signature(_sign(soft, docs), {"1.2.3.1": DOC})  # one not expected
    with pytest.raises(xades.XadesError, match="document"):
        xades.verify_signature(_sign(soft), docs)  # one not signed


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda d: d, None),
        (lambda d: d.replace(b"T10:30:00", b"T11:30:00"), "empreinte"),  # signed properties
        (lambda d: re.sub(rb"(<ds:DigestValue>)[^<]{4}", rb"\1AAAA", d, count=1), "empreinte"),
        (lambda d: re.sub(rb"(<ds:SignatureValue>)[^<]{4}", rb"\1AAAA", d), "signature"),
        (lambda d: d.replace(b'Id="IHEManifest"', b'Id="Other"'), "reference"),
        (lambda d: d.replace(b"rsa-sha256", b"rsa-md5"), "algorithme"),
        (lambda d: b"<!DOCTYPE x [<!ENTITY e 'x'>]>" + d.split(b"?>", 1)[1], "forme"),
        (lambda d: d.replace(b"<ds:Signature ", b"<ds:Signatur "), "forme"),
    ],
)
def test_tampering_is_refused(soft: SoftSigner, tamper: object, reason: str | None) -> None:
    data = tamper(_sign(soft))  # type: ignore[operator]
    if reason is None:
        xades.verify_signature(data, {"1.2.250.1.999.1": DOC})
        return
    with pytest.raises(xades.XadesError) as caught:
        xades.verify_signature(data, {"1.2.250.1.999.1": DOC})
    assert caught.value.reason == reason


def test_a_changed_document_is_refused(soft: SoftSigner) -> None:
    with pytest.raises(xades.XadesError, match="empreinte"):
        xades.verify_signature(_sign(soft), {"1.2.250.1.999.1": DOC + b" "})


def test_wrapping_with_a_second_manifest_is_refused(soft: SoftSigner) -> None:
    root = etree.fromstring(_sign(soft))
    extra = etree.SubElement(root, f"{DS}Object")
    fake = etree.SubElement(extra, f"{DS}Manifest", Id="IHEManifest")
    etree.SubElement(fake, f"{DS}Reference", URI="urn:oid:9.9")
    with pytest.raises(xades.XadesError, match="reference"):
        xades.verify_signature(etree.tostring(root), {"1.2.250.1.999.1": DOC})


def test_another_certificate_than_the_signing_one_is_refused(soft: SoftSigner) -> None:
    other = SoftSigner()
    assert other.sign_certificate is not None
    root = etree.fromstring(_sign(soft))
    cert = root.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    cert.text = base64.b64encode(other.sign_certificate.public_bytes(Encoding.DER)).decode()
    with pytest.raises(xades.XadesError, match="certificat"):
        xades.verify_signature(etree.tostring(root), {"1.2.250.1.999.1": DOC})


def test_a_card_without_signature_key_cannot_sign() -> None:
    signer = SoftSigner()
    signer.sign_certificate = None
    with pytest.raises(CardNotRecognisedError):
        _sign(signer)
    assert signer.signed == 0


def test_official_signature_reads_and_its_signed_info_verifies() -> None:
    """The official TD2.1 signature: its SignedInfo and references verify (exclusive C14N,
    although it declares inclusive C14N — the DMP's own signer does so); its manifest
    digests do not match the published document (edited after signing)."""
    data = require_shared(DMP_MESSAGES / "TD2.1-SignatureXades.xml").read_bytes()
    certificate = xades.verify_signed_info(data)
    assert "899900063480" in certificate.subject.rfc4514_string()
    request = (DMP_MESSAGES / "TD2.1 - Alimentation_requête.xml").read_bytes()
    start = request.index(b"<ClinicalDocument")
    end = request.index(b"</ClinicalDocument>") + len(b"</ClinicalDocument>")
    with pytest.raises(xades.XadesError, match=r"document|empreinte"):
        xades.verify_signature(data, {"1.2.250.1.999.1.1.7898.4.9956570902": request[start:end]})


# --- the W3C XML-DSig and ETSI XAdES schemas, and a maintained verifier (signxml) ----------------


def test_valid_against_the_xmldsig_schema(soft: SoftSigner) -> None:
    """The W3C schema (as shipped by signxml) accepts the whole signature document."""
    XMLDSIG_SCHEMA().assertValid(etree.fromstring(_sign(soft)))


def test_the_official_example_fails_the_xmldsig_schema_only_by_its_id() -> None:
    """Its no-namespace SignatureProperties pass; its Id starts with a digit (not an xs:ID),
    which is why ours starts with "id-"."""
    data = require_shared(DMP_MESSAGES / "TD2.1-SignatureXades.xml").read_bytes()
    schema = XMLDSIG_SCHEMA()
    assert not schema.validate(etree.fromstring(data))
    assert [e.path for e in schema.error_log] == ["/*"]
    assert "xs:ID" in schema.error_log[0].message
    root = etree.fromstring(data)
    root.set("Id", "id-" + root.get("Id"))
    schema.assertValid(root)


def test_a_ds_signature_property_with_text_only_is_what_the_schema_refuses(
    soft: SoftSigner,
) -> None:
    """The former shape (ds:SignatureProperty holding the OID as text) is invalid."""
    root = etree.fromstring(_sign(soft))
    for el in root.iter("SignatureProperties", "SignatureProperty"):
        el.tag = f"{DS}{el.tag}"
    assert not XMLDSIG_SCHEMA().validate(root)


def test_qualifying_properties_valid_against_the_xades_schema(soft: SoftSigner) -> None:
    """XAdES as the official example writes it (namespace v1.1.1): checked with the ETSI
    v1.3.2 schema shipped by signxml, whose content model for what we write
    (SigningTime, SigningCertificate, SignaturePolicyImplied, SignedDataObjectProperties)
    is the v1.1.1 one; no v1.1.1 schema is at hand."""
    qualifying = etree.fromstring(_sign(soft)).find(f"{DS}Object/{XA}QualifyingProperties")
    assert qualifying is not None
    XADES_132().assertValid(xades_as_132(qualifying))
    broken = xades_as_132(qualifying)
    policy = broken.find(".//{*}SignaturePolicyIdentifier")
    policy.getparent().remove(policy)
    signed = broken.find(".//{*}SignedSignatureProperties")
    etree.SubElement(signed, "{http://uri.etsi.org/01903/v1.3.2#}Unknown")
    assert not XADES_132().validate(broken)  # the check can fail


def test_verified_by_signxml_with_the_card_signature_certificate(durand: CardSession) -> None:
    from signxml import XMLVerifier
    from signxml.exceptions import InvalidDigest, InvalidSignature

    assert durand.sign_certificate is not None
    pem = durand.sign_certificate.public_bytes(Encoding.PEM)
    data = _sign(durand)
    results = XMLVerifier().verify(data, x509_cert=pem, expect_references=2)
    assert isinstance(results, list)
    assert sorted(etree.QName(r.signed_xml).localname for r in results) == [
        "Manifest",
        "SignedProperties",
    ]
    with pytest.raises((InvalidDigest, InvalidSignature)):
        XMLVerifier().verify(
            data.replace(b"T10:30:00", b"T11:30:00"), x509_cert=pem, expect_references=2
        )
    with pytest.raises(InvalidSignature):
        assert durand.auth_certificate is not None
        XMLVerifier().verify(
            data,
            x509_cert=durand.auth_certificate.public_bytes(Encoding.PEM),
            expect_references=2,
        )
