"""Reading an ebRIM 3.0 ``SubmitObjectsRequest`` on the host side (ITI-41 and ITI-57).

Plain XML work, no database and no rules: :mod:`dmp_sandbox.alimentation`
and :mod:`dmp_sandbox.updates` decide what the objects mean. The reader is
as lenient as the official material needs and no more:

- the objects may sit in any prefix of the rim namespace (the official TD2.1
  request writes rim as the default namespace, the CNAM templates ``ns3:``);
- a ``Classification`` or ``ExternalIdentifier`` nested in an object belongs
  to that object whatever its ``classifiedObject`` / ``registryObject`` says
  (the official TD3.3 requests omit them, ``template_masquage.xml`` names the
  previous version's entryUUID); a top-level one is attached to the object it
  names;
- the ids of nested classifications are not checked for uniqueness (the
  masking template repeats one); the ids of top-level objects (submission
  set, entries, associations) must be unique.

Malformed input raises :class:`dmp_sandbox.xds.XdsError` (``DMPInvalidRequest``)
with a French context that names no patient data.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from lxml import etree

from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_sandbox import xds

LCM = xds.LCM
RIM = xds.RIM

SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SCHEME_SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SCHEME_SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
ID_SCHEME_SS_PATIENT = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
ID_SCHEME_SS_SOURCE = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
ID_SCHEME_SS_UNIQUE = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"

ASSOC_HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
ASSOC_RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
ASSOC_SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
ASSOC_UPDATE_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"

MAX_OBJECTS = 200  # registry objects in one request
XDS_METADATA_ERROR = "XDSRegistryMetadataError"


def _r(local: str) -> str:
    return f"{{{RIM}}}{local}"


def _bad(context: str) -> xds.XdsError:
    return xds.invalid(context)


@dataclass(frozen=True)
class Classification:
    scheme: str | None  # classificationScheme
    node: str | None  # classificationNode
    code: str  # nodeRepresentation
    classified: str | None
    slots: dict[str, list[str]]
    name: str  # Name/LocalizedString/@value

    @property
    def coding_scheme(self) -> str | None:
        values = self.slots.get("codingScheme") or []
        return values[0] if values else None


@dataclass(frozen=True)
class ExternalIdentifier:
    scheme: str
    value: str


@dataclass
class RegistryObject:
    """A ``RegistryPackage`` or an ``ExtrinsicObject`` with what it holds."""

    kind: str  # "RegistryPackage" or "ExtrinsicObject"
    id: str
    attributes: dict[str, str]
    slots: dict[str, list[str]]
    name: str
    description: str
    version_name: str | None
    classifications: list[Classification] = field(default_factory=list)
    identifiers: list[ExternalIdentifier] = field(default_factory=list)

    def slot(self, name: str) -> str | None:
        values = [v for v in self.slots.get(name, []) if v]
        return values[0] if values else None

    def classified(self, scheme: str) -> list[Classification]:
        return [c for c in self.classifications if c.scheme == scheme]

    def identifier(self, scheme: str) -> str | None:
        found = [i.value for i in self.identifiers if i.scheme == scheme and i.value]
        return found[0] if found else None

    @property
    def is_submission_set(self) -> bool:
        return any(c.node == SUBMISSION_SET_NODE for c in self.classifications)


@dataclass(frozen=True)
class Association:
    id: str
    type: str
    source: str
    target: str
    slots: dict[str, list[str]]

    def slot(self, name: str) -> str | None:
        values = [v for v in self.slots.get(name, []) if v]
        return values[0] if values else None


@dataclass
class Submission:
    """The registry objects of one ``SubmitObjectsRequest``."""

    packages: list[RegistryObject]
    entries: list[RegistryObject]
    associations: list[Association]

    def submission_set(self) -> RegistryObject:
        """The RegistryPackage classified as a SubmissionSet (or the only package)."""
        marked = [p for p in self.packages if p.is_submission_set]
        candidates = marked or self.packages
        if len(candidates) != 1:
            raise _bad(
                "La requête doit contenir un et un seul lot de soumission "
                "(RegistryPackage SubmissionSet)."
            )
        return candidates[0]

    def entry(self, object_id: str) -> RegistryObject | None:
        return next((e for e in self.entries if e.id == object_id), None)


def _slots(el: etree._Element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for slot in el.findall(_r("Slot")):
        name = (slot.get("name") or "").strip()
        if not name:
            raise _bad("Slot sans nom dans les métadonnées.")
        values = out.setdefault(name, [])
        for value in slot.findall(f"{_r('ValueList')}/{_r('Value')}"):
            values.append((value.text or "").strip())
    return out


def _localized(el: etree._Element, local: str) -> str:
    string = el.find(f"{_r(local)}/{_r('LocalizedString')}")
    return (string.get("value") or "").strip() if string is not None else ""


def _classification(el: etree._Element) -> Classification:
    return Classification(
        scheme=(el.get("classificationScheme") or "").strip() or None,
        node=(el.get("classificationNode") or "").strip() or None,
        code=(el.get("nodeRepresentation") or "").strip(),
        classified=(el.get("classifiedObject") or "").strip() or None,
        slots=_slots(el),
        name=_localized(el, "Name"),
    )


def _identifier(el: etree._Element) -> ExternalIdentifier:
    scheme = (el.get("identificationScheme") or "").strip()
    if not scheme:
        raise _bad("ExternalIdentifier sans identificationScheme.")
    return ExternalIdentifier(scheme, (el.get("value") or "").strip())


def _object(el: etree._Element, kind: str) -> RegistryObject:
    object_id = (el.get("id") or "").strip()
    if not object_id:
        raise _bad(f"{kind} sans identifiant (attribut id).")
    version = el.find(_r("VersionInfo"))
    return RegistryObject(
        kind=kind,
        id=object_id,
        attributes={str(k): str(v) for k, v in el.attrib.items()},
        slots=_slots(el),
        name=_localized(el, "Name"),
        description=_localized(el, "Description"),
        version_name=(version.get("versionName") or "").strip() or None
        if version is not None
        else None,
        classifications=[_classification(c) for c in el.findall(_r("Classification"))],
        identifiers=[_identifier(i) for i in el.findall(_r("ExternalIdentifier"))],
    )


def _association(el: etree._Element) -> Association:
    values = {
        name: (el.get(name) or "").strip()
        for name in ("id", "associationType", "sourceObject", "targetObject")
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise _bad(f"Association incomplète : attribut {missing[0]} absent.")
    return Association(
        values["id"],
        values["associationType"],
        values["sourceObject"],
        values["targetObject"],
        _slots(el),
    )


def read_submit_objects(request: etree._Element) -> Submission:
    """The objects of a ``lcm:SubmitObjectsRequest`` (see the module docstring)."""
    if request.tag != f"{{{LCM}}}SubmitObjectsRequest":
        raise _bad("Corps inattendu : SubmitObjectsRequest (ebRS 3.0, lcm) attendu.")
    object_list = request.find(_r("RegistryObjectList"))
    if object_list is None:
        raise _bad("SubmitObjectsRequest sans RegistryObjectList.")
    packages: list[RegistryObject] = []
    entries: list[RegistryObject] = []
    associations: list[Association] = []
    loose: list[Classification] = []
    seen: set[str] = set()
    children = [c for c in object_list if isinstance(c.tag, str)]
    if len(children) > MAX_OBJECTS:
        raise _bad(f"Trop d'objets dans une seule requête ({MAX_OBJECTS} au plus).")
    for child in children:
        local = etree.QName(child).localname
        if etree.QName(child).namespace != RIM:
            raise _bad(f"Objet inattendu dans RegistryObjectList : {local}.")
        item: RegistryObject | Association
        if local == "RegistryPackage":
            item = _object(child, local)
            packages.append(item)
        elif local == "ExtrinsicObject":
            item = _object(child, local)
            entries.append(item)
        elif local == "Association":
            item = _association(child)
            associations.append(item)
        elif local == "Classification":
            loose.append(_classification(child))
            continue
        else:
            raise _bad(f"Objet non pris en charge dans RegistryObjectList : {local}.")
        if item.id in seen:
            raise _bad("Deux objets de la requête portent le même identifiant.")
        seen.add(item.id)
    for classification in loose:
        target = next((o for o in (*packages, *entries) if o.id == classification.classified), None)
        if target is None:
            raise _bad("Classification qui ne désigne aucun objet de la requête.")
        target.classifications.append(classification)
    return Submission(packages, entries, associations)


# --- HL7 v2 values of the metadata --------------------------------------------------------------


def parse_patient_id(value: str | None, what: str) -> Ins:
    """``INS^^^&root&ISO^NH[^^date]`` -> Ins; an unusable one is a metadata error."""
    if not value:
        raise xds.XdsError(XDS_METADATA_ERROR, f"Identifiant du patient absent ({what}).", what)
    parts = value.strip().split("^")
    ident = parts[0].strip()
    authority = parts[3].split("&") if len(parts) > 3 else []
    root = authority[1].strip() if len(authority) > 1 else ""
    try:
        return Ins(ident, InsKind.from_oid(root))
    except (InsError, ValueError):
        raise xds.XdsError(
            XDS_METADATA_ERROR,
            f"Identifiant du patient invalide ({what}) : un INS qualifié est attendu "
            "(INS^^^&autorité&ISO^NH).",
            what,
        ) from None


_DTM_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?$")


def parse_dtm(value: str | None, what: str) -> dt.datetime | None:
    """An XDS DTM (UTC) -> aware datetime; None when absent; a metadata error when bad."""
    if value is None or not value.strip():
        return None
    match = _DTM_RE.match(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        year, month, day, hour, minute, second = (int(g) if g else None for g in match.groups())
        return dt.datetime(
            year or 1, month or 1, day or 1, hour or 0, minute or 0, second or 0, tzinfo=dt.UTC
        )
    except ValueError:
        raise xds.XdsError(
            XDS_METADATA_ERROR, f"Date mal formée ({what}) : AAAAMMJJ[hhmmss] attendu.", what
        ) from None


# --- HL7 v2 data types in XDS slots (IHE ITI TF-3 4.2.3.1.7: XCN, XON, CE) -------------------

_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}


def hl7_unescape(value: str) -> str:
    """Undo the HL7 v2 escapes (``\\S\\`` is ``^``, ``\\T\\`` is ``&``…)."""
    if "\\" not in value:
        return value
    return re.sub(r"\\([FSTRE])\\", lambda m: _ESCAPES[m.group(1)], value)


def _component(parts: list[str], index: int) -> str:
    return parts[index] if index < len(parts) else ""


def _authority(component: str) -> str | None:
    """The OID of an HD component (``&<oid>&ISO``)."""
    sub = component.split("&")
    return sub[1].strip() or None if len(sub) > 1 else None


def parse_xcn(value: str) -> tuple[str | None, str, str, str | None]:
    """An XCN (authorPerson): (id, family name, given name, assigning authority OID)."""
    parts = value.split("^")
    ident = hl7_unescape(_component(parts, 0).split("&")[0]).strip() or None
    return (
        ident,
        hl7_unescape(_component(parts, 1)).strip(),
        hl7_unescape(_component(parts, 2)).strip(),
        _authority(_component(parts, 8)),
    )


def parse_xon(value: str) -> tuple[str, str | None]:
    """An XON (authorInstitution): (name, organisation id: component 10, else 3)."""
    parts = value.split("^")
    name = hl7_unescape(_component(parts, 0)).strip()
    ident = hl7_unescape(_component(parts, 9)).strip() or hl7_unescape(_component(parts, 2))
    return name, ident.strip() or None


@dataclass(frozen=True)
class CodedSlot:
    code: str
    display: str
    scheme: str


def parse_ce(value: str) -> CodedSlot:
    """A coded slot value ``code^display^codingScheme`` (authorSpecialty)."""
    parts = value.split("^")
    return CodedSlot(
        hl7_unescape(_component(parts, 0)).strip(),
        hl7_unescape(_component(parts, 1)).strip(),
        hl7_unescape(_component(parts, 2)).strip(),
    )


def author_record(classification: Classification) -> dict[str, str]:
    """An author classification -> the store's author dict (see SubmissionSetRecord.authors)."""
    slots = classification.slots
    person = next((v for v in slots.get("authorPerson", []) if v), "")
    record: dict[str, str] = {}
    if person:
        national_id, family, given, root = parse_xcn(person)
        parts = person.split("^")
        id_type = hl7_unescape(parts[12]).strip() if len(parts) > 12 else ""
        record.update(
            national_id=national_id or "",
            family_name=family,
            given_name=given,
        )
        if root:
            record["id_root"] = root
        if id_type:
            record["id_type"] = id_type
    institution = next((v for v in slots.get("authorInstitution", []) if v), "")
    if institution:
        name, ident = parse_xon(institution)
        record["institution"] = name
        if ident:
            record["institution_id"] = ident
    specialty = next((v for v in slots.get("authorSpecialty", []) if v), "")
    if specialty:
        code = parse_ce(specialty)
        record.update(
            specialty_code=code.code,
            specialty_display=code.display,
            specialty_scheme=code.scheme,
        )
    roles = [v for v in slots.get("authorRole", []) if v]
    if roles:
        record["role"] = ", ".join(roles)
    return record


__all__ = [
    "ASSOC_HAS_MEMBER",
    "ASSOC_RPLC",
    "ASSOC_SIGNS",
    "ASSOC_UPDATE_STATUS",
    "Association",
    "Classification",
    "ExternalIdentifier",
    "RegistryObject",
    "Submission",
    "author_record",
    "parse_dtm",
    "parse_patient_id",
    "read_submit_objects",
]
