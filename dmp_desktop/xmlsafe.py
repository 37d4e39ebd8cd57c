"""The only way XML from outside enters the program: no DTD, no entities, no network.

Every parser of answers, requests and documents goes through :func:`parse`,
which refuses DTDs and entity declarations, never resolves entities or fetches
anything, and bounds the input size (:data:`MAX_XML_BYTES`) and the depth of
the tree (:data:`MAX_DEPTH`).

libxml2 also refuses, by default, a single text node over 10 MB. A level-1
CDA carrying a 20 MB PDF (the largest document a doctor may send) holds one
such node: its base 64. Such a document is parsed a second time without
that limit, only when the DTD check on the raw bytes is reliable (an
ASCII-compatible encoding: a UTF-16 document is not given that second
chance), and its depth is then checked here.
"""

from __future__ import annotations

from lxml import etree

MAX_XML_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 256  # libxml2's own limit without XML_PARSE_HUGE


class UnsafeXmlError(ValueError):
    """Input refused: malformed, too large, or carrying a DTD / entity."""


def _parser(*, huge: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=huge,
        remove_comments=False,
        remove_pis=True,
    )


_PARSER = _parser(huge=False)
_LARGE_TEXT_PARSER = _parser(huge=True)
_TEXT_TOO_LONG = "Text node too long"
# What an ASCII-compatible document may start with (UTF-8 BOM, blanks, then '<').
_UTF8_BOM = b"\xef\xbb\xbf"


def _ascii_compatible(data: bytes) -> bool:
    return data.removeprefix(_UTF8_BOM).lstrip(b" \t\r\n")[:1] == b"<"


def _depth_within(root: etree._Element, limit: int) -> bool:
    depth = 0
    for event, _element in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > limit:
            return False
    return True


def parse(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse untrusted XML bytes and return the root element."""
    if len(data) > max_bytes:
        raise UnsafeXmlError("document too large")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsafeXmlError("DTD or entity declaration refused")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        if _TEXT_TOO_LONG not in str(exc) or not _ascii_compatible(data):
            raise UnsafeXmlError("malformed XML") from exc
        try:
            root = etree.fromstring(data, parser=_LARGE_TEXT_PARSER)
        except etree.XMLSyntaxError as again:
            raise UnsafeXmlError("malformed XML") from again
        if not _depth_within(root, MAX_DEPTH):
            raise UnsafeXmlError("malformed XML") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXmlError("DTD refused")
    return root
