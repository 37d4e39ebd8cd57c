"""Small helpers to build and read the wire's XML with lxml (no parsing here).

Parsing untrusted bytes is :func:`dmp_desktop.xmlsafe.parse`'s job; these
helpers only walk trees that already passed through it, and never raise
anything but :class:`~dmp_desktop.errors.DmpProtocolError` on bad content.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from lxml import etree

from dmp_desktop.dates import DateFormatError, parse_hl7_date
from dmp_desktop.errors import DmpProtocolError

Element = Any  # lxml ships no type stubs here; keep annotations honest and simple


def qn(ns: str, local: str) -> str:
    """Clark notation ``{ns}local``."""
    return f"{{{ns}}}{local}"


def is_element(node: Any) -> bool:
    """True for element nodes (not comments nor processing instructions)."""
    return isinstance(node, etree._Element) and isinstance(node.tag, str)


def element_children(el: Element) -> Iterator[Element]:
    """Child elements of ``el`` (comments, processing instructions and entities left out)."""
    return el.iterchildren(etree.Element)


def local_name(el: Element) -> str:
    return str(etree.QName(el).localname)


def namespace(el: Element) -> str | None:
    ns = etree.QName(el).namespace
    return str(ns) if ns is not None else None


def child(el: Element | None, ns: str, local: str) -> Element | None:
    """First child element ``{ns}local`` of ``el``, or None."""
    if el is None:
        return None
    return next(el.iterchildren(f"{{{ns}}}{local}"), None)


def children(el: Element | None, ns: str, local: str) -> list[Element]:
    if el is None:
        return []
    return list(el.iterchildren(f"{{{ns}}}{local}"))


def path(el: Element | None, ns: str, *locals_: str) -> Element | None:
    """Follow first-child steps ``a/b/c`` in one namespace; None when a step is missing."""
    current = el
    for name in locals_:
        current = child(current, ns, name)
        if current is None:
            return None
    return current


def attr(el: Element | None, name: str) -> str | None:
    if el is None:
        return None
    value = el.get(name)
    return str(value) if value is not None else None


def text(el: Element | None) -> str | None:
    """Whole text content of an element (stripped), None when empty or absent."""
    if el is None:
        return None
    value = "".join(el.itertext()).strip()
    return value or None


def read_hl7_date(value: str | None) -> date | None:
    """The day of an HL7v3 TS in an answer: None when absent, DmpProtocolError when malformed."""
    if value is None or not value.strip():
        return None
    try:
        return parse_hl7_date(value)
    except DateFormatError:
        raise DmpProtocolError("invalid HL7 timestamp") from None


def parse_cx(value: str) -> tuple[str, str | None]:
    """``id^^^&oid&ISO^type`` -> (id, oid). The oid is None when absent."""
    parts = value.split("^")
    ident = parts[0].strip()
    root: str | None = None
    if len(parts) > 3:
        authority = parts[3].split("&")
        if len(authority) > 1 and authority[1].strip():
            root = authority[1].strip()
    return ident, root
