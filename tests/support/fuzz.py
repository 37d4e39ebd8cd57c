"""Mutations of real inputs for hypothesis, and how long the fuzzing runs.

Two kinds of mutations, one to four per example:

- on the bytes: flip, cut, delete, insert or repeat a slice, plant a token
  that parsers trip on (``<!DOCTYPE``, ``&``, ``]]>``, a MIME delimiter,
  a NUL, a lone UTF-16 BOM...);
- on the XML tree (seed parsed once): remove, repeat or move an element,
  rename it, give an element or an attribute an odd value (empty, huge,
  negative, a date that does not exist, HL7 separators, right-to-left
  override, astral characters), drop an attribute.

Budget: :func:`fuzz_settings` gives each fuzz test ``default`` examples,
derandomised (the same inputs on every run: the suite stays fast and never
flaky). ``DMP_FUZZ_EXAMPLES=<n>`` runs ``n`` random examples per test
instead (the long run, see ``tests/bench/bench_fuzz.py`` and
``docs/reliability.md``). No example database is written.

:data:`TRIED` counts the inputs each target actually received.
"""

from __future__ import annotations

import collections
import copy
import functools
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from lxml import etree

from dmp_desktop import xmlsafe

ENV_EXAMPLES = "DMP_FUZZ_EXAMPLES"

# Hypothesis keeps caches (constants found in the code, Unicode tables) in
# ./.hypothesis even without an example database: keep them out of the
# repository, in a per-user temporary folder (unless the developer chose one).
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"dmp-desktop-hypothesis-{os.getuid()}")
TRIED: collections.Counter[str] = collections.Counter()

TOKENS: tuple[bytes, ...] = (
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"&unknown;",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<!DOCTYPE x [<!ENTITY e 'e'>]>",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b'"',
    b"'",
    b' xmlns="urn:autre"',
    b" xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'",
    b"</soap:Body>",
    b"<soap:Fault/>",
    b"\r\n",
    b"\r\n\r\n",
    b"--",
    b"\r\n--MIMEBoundary_x\r\n",
    b"Content-ID: <x@y>\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Type: text/plain\r\n",
    b"cid:",
    b"^^^&",
    b"99999999999999999999999",
)

ODD_VALUES: tuple[str, ...] = (
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "99999999999999999999999999",
    "20261345",
    "2026-13-45T25:61:61",
    "202611251",
    "00000000",
    "^^^&1.2.250&ISO^NH",
    "'a','b'",
    "('a'",
    "urn:uuid:",
    "cid:absent",
    "\u202eevil",
    "\U0001f489",
    "x" * 5000,
    "DMPAccessDenied",
    "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure",
    "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess",
    "1.2.250.1.213.1.4.10",
    "A" * 17,
)


