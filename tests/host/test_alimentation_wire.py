"""Wire helpers for the alimentation tests (no tests here): TD2.1 (ITI-41) and TD3.3 (ITI-57).

Requests are built by hand, shaped like the official ``TD2.1 - Alimentation_requête.xml``,
``TD3.3c`` / ``TD3.3d`` requests and ``template_masquage.xml``, so that the host is tested
against the wire itself. The documents are real CDA R2 level-1 documents
(:func:`dmp_desktop.cda.level1.wrap_text`); the submission is signed with the client's
XAdES signer (:func:`dmp_desktop.dmp.xades.sign_submission`) and a signature certificate
of the test persons CA whose key is in a file (the SoftHSM card's key is used in
``test_alimentation_signature``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import select

from dmp_desktop.cda.level1 import Level1Document, wrap_text
from dmp_desktop.dmp.mtom import MimePart, build_mtom, new_content_id, xop_include
from dmp_desktop.dmp.xades import SignedDocument, sign_submission
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import CareProvider, CareStructure, Gender, PatientIdentity
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.pki import PkiPaths, issue_leaf, load_cert, load_key, new_key
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import DocumentRecord, SubmissionSetRecord, Trace
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_SCHEMAS, shared_missing
from tests.host.conftest import DURAND, MARTIN
from tests.host.test_consultation_wire import (
    DOCTOR,
    RIM,
    RS,
    SUCCESS,
    TlsClient,
    assertion,
    content_type,
    schema,
)
from tests.host.wire import SOAP, Reply, envelope

LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
REPOSITORY = "/si-dmp-server/v2/services/repository"
REGISTRY = "/si-dmp-server/v2/services/registry"
ACTION_ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ACTION_ITI41_RESPONSE = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
ACTION_ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"
ACTION_ITI57_RESPONSE = "urn:ihe:iti:2010:UpdateDocumentSet-Response"
SCHEMA_RS = DMP_SCHEMAS / "ebRS" / "rs.xsd"
SCHEMA_REPOSITORY = DMP_SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd"
SCHEMA_LCM = DMP_SCHEMAS / "ebRS" / "lcm.xsd"

OBJECT_TYPE_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SS_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_EVENT = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
DE_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PATIENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
UPDATE_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
ASSOCIATION_TYPE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"

OID_HL7_CONF = "2.16.840.1.113883.5.25"
OID_DMP_CONF = "1.2.250.1.213.1.1.4.13"
SECRETARY = ("SECRETARIAT_MEDICAL", "1.2.250.1.213.1.1.4.6")
STRUCTURE_ID = "499700433153007"
STRUCTURE_NAME = "CABINET MEDICAL FORMATION"

PATIENTS = {p.key: p for p in demo_patients()}
LEA, LEFEBVRE, GIRARD, FAURE = (
    PATIENTS[k].ins
    for k in ("actif-autorise", "actif-sans-autorisation", "bloque", "autorisation-expiree")
)
ROUSSEL, BLANC, EMMA = (PATIENTS[k].ins for k in ("sans-dmp", "ferme", "mineur"))

_counter = itertools.count(1)
_RUN = secrets.randbelow(10**9)


def new_uid(arc: str = "1.2.250.1.999.7") -> str:
    """A fresh OID for a document or a submission set."""
    return f"{arc}.{_RUN}.{next(_counter)}"


# --- who writes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Author:
    national_id: str
    family: str
    given: str
    institution: str = STRUCTURE_NAME
    institution_id: str = STRUCTURE_ID
    specialty: str = (
        "G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5"
    )

    def xcn(self) -> str:
        return (
            f"{self.national_id}^{self.family}^{self.given}^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
        )

    def xon(self) -> str:
        return f"{self.institution}^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^{self.institution_id}"

    def provider(self) -> CareProvider:
        return CareProvider(
            Practitioner(
                national_id=self.national_id,
                family_name=self.family,
                given_name=self.given,
                profession="Médecin",
                profession_code="10",
                specialty_code="SM26",
                specialty_label="Qualifié en Médecine Générale (SM)",
                structure_id=self.institution_id,
                structure_name=self.institution,
            ),
            CareStructure(id=self.institution_id, name=self.institution),
        )


DURAND_AUTHOR = Author(DURAND, "DURAND", "MARIE")
MARTIN_AUTHOR = Author(MARTIN, "MARTIN", "PAUL")


def patient_identity(ins: Ins) -> PatientIdentity:
    demo = next(p for p in PATIENTS.values() if p.ins == ins)
    return PatientIdentity(
        ins=ins,
        birth_family_name=demo.family_name.upper(),
        birth_given_names=[demo.given_name.upper()],
        birth_date=demo.birth_date,
        gender=Gender.FEMALE if demo.gender == "F" else Gender.MALE,
        birthplace_code=ins.value[5:10],
    )


def cda(ins: Ins, author: Author, unique_id: str, title: str = "Note de consultation") -> bytes:
    """A real CDA R2 level-1 document about ``ins`` (body: plain text)."""
    doc = Level1Document(
        patient=patient_identity(ins),
        author=author.provider(),
        effective_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        type_code="11488-4",
        title=title,
        document_id=unique_id,
        set_id=f"{unique_id}.0",
    )
    return wrap_text(doc, f"{title}\n\nExamen clinique sans particularité.")


# --- signing -----------------------------------------------------------------------------------


@dataclass
class FileSigner:
    """A :class:`dmp_desktop.dmp.xades.DocumentSigner` with its key in memory."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def sign_certificate(self) -> x509.Certificate:
        return self.certificate

    def sign_with_signature_key(self, data: bytes) -> bytes:
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def person_name(national_id: str, family: str, given: str) -> x509.Name:
    return x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, STRUCTURE_NAME)]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, STRUCTURE_ID)]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, "Médecin")]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, national_id),
                    x509.NameAttribute(NameOID.SURNAME, family),
                    x509.NameAttribute(NameOID.GIVEN_NAME, given),
                ]
            ),
        ]
    )


