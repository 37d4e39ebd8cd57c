"""Shared builders for the alimentation tests (no official material needed).

A software signer (RSA key + certificate, standing in for the card where a
unit test needs no PKCS#11), a qualified identity, upload requests, and
:class:`FakeDmp`: an in-memory registry behind ``httpx.MockTransport`` that
reads ITI-41 (MTOM), ITI-57 and ITI-18 requests like a host would and can
lose its answer after storing a document (a state the real host shows only
with a broken connection: the e2e tests do that for real).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from dmp_desktop import xmlsafe
from dmp_desktop.alimentation import UploadRequest, type_code
from dmp_desktop.dmp import ebrs, iti41, mtom, ns, xades, xds
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.xmlutil import child, children, qn
from dmp_desktop.domain.document import Code
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import Gender, PatientIdentity
from tests.unit.test_dmp_support import INS, doctor, settings
from tests.unit.test_dmp_xds import (
    extrinsic_object,
    query_response,
    registry_error_list,
    retrieve_response,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TODAY = dt.date(2026, 3, 12)
SOAP_CT = {"Content-Type": "application/soap+xml; charset=utf-8"}
BASE = "https://dmp.test:8443/si-dmp-server/v2/services/"


class SoftSigner:
    """A card stand-in: RSA key, a certificate naming the practitioner, SHA256withRSA."""

    def __init__(self, practitioner: Practitioner | None = None) -> None:
        self.practitioner = practitioner or doctor()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.practitioner.national_id)])
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST AC SIGNATURE")])
        now = dt.datetime.now(dt.UTC)
        self.sign_certificate: x509.Certificate | None = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer)
            .public_key(self._key.public_key())
            .serial_number(4242)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self._key, hashes.SHA256())
        )
        self.signed = 0

    def sign_with_signature_key(self, data: bytes) -> bytes:
        self.signed += 1
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def identity(ins: Ins = INS, **changes: object) -> PatientIdentity:
    values: dict[str, object] = {
        "ins": ins,
        "birth_family_name": "MOREAU",
        "birth_given_names": ["LÉA", "CLAIRE"],
        "birth_date": dt.date(2007, 5, 25),
        "gender": Gender.FEMALE,
        "birthplace_code": "69383",
    }
    values.update(changes)
    return PatientIdentity(**values)  # type: ignore[arg-type]


def request(**changes: object) -> UploadRequest:
    values: dict[str, object] = {
        "patient": INS,
        "source": PDF,
        "filename": "cr.pdf",
        "media_type": None,
        "type_code": type_code("11488-4"),
        "service_date": TODAY,
        "title": "Compte rendu de consultation",
        "masked": False,
        "invisible_patient": False,
        "invisible_legal_reps": False,
        "identity": identity(),
    }
    values.update(changes)
    return UploadRequest(**values)  # type: ignore[arg-type]


def registry_response(relates_to: str, *errors: tuple[str, str, str], action: str) -> bytes:
    status = "Failure" if any(e[2] == "Error" for e in errors) else "Success"
    return f"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">
<soap:Header>
  <Action xmlns="http://www.w3.org/2005/08/addressing">{action}</Action>
  <RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{relates_to}</RelatesTo>
</soap:Header>
<soap:Body>
<ns2:RegistryResponse xmlns:ns2="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
  status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:{status}">
{registry_error_list(*errors)}
</ns2:RegistryResponse>
</soap:Body></soap:Envelope>""".encode()


def message_id(data: bytes) -> str:
    found = re.search(rb"<MessageID[^>]*>([^<]+)</MessageID>", data)
    assert found is not None
    return found.group(1).decode()


@dataclass
class Stored:
    unique_id: str
    entry_uuid: str
    content: bytes
    type_code: str
    confidentiality: tuple[str, ...]
    status: str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    author: str = ""
    version: int = 1


