"""Training extension: the médecin traitant blocks or unblocks a professional for the patient.

The official habilitations service has no operation for this: ``setAuthorization``
(TD0.3) only acts on the caller's own authorisation. The DMP lets the patient
block a professional in their own space, and the médecin traitant DMP act on the
patient's behalf; the training host offers that through a clearly separate
operation in a training namespace, on the ``habilitations`` endpoint
(docs/wire-conventions.md, "Blocking a professional on the patient's behalf")::

    action urn:dmp-formation:habilitations:blockProfessional   (or unblockProfessional)
    <blockProfessional xmlns="urn:dmp-formation:habilitations">
      <nationalId>899700433160</nationalId>
    </blockProfessional>

The patient is the VIHF's resource id, as for TD1.6. The answer has the shape
of the official ``setAuthorizationResponse``: ``output/status`` (``DMPOk`` or a
DMP code) and ``output/context`` (a French text). A code other than ``DMPOk``
raises ``DmpServiceError(code)``.
"""

from __future__ import annotations

from lxml import etree

from dmp_desktop.dmp.xmlutil import Element, child, qn, text
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

TRAINING_NS = "urn:dmp-formation:habilitations"
SERVICE = "habilitations"
OP_BLOCK = "blockProfessional"
OP_UNBLOCK = "unblockProfessional"
ACTION_BLOCK = f"{TRAINING_NS}:{OP_BLOCK}"
ACTION_UNBLOCK = f"{TRAINING_NS}:{OP_UNBLOCK}"
ACTION_BLOCK_RESPONSE = f"{ACTION_BLOCK}Response"
ACTION_UNBLOCK_RESPONSE = f"{ACTION_UNBLOCK}Response"
STATUS_OK = "DMPOK"
# The médecin traitant DMP can never be blocked (training code, see the module docstring).
TREATING_PHYSICIAN_PROTECTED = "DMPTreatingPhysicianProtected"
_MAX_ID = 64
_MAX_FIELD = 300


def build_request(national_id: str, *, block: bool) -> Element:
    """The body of ``blockProfessional`` (``block``) or ``unblockProfessional``."""
    value = national_id.strip()
    if not value or len(value) > _MAX_ID:
        raise ValueError("a professional's national id is 1 to 64 characters")
    op = OP_BLOCK if block else OP_UNBLOCK
    root = etree.Element(qn(TRAINING_NS, op), nsmap={None: TRAINING_NS})
    etree.SubElement(root, qn(TRAINING_NS, "nationalId")).text = value
    return root


def parse_response(body: Element, *, block: bool) -> str:
    """The French ``context`` of an accepted answer; a refusal raises ``DmpServiceError``."""
    op = OP_BLOCK if block else OP_UNBLOCK
    if body is None or body.tag != qn(TRAINING_NS, f"{op}Response"):
        raise DmpProtocolError(f"answer is not a {op}Response")
    output = child(body, TRAINING_NS, "output")
    status = (text(child(output, TRAINING_NS, "status")) or "").strip()[:120]
    context = (text(child(output, TRAINING_NS, "context")) or "").strip()[:_MAX_FIELD]
    if not status:
        raise DmpProtocolError(f"{op}Response without a status")
    if status.upper() != STATUS_OK:
        raise DmpServiceError(status, context)
    return context


__all__ = [
    "ACTION_BLOCK",
    "ACTION_UNBLOCK",
    "TRAINING_NS",
    "TREATING_PHYSICIAN_PROTECTED",
    "build_request",
    "parse_response",
]
