"""IHE XDS.b on the DMP: ITI-18 FindDocuments (TD3.1) and ITI-43 RetrieveDocumentSet (TD3.2).

Requests are shaped like the official ones (``TD3.1 - Recherche de
document_requête.xml``, ``template_FindDocument.xml``, ``TD3.2 - Consultation
d'un document_requête.xml``): same elements, same namespaces and prefixes.

FindDocuments parameters written by :func:`build_find_documents`:

* ``$XDSDocumentEntryPatientId``: the INS in CX form, in quotes
  (``'<INS>^^^&<authority>&ISO^NH'``);
* ``$XDSDocumentEntryStatus``: the statuses asked for, as one list value
  (``('urn:…:Approved','urn:asip:ci-sis:2010:StatusType:Archived')``);
* time bounds on the date of care: ``$XDSDocumentEntryServiceStartTimeFrom``
  (``since``, inclusive, ``YYYYMMDD000000``) and
  ``$XDSDocumentEntryServiceStartTimeTo`` (the day after ``until``: the IHE
  upper bound is exclusive). The official material shows no time bound; the
  date of the act is what "the last 2 years" means to a doctor, and every
  DMP document carries it (all 21 entries of the official TD3.1 answer do);
* ``$XDSDocumentEntryClassCode`` / ``$XDSDocumentEntryTypeCode``: one list of
  ``'code^^codingScheme'`` values each.

Confidentiality is not a query parameter: the official material shows none,
and IHE's ``$XDSDocumentEntryConfidentialityCode`` can only select documents
*having* a code, not leave out masked ones. The host applies its own rules
(masked documents only for the author and the médecin traitant...); the
user's visibility choices (:class:`DocumentQuery` ``include_*`` flags) are
applied to the answer by :func:`filter_entries`.

Answers: an ``AdhocQueryResponse`` becomes :class:`DocumentEntry` objects
(every slot, classification and external identifier, by their IHE UUIDs);
a ``RetrieveDocumentSetResponse`` becomes :class:`RetrievedDocument` objects,
the bytes inline (base64) or in MTOM parts. Errors in a ``RegistryErrorList``
raise ``DmpServiceError(errorCode, codeContext)``; warnings are kept
(:class:`FindDocumentsResult.warnings`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import ModuleType
from typing import Any

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dates import DateFormatError, paris_today, parse_xds_dtm, xds_dtm
from dmp_desktop.dmp import ebrs, ns, soap
from dmp_desktop.dmp.ebrs import QUERY, RIM, RS, RegistryError
from dmp_desktop.dmp.mtom import MtomMessage, element_bytes
from dmp_desktop.dmp.xmlutil import Element, child, children, qn, text
from dmp_desktop.domain.document import (
    Author,
    Code,
    Confidentiality,
    DocumentEntry,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.errors import AnswerTooLargeError, DmpProtocolError

# The shape of the projections (see Projection); the compiled reader says which it makes.
PROJECTION_VERSION = 2

_compiled: ModuleType | None
try:  # the compiled reader of ITI-18 answers (setup.py); without it, the same in Python
    from dmp_desktop.dmp import _ebrimscan as _compiled
except ImportError:  # pragma: no cover - depends on the build
    _compiled = None
if _compiled is not None and getattr(_compiled, "PROJECTION_VERSION", None) != PROJECTION_VERSION:
    # built from an older source (a checkout updated, not rebuilt): not used
    logging.getLogger(__name__).warning("compiled ITI-18 reader out of date: not used")
    _compiled = None
_ScanError: type[Exception] = _compiled.ScanError if _compiled is not None else ValueError

XDSB = "urn:ihe:iti:xds-b:2007"

# --- transactions -------------------------------------------------------------------------------

ACTION_FIND = "urn:ihe:iti:2007:RegistryStoredQuery"
ACTION_FIND_RESPONSE = "urn:ihe:iti:2007:RegistryStoredQueryResponse"
ACTION_RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"
ACTION_RETRIEVE_RESPONSE = "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
SERVICE_REGISTRY = "registry"
SERVICE_REPOSITORY = "repository"

QUERY_FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
RETURN_LEAF_CLASS = "LeafClass"

# --- IHE identifiers (ITI TF-3 4.2.5) -----------------------------------------------------------

OBJECT_TYPE_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
OBJECT_TYPE_ON_DEMAND = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
CLASS_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
CLASS_CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
CLASS_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
CLASS_EVENT_CODE = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
CLASS_FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
CLASS_FACILITY_TYPE = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
CLASS_PRACTICE_SETTING = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
CLASS_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
EXT_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
EXT_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"

# --- FindDocuments parameters -------------------------------------------------------------------

P_PATIENT_ID = "$XDSDocumentEntryPatientId"
P_STATUS = "$XDSDocumentEntryStatus"
P_CLASS_CODE = "$XDSDocumentEntryClassCode"
P_TYPE_CODE = "$XDSDocumentEntryTypeCode"
P_SERVICE_START_FROM = "$XDSDocumentEntryServiceStartTimeFrom"
P_SERVICE_START_TO = "$XDSDocumentEntryServiceStartTimeTo"
P_CREATION_FROM = "$XDSDocumentEntryCreationTimeFrom"
P_CREATION_TO = "$XDSDocumentEntryCreationTimeTo"

# Coding schemes of the codes the DMP uses.
OID_CONFIDENTIALITY_HL7 = "2.16.840.1.113883.5.25"
OID_CONFIDENTIALITY_DMP = "1.2.250.1.213.1.1.4.13"
OID_LOINC = "2.16.840.1.113883.6.1"
OID_DOC_TYPES_ASIP = "1.2.250.1.213.1.1.4.12"
OID_CLASS_CODES = "1.2.250.1.213.1.1.4.1"

# How many years back the first, automatic search goes (DMP rule).
DEFAULT_YEARS = 2

_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_LOINC_RE = re.compile(r"^\d{1,7}-\d$")


@dataclass(frozen=True)
class FindDocumentsResult:
    """Entries of a FindDocuments answer, with the registry's warnings."""

    entries: tuple[DocumentEntry, ...]
    warnings: tuple[RegistryError, ...] = ()
    total: int | None = None  # totalResultCount, when the registry gives it


