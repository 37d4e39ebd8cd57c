"""Test-side wire helpers: a mutual-TLS client with a file key, and TD0.2 requests.

The requests are built here (not with the client's builders) so that the
host is tested against the wire itself; their shape follows the official
TD0.2 example.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from dmp_sandbox.pki import PkiPaths, issue_leaf, load_cert, load_key, new_key, pem, write_key

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
HL7 = "urn:hl7-org:v3"
ACTION = "urn:hl7-org:v3:PRPA_IN201307UV02"
CONTENT_TYPE = f'application/soap+xml; charset=UTF-8; action="{ACTION}"'
PATIENTS_PATH = "/si-dmp-server/v2/services/patients"
TEST_INS_ROOT = "1.2.250.1.213.1.4.10"


@dataclass(frozen=True)
class ClientIdentity:
    national_id: str
    cert_path: Path
    key_path: Path


def make_identity(
    pki: PkiPaths,
    directory: Path,
    national_id: str,
    *,
    family: str = "DURAND",
    given: str = "MARIE",
    title: str = "Médecin",
    structure_id: str = "499700433153007",
) -> ClientIdentity:
    """A client certificate laid out like a CPS card's, with its key in a file."""
    key = new_key()
    subject = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CABINET MEDICAL FORMATION")]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, structure_id)]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, title)]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, national_id),
                    x509.NameAttribute(NameOID.SURNAME, family),
                    x509.NameAttribute(NameOID.GIVEN_NAME, given),
                ]
            ),
        ]
    )
    cert = issue_leaf(
        subject,
        key.public_key(),
        load_cert(pki.persons_cert),
        load_key(pki.persons_key),
        client=True,
    )
    directory.mkdir(parents=True, exist_ok=True)
    stem = national_id.replace("/", "_")
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(pem(cert))
    write_key(key_path, key)
    return ClientIdentity(national_id, cert_path, key_path)


def client_context(
    trust_roots: Path, identity: ClientIdentity, *, tls12_only: bool = False
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(trust_roots))
    ctx.load_cert_chain(identity.cert_path, identity.key_path)
    if tls12_only:
        # What a CPS3 card can do: TLS 1.2, ECDHE-RSA with AES-GCM.
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
    return ctx


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    def xml(self) -> etree._Element:
        return etree.fromstring(self.body)

    @property
    def fault_code(self) -> str | None:
        """The DMP subcode of a SOAP 1.2 fault (or the SOAP code without subcode)."""
        root = self.xml()
        fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
        if fault is None:
            return None
        sub = fault.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Subcode/{{{SOAP}}}Value")
        top = fault.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Value")
        return (sub or top or "").split(":")[-1]

    @property
    def fault_reason(self) -> str | None:
        return self.xml().findtext(f".//{{{SOAP}}}Reason/{{{SOAP}}}Text")

    def body_element(self) -> etree._Element:
        body = self.xml().find(f"{{{SOAP}}}Body")
        assert body is not None
        return body[0]


class TlsClient:
    """One HTTPS connection per call (http.client), mutual TLS with a file key."""

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.port = port
        self.context = context

    def post(
        self,
        body: bytes,
        *,
        content_type: str | None = CONTENT_TYPE,
        path: str = PATIENTS_PATH,
        method: str = "POST",
        chunked: bool = False,
    ) -> Reply:
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=30)
        try:
            headers = {"Content-Type": content_type} if content_type else {}
            if chunked:
                data = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
                conn.request(method, path, body=data, headers=headers, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, response.getheader("Content-Type") or "", response.read())
        finally:
            conn.close()


def _string_attribute(statement: etree._Element, name: str, value: str) -> None:
    attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name)
    av = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue", nsmap={"xs": XS})
    av.set(f"{{{XSI}}}type", "xs:string")
    av.text = value


