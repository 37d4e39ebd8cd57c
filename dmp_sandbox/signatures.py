"""XML signatures the host checks, with a maintained library (signxml), never the client's code.

Two signatures reach the host:

- **the submission set's signature** (TD2.1, IHE DSG, XAdES): a detached
  ``ds:Signature`` document whose ``SignedInfo`` signs a ``ds:Manifest``
  (one ``Reference`` per document, ``URI`` = ``urn:oid:<uniqueId>``, digest
  of the bytes sent) and the XAdES ``SignedProperties`` (signing time,
  signing-certificate digest). :func:`verify_xades`;
- **the VIHF of structure mode** ("indirecte renforcée"): an enveloped
  signature of the ``saml2:Assertion``. :func:`verify_enveloped`.

What signxml checks (``XMLVerifier``): the signature element against the
W3C XML-DSig schema (``xmldsig1-schema.xsd`` shipped with signxml), the
algorithms (RSA-SHA256/384/512 and SHA-2 digests only), every ``SignedInfo``
reference's digest after its transforms, and the signature value with the
certificate of ``KeyInfo`` (validity dates included). What this module adds
on the *signed* data signxml returns ("see what is signed"): the manifest's
references against the documents received (exactly those, SHA-2 digests of
the exact bytes), the XAdES signing-certificate digest against the
``KeyInfo`` certificate. Whether the certificate may sign at all (which CA,
which person) is the caller's policy (:mod:`dmp_sandbox.xades_verify`,
:mod:`dmp_sandbox.vihf_verify`).

Failures raise :class:`SignatureInvalid` with a short reason code:
``forme`` (not a readable signature), ``schema`` (not valid against the
XML-DSig schema), ``algorithme``, ``reference``, ``empreinte``,
``document``, ``certificat``, ``signature``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import (
    DigestAlgorithm,
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignatureConfiguration,
    SignatureMethod,
    XMLVerifier,
)
from signxml.exceptions import SignXMLException

from dmp_sandbox import wire
from dmp_sandbox.xmlparse import XmlRefused, parse_xml

# signxml logs what it canonicalises at DEBUG level: a VIHF (the patient's INS), a manifest.
# Rule 7 (no patient data in the logs): its records stop at WARNING, whatever the root level.
logging.getLogger("signxml").setLevel(logging.WARNING)

XADES_111 = "http://uri.etsi.org/01903/v1.1.1#"  # the namespace of the official example
XADES_132 = "http://uri.etsi.org/01903/v1.3.2#"
TYPE_MANIFEST = f"{wire.DS}Manifest"
DOCUMENT_URI_PREFIX = "urn:oid:"

_SIGNATURE_METHODS = frozenset(
    {SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512}
)
_DIGEST_METHODS = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)
_HASHLIB = {
    DigestAlgorithm.SHA256.value: "sha256",
    DigestAlgorithm.SHA384.value: "sha384",
    DigestAlgorithm.SHA512.value: "sha512",
}


class SignatureInvalid(Exception):
    """A signature the host refuses; ``reason`` is a short code (never content)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail  # signxml's or the schema's words, for the message (no content)


@dataclass(frozen=True)
class VerifiedXades:
    certificate: x509.Certificate
    signing_time: str
    covered: tuple[str, ...]  # the document unique ids the manifest covers


@dataclass(frozen=True)
class VerifiedEnveloped:
    certificate: x509.Certificate
    signed: etree._Element  # the signed element, as signed (read claims from this one)


def _ds(local: str) -> str:
    return f"{{{wire.DS}}}{local}"


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("forme") from None


