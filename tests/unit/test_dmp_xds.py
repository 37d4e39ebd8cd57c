"""ITI-18 / ITI-43 on the DMP without the official material: requests, answers, errors.

The builders at the top (:func:`extrinsic_object`, :func:`query_response`,
:func:`retrieve_response`) write answers in the official shape; the client
tests (test_dmp_xds_client.py) reuse them.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ebrs, xds
from dmp_desktop.dmp.ebrs import QUERY, RIM
from dmp_desktop.domain.document import (
    Code,
    DocumentQuery,
    DocumentStatus,
    RetrievedDocument,
)
from dmp_desktop.domain.patient import Ins, InsKind, nir_key
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from tests.unit.test_dmp_support import INS

OTHER_INS = Ins.parse("1800175123456" + f"{nir_key('1800175123456'):02d}", InsKind.TEST_NIR)
APPROVED = DocumentStatus.APPROVED.value
CONTENT = b"%PDF-1.4 a small document"
SPECIALTY = "G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5"
FORMAT_SCHEME = "1.3.6.1.4.1.19376.1.2.3"
SHA1 = hashlib.sha1(CONTENT).hexdigest()  # noqa: S324 - the XDS hash is SHA-1


def _code(scheme: str, code: str, coding: str, label: str, obj: str) -> str:
    return (
        f'<ns4:Classification classificationScheme="{scheme}" classifiedObject="{obj}" '
        f'id="urn:uuid:c-{code}" nodeRepresentation="{code}">'
        f'<ns4:Slot name="codingScheme"><ns4:ValueList><ns4:Value>{coding}</ns4:Value>'
        "</ns4:ValueList></ns4:Slot>"
        f'<ns4:Name><ns4:LocalizedString charset="UTF8" value="{label}" xml:lang="FR"/>'
        "</ns4:Name></ns4:Classification>"
    )


def _slot(name: str, *values: str) -> str:
    inner = "".join(f"<ns4:Value>{v}</ns4:Value>" for v in values)
    return f'<ns4:Slot name="{name}"><ns4:ValueList>{inner}</ns4:ValueList></ns4:Slot>'


def extrinsic_object(
    *,
    unique_id: str = "1.2.250.1.999.1.1.42",
    entry_uuid: str = "urn:uuid:7953af1a-ba1c-11eb-816f-0050569e422e",
    ins: Ins = INS,
    status: str = APPROVED,
    class_code: str = "10",
    type_code: str = "11488-4",
    confidentiality: tuple[str, ...] = (),
    title: str = "Compte rendu de consultation",
    service_start: str = "20250319183244",
    creation: str = "20250320101500",
    size: str = str(len(CONTENT)),
    digest: str = SHA1,
    author: str = "899700433153^DURAND^Marie^^^^^^&amp;1.2.250.1.71.4.2.1&amp;ISO^D^^^IDNPS",
    institution: str = "CABINET DU PARC^^^^^&amp;1.2.250.1.71.4.2.2&amp;ISO^IDNST^^^4997004331",
    extra_slots: str = "",
    patient_cx: str | None = None,
    repository: str | None = "1.2.250.1.213.4.1.1.1.2",
) -> str:
    obj = entry_uuid
    codes = "".join(
        _code(xds.CLASS_CONFIDENTIALITY, c, xds.OID_CONFIDENTIALITY_DMP, c, obj)
        for c in confidentiality
    )
    cx = patient_cx or f"{ins.value}^^^&amp;{ins.oid}&amp;ISO^NH"
    repo = _slot("repositoryUniqueId", repository) if repository else ""
    return f"""
