"""Writing the narrative block (``section/text``) and reading it back."""

from __future__ import annotations

from lxml import etree

from dmp_desktop.cda.xmlutil import H, clean, plain_text, sub, xp


def rich(parent: etree._Element, tag: str, text: str, ident: str | None = None) -> etree._Element:
    """``<tag ID=...>`` holding ``text``, line ends written as ``<br/>``."""
    attrs = {"ID": ident} if ident else None
    node = sub(parent, tag, attrs)
    lines = clean(text).split("\n")
    node.text = lines[0]
    for line in lines[1:]:
        br = sub(node, "br")
        br.tail = line
    return node


class Table:
    """A narrative ``<table>`` with a header row; cells hold plain or identified text."""

    def __init__(self, text: etree._Element, headers: list[str]) -> None:
        self.table = sub(text, "table", {"border": "0"})
        row = sub(sub(self.table, "thead"), "tr")
        for header in headers:
            th = sub(row, "th")
            th.text = header
        self.body = sub(self.table, "tbody")

    def row(self, ident: str | None = None) -> etree._Element:
        return sub(self.body, "tr", {"ID": ident} if ident else None)


def cell(row: etree._Element, text: str | None, ident: str | None = None) -> etree._Element:
    """A ``<td>``: with an id the text goes in a ``<content ID>``; empty shows "-"."""
    td = sub(row, "td")
    if text:
        if ident:
            rich(td, "content", text, ident)
        else:
            lines = clean(text).split("\n")
            td.text = lines[0]
            for line in lines[1:]:
                sub(td, "br").tail = line
    else:
        td.text = "-"
    return td


def id_index(root: etree._Element) -> dict[str, etree._Element]:
    """Narrative elements by their ``ID`` attribute (first one wins)."""
    index: dict[str, etree._Element] = {}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        ident = node.get("ID")
        if ident and ident not in index:
            index[ident] = node
    return index


def resolve(index: dict[str, etree._Element], reference: str | None) -> str:
    """Text of the narrative element a ``reference/@value`` (``#id``) points to."""
    if not reference or not reference.startswith("#") or len(reference) < 2:
        return ""
    return plain_text(index.get(reference[1:]))


def text_items(text: etree._Element | None, prefix: str) -> list[str]:
    """Free-text items of a section: ours by ``ID`` prefix, else rows, items or paragraphs."""
    if text is None:
        return []
    ours = [
        node
        for node in text.iter()
        if isinstance(node.tag, str) and (node.get("ID") or "").startswith(prefix)
    ]
    if ours:
        none_id = f"{prefix}none"
        return [t for node in ours if node.get("ID") != none_id and (t := plain_text(node))]
    for path in (
        ".//h:tbody/h:tr",
        ".//h:table/h:tr",
        ".//h:list/h:item",
        ".//h:paragraph",
    ):
        nodes = xp(text, path)
        if nodes:
            return [t for node in nodes if (t := plain_text(node))]
    whole = plain_text(text)
    return [whole] if whole else []


def is_hl7(node: etree._Element, name: str) -> bool:
    return node.tag == H + name
