"""The Assurance Maladie feeds a care history into the DMP, and can never read it.

Identity (training convention, docs/wire-conventions.md): the Assurance
Maladie's system connects in structure mode ("authentification indirecte
renforcée") with a structure certificate of the test organisations CA
(``O=ASSURANCE MALADIE, OU=318003502400041``, the structure id of the CI-SIS
example ``CNAM-HR_2021.01.xml``). Its VIHF, signed with that certificate,
names the system ``318003502400041/ALIMAM`` and carries the non-professional
role ``ALIM_AM`` (1.2.250.1.213.1.1.4.6). The host:

- refuses the role ``ALIM_AM`` from anybody else (authentication fault,
  trace result ``VIHF_ROLE_ALIM_AM``): :func:`check_insurer_role`;
- lets it upload (ITI-41) its own documents only, authored ``ALIM_AM`` by
  that system, to any active DMP, without authorisation; never an update
  (ITI-57), never in emergency mode: :func:`grant_insurer_feed`;
- refuses every search (ITI-18) and retrieval (ITI-43) with
  ``DMPAccessDenied`` (:func:`dmp_sandbox.access.grant_consultation`); each
  refusal is traced like any request.

Its submissions carry no XAdES signature (a system, not a professional
with a CPS card: it authenticates with its certificate and its signed VIHF);
every other TD2.1 must be signed.

This module holds the host's rules only. The Assurance Maladie's system
itself (``dmp-sandbox insurer feed``, the demo's care history) is a client
of the host and lives in :mod:`dmp_actors.insurer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dmp_sandbox import wire, xds
from dmp_sandbox.soap import FaultCode, SoapFault
from dmp_sandbox.store import DmpState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dmp_desktop.domain.patient import Ins
    from dmp_sandbox.access import AccessRequest, Grant
    from dmp_sandbox.auth import CertIdentity
    from dmp_sandbox.host import TraceContext
    from dmp_sandbox.store import Store
    from dmp_sandbox.vihf import VihfClaims

# The Assurance Maladie as the CI-SIS example CNAM-HR_2021.01.xml names it.
INSURER_STRUCTURE_ID = "318003502400041"
INSURER_AUTHOR_ID = f"{INSURER_STRUCTURE_ID}/ALIMAM"
ROLE_ALIM_AM = "ALIM_AM"  # 1.2.250.1.213.1.1.4.6 (J01)
OID_NON_PS_ROLE = wire.OID_NON_PS_ROLE


def check_insurer_role(
    identity: CertIdentity, vihf: VihfClaims, trace: TraceContext | None = None
) -> None:
    """Only the Assurance Maladie's structure certificate may claim the role ALIM_AM."""
    if ROLE_ALIM_AM not in vihf.role_codes(OID_NON_PS_ROLE):
        return
    if identity.is_structure and identity.structure_id == INSURER_STRUCTURE_ID:
        if vihf.name_id == INSURER_AUTHOR_ID:
            return
    if trace is not None:
        trace.result = "VIHF_ROLE_ALIM_AM"
    raise SoapFault(
        FaultCode.AUTHENTICATION,
        "Le rôle ALIM_AM est réservé au système d'information de l'Assurance Maladie "
        "(certificat de structure de l'Assurance Maladie).",
    )


def grant_insurer_feed(
    store: Store,
    session: Session,
    ins: Ins,
    request: AccessRequest,
    *,
    update: bool = False,
    authors: Sequence[dict[str, Any]] = (),
) -> Grant:
    """May the Assurance Maladie upload this (see the module docstring)? Raises XdsError."""
    from dmp_sandbox.access import Grant

    if update:
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED,
            "L'Assurance Maladie ne peut ni masquer, ni archiver, ni supprimer un document du "
            "DMP : elle ne fait que l'alimenter.",
        )
    if request.mode.emergency:
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED, "L'Assurance Maladie n'a pas d'accès d'urgence au DMP."
        )
    for author in authors:
        if (
            author.get("specialty_code") != ROLE_ALIM_AM
            or str(author.get("national_id") or "") != request.national_id
        ):
            raise xds.XdsError(
                xds.DMP_ACCESS_DENIED,
                "L'Assurance Maladie ne dépose que ses propres documents (auteur ALIM_AM).",
            )
    patient = store.find_patient(session, ins.value, ins.oid)
    if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
        raise xds.XdsError(xds.DMP_NOT_FOUND, "Ce patient n'a pas de DMP.")
    if patient.state is DmpState.CLOSED:
        raise xds.XdsError(
            xds.DMP_CLOSED, "Le DMP de ce patient est fermé : il n'accepte plus de documents."
        )
    return Grant(patient, request, False)


__all__ = ["check_insurer_role", "grant_insurer_feed"]
