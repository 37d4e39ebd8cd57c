"""Every request of every transaction, built under the « DMP » profile.

The professional is the card holder of the official TD2.1 example (its IGC-Santé
test card certificate, read by the client's identity code) in the practice
situation of the official VIHF (``499900063480001``, SA07). Each request the
client sends to a (simulated) DMP platform is checked against material nobody
here wrote:

- no training-only element (``docs/wire-conventions.md``, « FORMATION
  SEULEMENT »): no invented attribute, namespace or keyword, no placeholder
  homologation number; TD1.5 and the block-on-behalf extension are refused
  before anything is sent;
- its body validates against the official schemas (HL7v3 NE2008/NE2009, the
  DMP WSDLs' types, ebRS, IHE XDS.b);
- its VIHF has exactly the official example's attributes, in its order, and
  the official roles;
- the TD2.1 submission has the official example's slots and classifications.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, mtom, ns, td05, td11, xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.domain import Ins, InsKind
from dmp_desktop.domain.dmp_status import DmpState, DmpStatus
from dmp_desktop.domain.document import DocumentEntry, DocumentQuery
from dmp_desktop.errors import DmpDesktopError, SettingsError, TrainingOnlyError
from dmp_desktop.settings import Settings
from dmp_desktop.smartcard.card_data import PracticeSituation
from dmp_desktop.smartcard.identity import practitioner_from_certificate, with_situation
from dmp_desktop.storage.audit import EmergencyJournal
from dmp_desktop.storage.secure import SecureStore
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.unit.test_alimentation_support import SoftSigner
from tests.unit.test_dmp_iti41 import submission

H = f"{{{ns.HL7}}}"
OFFICIAL_INS = Ins("207058575627097", InsKind.TEST_NIR)
HOMOLOGATION = "DMP-2026-0042"
NE2009 = Path("HL7V3") / "NE2009" / "multicacheschemas"
NE2008 = Path("HL7V3") / "NE2008" / "multicacheschemas"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
XOP = "http://www.w3.org/2004/08/xop/include"
# What the « Formation » profile alone may send (docs/wire-conventions.md).
TRAINING_ONLY = (
    b"Motif_Acces_Urgence",
    b"urn:dmp-formation",
    b">FORMATION<",
    b"PATIENT_MINEUR",
    b"CONNEXION_SECRETE",
)
FAULT = (
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
    b"<soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code>"
    b'<soap:Reason><soap:Text xml:lang="fr">simulation</soap:Text></soap:Reason>'
    b"</soap:Fault></soap:Body></soap:Envelope>"
)


# --- the professional of the official examples, in the « DMP » profile ---------------------------


def official_certificate() -> x509.Certificate:
    text = require_shared(DMP_MESSAGES / "TD2.1-SignatureXades.xml").read_text("utf-8")
    found = re.search(r"<X509Certificate>(.*?)</X509Certificate>", text, re.S)
    assert found is not None
    return x509.load_der_x509_certificate(base64.b64decode("".join(found.group(1).split())))


def dmp_settings() -> Settings:
    return Settings(
        profile="dmp",
        dmp_platform="test",
        host_url="https://formation.dmp.example",
        trust_roots="",
        lps_homologation_id=HOMOLOGATION,
    )


@dataclasses.dataclass
class Wire:
    """A DMP platform that records every request and answers with a SOAP fault."""

    sent: list[httpx.Request] = dataclasses.field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(500, content=FAULT, headers={"Content-Type": "application/soap+xml"})

    def envelopes(self) -> list[etree._Element]:
        out = []
        for request in self.sent:
            content_type = request.headers["content-type"]
            if mtom.is_multipart(content_type):
                out.append(_inline(mtom.parse_mtom(content_type, request.content)))
            else:
                out.append(xmlsafe.parse(request.content))
        return out


def _inline(message: mtom.MtomMessage) -> etree._Element:
    """The XOP infoset of an MTOM request: each xop:Include replaced by its base64."""
    root = xmlsafe.parse(message.root)
    for include in list(root.iter(f"{{{XOP}}}Include")):
        part = message.part(include.get("href") or "")
        parent = include.getparent()
        parent.remove(include)
        parent.text = base64.b64encode(part.data).decode("ascii")
    return root


@pytest.fixture
def journal(tmp_path: Path) -> EmergencyJournal:
    return EmergencyJournal(SecureStore(tmp_path / "audit", b"k" * 32))


@pytest.fixture
def wired(journal: EmergencyJournal) -> Iterator[tuple[DmpClient, Wire]]:
    wire = Wire()
    practitioner = with_situation(
        practitioner_from_certificate(official_certificate()),
        PracticeSituation(1, "499900063480001", "CABINET DR LIBRE", "SA07"),
    )
    client = DmpClient(
        httpx.Client(transport=httpx.MockTransport(wire.handle)),
        dmp_settings(),
        practitioner,
        issuer_dn=official_certificate().subject.rfc4514_string(),
        journal=journal,
    )
    yield client, wire
    client.close()


def official_entries() -> tuple[DocumentEntry, ...]:
    answer = require_shared(DMP_MESSAGES / "TD3.1 - Recherche de document_réponse.xml")
    body = xmlsafe.parse(answer.read_bytes()).find(f"{{{ns.SOAP12}}}Body")
    assert body is not None
    return xds.parse_find_documents_response(body[0], requested=OFFICIAL_INS).entries


# --- every transaction ----------------------------------------------------------------------------

Work = Callable[[DmpClient], Any]


def _entry() -> DocumentEntry:
    return next(e for e in official_entries() if e.status.name == "APPROVED")


TRANSACTIONS: dict[str, Work] = {
    "TD0.2": lambda c: c.test_existence(OFFICIAL_INS),
    "TD0.3": lambda c: c.set_authorization(OFFICIAL_INS, treating_physician=True),
    "TD0.4": lambda c: c.list_authorised_patients(),
    "TD0.5": lambda c: c.search_patients(td05.PdqQuery("PATB-QUATRE", "LAURENCE")),
    "TD1.1": lambda c: c.create_dmp(
        OFFICIAL_INS,
        td11.PatientIdentity("PATB-QUATRE", "LAURENCE", "F", dt.date(1980, 5, 25)),
        td11.CreationConsent(True, mobile="0611223344", email="l@exemple.fr"),
    ),
    "TD1.2": lambda c: c.reactivate_dmp(OFFICIAL_INS, "PATB-QUATRE", "LAURENCE", gender="F"),
    "TD1.3a": lambda c: c.get_admin_data(OFFICIAL_INS),
    "TD1.4": lambda c: c.close_dmp(
        OFFICIAL_INS,
        "PATB-QUATRE",
        "LAURENCE",
        reason_text="Demande de la patiente",
        gender="F",
    ),
    "TD1.6": lambda c: c.list_authorizations(OFFICIAL_INS),
    "TD2.1": lambda c: c.upload_document(
        submission(author=c.author_values(), document_author=None), SoftSigner()
    ),
    "TD3.1": lambda c: c.find_documents(DocumentQuery(OFFICIAL_INS)),
    "TD3.2": lambda c: c.retrieve_document(_entry()),
    "TD3.3a": lambda c: c.update_confidentiality(
        _entry(), masked=True, invisible_patient=False, invisible_legal_reps=False
    ),
    "TD3.3c": lambda c: c.delete_document(_entry()),
    "TD3.3d": lambda c: c.archive_document(_entry()),
}


def _send(client: DmpClient, wire: Wire, work: Work) -> etree._Element:
    with pytest.raises(DmpDesktopError):
        work(client)  # the simulated platform refuses: what matters is what was sent
    assert len(wire.sent) == 1, "one request per transaction"
    (envelope,) = wire.envelopes()
    return envelope


def _body(envelope: etree._Element) -> etree._Element:
    body = envelope.find(f"{{{ns.SOAP12}}}Body")
    assert body is not None
    return next(el for el in body if isinstance(el.tag, str))


def _assertion(envelope: etree._Element) -> etree._Element:
    found = envelope.find(f".//{{{ns.SAML2}}}Assertion")
    assert found is not None
    return found


def _attribute_names(root: etree._Element) -> list[str]:
    return [a.get("Name") for a in root.iter(f"{{{ns.SAML2}}}Attribute")]


def _official_vihf_names() -> list[str]:
    text = require_shared(DMP_MESSAGES / "TD0.2 - Test d'existence_requête.xml").read_bytes()
    return re.findall(r'<saml2:Attribute Name="([^"]+)"', text.decode("utf-8", "replace"))


def _official_roles() -> list[tuple[str, ...]]:
    text = require_shared(DMP_MESSAGES / "TD0.2 - Test d'existence_requête.xml").read_text()
    roles = []
    for tag in re.findall(r"<Role [^>]*>", text):
        values = [re.search(f'{a}="([^"]*)"', tag) for a in ("code", "codeSystem", "displayName")]
        roles.append(tuple(v.group(1) if v else "" for v in values))
    return roles


@pytest.mark.parametrize("name", list(TRANSACTIONS))
def test_nothing_of_the_training_profile_goes_out(wired: tuple[DmpClient, Wire], name: str) -> None:
    client, wire = wired
    envelope = _send(client, wire, TRANSACTIONS[name])
    raw = etree.tostring(envelope)
    for marker in TRAINING_ONLY:
        assert marker not in raw, (name, marker)
    assertion = _assertion(envelope)
    homologation = assertion.find(
        f".//{{{ns.SAML2}}}Attribute[@Name='LPS_ID_HOMOLOGATION_DMP']/{{{ns.SAML2}}}AttributeValue"
    )
    assert homologation is not None and homologation.text == HOMOLOGATION
    assert wire.sent[0].url.host == "formation.dmp.example"


@pytest.mark.parametrize("name", list(TRANSACTIONS))
def test_the_vihf_has_the_official_attributes_and_roles(
    wired: tuple[DmpClient, Wire], name: str
) -> None:
    client, wire = wired
    assertion = _assertion(_send(client, wire, TRANSACTIONS[name]))
    official = _official_vihf_names()
    if name in ("TD0.4", "TD0.5"):
        # About no patient: no resource-id (the official examples copy one in; a
        # request about nobody names nobody).
        official = [n for n in official if not n.endswith(":resource:resource-id")]
    assert _attribute_names(assertion) == official
    roles = [
        (r.get("code"), r.get("codeSystem"), r.get("displayName"))
        for r in assertion.iter(f"{H}Role")
    ]
    assert roles == _official_roles()
    structure = assertion.find(
        f".//{{{ns.SAML2}}}Attribute[@Name='Identifiant_Structure']/{{{ns.SAML2}}}AttributeValue"
    )
    assert structure is not None and structure.text == "499900063480001"


# --- the official schemas -------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False)  # trusted local files


def _xsd(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(require_shared(path)), _parser()))


def _wsdl_schema(name: str) -> etree.XMLSchema:
    wsdl = etree.parse(str(require_shared(DMP_SCHEMAS.parent / "wsdl" / name)), _parser())
    schema = wsdl.getroot().find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    assert schema is not None
    return etree.XMLSchema(copy.deepcopy(schema))


SCHEMA_OF: dict[str, Callable[[], etree.XMLSchema]] = {
    "TD0.2": lambda: _xsd(DMP_SCHEMAS / NE2009 / "PRPA_IN201307UV02.xsd"),
    "TD0.3": lambda: _wsdl_schema("Habilitations.wsdl"),
    "TD0.4": lambda: _wsdl_schema("PatientsSpecific.wsdl"),
    "TD0.5": lambda: _xsd(DMP_SCHEMAS / NE2008 / "PRPA_IN201305UV02.xsd"),
    "TD1.1": lambda: _xsd(DMP_SCHEMAS / NE2009 / "PRPA_IN201311UV02.xsd"),
    "TD1.2": lambda: _xsd(DMP_SCHEMAS / NE2009 / "PRPA_IN201314UV02.xsd"),
    "TD1.3a": lambda: _xsd(DMP_SCHEMAS / NE2009 / "PRPA_IN201307UV02.xsd"),
    "TD1.4": lambda: _xsd(DMP_SCHEMAS / NE2009 / "PRPA_IN201314UV02.xsd"),
    "TD1.6": lambda: _wsdl_schema("Habilitations.wsdl"),
    "TD2.1": lambda: _xsd(DMP_SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd"),
    "TD3.1": lambda: _xsd(DMP_SCHEMAS / "ebRS" / "query.xsd"),
    "TD3.2": lambda: _xsd(DMP_SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd"),
    "TD3.3a": lambda: _xsd(DMP_SCHEMAS / "ebRS" / "lcm.xsd"),
    "TD3.3c": lambda: _xsd(DMP_SCHEMAS / "ebRS" / "lcm.xsd"),
    "TD3.3d": lambda: _xsd(DMP_SCHEMAS / "ebRS" / "lcm.xsd"),
}


def test_every_transaction_has_a_schema() -> None:
    assert set(SCHEMA_OF) == set(TRANSACTIONS)


@pytest.mark.parametrize("name", list(TRANSACTIONS))
def test_every_body_validates_against_the_official_schemas(
    wired: tuple[DmpClient, Wire], name: str
) -> None:
    client, wire = wired
    body = _body(_send(client, wire, TRANSACTIONS[name]))
    schema = SCHEMA_OF[name]()
    assert schema.validate(body), (name, [str(e) for e in schema.error_log][:5])


# --- TD2.1: the official example's slots and classifications --------------------------------------


def _official_td21() -> etree._Element:
    raw = require_shared(DMP_MESSAGES / "TD2.1 - Alimentation_requête.xml").read_bytes()
    start = raw.index(b"<soap:Envelope")
    end = raw.index(b"</soap:Envelope>") + len(b"</soap:Envelope>")
    return xmlsafe.parse(raw[start:end])


def _shape(envelope: etree._Element) -> dict[str, set[tuple[str, str]]]:
    """Per registry object kind: its slot names and classification schemes/nodes."""
    rim = f"{{{ebrs.RIM}}}"
    out: dict[str, set[tuple[str, str]]] = {}
    objects = envelope.find(f".//{rim}RegistryObjectList")
    assert objects is not None
    for obj in objects:
        if not isinstance(obj.tag, str) or etree.QName(obj).localname == "Association":
            continue
        kind = etree.QName(obj).localname
        if kind == "ExtrinsicObject" and "Signature" in (obj.get("id") or ""):
            kind = "Signature"
        if kind == "ExtrinsicObject":
            found = obj.find(f"{rim}Classification[@nodeRepresentation]")
            kind = "DocumentEntry" if found is not None else kind
        items = out.setdefault(kind, set())
        for slot in obj.findall(f"{rim}Slot"):
            items.add(("slot", slot.get("name") or ""))
        for cla in obj.findall(f"{rim}Classification"):
            scheme = cla.get("classificationScheme") or cla.get("classificationNode") or ""
            items.add(("classification", scheme))
            for slot in cla.findall(f"{rim}Slot"):
                items.add((f"slot of {scheme}", slot.get("name") or ""))
        for ident in obj.findall(f"{rim}ExternalIdentifier"):
            items.add(("identifier", ident.get("identificationScheme") or ""))
    return out


def test_the_submission_has_the_official_slots_and_classifications(
    wired: tuple[DmpClient, Wire],
) -> None:
    client, wire = wired
    ours = _shape(_send(client, wire, TRANSACTIONS["TD2.1"]))
    official = _shape(_official_td21())
    assert set(ours) == set(official)
    for kind in official:
        assert ours[kind] == official[kind], kind


def test_mtom_exchanges_do_not_ask_for_plain_soap(wired: tuple[DmpClient, Wire]) -> None:
    """TD3.2 answers in multipart/related (MTOM): no Accept: application/soap+xml."""
    client, wire = wired
    _send(client, wire, TRANSACTIONS["TD3.2"])
    assert "application/soap+xml" not in wire.sent[0].headers.get("accept", "")
    wire.sent.clear()
    _send(client, wire, TRANSACTIONS["TD3.1"])
    assert wire.sent[0].headers["accept"] == "application/soap+xml"


def test_names_and_contacts_as_the_official_messages(wired: tuple[DmpClient, Wire]) -> None:
    """TD1.2/TD1.4: the patient's name has its prefix; TD1.1: the mobile is use="MC"."""
    client, wire = wired
    for name in ("TD1.2", "TD1.4"):
        wire.sent.clear()
        body = _body(_send(client, wire, TRANSACTIONS[name]))
        person_name = body.find(f".//{H}patientPerson/{H}name")
        assert person_name is not None
        assert [etree.QName(e).localname for e in person_name] == ["prefix", "family", "given"]
        assert person_name.findtext(f"{H}prefix") == "MME"
    wire.sent.clear()
    body = _body(_send(client, wire, TRANSACTIONS["TD1.1"]))
    telecoms = [(t.get("value"), t.get("use")) for t in body.iter(f"{H}telecom")]
    assert telecoms == [("tel:0611223344", "MC"), ("mailto:l@exemple.fr", None)]


