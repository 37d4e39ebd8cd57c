"""SOAP 1.2 + WS-Addressing on the host side: read a request envelope, write answers and faults.

Faults (SOAP 1.2, ``soap:Fault``) carry the DMP error code as the *subcode*
value, without a namespace prefix, and a French reason without any patient
data::

    <soap:Code>
      <soap:Value>soap:Sender</soap:Value>
      <soap:Subcode><soap:Value>DMPAuthenticationError</soap:Value></soap:Subcode>
    </soap:Code>
    <soap:Reason><soap:Text xml:lang="fr">...</soap:Text></soap:Reason>

Codes emitted by the training host (see :class:`FaultCode`):

================================ ============ ====== =====================================
code                             SOAP code    HTTP   when
================================ ============ ====== =====================================
``DMPAuthenticationError``       Sender       400    no VIHF, VIHF NameID ≠ TLS
                                                     certificate, role or mode refused
``DMPAccessDenied``              Sender       400    access refused by the host's rules
``DMPInvalidRequest``            Sender       400    malformed XML, DTD, not SOAP 1.2,
                                                     missing/unknown action, bad INS,
                                                     VIHF resource-id ≠ patient
                                              413    body over the service's size limit
                                              415    not ``application/soap+xml``
                                              404    unknown service
``DMPInternalError``             Receiver     500    unexpected error in the host
================================ ============ ====== =====================================

SOAP's own ``VersionMismatch`` (envelope not SOAP 1.2) and ``MustUnderstand``
(an unknown header marked ``soap:mustUnderstand``) are sent without subcode,
HTTP 500 as SOAP 1.2's HTTP binding prescribes.

Business refusals are not faults where the official material answers
otherwise: the consultation (TD3.1, TD3.2) and the alimentation (TD2.1,
TD3.3) answer XDS errors (HTTP 200, ``status`` Failure + ``RegistryErrorList``,
see :mod:`dmp_sandbox.consultation`, :mod:`dmp_sandbox.alimentation`,
:mod:`dmp_sandbox.updates`),
``setAuthorization`` (TD0.3) a ``status`` other than ``DMPOk`` (see
:mod:`dmp_sandbox.habilitations`).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from dmp_sandbox.mtom import MimePart, MtomMessage
from dmp_sandbox.wire import SOAP12, WSA, WSSE
from dmp_sandbox.xmlparse import XmlRefused, parse_xml

WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
WSA_FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# Headers the host processes (so mustUnderstand on them is honoured).
UNDERSTOOD_HEADERS = frozenset(
    {
        f"{{{WSA}}}Action",
        f"{{{WSA}}}MessageID",
        f"{{{WSA}}}To",
        f"{{{WSA}}}ReplyTo",
        f"{{{WSA}}}From",
        f"{{{WSA}}}FaultTo",
        f"{{{WSSE}}}Security",
    }
)


class FaultCode(enum.StrEnum):
    AUTHENTICATION = "DMPAuthenticationError"
    ACCESS_DENIED = "DMPAccessDenied"
    INVALID_REQUEST = "DMPInvalidRequest"
    INTERNAL = "DMPInternalError"
    # SOAP-level codes (no DMP subcode).
    VERSION_MISMATCH = "VersionMismatch"
    MUST_UNDERSTAND = "MustUnderstand"


_SOAP_LEVEL = {FaultCode.VERSION_MISMATCH, FaultCode.MUST_UNDERSTAND}


class SoapFault(Exception):
    """Raised anywhere in request handling; turned into a SOAP 1.2 fault."""

    def __init__(self, code: FaultCode, reason: str, *, http_status: int | None = None) -> None:
        super().__init__(code.value, reason)
        self.code = code
        self.reason = reason  # French, no patient data
        if http_status is None:
            http_status = 500 if code in _SOAP_LEVEL or code is FaultCode.INTERNAL else 400
        self.http_status = http_status

    @property
    def soap_code(self) -> str:
        if self.code in _SOAP_LEVEL:
            return self.code.value
        return "Receiver" if self.code is FaultCode.INTERNAL else "Sender"


def invalid(reason: str, http_status: int = 400) -> SoapFault:
    return SoapFault(FaultCode.INVALID_REQUEST, reason, http_status=http_status)


@dataclass
class SoapRequest:
    envelope: etree._Element
    payload: etree._Element  # first element child of soap:Body
    action: str
    message_id: str | None
    security: etree._Element | None
    # The MIME parts of an MTOM request (TD2.1), for its xop:Include references.
    attachments: MtomMessage | None = None


# Where an answer's children serialized apart go (see OperationAnswer.spliced).
SPLICE_TARGET = "dmp-host-spliced"


def splice_mark() -> etree._Element:
    """The processing instruction :func:`response_envelope` replaces with the spliced bytes."""
    return etree.ProcessingInstruction(SPLICE_TARGET)


@dataclass
class OperationAnswer:
    """An answer's body element and, for an MTOM answer (TD3.2), its binary parts.

    ``spliced``: children kept already serialized (a long TD3.1 list, entry by
    entry), written where the payload holds :func:`splice_mark`. It is given the
    namespace declarations in scope there and returns the very bytes the children
    would have had in the tree.
    """

    payload: etree._Element
    attachments: list[MimePart] = field(default_factory=list)
    spliced: Callable[[Mapping[str | None, str]], bytes] | None = None


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip() in ("true", "1")


def read_envelope(body: bytes, content_type_action: str | None, *, max_bytes: int) -> SoapRequest:
    """Parse and check a SOAP 1.2 request; raise :class:`SoapFault` when it is unusable."""
    try:
        root = parse_xml(body, max_bytes=max_bytes)
    except XmlRefused as exc:
        reason = {
            "document too large": "Message trop volumineux.",
            "malformed XML": "Message XML mal formé.",
        }.get(str(exc), "Message XML refusé : DTD et déclarations d'entités interdites.")
        raise invalid(reason, 413 if str(exc) == "document too large" else 400) from exc
    if etree.QName(root).localname != "Envelope":
        raise invalid("Le message n'est pas une enveloppe SOAP.")
    if etree.QName(root).namespace != SOAP12:
        raise SoapFault(FaultCode.VERSION_MISMATCH, "Seul SOAP 1.2 est accepté.")
    header = root.find(f"{{{SOAP12}}}Header")
    body_el = root.find(f"{{{SOAP12}}}Body")
    if body_el is None:
        raise invalid("Enveloppe SOAP sans corps (Body).")
    payload = next((c for c in body_el if isinstance(c.tag, str)), None)
    if payload is None:
        raise invalid("Corps SOAP vide.")
    wsa_action = message_id = None
    security = None
    if header is not None:
        for child in header:
            if not isinstance(child.tag, str):
                continue
            if child.tag not in UNDERSTOOD_HEADERS and _is_true(
                child.get(f"{{{SOAP12}}}mustUnderstand")
            ):
                raise SoapFault(
                    FaultCode.MUST_UNDERSTAND,
                    f"En-tête obligatoire non pris en charge : {etree.QName(child).localname}.",
                )
        wsa_action = _text(header.find(f"{{{WSA}}}Action"))
        message_id = _text(header.find(f"{{{WSA}}}MessageID"))
        security = header.find(f"{{{WSSE}}}Security")
    if wsa_action and content_type_action and wsa_action != content_type_action:
        raise invalid("L'action WS-Addressing ne correspond pas à celle du type de contenu.")
    action = wsa_action or content_type_action
    if not action:
        raise invalid("Action SOAP absente (WS-Addressing Action).")
    return SoapRequest(root, payload, action, message_id, security)


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _envelope(
    action: str, relates_to: str | None, extra_ns: dict[str, str] | None = None
) -> tuple[etree._Element, etree._Element]:
    nsmap: dict[str | None, str] = {"soap": SOAP12}
    for prefix, uri in (extra_ns or {}).items():
        nsmap[prefix] = uri
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(env, f"{{{SOAP12}}}Header")
    for name, value in (
        ("Action", action),
        ("MessageID", new_message_id()),
        ("To", WSA_ANONYMOUS),
        ("RelatesTo", relates_to),
    ):
        if value is None:
            continue
        el = etree.SubElement(header, f"{{{WSA}}}{name}", nsmap={None: WSA})
        el.text = value
    body = etree.SubElement(env, f"{{{SOAP12}}}Body")
    return env, body


def response_envelope(
    action: str,
    payload: etree._Element,
    relates_to: str | None,
    extra_ns: dict[str, str] | None = None,
    spliced: Callable[[Mapping[str | None, str]], bytes] | None = None,
) -> bytes:
    """The answer's envelope; with ``spliced``, see :class:`OperationAnswer`."""
    env, body = _envelope(action, relates_to, extra_ns)
    body.append(payload)
    if spliced is None:
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    marks = [pi for pi in payload.iter(etree.PI) if pi.target == SPLICE_TARGET]
    if len(marks) != 1:
        raise ValueError(f"one splice mark expected in the answer, {len(marks)} found")
    parent = marks[0].getparent()
    if parent is None:
        raise ValueError("the splice mark must be inside the payload")
    fragment = spliced(parent.nsmap)
    data = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    # The mark is the only processing instruction of the answer: texts are escaped.
    before, found, after = data.partition(etree.tostring(marks[0]))
    if not found:
        raise ValueError("splice mark not found in the serialized answer")
    return before + fragment + after


def fault_envelope(fault: SoapFault, relates_to: str | None) -> bytes:
    env, body = _envelope(WSA_FAULT_ACTION, relates_to)
    f = etree.SubElement(body, f"{{{SOAP12}}}Fault")
    code = etree.SubElement(f, f"{{{SOAP12}}}Code")
    etree.SubElement(code, f"{{{SOAP12}}}Value").text = f"soap:{fault.soap_code}"
    if fault.code not in _SOAP_LEVEL:
        sub = etree.SubElement(code, f"{{{SOAP12}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12}}}Value").text = fault.code.value
    reason = etree.SubElement(f, f"{{{SOAP12}}}Reason")
    text = etree.SubElement(reason, f"{{{SOAP12}}}Text")
    text.set(f"{{{XML_NS}}}lang", "fr")
    text.text = fault.reason
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