def make_signer(
    pki: PkiPaths,
    author: Author = DURAND_AUTHOR,
    *,
    issuer: str = "persons",
    signing: bool = True,
    not_before: dt.datetime | None = None,
    days: int = 1095,
) -> FileSigner:
    """A card-like signature certificate (key usage non-repudiation) from the test ``issuer``."""
    key = new_key()
    cert_path, key_path = {
        "persons": (pki.persons_cert, pki.persons_key),
        "organisations": (pki.orgs_cert, pki.orgs_key),
    }[issuer]
    cert = issue_leaf(
        person_name(author.national_id, author.family, author.given),
        key.public_key(),
        load_cert(cert_path),
        load_key(key_path),
        signing=signing,
        not_before=not_before,
        days=days,
    )
    return FileSigner(cert, key)


# The test PKI the default signatures are made with (set by tests/host/conftest.py).
AUTO_PKI: list[PkiPaths] = []
_AUTO_SIGNERS: dict[str, FileSigner] = {}


def auto_signer(author: Author) -> FileSigner:
    """The author's own signature certificate (one per author and test run)."""
    if not AUTO_PKI:
        raise RuntimeError("tests/host/conftest.py sets AUTO_PKI before any upload")
    if author.national_id not in _AUTO_SIGNERS:
        _AUTO_SIGNERS[author.national_id] = make_signer(AUTO_PKI[0], author)
    return _AUTO_SIGNERS[author.national_id]


# --- TD2.1 requests ----------------------------------------------------------------------------


@dataclass
class Doc:
    """One document of a submission and its metadata (what the tests vary)."""

    unique_id: str
    content: bytes
    author: Author = DURAND_AUTHOR
    title: str = "Note de consultation"
    confidentiality: tuple[tuple[str, str], ...] = (("N", OID_HL7_CONF),)
    mime_type: str = "text/xml"
    entry_id: str = "Document01"
    patient: Ins | None = None  # patientId of the entry (default: the submission's)
    declared_hash: str | None = None
    declared_size: str | None = None
    class_code: tuple[str, str, str] = ("11", "Compte rendu", "1.2.250.1.213.1.1.4.1")
    type_code: tuple[str, str, str] = ("11488-4", "Note de consultation", "2.16.840.1.113883.6.1")
    with_title: bool = True

    def with_flags(self, *flags: str) -> Doc:
        return replace(
            self, confidentiality=(("N", OID_HL7_CONF), *((f, OID_DMP_CONF) for f in flags))
        )


