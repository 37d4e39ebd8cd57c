"""IHE XDS.b on the host side: read stored queries and retrievals, write their answers.

Plain XML work, no database: :mod:`dmp_sandbox.consultation` decides who
sees what and calls these functions.

Shapes follow the CNAM's official examples (``TD3.1 - Recherche de
document`` and ``TD3.2 - Consultation d'un document``) and validate against
the official ebRS 3.0 schemas (``query.xsd``, ``rs.xsd``) and
``XDS.b_DocumentRepository.xsd``:

- an ``AdhocQueryResponse`` (prefixes ``ns2`` rs, ``ns3`` query, ``ns4`` rim,
  as the DMP writes them) whose ``ExtrinsicObject`` elements carry, in the
  official order, the slots ``creationTime``, ``hash``, ``languageCode``,
  ``legalAuthenticator``, ``repositoryUniqueId``, ``serviceStartTime``,
  ``serviceStopTime``, ``size``, ``sourcePatientId``, ``sourcePatientInfo``,
  then ``Name``, ``Description``, ``VersionInfo``, the classifications
  (author, classCode, confidentialityCode(s), eventCodeList, formatCode,
  healthcareFacilityTypeCode, practiceSettingCode, typeCode) and the
  external identifiers (patientId, uniqueId);
- errors as IHE does: ``status`` ``Failure`` (or ``PartialSuccess``) and a
  ``RegistryErrorList`` of ``RegistryError`` (``errorCode``, ``codeContext``
  in French without patient data, ``location``, ``severity``).

Query parameters (ITI-18 syntax): a value is ``'text'``, a number, or a list
``('a','b')``; several ``Value`` elements of one slot are OR-ed, except for
``$XDSDocumentEntryConfidentialityCode`` and ``$XDSDocumentEntryEventCodeList``
where each ``Value`` is a clause and the clauses are AND-ed. Coded values are
``code^^codingScheme``. Times are ``YYYY[MM[DD[hh[mm[ss]]]]]`` (UTC); a
``…From`` bound is inclusive, a ``…To`` bound exclusive.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from dmp_desktop.domain.document import DocumentStatus
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_sandbox.lru import Lru
from dmp_sandbox.mtom import xop_include
from dmp_sandbox.soap import OperationAnswer, splice_mark
from dmp_sandbox.store import DocumentRecord, DocumentSnapshot

# --- vocabulary -------------------------------------------------------------------------------

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"
HL7 = "urn:hl7-org:v3"
XML_NS = "http://www.w3.org/XML/1998/namespace"

ACTION_ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ACTION_ITI18_RESPONSE = "urn:ihe:iti:2007:RegistryStoredQueryResponse"
ACTION_ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
ACTION_ITI43_RESPONSE = "urn:ihe:iti:2007:RetrieveDocumentSetResponse"

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"

OBJECT_TYPE_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SCHEME_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
SCHEME_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
SCHEME_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
SCHEME_EVENT = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
SCHEME_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
SCHEME_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
SCHEME_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
SCHEME_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
ID_SCHEME_PATIENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
ID_SCHEME_UNIQUE = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"

STATUS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
STATUS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
STATUS_PARTIAL = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"

OID_PS_ID = "1.2.250.1.71.4.2.1"

# Error codes of the DMP (mapped by dmp_desktop.errors.describe) and of IHE.
DMP_ACCESS_DENIED = "DMPAccessDenied"
DMP_EXCLUDED_PS = "DMPAccessDeniedByExcludedPs"
DMP_EMERGENCY_OPPOSED = "DMPEmergencyAccessOpposed"
DMP_CLOSED = "DMPClosed"
DMP_NOT_FOUND = "DMPNotFound"
DMP_INVALID_REQUEST = "DMPInvalidRequest"
XDS_UNKNOWN_DOCUMENT = "XDSDocumentUniqueIdError"
XDS_UNKNOWN_REPOSITORY = "XDSUnknownRepositoryId"

# The parameters this registry understands (others are refused, so that a
# filter the client believes applied is never silently ignored).
P_PATIENT = "$XDSDocumentEntryPatientId"
P_STATUS = "$XDSDocumentEntryStatus"
P_TYPE = "$XDSDocumentEntryType"
P_CLASS = "$XDSDocumentEntryClassCode"
P_TYPE_CODE = "$XDSDocumentEntryTypeCode"
P_PRACTICE = "$XDSDocumentEntryPracticeSettingCode"
P_FACILITY = "$XDSDocumentEntryHealthcareFacilityTypeCode"
P_FORMAT = "$XDSDocumentEntryFormatCode"
P_EVENT = "$XDSDocumentEntryEventCodeList"
P_CONFIDENTIALITY = "$XDSDocumentEntryConfidentialityCode"
P_AUTHOR = "$XDSDocumentEntryAuthorPerson"
P_ENTRY_UUID = "$XDSDocumentEntryEntryUUID"
P_UNIQUE_ID = "$XDSDocumentEntryUniqueId"
P_HOME = "$homeCommunityId"
TIME_PARAMS = {
    "$XDSDocumentEntryCreationTimeFrom": ("creation_time", False),
    "$XDSDocumentEntryCreationTimeTo": ("creation_time", True),
    "$XDSDocumentEntryServiceStartTimeFrom": ("service_start", False),
    "$XDSDocumentEntryServiceStartTimeTo": ("service_start", True),
    "$XDSDocumentEntryServiceStopTimeFrom": ("service_stop", False),
    "$XDSDocumentEntryServiceStopTimeTo": ("service_stop", True),
}
CODE_PARAMS = {
    P_CLASS: "class",
    P_TYPE_CODE: "type",
    P_PRACTICE: "practice_setting",
    P_FACILITY: "facility_type",
    P_FORMAT: "format",
}
FIND_PARAMS = frozenset(
    {
        P_PATIENT,
        P_STATUS,
        P_TYPE,
        P_EVENT,
        P_CONFIDENTIALITY,
        P_AUTHOR,
        P_HOME,
        *TIME_PARAMS,
        *CODE_PARAMS,
    }
)
GET_PARAMS = frozenset({P_ENTRY_UUID, P_UNIQUE_ID, P_HOME})


def _r(local: str) -> str:
    return f"{{{RIM}}}{local}"


class XdsError(Exception):
    """A refusal answered as an XDS error (status Failure + RegistryErrorList)."""

    def __init__(self, code: str, context: str, location: str | None = None) -> None:
        super().__init__(code, context)
        self.code = code
        self.context = context  # French, no patient data
        self.location = location


def invalid(context: str) -> XdsError:
    return XdsError(DMP_INVALID_REQUEST, context)


# --- reading stored queries ----------------------------------------------------------------------

Code = tuple[str, str | None]  # (code, coding scheme or None)


@dataclass
class StoredQuery:
    query_id: str
    return_type: str  # "LeafClass" or "ObjectRef"
    slots: dict[str, list[str]]  # parameter -> its Value texts (raw)


@dataclass
class DocumentFilter:
    """What FindDocuments / GetDocuments ask for, decoded."""

    patient: Ins | None = None
    statuses: frozenset[str] = frozenset({DocumentStatus.APPROVED.value})
    # attribute -> (lower bound inclusive, upper bound exclusive)
    times: dict[str, list[dt.datetime | None]] = field(default_factory=dict)
    codes: dict[str, list[Code]] = field(default_factory=dict)  # OR within
    confidentiality: list[list[Code]] = field(default_factory=list)  # AND of ORs
    events: list[list[Code]] = field(default_factory=list)  # AND of ORs
    author_patterns: list[re.Pattern[str]] = field(default_factory=list)
    entry_uuids: list[str] = field(default_factory=list)
    unique_ids: list[str] = field(default_factory=list)


def read_stored_query(payload: etree._Element) -> StoredQuery:
    if payload.tag != f"{{{QUERY}}}AdhocQueryRequest":
        raise invalid("Corps inattendu : AdhocQueryRequest (ebRS 3.0) attendu.")
    option = payload.find(f"{{{QUERY}}}ResponseOption")
    return_type = option.get("returnType", "RegistryObject") if option is not None else ""
    if option is None:
        raise invalid("Requête incomplète : ResponseOption absent.")
    if return_type not in ("LeafClass", "ObjectRef"):
        raise invalid("Type de retour non pris en charge (LeafClass ou ObjectRef attendu).")
    query = payload.find(_r("AdhocQuery"))
    if query is None or not query.get("id"):
        raise invalid("Requête incomplète : AdhocQuery/@id absent.")
    slots: dict[str, list[str]] = {}
    for slot in query.findall(_r("Slot")):
        name = (slot.get("name") or "").strip()
        if not name:
            raise invalid("Paramètre de requête sans nom.")
        values = [(v.text or "").strip() for v in slot.findall(f"{_r('ValueList')}/{_r('Value')}")]
        if not values or not all(values):
            raise invalid(f"Paramètre {name} sans valeur.")
        slots.setdefault(name, []).extend(values)
    return StoredQuery(query.get("id", "").strip(), return_type, slots)


def split_values(raw: str, name: str) -> list[str]:
    """ITI-18 value syntax: ``'a'``, ``123`` or ``('a', 'b', 3)`` -> ``["a", "b", "3"]``."""
    text = raw.strip()
    inner = text[1:-1] if text.startswith("(") and text.endswith(")") else text
    items: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "'":
            if quoted and i + 1 < len(inner) and inner[i + 1] == "'":  # '' escapes a quote
                current.append("'")
                i += 2
                continue
            quoted = not quoted
        elif ch == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if quoted:
        raise invalid(f"Valeur mal formée pour le paramètre {name} (apostrophe non fermée).")
    items.append("".join(current))
    values = [item.strip() for item in items]
    if not all(values):
        raise invalid(f"Valeur vide pour le paramètre {name}.")
    return values


def _code(value: str, name: str) -> Code:
    parts = value.split("^")
    code = parts[0].strip()
    if not code:
        raise invalid(f"Code vide pour le paramètre {name}.")
    scheme = parts[2].strip() if len(parts) > 2 and parts[2].strip() else None
    return code, scheme


_DTM_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?$")


def parse_dtm(value: str, name: str = "") -> dt.datetime:
    """An HL7 DTM (UTC) to an aware datetime, missing parts at their minimum."""
    match = _DTM_RE.match(value.strip())
    if match is None:
        raise invalid(f"Date mal formée pour le paramètre {name} (AAAAMMJJ[hhmmss] attendu).")
    year, month, day, hour, minute, second = (int(g) if g else None for g in match.groups())
    try:
        return dt.datetime(
            year or 1, month or 1, day or 1, hour or 0, minute or 0, second or 0, tzinfo=dt.UTC
        )
    except ValueError:
        raise invalid(f"Date impossible pour le paramètre {name}.") from None


def format_dtm(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def parse_patient_cx(value: str) -> Ins:
    """``INS^^^&root&ISO^NH`` -> Ins; an unusable identifier is an invalid request."""
    parts = value.split("^")
    ident = parts[0].strip()
    root = None
    if len(parts) > 3:
        authority = parts[3].split("&")
        if len(authority) > 1:
            root = authority[1].strip()
    try:
        return Ins(ident, InsKind.from_oid(root or ""))
    except (InsError, ValueError, KeyError):
        raise invalid("Identifiant du patient ($XDSDocumentEntryPatientId) invalide.") from None


def _single(query: StoredQuery, name: str) -> str:
    raw = query.slots.get(name, [])
    values = [v for r in raw for v in split_values(r, name)]
    if len(values) != 1:
        raise invalid(f"Le paramètre {name} attend une seule valeur.")
    return values[0]


def _many(query: StoredQuery, name: str) -> list[str]:
    return [v for raw in query.slots.get(name, []) for v in split_values(raw, name)]


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%``, ``_``) to a regular expression (ITI-18 author person)."""
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)


