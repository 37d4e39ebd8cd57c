"""MTOM/XOP: SOAP 1.2 messages whose binary content travels as MIME parts.

An MTOM message is a ``multipart/related`` body (RFC 2387) whose root part,
``application/xop+xml``, is the SOAP envelope; every ``base64Binary`` element
that carries bytes holds a single ``<xop:Include href="cid:…"/>`` instead,
naming the part with that ``Content-ID`` (RFC 2392: the ``cid:`` URL is the
percent-encoded Content-ID without its angle brackets). This is how the DMP
returns documents (ITI-43, the official TD3.2 answer) and how they are sent
(ITI-41).

Building (both directions): :func:`build_mtom` takes the serialised envelope
and the binary parts and returns the HTTP ``Content-Type`` and body.

Reading: :func:`parse_mtom` splits a body into its root and parts, and
:func:`element_bytes` returns the bytes of a ``base64Binary`` element, either
inline base64 or through its ``xop:Include``. Anything malformed or hostile
(bad or missing boundary, truncated message, duplicate or missing parts,
oversized headers, too many parts, unknown transfer encodings, corrupt base64)
raises :class:`~dmp_desktop.errors.DmpProtocolError`; nothing here parses XML
(the root goes through :mod:`dmp_desktop.xmlsafe` like any other answer).
"""

from __future__ import annotations

import base64
import binascii
import email.message
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from lxml import etree

from dmp_desktop.dmp import ns
from dmp_desktop.dmp.xmlutil import Element, element_children, qn
from dmp_desktop.errors import DmpProtocolError

XOP_MEDIA_TYPE = "application/xop+xml"
OCTET_STREAM = "application/octet-stream"
MULTIPART_RELATED = "multipart/related"

# Bounds on what a reader accepts (the caller also bounds the whole body).
MAX_PARTS = 256
MAX_HEADER_BYTES = 16 * 1024
MAX_BOUNDARY_LEN = 70  # RFC 2046

# RFC 2046 bchars (plus the space, which may not end the boundary).
_BOUNDARY_RE = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_IDENTITY_ENCODINGS = frozenset({"binary", "8bit", "7bit"})
_XML_ROOT_TYPES = frozenset({XOP_MEDIA_TYPE, ns.SOAP12_CONTENT_TYPE, "application/xml", "text/xml"})


@dataclass(frozen=True)
class MimePart:
    """One binary part: its Content-ID (without ``<>``), media type and bytes."""

    content_id: str
    data: bytes = field(repr=False)
    content_type: str = OCTET_STREAM


@dataclass(frozen=True)
class MtomMessage:
    """A parsed ``multipart/related`` body: the root (XML bytes) and the other parts."""

    root: bytes = field(repr=False)
    root_content_type: str
    parts: Mapping[str, MimePart]  # by Content-ID, without angle brackets

    def part(self, href: str) -> MimePart:
        """The part a ``cid:`` reference names; DmpProtocolError when absent."""
        if not href.lower().startswith("cid:"):
            raise DmpProtocolError("xop:Include does not reference a MIME part")
        raw = href[4:].strip()
        for candidate in (unquote(raw), raw):
            found = self.parts.get(candidate)
            if found is not None:
                return found
        raise DmpProtocolError("a MIME part referenced by the answer is missing")


# --- building ---------------------------------------------------------------------------------


def new_content_id(domain: str = "dmp-desktop") -> str:
    """A fresh, unique Content-ID (no angle brackets): ``<uuid>@<domain>``."""
    return f"{uuid.uuid4()}@{domain}"


def cid_href(content_id: str) -> str:
    """The ``cid:`` URL of a Content-ID (RFC 2392: percent-encoded)."""
    return "cid:" + quote(content_id, safe="@-._~!$'()*+,;=")


def xop_include(parent: Element, content_id: str) -> Element:
    """Make ``parent`` (a base64Binary element) reference the part ``content_id``."""
    parent.text = None
    for old in list(parent):
        parent.remove(old)
    include = etree.SubElement(parent, qn(ns.XOP, "Include"), nsmap={"xop": ns.XOP})
    include.set("href", cid_href(content_id))
    return include


def _new_boundary() -> str:
    return f"MIMEBoundary_{secrets.token_hex(20)}"


def _check_header_value(value: str) -> str:
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError("line breaks are not allowed in a MIME header")
    return value