@dataclass(frozen=True)
class RetrieveResult:
    documents: tuple[RetrievedDocument, ...]
    warnings: tuple[RegistryError, ...] = field(default=())


# --- dates ----------------------------------------------------------------------------------------


def two_years_before(today: date) -> date:
    """The lower bound of the first automatic search (29 February -> 28 February)."""
    try:
        return today.replace(year=today.year - DEFAULT_YEARS)
    except ValueError:
        return today.replace(year=today.year - DEFAULT_YEARS, day=28)


def default_query(patient: Ins, today: date | None = None) -> DocumentQuery:
    """The first automatic search: active documents of the last 2 years."""
    return DocumentQuery(patient=patient, since=two_years_before(today or paris_today()))


def read_dtm(value: str | None) -> datetime | None:
    """A DTM slot of an answer (:func:`dmp_desktop.dates.parse_xds_dtm`): None when absent."""
    if value is None or not value.strip():
        return None
    try:
        return parse_xds_dtm(value)
    except DateFormatError:
        raise DmpProtocolError("invalid XDS date") from None


# --- HL7 v2 data types in slots -------------------------------------------------------------------

_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}


def hl7_unescape(value: str) -> str:
    """Undo HL7 v2 escapes (``\\S\\`` -> ``^``, ``\\T\\`` -> ``&``...)."""
    if "\\" not in value:
        return value
    return re.sub(r"\\([FSTRE])\\", lambda m: _ESCAPES[m.group(1)], value)


def hl7_escape(value: str) -> str:
    out = value.replace("\\", "\\E\\")
    for code, char in (("F", "|"), ("S", "^"), ("T", "&"), ("R", "~")):
        out = out.replace(char, f"\\{code}\\")
    return out


def _components(value: str) -> list[str]:
    return value.split("^")


def _component(parts: list[str], index: int) -> str:
    return parts[index] if index < len(parts) else ""


def _authority(component: str) -> str | None:
    """The OID of an HD (``&oid&ISO``) component."""
    sub = component.split("&")
    if len(sub) < 2:
        return None
    return sub[1].strip() or None


def parse_xcn(value: str) -> tuple[str | None, str, str, str | None]:
    """An XCN (authorPerson, legalAuthenticator): (id, family name, given name, authority)."""
    parts = _components(value)
    ident = hl7_unescape(_component(parts, 0).split("&")[0]).strip() or None
    return (
        ident,
        hl7_unescape(_component(parts, 1)).strip(),
        hl7_unescape(_component(parts, 2)).strip(),
        _authority(_component(parts, 8)),
    )


def parse_xon(value: str) -> tuple[str, str | None]:
    """An XON (authorInstitution): (name, organisation id: component 10, else 3)."""
    parts = _components(value)
    name = hl7_unescape(_component(parts, 0)).strip()
    ident = hl7_unescape(_component(parts, 9)).strip() or hl7_unescape(_component(parts, 2))
    return name, ident.strip() or None


def parse_ce(value: str) -> Code:
    """A coded value written ``code^display^codingScheme`` (authorSpecialty, authorRole)."""
    parts = _components(value)
    return Code(
        code=hl7_unescape(_component(parts, 0)).strip(),
        display=hl7_unescape(_component(parts, 1)).strip(),
        scheme=hl7_unescape(_component(parts, 2)).strip(),
    )


def parse_patient_cx(value: str) -> Ins:
    """The INS of an XDS patient id (``<INS>^^^&<authority>&ISO^NH[^^<date>]``)."""
    parts = _components(value.strip())
    ident = _component(parts, 0).strip()
    oid = _authority(_component(parts, 3))
    try:
        kind = InsKind.from_oid(oid) if oid else InsKind.NIR
        return Ins(ident, kind)
    except InsError:
        raise DmpProtocolError("a document carries an unusable patient id") from None


# --- FindDocuments request ------------------------------------------------------------------------


def code_value(code: Code) -> str:
    """A code as a stored-query parameter value: ``code^^codingScheme``."""
    scheme = code.scheme or scheme_for_type_code(code.code)
    return f"{code.code}^^{scheme}"