def read_find_documents(query: StoredQuery) -> DocumentFilter:
    unknown = sorted(set(query.slots) - FIND_PARAMS)
    if unknown:
        raise invalid(f"Paramètre non pris en charge par FindDocuments : {unknown[0]}.")
    if P_PATIENT not in query.slots:
        raise XdsError(
            DMP_INVALID_REQUEST,
            "Paramètre obligatoire absent : $XDSDocumentEntryPatientId.",
            P_PATIENT,
        )
    result = DocumentFilter(patient=parse_patient_cx(_single(query, P_PATIENT)))
    _read_statuses(query, result)
    for name, (attribute, upper) in TIME_PARAMS.items():
        if name in query.slots:
            bound = parse_dtm(_single(query, name), name)
            result.times.setdefault(attribute, [None, None])[1 if upper else 0] = bound
    for name, key in CODE_PARAMS.items():
        if name in query.slots:
            result.codes[key] = [_code(v, name) for v in _many(query, name)]
    for name, target in ((P_CONFIDENTIALITY, result.confidentiality), (P_EVENT, result.events)):
        for raw in query.slots.get(name, []):
            target.append([_code(v, name) for v in split_values(raw, name)])
    result.author_patterns = [_like(v) for v in _many(query, P_AUTHOR)]
    for value in _many(query, P_TYPE):
        if value != OBJECT_TYPE_STABLE:
            raise invalid(
                "Seules les fiches de documents stables sont gérées ($XDSDocumentEntryType)."
            )
    return result


