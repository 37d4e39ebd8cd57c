"""The CDA header shared by the VSM and level-1 documents: writing it and reading it back.

Written as the CI-SIS "structuration minimale" header: realmCode, typeId,
templateIds, ids, document type, dates with their UTC offset, the patient
with the INS traits, the author and its structure, custodian, legal
authenticator, the médecin traitant (VSM), documentationOf/serviceEvent and
componentOf/encompassingEncounter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from lxml import etree

from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.errors import CdaFormatError, SummaryProblem
from dmp_desktop.cda.xmlutil import (
    NSMAP,
    H,
    attr,
    clean,
    first,
    sub,
    text_el,
    xp,
)
from dmp_desktop.dates import hl7_date, hl7_ts, or_none, parse_hl7_date, parse_hl7_ts
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    CareProvider,
    CareStructure,
    Confidentiality,
    Gender,
    LocalId,
    PatientIdentity,
    PostalAddress,
)

OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
INSEE_RE = re.compile(r"^([0-9]{2}|2A|2B)[0-9]{3}$")


@dataclass(frozen=True)
class CodedValue:
    code: str
    system: str
    label: str
    system_name: str | None = None


@dataclass
class HeaderData:
    """Everything the header needs; the body is added by the caller."""

    patient: PatientIdentity
    author: CareProvider
    effective_time: datetime
    document_id: str
    set_id: str
    version: int
    type_code: CodedValue
    title: str
    confidentiality: Confidentiality
    template_ids: tuple[tuple[str, str | None], ...]
    service_event_code: CodedValue | None = None
    treating_physician: CareProvider | None = None
    # The date of the act (serviceEvent and encompassingEncounter), when it is not the
    # document's own time (an upload of a consultation held on another day).
    service_date: date | None = None


def check_header_parts(
    *,
    patient: PatientIdentity,
    author: CareProvider,
    treating_physician: CareProvider | None,
    effective_time: datetime,
    document_id: str | None,
    set_id: str | None,
    version: int,
    title: str,
) -> list[SummaryProblem]:
    """What would make the header invalid (paths are those of the summary model)."""
    problems: list[SummaryProblem] = []

    def need(ok: bool, path: str, reason: str) -> None:
        if not ok:
            problems.append(SummaryProblem(path, reason))

    def text_ok(value: str | None) -> bool:
        return bool(value and clean(value))

    need(text_ok(patient.birth_family_name), "patient.birth_family_name", "required")
    need(
        bool(patient.birth_given_names) and all(text_ok(g) for g in patient.birth_given_names),
        "patient.birth_given_names",
        "required",
    )
    if patient.birthplace_code is None:
        need(False, "patient.birthplace_code", "birthplace_required")
    else:
        need(bool(INSEE_RE.match(patient.birthplace_code)), "patient.birthplace_code", "bad_format")
    if patient.local_id is not None:
        need(bool(OID_RE.match(patient.local_id.root)), "patient.local_id.root", "bad_format")
        need(text_ok(patient.local_id.extension), "patient.local_id.extension", "required")
    _check_provider(author, "author", need, text_ok)
    if treating_physician is not None:
        _check_provider(treating_physician, "treating_physician", need, text_ok)
    need(effective_time.utcoffset() is not None, "effective_time", "naive_time")
    for name, value in (("document_id", document_id), ("set_id", set_id)):
        need(value is None or bool(OID_RE.match(value.split("^")[0])), name, "bad_format")
    need(version >= 1, "version", "bad_format")
    need(text_ok(title), "title", "required")
    return problems


def _check_provider(
    provider: CareProvider,
    at: str,
    need: Callable[[bool, str, str], None],
    text_ok: Callable[[str | None], bool],
) -> None:
    pr = provider.practitioner
    need(text_ok(pr.national_id), f"{at}.practitioner.national_id", "required")
    need(text_ok(pr.family_name), f"{at}.practitioner.family_name", "required")
    need(text_ok(pr.given_name), f"{at}.practitioner.given_name", "required")
    st = provider.structure
    need(text_ok(st.id), f"{at}.structure.id", "required")
    need(text_ok(st.name), f"{at}.structure.name", "required")
    need(
        st.facility_type in valuesets.FACILITY_TYPES,
        f"{at}.structure.facility_type",
        "unknown_code",
    )
    need(
        st.practice_setting in valuesets.PRACTICE_SETTINGS,
        f"{at}.structure.practice_setting",
        "unknown_code",
    )


def build_header(data: HeaderData) -> etree._Element:
    """A ``ClinicalDocument`` holding the whole header (no ``component`` yet)."""
    doc = etree.Element(H + "ClinicalDocument", nsmap=NSMAP)
    sub(doc, "realmCode", {"code": "FR"})
    sub(doc, "typeId", {"root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"})
    for root, extension in data.template_ids:
        attrs = {"root": root}
        if extension:
            attrs["extension"] = extension
        sub(doc, "templateId", attrs)
    sub(doc, "id", {"root": data.document_id})
    _coded(doc, "code", data.type_code)
    text_el(doc, "title", data.title)
    when = hl7_ts(data.effective_time)
    sub(doc, "effectiveTime", {"value": when})
    conf = data.confidentiality.value
    sub(
        doc,
        "confidentialityCode",
        {
            "code": conf,
            "displayName": codes.CONFIDENTIALITY_LABELS[conf],
            "codeSystem": codes.OID_CONFIDENTIALITY,
        },
    )
    sub(doc, "languageCode", {"code": "fr-FR"})
    sub(doc, "setId", {"root": data.set_id})
    sub(doc, "versionNumber", {"value": str(data.version)})
    _record_target(doc, data.patient)

    author = sub(doc, "author")
    sub(author, "time", {"value": when})
    assigned = sub(author, "assignedAuthor")
    _professional(assigned, data.author, person_tag="assignedPerson", with_code=True)
    _organization(assigned, "representedOrganization", data.author.structure)

    custodian = sub(sub(doc, "custodian"), "assignedCustodian")
    org = sub(custodian, "representedCustodianOrganization")
    _structure_content(org, data.author.structure)

    legal = sub(doc, "legalAuthenticator")
    sub(legal, "time", {"value": when})
    sub(legal, "signatureCode", {"code": "S"})
    entity = sub(legal, "assignedEntity")
    _professional(entity, data.author, person_tag="assignedPerson", with_code=True)
    _organization(entity, "representedOrganization", data.author.structure)

    if data.treating_physician is not None:
        participant = sub(doc, "participant", {"typeCode": "INF"})
        sub(
            participant,
            "functionCode",
            {
                "code": "PCP",
                "displayName": "Médecin traitant",
                "codeSystem": codes.OID_FUNCTION_CODE,
            },
        )
        # The médecin traitant at the date of the document (a point in time).
        sub(participant, "time", {"xsi:type": "IVL_TS", "value": when})
        associated = sub(participant, "associatedEntity", {"classCode": "PROV"})
        _professional(
            associated, data.treating_physician, person_tag="associatedPerson", with_code=True
        )
        _organization(associated, "scopingOrganization", data.treating_physician.structure)

    event = sub(sub(doc, "documentationOf"), "serviceEvent")
    if data.service_event_code is not None:
        _coded(event, "code", data.service_event_code)
    act = hl7_date(data.service_date) if data.service_date is not None else when
    period = sub(event, "effectiveTime")
    sub(period, "low", {"value": act})
    performer = sub(event, "performer", {"typeCode": "PRF"})
    entity = sub(performer, "assignedEntity")
    _professional(entity, data.author, person_tag="assignedPerson", with_code=True)
    org = _organization(entity, "representedOrganization", data.author.structure)
    setting = data.author.structure.practice_setting
    sub(
        org,
        "standardIndustryClassCode",
        {
            "code": setting,
            "displayName": valuesets.PRACTICE_SETTINGS.get(setting, setting),
            "codeSystem": codes.OID_PRACTICE_SETTING,
        },
    )

    encounter = sub(sub(doc, "componentOf"), "encompassingEncounter")
    _coded(encounter, "code", encounter_code(data.author.structure))
    period = sub(encounter, "effectiveTime")
    sub(period, "low", {"value": act})
    facility = sub(sub(encounter, "location"), "healthCareFacility")
    facility_type = data.author.structure.facility_type
    sub(
        facility,
        "code",
        {
            "code": facility_type,
            "displayName": valuesets.FACILITY_TYPES.get(facility_type, facility_type),
            "codeSystem": codes.OID_FACILITY_TYPE,
        },
    )
    return doc


def encounter_code(structure: CareStructure) -> CodedValue:
    """Type of care (JDV_EncompassingEncounterCode_CISIS): hospital outpatient, else AMB."""
    if structure.practice_setting == "ETABLISSEMENT":
        return CodedValue(
            "EXTERNE", "1.2.250.1.213.1.1.4.2.291", "Acte et consultation externe (établissement)"
        )
    return CodedValue("AMB", codes.OID_ACT_CODE, "Ambulatoire (hors établissement)")


SECRETARIAT_MEDICAL = CodedValue(
    "SECRETARIAT_MEDICAL", "1.2.250.1.213.1.1.4.6", "Secrétariat médical"
)


def card_holder_code(practitioner: Practitioner) -> CodedValue | None:
    """The XDS ``authorSpecialty`` of the card holder who submits.

    A professional: :func:`author_code`. Structure staff (a secretary's card, no
    profession): ``SECRETARIAT_MEDICAL`` of value set J01 (code system
    1.2.250.1.213.1.1.4.6), the role the VIHF gives them too.
    """
    return author_code(practitioner) or (SECRETARIAT_MEDICAL if practitioner.is_staff else None)


def author_code(practitioner: Practitioner) -> CodedValue | None:
    """Profession/specialty code of value set J01 (``G15_10/SM26``), when known."""
    if not practitioner.profession_code:
        return None
    profession = f"G15_{practitioner.profession_code}"
    candidates = [profession]
    if practitioner.specialty_code:
        candidates.insert(0, f"{profession}/{practitioner.specialty_code}")
    for code in candidates:
        label = valuesets.AUTHOR_SPECIALTIES.get(code)
        if label:
            return CodedValue(code, codes.OID_AUTHOR_SPECIALTY, label)
    return None


def _coded(parent: etree._Element, tag: str, value: CodedValue) -> etree._Element:
    attrs = {"code": value.code, "displayName": value.label, "codeSystem": value.system}
    if value.system_name:
        attrs["codeSystemName"] = value.system_name
    return sub(parent, tag, attrs)


def _record_target(doc: etree._Element, patient: PatientIdentity) -> None:
    role = sub(sub(doc, "recordTarget"), "patientRole")
    sub(role, "id", {"root": patient.ins.oid, "extension": patient.ins.value})
    if patient.local_id is not None:
        sub(role, "id", {"root": patient.local_id.root, "extension": patient.local_id.extension})
    person = sub(role, "patient", {"classCode": "PSN"})
    name = sub(person, "name")
    text_el(name, "family", patient.birth_family_name, {"qualifier": "BR"})
    text_el(name, "given", " ".join(patient.birth_given_names))
    text_el(name, "given", patient.first_given_name, {"qualifier": "BR"})
    if patient.used_family_name:
        text_el(name, "family", patient.used_family_name, {"qualifier": "CL"})
    if patient.used_given_name:
        text_el(name, "given", patient.used_given_name, {"qualifier": "CL"})
    gender = patient.gender.value
    sub(
        person,
        "administrativeGenderCode",
        {
            "code": gender,
            "displayName": codes.GENDER_LABELS[gender],
            "codeSystem": codes.OID_GENDER,
        },
    )
    sub(person, "birthTime", {"value": hl7_date(patient.birth_date)})
    if patient.birthplace_code:
        addr = sub(sub(sub(person, "birthplace"), "place"), "addr")
        text_el(addr, "county", patient.birthplace_code)


def _professional(
    parent: etree._Element, provider: CareProvider, *, person_tag: str, with_code: bool
) -> None:
    practitioner = provider.practitioner
    sub(parent, "id", {"root": codes.OID_PS_ID, "extension": practitioner.national_id})
    if with_code:
        code = author_code(practitioner)
        if code is not None:
            _coded(parent, "code", code)
    _address_and_phone(parent, provider.structure)
    name = sub(sub(parent, person_tag), "name")
    text_el(name, "given", practitioner.given_name)
    text_el(name, "family", practitioner.family_name)
    if practitioner.profession_code == "10":
        text_el(name, "suffix", "DR")


def _address_and_phone(parent: etree._Element, structure: CareStructure) -> None:
    if structure.address is not None:
        _address(parent, structure.address)
    if structure.phone:
        sub(parent, "telecom", {"value": f"tel:{structure.phone}", "use": "WP"})


def _organization(parent: etree._Element, tag: str, structure: CareStructure) -> etree._Element:
    org = sub(parent, tag)
    _structure_content(org, structure)
    return org


def _structure_content(org: etree._Element, structure: CareStructure) -> None:
    sub(org, "id", {"root": codes.OID_STRUCTURE_ID, "extension": structure.id})
    text_el(org, "name", structure.name)
    if structure.phone:
        sub(org, "telecom", {"value": f"tel:{structure.phone}", "use": "WP"})
    if structure.address is not None:
        _address(org, structure.address)


def _address(parent: etree._Element, address: PostalAddress) -> None:
    """A structured address (the CI-SIS forbids mixing streetAddressLine and parts)."""
    addr = sub(parent, "addr")
    for i, line in enumerate(address.lines):
        text_el(addr, "streetName" if i == 0 else "additionalLocator", line)
    if address.postal_code:
        text_el(addr, "postalCode", address.postal_code)
    if address.city:
        text_el(addr, "city", address.city)
    if address.country:
        text_el(addr, "country", address.country)


# --- reading ---------------------------------------------------------------------------


@dataclass
class HeaderSummary:
    """What a reader shows of a header; fields are None when the document lacks them."""

    document_id: str | None = None
    set_id: str | None = None
    version: int | None = None
    type_code: str | None = None
    type_system: str | None = None
    type_label: str | None = None
    title: str | None = None
    effective_time: datetime | None = None
    confidentiality: str | None = None
    template_ids: list[str] = field(default_factory=list)
    patient: PatientIdentity | None = None
    patient_name: str | None = None
    patient_birth_date: date | None = None
    patient_gender: str | None = None
    author: CareProvider | None = None
    author_name: str | None = None
    author_organization: str | None = None
    treating_physician: CareProvider | None = None


def require_clinical_document(root: etree._Element) -> None:
    if root.tag != H + "ClinicalDocument":
        raise CdaFormatError("not a CDA document (root is not hl7:ClinicalDocument)")


def read_header(root: etree._Element) -> HeaderSummary:
    """Best-effort reading of a CDA header (any CI-SIS document)."""
    require_clinical_document(root)
    out = HeaderSummary()
    out.document_id = _ii(first(root, "h:id"))
    out.set_id = _ii(first(root, "h:setId"))
    version = attr(root, "h:versionNumber", "value")
    out.version = int(version) if version and version.isdigit() else None
    code = first(root, "h:code")
    if code is not None:
        out.type_code = code.get("code")
        out.type_system = code.get("codeSystem")
        out.type_label = code.get("displayName")
        if out.type_code and not out.type_label:
            known = valuesets.DOCUMENT_TYPES.get(out.type_code)
            out.type_label = known[1] if known else None
    title = first(root, "h:title")
    out.title = (title.text or "").strip() if title is not None else None
    when = attr(root, "h:effectiveTime", "value")
    out.effective_time = or_none(parse_hl7_ts, when)
    out.confidentiality = attr(root, "h:confidentialityCode", "code")
    out.template_ids = [t.get("root", "") for t in xp(root, "h:templateId")]

    patient = first(root, "h:recordTarget/h:patientRole/h:patient")
    if patient is not None:
        out.patient_name = _person_name(first(patient, "h:name"))
        birth = attr(patient, "h:birthTime", "value")
        out.patient_birth_date = or_none(parse_hl7_date, birth)
        out.patient_gender = attr(patient, "h:administrativeGenderCode", "code")
    out.patient = read_patient(root)

    assigned = first(root, "h:author/h:assignedAuthor")
    if assigned is not None:
        out.author_name = _person_name(first(assigned, "h:assignedPerson/h:name"))
        org_name = first(assigned, "h:representedOrganization/h:name")
        out.author_organization = (org_name.text or "").strip() if org_name is not None else None
        out.author = _read_provider(assigned, "h:assignedPerson", "h:representedOrganization", root)
    pcp = first(
        root,
        "h:participant[@typeCode='INF'][h:functionCode/@code='PCP']/h:associatedEntity",
    )
    if pcp is not None:
        out.treating_physician = _read_provider(pcp, "h:associatedPerson", "h:scopingOrganization")
        author_structure = out.author.structure if out.author is not None else None
        treating = out.treating_physician
        if treating is not None and author_structure is not None:
            if treating.structure.id == author_structure.id:
                # Only the author's structure has its type and setting in the header.
                treating.structure.facility_type = author_structure.facility_type
                treating.structure.practice_setting = author_structure.practice_setting
    return out


def read_patient(root: etree._Element) -> PatientIdentity | None:
    """The patient with an INS, or None when the header has no usable INS."""
    role = first(root, "h:recordTarget/h:patientRole")
    if role is None:
        return None
    ins: Ins | None = None
    local: LocalId | None = None
    ins_roots = {kind.value for kind in InsKind}
    for ident in xp(role, "h:id"):
        root_oid, extension = ident.get("root"), ident.get("extension")
        if not root_oid or not extension:
            continue
        if root_oid in ins_roots and ins is None:
            try:
                ins = Ins(extension, InsKind.from_oid(root_oid))
            except InsError:
                continue
        elif root_oid not in ins_roots and local is None:
            local = LocalId(root_oid, extension)
    patient = first(role, "h:patient")
    if ins is None or patient is None:
        return None
    name = first(patient, "h:name")
    family_br = _text(first(name, "h:family[@qualifier='BR']")) if name is not None else ""
    if not family_br and name is not None:
        family_br = _text(first(name, "h:family"))
    all_given = _text(first(name, "h:given[not(@qualifier)]")) if name is not None else ""
    first_given = _text(first(name, "h:given[@qualifier='BR']")) if name is not None else ""
    given_names = _given_names(all_given, first_given)
    birth = or_none(parse_hl7_date, attr(patient, "h:birthTime", "value"))
    gender_code = attr(patient, "h:administrativeGenderCode", "code")
    genders = {g.value: g for g in Gender}
    if birth is None:
        return None
    used_family = _text(first(name, "h:family[@qualifier='CL']")) if name is not None else ""
    used_given = _text(first(name, "h:given[@qualifier='CL']")) if name is not None else ""
    county = first(patient, "h:birthplace/h:place/h:addr/h:county")
    return PatientIdentity(
        ins=ins,
        birth_family_name=family_br,
        birth_given_names=given_names,
        birth_date=birth,
        gender=genders.get(gender_code or "", Gender.UNKNOWN),
        birthplace_code=_text(county) or None,
        local_id=local,
        used_family_name=used_family or None,
        used_given_name=used_given or None,
    )


def _given_names(all_given: str, first_given: str) -> list[str]:
    """Birth first names, keeping a compound first one ("JEAN PIERRE") whole."""
    if first_given and (all_given == first_given or all_given.startswith(first_given + " ")):
        return [first_given, *all_given[len(first_given) :].split()]
    if all_given:
        return all_given.split()
    return [first_given] if first_given else []


def _read_provider(
    node: etree._Element,
    person_path: str,
    org_path: str,
    root: etree._Element | None = None,
) -> CareProvider | None:
    national_id = None
    for ident in xp(node, "h:id"):
        if ident.get("root") == codes.OID_PS_ID and ident.get("extension"):
            national_id = ident.get("extension")
            break
    name = first(node, f"{person_path}/h:name")
    family = _text(first(name, "h:family")) if name is not None else ""
    given = _text(first(name, "h:given")) if name is not None else ""
    if not national_id or not family:
        return None
    code = attr(node, "h:code", "code") or ""
    profession_code = specialty_code = None
    if code.startswith("G15_"):
        profession_code, _, specialty = code[4:].partition("/")
        specialty_code = specialty or None
    label = attr(node, "h:code", "displayName")
    specialty_label = None
    if specialty_code and label and " - " in label:
        specialty_label = label.split(" - ", 1)[1]
    org = first(node, org_path)
    structure = _read_structure(org, root)
    practitioner = Practitioner(
        national_id=national_id,
        family_name=family,
        given_name=given,
        profession=label.split(" - ", 1)[0] if label else "Médecin",
        profession_code=profession_code,
        specialty_code=specialty_code,
        specialty_label=specialty_label,
    )
    return CareProvider(practitioner, structure)


def _read_structure(org: etree._Element | None, root: etree._Element | None) -> CareStructure:
    structure_id = ""
    name = ""
    phone = None
    address = None
    if org is not None:
        for ident in xp(org, "h:id"):
            if ident.get("extension"):
                structure_id = ident.get("extension", "")
                break
        name = _text(first(org, "h:name"))
        tel = attr(org, "h:telecom", "value")
        phone = tel[4:] if tel and tel.startswith("tel:") else None
        addr = first(org, "h:addr")
        if addr is not None and not addr.get("nullFlavor"):
            lines = _address_lines(addr)
            address = PostalAddress(
                lines=lines,
                postal_code=_text(first(addr, "h:postalCode")) or None,
                city=_text(first(addr, "h:city")) or None,
                country=_text(first(addr, "h:country")) or None,
            )
            if not (address.lines or address.postal_code or address.city or address.country):
                address = None
    structure = CareStructure(id=structure_id, name=name, address=address, phone=phone)
    if root is not None:
        facility = attr(root, "h:componentOf//h:healthCareFacility/h:code", "code")
        if facility:
            structure.facility_type = facility
        setting = attr(
            root,
            "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity"
            "/h:representedOrganization/h:standardIndustryClassCode",
            "code",
        )
        if setting:
            structure.practice_setting = setting
    return structure


def _address_lines(addr: etree._Element) -> tuple[str, ...]:
    lines = [_text(line) for line in xp(addr, "h:streetAddressLine")]
    number = _text(first(addr, "h:houseNumber"))
    street = _text(first(addr, "h:streetName"))
    if street:
        lines.append(f"{number} {street}".strip())
    lines.extend(_text(n) for n in xp(addr, "h:unitID | h:additionalLocator"))
    return tuple(line for line in lines if line)


def _ii(node: etree._Element | None) -> str | None:
    if node is None or not node.get("root"):
        return None
    root = node.get("root", "")
    extension = node.get("extension")
    return f"{root}^{extension}" if extension else root


def _text(node: etree._Element | None) -> str:
    if node is None:
        return ""
    return " ".join("".join(node.itertext()).split())


def _person_name(name: etree._Element | None) -> str | None:
    if name is None:
        return None
    family = _text(first(name, "h:family[@qualifier='CL']")) or _text(first(name, "h:family"))
    given = (
        _text(first(name, "h:given[@qualifier='CL']"))
        or _text(first(name, "h:given[@qualifier='BR']"))
        or _text(first(name, "h:given"))
    )
    full = f"{given} {family.upper()}".strip()
    return full or None