<ns4:ExtrinsicObject id="{entry_uuid}" isOpaque="false" lid="{entry_uuid}" mimeType="text/xml"
    objectType="{xds.OBJECT_TYPE_STABLE}" status="{status}">
  {_slot("creationTime", creation)}
  {_slot("hash", digest)}
  {_slot("languageCode", "fr-FR")}
  {repo}
  {_slot("serviceStartTime", service_start)}
  {_slot("serviceStopTime", service_start)}
  {_slot("size", size)}
  {_slot("sourcePatientInfo", "PID-5|NOM^Prenom^^^^^L", "PID-7|19760717")}
  {extra_slots}
  <ns4:Name><ns4:LocalizedString charset="UTF8" value="{title}" xml:lang="FR"/></ns4:Name>
  <ns4:Description><ns4:LocalizedString charset="UTF8" value="Un commentaire" xml:lang="FR"/>
  </ns4:Description>
  <ns4:VersionInfo versionName="1"/>
  <ns4:Classification classificationScheme="{xds.CLASS_AUTHOR}" classifiedObject="{obj}"
      id="urn:uuid:author" nodeRepresentation="">
    {_slot("authorInstitution", institution)}
    {_slot("authorPerson", author)}
    {_slot("authorRole", "Médecin traitant^^^")}
    {_slot("authorSpecialty", SPECIALTY)}
  </ns4:Classification>
  {_code(xds.CLASS_CLASS_CODE, class_code, xds.OID_CLASS_CODES, "Classe", obj)}
  {_code(xds.CLASS_CONFIDENTIALITY, "N", xds.OID_CONFIDENTIALITY_HL7, "Normal", obj)}
  {codes}
  {_code(xds.CLASS_FORMAT_CODE, "urn:ihe:iti:xds-sd:pdf:2008", FORMAT_SCHEME, "PDF", obj)}
  {_code(xds.CLASS_FACILITY_TYPE, "SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel", obj)}
  {_code(xds.CLASS_PRACTICE_SETTING, "AMBULATOIRE", "1.2.250.1.213.1.1.4.9", "Ambulatoire", obj)}
  {_code(xds.CLASS_TYPE_CODE, type_code, xds.OID_LOINC, "Type", obj)}
  <ns4:ExternalIdentifier id="urn:uuid:e1" identificationScheme="{xds.EXT_PATIENT_ID}"
      registryObject="{obj}" value="{cx}">
    <ns4:Name><ns4:LocalizedString value="XDSDocumentEntry.patientId"/></ns4:Name>
  </ns4:ExternalIdentifier>
  <ns4:ExternalIdentifier id="urn:uuid:e2" identificationScheme="{xds.EXT_UNIQUE_ID}"
      registryObject="{obj}" value="{unique_id}">
    <ns4:Name><ns4:LocalizedString value="XDSDocumentEntry.uniqueId"/></ns4:Name>
  </ns4:ExternalIdentifier>
</ns4:ExtrinsicObject>"""


def registry_error_list(*errors: tuple[str, str, str]) -> str:
    if not errors:
        return ""
    items = "".join(
        f'<ns2:RegistryError codeContext="{context}" errorCode="{code}" location="" '
        f'severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:{severity}"/>'
        for code, context, severity in errors
    )
    return f"<ns2:RegistryErrorList>{items}</ns2:RegistryErrorList>"


def query_response(
    *objects: str, status: str = ebrs.STATUS_SUCCESS, errors: str = "", relates_to: str = ""
) -> bytes:
    relates = (
        f'<RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{relates_to}</RelatesTo>'
        if relates_to
        else ""
    )
    listing = f"<ns4:RegistryObjectList>{''.join(objects)}</ns4:RegistryObjectList>"
    return f"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">
  <soap:Header>
    <Action xmlns="http://www.w3.org/2005/08/addressing">{xds.ACTION_FIND_RESPONSE}</Action>
    {relates}
  </soap:Header>
  <soap:Body>
    <ns3:AdhocQueryResponse status="{status}" totalResultCount="{len(objects)}"
        xmlns:ns2="{ebrs.RS}" xmlns:ns3="{QUERY}" xmlns:ns4="{RIM}">
      {errors}{listing if objects or not errors else ""}
    </ns3:AdhocQueryResponse>
  </soap:Body>
</soap:Envelope>""".encode()


def retrieve_response(
    document_xml: str,
    *,
    unique_id: str = "1.2.250.1.999.1.1.42",
    status: str = ebrs.STATUS_SUCCESS,
    errors: str = "",
    relates_to: str = "",
) -> bytes:
    relates = (
        f'<RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{relates_to}</RelatesTo>'
        if relates_to
        else ""
    )
    doc = (
        f"""<ns4:DocumentResponse>
          <ns4:RepositoryUniqueId>1.2.250.1.213.4.1.1.1.2</ns4:RepositoryUniqueId>
          <ns4:DocumentUniqueId>{unique_id}</ns4:DocumentUniqueId>
          <ns4:mimeType>text/xml</ns4:mimeType>
          <ns4:Document>{document_xml}</ns4:Document>
        </ns4:DocumentResponse>"""
        if document_xml is not None and not errors
        else ""
    )
    return f"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">
  <soap:Header>
    <Action xmlns="http://www.w3.org/2005/08/addressing">{xds.ACTION_RETRIEVE_RESPONSE}</Action>
    {relates}
  </soap:Header>
  <soap:Body>
    <ns4:RetrieveDocumentSetResponse xmlns:ns2="{ebrs.RS}" xmlns:ns4="{xds.XDSB}">
      <ns2:RegistryResponse status="{status}">{errors}</ns2:RegistryResponse>
      {doc}
    </ns4:RetrieveDocumentSetResponse>
  </soap:Body>
