"""TD0.3 "mise à jour de l'autorisation": add or remove my access authorisation.

Service ``habilitations``, action
``urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization``. The body
is the official one (``TD0.3 - Mise à jour de l'autorisation_requête.xml``,
types of ``Habilitations.wsdl``)::

    <setAuthorization xmlns="urn:si-dmp-habilitations">
      <action>AJOUT</action>                 AJOUT | SUPPRESSION
      <role>MEDECIN_TRAITANT</role>           only when the role is concerned
    </setAuthorization>

The patient is not in the body: it is the VIHF's resource id. ``AJOUT`` with
the role declares the professional médecin traitant DMP (and authorises
them); ``SUPPRESSION`` with the role withdraws that declaration;
``SUPPRESSION`` alone withdraws the authorisation.

Answer: ``setAuthorizationResponse/output/status`` is ``DMPOk`` (written so in
the official answer; compared without case) or a ``DMP…`` error code, and
``context`` a free text (e.g. "Autorisation déjà présente aucune action
effectuée"). Any other status raises ``DmpServiceError(status, context)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from dmp_desktop.dmp.xmlutil import Element, child, qn, text
from dmp_desktop.errors import DmpProtocolError, DmpServiceError

HABILITATIONS = "urn:si-dmp-habilitations"
SERVICE = "habilitations"
ACTION_SET_AUTHORIZATION = "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization"
ACTION_SET_AUTHORIZATION_RESPONSE = (
    "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorizationResponse"
)

ACTION_ADD = "AJOUT"
ACTION_REMOVE = "SUPPRESSION"
ROLE_TREATING_PHYSICIAN = "MEDECIN_TRAITANT"
STATUS_OK = "DMPOK"

_MAX_CODE_LEN = 120
_MAX_CONTEXT_LEN = 300


@dataclass(frozen=True)
class SetAuthorizationResult:
    status: str
    context: str = ""


def build_set_authorization(*, grant: bool = True, treating_physician: bool = False) -> Element:
    """The ``setAuthorization`` body (see the module docstring)."""
    root = etree.Element(qn(HABILITATIONS, "setAuthorization"), nsmap={None: HABILITATIONS})
    etree.SubElement(root, qn(HABILITATIONS, "action")).text = (
        ACTION_ADD if grant else ACTION_REMOVE
    )
    if treating_physician:
        etree.SubElement(root, qn(HABILITATIONS, "role")).text = ROLE_TREATING_PHYSICIAN
    return root


def parse_set_authorization_response(body: Element) -> SetAuthorizationResult:
    """Read the answer; a status other than ``DMPOk`` raises ``DmpServiceError``."""
    if body is None or body.tag != qn(HABILITATIONS, "setAuthorizationResponse"):
        raise DmpProtocolError("answer is not a setAuthorizationResponse")
    output = child(body, HABILITATIONS, "output")
    status = (text(child(output, HABILITATIONS, "status")) or "")[:_MAX_CODE_LEN]
    context = (text(child(output, HABILITATIONS, "context")) or "")[:_MAX_CONTEXT_LEN]
    if not status:
        raise DmpProtocolError("setAuthorizationResponse without a status")
    if status.upper() != STATUS_OK:
        raise DmpServiceError(status, context)
    return SetAuthorizationResult(status=status, context=context)


__all__ = [
    "ACTION_ADD",
    "ACTION_REMOVE",
    "ACTION_SET_AUTHORIZATION",
    "ACTION_SET_AUTHORIZATION_RESPONSE",
    "HABILITATIONS",
    "ROLE_TREATING_PHYSICIAN",
    "STATUS_OK",
    "SetAuthorizationResult",
    "build_set_authorization",
    "parse_set_authorization_response",
]
