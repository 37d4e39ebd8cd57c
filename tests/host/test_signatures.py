"""The host's signature checks (signxml) on enveloped signatures: a signed VIHF's shape."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

from dmp_sandbox.signatures import SignatureInvalid, verify_enveloped

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


def _signed_assertion() -> etree._Element:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "STRUCTURE TEST")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    assertion = etree.Element(f"{{{SAML}}}Assertion", nsmap={"saml2": SAML}, ID="_a1")
    etree.SubElement(assertion, f"{{{SAML}}}Issuer").text = "CN=STRUCTURE TEST"
    subject = etree.SubElement(assertion, f"{{{SAML}}}Subject")
    etree.SubElement(subject, f"{{{SAML}}}NameID").text = "899700433153"
    signed = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
        assertion, key=key, cert=[cert], reference_uri="_a1", id_attribute="ID"
    )
    return signed


def test_a_signed_assertion_verifies() -> None:
    signed = _signed_assertion()
    verified = verify_enveloped(signed)
    assert verified.signed.findtext(f"{{{SAML}}}Subject/{{{SAML}}}NameID") == "899700433153"


def test_a_changed_assertion_is_refused() -> None:
    signed = _signed_assertion()
    signed.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = "899700433160"
    with pytest.raises(SignatureInvalid) as refused:
        verify_enveloped(signed)
    assert refused.value.reason == "empreinte"


def test_a_structurally_invalid_signature_is_refused_not_a_crash() -> None:
    """Cryptographically intact, but not valid against the XML-DSig schema."""
    signed = _signed_assertion()
    signature = signed.find(f"{{{DS}}}Signature")
    etree.SubElement(signature, f"{{{DS}}}Intruder")
    with pytest.raises(SignatureInvalid) as refused:
        verify_enveloped(signed)
    assert refused.value.reason == "schema"


def test_a_signature_of_something_else_is_refused() -> None:
    signed = _signed_assertion()
    reference = signed.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference")
    reference.set("URI", "#_other")
    with pytest.raises(SignatureInvalid) as refused:
        verify_enveloped(signed)
    assert refused.value.reason == "reference"
