"""What « L'essentiel » is made of: statements read from documents, and the lines shown.

Plain data, no XML and no Qt.

* A :class:`Source` is one document of the DMP (its unique id, title, author,
  date): every line names the source(s) it comes from.
* A :class:`Statement` is one coded entry of one document, reduced to what the
  aggregation needs: its rubric (:class:`Category`), a grouping ``key`` (the
  CIM-10 code of a problem, the substance of a drug, the LOINC concept of a
  result...), what it says (``status``, ``detail``, a measured ``value``), and
  the entry itself as the VSM model holds it (``kind`` + ``item``, JSON of the
  VSM format) so that « Préparer la synthèse » can rebuild it.
* :class:`DocumentFacts` is what one document gave: its statements and what
  could not be taken (``left_out``, in French — never silently dropped).
* :class:`Line` and :class:`Essentials` are the aggregation's output
  (:mod:`dmp_desktop.essentials.aggregate`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dmp_desktop.domain.summary import PartialDate

FORMAT_VERSION = 1  # of the cached facts (bump when the reading changes: facts are re-read)


class Category(enum.Enum):
    """The rubrics of the pane, in the order shown."""

    PROBLEMS = "problems"
    ALLERGIES = "allergies"
    TREATMENTS = "treatments"
    RESULTS = "results"
    VACCINATIONS = "vaccinations"
    HISTORY = "history"
    VIGILANCE = "vigilance"
    DIRECTIVES = "directives"
    OTHER_RESULTS = "other_results"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.PROBLEMS: "Pathologies en cours",
    Category.ALLERGIES: "Allergies et intolérances",
    Category.TREATMENTS: "Traitements en cours",
    Category.RESULTS: "Résultats usuels",
    Category.VACCINATIONS: "Vaccinations",
    Category.HISTORY: "Antécédents",
    Category.VIGILANCE: "Points de vigilance",
    Category.DIRECTIVES: "Directives anticipées et personne de confiance",
    Category.OTHER_RESULTS: "Autres résultats",
}


class Status(enum.Enum):
    """What a source says of an item (the aggregation compares these)."""

    ACTIVE = "active"  # a problem, an allergy or a treatment in progress
    RESOLVED = "resolved"  # a problem or an allergy resolved (history)
    INACTIVE = "inactive"  # an allergy no longer active
    STOPPED = "stopped"  # a treatment stopped
    DONE = "done"  # an event: a vaccination given, a measure taken

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


def status_label(kind: str, status: Status) -> str:
    """The status as a doctor says it of this kind of item (« active » for an allergy)."""
    if kind == "allergy":
        return {Status.ACTIVE: "active", Status.RESOLVED: "résolue"}.get(status, status.label)
    return status.label


STATUS_LABELS: dict[Status, str] = {
    Status.ACTIVE: "en cours",
    Status.RESOLVED: "résolu",
    Status.INACTIVE: "inactive",
    Status.STOPPED: "arrêté",
    Status.DONE: "fait",
}


@dataclass(frozen=True)
class Source:
    """A document of the DMP a statement comes from."""

    unique_id: str
    title: str
    type_code: str = ""
    type_label: str = ""
    author: str = ""  # « Dr Marie DURAND » or the structure's name
    date: PartialDate | None = None  # the document's date (act, else creation)

    def french(self) -> str:
        """« Synthèse médicale — Dr Marie DURAND, 01/09/2026 »."""
        who = ", ".join(p for p in (self.author, self.date.french() if self.date else "") if p)
        return f"{self.title} — {who}" if who else self.title


@dataclass(frozen=True)
class Statement:
    """One coded entry of one document, as « L'essentiel » compares it."""

    category: Category
    kind: str  # the VSM model's kind: problem, medical_history, allergy, treatment, result...
    key: str  # what is compared across documents: "cim10:E10.9", "atc:R03AC02", "loinc:4548-4"
    label: str
    status: Status = Status.ACTIVE
    detail: str = ""  # posology, reaction, dose number... (compared too)
    date: PartialDate | None = None  # of the fact: onset, measure, injection
    value: Decimal | None = None  # a measured value (results), for latest value and trend
    unit: str = ""
    code: str = ""  # the code shown (CIM-10, ATC, LOINC), if any
    end: PartialDate | None = None  # a treatment's planned end (« jusqu'au »)
    aliases: tuple[str, ...] = ()  # other keys naming the same item (its name, another code)
    item: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class LeftOut:
    """What a document holds that « L'essentiel » does not show: where, what, how many."""

    section: str
    what: str
    count: int = 1

    def french(self) -> str:
        return f"« {self.section} » : {self.what}" + (f" ({self.count})" if self.count > 1 else "")


@dataclass(frozen=True)
class DocumentFacts:
    """What one document gave: its statements, and what could not be taken."""

    source: Source
    statements: tuple[Statement, ...] = ()
    left_out: tuple[LeftOut, ...] = ()
    structured: bool = True  # False: no structured body (a PDF in CDA, an unreadable file)
    problem: str = ""  # French: why the document could not be read, if it could not


class Trend(enum.Enum):
    UP = "up"
    DOWN = "down"
    STABLE = "stable"

    @property
    def label(self) -> str:
        return {"up": "en hausse", "down": "en baisse", "stable": "stable"}[self.value]

    @property
    def arrow(self) -> str:
        return {"up": "↗", "down": "↘", "stable": "→"}[self.value]


@dataclass(frozen=True)
class Point:
    """One value of a result over time, with where it comes from."""

    date: PartialDate | None
    value: Decimal
    unit: str
    source: Source


@dataclass(frozen=True)
class Line:
    """One line of the pane.

    ``sources`` are every document that says the same thing, newest first;
    the line names the first. ``conflict`` (French) is set when other
    documents say something else of the same item: each variant is then a
    line of its own, all carrying the same ``conflict_key``.
    """

    category: Category
    key: str
    label: str
    status: Status
    detail: str
    date: PartialDate | None
    sources: tuple[Source, ...]
    statement: Statement
    code: str = ""
    conflict: str = ""
    conflict_key: str = ""
    points: tuple[Point, ...] = ()  # results: the values over the period, oldest first
    trend: Trend | None = None
    new: bool = False  # not there at the previous visit

    @property
    def source(self) -> Source:
        return self.sources[0]

    @property
    def fingerprint(self) -> str:
        """What identifies the line's content for « nouveau depuis votre dernière visite »."""
        when = self.date.iso() if self.date else ""
        return "|".join((self.category.value, self.key, self.status.value, self.detail, when))


@dataclass(frozen=True)
class Essentials:
    """« L'essentiel » of a record: lines by rubric, and what was and was not read."""

    lines: tuple[Line, ...] = ()
    documents_read: int = 0  # structured documents whose entries are shown
    documents_unstructured: int = 0  # read but without coded entries (PDF in CDA...)
    left_out: tuple[tuple[Source, LeftOut], ...] = ()
    unreadable: tuple[tuple[Source, str], ...] = ()
    first_visit: bool = True  # no previous state: nothing marked new

    def in_category(self, category: Category) -> list[Line]:
        return [line for line in self.lines if line.category is category]

    @property
    def conflicts(self) -> list[Line]:
        return [line for line in self.lines if line.conflict]

    @property
    def new_lines(self) -> list[Line]:
        return [line for line in self.lines if line.new]
