"""The professional's data objects on the card: profession and specialty.

A real CPS card keeps the holder's professional situation in the data objects
``CPS_INFO_PS`` (readable without the PIN) and ``CPS_ACTIVITY_01..16_PS``
(behind the PIN), in a raw ASN.1 layout that is not public. DMP Desktop does
not guess at it: on a real card these objects are simply not understood, and
the practitioner is shown with the profession of the certificate only.

The training cards (``dmp-sandbox card create --specialty SM26``) carry
``CPS_INFO_PS`` in a layout of our own, the *training layout*, recognised by
its first field and documented here::

    TrainingInfoPs ::= SEQUENCE {
        layout      UTF8String,           -- exactly "DMPD-FORMATION-INFO-PS/1"
        profession  UTF8String,           -- G15 code (TRE_G15), e.g. "10" (médecin)
        specialty   UTF8String OPTIONAL   -- R01 code (TRE_R01), e.g. "SM26"
    }

DER only (definite lengths, minimal length octets); anything else, or any
other first field, reads as "not understood" (``None``), never as an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INFO_PS_LABEL = "CPS_INFO_PS"
TRAINING_LAYOUT = "DMPD-FORMATION-INFO-PS/1"
_MAX_SIZE = 4096

_SEQUENCE = 0x30
_UTF8_STRING = 0x0C
_CODE = re.compile(r"^[A-Za-z0-9_./-]{1,16}$")


@dataclass(frozen=True)
class CardProfessionalData:
    """What the card's data objects say about the holder's practice."""

    profession_code: str
    specialty_code: str | None = None


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        head = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + content


def _read_tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, content, next offset); ValueError on anything but minimal DER."""
    if offset + 2 > len(data):
        raise ValueError("truncated")
    tag = data[offset]
    first = data[offset + 1]
    offset += 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 2 or offset + count > len(data):
            raise ValueError("bad length")
        size = int.from_bytes(data[offset : offset + count], "big")
        if size < 0x80 or data[offset] == 0:
            raise ValueError("length not minimal")
        offset += count
    end = offset + size
    if end > len(data):
        raise ValueError("truncated")
    return tag, data[offset:end], end


def encode_info_ps(profession_code: str, specialty_code: str | None = None) -> bytes:
    """The training layout of ``CPS_INFO_PS`` (used by the training card factory)."""
    for code in (profession_code, specialty_code):
        if code is not None and not _CODE.match(code):
            raise ValueError(f"invalid code: {code!r}")
    fields = [TRAINING_LAYOUT, profession_code]
    if specialty_code:
        fields.append(specialty_code)
    return _tlv(_SEQUENCE, b"".join(_tlv(_UTF8_STRING, f.encode("utf-8")) for f in fields))


def decode_info_ps(data: bytes | None) -> CardProfessionalData | None:
    """Read ``CPS_INFO_PS`` in the training layout; ``None`` for any other content."""
    if not data or len(data) > _MAX_SIZE:
        return None
    try:
        tag, body, end = _read_tlv(bytes(data), 0)
        if tag != _SEQUENCE or end != len(data):
            return None
        values: list[str] = []
        offset = 0
        while offset < len(body):
            tag, content, offset = _read_tlv(body, offset)
            if tag != _UTF8_STRING:
                return None
            values.append(content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if len(values) not in (2, 3) or values[0] != TRAINING_LAYOUT:
        return None
    codes = values[1:]
    if not all(_CODE.match(code) for code in codes):
        return None
    return CardProfessionalData(codes[0], codes[1] if len(codes) == 2 else None)
