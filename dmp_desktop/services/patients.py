"""Finding the patient, for the window: the use cases of :mod:`dmp_desktop.usecases.patients`
run off the UI thread, answers and errors back as signals (errors already in French).

The professional's recent patients are read once per card session (on a
worker: the store's key is in the system keyring) and kept in memory, so
that the patient field filters them at each keystroke without any I/O;
opening a patient records it in the background.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Signal

from dmp_desktop.errors import describe
from dmp_desktop.identity.traits import InsIdentity, TraitsQuery
from dmp_desktop.services.card_service import CardService
from dmp_desktop.services.dmp_service import DmpService
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.settings import Settings
from dmp_desktop.storage.recent_patients import (
    RecentPatient,
    RecentPatients,
    open_recent_patients,
)
from dmp_desktop.usecases.patients import (
    Candidate,
    PatientFinder,
    PatientQuery,
    PatientsClient,
    TraitsSearch,
    merge,
    recent_matches,
)

if TYPE_CHECKING:
    from dmp_desktop.dmp.xades import DocumentSigner

log = logging.getLogger(__name__)

RecentFactory = Callable[[Settings], RecentPatients]


def open_recent(settings: Settings) -> RecentPatients:
    return open_recent_patients(settings)


class PatientSearchService(QObject):
    """The patient field's matches, the INSi search, « Mes patients DMP », recent patients."""

    recentChanged = Signal(object)  # list[RecentPatient]
    matchesReady = Signal(object, object)  # PatientQuery, list[Candidate]
    matchesFailed = Signal(object, str)  # PatientQuery, French message
    insiDone = Signal(object)  # TraitsSearch
    insiFailed = Signal(str)
    myPatientsReady = Signal(object)  # list[td04.AuthorisedPatient]
    myPatientsFailed = Signal(str)

    def __init__(
        self,
        settings: Settings,
        runner: OperationRunner,
        dmp: DmpService,
        cards: CardService,
        recent_factory: RecentFactory = open_recent,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._runner = runner
        self._dmp = dmp
        self._cards = cards
        self._recent_factory = recent_factory
        self._store: RecentPatients | None = None
        self._recent: list[RecentPatient] = []
        self._generation = 0  # bumped at each session: late answers of the previous are dropped
        cards.loggedIn.connect(lambda _p: self._load_recent())
        cards.sessionEnded.connect(lambda _reason: self.forget())

    # -- recent patients ------------------------------------------------------------------
    @property
    def recent(self) -> list[RecentPatient]:
        return list(self._recent)

    def _professional_id(self) -> str | None:
        practitioner = self._cards.practitioner
        return practitioner.national_id if practitioner is not None else None

    def _recent_store(self) -> RecentPatients:
        if self._store is None:
            self._store = self._recent_factory(self._settings)
        return self._store

    def _load_recent(self) -> None:
        professional = self._professional_id()
        if professional is None:
            return
        generation = self._generation

        def work() -> list[RecentPatient]:
            return self._recent_store().load(professional)

        self._runner.run(
            Operation(
                self.tr("Patients récents"),
                work,
                lambda items: self._set_recent(generation, items),
                lambda exc: log.warning("recent patients unreadable: %s", type(exc).__name__),
                silent=True,
            )
        )

    def _set_recent(self, generation: int, items: list[RecentPatient]) -> None:
        if generation == self._generation:
            self._recent = items
            self.recentChanged.emit(list(items))

    def forget(self) -> None:
        """The session ended: nothing of the patients stays in memory."""
        self._generation += 1
        self._recent = []
        self.recentChanged.emit([])

    def opened(self, identity: InsIdentity) -> None:
        """The professional opened this patient: first of the recent list (in the background)."""
        professional = self._professional_id()
        if professional is None:
            return
        generation = self._generation

        def work() -> list[RecentPatient]:
            return self._recent_store().record(professional, identity)

        self._runner.run(
            Operation(
                self.tr("Patients récents"),
                work,
                lambda items: self._set_recent(generation, items),
                lambda exc: log.warning("recent patients not saved: %s", type(exc).__name__),
                silent=True,
            )
        )

    def known_identity(self, ins: Any) -> InsIdentity | None:
        return next((r.identity for r in self._recent if r.identity.ins == ins), None)

    # -- matches --------------------------------------------------------------------------
    def local_matches(self, query: PatientQuery) -> list[Candidate]:
        """The recent patients the field designates: in memory, instant."""
        return recent_matches(self._recent, query)

    def find(self, query: PatientQuery) -> Operation[list[Candidate]] | None:
        """The recent patients, then the DMP's (TD0.5) when the field has a name and a date."""
        local = self.local_matches(query)
        if not query.searchable_in_dmp:
            self.matchesReady.emit(query, local)
            return None
        generation = self._generation
        professional = self._professional_id() or ""

        def done(remote: list[Candidate]) -> None:
            if generation == self._generation:
                self.matchesReady.emit(query, merge(local, remote))

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.matchesReady.emit(query, local)
                self.matchesFailed.emit(query, describe(exc))

        return self._dmp.call(
            self.tr("Recherche du patient dans le DMP"),
            lambda client: PatientFinder(cast(PatientsClient, client), professional).find_in_dmp(
                query
            ),
            done,
            failed,
        )

    # -- INSi -----------------------------------------------------------------------------
    def search_by_traits(self, query: TraitsQuery) -> Operation[TraitsSearch] | None:
        """INSi, then TD0.5 (the card signs the INSi request)."""
        session = self._cards.session
        if session is None:
            self.insiFailed.emit(self.tr("Connectez-vous avec votre carte CPS."))
            return None
        generation = self._generation
        professional = self._professional_id() or ""

        def done(result: TraitsSearch) -> None:
            if generation == self._generation:
                self.insiDone.emit(result)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.insiFailed.emit(describe(exc))

        op = self._dmp.call(
            self.tr("Recherche de l'INS (téléservice INSi)"),
            lambda client: PatientFinder(
                cast(PatientsClient, client), professional
            ).search_by_traits(query, cast("DocumentSigner", session)),
            done,
            failed,
        )
        if op is None:
            self.insiFailed.emit(self.tr("Connectez-vous avec votre carte CPS."))
        return op

    # -- « Mes patients DMP » -------------------------------------------------------------
    def load_my_patients(self) -> Operation[Any] | None:
        generation = self._generation
        professional = self._professional_id() or ""

        def done(rows: list[Any]) -> None:
            if generation == self._generation:
                self.myPatientsReady.emit(rows)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.myPatientsFailed.emit(describe(exc))

        op = self._dmp.call(
            self.tr("Liste de mes patients DMP"),
            lambda client: PatientFinder(cast(PatientsClient, client), professional).my_patients(),
            done,
            failed,
        )
        if op is None:
            self.myPatientsFailed.emit(self.tr("Connectez-vous avec votre carte CPS."))
        return op


__all__ = ["PatientSearchService", "open_recent"]