def scheme_for_type_code(code: str) -> str:
    """The coding scheme of a J07 type code typed without one: LOINC, else the ASIP list."""
    return OID_LOINC if _LOINC_RE.match(code) else OID_DOC_TYPES_ASIP


def build_find_documents(query: DocumentQuery) -> Element:
    """The ``AdhocQueryRequest`` body of ITI-18 FindDocuments (see the module docstring)."""
    root = etree.Element(
        qn(QUERY, "AdhocQueryRequest"),
        nsmap={None: RIM, "ns2": RS, "ns3": QUERY, "ns4": ebrs.LCM},
    )
    option = etree.SubElement(root, qn(QUERY, "ResponseOption"))
    option.set("returnComposedObjects", "true")
    option.set("returnType", RETURN_LEAF_CLASS)
    adhoc = etree.SubElement(root, qn(RIM, "AdhocQuery"))
    adhoc.set("id", QUERY_FIND_DOCUMENTS)
    ebrs.add_slot(adhoc, P_PATIENT_ID, [ebrs.quoted(query.patient.cx())])
    statuses = query.statuses or frozenset({DocumentStatus.APPROVED})
    order = list(DocumentStatus)
    ebrs.add_slot(
        adhoc,
        P_STATUS,
        [ebrs.quoted_list([s.value for s in sorted(statuses, key=order.index)])],
    )
    if query.since is not None:
        ebrs.add_slot(adhoc, P_SERVICE_START_FROM, [xds_dtm(query.since)])
    if query.until is not None:
        ebrs.add_slot(adhoc, P_SERVICE_START_TO, [xds_dtm(query.until + timedelta(days=1))])
    if query.class_codes:
        ebrs.add_slot(
            adhoc, P_CLASS_CODE, [ebrs.quoted_list([code_value(c) for c in query.class_codes])]
        )
    if query.type_codes:
        ebrs.add_slot(
            adhoc, P_TYPE_CODE, [ebrs.quoted_list([code_value(c) for c in query.type_codes])]
        )
    return root


# --- FindDocuments answer -------------------------------------------------------------------------

# How much of a list answer is read at most. A real record has up to some
# thousands of documents (a few kB each): the answer is read as it arrives and
# each entry dropped from the tree once read, so memory follows the entries,
# not the bytes. These bounds stop a hostile host, not a real record.
MAX_ENTRIES = 100_000
MAX_ANSWER_BYTES = 1 << 30
MAX_ENTRY_BYTES = 4 << 20  # bytes between two entries (one entry is a few kB)

_SLOT = qn(RIM, "Slot")
_VALUE_LIST = qn(RIM, "ValueList")
_VALUE = qn(RIM, "Value")
_NAME = qn(RIM, "Name")
_DESCRIPTION = qn(RIM, "Description")
_LOCALIZED = qn(RIM, "LocalizedString")
_CLASSIFICATION = qn(RIM, "Classification")
_EXTERNAL_ID = qn(RIM, "ExternalIdentifier")
_VERSION_INFO = qn(RIM, "VersionInfo")
_EXTRINSIC_OBJECT = qn(RIM, "ExtrinsicObject")
_OBJECT_LIST = qn(RIM, "RegistryObjectList")
_QUERY_RESPONSE = qn(QUERY, "AdhocQueryResponse")
_STATUSES = {status.value: status for status in DocumentStatus}
_NO_CODE = Code("")


def _first(values: Sequence[str] | None) -> str | None:
    """The first non-blank value, stripped (``ebrs.slot_value``'s rule)."""
    if values is not None and len(values) == 1:  # the usual shape
        return values[0].strip() or None
    for value in values or ():
        value = value.strip()
        if value:
            return value
    return None


def _values(slot: Element) -> list[str]:
    """The values of a ``Slot`` (its first ``ValueList``), in order."""
    if len(slot) == 1:  # the usual shape, read without a loop: ValueList/Value
        value_list = slot[0]
        if value_list.tag == _VALUE_LIST and len(value_list) == 1:
            value = value_list[0]
            if value.tag == _VALUE:
                return [value.text or ""]
    for value_list in slot:
        if value_list.tag == _VALUE_LIST:
            return [value.text or "" for value in value_list if value.tag == _VALUE]
    return []


def _first_localized(holder: Element) -> str | None:
    """The ``value`` of the first ``LocalizedString`` child of ``holder`` (None: none, no value)."""
    for string in holder:
        if string.tag == _LOCALIZED:
            return string.get("value")
    return None


