"""Wire helpers for the consultation tests (no tests here): TD3.1, TD3.2, TD0.3 requests.

Built by hand (not with the client's builders) so that the host is tested
against the wire itself; shapes follow the official examples. The VIHF comes
from :func:`tests.host.wire.vihf`, with the purpose of use (and the emergency
reason, training-host convention) added as the client adds them.
"""

from __future__ import annotations

import datetime as dt
import email.message
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from dmp_desktop.dates import paris_today
from dmp_desktop.dmp.mtom import parse_mtom
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_SCHEMAS, shared_missing
from tests.host.wire import (
    HL7,
    SAML,
    XS,
    XSI,
    ClientIdentity,
    Reply,
    TlsClient,
    client_context,
    envelope,
    make_identity,
    vihf,
)

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"
HAB = "urn:si-dmp-habilitations"
NS = {"rim": RIM, "rs": RS, "q": QUERY, "x": XDSB, "xop": XOP, "h": HAB}

ACTION_FIND = "urn:ihe:iti:2007:RegistryStoredQuery"
ACTION_RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"
ACTION_SET_AUTH = "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
REGISTRY = "/si-dmp-server/v2/services/registry"
REPOSITORY = "/si-dmp-server/v2/services/repository"
HABILITATIONS = "/si-dmp-server/v2/services/habilitations"
TEST_ROOT = "1.2.250.1.213.1.4.10"
REPOSITORY_ID = "1.2.250.1.213.4.1.1.1.2"

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"

SCHEMA_QUERY = DMP_SCHEMAS / "ebRS" / "query.xsd"
SCHEMA_REPOSITORY = DMP_SCHEMAS / "IHE" / "XDS.b_DocumentRepository.xsd"

DOCTOR = ("10", "1.2.250.1.71.1.2.7")
SECRETARY = ("SECRETARIAT_MEDICAL", "1.2.250.1.213.1.1.4.6")


def cx(ins: str, root: str = TEST_ROOT) -> str:
    return f"{ins}^^^&{root}&ISO^NH"


def assertion(
    national_id: str,
    ins: str | None,
    *,
    purpose: str | None = "normal",
    reason: str | None = None,
    role: tuple[str, str] = DOCTOR,
    purpose_system: str = "1.2.250.1.213.1.1.4.248",
) -> etree._Element:
    """A VIHF for ``national_id`` about ``ins``, with its purpose of use (and reason)."""
    token = vihf(national_id, resource_id=cx(ins) if ins else None, role=role)
    statement = token.find(f"{{{SAML}}}AttributeStatement")
    if purpose is not None:
        attribute = etree.SubElement(
            statement,
            f"{{{SAML}}}Attribute",
            Name="urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
        )
        value = etree.SubElement(
            etree.SubElement(attribute, f"{{{SAML}}}AttributeValue"),
            f"{{{HL7}}}PurposeOfUse",
            nsmap={None: HL7},
            code=purpose,
            codeSystem=purpose_system,
        )
        value.set(f"{{{XSI}}}type", "CE")
    if reason is not None:
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name="Motif_Acces_Urgence")
        av = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue", nsmap={"xs": XS})
        av.set(f"{{{XSI}}}type", "xs:string")
        av.text = reason
    return token


def slot(parent: etree._Element, name: str, *values: str) -> None:
    el = etree.SubElement(parent, f"{{{RIM}}}Slot", name=name)
    value_list = etree.SubElement(el, f"{{{RIM}}}ValueList")
    for value in values:
        etree.SubElement(value_list, f"{{{RIM}}}Value").text = value


def find_body(
    ins: str | None,
    *,
    statuses: tuple[str, ...] = (APPROVED,),
    extra: tuple[tuple[str, tuple[str, ...]], ...] = (),
    query_id: str = FIND_DOCUMENTS,
    return_type: str = "LeafClass",
) -> etree._Element:
    request = etree.Element(
        f"{{{QUERY}}}AdhocQueryRequest", nsmap={None: RIM, "ns3": QUERY, "ns2": RS}
    )
    etree.SubElement(
        request,
        f"{{{QUERY}}}ResponseOption",
        returnComposedObjects="true",
        returnType=return_type,
    )
    query = etree.SubElement(request, f"{{{RIM}}}AdhocQuery", id=query_id)
    if ins is not None:
        slot(query, "$XDSDocumentEntryPatientId", f"'{cx(ins)}'")
    if statuses:
        slot(query, "$XDSDocumentEntryStatus", "(" + ",".join(f"'{s}'" for s in statuses) + ")")
    for name, values in extra:
        slot(query, name, *values)
    return request