def new_doc(ins: Ins, author: Author = DURAND_AUTHOR, **kwargs: object) -> Doc:
    uid = new_uid()
    return Doc(uid, cda(ins, author, uid), author, **kwargs)  # type: ignore[arg-type]


def _slot(parent: etree._Element, name: str, *values: str) -> None:
    el = etree.SubElement(parent, f"{{{RIM}}}Slot", name=name)
    holder = etree.SubElement(el, f"{{{RIM}}}ValueList")
    for value in values:
        etree.SubElement(holder, f"{{{RIM}}}Value").text = value


def _localized(parent: etree._Element, tag: str, value: str) -> None:
    holder = etree.SubElement(parent, f"{{{RIM}}}{tag}")
    string = etree.SubElement(holder, f"{{{RIM}}}LocalizedString", charset="UTF8", value=value)
    string.set("{http://www.w3.org/XML/1998/namespace}lang", "FR")


class Ids:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        return f"{prefix}{self.counts[prefix]}"


def _classification(
    parent: etree._Element,
    ids: Ids,
    scheme: str,
    owner: str,
    code: str,
    coding_scheme: str,
    display: str,
) -> None:
    cl = etree.SubElement(
        parent,
        f"{{{RIM}}}Classification",
        classificationScheme=scheme,
        classifiedObject=owner,
        id=ids("cla"),
        nodeRepresentation=code,
    )
    _slot(cl, "codingScheme", coding_scheme)
    _localized(cl, "Name", display)


def _author(parent: etree._Element, ids: Ids, scheme: str, owner: str, author: Author) -> None:
    cl = etree.SubElement(
        parent,
        f"{{{RIM}}}Classification",
        classificationScheme=scheme,
        classifiedObject=owner,
        id=ids("cla"),
        nodeRepresentation="",
    )
    _slot(cl, "authorPerson", author.xcn())
    _slot(cl, "authorSpecialty", author.specialty)
    _slot(cl, "authorInstitution", author.xon())


def _identifier(
    parent: etree._Element, ids: Ids, scheme: str, owner: str, value: str, label: str
) -> None:
    ei = etree.SubElement(
        parent,
        f"{{{RIM}}}ExternalIdentifier",
        id=ids("ei"),
        identificationScheme=scheme,
        registryObject=owner,
        value=value,
    )
    _localized(ei, "Name", label)


def submission_set(
    objects: etree._Element, ids: Ids, ins: Ins, author: Author, unique_id: str, title: str
) -> None:
    package = etree.SubElement(objects, f"{{{RIM}}}RegistryPackage", id="SubmissionSet01")
    _slot(package, "submissionTime", f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}")
    _localized(package, "Name", title)
    _author(package, ids, SS_AUTHOR, "SubmissionSet01", author)
    _classification(
        package,
        ids,
        SS_CONTENT_TYPE,
        "SubmissionSet01",
        "07",
        "1.2.250.1.213.2.2",
        "Consultation Soins Externes",
    )
    etree.SubElement(
        package,
        f"{{{RIM}}}Classification",
        classificationNode=SS_NODE,
        classifiedObject="SubmissionSet01",
        id=ids("cla"),
    )
    _identifier(
        package,
        ids,
        SS_PATIENT,
        "SubmissionSet01",
        f"{ins.cx()}^^20100907",
        "XDSSubmissionSet.patientId",
    )
    _identifier(
        package, ids, SS_SOURCE, "SubmissionSet01", "1.2.250.1.999.7", "XDSSubmissionSet.sourceId"
    )
    _identifier(package, ids, SS_UNIQUE, "SubmissionSet01", unique_id, "XDSSubmissionSet.uniqueId")


