"""The host's own reading of a VIHF (the SAML 2.0 assertion in ``wsse:Security``).

Written from the CNAM's example tokens (``dmp-messages/…/Exemples Jeton
VIHF``) and ``reference/dmp-wire.md``, not from the client's builder: the
judge reads what is on the wire. Attribute names are compared without case
(the official tokens write both ``Authentification_mode`` and
``…_Mode``). Coded attributes (``Role``, ``PurposeOfUse``) are HL7 ``CE``
elements in the ``AttributeValue``; a plain ``code^codeSystem`` string is
read too. Nothing here checks a signature (:mod:`dmp_sandbox.signatures`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_sandbox import wire


class VihfUnreadable(ValueError):
    """Not a VIHF the host can read (no assertion, no NameID, a bad date)."""


@dataclass(frozen=True)
class Coded:
    """An HL7 CE of a VIHF attribute."""

    code: str
    code_system: str | None = None


@dataclass(frozen=True)
class VihfClaims:
    """What a VIHF claims (the host believes none of it without checking)."""

    name_id: str
    assertion_id: str | None = None
    issue_instant: dt.datetime | None = None
    issuer: str | None = None
    authn_context: str | None = None
    auth_mode: str | None = None
    roles: tuple[Coded, ...] = ()
    purpose_of_use: str | None = None
    purpose_code_system: str | None = None
    resource_id: str | None = None
    ins_value: str | None = None
    ins_root: str | None = None
    structure_id: str | None = None
    activity_sector: str | None = None
    subject_name: str | None = None
    signed: bool = False
    # Every attribute by its name (lower case): its string values, or "code^codeSystem".
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def attribute(self, name: str) -> str | None:
        values = self.attributes.get(name.lower())
        return values[0] if values else None

    @property
    def activity_sector_code(self) -> str | None:
        return self.activity_sector.split("^", 1)[0] if self.activity_sector else None

    def role_codes(self, code_system: str | None = None) -> list[str]:
        return [r.code for r in self.roles if code_system is None or r.code_system == code_system]

    def patient_ins(self) -> Ins | None:
        """The INS of the resource id; :class:`VihfUnreadable` when it is not one."""
        if self.ins_value is None:
            return None
        try:
            kind = InsKind.from_oid(self.ins_root) if self.ins_root else InsKind.NIR
            return Ins(self.ins_value, kind)
        except InsError:
            raise VihfUnreadable("resource-id") from None


def cx_parts(value: str) -> tuple[str, str | None]:
    """(id, assigning authority OID) of an HL7 v2 CX ``id^^^&oid&ISO^type``."""
    parts = value.split("^")
    ident = parts[0].strip()
    root = None
    if len(parts) > 3:
        authority = parts[3].split("&")
        if len(authority) > 1 and authority[1].strip():
            root = authority[1].strip()
    return ident, root


def _s(local: str) -> str:
    return f"{{{wire.SAML2}}}{local}"


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    value = (element.text or "").strip()
    return value or None


def _coded(value: etree._Element) -> Coded | None:
    inner = next((c for c in value if isinstance(c.tag, str)), None)
    if inner is not None:
        code = (inner.get("code") or "").strip()
        return Coded(code, (inner.get("codeSystem") or "").strip() or None) if code else None
    raw = (value.text or "").strip()
    if not raw:
        return None
    code, _, system = raw.partition("^")
    return Coded(code, system or None)


def _instant(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise VihfUnreadable("IssueInstant") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def read_vihf_claims(assertion: etree._Element) -> VihfClaims:
    """The claims of a ``saml2:Assertion``; :class:`VihfUnreadable` when it is not a VIHF."""
    if assertion.tag != _s("Assertion"):
        raise VihfUnreadable("Assertion")
    name_id = _text(assertion.find(f"{_s('Subject')}/{_s('NameID')}"))
    if not name_id:
        raise VihfUnreadable("NameID")
    authn = None
    for ref in assertion.iterfind(
        f"{_s('AuthnStatement')}/{_s('AuthnContext')}/{_s('AuthnContextClassRef')}"
    ):
        authn = _text(ref)
        if authn:
            break
    values: dict[str, list[etree._Element]] = {}
    for attribute in assertion.iterfind(f"{_s('AttributeStatement')}/{_s('Attribute')}"):
        name = (attribute.get("Name") or "").strip().lower()
        if name:
            values.setdefault(name, []).extend(attribute.findall(_s("AttributeValue")))

    def strings(name: str) -> tuple[str, ...]:
        out: list[str] = []
        for value in values.get(name.lower(), []):
            if any(isinstance(c.tag, str) for c in value):
                coded = _coded(value)
                if coded is not None:
                    system = coded.code_system
                    out.append(f"{coded.code}^{system}" if system else coded.code)
            elif (value.text or "").strip():
                out.append((value.text or "").strip())
        return tuple(out)

    def first(name: str) -> str | None:
        found = strings(name)
        return found[0] if found else None

    def coded(name: str) -> list[Coded]:
        return [c for c in (_coded(v) for v in values.get(name.lower(), [])) if c is not None]

    purposes = coded(wire.ATTR_PURPOSE)
    resource_id = first(wire.ATTR_RESOURCE_ID)
    ins_value = ins_root = None
    if resource_id:
        ident, ins_root = cx_parts(resource_id)
        ins_value = ident or None
    return VihfClaims(
        name_id=name_id,
        assertion_id=assertion.get("ID"),
        issue_instant=_instant(assertion.get("IssueInstant")),
        issuer=_text(assertion.find(_s("Issuer"))),
        authn_context=authn,
        auth_mode=first(wire.ATTR_AUTH_MODE),
        roles=tuple(coded(wire.ATTR_ROLE)),
        purpose_of_use=purposes[0].code if purposes else None,
        purpose_code_system=purposes[0].code_system if purposes else None,
        resource_id=resource_id,
        ins_value=ins_value,
        ins_root=ins_root,
        structure_id=first(wire.ATTR_STRUCTURE),
        activity_sector=first(wire.ATTR_SECTOR),
        subject_name=first(wire.ATTR_SUBJECT_ID),
        signed=assertion.find(f"{{{wire.DS}}}Signature") is not None,
        attributes={name: strings(name) for name in values},
    )