def find_request(
    national_id: str,
    ins: str,
    *,
    purpose: str | None = "normal",
    reason: str | None = None,
    role: tuple[str, str] = DOCTOR,
    vihf_ins: str | None = None,
    **query: object,
) -> bytes:
    token = assertion(national_id, vihf_ins or ins, purpose=purpose, reason=reason, role=role)
    return envelope(find_body(ins, **query), token, action=ACTION_FIND)[0]  # type: ignore[arg-type]


def retrieve_body(*unique_ids: str, repository: str = REPOSITORY_ID) -> etree._Element:
    request = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetRequest", nsmap={None: XDSB})
    for unique_id in unique_ids:
        item = etree.SubElement(request, f"{{{XDSB}}}DocumentRequest")
        etree.SubElement(item, f"{{{XDSB}}}RepositoryUniqueId").text = repository
        etree.SubElement(item, f"{{{XDSB}}}DocumentUniqueId").text = unique_id
    return request


def retrieve_request(
    national_id: str,
    ins: str | None,
    *unique_ids: str,
    purpose: str | None = "normal",
    reason: str | None = None,
    role: tuple[str, str] = DOCTOR,
    repository: str = REPOSITORY_ID,
) -> bytes:
    token = assertion(national_id, ins, purpose=purpose, reason=reason, role=role)
    body = retrieve_body(*unique_ids, repository=repository)
    return envelope(body, token, action=ACTION_RETRIEVE)[0]


def set_authorization_request(
    national_id: str,
    ins: str | None,
    action: str | None = "AJOUT",
    *,
    role: str | None = None,
    card_role: tuple[str, str] = DOCTOR,
) -> bytes:
    body = etree.Element(f"{{{HAB}}}setAuthorization", nsmap={None: HAB})
    if action is not None:
        etree.SubElement(body, f"{{{HAB}}}action").text = action
    if role is not None:
        etree.SubElement(body, f"{{{HAB}}}role").text = role
    token = assertion(national_id, ins, role=card_role)
    return envelope(body, token, action=ACTION_SET_AUTH)[0]


def content_type(action: str) -> str:
    return f'application/soap+xml; charset=UTF-8; action="{action}"'


# --- reading answers -------------------------------------------------------------------------


@dataclass
class FindAnswer:
    reply: Reply
    body: etree._Element

    @property
    def status(self) -> str:
        return self.body.get("status", "")

    @property
    def error_code(self) -> str | None:
        error = self.body.find(f"{{{RS}}}RegistryErrorList/{{{RS}}}RegistryError")
        return error.get("errorCode") if error is not None else None

    @property
    def error_context(self) -> str | None:
        error = self.body.find(f"{{{RS}}}RegistryErrorList/{{{RS}}}RegistryError")
        return error.get("codeContext") if error is not None else None

    @property
    def objects(self) -> list[etree._Element]:
        return self.body.findall(f"{{{RIM}}}RegistryObjectList/{{{RIM}}}ExtrinsicObject")

    def unique_ids(self) -> list[str]:
        return [unique_id(eo) for eo in self.objects]

    def titles(self) -> list[str]:
        return [
            eo.find(f"{{{RIM}}}Name/{{{RIM}}}LocalizedString").get("value") for eo in self.objects
        ]


def unique_id(eo: etree._Element) -> str:
    scheme = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
    return eo.find(f"{{{RIM}}}ExternalIdentifier[@identificationScheme='{scheme}']").get("value")


def codes(eo: etree._Element, scheme: str) -> list[str]:
    return [
        c.get("nodeRepresentation")
        for c in eo.findall(f"{{{RIM}}}Classification[@classificationScheme='{scheme}']")
    ]


CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"


def find(client: TlsClient, request: bytes) -> FindAnswer:
    reply = client.post(request, content_type=content_type(ACTION_FIND), path=REGISTRY)
    assert reply.status == 200, reply.body[:2000]
    return FindAnswer(reply, reply.body_element())


@dataclass
class RetrieveAnswer:
    status_code: int
    content_type: str
    envelope: etree._Element
    documents: dict[str, bytes]  # unique id -> bytes
    mime_types: dict[str, str]

    @property
    def response(self) -> etree._Element:
        return self.envelope.find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]

    @property
    def status(self) -> str:
        return self.response.find(f"{{{RS}}}RegistryResponse").get("status", "")

    @property
    def error_codes(self) -> list[str]:
        return [
            e.get("errorCode")
            for e in self.response.iterfind(
                f"{{{RS}}}RegistryResponse/{{{RS}}}RegistryErrorList/{{{RS}}}RegistryError"
            )
        ]

    def inline(self) -> etree._Element:
        """The response with each xop:Include replaced by the base64 of its part (XOP decoding)."""
        import base64

        copy = etree.fromstring(etree.tostring(self.response))
        for doc in copy.iterfind(f"{{{XDSB}}}DocumentResponse"):
            uid = doc.findtext(f"{{{XDSB}}}DocumentUniqueId")
            holder = doc.find(f"{{{XDSB}}}Document")
            for child in list(holder):
                holder.remove(child)
            holder.text = base64.b64encode(self.documents[uid]).decode("ascii")
        return copy