def document_entry(objects: etree._Element, ids: Ids, ins: Ins, doc: Doc) -> None:
    eo = etree.SubElement(
        objects,
        f"{{{RIM}}}ExtrinsicObject",
        id=doc.entry_id,
        mimeType=doc.mime_type,
        objectType=OBJECT_TYPE_STABLE,
    )
    now = f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    _slot(eo, "creationTime", now)
    if doc.declared_hash is not None:
        _slot(eo, "hash", doc.declared_hash)
    _slot(eo, "languageCode", "fr-FR")
    _slot(eo, "legalAuthenticator", doc.author.xcn())
    _slot(eo, "serviceStartTime", now)
    _slot(eo, "serviceStopTime", now)
    if doc.declared_size is not None:
        _slot(eo, "size", doc.declared_size)
    _slot(eo, "sourcePatientId", f"{ins.cx()}")
    _slot(eo, "sourcePatientInfo", "PID-5|TEST^PATIENT^^^^^L", "PID-7|19700101", "PID-8|F")
    if doc.with_title:
        _localized(eo, "Name", doc.title)
    _localized(eo, "Description", "Document de test")
    _author(eo, ids, DE_AUTHOR, doc.entry_id, doc.author)
    code, display, scheme = doc.class_code
    _classification(eo, ids, DE_CLASS, doc.entry_id, code, scheme, display)
    _classification(
        eo, ids, DE_TYPE, doc.entry_id, doc.type_code[0], doc.type_code[2], doc.type_code[1]
    )
    for code, scheme in doc.confidentiality:
        _classification(eo, ids, DE_CONFIDENTIALITY, doc.entry_id, code, scheme, code)
    _classification(
        eo,
        ids,
        DE_FORMAT,
        doc.entry_id,
        "urn:ihe:iti:xds-sd:text:2008",
        "1.3.6.1.4.1.19376.1.2.3",
        "Document à corps non structuré en texte brut",
    )
    _classification(
        eo, ids, DE_FACILITY, doc.entry_id, "SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel"
    )
    _classification(
        eo, ids, DE_PRACTICE, doc.entry_id, "AMBULATOIRE", "1.2.250.1.213.1.1.4.9", "Ambulatoire"
    )
    patient = doc.patient or ins
    _identifier(
        eo, ids, DE_PATIENT, doc.entry_id, f"{patient.cx()}^^20100907", "XDSDocumentEntry.patientId"
    )
    _identifier(eo, ids, DE_UNIQUE, doc.entry_id, doc.unique_id, "XDSDocumentEntry.uniqueId")


def signature_entry(
    objects: etree._Element, ids: Ids, ins: Ins, author: Author, unique_id: str
) -> None:
    """The signature's DocumentEntry (official Signature01)."""
    eo = etree.SubElement(
        objects,
        f"{{{RIM}}}ExtrinsicObject",
        id="Signature01",
        mimeType="text/xml",
        objectType=OBJECT_TYPE_STABLE,
    )
    now = f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    for name, value in (
        ("creationTime", now),
        ("languageCode", "art"),
        ("legalAuthenticator", author.xcn()),
        ("serviceStartTime", now),
        ("serviceStopTime", now),
        ("sourcePatientId", ins.cx()),
    ):
        _slot(eo, name, value)
    _localized(eo, "Name", "Source")
    _author(eo, ids, DE_AUTHOR, "Signature01", author)
    _classification(
        eo,
        ids,
        DE_CLASS,
        "Signature01",
        "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1",
        "URN",
        "Digital Signature",
    )
    for code, scheme in (
        ("N", OID_HL7_CONF),
        ("MASQUE_PS", OID_DMP_CONF),
        ("INVISIBLE_PATIENT", OID_DMP_CONF),
    ):
        _classification(eo, ids, DE_CONFIDENTIALITY, "Signature01", code, scheme, code)
    _classification(
        eo, ids, DE_EVENT, "Signature01", "1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12", "Source"
    )
    _classification(
        eo,
        ids,
        DE_FORMAT,
        "Signature01",
        "http://www.w3.org/2000/09/xmldsig#",
        "URN",
        "Default Signature Style",
    )
    _classification(
        eo, ids, DE_FACILITY, "Signature01", "SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel"
    )
    _classification(
        eo, ids, DE_PRACTICE, "Signature01", "AMBULATOIRE", "1.2.250.1.213.1.1.4.9", "Ambulatoire"
    )
    _classification(eo, ids, DE_TYPE, "Signature01", "E1762", "ASTM", "Full Document")
    _identifier(eo, ids, DE_PATIENT, "Signature01", ins.cx(), "XDSDocumentEntry.patientId")
    _identifier(eo, ids, DE_UNIQUE, "Signature01", unique_id, "XDSDocumentEntry.uniqueId")


