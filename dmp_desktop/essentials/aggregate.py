"""« L'essentiel » of a record from the statements of its documents: one rule, one place.

Plain Python, no Qt: the window (through its service) and ``dmp essentials``
both call :func:`build`.

The rules:

* Statements about the same item (same CIM-10 code, same substance, same
  LOINC concept...) are put together. When every document says the same
  thing, they make one line naming the newest document, the others listed as
  its other sources.
* When documents disagree — a treatment stopped in one and in progress in
  another, two posologies, an allergy active in one and resolved in
  another, two trusted persons — each version is a line of its own, and all
  of them are marked « Sources discordantes » with who says what. Nothing is
  merged silently; the newest comes first.
* Results: the latest value of each, with its values over the period (every
  document read) and their trend; two different values on the same day are
  both shown and marked.
* Vaccinations: one line per vaccine, its latest injection and how many.
* A treatment whose planned end is past is shown as ended, not as current.
* « Nouveau » marks a line that was not there at the professional's previous
  visit (``previous``: the fingerprints recorded then; None at the first visit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from dmp_desktop.dates import paris_today
from dmp_desktop.domain.summary import PartialDate
from dmp_desktop.essentials.concepts import concept_by_key
from dmp_desktop.essentials.model import (
    Category,
    DocumentFacts,
    Essentials,
    LeftOut,
    Line,
    Point,
    Source,
    Statement,
    Status,
    Trend,
    status_label,
)
from dmp_desktop.essentials.wording import normalized, quantity_text

# A change smaller than this share of the first value is « stable ».
STABLE_SHARE = Decimal("0.05")

_FAMILY = {
    "problem": "problem",
    "medical_history": "problem",
    "surgical_history": "surgery",
    "allergy": "allergy",
    "treatment": "treatment",
    "vaccination": "vaccination",
    "vital_sign": "result",
    "result": "result",
    "vigilance_point": "vigilance",
    "advance_directive": "directive",
    "trusted_person": "trusted",
}


def date_key(value: PartialDate | None) -> tuple[int, int, int]:
    """Sortable form of a partial date (unknown first)."""
    if value is None:
        return (0, 0, 0)
    return (value.year, value.month or 0, value.day or 0)


@dataclass(frozen=True)
class _Said:
    statement: Statement
    source: Source

    @property
    def order(self) -> tuple[tuple[int, int, int], tuple[int, int, int], str]:
        return (date_key(self.source.date), date_key(self.statement.date), self.source.unique_id)


def build(
    documents: Iterable[DocumentFacts],
    *,
    previous: frozenset[str] | None = None,
    today: date | None = None,
) -> Essentials:
    """« L'essentiel » of these documents (see the module's rules)."""
    today = today or paris_today()
    said_all: list[_Said] = []
    read = unstructured = 0
    left_out: list[tuple[Source, LeftOut]] = []
    unreadable: list[tuple[Source, str]] = []
    for facts in documents:
        if facts.problem:
            unreadable.append((facts.source, facts.problem))
            continue
        if not facts.structured:
            unstructured += 1
            continue
        read += 1
        left_out.extend((facts.source, item) for item in facts.left_out)
        said_all.extend(_Said(statement, facts.source) for statement in facts.statements)
    groups = _group(said_all)
    ordered: list[tuple[tuple[int, int, str], int, Line]] = []
    for (family, key), said in groups.items():
        said.sort(key=lambda s: s.order, reverse=True)
        if family == "result":
            group = [_result_line(key, said)]
        elif family == "vaccination":
            group = [_vaccination_line(key, said)]
        else:
            group = _item_lines(family, key, said, today)
        for index, line in enumerate(group):  # a conflict's versions stay together, newest first
            if previous is not None:
                line = replace(line, new=line.fingerprint not in previous)
            ordered.append((_line_order(group[0]), index, line))
    ordered.sort(key=lambda item: (item[0], item[1]))
    lines = [line for _, _, line in ordered]
    return Essentials(
        lines=tuple(lines),
        documents_read=read,
        documents_unstructured=unstructured,
        left_out=tuple(left_out),
        unreadable=tuple(unreadable),
        first_visit=previous is None,
    )


def _group(said: list[_Said]) -> dict[tuple[str, str], list[_Said]]:
    """Statements about the same item, by (family, key): items sharing any key are one.

    A drug coded by its CIS in one document and by its substance in another,
    or named only, is one item as soon as one statement carries both keys.
    The group's key is its most frequent main key.
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for one in said:
        family = _FAMILY.get(one.statement.kind, one.statement.kind)
        main = find((family, one.statement.key))
        for alias in one.statement.aliases:
            other = find((family, alias))
            if other != main:
                parent[other] = main
    members: dict[tuple[str, str], list[_Said]] = defaultdict(list)
    for one in said:
        family = _FAMILY.get(one.statement.kind, one.statement.kind)
        members[find((family, one.statement.key))].append(one)
    out: dict[tuple[str, str], list[_Said]] = {}
    for (family, _), group in members.items():
        counts: dict[str, int] = defaultdict(int)
        for one in group:
            counts[one.statement.key] += 1
        key = max(sorted(counts), key=lambda k: counts[k])
        out[(family, key)] = group
    return out


