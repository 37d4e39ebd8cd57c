"""The CPS card's data objects, read the way the Cryptolib CPS presents them.

The Cryptolib CPS (ANS, ``ansforge/dops-cryptolib``: external PKCS#11
specification v2.0.0, §"Gestion des objets métier CPS") exposes the card's
business data as ``CKO_DATA`` objects whose value is the card file *as read*
(BER-TLV, "remontés tels que lus sur la carte, au format ASN.1"):

- ``CPS_INFO_PS`` (free access): the holder's professional characteristics.
  Its detailed layout is in an ANS document that is not public
  ("ASIP_CPS3_Données-métier"); what public material says is that the
  specialty code (R01, e.g. ``SM26``) is its **last** value (the GIE
  SESAM-Vitale / ANS training code for the DMP reads the last four
  characters). We read it as BER-TLV and take the last primitive value, and
  only when it is a specialty code known for the holder's profession
  (J01 value set); anything else reads as "no specialty".
- ``CPS_ACTIVITY_01_PS`` … ``CPS_ACTIVITY_16_PS`` (behind the PIN): one per
  practice situation, possibly not contiguous. Each is a constructed TLV
  ``0xEE`` holding ``0x84`` the structure's name (raison sociale), ``0x85`` its
  national id (``Struct_IdNat``, the VIHF's ``Identifiant_Structure``) and
  ``0x86`` the activity sector (J02, e.g. ``SA07``); other tags are ignored.
  (Read on a real CPS3 test card by a public DMP client; the ANS sample code
  takes the sector as the object's last four characters, which agrees.)

The certificate carries the profession and specialty too
(:mod:`dmp_desktop.smartcard.identity`); these objects complete it. The
training cards (``dmp-sandbox card create``) carry the same objects, so the
training path and the real path are the same code. Parsing is defensive:
size and depth limits, anything malformed reads as "not understood"
(``None``), never as an error and never as another profession.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INFO_PS_LABEL = "CPS_INFO_PS"
ACTIVITY_LABELS = tuple(f"CPS_ACTIVITY_{i:02d}_PS" for i in range(1, 17))

_MAX_SIZE = 4096
_MAX_DEPTH = 4
_CLASS_CONTEXT = 2
_CLASS_PRIVATE = 3
_ACTIVITY_TAG = 14  # 0xEE: private, constructed, 14
_TAG_NAME, _TAG_STRUCTURE, _TAG_SECTOR = 4, 5, 6  # 0x84, 0x85, 0x86

_SPECIALTY = re.compile(r"^[A-Z]{1,4}[0-9]{2,3}$")
_STRUCTURE_ID = re.compile(r"^[0-9A-Za-z]{1,30}$")
_SECTOR = re.compile(r"^SA[0-9]{2}$")


@dataclass(frozen=True)
class PracticeSituation:
    """One practice situation of the card (``CPS_ACTIVITY_nn_PS``)."""

    index: int  # nn of the object's label, 1..16
    structure_id: str  # Struct_IdNat
    structure_name: str
    activity_sector: str | None  # J02 code, e.g. "SA07"

    @property
    def label(self) -> str:
        return (
            f"{self.structure_name} ({self.structure_id})"
            if self.structure_name
            else (self.structure_id)
        )


@dataclass(frozen=True)
class _Tlv:
    cls: int
    constructed: bool
    tag: int
    value: bytes


def _parse_all(data: bytes) -> list[_Tlv]:
    """The TLVs one after the other in ``data``; ValueError when it is not BER-TLV."""
    from asn1crypto import parser  # read on the card thread; the window starts without it

    out: list[_Tlv] = []
    rest = data
    while rest:
        if rest.strip(b"\x00\xff") == b"":
            break  # padding at the end of a card file
        cls, method, tag, header, contents, trailer = parser.parse(rest, strict=False)
        out.append(_Tlv(cls, method == 1, tag, bytes(contents)))
        consumed = len(header) + len(contents) + len(trailer)
        if consumed <= 0:
            raise ValueError("empty TLV")
        rest = rest[consumed:]
    return out


def _leaves(data: bytes, depth: int = 0) -> list[_Tlv]:
    if depth > _MAX_DEPTH:
        raise ValueError("too deep")
    leaves: list[_Tlv] = []
    for tlv in _parse_all(data):
        if tlv.constructed:
            leaves.extend(_leaves(tlv.value, depth + 1))
        else:
            leaves.append(tlv)
    return leaves


def _text(value: bytes) -> str:
    return value.decode("utf-8").strip().strip("\x00").strip()


def specialty_from_info_ps(data: bytes | None) -> str | None:
    """The specialty code (R01) of ``CPS_INFO_PS``: its last value, when it looks like one.

    The caller checks the code against the holder's profession.
    """
    if not data or len(data) > _MAX_SIZE:
        return None
    try:
        leaves = _leaves(bytes(data))
        if not leaves:
            return None
        code = _text(leaves[-1].value)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    return code if _SPECIALTY.match(code) else None


def decode_activity(index: int, data: bytes | None) -> PracticeSituation | None:
    """A ``CPS_ACTIVITY_nn_PS`` object; None when absent, empty or not understood."""
    if not data or len(data) > _MAX_SIZE:
        return None
    try:
        top = _parse_all(bytes(data))
        if not top or top[0].cls != _CLASS_PRIVATE or top[0].tag != _ACTIVITY_TAG:
            return None
        fields: dict[int, str] = {}
        for tlv in _parse_all(top[0].value):
            if tlv.cls == _CLASS_CONTEXT and not tlv.constructed:
                fields.setdefault(tlv.tag, _text(tlv.value))
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    structure_id = fields.get(_TAG_STRUCTURE, "")
    if not _STRUCTURE_ID.match(structure_id):
        return None
    sector = fields.get(_TAG_SECTOR) or None
    return PracticeSituation(
        index=index,
        structure_id=structure_id,
        structure_name=" ".join(fields.get(_TAG_NAME, "").split())[:200],
        activity_sector=sector if sector and _SECTOR.match(sector) else None,
    )


def choose_situation(
    situations: tuple[PracticeSituation, ...], preferred: str | None
) -> PracticeSituation | None:
    """The situation to use without asking: the only one, or the preferred structure's."""
    if len(situations) == 1:
        return situations[0]
    wanted = (preferred or "").strip()
    if wanted:
        for situation in situations:
            if situation.structure_id == wanted:
                return situation
    return None


__all__ = [
    "ACTIVITY_LABELS",
    "INFO_PS_LABEL",
    "PracticeSituation",
    "choose_situation",
    "decode_activity",
    "specialty_from_info_ps",
]
