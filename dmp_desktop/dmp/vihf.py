"""The VIHF: the SAML 2.0 assertion that says who asks, for whom, and why.

:func:`build_vihf` writes an assertion shaped exactly like the official
``VIHF_DIRECTE_non signé.xml`` and the VIHF of every official request (same
elements, same attribute names, same order; the indirect modes add
``subject-id`` as the indirect examples do); :func:`parse_vihf` reads any
VIHF, including the four official examples.

Direct (card) mode is unsigned: the TLS client certificate from the card
authenticates the caller. Indirect modes (``INDIRECTE``,
``INDIRECTE_RENFORCEE``) use the same builder; the enveloped XML-DSig with
the structure's certificate will be a separate step applied to the element
:func:`build_vihf` returns (the signature goes right after ``Issuer``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from dmp_desktop import LPS_NAME, __version__
from dmp_desktop.dates import DateFormatError, parse_xs_datetime, xs_datetime_utc
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.xmlutil import Element, attr, child, children, element_children, parse_cx, qn
from dmp_desktop.domain import Ins, InsError, InsKind, Practitioner
from dmp_desktop.errors import DmpProtocolError

if TYPE_CHECKING:
    from dmp_desktop.settings import Settings

# --- vocabulary ---------------------------------------------------------------------------------

VIHF_VERSION = "3.0"
RESOURCE_URN_DMP = "urn:dmp"

AUTH_MODE_DIRECT = "DIRECTE"
AUTH_MODE_INDIRECT = "INDIRECTE"
AUTH_MODE_INDIRECT_STRONG = "INDIRECTE_RENFORCEE"
AUTH_MODES = (AUTH_MODE_DIRECT, AUTH_MODE_INDIRECT, AUTH_MODE_INDIRECT_STRONG)
# Every official example (direct and indirect) states SmartcardPKI.
DEFAULT_AUTHN_CONTEXT = {
    AUTH_MODE_DIRECT: ns.AC_SMARTCARD_PKI,
    AUTH_MODE_INDIRECT: ns.AC_SMARTCARD_PKI,
    AUTH_MODE_INDIRECT_STRONG: ns.AC_SMARTCARD_PKI,
}

PURPOSE_NORMAL = "normal"
PURPOSE_BREAK_GLASS = "bris_de_glace"
PURPOSE_CENTRE_15 = "centre_15"
PURPOSE_LABELS: dict[str, str] = {
    PURPOSE_NORMAL: "Accès normal",
    PURPOSE_BREAK_GLASS: "Accès en mode bris de glace",
    PURPOSE_CENTRE_15: "Accès en mode centre de régulation",
}
PURPOSE_CODE_SYSTEM_NAME = "mode acces VIHF 2.0"

ROLE_MEDICAL_SECRETARY = "SECRETARIAT_MEDICAL"
ROLE_MEDICAL_SECRETARY_LABEL = "Secrétariat médical"

# Attribute names, as written in the official examples.
ATTR_STRUCTURE_ID = "Identifiant_Structure"
ATTR_ACTIVITY_SECTOR = "Secteur_Activite"
ATTR_SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
ATTR_ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
ATTR_VIHF_VERSION = "VIHF_Version"
ATTR_AUTH_MODE = "Authentification_mode"  # "Authentification_Mode" also occurs: read both
ATTR_RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
ATTR_RESOURCE_URN = "Ressource_URN"
ATTR_PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
ATTR_LPS_ID = "LPS_ID"
ATTR_LPS_NAME = "LPS_Nom"
ATTR_LPS_VERSION = "LPS_Version"
ATTR_LPS_HOMOLOGATION = "LPS_ID_HOMOLOGATION_DMP"
# A minor's secret connection (ANS table of VIHF attributes: « obligatoire si demande
# de connexion secrète au DMP »), value INVISIBLE_REPRESENTANTS_LEGAUX.
ATTR_CONFIDENTIALITY_CODE = "urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code"
CONFIDENTIALITY_SECRET_CONNECTION = "INVISIBLE_REPRESENTANTS_LEGAUX"  # noqa: S105 - a code
CONFIDENTIALITY_SECRET_CONNECTION_LABEL = "Non visible par les représentants légaux du patient"  # noqa: S105

DEFAULT_HOMOLOGATION_ID = "FORMATION"


@dataclass(frozen=True)
class CodedValue:
    """An HL7 CE as carried in VIHF attributes (``Role``, ``PurposeOfUse``)."""

    code: str
    code_system: str | None = None
    display_name: str | None = None
    code_system_name: str | None = None


@dataclass(frozen=True)
class LpsInfo:
    """Identification of this software (LPS = logiciel de professionnel de santé)."""

    name: str = LPS_NAME
    version: str = __version__
    id: str = __version__
    homologation_id: str = DEFAULT_HOMOLOGATION_ID

    @classmethod
    def from_settings(cls, settings: Settings) -> LpsInfo:
        """The settings' LPS identification (first-class settings; see settings.py)."""
        version = settings.lps_version.strip() or __version__
        return cls(
            name=settings.lps_name.strip() or LPS_NAME,
            version=version,
            id=settings.lps_id.strip() or version,
            homologation_id=settings.homologation_id(),
        )


