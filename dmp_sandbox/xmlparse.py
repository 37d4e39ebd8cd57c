"""The host's XML parser: lxml with network and entities off, no DTD at all.

The host reads what strangers send it with its own hardened parser rather
than the client's (``dmp_desktop.xmlsafe``), so that the judge keeps its own
guard whatever the client does with its own.

A CDA document carrying a large PDF holds one text node (its base 64) over
libxml2's default 10 MB limit; such input is parsed again with that limit
lifted, and the depth of the tree is then bounded here (:data:`MAX_DEPTH`).
"""

from __future__ import annotations

from lxml import etree

MAX_DEPTH = 256


class XmlRefused(ValueError):
    """Not well-formed, too large, or carrying a DTD / entity declaration."""


def _parser(*, huge: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge,
        remove_pis=True,
    )


def _too_deep(root: etree._Element) -> bool:
    depth = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def parse_xml(data: bytes, *, max_bytes: int | None = None) -> etree._Element:
    """The root element of ``data``; :class:`XmlRefused` (reason in English) otherwise."""
    if max_bytes is not None and len(data) > max_bytes:
        raise XmlRefused("document too large")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmlRefused("DTD refused")
    try:
        root = etree.fromstring(data, _parser(huge=False))
    except etree.XMLSyntaxError as exc:
        if "Text node too long" not in str(exc):
            raise XmlRefused("malformed XML") from exc
        try:
            root = etree.fromstring(data, _parser(huge=True))
        except etree.XMLSyntaxError as again:
            raise XmlRefused("malformed XML") from again
        if _too_deep(root):
            raise XmlRefused("malformed XML") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlRefused("DTD refused")
    return root


def parse_file(path: str) -> etree._ElementTree:
    """A local file the host trusts (the official schemas), read with the same parser."""
    return etree.parse(path, _parser(huge=False))
