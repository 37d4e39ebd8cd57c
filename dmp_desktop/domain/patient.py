"""The patient's national health identifier (INS) and its NIR key."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.messages import Msg, msg, render
from dmp_desktop.messages import text as message_text


class InsKind(enum.Enum):
    """Assigning authority of an INS (OID of the identifier's root)."""

    NIR = "1.2.250.1.213.1.4.8"
    NIA = "1.2.250.1.213.1.4.9"
    TEST_NIR = "1.2.250.1.213.1.4.10"
    DEMO_NIR = "1.2.250.1.213.1.4.11"

    @classmethod
    def from_oid(cls, oid: str) -> InsKind:
        for kind in cls:
            if kind.value == oid:
                return kind
        raise InsError("ins.unknown_authority", oid=oid)


class InsError(DmpDesktopError, ValueError):
    """An INS that cannot be used; ``describe`` gives the French (``ins.*`` messages)."""

    def __init__(self, message_id: str, **params: str) -> None:
        super().__init__(message_id)
        self.reason_id = message_id
        self.params = params

    def message(self) -> Msg:
        return msg(self.reason_id, **self.params)


_NIR_RE = re.compile(r"^[12378][0-9]{2}[0-9]{2}(?:[0-9]{2}|2A|2B)[0-9]{3}[0-9]{3}[0-9]{2}$")


def _numeric_nir(nir13: str) -> int:
    # Corsica: 2A and 2B are replaced by 19 and 18 for the key computation.
    return int(nir13.upper().replace("2A", "19").replace("2B", "18"))


def nir_key(nir13: str) -> int:
    """The 2-digit control key of a 13-character NIR: 97 - (NIR mod 97)."""
    if len(nir13) != 13:
        raise InsError("ins.nir_length")
    return 97 - (_numeric_nir(nir13) % 97)


def normalize_ins_text(text: str) -> str:
    """Strip the spaces, dots and dashes people type between NIR groups."""
    return re.sub(r"[\s.\-]", "", text).upper()


@dataclass(frozen=True)
class InsCheck:
    """Result of checking what the user typed so far (for as-you-type feedback)."""

    complete: bool
    valid: bool
    message: str


def check_ins_text(text: str) -> InsCheck:
    """Check a possibly incomplete INS as the user types it."""
    value = normalize_ins_text(text)
    if not value:
        return InsCheck(False, False, message_text("ins.typing.empty"))
    if not re.fullmatch(r"[0-9AB]*", value):
        return InsCheck(False, False, message_text("ins.typing.not_digits"))
    if len(value) < 15:
        return InsCheck(False, False, message_text("ins.typing.count", count=len(value)))
    if len(value) > 15:
        return InsCheck(True, False, message_text("ins.typing.too_long"))
    try:
        Ins.parse(value)
    except InsError as exc:
        return InsCheck(True, False, render(exc.message()))
    return InsCheck(True, True, message_text("ins.typing.valid"))


@dataclass(frozen=True)
class Ins:
    """A patient's INS: a 15-character NIR/NIA (13 + key) and its authority."""

    value: str
    kind: InsKind = InsKind.NIR

    def __post_init__(self) -> None:
        if not _NIR_RE.match(self.value):
            raise InsError("ins.length")
        key = int(self.value[13:])
        if nir_key(self.value[:13]) != key:
            raise InsError("ins.key_mismatch")

    @classmethod
    def parse(cls, text: str, kind: InsKind | None = None) -> Ins:
        value = normalize_ins_text(text)
        return cls(value, kind or InsKind.NIR)

    @property
    def oid(self) -> str:
        return self.kind.value

    def cx(self) -> str:
        """HL7v2 CX form used in VIHF and XDS: value^^^&oid&ISO^NH."""
        return f"{self.value}^^^&{self.oid}&ISO^NH"

    def masked(self) -> str:
        """A form safe to show in logs or diagnostics (never the full INS)."""
        return f"{self.value[:1]}************{self.value[-2:]}"