def vihf(
    name_id: str,
    *,
    resource_id: str | None,
    role: tuple[str, str] = ("10", "1.2.250.1.71.1.2.7"),
    auth_mode: str = "DIRECTE",
) -> etree._Element:
    assertion = etree.Element(f"{{{SAML}}}Assertion", nsmap={"saml2": SAML, "xsi": XSI})
    assertion.set("ID", f"_{uuid.uuid4()}")
    # Now: the host refuses an assertion issued more than 5 minutes ago (dmp_sandbox.replay).
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assertion.set("IssueInstant", now)
    assertion.set("Version", "2.0")
    issuer = etree.SubElement(assertion, f"{{{SAML}}}Issuer")
    issuer.set("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName")
    issuer.text = f"CN={name_id},OU=499700433153007,O=CABINET MEDICAL FORMATION,C=FR"
    subject = etree.SubElement(assertion, f"{{{SAML}}}Subject")
    etree.SubElement(subject, f"{{{SAML}}}NameID").text = name_id
    authn = etree.SubElement(assertion, f"{{{SAML}}}AuthnStatement", AuthnInstant=now)
    etree.SubElement(
        etree.SubElement(authn, f"{{{SAML}}}AuthnContext"), f"{{{SAML}}}AuthnContextClassRef"
    ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
    statement = etree.SubElement(assertion, f"{{{SAML}}}AttributeStatement")
    _string_attribute(statement, "Identifiant_Structure", "499700433153007")
    _string_attribute(statement, "Secteur_Activite", "SA07^1.2.250.1.71.4.2.4")
    role_attr = etree.SubElement(
        statement, f"{{{SAML}}}Attribute", Name="urn:oasis:names:tc:xacml:2.0:subject:role"
    )
    role_el = etree.SubElement(
        etree.SubElement(role_attr, f"{{{SAML}}}AttributeValue"),
        f"{{{HL7}}}Role",
        nsmap={None: HL7},
        code=role[0],
        codeSystem=role[1],
    )
    role_el.set(f"{{{XSI}}}type", "CE")
    _string_attribute(statement, "VIHF_Version", "3.0")
    _string_attribute(statement, "Authentification_mode", auth_mode)
    if resource_id is not None:
        _string_attribute(
            statement, "urn:oasis:names:tc:xacml:2.0:resource:resource-id", resource_id
        )
    _string_attribute(statement, "Ressource_URN", "urn:dmp")
    return assertion


def td02_body(ins: str, *, root: str = TEST_INS_ROOT, reason: str = "TEST_EXST") -> etree._Element:
    def sub(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{HL7}}}{tag}", **attrs)

    msg = etree.Element(f"{{{HL7}}}PRPA_IN201307UV02", nsmap={None: HL7}, ITSVersion="XML_1.0")
    sub(msg, "id", root="1.3.6.1.4.1.48364.1.1", extension=str(uuid.uuid4()))
    sub(msg, "creationTime", value="20261125080000")
    sub(msg, "interactionId", root="2.16.840.1.113883.1.6", extension="PRPA_IN201307UV02")
    sub(msg, "processingCode", code="D")
    sub(msg, "processingModeCode", code="T")
    sub(msg, "acceptAckCode", code="AL")
    for holder, type_code, oid, name in (
        ("receiver", "RCV", "1.2.250.1.213.4.1.1.1", "DMP"),
        ("sender", "SND", "1.3.6.1.4.1.48364", "LPS DE TEST"),
    ):
        device = sub(
            sub(msg, holder, typeCode=type_code),
            "device",
            classCode="DEV",
            determinerCode="INSTANCE",
        )
        sub(device, "id", root=oid)
        sub(device, "softwareName").text = name
    cap = sub(msg, "controlActProcess", classCode="CACT", moodCode="EVN")
    sub(cap, "reasonCode", code=reason, codeSystem="1.2.250.1.213.1.1.4.11")
    query = sub(cap, "queryByParameter")
    sub(query, "queryId", root="1.3.6.1.4.1.48364.2", extension=str(uuid.uuid4()))
    sub(query, "statusCode", code="new")
    identifier = sub(sub(query, "parameterList"), "patientIdentifier")
    sub(identifier, "value", root=root, extension=ins)
    sub(identifier, "semanticsText").text = "Patient.id"
    return msg


def envelope(
    payload: etree._Element,
    assertion: etree._Element | None,
    *,
    action: str | None = ACTION,
    message_id: str | None = None,
    extra_header: etree._Element | None = None,
) -> tuple[bytes, str]:
    """(bytes, message id) of a SOAP 1.2 envelope around ``payload``."""
    message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    header = etree.SubElement(env, f"{{{SOAP}}}Header")
    etree.SubElement(header, f"{{{WSA}}}MessageID", nsmap={None: WSA}).text = message_id
    etree.SubElement(header, f"{{{WSA}}}To", nsmap={None: WSA})
    if action is not None:
        action_el = etree.SubElement(header, f"{{{WSA}}}Action", nsmap={None: WSA})
        action_el.set("mustUnderstand", "true")
        action_el.text = action
    if assertion is not None:
        security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE})
        security.append(assertion)
    if extra_header is not None:
        header.append(extra_header)
    etree.SubElement(env, f"{{{SOAP}}}Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8"), message_id


def td02_request(
    national_id: str,
    ins: str,
    *,
    root: str = TEST_INS_ROOT,
    name_id: str | None = None,
    resource_id: str | bool | None = True,
    role: tuple[str, str] = ("10", "1.2.250.1.71.1.2.7"),
) -> tuple[bytes, str]:
    """A TD0.2 request by ``national_id`` about ``ins`` (resource-id = the same INS)."""
    resource = f"{ins}^^^&{root}&ISO^NH" if resource_id is True else resource_id or None
    assertion = vihf(name_id or national_id, resource_id=resource, role=role)
    return envelope(td02_body(ins, root=root), assertion)