def fingerprints(essentials: Essentials) -> frozenset[str]:
    """What to record of this visit, for the next one's « nouveau » marks."""
    return frozenset(line.fingerprint for line in essentials.lines)


# -- problems, allergies, treatments, directives: versions and conflicts -------------------------


def _variant(family: str, statement: Statement) -> str:
    if family in ("problem", "allergy"):
        return statement.status.value
    if family == "treatment":
        return f"{statement.status.value}|{normalized(statement.detail)}"
    if family == "directive":
        return normalized(statement.detail)
    if family == "trusted":
        return normalized(f"{statement.label} {statement.detail}")
    return ""


def _versions(family: str, said: list[_Said]) -> list[list[_Said]]:
    """What the documents say, one list per distinct version, newest first.

    A treatment's posology is compared only where documents give one: a document
    that names the drug without posology joins the newest version of the same status.
    """
    variants: dict[str, list[_Said]] = {}
    silent: list[_Said] = []
    for one in said:  # newest first: the first version met is the newest
        if family == "treatment" and not one.statement.detail.strip():
            silent.append(one)
            continue
        variants.setdefault(_variant(family, one.statement), []).append(one)
    for one in silent:
        status = one.statement.status.value
        same = next((v for k, v in variants.items() if k.startswith(f"{status}|")), None)
        if same is None:
            variants[f"{status}|"] = [one]
        else:
            same.append(one)
    versions = list(variants.values())
    for version in versions:
        version.sort(key=lambda s: s.order, reverse=True)
    versions.sort(key=lambda v: v[0].order, reverse=True)
    return versions


def _item_lines(family: str, key: str, said: list[_Said], today: date) -> list[Line]:
    out: list[Line] = []
    for versions in _versions(family, said):
        newest = versions[0].statement
        status, detail = newest.status, newest.detail
        if not detail:  # the newest gives no posology: the version's, from an older document
            detail = next((s.statement.detail for s in versions if s.statement.detail), "")
        if family == "treatment" and status is Status.ACTIVE and newest.end is not None:
            if date_key(newest.end) < date_key(PartialDate.of(today)):
                status = Status.STOPPED
                detail = f"{detail} ; terminé le {newest.end.french()}".lstrip(" ;")
        out.append(
            Line(
                category=_category(newest, status),
                key=key,
                label=newest.label,
                status=status,
                detail=detail,
                date=newest.date,
                sources=_unique_sources(versions),
                statement=newest,
                code=newest.code,
            )
        )
    if len(out) > 1:
        words = _conflict_words(family, out)
        out = [replace(line, conflict=words, conflict_key=f"{family}:{key}") for line in out]
    return out


def _category(statement: Statement, status: Status) -> Category:
    if statement.category in (Category.PROBLEMS, Category.HISTORY) and statement.kind != (
        "surgical_history"
    ):
        return Category.PROBLEMS if status is Status.ACTIVE else Category.HISTORY
    return statement.category


def _conflict_words(family: str, lines: Sequence[Line]) -> str:
    """« Sources discordantes : en cours selon … ; arrêté selon … »."""
    parts = []
    for line in lines:
        what = status_label(line.statement.kind, line.status)
        if family in ("treatment", "directive", "trusted") and line.detail:
            what = f"{what}, {line.detail}" if family == "treatment" else line.detail
        if family == "trusted":
            what = line.label.split(" : ", 1)[-1]
        parts.append(f"{what} selon {line.source.french()}")
    return "Sources discordantes : " + " ; ".join(parts)