# What is read from an entry, before any meaning is given to it: plain tuples (hashable:
# repeated parts are recognised at once), made from an lxml element by
# project_extrinsic_object or, when it was built, by the compiled reader
# (dmp_desktop/dmp/_ebrimscan.c), which gives exactly the same tuples without a tree.
#   (attributes, slots, classifications, external identifiers, name, description, version)
#   attributes: (id, lid, objectType, mimeType, status), each str or None;
#   slots: ((name or None, (the first ValueList's Value texts, "" for none)), ...), in order;
#   classifications: ((classificationScheme, nodeRepresentation, the first Name's first
#     LocalizedString value, (its slots as above)), ...), in order;
#   external identifiers: ((identificationScheme, value), ...), in order;
#   name, description: the first Name's / Description's first LocalizedString value;
#   version: the first VersionInfo's versionName. Absent attributes are None.
# A Value's text is lxml's ``.text``: up to its first child element or comment.
_Slots = tuple[tuple[str | None, tuple[str, ...]], ...]
_Classification = tuple[str | None, str | None, str | None, _Slots]
Projection = tuple[
    tuple[str | None, str | None, str | None, str | None, str | None],
    _Slots,
    tuple[_Classification, ...],
    tuple[tuple[str | None, str | None], ...],
    str | None,
    str | None,
    str | None,
]


def project_extrinsic_object(eo: Element) -> Projection:
    """An ``ExtrinsicObject`` element -> its :data:`Projection` (the pure-Python reading)."""
    slots: list[tuple[str | None, tuple[str, ...]]] = []
    classifications: list[_Classification] = []
    external: list[tuple[str | None, str | None]] = []
    name = description = version = None
    name_seen = description_seen = version_seen = False
    for node in eo:
        tag = node.tag
        if tag == _CLASSIFICATION:
            inner: list[tuple[str | None, tuple[str, ...]]] = []
            display = None
            display_seen = False
            for part in node:
                part_tag = part.tag
                if part_tag == _SLOT:
                    inner.append((part.get("name"), tuple(_values(part))))
                elif part_tag == _NAME and not display_seen:
                    display_seen = True
                    display = _first_localized(part)
            classifications.append(
                (
                    node.get("classificationScheme"),
                    node.get("nodeRepresentation"),
                    display,
                    tuple(inner),
                )
            )
        elif tag == _SLOT:
            slots.append((node.get("name"), tuple(_values(node))))
        elif tag == _EXTERNAL_ID:
            external.append((node.get("identificationScheme"), node.get("value")))
        elif tag == _NAME:
            if not name_seen:
                name_seen = True
                name = _first_localized(node)
        elif tag == _DESCRIPTION:
            if not description_seen:
                description_seen = True
                description = _first_localized(node)
        elif tag == _VERSION_INFO and not version_seen:
            version_seen = True
            version = node.get("versionName")
    attributes = (
        eo.get("id"),
        eo.get("lid"),
        eo.get("objectType"),
        eo.get("mimeType"),
        eo.get("status"),
    )
    return (
        attributes,
        tuple(slots),
        tuple(classifications),
        tuple(external),
        name,
        description,
        version,
    )


class _Shared:
    """Values repeated from entry to entry, made once per answer (time and memory).

    Codes and authors are frozen values: entries of one answer share them.
    """

    def __init__(self) -> None:
        self.codes: dict[tuple[str, str, str], Code] = {}
        self.authors: dict[tuple[tuple[str, tuple[str, ...]], ...], Author] = {}
        # the same, by what was read (classifications, author slots): one lookup each
        self.raw_codes: dict[_Classification, Code] = {}
        self.raw_authors: dict[_Slots, Author] = {}
        self.patients: dict[str, Ins] = {}
        self.dates: dict[str, datetime | None] = {}

    def code(self, classification: _Classification) -> Code:
        """A classification's code: ``nodeRepresentation``, its ``Name``, its ``codingScheme``."""
        found = self.raw_codes.get(classification)
        if found is None:
            found = self.raw_codes[classification] = self._code(*classification[1:])
        return found

    def _code(self, representation: str | None, display: str | None, slots: _Slots) -> Code:
        scheme = None
        for name, values in slots:
            if name == "codingScheme":
                scheme = _first(values)
                if scheme is not None:
                    break
        key = (
            representation.strip() if representation else "",
            display.strip() if display else "",
            scheme or "",
        )
        found = self.codes.get(key)
        if found is None:
            found = self.codes[key] = Code(*key)
        return found

    def author(self, slot_list: _Slots) -> Author:
        found = self.raw_authors.get(slot_list)
        if found is None:
            found = self.raw_authors[slot_list] = self._author(slot_list)
        return found

    def _author(self, slot_list: _Slots) -> Author:
        slots: dict[str, list[str]] = {}
        for name, values in slot_list:
            if name:
                slots.setdefault(name, []).extend(values)
        key = tuple((name, tuple(values)) for name, values in slots.items())
        found = self.authors.get(key)
        if found is None:
            found = self.authors[key] = _author_from_slots(slots)
        return found

    def patient(self, value: str) -> Ins:
        found = self.patients.get(value)
        if found is None:
            found = self.patients[value] = parse_patient_cx(value)
        return found

    def date(self, values: Sequence[str] | None) -> datetime | None:
        value = _first(values)
        if value is None:
            return None
        if value not in self.dates:
            if len(self.dates) > 4096:  # dates mostly differ from entry to entry
                self.dates.clear()
            self.dates[value] = read_dtm(value)
        return self.dates[value]