def keyinfo_certificate(signature: etree._Element) -> x509.Certificate:
    """The one certificate of ``KeyInfo/X509Data`` (two, or none, is refused)."""
    found = signature.findall(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if len(found) != 1:
        raise SignatureInvalid("certificat")
    try:
        return x509.load_der_x509_certificate(_b64(found[0].text))
    except ValueError:
        raise SignatureInvalid("certificat") from None


def _verify(
    root: etree._Element,
    certificate: x509.Certificate,
    *,
    references: int,
    location: str,
    schema: bool,
) -> list[object]:
    config = SignatureConfiguration(
        location=location,
        expect_references=references,
        signature_methods=_SIGNATURE_METHODS,
        digest_algorithms=_DIGEST_METHODS,
    )
    try:
        result = XMLVerifier().verify(
            root,
            x509_cert=certificate,
            validate_schema=schema,
            expect_config=config,
        )
    except InvalidDigest as exc:
        raise SignatureInvalid("empreinte", str(exc)) from None
    except InvalidCertificate as exc:
        raise SignatureInvalid("certificat", str(exc)) from None
    except InvalidInput as exc:
        raise SignatureInvalid("forme", str(exc)) from None
    except InvalidSignature as exc:
        text = str(exc)
        if "schema" in text.lower() or "Element" in text:
            raise SignatureInvalid("schema", text) from None
        if "algorithm" in text.lower() or "method" in text.lower():
            raise SignatureInvalid("algorithme", text) from None
        raise SignatureInvalid("signature", text) from None
    except etree.DocumentInvalid as exc:  # signxml's schema check (validate_schema)
        raise SignatureInvalid("schema", str(exc)) from None
    except ValueError as exc:  # an unknown algorithm URI (signxml's enums)
        raise SignatureInvalid("algorithme", str(exc)) from None
    except SignXMLException as exc:  # anything else signxml refuses
        raise SignatureInvalid("signature", str(exc)) from None
    return list(result) if isinstance(result, list) else [result]


def dsig_schema_problem(signature: etree._Element) -> str | None:
    """Why ``signature`` is not valid against the W3C XML-DSig schema (signxml's copy), or None."""
    try:
        XMLVerifier().validate_schema(deepcopy(signature))
    except InvalidSignature as exc:
        return str(exc)
    except etree.DocumentInvalid as exc:
        return str(exc)
    return None


def _either(parent: etree._Element, xades: str, local: str) -> etree._Element | None:
    found = parent.find(_ds(local))
    return found if found is not None else parent.find(f"{{{xades}}}{local}")


def _digest_matches(reference: etree._Element, content: bytes) -> None:
    if reference.find(_ds("Transforms")) is not None:
        raise SignatureInvalid("algorithme")  # the bytes sent are signed as they are
    method = reference.find(_ds("DigestMethod"))
    name = _HASHLIB.get(method.get("Algorithm") or "") if method is not None else None
    if name is None:
        raise SignatureInvalid("algorithme")
    expected = _b64(reference.findtext(_ds("DigestValue")))
    if not hmac.compare_digest(hashlib.new(name, content).digest(), expected):
        raise SignatureInvalid("empreinte")  # the document changed after signing


def verify_xades(
    data: bytes,
    documents: Mapping[str, bytes],
    *,
    strict_schema: bool = True,
    check_certificate: Callable[[x509.Certificate], None] | None = None,
) -> VerifiedXades:
    """Verify a submission signature over ``documents`` (unique id -> the bytes received).

    ``strict_schema``: refuse a signature that is not valid against the
    XML-DSig schema (see :data:`dmp_sandbox.xades_verify.STRICT_DSIG_SCHEMA`).
    ``check_certificate``: the caller's policy on the ``KeyInfo`` certificate
    (which CA, valid when), applied before the cryptography.
    """
    try:
        root = parse_xml(data)
    except XmlRefused:
        raise SignatureInvalid("forme") from None
    if root.tag != _ds("Signature"):
        raise SignatureInvalid("forme")
    if strict_schema:
        problem = dsig_schema_problem(root)
        if problem is not None:
            raise SignatureInvalid("schema", problem)
    certificate = keyinfo_certificate(root)
    if check_certificate is not None:
        check_certificate(certificate)
    results = _verify(root, certificate, references=2, location="./", schema=False)
    manifest = properties = None
    for result in results:
        signed = getattr(result, "signed_xml", None)
        if signed is None:
            raise SignatureInvalid("reference")
        if signed.tag == _ds("Manifest") and manifest is None:
            manifest = signed
        elif etree.QName(signed).localname == "SignedProperties" and properties is None:
            if etree.QName(signed).namespace not in (XADES_111, XADES_132):
                raise SignatureInvalid("reference")
            properties = signed
        else:
            raise SignatureInvalid("reference")
    if manifest is None or properties is None:
        raise SignatureInvalid("reference")

    wanted = {f"{DOCUMENT_URI_PREFIX}{uid}": content for uid, content in documents.items()}
    covered: list[str] = []
    for reference in manifest.findall(_ds("Reference")):
        uri = reference.get("URI") or ""
        if uri not in wanted or uri in covered:
            raise SignatureInvalid("document")
        _digest_matches(reference, wanted[uri])
        covered.append(uri)
    if set(covered) != set(wanted):
        raise SignatureInvalid("document")

    xades = etree.QName(properties).namespace
    cert = properties.find(
        f"{{{xades}}}SignedSignatureProperties/{{{xades}}}SigningCertificate/{{{xades}}}Cert"
    )
    if cert is None:
        raise SignatureInvalid("certificat")
    # CertDigest holds ds:DigestMethod / ds:DigestValue (XAdES schema); the official
    # example writes them in the XAdES namespace: both are read.
    cert_digest = cert.find(f"{{{xades}}}CertDigest")
    if cert_digest is None:
        raise SignatureInvalid("certificat")
    digest_method = _either(cert_digest, xades, "DigestMethod")
    name = _HASHLIB.get(digest_method.get("Algorithm") or "") if digest_method is not None else None
    if name is None:
        raise SignatureInvalid("algorithme")
    value = _either(cert_digest, xades, "DigestValue")
    expected = _b64(value.text if value is not None else None)
    actual = hashlib.new(name, certificate.public_bytes(Encoding.DER)).digest()
    if not hmac.compare_digest(actual, expected):
        raise SignatureInvalid("certificat")
    signing_time = properties.findtext(
        f"{{{xades}}}SignedSignatureProperties/{{{xades}}}SigningTime"
    )
    return VerifiedXades(
        certificate,
        (signing_time or "").strip(),
        tuple(uri.removeprefix(DOCUMENT_URI_PREFIX) for uri in covered),
    )


def verify_enveloped(element: etree._Element) -> VerifiedEnveloped:
    """Verify the enveloped signature child of ``element`` (a signed VIHF assertion)."""
    signatures = element.findall(_ds("Signature"))
    if len(signatures) != 1:
        raise SignatureInvalid("absente" if not signatures else "forme")
    certificate = keyinfo_certificate(signatures[0])
    references = signatures[0].findall(f"{_ds('SignedInfo')}/{_ds('Reference')}")
    own_id = element.get("ID") or element.get("Id")
    if len(references) != 1 or not own_id or references[0].get("URI") != f"#{own_id}":
        raise SignatureInvalid("reference")  # it must sign this very element, nothing else
    document = parse_xml(etree.tostring(element))
    results = _verify(document, certificate, references=1, location="./", schema=True)
    signed = getattr(results[0], "signed_xml", None)
    if signed is None or signed.tag != element.tag:
        raise SignatureInvalid("reference")  # the signature must cover the whole assertion
    return VerifiedEnveloped(certificate, signed)