# --- refused or kept home -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "work",
    [
        lambda c: c.create_online_access(OFFICIAL_INS, "SMS", "0611223344"),
        lambda c: c.renew_online_access(OFFICIAL_INS),
        lambda c: c.update_otp_channel(OFFICIAL_INS, "EMAIL", "l@exemple.fr"),
        lambda c: c.set_professional_blocked(OFFICIAL_INS, "899700433160", blocked=True),
    ],
    ids=["TD1.5a", "TD1.5d", "TD1.5b", "block-on-behalf"],
)
def test_training_only_transactions_are_refused_before_sending(
    wired: tuple[DmpClient, Wire], work: Work
) -> None:
    client, wire = wired
    with pytest.raises(TrainingOnlyError):
        work(client)
    assert wire.sent == []


def test_the_emergency_reason_stays_in_the_local_journal(
    wired: tuple[DmpClient, Wire], journal: EmergencyJournal
) -> None:
    client, wire = wired
    reason = "Patient inconscient aux urgences"
    with pytest.raises(DmpDesktopError):
        client.find_documents(DocumentQuery(OFFICIAL_INS), purpose="bris_de_glace", reason=reason)
    raw = wire.sent[0].content
    assert reason.encode() not in raw and b"Motif_Acces_Urgence" not in raw
    assert b'code="bris_de_glace"' in raw  # the official purpose of use, as before
    assert _attribute_names(_assertion(wire.envelopes()[0])) == _official_vihf_names()
    (kept,) = journal.entries()
    assert (kept.patient_ins, kept.purpose, kept.reason, kept.transaction) == (
        OFFICIAL_INS.value,
        "bris_de_glace",
        reason,
        "TD3.1",
    )
    assert (kept.professional, kept.structure) == ("899900063480", "499900063480001")


