"""A patient's DMP administrative data (TD1.3) and online access (TD1.5), plain values.

The identity traits (names, sex, birth date) come from the INS referential:
TD1.3b carries them unchanged, only the contacts, the address and the two
emergency choices are edited. Contacts are checked here, before anything is
sent: a French mobile number (``06`` / ``07`` and 8 digits; ``+33`` accepted),
a French landline, an e-mail address. Invalid input raises
:class:`~dmp_desktop.errors.InvalidContactError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import InvalidContactError

__all__ = [
    "OTP_EMAIL",
    "OTP_SMS",
    "AdministrativeData",
    "LegalRepresentativeContact",
    "OnlineAccessCredentials",
    "PostalAddress",
    "check_email",
    "check_mobile",
    "check_phone",
    "check_postal_code",
]

OTP_SMS = "SMS"
OTP_EMAIL = "EMAIL"

_MAX_EMAIL = 254
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
_SEPARATORS = re.compile(r"[\s.\-()]")


def _digits(text: str) -> str:
    raw = _SEPARATORS.sub("", text.strip())
    if raw.startswith("+33"):
        raw = "0" + raw[3:]
    elif raw.startswith("0033"):
        raw = "0" + raw[4:]
    return raw


def check_mobile(text: str) -> str:
    """A French mobile number as ten digits (``0612345678``), or InvalidContactError."""
    number = _digits(text)
    if re.fullmatch(r"0(?:6\d|7[3-9])\d{7}", number) is None:
        raise InvalidContactError("mobile")
    return number


def check_phone(text: str) -> str:
    """A French phone number (landline or mobile) as ten digits, or InvalidContactError."""
    number = _digits(text)
    if re.fullmatch(r"0[1-9]\d{8}", number) is None:
        raise InvalidContactError("phone")
    return number


def check_email(text: str) -> str:
    """A plausible e-mail address (trimmed), or InvalidContactError."""
    value = text.strip()
    if len(value) > _MAX_EMAIL or _EMAIL.fullmatch(value) is None or ".." in value:
        raise InvalidContactError("email")
    return value


def check_postal_code(text: str) -> str:
    """A French postal code (5 digits), or InvalidContactError."""
    value = text.strip()
    if re.fullmatch(r"\d{5}", value) is None:
        raise InvalidContactError("postal_code")
    return value


@dataclass(frozen=True)
class PostalAddress:
    lines: tuple[str, ...] = ()
    postal_code: str = ""
    city: str = ""
    country: str = ""

    @property
    def empty(self) -> bool:
        return not (any(self.lines) or self.postal_code or self.city or self.country)


@dataclass(frozen=True)
class LegalRepresentativeContact:
    """A minor's legal representative, and how to reach them (``personalRelationship``)."""

    family_name: str
    given_name: str
    relationship: str = "GUARD"  # HL7 PersonalRelationshipRoleType: FTH, MTH, GUARD...
    home_phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    address: PostalAddress = field(default_factory=PostalAddress)


@dataclass(frozen=True)
class AdministrativeData:
    """What TD1.3a returns and TD1.3b sends back (identity traits read-only)."""

    ins: Ins
    family_name: str
    given_name: str
    gender: str  # M / F / U
    birth_date: date | None
    status: str = "active"  # active / terminated
    dmp_id: str | None = None
    prefix: str | None = None
    deceased: bool | None = None
    home_phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    address: PostalAddress = field(default_factory=PostalAddress)
    legal_representatives: tuple[LegalRepresentativeContact, ...] = ()
    opposition_bris_de_glace: bool = False
    opposition_centre_15: bool = False

    @property
    def closed(self) -> bool:
        return self.status != "active"

    def checked(self) -> AdministrativeData:
        """A copy with the contacts normalised; InvalidContactError for a bad one."""
        from dataclasses import replace

        def opt(check: object, value: str | None) -> str | None:
            value = (value or "").strip()
            return check(value) if value else None  # type: ignore[operator]

        address = self.address
        if address.postal_code.strip():
            address = replace(address, postal_code=check_postal_code(address.postal_code))
        reps = tuple(
            replace(
                rep,
                home_phone=opt(check_phone, rep.home_phone),
                mobile=opt(check_mobile, rep.mobile),
                email=opt(check_email, rep.email),
            )
            for rep in self.legal_representatives
        )
        return replace(
            self,
            home_phone=opt(check_phone, self.home_phone),
            mobile=opt(check_mobile, self.mobile),
            email=opt(check_email, self.email),
            address=address,
            legal_representatives=reps,
        )


@dataclass(frozen=True)
class OnlineAccessCredentials:
    """TD1.5a / TD1.5d answer: the patient's login and temporary password.

    The professional hands them to the patient (printed); they are never
    logged nor stored by this software. ``repr`` hides the password.
    """

    login: str | None
    temporary_password: str | None = field(default=None, repr=False)
    status: str = "DMPOk"
    context: str = ""
