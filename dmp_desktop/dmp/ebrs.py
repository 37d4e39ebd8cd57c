"""ebXML Registry (ebRIM / ebRS 3.0) pieces shared by the XDS transactions.

Slots, localized strings, stored-query parameter values, and the
``RegistryResponse`` status with its ``RegistryErrorList``:

* a response whose status is ``…:Failure``, or that lists an error of
  severity ``…:Error``, raises ``DmpServiceError(errorCode, codeContext)``
  (the first error);
* errors of severity ``…:Warning`` are kept as :class:`RegistryError` values
  for the caller to show (``PartialSuccess`` answers carry them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from dmp_desktop.dmp.xmlutil import Element, attr, child, children, qn
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"

STATUS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
STATUS_PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
STATUS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEVERITY_WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

_MAX_CODE_LEN = 120
_MAX_CONTEXT_LEN = 300


@dataclass(frozen=True)
class RegistryError:
    """One ``RegistryError`` of a ``RegistryErrorList``."""

    code: str
    context: str = ""
    severity: str = SEVERITY_ERROR
    location: str = ""

    @property
    def is_error(self) -> bool:
        return not self.severity.endswith(":Warning")


# --- building ---------------------------------------------------------------------------------


def add_slot(parent: Element, name: str, values: Iterable[str], *, prefix_ns: str = RIM) -> Element:
    """``<Slot name=…><ValueList><Value>…</Value>…</ValueList></Slot>`` under ``parent``."""
    slot = etree.SubElement(parent, qn(prefix_ns, "Slot"))
    slot.set("name", name)
    value_list = etree.SubElement(slot, qn(prefix_ns, "ValueList"))
    for value in values:
        etree.SubElement(value_list, qn(prefix_ns, "Value")).text = value
    return slot


def quoted(value: str) -> str:
    """A stored-query string parameter: ``'value'`` (quotes doubled inside, per ebRS)."""
    return "'" + value.replace("'", "''") + "'"


def quoted_list(values: Sequence[str]) -> str:
    """A stored-query list parameter: ``('a','b')``."""
    if not values:
        raise ValueError("an empty list is not a valid query parameter")
    return "(" + ",".join(quoted(v) for v in values) + ")"


def unquote_values(raw: str) -> list[str]:
    """The strings of a parameter value: ``'x'``, ``('x','y')`` or a bare token."""
    text = raw.strip()
    if text.startswith("(") != text.endswith(")"):
        raise DmpProtocolError("unbalanced list in a query value")
    if text.startswith("("):
        text = text[1:-1]
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n,":
            i += 1
            continue
        if ch == "'":
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    raise DmpProtocolError("unterminated quoted query value")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        buf.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
            out.append("".join(buf))
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            out.append(text[i:end].strip())
            i = end
    return out


# --- reading ----------------------------------------------------------------------------------


def slot_values(el: Element | None, name: str) -> list[str]:
    """Values of the slot ``name`` directly under ``el`` (all slots of that name)."""
    out: list[str] = []
    for slot in children(el, RIM, "Slot"):
        if slot.get("name") != name:
            continue
        for value in children(child(slot, RIM, "ValueList"), RIM, "Value"):
            out.append(value.text or "")
    return out


def slot_value(el: Element | None, name: str) -> str | None:
    values = [v.strip() for v in slot_values(el, name) if v.strip()]
    return values[0] if values else None


def all_slots(el: Element | None) -> dict[str, list[str]]:
    """Every slot directly under ``el``: name -> values (in order)."""
    out: dict[str, list[str]] = {}
    for slot in children(el, RIM, "Slot"):
        name = slot.get("name")
        if not name:
            continue
        values = out.setdefault(name, [])
        for value in children(child(slot, RIM, "ValueList"), RIM, "Value"):
            values.append(value.text or "")
    return out


def localized(el: Element | None, local: str) -> str:
    """The first ``LocalizedString/@value`` of ``<Name>`` / ``<Description>`` under ``el``."""
    holder = child(el, RIM, local)
    string = child(holder, RIM, "LocalizedString")
    return (attr(string, "value") or "").strip()


def _clip(value: str | None, size: int) -> str:
    return (value or "").strip()[:size]


def registry_errors(response: Element | None) -> list[RegistryError]:
    """The ``RegistryErrorList`` of a ``RegistryResponse`` (or an ``AdhocQueryResponse``)."""
    out: list[RegistryError] = []
    for error in children(child(response, RS, "RegistryErrorList"), RS, "RegistryError"):
        code = _clip(error.get("errorCode"), _MAX_CODE_LEN)
        context = _clip(error.get("codeContext") or (error.text or ""), _MAX_CONTEXT_LEN)
        out.append(
            RegistryError(
                code=code or "XDSRegistryError",
                context=context,
                severity=(error.get("severity") or SEVERITY_ERROR).strip(),
                location=_clip(error.get("location"), _MAX_CONTEXT_LEN),
            )
        )
    return out


def check_response(response: Element) -> list[RegistryError]:
    """Raise the response's first error; return its warnings.

    ``response`` is a ``rs:RegistryResponse`` or a ``query:AdhocQueryResponse``
    (same status attribute and error list).
    """
    status = (response.get("status") or "").strip()
    if not status:
        raise DmpProtocolError("registry response without a status")
    errors = registry_errors(response)
    failures = [e for e in errors if e.is_error]
    if status.endswith(":Failure") or (failures and not status.endswith(":PartialSuccess")):
        first = failures[0] if failures else None
        if first is None:
            raise DmpServiceError("XDSRegistryError", "")
        raise DmpServiceError(first.code, first.context)
    if not (status.endswith(":Success") or status.endswith(":PartialSuccess")):
        raise DmpProtocolError("unknown registry response status")
    return errors


__all__ = [
    "LCM",
    "QUERY",
    "RIM",
    "RS",
    "SEVERITY_ERROR",
    "SEVERITY_WARNING",
    "STATUS_FAILURE",
    "STATUS_PARTIAL_SUCCESS",
    "STATUS_SUCCESS",
    "RegistryError",
    "add_slot",
    "all_slots",
    "check_response",
    "localized",
    "quoted",
    "quoted_list",
    "registry_errors",
    "slot_value",
    "slot_values",
    "unquote_values",
]
