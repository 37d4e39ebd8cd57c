"""What a file is, and turning it into what a CDA level 1 carries (PDF or text).

The content decides, not the file name: a PDF starts with ``%PDF-``, a JPEG
with ``FF D8 FF``, a PNG with its signature, a TIFF with ``II*\\0`` or
``MM\\0*``; anything else is text if it decodes (UTF-8, else Windows-1252,
as Windows editors save) and holds no control characters. Images become a
PDF (one page per image, TIFF pages included) without recompression (img2pdf),
the camera's orientation applied; decompression bombs and damaged images are
refused.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from dmp_desktop.dmp.feed_errors import UploadInvalidError

MEDIA_PDF = "application/pdf"
MEDIA_TEXT = "text/plain"
MEDIA_JPEG = "image/jpeg"
MEDIA_PNG = "image/png"
MEDIA_TIFF = "image/tiff"
# A complete CDA document built by this software (the VSM): sent as it is.
MEDIA_CDA = "application/hl7-cda+xml"
IMAGE_TYPES = (MEDIA_JPEG, MEDIA_PNG, MEDIA_TIFF)
MEDIA_TYPES = (MEDIA_PDF, MEDIA_TEXT, *IMAGE_TYPES, MEDIA_CDA)

MAX_SOURCE_BYTES = 20 * 1024 * 1024
# Pixels of one image at most (about 12 000 x 8 000): beyond, a bomb or a mistake.
MAX_PIXELS = 100_000_000
_PDF_DPI = 150.0

_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


def sniff(data: bytes) -> str | None:
    """The media type the content shows (``None``: not a format we send)."""
    head = data[:8]
    # A few bytes only: stripping 20 MB would copy them while holding the GIL (the
    # window's UI thread waits for it meanwhile).
    if data[:1024].lstrip()[:5] == b"%PDF-":
        return MEDIA_PDF
    if head.startswith(b"\xff\xd8\xff"):
        return MEDIA_JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MEDIA_PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return MEDIA_TIFF
    if decode_text(data) is not None:
        return MEDIA_TEXT
    return None


def decode_text(data: bytes) -> str | None:
    """The text of a plain-text file, or None when it is not text."""
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(ord(ch) < 32 and ch not in _ALLOWED_CONTROLS for ch in text):
            return None
        return text
    return None


def check_source(data: bytes, declared: str | None) -> tuple[str, list[str]]:
    """(media type, problem codes) of a file to upload; cheap (images are only verified)."""
    if not data or data.isspace():  # no copy of a large file (see sniff)
        return declared or MEDIA_PDF, ["empty_file"]
    if len(data) > MAX_SOURCE_BYTES:
        return declared or MEDIA_PDF, ["file_too_large"]
    if declared == MEDIA_CDA:
        return MEDIA_CDA, []
    found = sniff(data)
    if found is None:
        return declared or "", ["unsupported_format"]
    if declared is not None and declared != found:
        return found, ["media_type_mismatch"]
    problems: list[str] = []
    if found == MEDIA_TEXT:
        text = decode_text(data)
        if text is None or not text.strip():
            problems.append("blank_text")
    elif found in IMAGE_TYPES:
        problems.extend(_verify_image(data))
    return found, problems


def _open_image(data: bytes) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image.open(io.BytesIO(data))


def _verify_image(data: bytes) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open_image(data)
            image.verify()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return ["image_too_large"]
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return ["corrupt_image"]
    return []


def image_to_pdf(data: bytes) -> bytes:
    """A PDF with one page per frame of the image (JPEG, PNG, multi-page TIFF).

    The image goes into the PDF as it is, without being decoded and compressed
    again (img2pdf): a JPEG keeps every byte of the photo taken, a PNG its
    lossless pixels. The camera's orientation (EXIF) is applied as the page's
    rotation, so a portrait photo reads upright. Only what a PDF cannot hold as
    is (transparency, a mirrored EXIF orientation, odd colour modes) is converted
    with Pillow: orientation applied, transparency flattened on white, a JPEG
    re-encoded at quality 95.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open_image(data)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadInvalidError(["image_too_large"]) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise UploadInvalidError(["corrupt_image"]) from None
    try:
        import img2pdf

        converted: bytes = img2pdf.convert(data, rotation=img2pdf.Rotation.auto)
        return converted
    except Exception:  # any image img2pdf cannot embed as is: Pillow below
        return _converted_by_pillow(data)


def _converted_by_pillow(data: bytes) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open_image(data)
            jpeg = image.format == "JPEG"
            pages = [
                _rgb(ImageOps.exif_transpose(frame.copy()) or frame.copy())
                for frame in ImageSequence.Iterator(image)
            ]
            dpi = image.info.get("dpi", (_PDF_DPI, _PDF_DPI))
            resolution = float(dpi[0]) if dpi and float(dpi[0]) > 0 else _PDF_DPI
            out = io.BytesIO()
            options: dict[str, object] = {"quality": 95} if jpeg else {}
            pages[0].save(
                out,
                "PDF",
                save_all=True,
                append_images=pages[1:],
                resolution=resolution,
                **options,
            )
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadInvalidError(["image_too_large"]) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, IndexError):
            raise UploadInvalidError(["corrupt_image"]) from None
    return out.getvalue()


def _rgb(frame: Image.Image) -> Image.Image:
    """A frame PDF can hold: RGB (transparency flattened on white) or grey."""
    if frame.mode in ("RGB", "L", "CMYK"):
        return frame
    if frame.mode in ("1",):
        return frame.convert("L")
    rgba = frame.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


__all__ = [
    "IMAGE_TYPES",
    "MAX_SOURCE_BYTES",
    "MEDIA_CDA",
    "MEDIA_JPEG",
    "MEDIA_PDF",
    "MEDIA_PNG",
    "MEDIA_TEXT",
    "MEDIA_TIFF",
    "MEDIA_TYPES",
    "check_source",
    "decode_text",
    "image_to_pdf",
    "sniff",
]
