"""CDA to readable HTML for the viewer and the VSM editor's preview.

Only a whitelist of the CDA narrative becomes HTML (table, list, paragraph,
content, br, sub/sup, caption); every text and attribute value is escaped;
no URL, script, style or external resource from the document reaches the
output (``linkHtml`` targets are dropped; ``renderMultiMedia`` shows only the
document's own embedded files, through private ``cda-media:`` URLs). The result
is a complete, self-contained HTML page in French.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from contextvars import ContextVar
from datetime import datetime

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda import codes
from dmp_desktop.cda.errors import CdaFormatError
from dmp_desktop.cda.header import HeaderSummary, read_header
from dmp_desktop.cda.media import EmbeddedMedia, clinical_document, embedded_media, media_by_id
from dmp_desktop.cda.xmlutil import H, first, xp
from dmp_desktop.dates import fr_date, fr_datetime

_CSS = """
body { font-family: sans-serif; font-size: 10pt; color: #222; margin: 0.5em 1em; }
h1 { font-size: 14pt; margin: 0.3em 0; }
h2 { font-size: 12pt; border-bottom: 1px solid #999; margin-top: 1.2em; }
h3 { font-size: 11pt; margin-top: 1em; }
h4, h5, h6 { font-size: 10pt; margin-top: 0.8em; }
table { border-collapse: collapse; margin: 0.3em 0; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
dl.header { display: block; margin: 0 0 1em 0; }
dl.header dt { font-weight: bold; }
.codes { color: #555; font-size: 9pt; }
.bold { font-weight: bold; }
.italics { font-style: italic; }
.underline { text-decoration: underline; }
.note { color: #555; font-style: italic; }
.attachment { background: #eef4fb; }
"""

_STYLE_CLASSES = {
    "bold": "bold",
    "italics": "italics",
    "underline": "underline",
    "emphasis": "italics",
}
_GENDERS = {"F": "Féminin", "M": "Masculin", "UN": "Inconnu", "U": "Inconnu"}
# Codes that only say what kind of entry it is: not worth showing.
_BOILERPLATE_CODES = {
    ("282291009", codes.OID_SNOMED),
    ("33999-4", codes.OID_LOINC),
    ("48767-8", codes.OID_LOINC),
    ("SEV", codes.OID_ACT_CODE),
    ("DRUG", codes.OID_ACT_CODE),
}
_SYSTEM_LABELS = {
    codes.OID_CIM10: "CIM-10",
    codes.OID_CCAM: "CCAM",
    codes.OID_CIS: "CIS",
    codes.OID_CIP: "CIP",
    codes.OID_ATC: "ATC",
    codes.OID_LOINC: "LOINC",
    codes.OID_SNOMED: "SNOMED CT",
}
_MAX_TEXT_PAYLOAD = 1_000_000


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def render_html(document: bytes | etree._Element, media: list[EmbeddedMedia] | None = None) -> str:
    """A complete HTML page showing the document (bytes are parsed with :mod:`xmlsafe`).

    A self-presenting document (a stylesheet holding the CDA) shows its CDA. Embedded
    files (``observationMedia``) appear where the narrative references them: images as
    ``<img src="cda-media:ID">`` (the viewer supplies the pixels; nothing is loaded from
    outside), PDFs as a link to their own tab; files no narrative references are listed
    at the end, under « Pièces jointes ».
    """
    parsed = xmlsafe.parse(document) if isinstance(document, bytes) else document
    root = clinical_document(parsed)
    if root is None:
        raise CdaFormatError("not a CDA document")
    if media is None:
        media = embedded_media(root)
    _MEDIA.set(media_by_id(media))
    header = read_header(root)
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        f"<title>{esc(header.title or header.type_label or 'Document')}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    out.append(_render_header(header))
    out.extend(_origin_note(root))
    body = first(root, "h:component/h:structuredBody")
    if body is not None:
        for section in xp(body, "h:component/h:section"):
            _render_section(section, 2, out)
        loose = [item for item in media if not item.referenced]
        if loose:
            out.append("<section><h2>Pièces jointes</h2>")
            for item in loose:
                out.append(f"<p>{_media_html(item)}</p>")
            out.append("</section>")
    else:
        out.append(_render_non_xml_body(root))
    out.append("</body></html>")
    return "\n".join(out)


_MEDIA: ContextVar[dict[str, EmbeddedMedia]] = ContextVar("cda_media")
_WIDE_TABLE_COLUMNS = 6
_COLUMN_PX = 110


def _media_html(item: EmbeddedMedia) -> str:
    caption = esc(item.caption)
    if item.is_image and item.data:
        title = f'<br><span class="note">{caption}</span>' if caption else ""
        return f'<img src="{esc(item.url)}" alt="{caption or "Image"}">{title}'
    if item.is_pdf and item.data:
        label = caption or "Document PDF joint"
        return (
            f'<span class="attachment">PDF joint : <a href="{esc(item.url)}">{label}</a> '
            "(affiché dans son propre onglet)</span>"
        )
    kind = esc(item.media_type)
    return f'<span class="note">Fichier joint ({kind}) non affichable ici.</span>'


def _columns(table: etree._Element) -> int:
    counts = [
        sum(
            int(cell.get("colspan") or 1) if (cell.get("colspan") or "1").isdigit() else 1
            for cell in xp(row, "h:th | h:td")
        )
        for row in xp(table, ".//h:tr")
    ]
    return max(counts, default=0)


def _fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return "-"
    if value.hour == value.minute == value.second == 0:
        return fr_date(value)
    return fr_datetime(value)


def _render_header(h: HeaderSummary) -> str:
    rows: list[tuple[str, str]] = []
    patient = h.patient_name or "-"
    details = []
    birth_name = h.patient.birth_family_name if h.patient is not None else ""
    used_name = h.patient.used_family_name if h.patient is not None else None
    if birth_name and used_name and used_name.strip().upper() != birth_name.strip().upper():
        details.append(f"nom de naissance {birth_name.upper()}")  # the birth name is never lost
    if h.patient_birth_date:
        born = {"F": "née", "M": "né"}.get(h.patient_gender or "", "né(e)")  # agrees when known
        details.append(f"{born} le {fr_date(h.patient_birth_date)}")
    if h.patient_gender:
        details.append(_GENDERS.get(h.patient_gender, h.patient_gender))
    if details:
        patient += f" ({', '.join(details)})"
    rows.append(("Patient", patient))
    if h.patient is not None:
        rows.append(("INS", h.patient.ins.value))
    author = h.author_name or h.author_organization or "-"
    if h.author_name and h.author_organization:
        author += f", {h.author_organization}"
    rows.append(("Auteur", author))
    rows.append(("Date", _fmt_datetime(h.effective_time)))
    doc_type = h.type_label or h.type_code or "-"
    rows.append(("Type de document", doc_type))
    if h.treating_physician is not None:
        pcp = h.treating_physician.practitioner
        rows.append(("Médecin traitant", f"{pcp.given_name} {pcp.family_name.upper()}"))
    parts = [f"<h1>{esc(h.title or doc_type)}</h1>", '<dl class="header">']
    for label, value in rows:
        parts.append(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>")
    parts.append("</dl>")
    return "\n".join(parts)


_ORIGIN_NOTES = {
    "EXP_PATIENT": "Document ajouté par le patient dans son espace (Mon espace santé).",
    "ALIM_AM": "Document alimenté par l'Assurance Maladie : historique des soins remboursés, "
    "sans aucun montant.",
}


def _origin_note(root: etree._Element) -> list[str]:
    """Who added the document, when its author is the patient or the Assurance Maladie."""
    code = first(root, "h:author/h:assignedAuthor/h:code")
    note = _ORIGIN_NOTES.get(code.get("code", "")) if code is not None else None
    return [f'<p class="note">{esc(note)}</p>'] if note else []


def _render_section(section: etree._Element, level: int, out: list[str]) -> None:
    heading = min(level, 6)
    title = first(section, "h:title")
    title_text = " ".join("".join(title.itertext()).split()) if title is not None else ""
    if not title_text:
        code = first(section, "h:code")
        title_text = code.get("displayName", "") if code is not None else ""
    out.append(f"<section><h{heading}>{esc(title_text or 'Section')}</h{heading}>")
    text = first(section, "h:text")
    if text is not None:
        out.append(f'<div class="narrative">{_narrative(text)}</div>')
    coded = _coded_labels(section)
    if coded:
        out.append('<p class="codes">Codes : ' + " ; ".join(esc(c) for c in coded) + "</p>")
    for child in xp(section, "h:component/h:section"):
        _render_section(child, level + 1, out)
    out.append("</section>")


def _coded_labels(section: etree._Element) -> list[str]:
    """Codes carried by the section's own entries, as "CIM-10 E11.9 (label)"."""
    seen: set[tuple[str, str]] = set()
    labels: list[str] = []
    for node in xp(section, "h:entry//*[@code and @codeSystem]"):
        local = etree.QName(node).localname
        if local not in ("code", "value", "translation"):
            continue
        key = (node.get("code", ""), node.get("codeSystem", ""))
        if key in _BOILERPLATE_CODES or key in seen:
            continue
        system = _SYSTEM_LABELS.get(key[1])
        if system is None:
            continue
        seen.add(key)
        label = node.get("displayName")
        labels.append(f"{system} {key[0]}" + (f" ({label})" if label else ""))
    return labels


def _render_non_xml_body(root: etree._Element) -> str:
    text = first(root, "h:component/h:nonXMLBody/h:text")
    if text is None:
        return '<p class="note">Ce document ne contient pas de corps lisible.</p>'
    media = text.get("mediaType") or "text/plain"
    content = "".join(text.itertext())
    if media == "text/plain":
        if (text.get("representation") or "TXT") == "B64":
            try:
                raw = base64.b64decode("".join(content.split()), validate=True)
                content = raw[:_MAX_TEXT_PAYLOAD].decode("utf-8", errors="replace")
            except (binascii.Error, ValueError):
                return '<p class="note">Le texte du document est illisible.</p>'
        return f"<pre>{esc(content[:_MAX_TEXT_PAYLOAD])}</pre>"
    size = len("".join(content.split())) * 3 // 4
    kind = "PDF" if media == "application/pdf" else media
    return (
        f'<p class="note">Document non structuré ({esc(kind)}, environ {size // 1024 + 1} Ko) : '
        "ouvrez-le avec la visionneuse PDF.</p>"
    )


_BLOCK_MAP = {
    "paragraph": "p",
    "table": "table",
    "thead": "thead",
    "tbody": "tbody",
    "tfoot": "tfoot",
    "tr": "tr",
    "th": "th",
    "td": "td",
    "caption": "caption",
    "item": "li",
    "sub": "sub",
    "sup": "sup",
}
_SPAN_RE = re.compile(r"^[1-9][0-9]{0,2}$")
_LAYOUT_RE = re.compile(r"[ \t]*\n\s*")


def _narrative(node: etree._Element) -> str:
    parts: list[str] = []
    _children(node, parts)
    return "".join(parts)


def _text(value: str | None) -> str:
    """Escaped text; the indentation of a pretty-printed source collapses to one space."""
    return esc(_LAYOUT_RE.sub(" ", value)) if value else ""


def _children(node: etree._Element, parts: list[str]) -> None:
    parts.append(_text(node.text))
    for child in node:
        if isinstance(child.tag, str) and child.tag.startswith(H):
            _element(child, parts)
        # Elements of other namespaces, comments and PIs: dropped, their tail kept.
        parts.append(_text(child.tail))


def _element(node: etree._Element, parts: list[str]) -> None:
    name = etree.QName(node).localname
    if name == "renderMultiMedia":
        found = _MEDIA.get({})
        for ref in (node.get("referencedObject") or "").split():
            item = found.get(ref)
            if item is not None:
                parts.append(_media_html(item))
        return
    if name in ("col", "colgroup"):
        return
    if name == "br":
        parts.append("<br>")
        return
    if name == "list":
        tag = "ol" if node.get("listType") == "ordered" else "ul"
    elif name == "content":
        tag = "span"
    elif name in ("linkHtml", "footnote", "footnoteRef"):
        tag = "span"
    else:
        tag = _BLOCK_MAP.get(name, "span")
    attrs = ""
    if tag in ("td", "th"):
        for span in ("colspan", "rowspan"):
            value = node.get(span)
            if value and _SPAN_RE.match(value):
                attrs += f' {span}="{value}"'
    if tag == "table":
        # A wide table keeps readable columns and scrolls sideways instead of wrapping
        # every cell to a few letters.
        columns = _columns(node)
        if columns >= _WIDE_TABLE_COLUMNS:
            attrs += f' width="{columns * _COLUMN_PX}"'
    classes = [
        _STYLE_CLASSES[s.lower()]
        for s in (node.get("styleCode") or "").split()
        if s.lower() in _STYLE_CLASSES
    ]
    if classes:
        attrs += f' class="{" ".join(sorted(set(classes)))}"'
    parts.append(f"<{tag}{attrs}>")
    _children(node, parts)
    parts.append(f"</{tag}>")
