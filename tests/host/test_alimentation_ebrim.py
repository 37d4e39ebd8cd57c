"""Reading a SubmitObjectsRequest (dmp_sandbox.ebrim): what the official material needs, no more."""

from __future__ import annotations

import pytest
from lxml import etree

from dmp_desktop.domain.patient import Ins, InsKind
from dmp_sandbox import ebrim, xds
from tests.host.test_alimentation_wire import LCM, RIM

LEA = Ins("207058575627097", InsKind.TEST_NIR)


def request(*children: str, root: str = f"{{{LCM}}}SubmitObjectsRequest") -> etree._Element:
    body = "".join(children)
    return etree.fromstring(
        f'<r:{etree.QName(root).localname} xmlns:r="{etree.QName(root).namespace}" '
        f'xmlns="{RIM}"><RegistryObjectList>{body}</RegistryObjectList>'
        f"</r:{etree.QName(root).localname}>"
    )


PACKAGE = '<RegistryPackage id="SubmissionSet01"/>'
MARK = (
    '<Classification id="c1" classifiedObject="SubmissionSet01" '
    'classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>'
)


def test_top_level_classification_marks_the_submission_set() -> None:
    submission = ebrim.read_submit_objects(
        request(PACKAGE, '<RegistryPackage id="Folder01"/>', MARK)
    )
    assert submission.submission_set().id == "SubmissionSet01"


def test_nested_objects_belong_to_their_parent_whatever_they_name() -> None:
    entry = (
        '<ExtrinsicObject id="Document01" mimeType="text/xml">'
        '<Classification id="x" classificationScheme="s" classifiedObject="urn:uuid:old" '
        'nodeRepresentation="N"><Slot name="codingScheme"><ValueList><Value>o</Value>'
        '</ValueList></Slot><Name><LocalizedString value="Normal"/></Name></Classification>'
        '<Classification id="x" classificationScheme="s" nodeRepresentation="MASQUE_PS"/>'
        '<ExternalIdentifier id="e" identificationScheme="u" value="1.2.3"/>'
        "</ExtrinsicObject>"
    )
    submission = ebrim.read_submit_objects(request(PACKAGE, entry))
    doc = submission.entry("Document01")
    assert doc is not None
    assert [(c.code, c.coding_scheme, c.name) for c in doc.classified("s")] == [
        ("N", "o", "Normal"),
        ("MASQUE_PS", None, ""),
    ]
    assert doc.identifier("u") == "1.2.3"


@pytest.mark.parametrize(
    "children",
    [
        (PACKAGE, PACKAGE),  # duplicate ids
        (PACKAGE, "<RegistryPackage/>"),  # no id
        (PACKAGE, "<Federation id='f'/>"),  # unsupported object
        (PACKAGE, '<Association id="a" associationType="t" sourceObject="s"/>'),  # incomplete
        (PACKAGE, '<Classification id="c" classifiedObject="nowhere"/>'),  # dangling
        (PACKAGE, "<ExtrinsicObject id='d'><Slot name=''/></ExtrinsicObject>"),  # nameless slot
    ],
)
def test_malformed_requests_are_invalid(children: tuple[str, ...]) -> None:
    with pytest.raises(xds.XdsError) as caught:
        ebrim.read_submit_objects(request(*children))
    assert caught.value.code == "DMPInvalidRequest"


def test_not_a_submit_objects_request() -> None:
    with pytest.raises(xds.XdsError):
        ebrim.read_submit_objects(request(root=f"{{{LCM}}}RemoveObjectsRequest"))
    with pytest.raises(xds.XdsError):
        ebrim.read_submit_objects(request()).submission_set()  # no submission set


def test_too_many_objects() -> None:
    many = [f'<ExtrinsicObject id="d{i}"/>' for i in range(ebrim.MAX_OBJECTS + 1)]
    with pytest.raises(xds.XdsError):
        ebrim.read_submit_objects(request(PACKAGE, *many))


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (f"{LEA.cx()}", True),
        (f"{LEA.cx()}^^20100907", True),
        ("207058575627097", False),  # no authority
        ("207058575627097^^^&1.2.250.1.213.1.4.2&ISO^INS-C", False),  # unknown authority
        ("207058575627098^^^&1.2.250.1.213.1.4.10&ISO^NH", False),  # wrong key
        (None, False),
    ],
)
def test_patient_ids(value: str | None, ok: bool) -> None:
    if ok:
        assert ebrim.parse_patient_id(value, "patientId") == LEA
        return
    with pytest.raises(xds.XdsError) as caught:
        ebrim.parse_patient_id(value, "patientId")
    assert caught.value.code == "XDSRegistryMetadataError"
    assert LEA.value not in caught.value.context


def test_dates_and_authors() -> None:
    assert ebrim.parse_dtm("20260102", "t") is not None
    assert ebrim.parse_dtm(None, "t") is None
    for bad in ("2026-01-02", "20261302"):
        with pytest.raises(xds.XdsError):
            ebrim.parse_dtm(bad, "creationTime")
    author = ebrim.Classification(
        "s",
        None,
        "",
        None,
        {
            "authorPerson": ["899700433153^DURAND^MARIE^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"],
            "authorInstitution": ["CABINET^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^499700433153007"],
            "authorSpecialty": ["G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.3"],
            "authorRole": ["Médecin"],
        },
        "",
    )
    assert ebrim.author_record(author) == {
        "national_id": "899700433153",
        "family_name": "DURAND",
        "given_name": "MARIE",
        "id_root": "1.2.250.1.71.4.2.1",
        "id_type": "IDNPS",
        "institution": "CABINET",
        "institution_id": "499700433153007",
        "specialty_code": "G15_10/SM26",
        "specialty_display": "Médecin - Qualifié en Médecine Générale (SM)",
        "specialty_scheme": "1.2.3",
        "role": "Médecin",
    }