def association(
    objects: etree._Element, ids: Ids, kind: str, source: str, target: str, **slots: str
) -> None:
    assoc = etree.SubElement(
        objects,
        f"{{{RIM}}}Association",
        associationType=kind,
        id=ids("assoc"),
        sourceObject=source,
        targetObject=target,
    )
    for name, value in slots.items():
        _slot(assoc, name, value)


@dataclass
class Upload:
    """An ITI-41 request ready to post (MTOM), and what it holds."""

    content_type: str
    body: bytes
    docs: list[Doc]
    set_unique_id: str
    signature_unique_id: str | None
    payload: etree._Element = field(repr=False)


def upload_request(
    national_id: str,
    ins: Ins,
    docs: list[Doc],
    *,
    signer: FileSigner | object | None = None,
    unsigned: bool = False,
    signed_docs: list[tuple[str, bytes]] | None = None,
    signature_bytes: bytes | None = None,
    replaces: dict[str, str] | None = None,
    set_author: Author | None = None,
    set_unique_id: str | None = None,
    role: tuple[str, str] = DOCTOR,
    purpose: str | None = "normal",
    reason: str | None = None,
    vihf_ins: Ins | None = None,
    no_vihf_patient: bool = False,
    extra_parts: dict[str, bytes] | None = None,
    drop_parts: tuple[str, ...] = (),
    mutate: Callable[[etree._Element], None] | None = None,
    inline: bool = False,
) -> Upload:
    """A TD2.1 request (official shape), signed (the host requires it) unless ``unsigned``.

    The signature is made with ``signer``, or given as ``signature_bytes``,
    or by default with a card-like signature certificate of the author
    (:func:`auto_signer`).
    """
    root = etree.Element(
        f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest",
        nsmap={None: RIM, "ns2": RS, "ns3": LCM, "ns4": XDSB, "ns5": QUERY},
    )
    request = etree.SubElement(root, f"{{{LCM}}}SubmitObjectsRequest")
    objects = etree.SubElement(request, f"{{{RIM}}}RegistryObjectList")
    ids = Ids()
    author = set_author or docs[0].author
    if signer is None and signature_bytes is None and not unsigned:
        signer = auto_signer(author)
    set_uid = set_unique_id or new_uid("1.2.250.1.999.8")
    submission_set(objects, ids, ins, author, set_uid, docs[0].title)
    for doc in docs:
        document_entry(objects, ids, ins, doc)
    signed = signer is not None or signature_bytes is not None
    signature_uid = new_uid("1.2.250.1.999.9") if signed else None
    if signature_uid is not None:
        signature_entry(objects, ids, ins, author, signature_uid)
    for doc in docs:
        association(
            objects,
            ids,
            HAS_MEMBER,
            "SubmissionSet01",
            doc.entry_id,
            SubmissionSetStatus="Original",
        )
    if signed:
        association(
            objects,
            ids,
            HAS_MEMBER,
            "SubmissionSet01",
            "Signature01",
            SubmissionSetStatus="Original",
        )
        association(
            objects, ids, SIGNS, "Signature01", "SubmissionSet01", SubmissionSetStatus="Original"
        )
    for entry_id, target in (replaces or {}).items():
        association(objects, ids, RPLC, entry_id, target)
    contents: list[tuple[str, bytes]] = [(d.entry_id, d.content) for d in docs]
    if signed:
        if signature_bytes is None:
            covered = signed_docs or [(d.unique_id, d.content) for d in docs]
            signature_bytes = sign_submission(
                [SignedDocument(uid, data) for uid, data in covered],
                signer,  # type: ignore[arg-type]
            )
        contents.append(("Signature01", signature_bytes))
    contents += list((extra_parts or {}).items())
    parts: list[MimePart] = []
    for object_id, data in contents:
        if object_id in drop_parts:
            continue
        holder = etree.SubElement(root, f"{{{XDSB}}}Document", id=object_id)
        if inline:
            holder.text = base64.b64encode(data).decode("ascii")
            continue
        content_id = new_content_id("tests.dmp")
        xop_include(holder, content_id)
        parts.append(MimePart(content_id, data, "text/xml"))
    if mutate is not None:
        mutate(root)
    named = vihf_ins or ins
    token = assertion(
        national_id,
        None if no_vihf_patient else named.value,
        purpose=purpose,
        reason=reason,
        role=role,
    )
    _fix_vihf_root(token, named)
    env, _ = envelope(root, token, action=ACTION_ITI41)
    if inline:
        return Upload(content_type(ACTION_ITI41), env, docs, set_uid, signature_uid, root)
    media_type, body = build_mtom(env, parts, action=ACTION_ITI41)
    return Upload(media_type, body, docs, set_uid, signature_uid, root)


