"""A retrieved document made ready to show: PDF, rendered CDA, text or image.

Plain Python (run on a worker thread right after the retrieval, so that the
UI thread only builds widgets). Nothing here touches the disk: the bytes stay
in memory, in the returned object, for as long as the viewer shows them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda.errors import CdaFormatError
from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.cda.media import EmbeddedMedia, clinical_document, embedded_media
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.xmlutil import first
from dmp_desktop.domain.document import RetrievedDocument

MEDIA_PDF = "application/pdf"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/tiff")
XML_TYPES = ("text/xml", "application/xml", "application/hl7-v3+xml", "application/hl7-cda+xml")


class ViewKind(enum.Enum):
    PDF = "pdf"
    HTML = "html"  # a structured CDA (level 3: VSM...) rendered to HTML
    TEXT = "text"
    IMAGE = "image"
    UNSUPPORTED = "unsupported"


class Origin(enum.Enum):
    """Where the shown content came from (said in the viewer's information line)."""

    DIRECT = "direct"  # the document itself
    CDA_LEVEL1 = "cda_level1"  # the payload of a level-1 CDA
    CDA_STRUCTURED = "cda_structured"  # a structured CDA (level 3)


@dataclass(frozen=True)
class Viewable:
    kind: ViewKind
    media_type: str
    origin: Origin = Origin.DIRECT
    data: bytes = field(default=b"", repr=False)  # PDF or image bytes
    text: str = field(default="", repr=False)  # HTML (kind HTML) or plain text (kind TEXT)
    # files embedded in a structured CDA: images shown in the HTML, PDFs in their own tabs
    attachments: tuple[EmbeddedMedia, ...] = field(default=(), repr=False)

    @property
    def size(self) -> int:
        return len(self.data) + len(self.text)


def _sniff(content: bytes) -> str | None:
    head = content[:16].lstrip()
    if head.startswith(b"%PDF-"):
        return MEDIA_PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"<"):
        return "text/xml"
    return None


def _normalise(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def _plain(media_type: str, payload: bytes, origin: Origin) -> Viewable:
    """PDF, image or text bytes (never XML here)."""
    media = _normalise(media_type)
    sniffed = _sniff(payload)
    if media == MEDIA_PDF or sniffed == MEDIA_PDF:
        return Viewable(ViewKind.PDF, MEDIA_PDF, origin, data=payload)
    if media in IMAGE_TYPES or (sniffed in IMAGE_TYPES and media.startswith("image/")):
        return Viewable(ViewKind.IMAGE, sniffed or media, origin, data=payload)
    if media.startswith("text/"):
        return Viewable(
            ViewKind.TEXT, media, origin, text=payload.decode("utf-8", errors="replace")
        )
    return Viewable(ViewKind.UNSUPPORTED, media, origin)


def prepare(document: RetrievedDocument) -> Viewable:
    """What the viewer shows for ``document``; CdaFormatError if a CDA is unreadable."""
    content = document.content
    media = _normalise(document.mime_type or "") or "application/octet-stream"
    sniffed = _sniff(content)
    if media in XML_TYPES or (sniffed == "text/xml" and media not in IMAGE_TYPES):
        try:
            parsed = xmlsafe.parse(content)
        except xmlsafe.UnsafeXmlError as exc:
            raise CdaFormatError("unreadable XML") from exc
        root = clinical_document(parsed)  # a self-presenting document holds it in a stylesheet
        if root is None:
            raise CdaFormatError("not a CDA document")
        if first(root, "h:component/h:nonXMLBody") is not None:
            inner = content if root is parsed else etree.tostring(root)
            payload_type, payload = extract_level1(inner)
            return _plain(payload_type, payload, Origin.CDA_LEVEL1)
        if first(root, "h:component/h:structuredBody") is None:
            raise CdaFormatError("not a CDA document")
        files = embedded_media(root)
        return Viewable(
            ViewKind.HTML,
            "text/xml",
            Origin.CDA_STRUCTURED,
            text=render_html(root, files),
            attachments=tuple(files),
        )
    return _plain(media, content, Origin.DIRECT)


__all__ = ["Origin", "ViewKind", "Viewable", "prepare"]
