"""The official forms of the identifiers a DMP request carries (IHE ITI TF-3 4.2.3, ebRIM 3.0).

- an **OID** (ISO/IEC 8824, dotted decimal, no leading zero, at most 64
  characters): ``XDSSubmissionSet.uniqueId`` and ``sourceId``,
  ``XDSDocumentEntry.uniqueId`` (ITI TF-3 Table 4.2.3.2.26: an OID, or an
  OID and an extension ``root^extension`` of at most 16 characters, as a CDA
  ``id`` gives it), ``repositoryUniqueId``;
- a **UUID** in its ``urn:uuid:`` form (RFC 4122, as ebRIM ids and IHE
  entryUUIDs are written): any ``id`` that claims to be one. Other ``id``
  values of a submission are symbolic (ebRIM allows them; the host gives
  such an object a UUID of its own).

Anything else — ``../../../x``, ``1' OR '1'='1`` — is refused before it
reaches the store.
"""

from __future__ import annotations

import re
import uuid

MAX_OID = 64
MAX_EXTENSION = 16
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_EXTENSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")
_UUID_URN = re.compile(
    r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def is_oid(value: str) -> bool:
    return len(value) <= MAX_OID and _OID.match(value) is not None


def is_document_unique_id(value: str) -> bool:
    """An OID, or ``OID^extension`` (extension: letters, digits, '.', '-', 16 at most)."""
    root, sep, extension = value.partition("^")
    if not is_oid(root):
        return False
    if not sep:
        return True
    return len(extension) <= MAX_EXTENSION and _EXTENSION.match(extension) is not None


def is_uuid_urn(value: str) -> bool:
    if _UUID_URN.match(value) is None:
        return False
    try:
        uuid.UUID(value[9:])
    except ValueError:
        return False
    return True


def claims_uuid(value: str) -> bool:
    """An ``id`` written as a UUID URN (it must then be a valid one)."""
    return value.lower().startswith("urn:uuid:")
