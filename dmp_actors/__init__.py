"""The other actors of the training world, around the judge (:mod:`dmp_sandbox`).

The demo's doctors (their documents), the patient's own space (Mon espace
santé: what the patient adds, the copy of the record) and the Assurance
Maladie's system (its care history, fed over the wire as a client) produce
documents with the client's own CDA builders (``dmp_desktop.cda``) and, for
the Assurance Maladie, its wire code (``dmp_desktop.dmp``): they are
producers, as other software is in the real world. They judge nothing; the
training host never imports them (``tests/unit/test_judge_independence.py``)
and checks what they feed like anything else where it comes over the wire.

Importing this package registers them with the host's tools:
:func:`dmp_sandbox.demo.add_demo_content` (the demo's documents) and the
``dmp-sandbox`` command's plugins (``patient add-document…``, ``insurer
feed``). The ``dmp-sandbox`` command is :func:`dmp_actors.cli.main`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dmp_sandbox.store import Patient, Store

LEA_KEY = "actif-autorise"  # the demo patient with her own space and her care history


def _demo_documents(
    store: Store, session: Session, patient: Patient, number: int, key: str, now: dt.datetime
) -> None:
    from dmp_actors.demo_documents import demo_documents, seed_patient_documents

    seed_patient_documents(store, session, patient, number, demo_documents().get(key, ()), now)
    if key == LEA_KEY:  # Léa: her own space and her care history
        from dmp_actors.patient_space import seed_demo_patient_space

        seed_demo_patient_space(store, session, patient, number, now)


def register() -> None:
    """Register the actors with the host's tools (idempotent)."""
    from dmp_actors import insurer, patient_space
    from dmp_sandbox import __main__ as sandbox_cli
    from dmp_sandbox import demo, patient_cli

    demo.add_demo_content(_demo_documents)
    if patient_space.register not in patient_cli.PATIENT_ACTION_PLUGINS:
        patient_cli.PATIENT_ACTION_PLUGINS.append(patient_space.register)
    if insurer.register not in sandbox_cli.COMMAND_PLUGINS:
        sandbox_cli.COMMAND_PLUGINS.append(insurer.register)


register()