@dataclass(frozen=True)
class VihfContext:
    """Everything a VIHF states. One per request: the patient and purpose change."""

    practitioner: Practitioner
    issuer_dn: str
    structure_id: str
    activity_sector: str  # "SA07", or already "SA07^1.2.250.1.71.4.2.4"
    purpose: str = PURPOSE_NORMAL
    auth_mode: str = AUTH_MODE_DIRECT
    ins: Ins | None = None  # None for requests about no patient (e.g. TD0.4)
    lps: LpsInfo = field(default_factory=LpsInfo)
    authn_context: str | None = None  # default from DEFAULT_AUTHN_CONTEXT
    # A minor's secret connection, declared by the professional at the minor's request.
    secret_connection: bool = False
    issue_instant: datetime | None = None  # default: now (UTC)
    assertion_id: str | None = None  # default: "_" + random uuid


def practitioner_roles(practitioner: Practitioner) -> list[CodedValue]:
    """Profession (G15) and specialty (R01) of a professional, or the staff role."""
    if practitioner.profession_code is None:
        return [
            CodedValue(ROLE_MEDICAL_SECRETARY, ns.OID_NON_PS_ROLE, ROLE_MEDICAL_SECRETARY_LABEL)
        ]
    roles = [CodedValue(practitioner.profession_code, ns.OID_PROFESSION, practitioner.profession)]
    if practitioner.specialty_code:
        roles.append(
            CodedValue(
                practitioner.specialty_code,
                ns.OID_SPECIALTY,
                practitioner.specialty_label or practitioner.specialty_code,
            )
        )
    return roles


def issuer_dn_from_certificate(cert: x509.Certificate) -> str:
    """The VIHF issuer in direct mode: the card certificate's subject (RFC 4514)."""
    return cert.subject.rfc4514_string()


def practitioner_dn(practitioner: Practitioner) -> str:
    """A subject DN rebuilt from the card holder, laid out like a CPS certificate.

    A fallback only: pass the certificate's own subject
    (:func:`issuer_dn_from_certificate`) whenever it is at hand. Same
    components as the card's subject, but inside the multi-valued RDN
    (``CN+SN+GN``) a DER-encoded certificate may list them in another order.
    """
    rdns: list[x509.RelativeDistinguishedName] = [
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")])
    ]
    for oid, value in (
        (NameOID.ORGANIZATION_NAME, practitioner.structure_name),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, practitioner.structure_id),
        (NameOID.TITLE, practitioner.profession),
    ):
        if value:
            rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)]))
    rdns.append(
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, practitioner.national_id),
                x509.NameAttribute(NameOID.SURNAME, practitioner.family_name.upper()),
                x509.NameAttribute(NameOID.GIVEN_NAME, practitioner.given_name.upper()),
            ]
        )
    )
    return x509.Name(rdns).rfc4514_string()