</soap:Envelope>""".encode()


def _body(data: bytes) -> etree._Element:
    root = xmlsafe.parse(data)
    body = root.find("{http://www.w3.org/2003/05/soap-envelope}Body")
    return next(iter(body))


def _entries(*objects: str, requested: Ins | None = INS) -> xds.FindDocumentsResult:
    return xds.parse_find_documents_response(_body(query_response(*objects)), requested)


def _slots(request: etree._Element) -> dict[str, list[str]]:
    adhoc = request.find(f"{{{RIM}}}AdhocQuery")
    return ebrs.all_slots(adhoc)


# --- FindDocuments request ------------------------------------------------------------------------


def test_default_query_is_active_documents_of_the_last_two_years() -> None:
    query = xds.default_query(INS, today=date(2026, 11, 25))
    assert query.since == date(2024, 11, 25)
    assert query.statuses == frozenset({DocumentStatus.APPROVED})
    request = xds.build_find_documents(query)
    assert request.tag == f"{{{QUERY}}}AdhocQueryRequest"
    option = request.find(f"{{{QUERY}}}ResponseOption")
    assert (option.get("returnType"), option.get("returnComposedObjects")) == ("LeafClass", "true")
    assert request.find(f"{{{RIM}}}AdhocQuery").get("id") == xds.QUERY_FIND_DOCUMENTS
    assert _slots(request) == {
        "$XDSDocumentEntryPatientId": ["'207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH'"],
        "$XDSDocumentEntryStatus": ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
        "$XDSDocumentEntryServiceStartTimeFrom": ["20241125000000"],
    }


def test_two_years_before_a_29th_of_february() -> None:
    assert xds.two_years_before(date(2028, 2, 29)) == date(2026, 2, 28)


def test_query_with_every_filter() -> None:
    query = DocumentQuery(
        patient=INS,
        since=date(2020, 1, 1),
        until=date(2020, 12, 31),
        statuses=frozenset(
            {DocumentStatus.ARCHIVED, DocumentStatus.APPROVED, DocumentStatus.DEPRECATED}
        ),
        type_codes=(Code("11488-4", scheme="2.16.840.1.113883.6.1"), Code("SYNTH")),
        class_codes=(Code("10", scheme="1.2.250.1.213.1.1.4.1"),),
    )
    slots = _slots(xds.build_find_documents(query))
    assert list(slots) == [
        "$XDSDocumentEntryPatientId",
        "$XDSDocumentEntryStatus",
        "$XDSDocumentEntryServiceStartTimeFrom",
        "$XDSDocumentEntryServiceStartTimeTo",
        "$XDSDocumentEntryClassCode",
        "$XDSDocumentEntryTypeCode",
    ]
    assert ebrs.unquote_values(slots["$XDSDocumentEntryStatus"][0]) == [
        DocumentStatus.APPROVED.value,
        DocumentStatus.DEPRECATED.value,
        DocumentStatus.ARCHIVED.value,
    ]
    assert slots["$XDSDocumentEntryServiceStartTimeTo"] == ["20210101000000"]  # exclusive
    assert slots["$XDSDocumentEntryClassCode"] == ["('10^^1.2.250.1.213.1.1.4.1')"]
    assert slots["$XDSDocumentEntryTypeCode"] == [
        "('11488-4^^2.16.840.1.113883.6.1','SYNTH^^1.2.250.1.213.1.1.4.12')"
    ]


def test_no_date_bound_when_all_dates_are_asked() -> None:
    slots = _slots(xds.build_find_documents(DocumentQuery(patient=INS)))
    assert list(slots) == ["$XDSDocumentEntryPatientId", "$XDSDocumentEntryStatus"]


def test_quoting_round_trip() -> None:
    values = ["a'b", "c,d", ""]
    assert ebrs.unquote_values(ebrs.quoted_list(values)) == values
    assert ebrs.unquote_values("20240101") == ["20240101"]
    with pytest.raises(DmpProtocolError, match="unbalanced"):
        ebrs.unquote_values("('abc'")
    with pytest.raises(DmpProtocolError, match="unterminated"):
        ebrs.unquote_values("'abc")
    with pytest.raises(ValueError, match="empty"):
        ebrs.quoted_list([])


def test_type_code_scheme_guess() -> None:
    assert xds.scheme_for_type_code("34133-9") == xds.OID_LOINC
    assert xds.scheme_for_type_code("SYNTH") == xds.OID_DOC_TYPES_ASIP


# --- FindDocuments answer -------------------------------------------------------------------------


def test_entry_reads_every_field() -> None:
    result = _entries(extrinsic_object())
    assert result.total == 1
    assert result.warnings == ()
    (entry,) = result.entries
    assert entry.entry_uuid == "urn:uuid:7953af1a-ba1c-11eb-816f-0050569e422e"
    assert entry.unique_id == "1.2.250.1.999.1.1.42"
    assert entry.repository_id == "1.2.250.1.213.4.1.1.1.2"
    assert entry.patient == INS
    assert entry.title == "Compte rendu de consultation"
    assert entry.comments == "Un commentaire"
    assert entry.type_code == Code("11488-4", "Type", xds.OID_LOINC)
    assert entry.class_code == Code("10", "Classe", xds.OID_CLASS_CODES)
    assert entry.format_code.code == "urn:ihe:iti:xds-sd:pdf:2008"
    assert entry.facility_type == Code("SA07", "Cabinet individuel", "1.2.250.1.71.4.2.4")
    assert entry.practice_setting is not None and entry.practice_setting.code == "AMBULATOIRE"
    assert entry.service_start == datetime(2025, 3, 19, 18, 32, 44, tzinfo=UTC)
    assert entry.creation_time == datetime(2025, 3, 20, 10, 15, tzinfo=UTC)
    assert entry.size == len(CONTENT)
    assert entry.hash_sha1 == SHA1
    assert entry.version == "1"
    assert entry.status is DocumentStatus.APPROVED
    assert entry.confidentiality == (Code("N", "Normal", xds.OID_CONFIDENTIALITY_HL7),)
    assert entry.extra["sourcePatientInfo"] == "PID-5|NOM^Prenom^^^^^L\nPID-7|19760717"
    (author,) = entry.authors
    assert (author.national_id, author.family_name, author.given_name) == (
        "899700433153",
        "DURAND",
        "Marie",
    )
    assert author.display_name == "Marie DURAND"
    assert author.role == "Médecin traitant"
    assert author.specialty == Code(
        "G15_10/SM26", "Médecin - Qualifié en Médecine Générale (SM)", "1.2.250.1.213.1.1.4.5"
    )
    assert (author.institution, author.institution_id) == ("CABINET DU PARC", "4997004331")
    assert not entry.patient_authored


def test_confidentiality_flags_and_patient_authored_documents() -> None:
    result = _entries(
        extrinsic_object(unique_id="1.1", confidentiality=("MASQUE_PS",)),
        extrinsic_object(unique_id="1.2", confidentiality=("INVISIBLE_PATIENT",)),
        extrinsic_object(unique_id="1.3", confidentiality=("INVISIBLE_REPRESENTANTS_LEGAUX",)),
        extrinsic_object(unique_id="1.4", class_code="90"),
    )
    masked, invisible_patient, invisible_reps, patient_doc = result.entries
    assert masked.masked_from_professionals and not masked.invisible_to_patient
    assert invisible_patient.invisible_to_patient
    assert invisible_reps.invisible_to_legal_reps
    assert patient_doc.patient_authored


def test_statuses_are_read() -> None:
    result = _entries(
        *(
            extrinsic_object(unique_id=f"1.{i}", status=s.value)
            for i, s in enumerate(DocumentStatus)
        ),
        requested=INS,
    )
    assert [e.status for e in result.entries] == list(DocumentStatus)


def test_hl7_escapes_and_sparse_author() -> None:
    result = _entries(
        extrinsic_object(
            author="^D\\S\\ANGELO^Jean\\T\\Paul",
            institution="CLINIQUE \\F\\ SUD^^123456",
        )
    )
    (author,) = result.entries[0].authors
    assert author.national_id is None
    assert (author.family_name, author.given_name) == ("D^ANGELO", "Jean&Paul")
    assert (author.institution, author.institution_id) == ("CLINIQUE | SUD", "123456")
    assert xds.hl7_unescape(xds.hl7_escape("a^b&c|d~e\\f")) == "a^b&c|d~e\\f"


def test_patient_id_with_extra_components() -> None:
    cx = f"{INS.value}^^^&amp;{INS.oid}&amp;ISO^NH^^20100907"
    assert _entries(extrinsic_object(patient_cx=cx)).entries[0].patient == INS


def test_empty_answer() -> None:
    result = xds.parse_find_documents_response(_body(query_response()), INS)
    assert result.entries == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ins": OTHER_INS}, "another patient"),
        ({"patient_cx": "207058575627098^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH"}, "patient id"),
        ({"patient_cx": f"{INS.value}^^^&amp;1.2.3.4&amp;ISO^NH"}, "patient id"),
        ({"unique_id": ""}, "unique id"),
        ({"repository": None}, "repository"),
        ({"status": "urn:x:Unknown"}, "unknown status"),
        ({"service_start": "2025-03-19"}, "date"),
        ({"creation": "20251340"}, "date"),
        ({"size": "-1"}, "size"),
        ({"size": "lots"}, "size"),
        ({"digest": "zz"}, "hash"),
    ],
)
def test_unreadable_entries_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(DmpProtocolError, match=message):
        _entries(extrinsic_object(**changes))  # type: ignore[arg-type]


def test_registry_error_becomes_a_service_error() -> None:
    errors = registry_error_list(
        ("XDSRegistryError", "Accès refusé", "Error"), ("XDSOther", "second", "Error")
    )
    body = _body(query_response(status=ebrs.STATUS_FAILURE, errors=errors))
    with pytest.raises(DmpServiceError) as raised:
        xds.parse_find_documents_response(body, INS)
    assert (raised.value.code, raised.value.detail) == ("XDSRegistryError", "Accès refusé")


def test_failure_without_error_list() -> None:
    with pytest.raises(DmpServiceError) as raised:
        xds.parse_find_documents_response(_body(query_response(status=ebrs.STATUS_FAILURE)), INS)
    assert raised.value.code == "XDSRegistryError"


def test_warnings_are_kept() -> None:
    errors = registry_error_list(("XDSResultNotSinglePatient", "attention", "Warning"))
    body = _body(
        query_response(
            extrinsic_object(), status=ebrs.STATUS_PARTIAL_SUCCESS, errors=errors
        ).replace(b"</ns2:RegistryErrorList>", b"</ns2:RegistryErrorList>")
    )
    result = xds.parse_find_documents_response(body, INS)
    assert len(result.entries) == 1
    (warning,) = result.warnings
    assert (warning.code, warning.context, warning.is_error) == (
        "XDSResultNotSinglePatient",
        "attention",
        False,
    )


def test_success_with_a_warning_is_not_an_error() -> None:
    errors = registry_error_list(("XDSTooManyResults", "beaucoup", "Warning"))
    body = _body(query_response(extrinsic_object(), errors=errors))
    assert xds.parse_find_documents_response(body, INS).warnings[0].code == "XDSTooManyResults"


@pytest.mark.parametrize("status", ["", "urn:x:Whatever"], ids=["missing status", "unknown status"])
def test_unknown_response_status(status: str) -> None:
    body = _body(
        query_response(extrinsic_object()).replace(
            f'status="{ebrs.STATUS_SUCCESS}"'.encode(), f'status="{status}"'.encode()
        )
    )
    with pytest.raises(DmpProtocolError, match="status"):
        xds.parse_find_documents_response(body, INS)


def test_not_an_adhoc_query_response() -> None:
    with pytest.raises(DmpProtocolError, match="AdhocQueryResponse"):
        xds.parse_find_documents_response(etree.fromstring("<x/>"), INS)


# --- filtering ------------------------------------------------------------------------------------


def test_filter_entries_applies_visibility_choices_and_deduplicates() -> None:
    result = _entries(
        extrinsic_object(unique_id="1.1"),
        extrinsic_object(unique_id="1.1", entry_uuid="urn:uuid:dup"),
        extrinsic_object(unique_id="1.2", confidentiality=("MASQUE_PS",)),
        extrinsic_object(unique_id="1.3", confidentiality=("INVISIBLE_PATIENT",)),
        extrinsic_object(unique_id="1.4", confidentiality=("INVISIBLE_REPRESENTANTS_LEGAUX",)),
        extrinsic_object(unique_id="1.5", status=DocumentStatus.ARCHIVED.value),
    )

    def ids(**kwargs: object) -> list[str]:
        query = DocumentQuery(patient=INS, **kwargs)  # type: ignore[arg-type]
        return [e.unique_id for e in xds.filter_entries(result.entries, query)]

    assert ids() == ["1.1", "1.3", "1.4"]
    assert ids(include_masked=True) == ["1.1", "1.2", "1.3", "1.4"]
    assert ids(include_invisible_patient=False, include_invisible_legal_reps=False) == ["1.1"]
    assert ids(statuses=frozenset({DocumentStatus.ARCHIVED})) == ["1.5"]
    first = xds.filter_entries(result.entries, DocumentQuery(patient=INS))[0]
    assert first.entry_uuid == "urn:uuid:7953af1a-ba1c-11eb-816f-0050569e422e"


# --- RetrieveDocumentSet --------------------------------------------------------------------------


def test_retrieve_request() -> None:
    request = xds.build_retrieve_documents([("1.2.250.1.213.4.1.1.1.2", "1.2.3")])
    assert request.tag == f"{{{xds.XDSB}}}RetrieveDocumentSetRequest"
    (doc,) = request
    assert [(c.tag.split("}")[1], c.text) for c in doc] == [
        ("RepositoryUniqueId", "1.2.250.1.213.4.1.1.1.2"),
        ("DocumentUniqueId", "1.2.3"),
    ]
    with pytest.raises(ValueError):
        xds.build_retrieve_documents([])
    with pytest.raises(ValueError):
        xds.build_retrieve_documents([("", "1.2")])


def test_retrieve_inline_base64() -> None:
    body = _body(retrieve_response(base64.b64encode(CONTENT).decode()))
    (doc,) = xds.parse_retrieve_response(body).documents
    assert doc == RetrievedDocument(
        "1.2.250.1.999.1.1.42", "1.2.250.1.213.4.1.1.1.2", "text/xml", CONTENT
    )


def test_retrieve_error() -> None:
    errors = registry_error_list(("XDSDocumentUniqueIdError", "Document inconnu", "Error"))
    body = _body(retrieve_response("", status=ebrs.STATUS_FAILURE, errors=errors))
    with pytest.raises(DmpServiceError) as raised:
        xds.parse_retrieve_response(body)
    assert raised.value.code == "XDSDocumentUniqueIdError"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<x/>", "RetrieveDocumentSetResponse"),
        (
            f'<r:RetrieveDocumentSetResponse xmlns:r="{xds.XDSB}"/>'.encode(),
            "RegistryResponse",
        ),
    ],
)
def test_retrieve_unreadable(data: bytes, message: str) -> None:
    with pytest.raises(DmpProtocolError, match=message):
        xds.parse_retrieve_response(etree.fromstring(data))


def test_retrieve_incomplete_document_response() -> None:
    data = retrieve_response("QUJD").replace(
        b"<ns4:DocumentUniqueId>1.2.250.1.999.1.1.42", b"<ns4:DocumentUniqueId>"
    )
    with pytest.raises(DmpProtocolError, match="incomplete"):
        xds.parse_retrieve_response(_body(data))


def test_integrity_check() -> None:
    (entry,) = _entries(extrinsic_object()).entries
    good = RetrievedDocument(entry.unique_id, entry.repository_id, "text/xml", CONTENT)
    xds.check_integrity(entry, good)
    with pytest.raises(DmpProtocolError, match="size"):
        xds.check_integrity(entry, RetrievedDocument("1", "2", "text/xml", CONTENT + b"!"))
    with pytest.raises(DmpProtocolError, match="hash"):
        xds.check_integrity(
            entry, RetrievedDocument("1", "2", "text/xml", CONTENT.replace(b"a", b"b"))
        )
