"""Files embedded in a structured CDA (PDF reports, images), and the document inside a
self-presenting CDA.

A CI-SIS document may carry files as ``observationMedia`` entries (``value``
in base 64 with its ``mediaType``) that the narrative shows with
``renderMultiMedia referencedObject="ID"``: the lab report's PDF, an
electrophoresis curve, a mammography image. :func:`embedded_media` lists
them (decoded, size-capped, never written to disk); the renderer places
images where the narrative references them and the viewer opens PDFs in
their own tabs.

A *self-presenting* document (``BIO-CR-BIO_…_Auto-Presentable.xml``) is an
XSLT stylesheet that carries the ``ClinicalDocument`` inside it;
:func:`clinical_document` finds it so the viewer shows it like any other.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from lxml import etree

from dmp_desktop.cda.xmlutil import H, first, plain_text, xp

MAX_MEDIA_BYTES = 30 * 1024 * 1024  # one embedded file; larger ones are listed, not decoded
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/bmp", "image/tiff")
PDF = "application/pdf"


@dataclass(frozen=True)
class EmbeddedMedia:
    """One embedded file: its ``ID`` (what the narrative references), type, bytes, caption."""

    ident: str
    media_type: str
    data: bytes = field(repr=False)
    caption: str = ""
    section: str = ""
    referenced: bool = False  # shown by a renderMultiMedia of the narrative

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGE_TYPES

    @property
    def is_pdf(self) -> bool:
        return self.media_type == PDF

    @property
    def url(self) -> str:
        """The private URL the rendered HTML uses for it (``cda-media:ID``)."""
        return f"cda-media:{self.ident}"


def clinical_document(root: etree._Element) -> etree._Element | None:
    """The ``ClinicalDocument`` element: the root, or the one a self-presenting document holds."""
    if root.tag == H + "ClinicalDocument":
        return root
    return next(root.iter(H + "ClinicalDocument"), None)


def _section_title(node: etree._Element) -> str:
    parent = node.getparent()
    while parent is not None and etree.QName(parent).localname != "section":
        parent = parent.getparent()
    if parent is None:
        return ""
    return plain_text(first(parent, "h:title"))


def embedded_media(root: etree._Element) -> list[EmbeddedMedia]:
    """Every decodable observationMedia of the document's body, in document order."""
    referenced = {
        ref
        for node in root.iter(H + "renderMultiMedia")
        for ref in (node.get("referencedObject") or "").split()
    }
    out: list[EmbeddedMedia] = []
    for number, media in enumerate(root.iter(H + "observationMedia"), 1):
        value = first(media, "h:value")
        if value is None:
            continue
        media_type = (value.get("mediaType") or "").split(";")[0].strip().lower()
        text = "".join(value.itertext())
        if value.get("representation") != "B64" or not text.strip():
            continue
        compact = "".join(text.split())
        if len(compact) * 3 // 4 > MAX_MEDIA_BYTES:
            data = b""
        else:
            try:
                data = base64.b64decode(compact, validate=True)
            except (binascii.Error, ValueError):
                data = b""
        ident = media.get("ID") or f"media-{number}"
        caption = plain_text(first(media, "h:text")) or plain_text(
            first(media, "h:entryRelationship//h:text")
        )
        out.append(
            EmbeddedMedia(
                ident=ident,
                media_type=media_type or "application/octet-stream",
                data=data,
                caption=caption,
                section=_section_title(media),
                referenced=ident in referenced,
            )
        )
    return out


def media_by_id(media: list[EmbeddedMedia]) -> dict[str, EmbeddedMedia]:
    return {item.ident: item for item in media}


def count_by_kind(media: list[EmbeddedMedia]) -> tuple[int, int]:
    """(PDFs, images) among ``media``."""
    return sum(1 for m in media if m.is_pdf), sum(1 for m in media if m.is_image)


def sections_with_media(root: etree._Element) -> list[etree._Element]:
    return [s for s in xp(root, "//h:section") if xp(s, ".//h:observationMedia")]