def _instant(dt: datetime) -> str:
    return xs_datetime_utc(dt, 3)


def _string_attribute(statement: Element, name: str, value: str) -> None:
    attribute = etree.SubElement(statement, qn(ns.SAML2, "Attribute"), Name=name)
    av = etree.SubElement(attribute, qn(ns.SAML2, "AttributeValue"), nsmap={"xs": ns.XS})
    av.set(qn(ns.XSI, "type"), "xs:string")
    av.text = value


def _coded_attribute(statement: Element, name: str, tag: str, values: list[CodedValue]) -> None:
    attribute = etree.SubElement(statement, qn(ns.SAML2, "Attribute"), Name=name)
    for value in values:
        av = etree.SubElement(attribute, qn(ns.SAML2, "AttributeValue"))
        ce = etree.SubElement(av, qn(ns.HL7, tag), nsmap={None: ns.HL7})
        ce.set("code", value.code)
        if value.code_system:
            ce.set("codeSystem", value.code_system)
        if value.code_system_name:
            ce.set("codeSystemName", value.code_system_name)
        if value.display_name:
            ce.set("displayName", value.display_name)
        ce.set(qn(ns.XSI, "type"), "CE")


def build_vihf(ctx: VihfContext) -> Element:
    """The VIHF assertion (unsigned), attributes in the official order."""
    if ctx.purpose not in PURPOSE_LABELS:
        raise ValueError(f"unknown purpose of use: {ctx.purpose}")
    if ctx.auth_mode not in AUTH_MODES:
        raise ValueError(f"unknown authentication mode: {ctx.auth_mode}")
    if not ctx.structure_id:
        raise ValueError("a VIHF needs the structure id")
    now = ctx.issue_instant or datetime.now(UTC)
    instant = _instant(now)
    assertion = etree.Element(qn(ns.SAML2, "Assertion"), nsmap={"saml2": ns.SAML2, "xsi": ns.XSI})
    assertion.set("ID", ctx.assertion_id or f"_{uuid.uuid4()}")
    assertion.set("IssueInstant", instant)
    assertion.set("Version", "2.0")
    issuer = etree.SubElement(assertion, qn(ns.SAML2, "Issuer"), Format=ns.SAML_X509_SUBJECT_NAME)
    issuer.text = ctx.issuer_dn
    subject = etree.SubElement(assertion, qn(ns.SAML2, "Subject"))
    etree.SubElement(subject, qn(ns.SAML2, "NameID")).text = ctx.practitioner.national_id
    authn = etree.SubElement(assertion, qn(ns.SAML2, "AuthnStatement"), AuthnInstant=instant)
    authn_context = etree.SubElement(authn, qn(ns.SAML2, "AuthnContext"))
    etree.SubElement(authn_context, qn(ns.SAML2, "AuthnContextClassRef")).text = (
        ctx.authn_context or DEFAULT_AUTHN_CONTEXT[ctx.auth_mode]
    )
    statement = etree.SubElement(assertion, qn(ns.SAML2, "AttributeStatement"))
    sector = ctx.activity_sector
    if "^" not in sector:
        sector = f"{sector}^{ns.OID_ACTIVITY_SECTOR}"
    p = ctx.practitioner
    _string_attribute(statement, ATTR_STRUCTURE_ID, ctx.structure_id)
    _string_attribute(statement, ATTR_ACTIVITY_SECTOR, sector)
    if ctx.auth_mode != AUTH_MODE_DIRECT:
        # Only the indirect examples name the professional; in direct mode the card does.
        _string_attribute(statement, ATTR_SUBJECT_ID, f"{p.given_name} {p.family_name}".strip())
    _coded_attribute(statement, ATTR_ROLE, "Role", practitioner_roles(p))
    _string_attribute(statement, ATTR_VIHF_VERSION, VIHF_VERSION)
    _string_attribute(statement, ATTR_AUTH_MODE, ctx.auth_mode)
    if ctx.ins is not None:
        _string_attribute(statement, ATTR_RESOURCE_ID, ctx.ins.cx())
    _string_attribute(statement, ATTR_RESOURCE_URN, RESOURCE_URN_DMP)
    purpose = CodedValue(
        ctx.purpose, ns.OID_PURPOSE_OF_USE, PURPOSE_LABELS[ctx.purpose], PURPOSE_CODE_SYSTEM_NAME
    )
    _coded_attribute(statement, ATTR_PURPOSE_OF_USE, "PurposeOfUse", [purpose])
    if ctx.secret_connection:
        secret = CodedValue(
            CONFIDENTIALITY_SECRET_CONNECTION,
            ns.OID_CONFIDENTIALITY,
            CONFIDENTIALITY_SECRET_CONNECTION_LABEL,
        )
        _coded_attribute(statement, ATTR_CONFIDENTIALITY_CODE, "ConfidentialityCode", [secret])
    _string_attribute(statement, ATTR_LPS_ID, ctx.lps.id)
    _string_attribute(statement, ATTR_LPS_NAME, ctx.lps.name)
    _string_attribute(statement, ATTR_LPS_VERSION, ctx.lps.version)
    _string_attribute(statement, ATTR_LPS_HOMOLOGATION, ctx.lps.homologation_id)
    return assertion


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VihfClaims:
    """What a VIHF states, as read by :func:`parse_vihf` (no signature check here)."""

    name_id: str
    assertion_id: str | None = None
    issue_instant: datetime | None = None
    issuer: str | None = None
    issuer_format: str | None = None
    authn_context: str | None = None
    auth_mode: str | None = None
    roles: tuple[CodedValue, ...] = ()
    purpose_of_use: str | None = None
    purpose_code_system: str | None = None
    resource_id: str | None = None
    ins_value: str | None = None
    ins_root: str | None = None
    structure_id: str | None = None
    activity_sector: str | None = None
    subject_name: str | None = None
    vihf_version: str | None = None
    resource_urn: str | None = None
    lps_name: str | None = None
    lps_version: str | None = None
    lps_id: str | None = None
    lps_homologation_id: str | None = None
    # Confidentiality codes (``code^codeSystem``): a minor's secret connection.
    confidentiality_codes: tuple[str, ...] = ()
    signed: bool = False
    # Every attribute by its name as written: string values, or "code^codeSystem".
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def attribute(self, name: str) -> str | None:
        """First value of an attribute, name compared without case."""
        wanted = name.lower()
        for key, values in self.attributes.items():
            if key.lower() == wanted and values:
                return values[0]
        return None

    @property
    def activity_sector_code(self) -> str | None:
        return self.activity_sector.split("^", 1)[0] if self.activity_sector else None

    def role_codes(self, code_system: str | None = None) -> list[str]:
        return [r.code for r in self.roles if code_system is None or r.code_system == code_system]

    def patient_ins(self) -> Ins | None:
        """The patient's INS from the resource id; DmpProtocolError when unusable."""
        if self.ins_value is None:
            return None
        try:
            kind = InsKind.from_oid(self.ins_root) if self.ins_root else InsKind.NIR
            return Ins(self.ins_value, kind)
        except InsError:
            raise DmpProtocolError("VIHF resource id is not a valid INS") from None


