"""Demo patients of the training host (test INS, authority 1.2.250.1.213.1.4.10).

Each patient shows one case a doctor meets at TD0.2, seen from the demo card
CPS3-DURAND (Dr Marie DURAND, 899700433153). Authorisation and closure dates
are relative to the day of seeding, so that "expired" stays expired; the
minor is born in 2015 (a minor until 2033).
Seeding is idempotent: it resets these patients to their demo state (their
authorisations, documents and outbox included) and leaves any other data
alone. The patients' documents come from the training world's actors
(:mod:`dmp_actors`, registered with :func:`add_demo_content`): the demo's
doctors, the patient's own space, the Assurance Maladie. The judge builds
no document itself.

Emergency-access oppositions: Girard Nathalie opposed break-glass access (a
professional she did not block is refused in that mode), Faure Bernard
opposed access by the centre 15.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dmp_desktop.domain.patient import Ins, InsKind, nir_key
from dmp_sandbox.store import AuthorizationStatus, DmpState, Patient, Store, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DURAND = "899700433153"
MARTIN = "899700433160"


def demo_ins(nir13: str) -> Ins:
    """A test INS (NIR with its key) under the test authority."""
    return Ins(f"{nir13}{nir_key(nir13):02d}", InsKind.TEST_NIR)


def dmp_id_for(ins: Ins) -> str:
    """A stable 22-digit DMP identifier for a demo patient."""
    digest = hashlib.sha256(f"{ins.oid}|{ins.value}".encode()).hexdigest()
    return f"{int(digest, 16) % 10**22:022d}"


@dataclass(frozen=True)
class DemoAuthorization:
    national_id: str
    status: AuthorizationStatus
    treating_physician: bool = False
    days_ago: int = 30  # start
    ended_days_ago: int | None = None  # end date in the past -> EXPIRE


@dataclass(frozen=True)
class DemoPatient:
    key: str
    ins: Ins
    family_name: str
    given_name: str
    birth_date: dt.date
    gender: str
    state: DmpState
    case: str  # what it shows, in French, for the table
    authorizations: tuple[DemoAuthorization, ...] = ()
    is_minor: bool = False
    secret_connection: bool = False
    internet_account_open: bool = False
    closed_days_ago: int | None = None
    closure_reason: str | None = None
    closure_text: str | None = None
    opposition_bris_de_glace: bool = False
    opposition_centre_15: bool = False

    @property
    def expected_for_durand(self) -> str:
        """The AUTORISATION value TD0.2 gives Dr Durand ("NF" without DMP)."""
        if self.state is DmpState.NONE:
            return "NF"
        for auth in self.authorizations:
            if auth.national_id == DURAND:
                if auth.ended_days_ago is not None:
                    return AuthorizationStatus.EXPIRE.value
                return auth.status.value
        return "NON_EXISTE"


def demo_patients() -> tuple[DemoPatient, ...]:
    return (
        DemoPatient(
            "actif-autorise",
            Ins("207058575627097", InsKind.TEST_NIR),
            "Moreau",
            "Léa",
            dt.date(2007, 5, 25),
            "F",
            DmpState.ACTIVE,
            "DMP actif ; Dr Durand autorisée et médecin traitant DMP ; espace du patient "
            "(contacts, allergies, directives anticipées, photo) et historique de "
            "l'Assurance Maladie",
            (DemoAuthorization(DURAND, AuthorizationStatus.VALIDE, treating_physician=True),),
            internet_account_open=True,
        ),
        DemoPatient(
            "actif-sans-autorisation",
            demo_ins("1821169383112"),
            "Lefebvre",
            "Julien",
            dt.date(1982, 11, 2),
            "M",
            DmpState.ACTIVE,
            "DMP actif ; aucune autorisation pour Dr Durand (Dr Martin autorisé)",
            (DemoAuthorization(MARTIN, AuthorizationStatus.VALIDE, treating_physician=True),),
        ),
        DemoPatient(
            "bloque",
            demo_ins("2750733063210"),
            "Girard",
            "Nathalie",
            dt.date(1975, 7, 21),
            "F",
            DmpState.ACTIVE,
            "DMP actif ; la patiente a bloqué Dr Durand (INTERDIT) et refuse le bris de glace",
            (DemoAuthorization(DURAND, AuthorizationStatus.INTERDIT, days_ago=200),),
            opposition_bris_de_glace=True,
        ),
        DemoPatient(
            "autorisation-expiree",
            demo_ins("1490113055087"),
            "Faure",
            "Bernard",
            dt.date(1949, 1, 30),
            "M",
            DmpState.ACTIVE,
            "DMP actif ; l'autorisation de Dr Durand a expiré ; refuse l'accès du centre 15",
            (
                DemoAuthorization(
                    DURAND, AuthorizationStatus.VALIDE, days_ago=400, ended_days_ago=35
                ),
            ),
            opposition_centre_15=True,
        ),
        DemoPatient(
            "sans-dmp",
            demo_ins("1900675120045"),
            "Roussel",
            "Lucas",
            dt.date(1990, 6, 12),
            "M",
            DmpState.NONE,
            "Pas de DMP",
        ),
        DemoPatient(
            "ferme",
            demo_ins("2380969123018"),
            "Blanc",
            "Monique",
            dt.date(1938, 9, 5),
            "F",
            DmpState.CLOSED,
            "DMP fermé à la demande de la patiente",
            (DemoAuthorization(DURAND, AuthorizationStatus.VALIDE, days_ago=900),),
            closed_days_ago=60,
            closure_reason="FERMETURE_DEMANDE_PATIENT",
            closure_text="Fermeture à la demande de la patiente",
        ),
        DemoPatient(
            "mineur",
            demo_ins("2150444109033"),
            "Chevalier",
            "Emma",
            dt.date(2015, 4, 18),
            "F",
            DmpState.ACTIVE,
            "Patiente mineure, DMP actif ; Dr Durand autorisée",
            (DemoAuthorization(DURAND, AuthorizationStatus.VALIDE, days_ago=10),),
            is_minor=True,
        ),
    )


class DemoContent(Protocol):
    """Puts one demo patient's documents in the store (reseeding: the same documents)."""

    def __call__(
        self,
        store: Store,
        session: Session,
        patient: Patient,
        number: int,
        key: str,
        now: dt.datetime,
    ) -> None: ...