def retrieve(client: TlsClient, request: bytes) -> RetrieveAnswer:
    reply = client.post(request, content_type=content_type(ACTION_RETRIEVE), path=REPOSITORY)
    assert reply.status == 200, reply.body[:2000]
    msg = email.message.Message()
    msg["Content-Type"] = reply.content_type
    if msg.get_content_type() != "multipart/related":
        return RetrieveAnswer(reply.status, reply.content_type, reply.xml(), {}, {})
    message = parse_mtom(reply.content_type, reply.body)
    env = etree.fromstring(message.root)
    documents: dict[str, bytes] = {}
    mime_types: dict[str, str] = {}
    for doc in env.iter(f"{{{XDSB}}}DocumentResponse"):
        uid = doc.findtext(f"{{{XDSB}}}DocumentUniqueId")
        href = doc.find(f"{{{XDSB}}}Document/{{{XOP}}}Include").get("href")
        documents[uid] = message.part(href).data
        mime_types[uid] = doc.findtext(f"{{{XDSB}}}mimeType")
    return RetrieveAnswer(reply.status, reply.content_type, env, documents, mime_types)


def set_authorization(client: TlsClient, request: bytes) -> tuple[str, str]:
    reply = client.post(request, content_type=content_type(ACTION_SET_AUTH), path=HABILITATIONS)
    assert reply.status == 200, reply.body[:2000]
    output = reply.body_element().find(f"{{{HAB}}}output")
    return output.findtext(f"{{{HAB}}}status"), output.findtext(f"{{{HAB}}}context")


def schema(path: Path) -> etree.XMLSchema | None:
    return etree.XMLSchema(etree.parse(str(path))) if path.exists() else None


def validate(xsd: etree.XMLSchema | None, element: etree._Element) -> None:
    if xsd is None:
        shared_missing("official XDS schemas")
    copy = etree.fromstring(etree.tostring(element))
    assert xsd.validate(copy), xsd.error_log


def since(days: int) -> str:
    # The demo dates its documents by the day in Paris (the DMP's), not the machine's.
    day = paris_today() - dt.timedelta(days=days)
    return f"{day:%Y%m%d}000000"


# --- fixtures (imported by the consultation test modules) -------------------------------------


@pytest.fixture(scope="module")
def consult_host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    """A host of its own (its outbox and authorisations change), demo data loaded."""
    db = tmp_path_factory.mktemp("consult-db") / "host.db"
    with run_in_thread(training_env, f"sqlite:///{db}", seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def martin(training_env: TrainingEnv, identity_dir: Path) -> ClientIdentity:
    return make_identity(
        training_env.pki, identity_dir, "899700433160", family="MARTIN", given="PAUL"
    )


REGULATOR = "899700433184"  # Dr Claire LEROY, SAMU-Centre 15 of the training (demo card)


@pytest.fixture(scope="module")
def regulator(training_env: TrainingEnv, identity_dir: Path) -> ClientIdentity:
    """The regulating physician of the training SAMU-Centre 15 (structure 1690009980)."""
    from dmp_sandbox.regulation import REGULATION_CENTRE_ID

    return make_identity(
        training_env.pki,
        identity_dir,
        REGULATOR,
        family="LEROY",
        given="CLAIRE",
        structure_id=REGULATION_CENTRE_ID,
    )


def tls(host: RunningHost, env: TrainingEnv, identity: ClientIdentity) -> TlsClient:
    return TlsClient(host.port, client_context(env.pki.trust_roots, identity))


def new_uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def document_uid(host: RunningHost, ins: str, key: str) -> str:
    """The unique id of a demo document (by its key in dmp_actors.demo_documents)."""
    from sqlalchemy import select

    from dmp_actors.demo_documents import entry_uuid_for
    from dmp_sandbox.store import DocumentRecord

    with host.store.session() as session:
        return session.scalars(
            select(DocumentRecord.unique_id).where(
                DocumentRecord.entry_uuid == entry_uuid_for(ins, key)
            )
        ).one()