def read_get_documents(query: StoredQuery) -> DocumentFilter:
    unknown = sorted(set(query.slots) - GET_PARAMS)
    if unknown:
        raise invalid(f"Paramètre non pris en charge par GetDocuments : {unknown[0]}.")
    result = DocumentFilter(
        statuses=frozenset(s.value for s in DocumentStatus if s is not DocumentStatus.DELETED),
        entry_uuids=_many(query, P_ENTRY_UUID),
        unique_ids=_many(query, P_UNIQUE_ID),
    )
    if bool(result.entry_uuids) == bool(result.unique_ids):
        raise invalid(
            "GetDocuments attend soit $XDSDocumentEntryEntryUUID, soit $XDSDocumentEntryUniqueId."
        )
    return result


def _read_statuses(query: StoredQuery, result: DocumentFilter) -> None:
    if P_STATUS not in query.slots:
        return  # default: Approved only
    known = {s.value for s in DocumentStatus}
    statuses = set(_many(query, P_STATUS))
    unknown = statuses - known
    if unknown:
        raise invalid("Statut de document inconnu dans $XDSDocumentEntryStatus.")
    result.statuses = frozenset(statuses)


# --- matching ---------------------------------------------------------------------------------


def _matches_code(code: str | None, scheme: str | None, wanted: Sequence[Code]) -> bool:
    return code is not None and any(
        code == w_code and (w_scheme is None or w_scheme == scheme) for w_code, w_scheme in wanted
    )


