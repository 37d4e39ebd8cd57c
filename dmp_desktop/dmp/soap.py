"""SOAP 1.2 with WS-Addressing and WS-Security, shaped like the CNAM's examples.

A request envelope looks exactly like the official TD0.2 request
(``dmp-lps-exemples-messages-v02.05.00``)::

    <soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">
      <soap:Header>
        <MessageID xmlns="…/addressing">urn:uuid:…</MessageID>
        <To xmlns="…/addressing">https://host/si-dmp-server/v2/services/patients</To>
        <ReplyTo mustUnderstand="true" xmlns="…/addressing">
          <Address>http://www.w3.org/2005/08/addressing/anonymous</Address>
        </ReplyTo>
        <Action mustUnderstand="true" xmlns="…/addressing">urn:hl7-org:v3:PRPA_IN201307UV02</Action>
        <wsse:Security xmlns:wsse="…">(the VIHF saml2:Assertion)</wsse:Security>
      </soap:Header>
      <soap:Body>(the request)</soap:Body>
    </soap:Envelope>

``mustUnderstand`` is written unqualified, as in every official example (a
server must accept both that and ``soap:mustUnderstand``).

Reading an answer: :func:`read_http_response` turns an HTTP status, content
type and body into the body's first element, or raises only typed errors:
``DmpServiceError`` for a SOAP fault (whatever the HTTP status),
``DmpProtocolError`` for anything unreadable, hostile or unexpected, and
``HostUnreachableError`` / ``TimeoutError_`` for gateway statuses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.mtom import MULTIPART_RELATED, media_type, parse_mtom
from dmp_desktop.dmp.xmlutil import (
    Element,
    child,
    element_children,
    is_element,
    qn,
    text,
)
from dmp_desktop.errors import (
    DmpProtocolError,
    DmpServiceError,
    HostUnreachableError,
    TimeoutError_,
)

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
_XML_CONTENT_TYPES = frozenset({"application/soap+xml", "application/xml", "text/xml"})
_MAX_CODE_LEN = 120
_MAX_DETAIL_LEN = 300
_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


def new_message_id() -> str:
    """A WS-Addressing message id: ``urn:uuid:<random uuid>``."""
    return f"urn:uuid:{uuid.uuid4()}"


def soap_content_type(action: str) -> str:
    """HTTP Content-Type of a SOAP 1.2 request, the action as a parameter."""
    return f'{ns.SOAP12_CONTENT_TYPE}; charset=utf-8; action="{action}"'


@dataclass(frozen=True)
class SoapRequest:
    """A serialised request envelope and what the answer must relate to."""

    message_id: str
    action: str
    to: str
    data: bytes

    @property
    def content_type(self) -> str:
        return soap_content_type(self.action)


@dataclass(frozen=True)
class SoapResponse:
    """The first element of an answer's body and its WS-Addressing headers."""

    body: Element
    action: str | None
    message_id: str | None
    relates_to: str | None


def build_envelope(
    body: Element,
    *,
    action: str,
    to: str,
    security_tokens: Sequence[Element] = (),
    message_id: str | None = None,
) -> SoapRequest:
    """Wrap ``body`` (and the VIHF in ``security_tokens``) in a SOAP 1.2 envelope.

    The elements passed in are moved into the new tree (lxml semantics).
    """
    message_id = message_id or new_message_id()
    envelope = etree.Element(qn(ns.SOAP12, "Envelope"), nsmap={"soap": ns.SOAP12})
    header = etree.SubElement(envelope, qn(ns.SOAP12, "Header"))

    def wsa(parent: Element, local: str, value: str | None = None) -> Element:
        el = etree.SubElement(parent, qn(ns.WSA, local), nsmap={None: ns.WSA})
        if value is not None:
            el.text = value
        return el

    wsa(header, "MessageID", message_id)
    wsa(header, "To", to)
    reply_to = wsa(header, "ReplyTo")
    reply_to.set("mustUnderstand", "true")
    address = etree.SubElement(reply_to, qn(ns.WSA, "Address"))
    address.text = ns.WSA_ANONYMOUS
    wsa(header, "Action", action).set("mustUnderstand", "true")
    if security_tokens:
        security = etree.SubElement(header, qn(ns.WSSE, "Security"), nsmap={"wsse": ns.WSSE})
        for token in security_tokens:
            security.append(token)
    soap_body = etree.SubElement(envelope, qn(ns.SOAP12, "Body"))
    soap_body.append(body)
    data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return SoapRequest(message_id=message_id, action=action, to=to, data=data)


# --- reading answers --------------------------------------------------------------------------


def _clean_code(value: str | None) -> str | None:
    """The local part of a QName-like fault code, if it looks like a code at all."""
    if not value:
        return None
    local = value.strip().rsplit(":", 1)[-1].strip()
    if len(local) > _MAX_CODE_LEN or not _CODE_RE.match(local):
        return None
    return local