def _unique_sources(said: Iterable[_Said]) -> tuple[Source, ...]:
    seen: dict[str, Source] = {}
    for one in said:
        seen.setdefault(one.source.unique_id, one.source)
    return tuple(seen.values())


# -- vaccinations ---------------------------------------------------------------------------------


def _vaccination_line(key: str, said: list[_Said]) -> Line:
    by_date = sorted(said, key=lambda s: (date_key(s.statement.date), s.order), reverse=True)
    newest = by_date[0].statement
    injections = {date_key(s.statement.date) for s in said if s.statement.date is not None}
    count = len(injections) or 1
    parts = []
    if count > 1:
        parts.append(f"{count} injections")
    if newest.detail:
        parts.append(f"dernière : {newest.detail}" if count > 1 else newest.detail)
    return Line(
        category=Category.VACCINATIONS,
        key=key,
        label=newest.label,
        status=Status.DONE,
        detail=", ".join(parts),
        date=newest.date,
        sources=_unique_sources(by_date),
        statement=newest,
        code=newest.code,
    )


# -- results: latest value, values over the period, trend ----------------------------------


def _result_line(key: str, said: list[_Said]) -> Line:
    by_date = sorted(said, key=lambda s: (date_key(s.statement.date), s.order), reverse=True)
    newest = by_date[0].statement
    points: dict[tuple[tuple[int, int, int], Decimal, str], Point] = {}
    for one in reversed(by_date):  # oldest first
        st = one.statement
        if st.value is None:
            continue
        points.setdefault(
            (date_key(st.date), st.value, st.unit), Point(st.date, st.value, st.unit, one.source)
        )
    ordered = tuple(points.values())
    conflict = ""
    if newest.value is not None:
        same_day = [
            p
            for p in ordered
            if date_key(p.date) == date_key(newest.date) and p.unit == newest.unit
        ]
        if len({p.value for p in same_day}) > 1:
            conflict = "Sources discordantes : " + " ; ".join(
                f"{quantity_text(p.value, p.unit)} selon {p.source.french()}" for p in same_day
            )
    concept = concept_by_key(key.removeprefix("concept:")) if key.startswith("concept:") else None
    return Line(
        category=newest.category,
        key=key,
        label=concept.label if concept else newest.label,
        status=Status.DONE,
        detail=newest.detail,
        date=newest.date,
        sources=_unique_sources(by_date),
        statement=newest,
        code=newest.code,
        conflict=conflict,
        conflict_key=f"result:{key}" if conflict else "",
        points=ordered,
        trend=trend_of(ordered, newest.unit) if newest.value is not None else None,
    )


def trend_of(points: Sequence[Point], unit: str) -> Trend | None:
    """Up, down or stable from the first to the latest value in ``unit`` (None: one value only)."""
    values = [p for p in points if p.unit == unit]
    dates = {date_key(p.date) for p in values}
    if len(dates) < 2:
        return None
    first, last = values[0].value, values[-1].value
    if first == 0:
        return Trend.STABLE if last == 0 else Trend.UP
    share = abs(last - first) / abs(first)
    if share < STABLE_SHARE:
        return Trend.STABLE
    return Trend.UP if last > first else Trend.DOWN


# -- order of the lines -------------------------------------------------------------------------

_CATEGORY_ORDER = {category: rank for rank, category in enumerate(Category)}


def _line_order(line: Line) -> tuple[int, int, str]:
    rank = 0
    if line.category is Category.RESULTS:
        concept = concept_by_key(line.key.removeprefix("concept:"))
        rank = concept.rank if concept else 99
    elif line.category is Category.DIRECTIVES:
        rank = 0 if line.statement.kind == "trusted_person" else 1
    elif line.category in (Category.VACCINATIONS, Category.HISTORY):
        year, month, day = date_key(line.date)
        rank = -(year * 10000 + month * 100 + day)
    elif line.category is Category.TREATMENTS:
        rank = 0 if line.status is Status.ACTIVE or line.conflict else 1
    return (_CATEGORY_ORDER[line.category], rank, normalized(line.label) + "\x00" + line.key)