def _author_from_slots(slots: dict[str, list[str]]) -> Author:
    person = next((v for v in slots.get("authorPerson", []) if v.strip()), "")
    national_id, family, given = None, "", ""
    if person:
        national_id, family, given, _ = parse_xcn(person)
    institution, institution_id = "", None
    org = next((v for v in slots.get("authorInstitution", []) if v.strip()), "")
    if org:
        institution, institution_id = parse_xon(org)
    specialty = next((v for v in slots.get("authorSpecialty", []) if v.strip()), "")
    roles = [
        hl7_unescape(_component(_components(v), 0)).strip() for v in slots.get("authorRole", [])
    ]
    return Author(
        national_id=national_id,
        family_name=family,
        given_name=given,
        role=", ".join(r for r in roles if r),
        specialty=parse_ce(specialty) if specialty else None,
        institution=institution,
        institution_id=institution_id,
    )


def _status(value: str | None) -> DocumentStatus:
    status = _STATUSES.get((value or "").strip())
    if status is None:
        raise DmpProtocolError("a document has an unknown status")
    return status


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise DmpProtocolError("a document has an invalid size") from None
    if number < 0:
        raise DmpProtocolError("a document has an invalid size")
    return number


_MAPPED_SLOTS = frozenset(
    {
        "creationTime",
        "serviceStartTime",
        "serviceStopTime",
        "hash",
        "size",
        "languageCode",
        "repositoryUniqueId",
    }
)


(
    _K_CONFIDENTIALITY,
    _K_AUTHOR,
    _K_EVENT,
    _K_TYPE,
    _K_CLASS,
    _K_FORMAT,
    _K_PRACTICE,
    _K_FACILITY,
) = range(8)
# The classifications read from an entry, by scheme.
_CLASS_KINDS = {
    CLASS_CONFIDENTIALITY: _K_CONFIDENTIALITY,
    CLASS_AUTHOR: _K_AUTHOR,
    CLASS_EVENT_CODE: _K_EVENT,
    CLASS_TYPE_CODE: _K_TYPE,
    CLASS_CLASS_CODE: _K_CLASS,
    CLASS_FORMAT_CODE: _K_FORMAT,
    CLASS_PRACTICE_SETTING: _K_PRACTICE,
    CLASS_FACILITY_TYPE: _K_FACILITY,
}


def parse_extrinsic_object(
    eo: Element, requested: Ins | None = None, *, shared: _Shared | None = None
) -> DocumentEntry:
    """One ``ExtrinsicObject`` -> DocumentEntry. ``requested``: the patient asked about.

    ``shared``: codes, authors and patient ids already made for earlier entries of the
    same answer. See :func:`entry_from_projection`.
    """
    return entry_from_projection(project_extrinsic_object(eo), requested, shared=shared)


def entry_from_projection(
    projection: Projection, requested: Ins | None = None, *, shared: _Shared | None = None
) -> DocumentEntry:
    """What was read from an ``ExtrinsicObject`` (:data:`Projection`) -> DocumentEntry.

    Slots: every value of each name (its first ``ValueList``; a repeated slot adds its
    values); classifications by scheme (the first one for single codes); external
    identifiers by scheme (the first one); the first ``Name``, ``Description`` and
    ``VersionInfo``.
    """
    shared = shared or _Shared()
    code = shared.code
    attributes, slot_list, classifications, external_ids, title, comments, version = projection
    slots: dict[str, tuple[str, ...]] = {}
    for name, values in slot_list:
        if name:
            found = slots.get(name)
            slots[name] = values if found is None else found + values
    external: dict[str | None, str | None] = {}
    for scheme, value in external_ids:
        if scheme not in external:
            external[scheme] = (value.strip() or None) if value else None
    type_code = class_code = format_code = practice = facility = None
    authors: list[Author] = []
    confidentiality: list[Code] = []
    events: list[Code] = []
    for classification in classifications:
        kind = _CLASS_KINDS.get(classification[0])  # type: ignore[arg-type]
        if kind is None:
            continue
        if kind == _K_CONFIDENTIALITY:
            confidentiality.append(code(classification))
        elif kind == _K_AUTHOR:
            authors.append(shared.author(classification[3]))
        elif kind == _K_EVENT:
            events.append(code(classification))
        elif kind == _K_TYPE:
            type_code = type_code or code(classification)
        elif kind == _K_CLASS:
            class_code = class_code or code(classification)
        elif kind == _K_FORMAT:
            format_code = format_code or code(classification)
        elif kind == _K_PRACTICE:
            practice = practice or code(classification)
        else:
            facility = facility or code(classification)

    eo_id, eo_lid, eo_object_type, eo_mime_type, eo_status = attributes
    entry_uuid = (eo_id or "").strip()
    unique_id = external.get(EXT_UNIQUE_ID)
    patient_cx = external.get(EXT_PATIENT_ID)
    if not entry_uuid or not unique_id or not patient_cx:
        raise DmpProtocolError("a document lacks its id, unique id or patient id")
    patient = shared.patient(patient_cx)
    if requested is not None and (
        patient.value != requested.value or patient.kind is not requested.kind
    ):
        raise DmpProtocolError("the answer lists a document of another patient")
    repository = _first(slots.get("repositoryUniqueId"))
    if repository is None:
        raise DmpProtocolError("a document lacks its repository id")
    digest = _first(slots.get("hash"))
    if digest is not None and not _HEX40.match(digest):
        raise DmpProtocolError("a document has an invalid hash")
    extra = {
        name: values[0].strip()
        if len(values) == 1
        else "\n".join(v.strip() for v in values if v.strip())
        for name, values in slots.items()
        if name not in _MAPPED_SLOTS
    }
    lid = (eo_lid or "").strip()
    if lid and lid != entry_uuid:
        extra["lid"] = lid
    object_type = (eo_object_type or "").strip()
    if object_type and object_type != OBJECT_TYPE_STABLE:
        extra["objectType"] = object_type
    date = shared.date
    return DocumentEntry(
        entry_uuid=entry_uuid,
        unique_id=unique_id,
        repository_id=repository,
        patient=patient,
        title=(title or "").strip(),
        type_code=type_code or _NO_CODE,
        class_code=class_code or _NO_CODE,
        format_code=format_code or _NO_CODE,
        mime_type=(eo_mime_type or "").strip() or "application/octet-stream",
        creation_time=date(slots.get("creationTime")),
        service_start=date(slots.get("serviceStartTime")),
        service_stop=date(slots.get("serviceStopTime")),
        authors=tuple(authors),
        confidentiality=tuple(confidentiality),
        status=_status(eo_status),
        practice_setting=practice,
        facility_type=facility,
        event_codes=tuple(events),
        language=_first(slots.get("languageCode")) or "fr-FR",
        size=_int(_first(slots.get("size"))),
        hash_sha1=digest.lower() if digest else None,
        comments=(comments or "").strip(),
        version=(version or "").strip() or None,
        extra=extra,
    )


