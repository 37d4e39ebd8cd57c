"""Small helpers to write and read CDA with lxml (HL7 v3 namespace)."""

from __future__ import annotations

import re
import uuid

from lxml import etree

from dmp_desktop.cda.codes import NS_HL7, NS_XSI

H = f"{{{NS_HL7}}}"
XSI_TYPE = f"{{{NS_XSI}}}type"
NSMAP = {None: NS_HL7, "xsi": NS_XSI}
XP_NS = {"h": NS_HL7, "xsi": NS_XSI}

# Characters XML 1.0 cannot carry (C0 controls but tab, LF, CR; surrogates; FFFE/FFFF).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Text made safe for XML: invalid characters dropped, line ends unified, trimmed.

    At most one empty line separates paragraphs, as the narrative reader gives back.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in _INVALID_XML.sub("", text).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def sub(parent: etree._Element, tag: str, attrs: dict[str, str] | None = None) -> etree._Element:
    """Append ``<tag>`` (HL7 namespace) to ``parent`` with the attributes given."""
    child = etree.SubElement(parent, H + tag)
    for key, value in (attrs or {}).items():
        child.set(XSI_TYPE if key == "xsi:type" else key, value)
    return child


def text_el(
    parent: etree._Element, tag: str, text: str, attrs: dict[str, str] | None = None
) -> etree._Element:
    child = sub(parent, tag, attrs)
    child.text = clean(text)
    return child


def new_oid() -> str:
    """A fresh globally unique OID (the 2.25 arc takes a UUID as an integer)."""
    return f"2.25.{uuid.uuid4().int}"


def derived_uuid(seed: str, path: str) -> str:
    """A stable UUID (upper case, as CDA examples write them) for ``path`` in document ``seed``."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{seed}/{path}")).upper()


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, indented (narrative mixed content is kept as is)."""
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def xp(node: etree._Element, path: str) -> list[etree._Element]:
    """Elements matching an XPath that uses the ``h:`` prefix for HL7."""
    result = node.xpath(path, namespaces=XP_NS)
    assert isinstance(result, list)  # noqa: S101 - an element path always gives a list
    return [r for r in result if isinstance(r, etree._Element)]


def first(node: etree._Element, path: str) -> etree._Element | None:
    found = xp(node, path)
    return found[0] if found else None


def attr(node: etree._Element | None, path: str, name: str) -> str | None:
    """Attribute ``name`` of the first element at ``path`` under ``node``."""
    if node is None:
        return None
    target = first(node, path) if path else node
    if target is None:
        return None
    value = target.get(name)
    return value if value else None


def plain_text(node: etree._Element | None) -> str:
    """Text of a narrative element: ``<br/>`` as line ends, paragraphs separated by a blank line."""
    if node is None:
        return ""
    parts: list[str] = []
    _collect_text(node, parts)
    text = "".join(parts)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


_BLOCKS = {"paragraph", "item", "tr", "list", "table", "tbody", "thead"}


def _collect_text(node: etree._Element, parts: list[str]) -> None:
    if node.text:
        parts.append(_squash(node.text))
    for child in node:
        if not isinstance(child.tag, str):  # comments, processing instructions
            if child.tail:
                parts.append(_squash(child.tail))
            continue
        name = etree.QName(child).localname
        if name == "br":
            parts.append("\n")
        elif name in _BLOCKS:
            parts.append("\n\n" if name == "paragraph" else "\n")
            _collect_text(child, parts)
            parts.append("\n\n" if name == "paragraph" else "\n")
        elif name in {"td", "th"}:
            _collect_text(child, parts)
            parts.append(" ")
        elif name in {"renderMultiMedia", "footnoteRef"}:
            pass
        else:
            _collect_text(child, parts)
        if child.tail:
            parts.append(_squash(child.tail))


def _squash(text: str) -> str:
    """Collapse the layout whitespace (runs holding a line end) of indented narrative XML."""
    return re.sub(r"[ \t]*\n\s*", " ", text)