DEMO_CONTENT: list[DemoContent] = []


def add_demo_content(content: DemoContent) -> None:
    """Register a producer of demo documents (once; called by :mod:`dmp_actors`)."""
    if content not in DEMO_CONTENT:
        DEMO_CONTENT.append(content)


def seed_demo(store: Store) -> tuple[DemoPatient, ...]:
    """Create or reset the demo patients and their documents; returns them."""
    from dmp_sandbox import care_team

    now = utcnow()
    today = now.date()
    patients = demo_patients()
    with store.session() as session:
        for number, demo in enumerate(patients, 1):
            exists = demo.state is not DmpState.NONE
            patient = store.upsert_patient(
                session,
                demo.ins.value,
                demo.ins.oid,
                family_name=demo.family_name,
                given_name=demo.given_name,
                birth_date=demo.birth_date,
                gender=demo.gender,
                is_minor=demo.is_minor,
                dmp_state=demo.state.value,
                dmp_id=dmp_id_for(demo.ins) if exists else None,
                dmp_created_at=now - dt.timedelta(days=1000) if exists else None,
                closure_date=(
                    today - dt.timedelta(days=demo.closed_days_ago)
                    if demo.closed_days_ago is not None
                    else None
                ),
                closure_reason=demo.closure_reason,
                closure_text=demo.closure_text,
                internet_account_open=demo.internet_account_open,
                secret_connection=demo.secret_connection,
                opposition_bris_de_glace=demo.opposition_bris_de_glace,
                opposition_centre_15=demo.opposition_centre_15,
                ens_attached=False,
            )
            store.remove_authorizations(session, patient)
            store.clear_outbox(session, patient)
            care_team.reset_demo_stay(session, patient, demo.key)
            for content in DEMO_CONTENT:
                content(store, session, patient, number, demo.key, now)
            for auth in demo.authorizations:
                store.set_authorization(
                    session,
                    patient,
                    auth.national_id,
                    auth.status,
                    treating_physician=auth.treating_physician,
                    start_at=now - dt.timedelta(days=auth.days_ago),
                    end_at=(
                        now - dt.timedelta(days=auth.ended_days_ago)
                        if auth.ended_days_ago is not None
                        else None
                    ),
                )
            session.expire(patient, ["authorizations"])
    return patients


_STATE_FR = {DmpState.NONE: "aucun", DmpState.ACTIVE: "actif", DmpState.CLOSED: "fermé"}


def patients_table(patients: tuple[DemoPatient, ...]) -> str:
    """A plain-text table of the demo patients (test identities only)."""
    header = ("INS (test)", "Patient", "Naissance", "DMP", "Dr Durand", "Cas")
    rows = [
        (
            p.ins.value,
            f"{p.given_name} {p.family_name.upper()}",
            f"{p.birth_date:%d/%m/%Y}",
            _STATE_FR[p.state],
            p.expected_for_durand,
            p.case,
        )
        for p in patients
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...]) -> str:
        fixed = "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True))
        return f"{fixed}  {cells[-1]}"

    return "\n".join([line(header), line(tuple("-" * len(h) for h in header)), *map(line, rows)])