def test_a_minors_secret_connection_carries_the_official_attribute(
    wired: tuple[DmpClient, Wire],
) -> None:
    client, wire = wired
    adult = DmpStatus(OFFICIAL_INS, DmpState.ACTIVE)
    with pytest.raises(ValueError):
        client.declare_secret_connection(adult)
    client.declare_secret_connection(dataclasses.replace(adult, minor=True))
    with pytest.raises(DmpDesktopError):
        client.find_documents(DocumentQuery(OFFICIAL_INS))
    assertion = _assertion(wire.envelopes()[0])
    names = _attribute_names(assertion)
    official = _official_vihf_names()
    purpose = official.index("urn:oasis:names:tc:xspa:1.0:subject:purposeofuse")
    expected = [
        *official[: purpose + 1],
        "urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code",
        *official[purpose + 1 :],
    ]
    assert names == expected
    (code,) = assertion.iter(f"{H}ConfidentialityCode")
    assert (code.get("code"), code.get("codeSystem")) == (
        "INVISIBLE_REPRESENTANTS_LEGAUX",
        "1.2.250.1.213.1.1.4.13",
    )

    # The window shares one set per card session with each new client.
    registry: set[str] = set()
    client.use_secret_connections(registry)
    with pytest.raises(DmpDesktopError):
        client.find_documents(DocumentQuery(OFFICIAL_INS))
    assert _attribute_names(_assertion(wire.envelopes()[1])) == official
    registry.add(OFFICIAL_INS.value)
    with pytest.raises(DmpDesktopError):
        client.find_documents(DocumentQuery(OFFICIAL_INS))
    assert _attribute_names(_assertion(wire.envelopes()[2])) == expected


def test_no_request_with_a_placeholder_homologation_number() -> None:
    wire = Wire()
    settings = dataclasses.replace(dmp_settings(), lps_homologation_id="NumAutorisation")
    with pytest.raises(SettingsError):
        settings.validate()
    client = DmpClient(
        httpx.Client(transport=httpx.MockTransport(wire.handle)),
        settings,
        practitioner_from_certificate(official_certificate()),
    )
    with pytest.raises(SettingsError):
        client.test_existence(OFFICIAL_INS)
    assert wire.sent == []