def _coded_list_matches(items: Iterable[dict[str, Any]], clauses: list[list[Code]]) -> bool:
    present = [(str(i.get("code")), i.get("scheme")) for i in items]
    return all(any(_matches_code(c, s, clause) for c, s in present) for clause in clauses)


def document_matches(doc: DocumentRecord, wanted: DocumentFilter) -> bool:
    """The metadata filters (status, times, codes, authors, ids); not access rules."""
    if doc.status not in wanted.statuses:
        return False
    for attribute, (low, high) in wanted.times.items():
        value: dt.datetime | None = getattr(doc, attribute)
        if value is None:
            return False
        if low is not None and value < low:
            return False
        if high is not None and value >= high:
            return False
    for key, codes in wanted.codes.items():
        if not _matches_code(getattr(doc, f"{key}_code"), getattr(doc, f"{key}_scheme"), codes):
            return False
    if wanted.confidentiality and not _coded_list_matches(
        doc.confidentiality or [], wanted.confidentiality
    ):
        return False
    if wanted.events and not _coded_list_matches(doc.event_codes or [], wanted.events):
        return False
    if wanted.author_patterns:
        people = [author_xcn(a) for a in doc.authors or () if a.get("national_id")]
        if not any(p.match(x) for p in wanted.author_patterns for x in people):
            return False
    if wanted.entry_uuids and doc.entry_uuid not in wanted.entry_uuids:
        return False
    return not (wanted.unique_ids and doc.unique_id not in wanted.unique_ids)


# --- writing answers -------------------------------------------------------------------------


def author_xcn(author: dict[str, Any]) -> str:
    """authorPerson: ``id^Nom^Prénom^^^^^^&oid&ISO^D^^^IDNPS`` (as the official answer)."""
    root = author.get("id_root") or OID_PS_ID
    id_type = author.get("id_type") or "IDNPS"
    return (
        f"{author.get('national_id', '')}^{author.get('family_name', '')}^"
        f"{author.get('given_name', '')}^^^^^^&{root}&ISO^D^^^{id_type}"
    )