def _total(body: Element) -> int | None:
    total_raw = body.get("totalResultCount")
    if total_raw is not None and total_raw.strip().isdigit():
        return int(total_raw.strip())
    return None


def parse_find_documents_response(
    body: Element, requested: Ins | None = None
) -> FindDocumentsResult:
    """An ``AdhocQueryResponse`` -> entries (errors raise, warnings are kept)."""
    if body is None or body.tag != _QUERY_RESPONSE:
        raise DmpProtocolError("answer is not an AdhocQueryResponse")
    warnings = ebrs.check_response(body)
    object_list = child(body, RIM, "RegistryObjectList")
    shared = _Shared()
    entries = tuple(
        parse_extrinsic_object(eo, requested, shared=shared)
        for eo in children(object_list, RIM, "ExtrinsicObject")
    )
    return FindDocumentsResult(entries=entries, warnings=tuple(warnings), total=_total(body))


# What the compiled reader made of a piece: the rest of the answer (XML), the entries.
Scanned = tuple[bytes, list[Projection]]


class FindDocumentsReader:
    """An ITI-18 answer read as its bytes arrive (:meth:`feed`), then :meth:`close`.

    Each ``ExtrinsicObject`` becomes a :class:`DocumentEntry` as soon as it is
    complete and is then dropped, so a list of 20,000 documents never exists as a
    whole tree nor as a whole byte string. The outcome is that of
    :func:`~dmp_desktop.dmp.soap.parse_envelope` followed by
    :func:`parse_find_documents_response` on the whole answer: a SOAP fault,
    a registry error, a wrong WS-Addressing header or an unreadable entry
    raise the same typed errors, in the same order. Beyond :data:`MAX_ENTRIES`
    entries: :class:`~dmp_desktop.errors.AnswerTooLargeError`.

    ``compiled`` (default: whenever it was built, see :func:`compiled_reader`): the
    bytes are first read by the compiled reader (``_ebrimscan``, libxml2's SAX parser,
    no tree), which hands over each entry's :data:`Projection` and the rest of the
    answer as XML with an empty ``ExtrinsicObject`` in each entry's place; that rest
    goes through the same lxml checks as without it. Same results, about four times
    less work (docs/performance.md).
    """

    def __init__(
        self,
        requested: Ins | None = None,
        *,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_ANSWER_BYTES,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
        compiled: bool | None = None,
    ) -> None:
        self._requested = requested
        self._max_entries = max_entries
        scanner_type = compiled_reader() if compiled is None or compiled else None
        if compiled and scanner_type is None:
            raise RuntimeError("the compiled reader (_ebrimscan) was not built")
        self._scanner = scanner_type(max_entry=max_entry_bytes) if scanner_type else None
        self._screen = xmlsafe.ByteScreen(max_bytes)
        self._pending: deque[Projection] = deque()
        self._parser = xmlsafe.StreamParser(
            [_EXTRINSIC_OBJECT], max_bytes=max_bytes, max_gap=max_entry_bytes
        )
        self._shared = _Shared()
        self._entries: list[DocumentEntry] = []
        self._error: DmpProtocolError | None = None
        self._object_list: Element | None = None

    @property
    def entries_read(self) -> int:
        return len(self._entries)

    @property
    def compiled(self) -> bool:
        """Whether the compiled reader reads the bytes."""
        return self._scanner is not None

    @property
    def parses_unlocked(self) -> bool:
        """Whether :meth:`feed` parses without the interpreter lock (the compiled reader):
        worth feeding from another thread than the one receiving."""
        return self._scanner is not None

    def feed(self, data: bytes) -> None:
        if self._scanner is not None:
            self.take(self.scan(data))
            return
        try:
            completed = self._parser.feed(data)
        except xmlsafe.UnsafeXmlError as exc:
            raise DmpProtocolError(f"unreadable answer: {exc}") from None
        self._take(completed)

    def scan(self, data: bytes) -> Scanned:
        """The compiled reader's part of :meth:`feed` (its parse runs without the interpreter
        lock); :meth:`take` does the rest. ``scan`` may run in another thread than the
        reader's own (lxml's parser stays in its thread), one piece at a time, in order."""
        if self._scanner is None:
            raise RuntimeError("scan() needs the compiled reader")
        try:
            self._screen.check(data)
        except xmlsafe.UnsafeXmlError as exc:
            raise DmpProtocolError(f"unreadable answer: {exc}") from None
        return self._scan(self._scanner.feed, data)

    def take(self, scanned: Scanned) -> None:
        """The entries read by :meth:`scan`, and the rest of the answer through lxml."""
        rest, projections = scanned
        self._pending.extend(projections)
        try:
            completed = self._parser.feed(rest)
        except xmlsafe.UnsafeXmlError as exc:
            raise DmpProtocolError(f"unreadable answer: {exc}") from None
        self._take(completed)

    @staticmethod
    def _scan(step: Callable[..., Scanned], *args: bytes) -> Scanned:
        """One step of the compiled reader: (the rest of the answer, the entries read)."""
        try:
            return step(*args)
        except _ScanError as exc:
            if str(exc) == "nested entry":  # what the lxml reading says of it
                raise DmpProtocolError("a document entry outside the answer's list") from None
            raise DmpProtocolError(f"unreadable answer: {exc}") from None

    def _listed(self, eo: Element) -> bool:
        """Whether ``eo`` is an entry of the answer (Body/AdhocQueryResponse/RegistryObjectList)."""
        parent = eo.getparent()
        if self._object_list is not None:
            return bool(eo.getparent() is self._object_list)
        if parent is None or parent.tag != _OBJECT_LIST:
            return False
        response = parent.getparent()
        if response is None or response.tag != _QUERY_RESPONSE:
            return False
        body = response.getparent()
        envelope = body.getparent() if body is not None else None
        if envelope is None or envelope.getparent() is not None:
            return False
        first_in_body = next(body.iterchildren(etree.Element), None)
        first_list = next(response.iterchildren(_OBJECT_LIST), None)
        soap_body = child(envelope, ns.SOAP12, "Body")
        if first_in_body is not response or first_list is not parent or soap_body is not body:
            return False
        self._object_list = parent
        return True

    def _take(self, completed: Iterator[Element]) -> None:
        pending = self._pending if self._scanner is not None else None
        try:
            for eo in completed:
                projection = pending.popleft() if pending is not None else None
                if not self._listed(eo):
                    raise DmpProtocolError("a document entry outside the answer's list")
                if self._error is None:
                    if len(self._entries) >= self._max_entries:
                        raise AnswerTooLargeError(self._max_entries)
                    try:
                        self._entries.append(
                            entry_from_projection(
                                projection or project_extrinsic_object(eo),
                                self._requested,
                                shared=self._shared,
                            )
                        )
                    except DmpProtocolError as exc:
                        self._error = exc  # raised after the envelope's own errors (see close)
                xmlsafe.release(eo)
        except xmlsafe.UnsafeXmlError as exc:
            raise DmpProtocolError(f"unreadable answer: {exc}") from None

    def close(
        self, *, expected_action: str | None = None, relates_to: str | None = None
    ) -> FindDocumentsResult:
        """The end of the answer: check the envelope, then the entries read."""
        if self._scanner is not None:
            self.take(self._scan(self._scanner.close))
        try:
            root, completed = self._parser.close()
        except xmlsafe.UnsafeXmlError as exc:
            raise DmpProtocolError(f"unreadable answer: {exc}") from None
        self._take(completed)
        answer = soap.read_envelope(root, expected_action=expected_action, relates_to=relates_to)
        body = answer.body
        if body.tag != _QUERY_RESPONSE:
            raise DmpProtocolError("answer is not an AdhocQueryResponse")
        warnings = ebrs.check_response(body)
        if self._error is not None:
            raise self._error
        return FindDocumentsResult(
            entries=tuple(self._entries), warnings=tuple(warnings), total=_total(body)
        )


