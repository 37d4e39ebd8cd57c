"""VIHF: the SAML assertion built for direct mode, and the lenient reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from dmp_desktop import LPS_NAME, __version__, xmlsafe
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.vihf import (
    ATTR_AUTH_MODE,
    ATTR_ROLE,
    LpsInfo,
    VihfContext,
    build_vihf,
    issuer_dn_from_certificate,
    parse_vihf,
    practitioner_dn,
    practitioner_roles,
)
from dmp_desktop.errors import DmpProtocolError
from dmp_desktop.settings import Settings
from tests.unit.test_dmp_support import INS, STRUCTURE_ID, doctor, secretary, settings

S = f"{{{ns.SAML2}}}"
INSTANT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def _context(**changes: object) -> VihfContext:
    values: dict[str, object] = {
        "practitioner": doctor(),
        "issuer_dn": "CN=899700433153,O=TEST,C=FR",
        "structure_id": STRUCTURE_ID,
        "activity_sector": "SA07",
        "ins": INS,
        "issue_instant": INSTANT,
        "assertion_id": "_fixed",
    }
    values.update(changes)
    return VihfContext(**values)  # type: ignore[arg-type]


def _roundtrip(assertion: etree._Element) -> etree._Element:
    """Serialise and parse again, as the host will see it."""
    return xmlsafe.parse(etree.tostring(assertion, encoding="UTF-8"))


def _attributes(assertion: etree._Element) -> dict[str, list[etree._Element]]:
    return {
        a.get("Name"): list(a.iter(f"{S}AttributeValue")) for a in assertion.iter(f"{S}Attribute")
    }


def test_direct_assertion_header_elements() -> None:
    assertion = _roundtrip(build_vihf(_context()))
    assert assertion.tag == f"{S}Assertion"
    assert assertion.get("ID") == "_fixed"
    assert assertion.get("Version") == "2.0"
    assert assertion.get("IssueInstant") == "2026-03-04T05:06:07.890Z"
    assert [etree.QName(c).localname for c in assertion] == [
        "Issuer",
        "Subject",
        "AuthnStatement",
        "AttributeStatement",
    ]
    issuer = assertion.find(f"{S}Issuer")
    assert issuer.text == "CN=899700433153,O=TEST,C=FR"
    assert issuer.get("Format") == ns.SAML_X509_SUBJECT_NAME
    assert assertion.findtext(f"{S}Subject/{S}NameID") == "899700433153"
    authn = assertion.find(f"{S}AuthnStatement")
    assert authn.get("AuthnInstant") == "2026-03-04T05:06:07.890Z"
    assert authn.findtext(f"{S}AuthnContext/{S}AuthnContextClassRef") == ns.AC_SMARTCARD_PKI


def test_direct_assertion_attributes() -> None:
    attrs = _attributes(_roundtrip(build_vihf(_context())))
    # Exactly the official direct-mode token's attributes, in its order (no subject-id).
    assert list(attrs) == [
        "Identifiant_Structure",
        "Secteur_Activite",
        "urn:oasis:names:tc:xacml:2.0:subject:role",
        "VIHF_Version",
        "Authentification_mode",
        "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
        "Ressource_URN",
        "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
        "LPS_ID",
        "LPS_Nom",
        "LPS_Version",
        "LPS_ID_HOMOLOGATION_DMP",
    ]

    def string(name: str) -> str:
        (value,) = attrs[name]
        assert value.get(f"{{{ns.XSI}}}type") == "xs:string"
        assert value.nsmap.get("xs") == ns.XS
        return value.text

    assert string("Identifiant_Structure") == STRUCTURE_ID
    assert string("Secteur_Activite") == "SA07^1.2.250.1.71.4.2.4"
    assert string("VIHF_Version") == "3.0"
    assert string("Authentification_mode") == "DIRECTE"
    assert string("urn:oasis:names:tc:xacml:2.0:resource:resource-id") == (
        "207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH"
    )
    assert string("Ressource_URN") == "urn:dmp"
    assert string("LPS_Nom") == LPS_NAME
    assert string("LPS_Version") == __version__
    assert string("LPS_ID_HOMOLOGATION_DMP") == "FORMATION"

    roles = [v[0] for v in attrs["urn:oasis:names:tc:xacml:2.0:subject:role"]]
    assert [(r.tag, r.get("code"), r.get("codeSystem"), r.get("displayName")) for r in roles] == [
        ("{urn:hl7-org:v3}Role", "10", "1.2.250.1.71.1.2.7", "Médecin"),
        (
            "{urn:hl7-org:v3}Role",
            "SM26",
            "1.2.250.1.71.4.2.5",
            "Qualifié en Médecine Générale (SM)",
        ),
    ]
    assert all(r.get(f"{{{ns.XSI}}}type") == "CE" for r in roles)
    (purpose_value,) = attrs["urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"]
    purpose = purpose_value[0]
    assert purpose.tag == "{urn:hl7-org:v3}PurposeOfUse"
    assert purpose.get("code") == "normal"
    assert purpose.get("codeSystem") == "1.2.250.1.213.1.1.4.248"
    assert purpose.get("codeSystemName") == "mode acces VIHF 2.0"
    assert purpose.get("displayName") == "Accès normal"
    assert purpose.get(f"{{{ns.XSI}}}type") == "CE"


def test_staff_card_has_the_secretary_role() -> None:
    roles = practitioner_roles(secretary())
    assert [(r.code, r.code_system) for r in roles] == [
        ("SECRETARIAT_MEDICAL", "1.2.250.1.213.1.1.4.6")
    ]
    claims = parse_vihf(_roundtrip(build_vihf(_context(practitioner=secretary()))))
    assert claims.role_codes() == ["SECRETARIAT_MEDICAL"]
    assert claims.name_id == "3499700433153007001"


def test_professional_without_known_specialty_has_one_role() -> None:
    roles = practitioner_roles(doctor(specialty_code=None, specialty_label=None))
    assert [(r.code, r.code_system) for r in roles] == [("10", "1.2.250.1.71.1.2.7")]


@pytest.mark.parametrize("purpose", ["normal", "bris_de_glace", "centre_15"])
def test_purposes_of_use(purpose: str) -> None:
    claims = parse_vihf(_roundtrip(build_vihf(_context(purpose=purpose))))
    assert claims.purpose_of_use == purpose
    assert claims.purpose_code_system == "1.2.250.1.213.1.1.4.248"


def test_unknown_purpose_or_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="purpose"):
        build_vihf(_context(purpose="curiosity"))
    with pytest.raises(ValueError, match="mode"):
        build_vihf(_context(auth_mode="MAGIC"))
    with pytest.raises(ValueError, match="structure"):
        build_vihf(_context(structure_id=""))


def test_indirect_mode_uses_the_same_builder() -> None:
    claims = parse_vihf(_roundtrip(build_vihf(_context(auth_mode="INDIRECTE_RENFORCEE"))))
    assert claims.auth_mode == "INDIRECTE_RENFORCEE"
    assert claims.signed is False


def test_no_patient_no_resource_id() -> None:
    attrs = _attributes(build_vihf(_context(ins=None)))
    assert "urn:oasis:names:tc:xacml:2.0:resource:resource-id" not in attrs
    assert parse_vihf(build_vihf(_context(ins=None))).patient_ins() is None


def test_activity_sector_already_qualified_is_kept() -> None:
    claims = parse_vihf(build_vihf(_context(activity_sector="SA05^1.2.250.1.71.4.2.4")))
    assert claims.activity_sector == "SA05^1.2.250.1.71.4.2.4"
    assert claims.activity_sector_code == "SA05"


def test_defaults_are_fresh() -> None:
    one = build_vihf(_context(issue_instant=None, assertion_id=None))
    two = build_vihf(_context(issue_instant=None, assertion_id=None))
    assert one.get("ID") != two.get("ID")
    assert one.get("ID").startswith("_")
    issued = parse_vihf(one).issue_instant
    assert issued is not None
    assert abs(datetime.now(UTC) - issued) < timedelta(minutes=1)


def test_lps_info_from_settings() -> None:
    assert LpsInfo.from_settings(settings()) == LpsInfo(
        LPS_NAME, __version__, __version__, "FORMATION"
    )
    custom = settings(lps_homologation_id="HOMOL-42", lps_id="INST-7", lps_name="Cabinet+")
    info = LpsInfo.from_settings(custom)
    assert (info.homologation_id, info.id, info.name) == ("HOMOL-42", "INST-7", "Cabinet+")
    # Older settings files kept them in "extra": read as the first-class settings.
    legacy = Settings(extra={"lps_homologation_id": "HOMOL-7", "lps_id": "INST-1"})
    assert (legacy.lps_homologation_id, legacy.lps_id) == ("HOMOL-7", "INST-1")
    # The DMP profile never sends the training placeholder.
    assert LpsInfo.from_settings(settings(profile="dmp", training_mode=False)).homologation_id == ""


def test_full_claims_roundtrip() -> None:
    claims = parse_vihf(_roundtrip(build_vihf(_context())))
    assert claims.name_id == "899700433153"
    assert claims.assertion_id == "_fixed"
    assert claims.issue_instant == datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    assert claims.issuer == "CN=899700433153,O=TEST,C=FR"
    assert claims.auth_mode == "DIRECTE"
    assert claims.patient_ins() == INS
    assert claims.structure_id == STRUCTURE_ID
    assert claims.subject_name is None  # direct mode: the card names the professional
    indirect = parse_vihf(build_vihf(_context(auth_mode="INDIRECTE_RENFORCEE")))
    assert indirect.subject_name == "Claire MARTIN"  # as the official indirect tokens
    assert claims.lps_name == LPS_NAME
    assert claims.attributes[ATTR_ROLE] == ("10^1.2.250.1.71.1.2.7", "SM26^1.2.250.1.71.4.2.5")


# --- the reader ----------------------------------------------------------------------------------


def _assertion_xml(attributes: str, *, name_id: str = "899700433153", extra: str = "") -> bytes:
    return f"""<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_a"
        IssueInstant="2024-01-02T03:04:05Z" Version="2.0">
      <saml2:Issuer>CN=x</saml2:Issuer>{extra}
      <saml2:Subject><saml2:NameID>{name_id}</saml2:NameID></saml2:Subject>
      <saml2:AttributeStatement>{attributes}</saml2:AttributeStatement>
    </saml2:Assertion>""".encode()


def _attr(name: str, value: str) -> str:
    return (
        f'<saml2:Attribute Name="{name}"><saml2:AttributeValue>{value}</saml2:AttributeValue>'
        "</saml2:Attribute>"
    )


@pytest.mark.parametrize(
    "name", ["Authentification_mode", "Authentification_Mode", "AUTHENTIFICATION_MODE"]
)
def test_reader_is_lenient_on_attribute_name_case(name: str) -> None:
    claims = parse_vihf(xmlsafe.parse(_assertion_xml(_attr(name, "INDIRECTE"))))
    assert claims.auth_mode == "INDIRECTE"
    assert claims.attribute(ATTR_AUTH_MODE) == "INDIRECTE"


def test_reader_accepts_purpose_as_plain_text() -> None:
    claims = parse_vihf(
        xmlsafe.parse(
            _assertion_xml(
                _attr(
                    "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
                    "bris_de_glace^1.2.250.1.213.1.1.4.248",
                )
            )
        )
    )
    assert claims.purpose_of_use == "bris_de_glace"
    assert claims.purpose_code_system == "1.2.250.1.213.1.1.4.248"


def test_reader_detects_a_signature() -> None:
    sig = '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>'
    assert parse_vihf(xmlsafe.parse(_assertion_xml("", extra=sig))).signed is True


def test_reader_issue_instant_without_fraction() -> None:
    claims = parse_vihf(xmlsafe.parse(_assertion_xml("")))
    assert claims.issue_instant == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert claims.auth_mode is None and claims.roles == ()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<Assertion/>", id="no-namespace"),
        pytest.param(b'<x xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>', id="wrong-element"),
        pytest.param(_assertion_xml("", name_id=""), id="no-name-id"),
        pytest.param(
            _assertion_xml("").replace(b"2024-01-02T03:04:05Z", b"yesterday"), id="bad-instant"
        ),
    ],
)
def test_reader_refuses_what_is_not_a_vihf(data: bytes) -> None:
    with pytest.raises(DmpProtocolError):
        parse_vihf(xmlsafe.parse(data))


def test_reader_refuses_none() -> None:
    with pytest.raises(DmpProtocolError):
        parse_vihf(None)


def test_invalid_resource_ins_is_a_protocol_error() -> None:
    claims = parse_vihf(
        xmlsafe.parse(
            _assertion_xml(
                _attr(
                    "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
                    "207058575627000^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH",
                )
            )
        )
    )
    assert claims.ins_value == "207058575627000"
    with pytest.raises(DmpProtocolError):
        claims.patient_ins()


# --- issuer DN -----------------------------------------------------------------------------------


def _card_certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CABINET MEDICAL FORMATION")]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, STRUCTURE_ID)]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, "Médecin")]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "899700433153"),
                    x509.NameAttribute(NameOID.SURNAME, "MARTIN"),
                    x509.NameAttribute(NameOID.GIVEN_NAME, "CLAIRE"),
                ]
            ),
        ]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _components(dn: str) -> set[str]:
    return {part for rdn in dn.split(",") for part in rdn.split("+")}


def test_issuer_dn_from_the_card_certificate() -> None:
    dn = issuer_dn_from_certificate(_card_certificate())
    assert "CN=899700433153" in dn.split(",")[0].split("+")
    assert dn.endswith(f"OU={STRUCTURE_ID},O=CABINET MEDICAL FORMATION,C=FR")


def test_rebuilt_dn_has_the_card_components() -> None:
    rebuilt = practitioner_dn(doctor())
    assert _components(rebuilt) == _components(issuer_dn_from_certificate(_card_certificate()))
    assert rebuilt.startswith("CN=899700433153+")
