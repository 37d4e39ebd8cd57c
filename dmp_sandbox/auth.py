"""Who is calling: the TLS client certificate, cross-checked with the VIHF.

The host trusts the certificate (the TLS layer verified it against the test
IGC-Santé CAs); the VIHF is only a claim made by the client software, so
every claim the host relies on is checked against the certificate. The
assertion is read by the host's own reader
(:func:`dmp_sandbox.vihf.read_vihf_claims`), then:

- ``Subject/NameID`` must be the certificate's national id (CN);
- a card certificate goes with the direct mode (``DIRECTE``);
- a profession role (G15) in the VIHF must be the certificate's profession,
  and a staff card cannot claim a profession.

Structure mode ("authentification indirecte renforcée"): the TLS client
certificate is a structure's (no surname or given name; OU = structure id),
the VIHF must say ``INDIRECTE_RENFORCEE``, be signed by a certificate of the
test IGC-Santé belonging to the same organisation, and name the structure of
the TLS certificate; the professional is then the VIHF's subject (see
:func:`dmp_sandbox.vihf_verify.authenticate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from dmp_desktop.domain.practitioner import PROFESSION_CODES
from dmp_sandbox import wire
from dmp_sandbox.replay import check_assertion
from dmp_sandbox.soap import FaultCode, SoapFault
from dmp_sandbox.vihf import VihfClaims, VihfUnreadable, read_vihf_claims

SAML2, WSSE = wire.SAML2, wire.WSSE
AUTH_MODE_DIRECT = wire.AUTH_MODE_DIRECT
PROFESSION_OID = wire.OID_PROFESSION
NON_PS_ROLE_OID = wire.OID_NON_PS_ROLE

if TYPE_CHECKING:
    from dmp_sandbox.host import TraceContext


@dataclass(frozen=True)
class CertIdentity:
    """The professional as the TLS client certificate names them."""

    national_id: str
    family_name: str
    given_name: str
    profession: str  # card title ("Médecin", "Secrétaire médicale"...)
    structure_id: str | None
    # A structure's certificate (structure mode): national_id is then the structure id.
    is_structure: bool = False
    organisation: str | None = None
    certificate_der: bytes | None = None
    # Structure mode: the professional named by the structure's signed VIHF, the
    # structure's activity sector (J02, e.g. "SA01") and how the structure says the
    # professional authenticated (AuthnContextClassRef), as that VIHF states them.
    via_structure: bool = False
    activity_sector: str | None = None
    authn_context: str | None = None

    # The G15 code of the certificate's IGC-Santé extension 1.2.250.1.71.1.2.7, if any.
    profession_extension: str | None = None

    @property
    def profession_code(self) -> str | None:
        return self.profession_extension or PROFESSION_CODES.get(self.profession)


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _profession_extension(cert: x509.Certificate) -> str | None:
    """IGC-Santé's profession extension (G15 code as a DER INTEGER), read by the host itself."""
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(PROFESSION_OID))
    except (x509.ExtensionNotFound, ValueError):
        return None
    raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
    if len(raw) < 3 or raw[0] != 0x02 or raw[1] != len(raw) - 2 or raw[1] > 2:
        return None
    number = int.from_bytes(raw[2:], "big")
    return f"{number:02d}" if 0 < number < 1000 else None


def identity_from_der(der: bytes) -> CertIdentity | None:
    """Read the identity out of a (TLS-verified) certificate; None without a CN."""
    cert = x509.load_der_x509_certificate(der)
    subject = cert.subject
    national_id = _first(subject, NameOID.COMMON_NAME)
    if not national_id:
        return None
    family, given = _first(subject, NameOID.SURNAME), _first(subject, NameOID.GIVEN_NAME)
    structure_id = _first(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    if family is None and given is None and structure_id:
        return CertIdentity(  # a structure's certificate: nobody in particular
            national_id=structure_id.strip(),
            family_name="",
            given_name="",
            profession="",
            structure_id=structure_id.strip(),
            is_structure=True,
            organisation=_first(subject, NameOID.ORGANIZATION_NAME),
            certificate_der=der,
        )
    return CertIdentity(
        national_id=national_id.strip(),
        family_name=_first(subject, NameOID.SURNAME) or "",
        given_name=_first(subject, NameOID.GIVEN_NAME) or "",
        profession=_first(subject, NameOID.TITLE) or "",
        # A card certificate names no structure (IGC-Santé): the VIHF's, see check_vihf.
        structure_id=_first(subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
        profession_extension=_profession_extension(cert),
    )


def read_vihf(security: etree._Element | None, trace: TraceContext | None = None) -> VihfClaims:
    """The VIHF in ``wsse:Security``; missing or unreadable is an authentication fault.

    A stale, future-dated or replayed assertion is refused too
    (:func:`dmp_sandbox.replay.check_assertion`; the cause goes to ``trace``).
    """
    assertion = None
    if security is not None and security.tag == f"{{{WSSE}}}Security":
        assertion = security.find(f"{{{SAML2}}}Assertion")
    if assertion is None:
        raise SoapFault(
            FaultCode.AUTHENTICATION, "Jeton VIHF absent (wsse:Security/saml2:Assertion)."
        )
    try:
        claims = read_vihf_claims(assertion)
    except VihfUnreadable as exc:
        raise SoapFault(FaultCode.AUTHENTICATION, "Jeton VIHF illisible.") from exc
    check_assertion(assertion, trace)  # fresh (IssueInstant ± 5 min) and used once
    return claims


def check_vihf(identity: CertIdentity, vihf: VihfClaims) -> None:
    """Cross-check the VIHF with the certificate; raise an authentication fault."""
    if vihf.name_id != identity.national_id:
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "L'identifiant du jeton VIHF (NameID) ne correspond pas au certificat "
            "d'authentification présenté.",
        )
    if (vihf.auth_mode or "").upper() != AUTH_MODE_DIRECT:
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "Avec un certificat de carte CPS, le jeton VIHF doit être en mode DIRECTE ; "
            "le mode INDIRECTE_RENFORCEE demande le certificat de la structure.",
        )
    check_roles(identity, vihf)


# The non-professional roles (1.2.250.1.213.1.1.4.6) the DMP grants something to:
# practice staff feed on behalf of a professional, the Assurance Maladie feeds its
# care history. Nothing else: an insurer, an employer or a bank has no role at all.
KNOWN_NON_PS_ROLES = frozenset({"SECRETARIAT_MEDICAL", "ALIM_AM"})


def check_roles(identity: CertIdentity, vihf: VihfClaims) -> None:
    """The VIHF's roles are those of the professional (profession, or staff role)."""
    claimed = set(vihf.role_codes(PROFESSION_OID))
    expected = identity.profession_code
    if claimed and (expected is None or claimed != {expected}):
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "La profession déclarée dans le jeton VIHF ne correspond pas à la carte.",
        )
    unknown = sorted(set(vihf.role_codes(NON_PS_ROLE_OID)) - KNOWN_NON_PS_ROLES)
    if unknown:
        # Insurers, employers, banks...: no role exists for them, so no access path.
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            f"Rôle inconnu du DMP dans le jeton VIHF ({', '.join(unknown)}) : "
            "aucun accès n'existe pour ce rôle.",
        )
    if expected is None and not vihf.role_codes(NON_PS_ROLE_OID):
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "Le jeton VIHF d'un personnel de structure doit porter son rôle "
            f"(nomenclature {NON_PS_ROLE_OID}).",
        )