@dataclass
class FakeDmp:
    """An in-memory DMP behind httpx.MockTransport (see the module docstring)."""

    requests: list[httpx.Request] = field(default_factory=list)
    documents: dict[str, Stored] = field(default_factory=dict)
    # What the next ITI-41 does: "ok", "lose" (store, then drop the answer),
    # "drop" (drop before storing), or an error code to refuse with.
    next_upload: list[str] = field(default_factory=list)
    signatures: list[xades.VerifiedSignature] = field(default_factory=list)

    def client(self, practitioner: Practitioner | None = None) -> DmpClient:
        return DmpClient(
            httpx.Client(transport=httpx.MockTransport(self.handle)),
            settings(),
            practitioner or doctor(),
        )

    def actions(self) -> list[str]:
        out = []
        for r in self.requests:
            found = re.search(r'action="([^"]+)"', r.headers["content-type"])
            out.append(found.group(1) if found else "")
        return out

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        content_type = request.headers["content-type"]
        if mtom.is_multipart(content_type):
            message = mtom.parse_mtom(content_type, request.content)
            return self._iti41(request, message)
        envelope = xmlsafe.parse(request.content)
        body = next(iter(envelope.find(qn(ns.SOAP12, "Body"))))
        relates = message_id(request.content)
        if body.tag == qn(ebrs.QUERY, "AdhocQueryRequest"):
            objects = [
                extrinsic_object(
                    unique_id=d.unique_id,
                    entry_uuid=d.entry_uuid,
                    confidentiality=d.confidentiality,
                    type_code=d.type_code,
                    status=d.status,
                    author=d.author,
                    size=str(len(d.content)),
                    digest=hashlib.sha1(d.content, usedforsecurity=False).hexdigest(),
                )
                for d in self.documents.values()
            ]
            return httpx.Response(
                200, content=query_response(*objects, relates_to=relates), headers=SOAP_CT
            )
        if body.tag == qn(xds.XDSB, "RetrieveDocumentSetRequest"):
            wanted = body.findtext(f".//{{{xds.XDSB}}}DocumentUniqueId")
            doc = self.documents[wanted]
            answer = retrieve_response(
                base64.b64encode(doc.content).decode(), unique_id=wanted, relates_to=relates
            )
            return httpx.Response(200, content=answer, headers=SOAP_CT)
        assert body.tag == qn(ebrs.LCM, "SubmitObjectsRequest"), body.tag
        self._iti57(body)
        return httpx.Response(
            200,
            content=registry_response(
                relates, action="urn:ihe:iti:2010:UpdateDocumentSet-Response"
            ),
            headers=SOAP_CT,
        )

    def _iti41(self, request: httpx.Request, message: mtom.MtomMessage) -> httpx.Response:
        behaviour = self.next_upload.pop(0) if self.next_upload else "ok"
        if behaviour == "drop":
            raise httpx.ReadError("connection reset by peer", request=request)
        envelope = xmlsafe.parse(message.root)
        body = next(iter(envelope.find(qn(ns.SOAP12, "Body"))))
        relates = message_id(message.root)
        if behaviour not in ("ok", "lose"):
            answer = registry_response(
                relates, (behaviour, "refus", "Error"), action=iti41.ACTION_RESPONSE
            )
            return httpx.Response(200, content=answer, headers=SOAP_CT)
        parts = {
            d.get("id"): mtom.element_bytes(d, message)
            for d in children(body, xds.XDSB, "Document")
        }
        objects = child(
            child(body, ebrs.LCM, "SubmitObjectsRequest"), ebrs.RIM, "RegistryObjectList"
        )
        entries = {
            eo.get("id"): xds_entry(eo) for eo in children(objects, ebrs.RIM, "ExtrinsicObject")
        }
        document = entries[iti41.DOCUMENT_ID]
        self.signatures.append(
            xades.verify_signature(
                parts[iti41.SIGNATURE_ID], {document["unique_id"]: parts[iti41.DOCUMENT_ID]}
            )
        )
        for assoc in children(objects, ebrs.RIM, "Association"):
            if assoc.get("associationType") == "urn:ihe:iti:2007:AssociationType:RPLC":
                for old in self.documents.values():
                    if old.entry_uuid == assoc.get("targetObject"):
                        old.status = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
        uid = document["unique_id"]
        self.documents[uid] = Stored(
            unique_id=uid,
            entry_uuid=f"urn:uuid:00000000-0000-4000-8000-{len(self.documents) + 1:012d}",
            content=parts[iti41.DOCUMENT_ID],
            type_code=document["type"],
            confidentiality=document["flags"],
            author=document["author"].replace("&", "&amp;"),
        )
        if behaviour == "lose":
            raise httpx.ReadError("connection reset by peer", request=request)
        answer = registry_response(relates, action=iti41.ACTION_RESPONSE)
        return httpx.Response(200, content=answer, headers=SOAP_CT)

    def _iti57(self, body: object) -> None:
        objects = child(body, ebrs.RIM, "RegistryObjectList")
        for assoc in children(objects, ebrs.RIM, "Association"):
            if (
                assoc.get("associationType")
                == "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
            ):
                new = ebrs.slot_value(assoc, "NewStatus")
                for doc in self.documents.values():
                    if doc.entry_uuid == assoc.get("targetObject") and new:
                        doc.status = new
        for eo in children(objects, ebrs.RIM, "ExtrinsicObject"):
            entry = xds_entry(eo)
            doc = self.documents[entry["unique_id"]]
            doc.confidentiality = entry["flags"]
            doc.version += 1


def xds_entry(eo: object) -> dict[str, object]:
    """The few metadata the fake keeps, read from an ExtrinsicObject."""
    ext = {
        e.get("identificationScheme"): e.get("value")
        for e in children(eo, ebrs.RIM, "ExternalIdentifier")
    }
    classes = children(eo, ebrs.RIM, "Classification")
    flags = tuple(
        c.get("nodeRepresentation")
        for c in classes
        if c.get("classificationScheme") == xds.CLASS_CONFIDENTIALITY
        and c.get("nodeRepresentation") != "N"
    )
    type_codes = [
        c.get("nodeRepresentation")
        for c in classes
        if c.get("classificationScheme") == xds.CLASS_TYPE_CODE
    ]
    authors = [c for c in classes if c.get("classificationScheme") == xds.CLASS_AUTHOR]
    return {
        "unique_id": ext[xds.EXT_UNIQUE_ID],
        "type": type_codes[0] if type_codes else "",
        "flags": flags,
        "author": ebrs.slot_value(authors[0], "authorPerson") if authors else "",
    }


def entry_of(fake: FakeDmp, unique_id: str, client: DmpClient | None = None):
    """The DocumentEntry the fake lists for ``unique_id`` (through the real parser)."""
    with client or fake.client() as c:
        return c.find_by_unique_id(INS, unique_id)


__all__ = [
    "BASE",
    "PDF",
    "TODAY",
    "Code",
    "FakeDmp",
    "Path",
    "SoftSigner",
    "dataclasses",
    "entry_of",
    "identity",
    "message_id",
    "registry_response",
    "request",
    "xds_entry",
]
