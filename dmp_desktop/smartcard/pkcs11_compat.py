"""Small additions to python-pkcs11 0.10."""

from __future__ import annotations

import struct

import pkcs11.attributes
from pkcs11 import Attribute

# python-pkcs11 0.10 has no handler for CKA_ALLOWED_MECHANISMS (an array of CK_ULONG);
# without one it crashes in native code when the attribute is used.
pkcs11.attributes.ATTRIBUTE_TYPES.setdefault(
    Attribute.ALLOWED_MECHANISMS,
    (
        lambda mechs: b"".join(struct.pack("L", int(m)) for m in mechs),
        lambda raw: [m for (m,) in struct.iter_unpack("L", raw)],
    ),
)
