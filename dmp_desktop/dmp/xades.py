"""The submission set's signature (IHE DSG, XAdES), made with the card's signature key.

TD2.1 (ITI-41) carries, beside the documents, one more document: a detached
XML signature over the submission, shaped like the official
``TD2.1-SignatureXades.xml``::

    <Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="id-…">
      <SignedInfo>
        <CanonicalizationMethod Algorithm="…xml-exc-c14n#"/>
        <SignatureMethod Algorithm="…rsa-sha256"/>
        <Reference Type="…xmldsig#Manifest" URI="#IHEManifest">
          <Transforms><Transform Algorithm="…xml-exc-c14n#"/></Transforms>
          <DigestMethod Algorithm="…#sha256"/><DigestValue>…</DigestValue>
        </Reference>
        <Reference Type="http://uri.etsi.org/01903/v1.1.1#SignedProperties"
                   URI="#S0-SignedProperties">(same)</Reference>
      </SignedInfo>
      <SignatureValue>…</SignatureValue>
      <KeyInfo><X509Data><X509Certificate>(the card's signature certificate)</…></KeyInfo>
      <Object><Manifest Id="IHEManifest">
        <Reference URI="urn:oid:(XDSDocumentEntry.uniqueId)">
          <DigestMethod …sha256/><DigestValue>(SHA-256 of the bytes sent)</DigestValue>
        </Reference>…
      </Manifest></Object>
      <Object><SignatureProperties xmlns="">
        <SignatureProperty Id="purposeOfSignature" Target="#id-…">1.2.840.10065.1.12.1.14</…>
      </SignatureProperties></Object>
      <Object><QualifyingProperties xmlns="http://uri.etsi.org/01903/v1.1.1#" Target="#id-…">
        <SignedProperties Id="S0-SignedProperties"><SignedSignatureProperties>
          <SigningTime>…</SigningTime>
          <SigningCertificate><Cert><CertDigest>(ds:DigestMethod, ds:DigestValue)</CertDigest>
            <IssuerSerial>(ds:X509IssuerName, ds:X509SerialNumber)</IssuerSerial></Cert>
          </SigningCertificate>
          <SignaturePolicyIdentifier><SignaturePolicyImplied/></SignaturePolicyIdentifier>
        </SignedSignatureProperties><SignedDataObjectProperties/></SignedProperties>
      </QualifyingProperties></Object>
    </Signature>

Where we differ from the example, on purpose: SHA-256 and RSA-SHA256 instead
of SHA-1 (the example's algorithms are read too), exclusive C14N without
comments, stated as an explicit transform on each reference.

Like the example, ``SignatureProperties`` / ``SignatureProperty`` are in no
namespace (the example declares ``xmlns=""``; we write the signature with the
``ds:`` prefix instead of a default namespace, which is the same XML): the
XML-DSig schema lets a ``ds:Object`` hold any element (lax), but a
``ds:SignatureProperty`` must contain an element of another namespace, never
text alone, so the XML-DSig-namespaced form is invalid and a strict verifier
(signxml with schema checking) refuses it. Unlike the example, the
``CertDigest`` children are ``ds:DigestMethod`` / ``ds:DigestValue``, as the
XAdES schema wants (the example has them in the XAdES namespace). The card signs ``SignedInfo``
itself (SHA256withRSA, PKCS#1 v1.5: :meth:`CardSession.sign_with_signature_key`);
the key never leaves it.

:func:`verify_signature` checks a signature of this shape against the
documents it covers (for the training host and the tests): references,
manifest digests, signing-certificate digest and the RSA value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dates import xs_datetime
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.vihf_signature import (
    C14N_EXCLUSIVE,
    DIGEST_SHA1,
    DIGEST_SHA256,
    RSA_SHA1,
    RSA_SHA256,
)
from dmp_desktop.dmp.xmlutil import Element, qn
from dmp_desktop.errors import CardNotRecognisedError, DmpProtocolError

DS = ns.DS
XADES = "http://uri.etsi.org/01903/v1.1.1#"
TYPE_MANIFEST = "http://www.w3.org/2000/09/xmldsig#Manifest"
TYPE_SIGNED_PROPERTIES = "http://uri.etsi.org/01903/v1.1.1#SignedProperties"
C14N_INCLUSIVE = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_INCLUSIVE_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
C14N_EXCLUSIVE_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
MANIFEST_ID = "IHEManifest"
SIGNED_PROPERTIES_ID = "S0-SignedProperties"
# ISO/TS 17090-4 / ASTM E1762 "Source" signature: the purpose IHE DSG uses.
PURPOSE_SOURCE = "1.2.840.10065.1.12.1.14"

# C14N algorithm -> (exclusive, with comments)
_C14N: dict[str, tuple[bool, bool]] = {
    C14N_EXCLUSIVE: (True, False),
    C14N_EXCLUSIVE_COMMENTS: (True, True),
    C14N_INCLUSIVE: (False, False),
    C14N_INCLUSIVE_COMMENTS: (False, True),
}
_DIGESTS: dict[str, str] = {DIGEST_SHA256: "sha256", DIGEST_SHA1: "sha1"}
_SIGNATURES: dict[str, type[hashes.HashAlgorithm]] = {
    RSA_SHA256: hashes.SHA256,
    RSA_SHA1: hashes.SHA1,
}


class XadesError(DmpProtocolError):
    """A submission signature that is missing, malformed or does not verify.

    ``reason`` is a short code (``forme``, ``algorithme``, ``reference``,
    ``empreinte``, ``document``, ``certificat``, ``signature``): never content.
    """


class DocumentSigner(Protocol):
    """Who holds the signature key: a logged-in :class:`~dmp_desktop.smartcard.CardSession`."""

    @property
    def sign_certificate(self) -> x509.Certificate | None: ...

    def sign_with_signature_key(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class SignedDocument:
    """One document the signature covers: its XDS unique id and the exact bytes sent."""

    unique_id: str
    content: bytes

    @property
    def uri(self) -> str:
        return f"urn:oid:{self.unique_id}"


@dataclass(frozen=True)
class VerifiedSignature:
    certificate: x509.Certificate
    signing_time: str
    covered: tuple[str, ...]  # the manifest's URIs, in order


def _ds(local: str) -> str:
    return qn(DS, local)


def _xades(local: str) -> str:
    return qn(XADES, local)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _c14n(element: Element, algorithm: str = C14N_EXCLUSIVE) -> bytes:
    exclusive, comments = _C14N[algorithm]
    return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=comments)


def _digest(data: bytes, algorithm: str = DIGEST_SHA256) -> bytes:
    return hashlib.new(_DIGESTS[algorithm], data).digest()


def _reference(
    parent: Element, uri: str, digest: bytes, *, kind: str | None, c14n: bool
) -> Element:
    reference = etree.SubElement(parent, _ds("Reference"))
    if kind:
        reference.set("Type", kind)
    reference.set("URI", uri)
    if c14n:
        transforms = etree.SubElement(reference, _ds("Transforms"))
        etree.SubElement(transforms, _ds("Transform"), Algorithm=C14N_EXCLUSIVE)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=DIGEST_SHA256)
    etree.SubElement(reference, _ds("DigestValue")).text = _b64(digest)
    return reference


def _signing_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return xs_datetime(moment)


def sign_submission(
    documents: Sequence[SignedDocument],
    signer: DocumentSigner,
    *,
    signing_time: datetime | None = None,
    signature_id: str | None = None,
) -> bytes:
    """The XAdES signature document over ``documents`` (UTF-8 bytes, ready to send).

    Raises :class:`CardNotRecognisedError` when the card has no signature
    certificate; card errors (removed card...) come through as they are.
    """
    if not documents:
        raise ValueError("nothing to sign")
    certificate = signer.sign_certificate
    if certificate is None:
        raise CardNotRecognisedError()
    signature_id = signature_id or f"id-{uuid.uuid4()}"
    # The "ds" prefix (same namespace as the example's default one) lets the
    # no-namespace SignatureProperties below serialise as such: libxml2 writes
    # no xmlns="" undeclaration under a default namespace.
    root = etree.Element(_ds("Signature"), nsmap={"ds": DS})
    root.set("Id", signature_id)
    signed_info = etree.SubElement(root, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=C14N_EXCLUSIVE)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=RSA_SHA256)
    value = etree.SubElement(root, _ds("SignatureValue"))
    key_info = etree.SubElement(root, _ds("KeyInfo"))
    etree.SubElement(
        etree.SubElement(key_info, _ds("X509Data")), _ds("X509Certificate")
    ).text = _b64(certificate.public_bytes(Encoding.DER))

    manifest = etree.SubElement(etree.SubElement(root, _ds("Object")), _ds("Manifest"))
    manifest.set("Id", MANIFEST_ID)
    for document in documents:
        _reference(manifest, document.uri, _digest(document.content), kind=None, c14n=False)

    # As in the official example: SignatureProperties in no namespace.
    # Inside ds:Object (any content, lax) that is valid XML-DSig, whereas a
    # ds:SignatureProperty holding only text is not (it needs a child element).
    properties = etree.SubElement(etree.SubElement(root, _ds("Object")), "SignatureProperties")
    purpose = etree.SubElement(properties, "SignatureProperty")
    purpose.set("Id", "purposeOfSignature")
    purpose.set("Target", f"#{signature_id}")
    purpose.text = PURPOSE_SOURCE

    qualifying = etree.SubElement(
        etree.SubElement(root, _ds("Object")), _xades("QualifyingProperties"), nsmap={None: XADES}
    )
    qualifying.set("Target", f"#{signature_id}")
    signed_properties = etree.SubElement(qualifying, _xades("SignedProperties"))
    signed_properties.set("Id", SIGNED_PROPERTIES_ID)
    signature_properties = etree.SubElement(signed_properties, _xades("SignedSignatureProperties"))
    etree.SubElement(signature_properties, _xades("SigningTime")).text = _signing_time(
        signing_time or datetime.now(UTC)
    )
    cert = etree.SubElement(
        etree.SubElement(signature_properties, _xades("SigningCertificate")), _xades("Cert")
    )
    # XAdES' DigestAlgAndValueType and X509IssuerSerialType hold XML-DSig elements
    # (the official example writes CertDigest's children in the XAdES namespace,
    # which the XAdES schema refuses; both are read).
    cert_digest = etree.SubElement(cert, _xades("CertDigest"))
    etree.SubElement(cert_digest, _ds("DigestMethod"), Algorithm=DIGEST_SHA256)
    etree.SubElement(cert_digest, _ds("DigestValue")).text = _b64(
        _digest(certificate.public_bytes(Encoding.DER))
    )
    issuer_serial = etree.SubElement(cert, _xades("IssuerSerial"))
    etree.SubElement(
        issuer_serial, _ds("X509IssuerName")
    ).text = certificate.issuer.rfc4514_string()
    etree.SubElement(issuer_serial, _ds("X509SerialNumber")).text = str(certificate.serial_number)
    policy = etree.SubElement(signature_properties, _xades("SignaturePolicyIdentifier"))
    etree.SubElement(policy, _xades("SignaturePolicyImplied"))
    etree.SubElement(signed_properties, _xades("SignedDataObjectProperties"))

    # The references of SignedInfo come last: they digest the finished Objects.
    _reference(
        signed_info, f"#{MANIFEST_ID}", _digest(_c14n(manifest)), kind=TYPE_MANIFEST, c14n=True
    )
    _reference(
        signed_info,
        f"#{SIGNED_PROPERTIES_ID}",
        _digest(_c14n(signed_properties)),
        kind=TYPE_SIGNED_PROPERTIES,
        c14n=True,
    )
    value.text = _b64(signer.sign_with_signature_key(_c14n(signed_info)))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --- verification --------------------------------------------------------------------------------


def _only(parent: Element, tag: str) -> Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise XadesError("forme")
    return found[0]


def _either(parent: Element, local: str) -> Element:
    """The one child ``local``, in the XML-DSig (schema) or XAdES (example) namespace."""
    found = parent.findall(_ds(local)) + parent.findall(_xades(local))
    if len(found) != 1:
        raise XadesError("forme")
    return found[0]


def _decode(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise XadesError("forme") from None


def _by_id(root: Element, ident: str) -> Element:
    found = [el for el in root.iter() if isinstance(el.tag, str) and el.get("Id") == ident]
    if len(found) != 1:
        raise XadesError("reference")  # missing, or duplicated (signature wrapping)
    return found[0]


def _check_reference(reference: Element, content: bytes | Element) -> None:
    """Apply the (C14N-only) transforms of ``reference`` to ``content``; compare the digest."""
    method = _only(reference, _ds("DigestMethod")).get("Algorithm") or ""
    if method not in _DIGESTS:
        raise XadesError("algorithme")
    transforms = reference.find(_ds("Transforms"))
    algorithms = (
        [t.get("Algorithm") or "" for t in transforms.findall(_ds("Transform"))]
        if transforms is not None
        else []
    )
    if len(algorithms) > 1 or any(a not in _C14N for a in algorithms):
        raise XadesError("algorithme")
    if isinstance(content, bytes):
        if algorithms:
            try:
                content = _c14n(xmlsafe.parse(content), algorithms[0])
            except xmlsafe.UnsafeXmlError:
                raise XadesError("document") from None
        candidates = [content]
    else:
        # Same-document reference: C14N is applied whatever the transforms say.
        candidates = [
            _c14n(content, algorithm)
            for algorithm in _tolerated(algorithms[0] if algorithms else C14N_INCLUSIVE)
        ]
    expected = _decode(_only(reference, _ds("DigestValue")).text)
    if not any(hmac.compare_digest(_digest(data, method), expected) for data in candidates):
        raise XadesError("empreinte")


def _tolerated(algorithm: str) -> list[str]:
    """The C14N to try for ``algorithm``: itself, then (inclusive only) exclusive C14N.

    The official example declares inclusive C14N but its SignedInfo and its
    manifest were canonicalised with exclusive C14N (both verify that way
    only): the DMP's own signer does so, so a reader must accept it.
    """
    if algorithm in (C14N_INCLUSIVE, C14N_INCLUSIVE_COMMENTS):
        return [algorithm, C14N_EXCLUSIVE]
    return [algorithm]


def _certificate(root: Element) -> x509.Certificate:
    found = root.find(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if found is None:
        raise XadesError("certificat")
    try:
        certificate = x509.load_der_x509_certificate(_decode(found.text))
    except ValueError:
        raise XadesError("certificat") from None
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise XadesError("certificat")
    return certificate


def verify_signed_info(data: bytes) -> x509.Certificate:
    """Only the RSA value over ``SignedInfo``, with the ``KeyInfo`` certificate.

    For reading the official example, whose digests no longer match the
    documents it was published with.
    """
    root = _parse(data)
    certificate = _certificate(root)
    _verify_value(root, certificate)
    return certificate


def _parse(data: bytes) -> Element:
    try:
        root = xmlsafe.parse(data)
    except xmlsafe.UnsafeXmlError:
        raise XadesError("forme") from None
    if root.tag != _ds("Signature"):
        raise XadesError("forme")
    return root


def _verify_value(root: Element, certificate: x509.Certificate) -> None:
    signed_info = _only(root, _ds("SignedInfo"))
    c14n = _only(signed_info, _ds("CanonicalizationMethod")).get("Algorithm") or ""
    method = _only(signed_info, _ds("SignatureMethod")).get("Algorithm") or ""
    if c14n not in _C14N or method not in _SIGNATURES:
        raise XadesError("algorithme")
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # noqa: S101 - checked by _certificate
    value = _decode(_only(root, _ds("SignatureValue")).text)
    for algorithm in _tolerated(c14n):
        try:
            public_key.verify(
                value, _c14n(signed_info, algorithm), padding.PKCS1v15(), _SIGNATURES[method]()
            )
            return
        except InvalidSignature:
            continue
    raise XadesError("signature")


def verify_signature(data: bytes, documents: Mapping[str, bytes]) -> VerifiedSignature:
    """Check a submission signature against the documents it must cover.

    ``documents`` maps each document's XDS unique id to the bytes received.
    Every one of them must be in the manifest with a matching digest, the
    ``SignedInfo`` references (manifest, signed properties) must match, the
    signing certificate's digest must be the ``KeyInfo`` certificate's, and
    the RSA value must verify. Raises :class:`XadesError`.
    """
    root = _parse(data)
    signed_info = _only(root, _ds("SignedInfo"))
    references = signed_info.findall(_ds("Reference"))
    kinds = {ref.get("Type"): ref for ref in references}
    manifest_ref = kinds.get(TYPE_MANIFEST)
    properties_ref = kinds.get(TYPE_SIGNED_PROPERTIES)
    if manifest_ref is None or properties_ref is None or len(references) != 2:
        raise XadesError("forme")
    for reference in references:
        uri = reference.get("URI") or ""
        if not uri.startswith("#"):
            raise XadesError("reference")
        _check_reference(reference, _by_id(root, uri[1:]))
    manifest = _by_id(root, (manifest_ref.get("URI") or "")[1:])
    signed_properties = _by_id(root, (properties_ref.get("URI") or "")[1:])
    if manifest.tag != _ds("Manifest") or signed_properties.tag != _xades("SignedProperties"):
        raise XadesError("reference")

    wanted = {f"urn:oid:{uid}": content for uid, content in documents.items()}
    covered: list[str] = []
    for reference in manifest.findall(_ds("Reference")):
        uri = reference.get("URI") or ""
        if uri not in wanted:
            raise XadesError("document")
        _check_reference(reference, wanted[uri])
        covered.append(uri)
    if set(covered) != set(wanted) or len(covered) != len(wanted):
        raise XadesError("document")

    certificate = _certificate(root)
    cert = signed_properties.find(
        f"{_xades('SignedSignatureProperties')}/{_xades('SigningCertificate')}/{_xades('Cert')}"
    )
    if cert is None:
        raise XadesError("certificat")
    digest_el = _only(cert, _xades("CertDigest"))
    method = _either(digest_el, "DigestMethod").get("Algorithm") or ""
    if method not in _DIGESTS:
        raise XadesError("algorithme")
    expected = _decode(_either(digest_el, "DigestValue").text)
    if not hmac.compare_digest(_digest(certificate.public_bytes(Encoding.DER), method), expected):
        raise XadesError("certificat")
    _verify_value(root, certificate)
    time_el = signed_properties.find(
        f"{_xades('SignedSignatureProperties')}/{_xades('SigningTime')}"
    )
    return VerifiedSignature(
        certificate=certificate,
        signing_time=(time_el.text or "").strip() if time_el is not None else "",
        covered=tuple(covered),
    )


__all__ = [
    "MANIFEST_ID",
    "PURPOSE_SOURCE",
    "XADES",
    "DocumentSigner",
    "SignedDocument",
    "VerifiedSignature",
    "XadesError",
    "sign_submission",
    "verify_signature",
    "verify_signed_info",
]
