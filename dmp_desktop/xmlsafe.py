"""The only way XML from outside enters the program: no DTD, no entities, no network.

Every parser of answers, requests and documents goes through :func:`parse`,
which refuses DTDs and entity declarations, never resolves entities or fetches
anything, and bounds the input size.
"""

from __future__ import annotations

from lxml import etree

MAX_XML_BYTES = 64 * 1024 * 1024


class UnsafeXmlError(ValueError):
    """Input refused: malformed, too large, or carrying a DTD / entity."""


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    dtd_validation=False,
    load_dtd=False,
    huge_tree=False,
    remove_comments=False,
    remove_pis=True,
)


def parse(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse untrusted XML bytes and return the root element."""
    if len(data) > max_bytes:
        raise UnsafeXmlError("document too large")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsafeXmlError("DTD or entity declaration refused")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError("malformed XML") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXmlError("DTD refused")
    return root