def compiled_reader() -> type[Any] | None:
    """The compiled reader's type (``_ebrimscan.Scanner``), or None when it was not built
    or ``DMP_DESKTOP_PURE_PYTHON=1`` asks for the pure-Python reading (tests, comparisons)."""
    if _compiled is None or os.environ.get("DMP_DESKTOP_PURE_PYTHON") == "1":
        return None
    return _compiled.Scanner


def read_find_documents(
    data: bytes,
    requested: Ins | None = None,
    *,
    expected_action: str | None = None,
    relates_to: str | None = None,
    chunk: int = 1 << 16,
) -> FindDocumentsResult:
    """A whole ITI-18 answer envelope (bytes) through :class:`FindDocumentsReader`."""
    reader = FindDocumentsReader(requested)
    view = memoryview(data)
    for start in range(0, len(data), chunk):
        reader.feed(bytes(view[start : start + chunk]))
    return reader.close(expected_action=expected_action, relates_to=relates_to)


def filter_entries(entries: Iterable[DocumentEntry], query: DocumentQuery) -> list[DocumentEntry]:
    """The entries the user asked to see, de-duplicated by unique id (first one kept).

    Applies the query's statuses and visibility choices: masked documents only
    with ``include_masked``, invisible-to-patient / to-legal-representatives
    documents only with their ``include_*`` flag.
    """
    seen: set[str] = set()
    out: list[DocumentEntry] = []
    statuses = query.statuses or frozenset({DocumentStatus.APPROVED})
    for entry in entries:
        if entry.unique_id in seen:
            continue
        if entry.status not in statuses:
            continue
        if entry.has_flag(Confidentiality.MASKED_PS) and not query.include_masked:
            continue
        if (
            entry.has_flag(Confidentiality.INVISIBLE_PATIENT)
            and not query.include_invisible_patient
        ):
            continue
        if (
            entry.has_flag(Confidentiality.INVISIBLE_LEGAL_REPS)
            and not query.include_invisible_legal_reps
        ):
            continue
        seen.add(entry.unique_id)
        out.append(entry)
    return out


