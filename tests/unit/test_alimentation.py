"""What may be sent and how it is built: checks, file formats, document types, the CDA."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from PIL import Image

from dmp_desktop import xmlsafe
from dmp_desktop.alimentation import (
    MEDIA_CDA,
    build,
    check_upload,
    class_for_type,
    convert,
    image_to_pdf,
    professional_types,
    search_types,
    serial,
    sniff,
    type_code,
    validate_upload,
)
from dmp_desktop.alimentation.errors import UploadInvalidError
from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain.document import Code, DocumentStatus
from dmp_desktop.errors import describe
from dmp_desktop.messages import known
from tests.support.cda_samples import minimal_summary, sample_author
from tests.unit.test_alimentation_support import PDF, TODAY, identity, request
from tests.unit.test_dmp_support import INS
from tests.unit.test_dmp_xds import OTHER_INS

NOW = dt.datetime(2026, 3, 12, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _image(fmt: str, mode: str = "RGB", frames: int = 1) -> bytes:
    out = io.BytesIO()
    images = [Image.new(mode, (40, 30), 128) for _ in range(frames)]
    images[0].save(out, fmt, save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


def _codes(**changes: object) -> list[str]:
    return check_upload(request(**changes), today=TODAY)


# --- what may be sent ----------------------------------------------------------------------------


def test_a_complete_request_has_no_problem() -> None:
    assert _codes() == []
    assert validate_upload(request(service_date=dt.date.today())) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"identity": None}, ["ins_not_qualified"]),
        ({"identity": identity(OTHER_INS)}, ["identity_mismatch"]),
        ({"identity": identity(birthplace_code=None)}, ["birthplace_missing"]),
        ({"identity": identity(birth_given_names=[" "])}, ["ins_not_qualified"]),
        ({"source": b""}, ["empty_file"]),
        ({"source": b" \n\t "}, ["empty_file"]),
        ({"source": b"\x00\x01binary\x02"}, ["unsupported_format"]),
        ({"media_type": "image/png"}, ["media_type_mismatch"]),
        ({"source": b"\x89PNG\r\n\x1a\nnot really"}, ["corrupt_image"]),
        ({"source": b"x" * (convert.MAX_SOURCE_BYTES + 1)}, ["file_too_large"]),
        ({"type_code": Code("99999-9", "?", "2.16.840.1.113883.6.1")}, ["unknown_type"]),
        ({"type_code": type_code("DOCPAT03")}, ["type_not_for_professionals"]),
        ({"title": "  "}, ["title_missing"]),
        ({"title": "x" * 256}, ["title_too_long"]),
        ({"service_date": TODAY + dt.timedelta(days=1)}, ["date_in_future"]),
        ({"service_date": dt.date(1899, 12, 31)}, ["date_too_old"]),
        ({"masked": True, "invisible_patient": True}, ["forbidden_visibility"]),
    ],
)
def test_every_reason_not_to_send(changes: dict[str, object], expected: list[str]) -> None:
    assert _codes(**changes) == expected
    assert all(known(f"upload.problem.{code}") for code in expected)


def test_all_problems_at_once_in_french() -> None:
    messages = validate_upload(
        request(identity=None, source=b"", title="", masked=True, invisible_patient=True)
    )
    assert len(messages) == 4
    assert messages[0].startswith("L'INS du patient n'est pas qualifié")
    assert "masqué aux professionnels de santé et invisible pour le patient" in messages[3]


def test_every_visibility_but_the_forbidden_pair_is_allowed() -> None:
    for masked in (False, True):
        for patient in (False, True):
            for legal in (False, True):
                codes = _codes(masked=masked, invisible_patient=patient, invisible_legal_reps=legal)
                assert codes == (["forbidden_visibility"] if masked and patient else [])


def test_replacing_needs_an_active_document_of_this_patient() -> None:
    from tests.unit.test_dmp_iti57 import _entry, _fake

    old = _entry(_fake())
    assert _codes(replaces=old) == []
    assert _codes(replaces=dataclasses.replace(old, status=DocumentStatus.DEPRECATED)) == [
        "replaced_not_approved"
    ]
    assert _codes(replaces=dataclasses.replace(old, patient=OTHER_INS)) == [
        "replaced_other_patient"
    ]


def test_a_prebuilt_cda_must_be_a_vsm_of_this_patient() -> None:
    summary = minimal_summary()
    vsm = build_vsm(summary)
    ins = summary.patient.ins
    ok = request(patient=ins, source=vsm, media_type=MEDIA_CDA, type_code=type_code("SYNTH"))
    assert check_upload(dataclasses.replace(ok, identity=None), today=TODAY) == []
    assert _codes(source=vsm, media_type=MEDIA_CDA) == ["identity_mismatch"]
    assert _codes(source=b"<x/>", media_type=MEDIA_CDA) == ["not_a_vsm"]
    assert _codes(source=b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>", media_type=MEDIA_CDA) == [
        "not_a_vsm"
    ]


def test_a_path_is_read(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "cr.pdf"
    path.write_bytes(PDF)
    assert _codes(source=path) == []
    assert _codes(source=Path(str(tmp_path)) / "missing.pdf") == ["empty_file"]


# --- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media"),
    [
        (PDF, "application/pdf"),
        (b"\n %PDF-1.7\n", "application/pdf"),
        (_image("JPEG"), "image/jpeg"),
        (_image("PNG"), "image/png"),
        (_image("TIFF"), "image/tiff"),
        (b"Compte rendu : tout va bien.\n", "text/plain"),
        ("Compte rendu établi".encode("cp1252"), "text/plain"),
        ("\ufeffavec BOM".encode(), "text/plain"),
        (b"GIF89a....", "text/plain"),  # printable: read as text, not as an image
        (b"\x00\x01", None),
        (b"text with \x07 bell", None),
    ],
)
def test_the_content_says_what_a_file_is(data: bytes, media: str | None) -> None:
    assert sniff(data) == media


@pytest.mark.parametrize(
    ("fmt", "mode", "frames", "pages"),
    [
        ("JPEG", "RGB", 1, 1),
        ("PNG", "RGBA", 1, 1),
        ("PNG", "P", 1, 1),
        ("PNG", "LA", 1, 1),
        ("TIFF", "1", 1, 1),
        ("TIFF", "RGB", 3, 3),
    ],
)
def test_images_become_pdf(fmt: str, mode: str, frames: int, pages: int) -> None:
    pdf = image_to_pdf(_image(fmt, mode, frames))
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == pages


def test_damaged_and_oversized_images_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UploadInvalidError) as caught:
        image_to_pdf(_image("PNG")[:40])
    assert caught.value.problems == ("corrupt_image",)
    monkeypatch.setattr(convert, "MAX_PIXELS", 100)
    with pytest.raises(UploadInvalidError) as caught:
        image_to_pdf(_image("PNG"))  # 1 200 pixels: over the (patched) limit
    assert caught.value.problems == ("image_too_large",)
    assert convert.check_source(_image("PNG"), None)[1] == ["image_too_large"]
    assert describe(caught.value).startswith("L'image est trop grande")


# --- document types ------------------------------------------------------------------------------


def test_types_are_searchable_by_label_without_accents() -> None:
    found = search_types("compte rendu operatoire")
    assert found[0] == Code("34874-8", "CR opératoire", "2.16.840.1.113883.6.1")
    assert search_types("11488-4")[0].code == "11488-4"
    assert search_types("SYNTH")[0].code == "SYNTH"
    assert search_types("xyzzy") == []
    everything = professional_types()
    codes = {c.code for c in everything}
    assert "11488-4" in codes and "SYNTH" in codes
    assert not any(c.startswith(("DOCPAT", "EXPPAT")) for c in codes)
    assert "E1762" not in codes and "REMB" not in codes
    labels = [c.display for c in everything]
    assert labels.index("Attestation d'hébergement") < labels.index("Bilan bucco-dentaire")


@pytest.mark.parametrize(
    ("code", "klass"),
    [
        # Pairs of the official TD3.1 answer (types still in J07)
        ("11488-4", "10"),
        ("11490-0", "10"),
        ("11502-2", "10"),
        ("15507-7", "10"),
        ("11506-3", "10"),
        ("34133-9", "11"),
        ("SYNTH", "11"),
        ("52040-3", "31"),
        ("DISP_AUT", "43"),
        ("18776-5", "44"),
        ("PROT_ALD", "44"),
        ("CERT_DECL", "52"),
        # the rest of the table
        ("PRESC-KINE", "42"),
        ("57833-6", "42"),
        ("60593-1", "43"),
        ("89601-9", "52"),
        ("ATTEST-RESID", "52"),
        ("34874-8", "10"),
    ],
)
def test_class_is_derived_from_the_type(code: str, klass: str) -> None:
    derived = class_for_type(code)
    assert (derived.code, derived.scheme) == (klass, "1.2.250.1.213.1.1.4.1")
    assert derived.display


# --- the CDA -------------------------------------------------------------------------------------


def test_pdf_image_and_text_become_level1_documents() -> None:
    author = sample_author()
    for source, media, fmt in (
        (PDF, "application/pdf", build.FORMAT_PDF),
        (_image("PNG", "RGBA"), "application/pdf", build.FORMAT_PDF),
        (b"Compte rendu\n", "text/plain", build.FORMAT_TEXT),
    ):
        built = build.build_document(request(source=source), author, unique_id="2.25.77", now=NOW)
        assert built.format_code == fmt and built.unique_id == "2.25.77"
        assert built.creation_time == NOW
        kind, payload = extract_level1(built.content)
        assert kind == media
        if source == PDF:
            assert payload == PDF
        root = xmlsafe.parse(built.content)
        h = "{urn:hl7-org:v3}"
        assert root.find(f"{h}id").get("root") == "2.25.77"
        assert root.find(f"{h}code").get("code") == "11488-4"
        assert root.find(f"{h}title").text == "Compte rendu de consultation"
        role = root.find(f"{h}recordTarget/{h}patientRole")
        assert role.find(f"{h}id").get("extension") == INS.value
        assert role.find(f"{h}patient/{h}birthplace/{h}place/{h}addr/{h}county").text == "69383"


def test_a_replacement_keeps_the_set_and_takes_the_next_version() -> None:
    first = build.build_document(request(), sample_author(), unique_id="2.25.1", now=NOW)
    set_id, version = build.version_of(first.content) or ("", 0)
    second = build.build_document(
        request(), sample_author(), unique_id="2.25.2", now=NOW, set_id=set_id, version=version + 1
    )
    assert build.version_of(second.content) == (set_id, 2)
    assert build.version_of(b"<x/>") is None


def test_metadata_from_the_request() -> None:
    from dmp_desktop.dmp import rim

    req = request(masked=True, invisible_legal_reps=True, type_code=type_code("PRESC-KINE"))
    built = build.build_document(req, sample_author(), unique_id="2.25.9", now=NOW)
    sub = build.build_submission(
        req,
        built,
        author=rim.AuthorValues(person="x"),
        structure=build.structure_info(sample_author()),
        submission_unique_id="2.25.10",
        signature_unique_id="2.25.11",
        source_id="2.25.12",
        submission_time=NOW,
    )
    meta = sub.document
    assert meta.class_code.code == "42"
    assert meta.type_code.display == "Prescription d'actes de kinésithérapie"
    assert [c.code for c in meta.confidentiality] == [
        "N",
        "MASQUE_PS",
        "INVISIBLE_REPRESENTANTS_LEGAUX",
    ]
    assert meta.service_start == TODAY
    assert meta.source_patient_info == (
        "PID-5|MOREAU^LÉA CLAIRE^^^^^L",
        "PID-7|20070525",
        "PID-8|F",
    )
    assert sub.structure.facility_type.code == "SA08"


def test_serial_round_trips() -> None:
    from tests.unit.test_dmp_iti57 import _entry, _fake

    entry = _entry(_fake(flags=("MASQUE_PS",)))
    assert serial.entry_from_json(serial.entry_to_json(entry)) == entry
    person = identity()
    assert serial.identity_from_json(serial.identity_to_json(person)) == person
    assert serial.entry_from_json(None) is None and serial.identity_from_json(None) is None


# --- photos (issue #15): orientation applied, the JPEG embedded as taken -----------------------


def _photo(orientation: int, size: tuple[int, int] = (64, 32)) -> bytes:
    """A camera JPEG with its EXIF orientation (6: the phone was held upright, turned 90°)."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(size[0] // 2):  # a left half of another colour: a visible orientation
        for y in range(size[1]):
            image.putpixel((x, y), (30, 30, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def test_a_photo_is_embedded_without_recompression_and_upright() -> None:
    import pikepdf

    photo = _photo(6)
    pdf = image_to_pdf(photo)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) == 1
        page = document.pages[0]
        (image,) = page.get_images().values()
        assert image.Filter == "/DCTDecode"
        assert image.read_raw_bytes() == photo  # the very bytes the camera wrote
        assert int(page.obj.get("/Rotate", 0)) % 360 == 90  # EXIF 6: turned upright


def test_a_photo_the_pdf_cannot_hold_as_is_is_converted_upright() -> None:
    """A mirrored orientation (EXIF 5) cannot be a page rotation: Pillow applies it."""
    import pikepdf

    pdf = image_to_pdf(_photo(5))
    with pikepdf.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        (image,) = page.get_images().values()
        assert (int(image.Width), int(image.Height)) == (32, 64)  # transposed
        assert int(page.obj.get("/Rotate", 0)) % 360 == 0
