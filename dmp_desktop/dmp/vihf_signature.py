"""The VIHF's enveloped XML signature (structure mode, "authentification indirecte renforcée").

In the indirect modes the structure vouches for the professional: the VIHF is
signed with the structure's certificate. The signature has exactly the shape
of the official ``VIHF_INDIRECTE_RENFORCEE_signé.xml``::

    <saml2:Assertion ID="_…">
      <saml2:Issuer …>(the structure certificate's subject)</saml2:Issuer>
      <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
        <SignedInfo>
          <CanonicalizationMethod Algorithm="…xml-exc-c14n#"/>
          <SignatureMethod Algorithm="…rsa-sha256"/>
          <Reference URI="#_…">
            <Transforms>
              <Transform Algorithm="…#enveloped-signature"/>
              <Transform Algorithm="…xml-exc-c14n#"/>
            </Transforms>
            <DigestMethod Algorithm="…#sha256"/>
            <DigestValue>…</DigestValue>
          </Reference>
        </SignedInfo>
        <SignatureValue>…</SignatureValue>
        <KeyInfo><X509Data><X509Certificate>…</X509Certificate></X509Data></KeyInfo>
      </Signature>
      <saml2:Subject>…

The official examples use RSA-SHA1; we sign with RSA-SHA256 (SHA-256 digest)
and verify both. Canonicalisation is lxml's exclusive C14N 1.0 without
comments; the RSA signature is made by whoever holds the key through
:class:`SigningKey` (a PKCS#12 file, or a card), over a DER ``DigestInfo``.

:func:`verify_vihf_signature` checks the signature only (shape, reference,
digest, RSA value with the certificate of ``KeyInfo``); whether that
certificate may sign for the structure is the verifier's policy (the
training host: :mod:`dmp_sandbox.vihf_verify`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from dmp_desktop.dmp import ns
from dmp_desktop.dmp.xmlutil import Element, qn
from dmp_desktop.errors import DmpProtocolError

DS = ns.DS
C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
TRANSFORM_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
EXC_C14N_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"

# Signature method -> (hash name, cryptography hash).
_SIGNATURE_METHODS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    RSA_SHA256: ("sha256", hashes.SHA256),
    RSA_SHA1: ("sha1", hashes.SHA1),
}
_DIGEST_METHODS: dict[str, type[hashes.HashAlgorithm]] = {
    DIGEST_SHA256: hashes.SHA256,
    DIGEST_SHA1: hashes.SHA1,
}
ALL_ALGORITHMS = frozenset({RSA_SHA256, RSA_SHA1, DIGEST_SHA256, DIGEST_SHA1})
# DER DigestInfo header for SHA-256 (PKCS#1 v2.2, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class VihfSignatureError(DmpProtocolError):
    """The VIHF's signature is missing, malformed or does not verify.

    ``reason`` is a short code (``absente``, ``forme``, ``reference``,
    ``algorithme``, ``empreinte``, ``signature``, ``certificat``) that traces
    and tests can match; never any content of the assertion.
    """


class SigningKey(Protocol):
    """Who holds the structure's private key (``net.keys.FileClientKey`` does)."""

    def certificate_chain(self) -> list[x509.Certificate]: ...

    def sign_pkcs1(self, digest_info: bytes) -> bytes: ...


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that verified, and the certificate that made it."""

    certificate: x509.Certificate
    signature_method: str
    digest_method: str


def _ds(local: str) -> str:
    return qn(DS, local)


def _digest(data: bytes, algorithm: type[hashes.HashAlgorithm]) -> bytes:
    h = hashes.Hash(algorithm())
    h.update(data)
    return h.finalize()


def _c14n(element: Element, inclusive_prefixes: list[str] | None = None) -> bytes:
    return etree.tostring(
        element,
        method="c14n",
        exclusive=True,
        with_comments=False,
        inclusive_ns_prefixes=inclusive_prefixes or None,
    )


def _without_signature(assertion: Element, signature: Element | None) -> Element:
    """The enveloped-signature transform: a copy of the assertion without its Signature."""
    copied = copy.deepcopy(assertion)
    if signature is not None:
        index = list(assertion).index(signature)
        del copied[index]
    return copied


def sign_vihf(assertion: Element, key: SigningKey) -> Element:
    """Sign ``assertion`` in place (enveloped, exclusive C14N, RSA-SHA256); returns it."""
    chain = key.certificate_chain()
    if not chain:
        raise ValueError("no signing certificate")

    def rsa_sha256(data: bytes) -> bytes:
        return key.sign_pkcs1(_SHA256_DIGEST_INFO + _digest(data, hashes.SHA256))

    return sign_assertion(assertion, chain[0], rsa_sha256)


def sign_assertion(
    assertion: Element,
    certificate: x509.Certificate,
    rsa_sha256: Callable[[bytes], bytes],
) -> Element:
    """Sign a SAML 2.0 ``assertion`` in place, the shape of the module docstring.

    ``rsa_sha256(data)`` returns the RSA PKCS#1 v1.5 signature of SHA-256(data)
    (a card's signature key does that in one call: ``CardSession.sign_with_signature_key``);
    ``certificate`` goes in ``KeyInfo``.
    """
    if assertion.tag != qn(ns.SAML2, "Assertion"):
        raise ValueError("not a SAML 2.0 assertion")
    assertion_id = assertion.get("ID")
    if not assertion_id:
        raise ValueError("the assertion has no ID to sign")
    if assertion.find(_ds("Signature")) is not None:
        raise ValueError("the assertion is already signed")
    issuer = assertion.find(qn(ns.SAML2, "Issuer"))
    if issuer is None:
        raise ValueError("the assertion has no Issuer")

    digest = _digest(_c14n(assertion), hashes.SHA256)

    signature = etree.Element(_ds("Signature"), nsmap={None: DS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=C14N_EXCLUSIVE)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=RSA_SHA256)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI=f"#{assertion_id}")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=TRANSFORM_ENVELOPED)
    etree.SubElement(transforms, _ds("Transform"), Algorithm=C14N_EXCLUSIVE)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=DIGEST_SHA256)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    value = etree.SubElement(signature, _ds("SignatureValue"))
    key_info = etree.SubElement(signature, _ds("KeyInfo"))
    x509_data = etree.SubElement(key_info, _ds("X509Data"))
    etree.SubElement(x509_data, _ds("X509Certificate")).text = base64.b64encode(
        certificate.public_bytes(Encoding.DER)
    ).decode()
    issuer.addnext(signature)  # SAML 2.0: ds:Signature comes right after Issuer

    raw = rsa_sha256(_c14n(signed_info))
    value.text = base64.b64encode(raw).decode()
    return assertion


# --- verification --------------------------------------------------------------------------------


def _only(parent: Element, local: str) -> Element:
    found = parent.findall(_ds(local))
    if len(found) != 1:
        raise VihfSignatureError("forme")
    return found[0]


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise VihfSignatureError("forme") from None


def _exclusive_prefixes(method: Element) -> list[str] | None:
    """The ``InclusiveNamespaces PrefixList`` of an exclusive C14N method, if any."""
    inclusive = method.find(qn(EXC_C14N_NS, "InclusiveNamespaces"))
    if inclusive is None:
        return None
    return [p for p in (inclusive.get("PrefixList") or "").split() if p != "#default"]


def verify_vihf_signature(
    assertion: Element, *, algorithms: frozenset[str] = ALL_ALGORITHMS
) -> VerifiedSignature:
    """Check the enveloped signature of a VIHF; return the signing certificate.

    Refuses anything but the official shape: one ``Signature`` right after
    ``Issuer``, exclusive C14N, one ``Reference`` to the assertion's own ``ID``
    (unique in the document) with exactly the enveloped-signature and
    exclusive C14N transforms, an RSA signature made with the certificate of
    ``KeyInfo``. Raises :class:`VihfSignatureError`.
    """
    if assertion is None or assertion.tag != qn(ns.SAML2, "Assertion"):
        raise VihfSignatureError("forme")
    signatures = assertion.findall(_ds("Signature"))
    if not signatures:
        raise VihfSignatureError("absente")
    if len(signatures) != 1:
        raise VihfSignatureError("forme")
    signature = signatures[0]
    previous = signature.getprevious()
    while previous is not None and not isinstance(previous.tag, str):
        previous = previous.getprevious()  # comments and PIs do not count
    if previous is None or previous.tag != qn(ns.SAML2, "Issuer"):
        raise VihfSignatureError("forme")

    signed_info = _only(signature, "SignedInfo")
    c14n_method = _only(signed_info, "CanonicalizationMethod")
    if c14n_method.get("Algorithm") != C14N_EXCLUSIVE:
        raise VihfSignatureError("algorithme")
    signature_method = _only(signed_info, "SignatureMethod").get("Algorithm") or ""
    if signature_method not in _SIGNATURE_METHODS or signature_method not in algorithms:
        raise VihfSignatureError("algorithme")

    reference = _only(signed_info, "Reference")
    assertion_id = assertion.get("ID") or ""
    if not assertion_id or reference.get("URI") != f"#{assertion_id}":
        raise VihfSignatureError("reference")
    root = assertion.getroottree().getroot()
    if sum(1 for el in root.iter() if el.get("ID") == assertion_id) != 1:
        raise VihfSignatureError("reference")  # another element with the same ID: wrapping
    transforms = _only(reference, "Transforms").findall(_ds("Transform"))
    if [t.get("Algorithm") for t in transforms] != [TRANSFORM_ENVELOPED, C14N_EXCLUSIVE]:
        raise VihfSignatureError("forme")
    digest_method = _only(reference, "DigestMethod").get("Algorithm") or ""
    if digest_method not in _DIGEST_METHODS or digest_method not in algorithms:
        raise VihfSignatureError("algorithme")
    expected = _b64(_only(reference, "DigestValue").text)

    content = _c14n(_without_signature(assertion, signature), _exclusive_prefixes(transforms[1]))
    if not hmac.compare_digest(_digest(content, _DIGEST_METHODS[digest_method]), expected):
        raise VihfSignatureError("empreinte")

    x509_data = _only(_only(signature, "KeyInfo"), "X509Data")
    certs = x509_data.findall(_ds("X509Certificate"))
    if not certs:
        raise VihfSignatureError("certificat")
    try:
        certificate = x509.load_der_x509_certificate(_b64(certs[0].text))
    except ValueError:
        raise VihfSignatureError("certificat") from None
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise VihfSignatureError("certificat")

    hash_type = _SIGNATURE_METHODS[signature_method][1]
    value = _b64(_only(signature, "SignatureValue").text)
    signed = _c14n(signed_info, _exclusive_prefixes(c14n_method))
    try:
        public_key.verify(value, signed, padding.PKCS1v15(), hash_type())
    except InvalidSignature:
        raise VihfSignatureError("signature") from None
    return VerifiedSignature(certificate, signature_method, digest_method)


def verify_signed_info(assertion: Element) -> x509.Certificate:
    """Only the RSA value over ``SignedInfo``, with the ``KeyInfo`` certificate.

    For reading the official examples, whose SignedInfo verifies but whose
    content was edited after signing (their digests no longer match).
    """
    signature = assertion.find(_ds("Signature"))
    if signature is None:
        raise VihfSignatureError("absente")
    signed_info = _only(signature, "SignedInfo")
    method = _only(signed_info, "SignatureMethod").get("Algorithm") or ""
    if method not in _SIGNATURE_METHODS:
        raise VihfSignatureError("algorithme")
    cert_el = signature.find(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if cert_el is None:
        raise VihfSignatureError("certificat")
    try:
        certificate = x509.load_der_x509_certificate(_b64(cert_el.text))
    except ValueError:
        raise VihfSignatureError("certificat") from None
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise VihfSignatureError("certificat")
    try:
        public_key.verify(
            _b64(_only(signature, "SignatureValue").text),
            _c14n(signed_info),
            padding.PKCS1v15(),
            _SIGNATURE_METHODS[method][1](),
        )
    except InvalidSignature:
        raise VihfSignatureError("signature") from None
    return certificate


__all__ = [
    "ALL_ALGORITHMS",
    "RSA_SHA1",
    "RSA_SHA256",
    "SigningKey",
    "VerifiedSignature",
    "VihfSignatureError",
    "sign_assertion",
    "sign_vihf",
    "verify_signed_info",
    "verify_vihf_signature",
]