def _fault_error(fault: Element) -> DmpServiceError:
    """A SOAP 1.2 Fault -> DmpServiceError(code, detail).

    The code is the innermost ``Subcode/Value`` (e.g. ``DMPAccessDenied``);
    without a subcode, a code-like ``Reason/Text`` or a ``DMP…`` code found in
    ``Detail``; else the top ``Code/Value`` (``Sender`` / ``Receiver``).
    """
    code_el = child(fault, ns.SOAP12, "Code")
    top = _clean_code(text(child(code_el, ns.SOAP12, "Value")))
    sub_code: str | None = None
    sub = child(code_el, ns.SOAP12, "Subcode")
    depth = 0
    while sub is not None and depth < 16:
        sub_code = _clean_code(text(child(sub, ns.SOAP12, "Value"))) or sub_code
        sub = child(sub, ns.SOAP12, "Subcode")
        depth += 1
    reason = text(child(child(fault, ns.SOAP12, "Reason"), ns.SOAP12, "Text"))
    detail_code: str | None = None
    detail_el = child(fault, ns.SOAP12, "Detail")
    if detail_el is not None:
        for node in detail_el.iter():
            if not is_element(node):
                continue
            candidate = _clean_code((node.text or "").strip())
            if candidate and candidate.startswith("DMP"):
                detail_code = candidate
                break
    reason_code = _clean_code(reason) if reason and " " not in reason.strip() else None
    code = sub_code or reason_code or detail_code or top or "SOAPFault"
    detail = (reason or "")[:_MAX_DETAIL_LEN]
    return DmpServiceError(code, detail)


def parse_envelope(
    data: bytes,
    *,
    expected_action: str | None = None,
    relates_to: str | None = None,
) -> SoapResponse:
    """Parse a SOAP 1.2 answer; raise its fault, check WS-A, return the body's first child.

    ``expected_action`` and ``relates_to`` are checked only when the answer
    carries the header (the official answers carry both).
    """
    try:
        root = xmlsafe.parse(data)
    except xmlsafe.UnsafeXmlError as exc:
        raise DmpProtocolError(f"unreadable answer: {exc}") from None
    except (etree.LxmlError, ValueError) as exc:  # defensive: lxml corner cases
        raise DmpProtocolError(f"unreadable answer: {type(exc).__name__}") from None
    return read_envelope(root, expected_action=expected_action, relates_to=relates_to)


def read_envelope(
    root: Element,
    *,
    expected_action: str | None = None,
    relates_to: str | None = None,
) -> SoapResponse:
    """:func:`parse_envelope` on an already parsed (and safe) tree."""
    if root.tag == qn(SOAP11, "Envelope"):
        raise DmpProtocolError("SOAP 1.1 envelope where SOAP 1.2 is expected")
    if root.tag != qn(ns.SOAP12, "Envelope"):
        raise DmpProtocolError("answer is not a SOAP 1.2 envelope")
    header = child(root, ns.SOAP12, "Header")
    body = child(root, ns.SOAP12, "Body")
    if body is None:
        raise DmpProtocolError("SOAP envelope without a body")
    first = next(element_children(body), None)
    if first is None:
        raise DmpProtocolError("empty SOAP body")
    if first.tag == qn(ns.SOAP12, "Fault"):
        raise _fault_error(first)
    action = text(child(header, ns.WSA, "Action"))
    message_id = text(child(header, ns.WSA, "MessageID"))
    answer_relates_to = text(child(header, ns.WSA, "RelatesTo"))
    if relates_to is not None and answer_relates_to is not None and answer_relates_to != relates_to:
        raise DmpProtocolError("answer relates to another request")
    if expected_action is not None and action is not None and action != expected_action:
        raise DmpProtocolError("unexpected WS-Addressing action in the answer")
    return SoapResponse(
        body=first, action=action, message_id=message_id, relates_to=answer_relates_to
    )


def is_xml_media(content_type: str | None) -> bool:
    """Whether an answer of this content type is the SOAP envelope itself (no MIME parts)."""
    media = media_type(content_type)
    return media is None or media in _XML_CONTENT_TYPES


def envelope_bytes(content_type: str | None, data: bytes) -> bytes:
    """The SOAP envelope of a 2xx answer: the body itself, or the root part of a multipart."""
    return _envelope_bytes(content_type, data)


def _envelope_bytes(content_type: str | None, data: bytes) -> bytes:
    media = media_type(content_type)
    if media is None or media in _XML_CONTENT_TYPES:
        return data
    if media == MULTIPART_RELATED:
        # The one strict reader (dmp/mtom.py): a truncated or malformed body is refused.
        return parse_mtom(content_type or "", data).root
    raise DmpProtocolError(f"unexpected content type {media}")


def read_http_response(
    status: int,
    content_type: str | None,
    data: bytes,
    *,
    expected_action: str | None = None,
    relates_to: str | None = None,
) -> SoapResponse:
    """HTTP answer -> SoapResponse, or a typed error (see the module docstring)."""
    if 200 <= status < 300:
        return parse_envelope(
            _envelope_bytes(content_type, data),
            expected_action=expected_action,
            relates_to=relates_to,
        )
    if status >= 400 and data:
        # SOAP 1.2 over HTTP: faults come with 500 (Receiver) or 400 (Sender).
        try:
            parse_envelope(_envelope_bytes(content_type, data))
        except DmpServiceError:
            raise
        except DmpProtocolError:
            pass
    if status in (502, 503):
        raise HostUnreachableError(f"HTTP {status}")
    if status == 504:
        raise TimeoutError_()
    raise DmpProtocolError(f"HTTP {status}")