def _coded(value_el: Element) -> CodedValue | None:
    inner = next(element_children(value_el), None)
    if inner is not None:
        code = attr(inner, "code")
        if not code:
            return None
        return CodedValue(
            code,
            attr(inner, "codeSystem"),
            attr(inner, "displayName"),
            attr(inner, "codeSystemName"),
        )
    raw = (value_el.text or "").strip()
    if not raw:
        return None
    code, _, system = raw.partition("^")
    return CodedValue(code, system or None)


def _parse_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_xs_datetime(value)
    except DateFormatError:
        raise DmpProtocolError("VIHF IssueInstant is not a date") from None


def parse_vihf(element: Element) -> VihfClaims:
    """Read a VIHF assertion (any mode). Raises DmpProtocolError when it is not one."""
    if element is None or element.tag != qn(ns.SAML2, "Assertion"):
        raise DmpProtocolError("not a SAML 2.0 assertion")
    issuer_el = child(element, ns.SAML2, "Issuer")
    name_id_el = child(child(element, ns.SAML2, "Subject"), ns.SAML2, "NameID")
    name_id = (name_id_el.text or "").strip() if name_id_el is not None else ""
    if not name_id:
        raise DmpProtocolError("VIHF without Subject/NameID")
    class_ref = None
    for statement in children(element, ns.SAML2, "AuthnStatement"):
        ref = child(child(statement, ns.SAML2, "AuthnContext"), ns.SAML2, "AuthnContextClassRef")
        if ref is not None and (ref.text or "").strip():
            class_ref = (ref.text or "").strip()
            break

    values: dict[str, list[Element]] = {}
    names: dict[str, str] = {}
    for statement in children(element, ns.SAML2, "AttributeStatement"):
        for attribute in children(statement, ns.SAML2, "Attribute"):
            name = (attribute.get("Name") or "").strip()
            if not name:
                continue
            key = name.lower()
            names.setdefault(key, name)
            values.setdefault(key, []).extend(children(attribute, ns.SAML2, "AttributeValue"))

    def strings(name: str) -> list[str]:
        out = []
        for av in values.get(name.lower(), []):
            coded = next(element_children(av), None)
            if coded is not None:
                cv = _coded(av)
                if cv is not None:
                    out.append(f"{cv.code}^{cv.code_system}" if cv.code_system else cv.code)
            else:
                raw = (av.text or "").strip()
                if raw:
                    out.append(raw)
        return out

    def first(name: str) -> str | None:
        found = strings(name)
        return found[0] if found else None

    roles = tuple(
        cv for cv in (_coded(av) for av in values.get(ATTR_ROLE.lower(), [])) if cv is not None
    )
    purpose = next(
        (
            cv
            for cv in (_coded(av) for av in values.get(ATTR_PURPOSE_OF_USE.lower(), []))
            if cv is not None
        ),
        None,
    )
    resource_id = first(ATTR_RESOURCE_ID)
    ins_value = ins_root = None
    if resource_id:
        ins_value, ins_root = parse_cx(resource_id)
        ins_value = ins_value or None
    return VihfClaims(
        name_id=name_id,
        assertion_id=element.get("ID"),
        issue_instant=_parse_instant(element.get("IssueInstant")),
        issuer=((issuer_el.text or "").strip() or None) if issuer_el is not None else None,
        issuer_format=attr(issuer_el, "Format"),
        authn_context=class_ref,
        auth_mode=first(ATTR_AUTH_MODE),
        roles=roles,
        purpose_of_use=purpose.code if purpose else None,
        purpose_code_system=purpose.code_system if purpose else None,
        resource_id=resource_id,
        ins_value=ins_value,
        ins_root=ins_root,
        structure_id=first(ATTR_STRUCTURE_ID),
        activity_sector=first(ATTR_ACTIVITY_SECTOR),
        subject_name=first(ATTR_SUBJECT_ID),
        vihf_version=first(ATTR_VIHF_VERSION),
        resource_urn=first(ATTR_RESOURCE_URN),
        lps_name=first(ATTR_LPS_NAME),
        lps_version=first(ATTR_LPS_VERSION),
        lps_id=first(ATTR_LPS_ID),
        lps_homologation_id=first(ATTR_LPS_HOMOLOGATION),
        confidentiality_codes=tuple(strings(ATTR_CONFIDENTIALITY_CODE)),
        signed=child(element, ns.DS, "Signature") is not None,
        attributes={names[key]: tuple(strings(key)) for key in values},
    )