def _fix_vihf_root(token: etree._Element, ins: Ins) -> None:
    """``assertion`` writes the test authority; keep the INS's own."""
    for value in token.iter("{urn:oasis:names:tc:SAML:2.0:assertion}AttributeValue"):
        if value.text and value.text.startswith(f"{ins.value}^^^"):
            value.text = ins.cx()


# --- TD3.3 requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A document as the registry holds it (read from the store)."""

    entry_uuid: str
    lid: str
    unique_id: str
    version: int
    status: str
    confidentiality: tuple[str, ...]
    authors: tuple[str, ...]
    replaced_by: str | None
    replaces: str | None


def stored(host: RunningHost, unique_id: str) -> Stored:
    with host.store.session() as session:
        doc = session.scalars(
            select(DocumentRecord).where(DocumentRecord.unique_id == unique_id)
        ).one()
        return Stored(
            doc.entry_uuid,
            doc.lid,
            doc.unique_id,
            doc.version,
            doc.status,
            tuple(str(c["code"]) for c in doc.confidentiality),
            tuple(sorted(doc.author_ids())),
            doc.replaced_by_uuid,
            doc.replaces_uuid,
        )


def document_count(host: RunningHost) -> int:
    with host.store.session() as session:
        return len(session.scalars(select(DocumentRecord.id)).all())


def submission_of(host: RunningHost, unique_id: str) -> SubmissionSetRecord:
    with host.store.session() as session:
        doc = session.scalars(
            select(DocumentRecord).where(DocumentRecord.unique_id == unique_id)
        ).one()
        record = session.get(SubmissionSetRecord, doc.submission_set_id)
        assert record is not None
        _ = record.signature  # load the deferred bytes while the session is open
        return record


def update_root() -> tuple[etree._Element, etree._Element]:
    root = etree.Element(
        f"{{{LCM}}}SubmitObjectsRequest", nsmap={None: RIM, "ns2": RS, "ns3": QUERY, "ns4": LCM}
    )
    return root, etree.SubElement(root, f"{{{RIM}}}RegistryObjectList")


def status_update_body(
    ins: Ins, author: Author, changes: list[tuple[str, str, str]]
) -> etree._Element:
    """UpdateAvailabilityStatus (official TD3.3c / TD3.3d): (entryUUID, original, new) each."""
    root, objects = update_root()
    ids = Ids()
    submission_set(objects, ids, ins, author, new_uid("1.2.250.1.999.8"), "Mise à jour")
    for target, original, new in changes:
        assoc = etree.SubElement(
            objects,
            f"{{{RIM}}}Association",
            associationType=UPDATE_STATUS,
            id=ids("association"),
            objectType=ASSOCIATION_TYPE,
            sourceObject="SubmissionSet01",
            targetObject=target,
        )
        _slot(assoc, "OriginalStatus", original)
        _slot(assoc, "NewStatus", new)
    return root