def author_institution(author: dict[str, Any]) -> str | None:
    name = author.get("institution")
    if not name:
        return None
    ident = author.get("institution_id") or ""
    return f"{name}^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^{ident}"


def author_specialty(author: dict[str, Any]) -> str | None:
    code = author.get("specialty_code")
    if not code:
        return None
    scheme = author.get("specialty_scheme") or "1.2.250.1.213.1.1.4.5"
    return f"{code}^{author.get('specialty_display', '')}^{scheme}"


def _stable_id(*parts: str) -> str:
    """Ids of classifications and identifiers: stable from one answer to the next."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}"


def _slot(parent: etree._Element, name: str, values: Sequence[str]) -> None:
    slot = etree.SubElement(parent, _r("Slot"), name=name)
    value_list = etree.SubElement(slot, _r("ValueList"))
    for value in values:
        etree.SubElement(value_list, _r("Value")).text = value


def _localized(parent: etree._Element, tag: str, value: str) -> None:
    holder = etree.SubElement(parent, _r(tag))
    string = etree.SubElement(holder, _r("LocalizedString"), charset="UTF8", value=value)
    string.set(f"{{{XML_NS}}}lang", "FR")


def _classification(
    parent: etree._Element,
    entry_uuid: str,
    scheme: str,
    index: int,
    node: str,
    coding_scheme: str | None,
    display: str | None,
) -> None:
    cl = etree.SubElement(
        parent,
        _r("Classification"),
        classificationScheme=scheme,
        classifiedObject=entry_uuid,
        id=_stable_id(entry_uuid, scheme, str(index)),
        nodeRepresentation=node,
    )
    if coding_scheme:
        _slot(cl, "codingScheme", [coding_scheme])
    if display is not None:
        _localized(cl, "Name", display)


def patient_cx(ins_value: str, ins_root: str, since: dt.datetime | None) -> str:
    """The DMP writes the patient id with the date it was bound (``…^NH^^YYYYMMDD``)."""
    base = f"{ins_value}^^^&{ins_root}&ISO^NH"
    return f"{base}^^{since:%Y%m%d}" if since is not None else base


# The same entries serialized, as they are written inside an answer's RegistryObjectList.
_SERIALIZED: Lru[bytes] = Lru(4096)


def serialized_entries(
    found: Sequence[DocumentSnapshot], patient_id_cx: str, nsmap: Mapping[str | None, str]
) -> bytes:
    """The DocumentEntries of ``found``, serialized as inside a RegistryObjectList whose
    namespace declarations in scope are ``nsmap``: the bytes the answer's tree would
    give (tests/host/test_xds_entries.py compares them), without copying and writing
    again the entries of rows already answered."""
    context = tuple(sorted((prefix or "", uri) for prefix, uri in nsmap.items()))
    parts: list[bytes] = []
    for each in found:
        key = (context, patient_id_cx, *each.key)
        data = _SERIALIZED.get(key)
        if data is None:
            data = _serialized_in(build_extrinsic_object(each.doc, patient_id_cx), nsmap)
            _SERIALIZED.put(key, data)
        parts.append(data)
    return b"".join(parts)


def _serialized_in(entry: etree._Element, nsmap: Mapping[str | None, str]) -> bytes:
    holder = etree.Element(_r("RegistryObjectList"), nsmap=dict(nsmap))
    holder.append(entry)
    data = etree.tostring(holder, encoding="UTF-8")
    # The holder's start tag ends at its first ">" (namespace names hold none) and its
    # end tag is the last thing written.
    return data[data.index(b">") + 1 : data.rindex(b"</")]


def build_extrinsic_object(doc: DocumentRecord, patient_id_cx: str) -> etree._Element:
    """One DocumentEntry as the official TD3.1 answer writes it, built from the row."""
    eid = doc.entry_uuid
    eo = etree.Element(
        _r("ExtrinsicObject"),
        id=eid,
        isOpaque="false",
        lid=doc.lid or eid,
        mimeType=doc.mime_type,
        objectType=OBJECT_TYPE_STABLE,
        status=doc.status,
    )
    _slot(eo, "creationTime", [format_dtm(doc.creation_time)])
    _slot(eo, "hash", [doc.hash_sha1])
    _slot(eo, "languageCode", [doc.language])
    if doc.legal_authenticator:
        _slot(eo, "legalAuthenticator", [doc.legal_authenticator])
    _slot(eo, "repositoryUniqueId", [doc.repository_id])
    if doc.service_start is not None:
        _slot(eo, "serviceStartTime", [format_dtm(doc.service_start)])
    if doc.service_stop is not None:
        _slot(eo, "serviceStopTime", [format_dtm(doc.service_stop)])
    _slot(eo, "size", [str(doc.size)])
    default_source = patient_id_cx.split("^NH", 1)[0] + "^NH"
    _slot(eo, "sourcePatientId", [doc.source_patient_id or default_source])
    if doc.source_patient_info:
        _slot(eo, "sourcePatientInfo", list(doc.source_patient_info))
    _localized(eo, "Name", doc.title)
    if doc.comments:
        _localized(eo, "Description", doc.comments)
    etree.SubElement(eo, _r("VersionInfo"), versionName=str(doc.version))
    for index, author in enumerate(doc.authors or ()):
        cl = etree.SubElement(
            eo,
            _r("Classification"),
            classificationScheme=SCHEME_AUTHOR,
            classifiedObject=eid,
            id=_stable_id(eid, SCHEME_AUTHOR, str(index)),
            nodeRepresentation="",
        )
        institution = author_institution(author)
        if institution:
            _slot(cl, "authorInstitution", [institution])
        _slot(cl, "authorPerson", [author_xcn(author)])
        if author.get("role"):
            _slot(cl, "authorRole", [str(author["role"])])
        specialty = author_specialty(author)
        if specialty:
            _slot(cl, "authorSpecialty", [specialty])
    _classification(eo, eid, SCHEME_CLASS, 0, doc.class_code, doc.class_scheme, doc.class_display)
    for index, item in enumerate(doc.confidentiality or ()):
        _classification(
            eo,
            eid,
            SCHEME_CONFIDENTIALITY,
            index,
            str(item.get("code", "")),
            item.get("scheme"),
            item.get("display") or "",
        )
    for index, item in enumerate(doc.event_codes or ()):
        _classification(
            eo,
            eid,
            SCHEME_EVENT,
            index,
            str(item.get("code", "")),
            item.get("scheme"),
            item.get("display") or "",
        )
    _classification(
        eo, eid, SCHEME_FORMAT, 0, doc.format_code, doc.format_scheme, doc.format_display
    )
    if doc.facility_type_code:
        _classification(
            eo,
            eid,
            SCHEME_FACILITY,
            0,
            doc.facility_type_code,
            doc.facility_type_scheme,
            doc.facility_type_display or "",
        )
    if doc.practice_setting_code:
        _classification(
            eo,
            eid,
            SCHEME_PRACTICE,
            0,
            doc.practice_setting_code,
            doc.practice_setting_scheme,
            doc.practice_setting_display or "",
        )
    _classification(eo, eid, SCHEME_TYPE, 0, doc.type_code, doc.type_scheme, doc.type_display)
    for scheme, value, label in (
        (ID_SCHEME_PATIENT, patient_id_cx, "XDSDocumentEntry.patientId"),
        (ID_SCHEME_UNIQUE, doc.unique_id, "XDSDocumentEntry.uniqueId"),
    ):
        ident = etree.SubElement(
            eo,
            _r("ExternalIdentifier"),
            id=_stable_id(eid, scheme),
            identificationScheme=scheme,
            registryObject=eid,
            value=value,
        )
        _localized(ident, "Name", label)
    return eo


_QUERY_NSMAP = {"ns2": RS, "ns3": QUERY, "ns4": RIM, "ns5": LCM, "ns6": HL7}


def error_list(parent: etree._Element, errors: Sequence[XdsError]) -> None:
    holder = etree.SubElement(parent, f"{{{RS}}}RegistryErrorList", highestSeverity=SEVERITY_ERROR)
    for error in errors:
        el = etree.SubElement(
            holder,
            f"{{{RS}}}RegistryError",
            codeContext=error.context,
            errorCode=error.code,
            severity=SEVERITY_ERROR,
        )
        if error.location:
            el.set("location", error.location)


def query_response(
    objects: Sequence[etree._Element] = (),
    error: XdsError | None = None,
    *,
    spliced: int = 0,
) -> etree._Element:
    """AdhocQueryResponse: the objects found, or a failure with its error.

    ``spliced``: that many objects are written apart, where the list holds
    :func:`dmp_sandbox.soap.splice_mark` (see :func:`entries_answer`).
    """
    response = etree.Element(f"{{{QUERY}}}AdhocQueryResponse", nsmap=_QUERY_NSMAP)
    response.set("startIndex", "0")
    response.set("status", STATUS_FAILURE if error is not None else STATUS_SUCCESS)
    if error is not None:
        error_list(response, [error])
    else:
        response.set("totalResultCount", str(len(objects) + spliced))
    object_list = etree.SubElement(response, _r("RegistryObjectList"))
    for obj in objects:
        object_list.append(obj)
    if spliced:
        object_list.append(splice_mark())
    return response


def entries_answer(found: Sequence[DocumentSnapshot], patient_id_cx: str) -> OperationAnswer:
    """The TD3.1 answer (LeafClass) listing ``found``: the same bytes as
    ``query_response([build_extrinsic_object(...) for ...])``, each entry
    serialized once per row content (:func:`serialized_entries`)."""
    if not found:
        return OperationAnswer(query_response())
    return OperationAnswer(
        query_response(spliced=len(found)),
        spliced=lambda nsmap: serialized_entries(found, patient_id_cx, nsmap),
    )


def object_ref(doc: DocumentRecord) -> etree._Element:
    return etree.Element(_r("ObjectRef"), id=doc.entry_uuid)


# --- retrieval ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRequest:
    repository_id: str
    unique_id: str
    home_community_id: str | None = None


def read_retrieve(payload: etree._Element) -> list[DocumentRequest]:
    if payload.tag != f"{{{XDSB}}}RetrieveDocumentSetRequest":
        raise invalid("Corps inattendu : RetrieveDocumentSetRequest (IHE XDS.b) attendu.")
    requests = []
    for item in payload.findall(f"{{{XDSB}}}DocumentRequest"):
        repository = (item.findtext(f"{{{XDSB}}}RepositoryUniqueId") or "").strip()
        unique = (item.findtext(f"{{{XDSB}}}DocumentUniqueId") or "").strip()
        home = (item.findtext(f"{{{XDSB}}}HomeCommunityId") or "").strip() or None
        if not repository or not unique:
            raise invalid(
                "DocumentRequest incomplet : RepositoryUniqueId et DocumentUniqueId obligatoires."
            )
        requests.append(DocumentRequest(repository, unique, home))
    if not requests:
        raise invalid("Aucun document demandé (DocumentRequest absent).")
    if len(requests) > 50:
        raise invalid("Trop de documents demandés en une fois (50 au plus).")
    return requests


@dataclass(frozen=True)
class RetrievedPart:
    request: DocumentRequest
    mime_type: str
    content_id: str  # without angle brackets


_RETRIEVE_NSMAP = {"ns2": RS, "ns3": LCM, "ns4": XDSB, "ns5": RIM, "ns6": QUERY}


def retrieve_response(parts: Sequence[RetrievedPart], errors: Sequence[XdsError]) -> etree._Element:
    """RetrieveDocumentSetResponse; each document is an ``xop:Include`` of its MIME part."""
    response = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetResponse", nsmap=_RETRIEVE_NSMAP)
    if not errors:
        status = STATUS_SUCCESS
    else:
        status = STATUS_PARTIAL if parts else STATUS_FAILURE
    registry = etree.SubElement(response, f"{{{RS}}}RegistryResponse", status=status)
    if errors:
        error_list(registry, errors)
    for part in parts:
        doc = etree.SubElement(response, f"{{{XDSB}}}DocumentResponse")
        etree.SubElement(doc, f"{{{XDSB}}}RepositoryUniqueId").text = part.request.repository_id
        etree.SubElement(doc, f"{{{XDSB}}}DocumentUniqueId").text = part.request.unique_id
        etree.SubElement(doc, f"{{{XDSB}}}mimeType").text = part.mime_type
        xop_include(etree.SubElement(doc, f"{{{XDSB}}}Document"), part.content_id)
    return response