# --- RetrieveDocumentSet --------------------------------------------------------------------------


def build_retrieve_documents(requests: Sequence[tuple[str, str]]) -> Element:
    """The ``RetrieveDocumentSetRequest`` body; ``requests``: (repository id, unique id) pairs."""
    if not requests:
        raise ValueError("nothing to retrieve")
    root = etree.Element(
        qn(XDSB, "RetrieveDocumentSetRequest"),
        nsmap={None: XDSB, "ns2": RIM, "ns3": RS, "ns4": QUERY, "ns5": ebrs.LCM},
    )
    for repository_id, unique_id in requests:
        if not repository_id or not unique_id:
            raise ValueError("a document request needs its repository and unique ids")
        request = etree.SubElement(root, qn(XDSB, "DocumentRequest"))
        etree.SubElement(request, qn(XDSB, "RepositoryUniqueId")).text = repository_id
        etree.SubElement(request, qn(XDSB, "DocumentUniqueId")).text = unique_id
    return root


def parse_retrieve_response(body: Element, message: MtomMessage | None = None) -> RetrieveResult:
    """A ``RetrieveDocumentSetResponse`` -> documents (bytes inline or from MTOM parts)."""
    if body is None or body.tag != qn(XDSB, "RetrieveDocumentSetResponse"):
        raise DmpProtocolError("answer is not a RetrieveDocumentSetResponse")
    response = child(body, RS, "RegistryResponse")
    if response is None:
        raise DmpProtocolError("RetrieveDocumentSetResponse without its RegistryResponse")
    warnings = ebrs.check_response(response)
    documents: list[RetrievedDocument] = []
    for doc in children(body, XDSB, "DocumentResponse"):
        unique_id = text(child(doc, XDSB, "DocumentUniqueId"))
        repository_id = text(child(doc, XDSB, "RepositoryUniqueId"))
        content_el = child(doc, XDSB, "Document")
        if not unique_id or not repository_id or content_el is None:
            raise DmpProtocolError("incomplete DocumentResponse")
        documents.append(
            RetrievedDocument(
                unique_id=unique_id,
                repository_id=repository_id,
                mime_type=text(child(doc, XDSB, "mimeType")) or "application/octet-stream",
                content=element_bytes(content_el, message),
            )
        )
    return RetrieveResult(documents=tuple(documents), warnings=tuple(warnings))


def check_integrity(entry: DocumentEntry, document: RetrievedDocument) -> None:
    """The bytes must match the registry's size and SHA-1 when it gives them."""
    if entry.size is not None and entry.size != len(document.content):
        raise DmpProtocolError("the retrieved document does not have the registered size")
    if entry.hash_sha1 is not None:
        digest = hashlib.sha1(document.content, usedforsecurity=False).hexdigest()
        if digest != entry.hash_sha1.lower():
            raise DmpProtocolError("the retrieved document does not match the registered hash")


__all__ = [
    "ACTION_FIND",
    "ACTION_FIND_RESPONSE",
    "ACTION_RETRIEVE",
    "ACTION_RETRIEVE_RESPONSE",
    "DEFAULT_YEARS",
    "MAX_ANSWER_BYTES",
    "MAX_ENTRIES",
    "QUERY_FIND_DOCUMENTS",
    "XDSB",
    "FindDocumentsReader",
    "FindDocumentsResult",
    "RetrieveResult",
    "build_find_documents",
    "build_retrieve_documents",
    "check_integrity",
    "default_query",
    "filter_entries",
    "parse_extrinsic_object",
    "parse_find_documents_response",
    "parse_retrieve_response",
    "parse_xcn",
    "parse_xon",
    "read_dtm",
    "read_find_documents",
    "two_years_before",
]