def fuzz_settings(default: int) -> settings:
    """``default`` derandomised examples, or ``$DMP_FUZZ_EXAMPLES`` random ones."""
    wanted = int(os.environ.get(ENV_EXAMPLES, "0") or 0)
    return settings(
        max_examples=wanted or default,
        derandomize=not wanted,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


# --- byte mutations -----------------------------------------------------------------------------


def _byte_mutation(size: int) -> st.SearchStrategy[Callable[[bytes], bytes]]:
    position = st.integers(min_value=0, max_value=max(size, 0))
    span = st.integers(min_value=1, max_value=256)

    def flip(at: int, value: int) -> Callable[[bytes], bytes]:
        return lambda data: data[:at] + bytes([value]) + data[at + 1 :] if data else data

    def cut(at: int) -> Callable[[bytes], bytes]:
        return lambda data: data[:at]

    def delete(at: int, length: int) -> Callable[[bytes], bytes]:
        return lambda data: data[:at] + data[at + length :]

    def insert(at: int, chunk: bytes) -> Callable[[bytes], bytes]:
        return lambda data: data[:at] + chunk + data[at:]

    def repeat(at: int, length: int, times: int) -> Callable[[bytes], bytes]:
        return lambda data: data[:at] + data[at : at + length] * times + data[at:]

    return st.one_of(
        st.builds(flip, position, st.integers(0, 255)),
        st.builds(cut, position),
        st.builds(delete, position, span),
        st.builds(insert, position, st.binary(min_size=1, max_size=32)),
        st.builds(insert, position, st.sampled_from(TOKENS)),
        st.builds(repeat, position, span, st.integers(2, 50)),
    )


def mutate_bytes(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with one to four byte-level mutations."""

    def apply(mutations: Sequence[Callable[[bytes], bytes]]) -> bytes:
        out = data
        for mutation in mutations:
            out = mutation(out)
        return out

    return st.lists(_byte_mutation(len(data)), min_size=1, max_size=4).map(apply)


# --- tree mutations -----------------------------------------------------------------------------


def odd_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=40))


def _xml_safe(value: str) -> str:
    """lxml refuses control characters and surrogates in text: keep what it accepts."""
    return "".join(
        c
        for c in value
        if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd") or c > "\uffff"
    )


@st.composite
def _tree_mutation(draw: Any, count: int) -> tuple[str, int, int, str]:
    kind = draw(
        st.sampled_from(
            ("remove", "repeat", "move", "rename", "text", "attribute", "drop-attribute")
        )
    )
    target = draw(st.integers(0, max(count - 1, 0)))
    other = draw(st.integers(0, max(count - 1, 0)))
    value = _xml_safe(draw(odd_text()))
    return kind, target, other, value


def _apply_tree(root: etree._Element, mutation: tuple[str, int, int, str]) -> None:
    kind, target, other, value = mutation
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    if not elements:
        return
    element = elements[target % len(elements)]
    partner = elements[other % len(elements)]
    parent = element.getparent()
    if kind == "remove" and parent is not None:
        parent.remove(element)
    elif kind == "repeat" and parent is not None:
        element.addnext(copy.deepcopy(element))
    elif kind == "move" and parent is not None and element not in partner.iterancestors():
        if partner is not element:
            partner.append(element)
    elif kind == "rename":
        element.tag = partner.tag
    elif kind == "text":
        element.text = value
    elif kind == "attribute":
        names = list(element.attrib) or ["x"]
        element.set(names[other % len(names)], value)
    elif kind == "drop-attribute" and element.attrib:
        names = list(element.attrib)
        del element.attrib[names[other % len(names)]]


@functools.lru_cache(maxsize=256)
def _element_count(data: bytes) -> int:
    return sum(1 for e in xmlsafe.parse(data).iter() if isinstance(e.tag, str))


def mutate_tree(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` (trusted XML) parsed, one to four tree mutations, serialised again."""
    count = _element_count(data)

    def apply(mutations: Sequence[tuple[str, int, int, str]]) -> bytes:
        root = xmlsafe.parse(data)
        for mutation in mutations:
            _apply_tree(root, mutation)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return st.lists(_tree_mutation(count), min_size=1, max_size=4).map(apply)


def mutate_xml(data: bytes) -> st.SearchStrategy[bytes]:
    """Tree mutations, byte mutations, or both (tree first)."""
    return st.one_of(
        mutate_tree(data),
        mutate_bytes(data),
        mutate_tree(data).flatmap(mutate_bytes),
    )


def mutate_content_type(content_type: str) -> st.SearchStrategy[str]:
    """An HTTP Content-Type, kept or mangled (boundary, start, media type)."""
    return st.one_of(
        st.just(content_type),
        st.just(content_type.replace("boundary=", "boundary=x")),
        st.just(content_type.replace("start=", "begin=")),
        st.just(content_type.split(";", 1)[0]),
        st.just('multipart/related; boundary=""'),
        st.just("multipart/related; boundary=" + "b" * 80),
        st.sampled_from(("text/html", "application/octet-stream", "", "application/soap+xml")),
        st.text(max_size=60),
    )


def seeds_strategy(seeds: Sequence[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(list(seeds))


_RELATES_TO = re.compile(rb"(RelatesTo[^>]*>)([^<]*)(<)")


def answering(body: bytes, request: bytes) -> bytes:
    """``body`` (a recorded answer, maybe mutated) made to relate to ``request``'s message id."""
    try:
        message_id = xmlsafe.parse(request).findtext(
            ".//{http://www.w3.org/2005/08/addressing}MessageID"
        )
    except xmlsafe.UnsafeXmlError:
        return body
    return _RELATES_TO.sub(rb"\g<1>" + (message_id or "").encode() + rb"\g<3>", body, count=1)