def build_mtom(
    envelope: bytes,
    parts: Sequence[MimePart],
    *,
    action: str | None = None,
    root_content_id: str | None = None,
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """(Content-Type header, body) of an MTOM message.

    ``envelope`` is the serialised SOAP 1.2 envelope (UTF-8), its binary
    elements already pointing at ``parts`` through :func:`xop_include`.
    ``action`` is the SOAP action (a parameter of the root part's type and of
    the message's ``start-info``, as SOAP 1.2 over MTOM puts it).
    """
    boundary = boundary or _new_boundary()
    if not _BOUNDARY_RE.match(boundary):
        raise ValueError("invalid MIME boundary")
    root_id = root_content_id or new_content_id()
    seen = {root_id}
    for part in parts:
        if part.content_id in seen:
            raise ValueError("duplicate Content-ID")
        seen.add(part.content_id)
    action_param = f'; action="{_check_header_value(action)}"' if action else ""
    root_type = f'{XOP_MEDIA_TYPE}; charset=UTF-8; type="{ns.SOAP12_CONTENT_TYPE}"{action_param}'
    delimiter = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []

    def add_part(content_type: str, content_id: str, data: bytes) -> None:
        head = (
            f"Content-Type: {_check_header_value(content_type)}\r\n"
            "Content-Transfer-Encoding: binary\r\n"
            f"Content-ID: <{_check_header_value(content_id)}>\r\n\r\n"
        )
        chunks.extend((delimiter, b"\r\n", head.encode("utf-8"), data, b"\r\n"))

    add_part(root_type, root_id, envelope)
    for part in parts:
        add_part(part.content_type, part.content_id, part.data)
    chunks.extend((delimiter, b"--\r\n"))
    content_type = (
        f'{MULTIPART_RELATED}; type="{XOP_MEDIA_TYPE}"; boundary="{boundary}"; '
        f'start="<{root_id}>"; start-info="{ns.SOAP12_CONTENT_TYPE}"{action_param}'
    )
    return content_type, b"".join(chunks)


# --- reading ----------------------------------------------------------------------------------


def _content_type_params(content_type: str) -> email.message.Message:
    msg = email.message.Message()
    msg["Content-Type"] = content_type
    return msg


def media_type(content_type: str | None) -> str | None:
    """The lower-case media type of a Content-Type header (None when absent)."""
    if not content_type:
        return None
    return _content_type_params(content_type).get_content_type().lower()


def is_multipart(content_type: str | None) -> bool:
    return media_type(content_type) == MULTIPART_RELATED


def _part_headers(raw: bytes) -> dict[str, str]:
    if len(raw) > MAX_HEADER_BYTES:
        raise DmpProtocolError("MIME part headers too large")
    headers: dict[str, str] = {}
    current: str | None = None
    for line in raw.decode("latin-1").split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t" and current is not None:  # folded header
            headers[current] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise DmpProtocolError("malformed MIME part header")
        current = name.strip().lower()
        if current in headers:
            raise DmpProtocolError("repeated MIME part header")
        headers[current] = value.strip()
    return headers


def _content_id(value: str | None) -> str | None:
    if value is None:
        return None
    cid = value.strip()
    if cid.startswith("<") and cid.endswith(">"):
        cid = cid[1:-1].strip()
    return cid or None


def _decode(headers: dict[str, str], content: bytes) -> bytes:
    encoding = headers.get("content-transfer-encoding", "binary").strip().lower()
    if encoding in _IDENTITY_ENCODINGS:
        return content
    if encoding == "base64":
        try:
            return base64.b64decode(b"".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise DmpProtocolError("corrupt base64 MIME part") from None
    raise DmpProtocolError("unsupported transfer encoding in a MIME part")


def _split(data: bytes, boundary: str) -> list[bytes]:
    """The bodies (headers + content) between the delimiters; RFC 2046 rules."""
    delimiter = b"--" + boundary.encode("latin-1")
    # A delimiter starts the body or a line; the line break before it belongs to it.
    positions: list[int] = []
    start = 0
    while True:
        found = data.find(delimiter, start)
        if found < 0:
            break
        if found == 0 or data[found - 1 : found] == b"\n":
            positions.append(found)
        start = found + len(delimiter)
    if not positions:
        raise DmpProtocolError("multipart answer without its boundary")
    segments: list[bytes] = []
    closed = False
    for index, pos in enumerate(positions):
        after = pos + len(delimiter)
        if data[after : after + 2] == b"--":
            closed = True
            break
        # Rest of the delimiter line: optional transport padding, then CRLF (or LF).
        line_end = data.find(b"\n", after)
        if line_end < 0 or data[after:line_end].strip(b" \t\r"):
            raise DmpProtocolError("malformed multipart delimiter")
        body_start = line_end + 1
        if index + 1 >= len(positions):
            raise DmpProtocolError("truncated multipart answer (no closing delimiter)")
        body_end = positions[index + 1]
        # The CRLF (or LF) before the next delimiter is part of that delimiter.
        if data[body_end - 2 : body_end] == b"\r\n":
            body_end -= 2
        elif body_end > body_start:
            body_end -= 1
        segments.append(data[body_start:body_end])
        if len(segments) > MAX_PARTS:
            raise DmpProtocolError("too many parts in a multipart answer")
    if not closed:
        raise DmpProtocolError("truncated multipart answer (no closing delimiter)")
    return segments


def _head_and_content(segment: bytes) -> tuple[bytes, bytes]:
    """Split a part at the first blank line (CRLF or LF line ends)."""
    if segment.startswith((b"\r\n", b"\n")):
        return b"", segment[segment.index(b"\n") + 1 :]
    found = _BLANK_LINE.search(segment, 0, MAX_HEADER_BYTES + 4)
    if found is None:
        if len(segment) > MAX_HEADER_BYTES:
            raise DmpProtocolError("MIME part headers too large")
        if not segment.strip(b"\r\n"):
            return b"", b""
        raise DmpProtocolError("malformed MIME part (no blank line after its headers)")
    return segment[: found.start()], segment[found.end() :]


def parse_mtom(content_type: str, data: bytes) -> MtomMessage:
    """Split a ``multipart/related`` body into its root part and the other parts.

    The root is the part named by the ``start`` parameter, else the first
    one; it must be XML (``application/xop+xml`` for MTOM, or SOAP/XML for
    SOAP with attachments).
    """
    params = _content_type_params(content_type)
    if params.get_content_type().lower() != MULTIPART_RELATED:
        raise DmpProtocolError("answer is not multipart/related")
    boundary = params.get_param("boundary")
    if not isinstance(boundary, str) or not _BOUNDARY_RE.match(boundary):
        raise DmpProtocolError("multipart answer with a missing or invalid boundary")
    start = params.get_param("start")
    start_id = _content_id(start) if isinstance(start, str) else None

    root: tuple[str, bytes] | None = None
    parts: dict[str, MimePart] = {}
    for index, segment in enumerate(_split(data, boundary)):
        head, content = _head_and_content(segment)
        headers = _part_headers(head)
        cid = _content_id(headers.get("content-id"))
        part_type = headers.get("content-type", "text/plain")
        is_root = cid == start_id if start_id is not None else index == 0
        payload = _decode(headers, content)
        if is_root:
            if root is not None:
                raise DmpProtocolError("two root parts in a multipart answer")
            root = (part_type, payload)
            continue
        if cid is None:
            continue  # unreferenceable: ignored
        if cid in parts:
            raise DmpProtocolError("duplicate Content-ID in a multipart answer")
        parts[cid] = MimePart(cid, payload, part_type)
    if root is None:
        raise DmpProtocolError("multipart answer without its root part")
    root_type = media_type(root[0])
    if root_type not in _XML_ROOT_TYPES:
        raise DmpProtocolError("the root part of the multipart answer is not XML")
    return MtomMessage(root=root[1], root_content_type=root[0], parts=parts)


def element_bytes(element: Element, message: MtomMessage | None = None) -> bytes:
    """The bytes of a ``base64Binary`` element: an ``xop:Include`` or inline base64."""
    includes = [c for c in element_children(element) if c.tag == qn(ns.XOP, "Include")]
    others = [c for c in element_children(element) if c.tag != qn(ns.XOP, "Include")]
    if others or len(includes) > 1:
        raise DmpProtocolError("unexpected content in a binary element")
    if includes:
        if (element.text or "").strip() or (includes[0].tail or "").strip():
            raise DmpProtocolError("xop:Include mixed with inline content")
        href = includes[0].get("href")
        if not href:
            raise DmpProtocolError("xop:Include without href")
        if message is None:
            raise DmpProtocolError("xop:Include in an answer that is not MTOM")
        return message.part(href).data
    compact = "".join((element.text or "").split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise DmpProtocolError("corrupt base64 content") from None


__all__ = [
    "MAX_PARTS",
    "MULTIPART_RELATED",
    "OCTET_STREAM",
    "XOP_MEDIA_TYPE",
    "MimePart",
    "MtomMessage",
    "build_mtom",
    "cid_href",
    "element_bytes",
    "is_multipart",
    "media_type",
    "new_content_id",
    "parse_mtom",
    "xop_include",
]
