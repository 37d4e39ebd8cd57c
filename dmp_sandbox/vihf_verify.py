"""The training host's policy for signed VIHF (structure mode, "indirecte renforcée").

The signature itself is checked with signxml
(:func:`dmp_sandbox.signatures.verify_enveloped`: XML-DSig schema, one
reference covering the whole assertion, digest, RSA value), never with the
client's code. On top of it the host decides whether the signer may speak
for the structure that opened the TLS connection:

- the signing certificate chains to the test IGC-Santé root through the
  test CAs (each link's signature, validity dates, CA flags), and is not a
  CA itself; when it has a key usage, it allows digital signatures;
- it is a structure's certificate (no surname, no given name: a person's
  card cannot sign for the structure), issued by the same CA as the TLS
  client certificate, for the same organisation (O) and structure
  identifier (OU).

Failures raise :class:`VihfSignerError` (a
:class:`~dmp_sandbox.signatures.SignatureInvalid`) with a short reason code
for the trace.

:func:`authenticate` is what the host calls for every request: a card
certificate goes through :func:`dmp_sandbox.auth.check_vihf` (direct mode);
a structure certificate needs an ``INDIRECTE_RENFORCEE`` VIHF signed as
above and naming the structure of the TLS certificate, and the professional
is then the VIHF's subject (the card holder, authenticated locally by the
structure's software). Every refusal is a SOAP authentication fault and
leaves its reason in the trace row (``result`` = ``VIHF_…``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import NameOID
from lxml import etree

from dmp_desktop.domain.practitioner import PROFESSION_CODES
from dmp_sandbox import wire
from dmp_sandbox.auth import CertIdentity, check_roles, check_vihf
from dmp_sandbox.certpath import MAX_CHAIN, is_ca, issued_by, valid_at
from dmp_sandbox.pki import PkiPaths
from dmp_sandbox.signatures import SignatureInvalid, VerifiedEnveloped, verify_enveloped
from dmp_sandbox.soap import FaultCode, SoapFault
from dmp_sandbox.vihf import VihfClaims

SAML2 = wire.SAML2
AUTH_MODE_INDIRECT_STRONG = wire.AUTH_MODE_INDIRECT_STRONG
PROFESSION_OID = wire.OID_PROFESSION

if TYPE_CHECKING:
    from dmp_sandbox.host import TraceContext


class VihfSignerError(SignatureInvalid):
    """The signature verifies, but its certificate may not sign for this structure."""


@dataclass(frozen=True)
class SignerTrust:
    """The anchors a VIHF signer must chain to, and the CAs in between."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_certificates(cls, certs: Sequence[x509.Certificate]) -> SignerTrust:
        roots = tuple(c for c in certs if c.issuer == c.subject)
        cas = tuple(c for c in certs if c.issuer != c.subject)
        return cls(roots, cas)

    @classmethod
    def from_pki(cls, pki: PkiPaths) -> SignerTrust:
        """The test hierarchy: its root, and the persons and organisations CAs."""
        return cls.from_certificates(x509.load_pem_x509_certificates(pki.client_cas.read_bytes()))


def check_chain(
    leaf: x509.Certificate, trust: SignerTrust, at: dt.datetime | None = None
) -> list[x509.Certificate]:
    """The path from ``leaf`` to one of the roots; VihfSignerError when there is none."""
    at = at or dt.datetime.now(dt.UTC)
    if is_ca(leaf):
        raise VihfSignerError("signataire")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise VihfSignerError("signataire")
    except x509.ExtensionNotFound:
        pass
    if not valid_at(leaf, at):
        raise VihfSignerError("signataire_expire")
    path = [leaf]
    current = leaf
    for _ in range(MAX_CHAIN):
        root = next((r for r in trust.roots if issued_by(current, r)), None)
        if root is not None:
            if not valid_at(root, at):
                raise VihfSignerError("signataire_expire")
            return [*path, root]
        ca = next((c for c in trust.intermediates if c not in path and issued_by(current, c)), None)
        if ca is None or not is_ca(ca) or not valid_at(ca, at):
            break
        path.append(ca)
        current = ca
    raise VihfSignerError("signataire")


def _organisation(cert: x509.Certificate) -> tuple[str | None, str | None]:
    def first(oid: x509.ObjectIdentifier) -> str | None:
        values = cert.subject.get_attributes_for_oid(oid)
        if not values:
            return None
        value = values[0].value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")

    return first(NameOID.ORGANIZATION_NAME), first(NameOID.ORGANIZATIONAL_UNIT_NAME)


def verify_structure_vihf(
    assertion: etree._Element,
    tls_certificate: x509.Certificate,
    trust: SignerTrust,
    at: dt.datetime | None = None,
) -> VerifiedEnveloped:
    """Signature valid, signer trusted, signer of the TLS certificate's organisation."""
    if assertion is None:
        raise VihfSignerError("absente")
    verified = verify_enveloped(assertion)
    signer = verified.certificate
    check_chain(signer, trust, at)
    if signer.subject.get_attributes_for_oid(NameOID.SURNAME) or (
        signer.subject.get_attributes_for_oid(NameOID.GIVEN_NAME)
    ):
        raise VihfSignerError("signataire_personne")  # a person's card, not the structure
    signer_org = _organisation(signer)
    if (
        None in signer_org
        or signer_org != _organisation(tls_certificate)
        or signer.issuer != tls_certificate.issuer
    ):
        raise VihfSignerError("organisation")
    return verified