def metadata_update_body(
    ins: Ins,
    author: Author,
    doc: Stored,
    flags: tuple[str, ...],
    *,
    previous_version: str | None = None,
    extra: etree._Element | None = None,
) -> etree._Element:
    """A new version of ``doc``'s metadata with ``N`` + ``flags`` (template_masquage.xml)."""
    root, objects = update_root()
    ids = Ids()
    submission_set(objects, ids, ins, author, new_uid("1.2.250.1.999.8"), "Masquage")
    assoc = etree.SubElement(
        objects,
        f"{{{RIM}}}Association",
        associationType=HAS_MEMBER,
        id=ids("association"),
        objectType=ASSOCIATION_TYPE,
        sourceObject="SubmissionSet01",
        targetObject="Document01",
    )
    _slot(assoc, "SubmissionSetStatus", "Original")
    _slot(assoc, "PreviousVersion", previous_version or str(doc.version))
    eo = etree.SubElement(
        objects,
        f"{{{RIM}}}ExtrinsicObject",
        id="Document01",
        isOpaque="false",
        lid=doc.lid,
        mimeType="text/xml",
        objectType=OBJECT_TYPE_STABLE,
        status=doc.status,
    )
    _slot(eo, "creationTime", "20260101120000")
    _slot(eo, "languageCode", "fr-FR")
    _slot(eo, "repositoryUniqueId", "1.2.250.1.213.4.1.1.1.2")
    _localized(eo, "Name", "Document")
    etree.SubElement(eo, f"{{{RIM}}}VersionInfo", versionName=str(doc.version))
    _author(eo, ids, DE_AUTHOR, doc.entry_uuid, author)
    _classification(eo, ids, DE_CONFIDENTIALITY, doc.entry_uuid, "N", OID_HL7_CONF, "Normal")
    for flag in flags:
        _classification(eo, ids, DE_CONFIDENTIALITY, doc.entry_uuid, flag, OID_DMP_CONF, flag)
    _identifier(
        eo, ids, DE_PATIENT, doc.entry_uuid, f"{ins.cx()}^^20100907", "XDSDocumentEntry.patientId"
    )
    _identifier(eo, ids, DE_UNIQUE, doc.entry_uuid, doc.unique_id, "XDSDocumentEntry.uniqueId")
    if extra is not None:
        objects.append(extra)
    return root


def update_request(
    national_id: str,
    ins: Ins,
    body: etree._Element,
    *,
    role: tuple[str, str] = DOCTOR,
    purpose: str | None = "normal",
    reason: str | None = None,
) -> bytes:
    token = assertion(national_id, ins.value, purpose=purpose, reason=reason, role=role)
    _fix_vihf_root(token, ins)
    return envelope(body, token, action=ACTION_ITI57)[0]


# --- answers -----------------------------------------------------------------------------------


@dataclass
class Answer:
    reply: Reply
    envelope: etree._Element
    body: etree._Element

    @property
    def status(self) -> str:
        return self.body.get("status", "")

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    @property
    def errors(self) -> list[tuple[str, str, str | None]]:
        return [
            (e.get("errorCode", ""), e.get("codeContext", ""), e.get("location"))
            for e in self.body.iterfind(f"{{{RS}}}RegistryErrorList/{{{RS}}}RegistryError")
        ]

    @property
    def error_code(self) -> str | None:
        return self.errors[0][0] if self.errors else None

    @property
    def action(self) -> str | None:
        return self.envelope.findtext(
            f"{{{SOAP}}}Header/{{http://www.w3.org/2005/08/addressing}}Action"
        )


def _answer(reply: Reply) -> Answer:
    assert reply.status == 200, reply.body[:2000]
    env = reply.xml()
    body = env.find(f"{{{SOAP}}}Body")[0]
    assert body.tag == f"{{{RS}}}RegistryResponse", etree.tostring(body)[:500]
    return Answer(reply, env, body)


def upload(client: TlsClient, request: Upload) -> Answer:
    return _answer(client.post(request.body, content_type=request.content_type, path=REPOSITORY))


def update(client: TlsClient, request: bytes) -> Answer:
    return _answer(client.post(request, content_type=content_type(ACTION_ITI57), path=REGISTRY))


def last_trace(host: RunningHost) -> Trace:
    return host.store.traces(after_id=host.store.last_trace_id() - 1)[-1]


def rs_schema() -> etree.XMLSchema | None:
    return schema(SCHEMA_RS)


def validate_rs(xsd: etree.XMLSchema | None, answer: Answer) -> None:
    if xsd is None:
        shared_missing("official ebRS schema")
    copy = etree.fromstring(etree.tostring(answer.body))
    assert xsd.validate(copy), xsd.error_log


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feed_host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    """A host of its own (documents are added, changed, deleted), demo data loaded."""
    db = tmp_path_factory.mktemp("feed-db") / "host.db"
    with run_in_thread(training_env, f"sqlite:///{db}", seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def durand_signer(training_env: TrainingEnv) -> FileSigner:
    return make_signer(training_env.pki, DURAND_AUTHOR)


@pytest.fixture(scope="module")
def martin_signer(training_env: TrainingEnv) -> FileSigner:
    return make_signer(training_env.pki, MARTIN_AUTHOR)


def other_ins() -> Ins:
    """A test INS no demo patient has."""
    return Ins("279035121518989", InsKind.TEST_NIR)
