"""The SAMU-Centre 15 regulation centres the training host knows.

The PurposeOfUse ``centre_15`` (1.2.250.1.213.1.1.4.248) means "Accès par
un centre de régulation médicale". No public DMP material gives the role
code of a regulating physician, so the training host ties that mode to the
structure the physician acts for: a médecin (TRE_G15 ``10``) whose
structure is one of these centres — the structure certificate's OU in
structure mode, the card's practice situation (CPS_ACTIVITY, carried by the
VIHF's ``Identifiant_Structure``) in direct mode, as the real DMP relies on
the software reading the card. A training convention, named in
``docs/wire-conventions.md``.
"""

from __future__ import annotations

# structure id (1 + FINESS, the form of an establishment's id) -> name
REGULATION_CENTRES: dict[str, str] = {"1690009980": "SAMU 69 - CENTRE 15 DE FORMATION"}
REGULATION_CENTRE_ID = "1690009980"
DOCTOR_PROFESSION = "10"  # TRE_G15: médecin
