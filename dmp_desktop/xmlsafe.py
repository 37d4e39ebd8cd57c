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

Large answers (an ITI-18 list of thousands of documents) are read with
:class:`StreamParser` instead: the bytes are fed as they arrive and the
caller takes each element of interest as soon as it is complete, then
drops it, so memory holds one element at a time rather than the whole
answer. The same protections apply (no DTD, no entity, no network, libxml2's
depth and text-node limits); the caller bounds the total size and the bytes
between two elements it takes (:class:`StreamParser` ``max_bytes`` and
``max_gap``), so that a hostile answer cannot grow the tree either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

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


_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_CARRY = max(len(m) for m in _MARKERS) - 1
_MARKER = re.compile(b"|".join(re.escape(m) for m in _MARKERS))  # one scan of each chunk


class ByteScreen:
    """The checks made on untrusted XML bytes before any parser sees them, piece by piece.

    Refused with :class:`UnsafeXmlError`: more than ``max_bytes`` in total, or a DTD or
    entity declaration marker (also when split between two pieces).
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self.size = 0
        self._tail = b""

    def check(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._max_bytes:
            raise UnsafeXmlError("document too large")
        window = self._tail + data[:_CARRY]  # a marker split between two chunks
        if _MARKER.search(data) or _MARKER.search(window):
            raise UnsafeXmlError("DTD or entity declaration refused")
        self._tail = data[-_CARRY:]


class StreamParser:
    """Incremental parse of untrusted XML, for answers too large to hold as a tree.

    ``tags``: the elements (Clark notation) reported when complete. Feed bytes
    with :meth:`feed`, which returns the elements completed so far; the caller
    must detach what it has read (:func:`release`) to keep memory bounded.
    :meth:`close` returns the root of what remains.

    Refused with :class:`UnsafeXmlError`: malformed XML, a DTD or entity
    declaration (seen in the bytes, or in the parsed document), more than
    ``max_bytes`` in total, or more than ``max_gap`` bytes fed since the last
    reported element (nothing else may pile up in the tree).
    """

    def __init__(self, tags: Iterable[str], *, max_bytes: int, max_gap: int) -> None:
        self._parser = etree.XMLPullParser(
            events=("end",),
            tag=list(tags),
            resolve_entities=False,
            no_network=True,
            dtd_validation=False,
            load_dtd=False,
            huge_tree=False,
            remove_comments=False,
            remove_pis=True,
        )
        self._screen = ByteScreen(max_bytes)
        self._max_gap = max_gap
        self._gap = 0
        self._checked = False

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._screen.size

    def feed(self, data: bytes) -> Iterator[etree._Element]:
        """Parse ``data`` (the next bytes); yields the watched elements completed meanwhile.

        Iterate it to the end before feeding more. Each element is best released
        (:func:`release`) before taking the next one: no reference to it kept, it is
        freed as a whole once a later one is released.
        """
        if not data:
            return iter(())
        self._screen.check(data)
        self._gap += len(data)
        try:
            self._parser.feed(data)
        except etree.XMLSyntaxError as exc:
            raise UnsafeXmlError("malformed XML") from exc
        return self._completed()

    def _completed(self) -> Iterator[etree._Element]:
        any_element = False
        for _event, element in self._parser.read_events():
            if not self._checked:
                self._check_doctype(element)
            any_element = True
            yield element
        if any_element:
            self._gap = 0
        elif self._gap > self._max_gap:
            raise UnsafeXmlError("document too large")

    def close(self) -> tuple[etree._Element, Iterator[etree._Element]]:
        """End of the input: the root of what remains, and the last watched elements."""
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise UnsafeXmlError("malformed XML") from exc
        self._check_doctype(root)
        return root, self._completed()

    def _check_doctype(self, element: etree._Element) -> None:
        # A DTD precedes the root: once any element exists, the document info is final.
        docinfo = element.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise UnsafeXmlError("DTD refused")
        self._checked = True


def release(element: etree._Element) -> None:
    """Drop a completed element read from a :class:`StreamParser`, and any earlier sibling."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]
