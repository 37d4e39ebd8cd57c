"""The record's life for the window: create (TD1.1), close (TD1.4), reactivate (TD1.2),
list the authorisations (TD1.6) and, as the médecin traitant, block or unblock a
professional on the patient's behalf (training extension, ``dmp/td16_block.py``).

Every exchange runs as an operation through :meth:`DmpService.call` (off the UI
thread, progress after half a second, cancellable); the outcome comes back as a
signal, errors already in French (``errors.describe``). Nothing here logs a
patient's identity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from dmp_desktop.dmp.td11 import CreationConsent, PatientIdentity
from dmp_desktop.dmp.td12_14 import CLOSURE_PATIENT_REQUEST
from dmp_desktop.dmp.td16 import PatientAuthorization
from dmp_desktop.domain.dmp_status import DmpStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import describe
from dmp_desktop.services.dmp_service import DmpService
from dmp_desktop.services.operations import Operation
from dmp_desktop.usecases.records import close_record, create_record, reactivate_record

log = logging.getLogger(__name__)

CREATE, CLOSE, REACTIVATE, LIST, BLOCK = "create", "close", "reactivate", "list", "block"


class RecordService(QObject):
    """Asks the DMP to change the patient's record; answers by signal."""

    created = Signal(object)  # Ins
    closed = Signal(object)  # Ins
    reactivated = Signal(object)  # Ins
    authorizationsReady = Signal(object, object)  # Ins, list[PatientAuthorization]
    blockChanged = Signal(object, str, bool, str)  # Ins, national id, blocked, host's text
    failed = Signal(str, str)  # action (CREATE…), French message
    busyChanged = Signal(bool)

    def __init__(self, dmp_service: DmpService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dmp = dmp_service
        self._ops: dict[str, Operation[Any]] = {}

    def busy(self, action: str | None = None) -> bool:
        ops = [self._ops.get(action)] if action else list(self._ops.values())
        return any(op is not None and not op.done for op in ops)

    def cancel_all(self) -> None:
        """The patient changed or the session ended: answers still under way are ignored."""
        ops, self._ops = list(self._ops.values()), {}
        for op in ops:
            if not op.done:
                op.cancel()
        if ops:
            self.busyChanged.emit(False)

    def _run(
        self,
        action: str,
        label: str,
        work: Callable[[Any], Any],
        on_success: Callable[[Any], None],
    ) -> bool:
        if self.busy(action):
            return False

        def done(result: Any) -> None:
            if self._ops.get(action) is op_ref[0]:
                del self._ops[action]
                self.busyChanged.emit(self.busy())
                on_success(result)

        def failed(exc: BaseException) -> None:
            if self._ops.get(action) is op_ref[0]:
                del self._ops[action]
                log.info("record %s failed: %s", action, type(exc).__name__)
                self.busyChanged.emit(self.busy())
                self.failed.emit(action, describe(exc))

        op_ref: list[Operation[Any] | None] = [None]
        op = self._dmp.call(label, work, done, failed)
        if op is None:
            self.failed.emit(
                action, self.tr("Connectez-vous avec votre carte CPS pour accéder au DMP.")
            )
            return False
        op_ref[0] = op
        if not op.done:
            self._ops[action] = op
            self.busyChanged.emit(True)
        return True

    # -- transactions -------------------------------------------------------------------
    def create(self, ins: Ins, identity: PatientIdentity, consent: CreationConsent) -> bool:
        """TD1.1, with the consent the wizard recorded (the rule: ``usecases.records``)."""
        return self._run(
            CREATE,
            self.tr("Création du DMP"),
            lambda client: create_record(client, ins, identity, consent),
            lambda _result: self.created.emit(ins),
        )

    def close(
        self, status: DmpStatus, *, reason: str = CLOSURE_PATIENT_REQUEST, reason_text: str
    ) -> bool:
        """TD1.4 at the patient's request, with the reason typed; ``status``: the DMP's
        answer on screen (its names and sex go with the request)."""
        ins = status.ins
        return self._run(
            CLOSE,
            self.tr("Fermeture du DMP"),
            lambda client: close_record(client, ins, reason_text, reason=reason, status=status),
            lambda _result: self.closed.emit(ins),
        )

    def reactivate(self, status: DmpStatus) -> bool:
        """TD1.2 of the closed DMP on screen."""
        ins = status.ins
        return self._run(
            REACTIVATE,
            self.tr("Réactivation du DMP"),
            lambda client: reactivate_record(client, ins, status=status),
            lambda _result: self.reactivated.emit(ins),
        )

    def list_authorizations(self, ins: Ins) -> bool:
        """TD1.6, every mode (authorised and blocked)."""

        def ready(items: list[PatientAuthorization]) -> None:
            self.authorizationsReady.emit(ins, items)

        return self._run(
            LIST,
            self.tr("Liste des autorisations"),
            lambda client: client.list_authorizations(ins),
            ready,
        )

    def set_blocked(self, ins: Ins, national_id: str, blocked: bool) -> bool:
        """As the médecin traitant, block or unblock ``national_id`` for the patient."""

        def done(context: str) -> None:
            self.blockChanged.emit(ins, national_id, blocked, context)

        return self._run(
            BLOCK,
            self.tr("Blocage d'un professionnel") if blocked else self.tr("Levée d'un blocage"),
            lambda client: client.set_professional_blocked(ins, national_id, blocked=blocked),
            done,
        )


__all__ = ["BLOCK", "CLOSE", "CREATE", "LIST", "REACTIVATE", "RecordService"]