# --- the host's check of a structure-mode request -----------------------------------

_NATIONAL_ID = re.compile(r"^(8\d{11}|0\d{9}|3[0-9A-Za-z]{1,20}/[0-9A-Za-z]{1,20})$")
_SIGNATURE_REASONS = {
    "absente": "En mode indirect renforcé, le jeton VIHF doit être signé par la structure.",
    "signataire": (
        "Le signataire du jeton VIHF n'est pas reconnu : son certificat ne provient pas "
        "de l'IGC-Santé (de test)."
    ),
    "signataire_expire": "Le certificat du signataire du jeton VIHF est expiré.",
    "signataire_personne": (
        "Le jeton VIHF doit être signé avec le certificat de la structure, pas avec celui "
        "d'une personne."
    ),
    "organisation": (
        "Le signataire du jeton VIHF n'appartient pas à la structure du certificat "
        "d'authentification."
    ),
}


def _refuse(trace: TraceContext | None, reason: str, message: str) -> SoapFault:
    if trace is not None:
        trace.result = f"VIHF_{reason.upper()}"[:64]
    return SoapFault(FaultCode.AUTHENTICATION, message)


def _professional_from_vihf(structure: CertIdentity, vihf: VihfClaims) -> CertIdentity:
    """The card holder named by a structure's verified VIHF."""
    codes = vihf.role_codes(PROFESSION_OID)
    by_code = {code: title for title, code in PROFESSION_CODES.items()}
    profession = by_code.get(codes[0], "") if codes else ""
    given, _, family = (vihf.subject_name or "").strip().partition(" ")
    return replace(
        structure,
        national_id=vihf.name_id,
        family_name=family.strip(),
        given_name=given.strip(),
        profession=profession,
        is_structure=False,
        certificate_der=None,
        via_structure=True,
        activity_sector=vihf.activity_sector_code,
        authn_context=vihf.authn_context,
    )


def check_structure_vihf(
    identity: CertIdentity,
    vihf: VihfClaims,
    security: etree._Element | None,
    trust: SignerTrust | None,
    trace: TraceContext | None = None,
) -> CertIdentity:
    """Structure mode: verify the signed VIHF, return the professional it names."""
    if (vihf.auth_mode or "").upper() != AUTH_MODE_INDIRECT_STRONG:
        raise _refuse(
            trace,
            "mode",
            "Avec un certificat de structure, le jeton VIHF doit être en mode INDIRECTE_RENFORCEE.",
        )
    if trust is None or identity.certificate_der is None:
        raise _refuse(
            trace, "signataire", "L'hôte ne peut pas vérifier la signature du jeton VIHF."
        )
    assertion = security.find(f"{{{SAML2}}}Assertion") if security is not None else None
    try:
        verify_structure_vihf(
            assertion, x509.load_der_x509_certificate(identity.certificate_der), trust
        )
    except SignatureInvalid as exc:
        message = _SIGNATURE_REASONS.get(
            exc.reason,
            f"La signature du jeton VIHF est invalide ({exc.reason}) : le jeton a été "
            "modifié ou mal signé.",
        )
        raise _refuse(trace, f"signature_{exc.reason}", message) from None
    except (ValueError, UnsupportedAlgorithm):
        raise _refuse(trace, "signature_forme", "Signature du jeton VIHF illisible.") from None
    if (vihf.structure_id or "") != identity.structure_id:
        raise _refuse(
            trace,
            "structure",
            "La structure du jeton VIHF (Identifiant_Structure) n'est pas celle du "
            "certificat d'authentification.",
        )
    if not _NATIONAL_ID.match(vihf.name_id):
        raise _refuse(
            trace, "nameid", "Le jeton VIHF ne désigne pas un professionnel (NameID invalide)."
        )
    person = _professional_from_vihf(identity, vihf)
    try:
        check_roles(person, vihf)
    except SoapFault:
        if trace is not None:
            trace.result = "VIHF_ROLE"
        raise
    return person


def authenticate(
    identity: CertIdentity,
    vihf: VihfClaims,
    security: etree._Element | None,
    trust: SignerTrust | None = None,
    trace: TraceContext | None = None,
) -> CertIdentity:
    """Who the request speaks for: the card holder, checked either way.

    A card certificate: :func:`check_vihf` (direct mode). A structure
    certificate: :func:`check_structure_vihf`; the trace then names the
    professional of the VIHF.
    """
    from dmp_sandbox.insurer import check_insurer_role

    if not identity.is_structure:
        check_vihf(identity, vihf)
        check_insurer_role(identity, vihf, trace)
        if identity.structure_id is None and vihf.structure_id:
            # A real card certificate names no structure: the card's practice situation
            # is what the client puts in Identifiant_Structure.
            identity = replace(identity, structure_id=vihf.structure_id.strip())
        return identity
    person = check_structure_vihf(identity, vihf, security, trust, trace)
    check_insurer_role(identity, vihf, trace)
    if trace is not None:
        trace.professional_national_id = person.national_id
        trace.structure_id = person.structure_id  # who acted, and for which structure
    return person
