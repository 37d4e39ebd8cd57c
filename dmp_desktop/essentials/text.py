"""« L'essentiel » as plain French text (``dmp essentials``): the lines of the window's pane."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from dmp_desktop.essentials.model import Category, Essentials, Line, status_label
from dmp_desktop.essentials.wording import normalized, quantity_text

# Statuses worth saying next to a line (« en cours » goes without saying in its rubric).
_SAID = {"stopped", "resolved", "inactive"}


def line_text(line: Line) -> str:
    """« Diabète de type 1 — E10.9 — depuis 03/2019 »: what the pane's first columns show."""
    parts = [line.label]
    if line.code and line.code not in line.label:
        parts.append(line.code)
    if line.detail:
        parts.append(line.detail)
    if line.status.value in _SAID:
        parts.append(status_label(line.statement.kind, line.status))
    if line.date is not None:
        parts.append(line.date.french())
    text = " — ".join(parts)
    if line.trend is not None:
        text += f" {line.trend.arrow} {line.trend.label}"
    return text


def values_text(line: Line) -> str:
    """« 8,6 → 8,4 → … → 6,9 % »: a result's values over the period, oldest first."""
    if len(line.points) < 2:
        return ""
    unit = line.points[-1].unit
    numbers = [quantity_text(p.value, "") for p in line.points if p.unit == unit]
    shown = quantity_text(Decimal(0), unit).removeprefix("0").strip()
    return f"{' → '.join(numbers)} {shown}".strip()


def render(essentials: Essentials, *, missing: int = 0) -> str:
    """The whole of « L'essentiel », rubric by rubric, each line with its source."""
    out: list[str] = []
    if not essentials.lines:
        out.append("Aucune donnée structurée lue pour ce patient.")
    for category in Category:
        lines = essentials.in_category(category)
        if not lines:
            continue
        out.append(f"{category.label}")
        for line in lines:
            mark = "  ! " if line.conflict else "  • "
            new = " [nouveau]" if line.new else ""
            out.append(f"{mark}{line_text(line)}{new}")
            values = values_text(line)
            if values:
                out.append(f"      valeurs : {values}")
            out.append(f"      source : {line.source.french()}  (id {line.source.unique_id})")
            if len(line.sources) > 1:
                out.append(f"      et {len(line.sources) - 1} autre(s) document(s) concordant(s)")
            if line.conflict:
                out.append(f"      {line.conflict}")
        out.append("")
    out.append(f"Documents structurés lus : {essentials.documents_read}.")
    if missing:
        out.append(
            f"{missing} document(s) structuré(s) de la liste ne sont pas encore lus : "
            "« dmp essentials --load » les récupère (chaque récupération est tracée dans le DMP)."
        )
    if essentials.left_out:
        count = sum(item.count for _, item in essentials.left_out)
        out.append(f"{count} élément(s) non repris dans L'essentiel (détail avec --json).")
    for source, problem in essentials.unreadable:
        out.append(f"Document illisible : {source.french()} ({problem}).")
    return "\n".join(out).rstrip() + "\n"


# The words of the window's rows, French source text; the window passes them translated
# (ui.essentials_model.translated_phrases) to whoever prepares the rows.
PHRASES: dict[str, str] = {
    "new": "nouveau",
    "new_since": "Nouveau depuis votre dernière visite.",
    "values": "Valeurs sur la période : {v}",
    "source": "Source : {s}",
    "also": "Aussi dans : {s}",
    "enter": "Entrée : ouvrir le document source.",
    "up": "en hausse",
    "down": "en baisse",
    "stable": "stable",
}


@dataclass(frozen=True)
class RowTexts:
    """What a line of the pane shows, prepared once and away from the UI thread, so that
    painting the tree asks Python for nothing but lookups."""

    cells: tuple[str, str, str, str]  # item, detail, date, source
    explained: str  # tooltip and accessible text
    filter_text: str  # normalized, for the filter


def row_texts(line: Line, phrases: Mapping[str, str] = PHRASES) -> RowTexts:
    label = line.label
    if line.statement.kind == "treatment" and ", " in label and len(label) > 40:
        label = label.split(", ", 1)[0]  # the product; its form is in the tooltip
    item = f"⚠ {label}" if line.conflict else label
    if line.code and line.code not in line.label:
        item += f" ({line.code})"
    if line.new:
        item += " ● " + phrases["new"]
    parts = [line.detail] if line.detail else []
    if line.status.value in _SAID:
        parts.append(status_label(line.statement.kind, line.status))
    detail = " — ".join(parts)
    if line.trend is not None:
        detail += f" {line.trend.arrow} {phrases[line.trend.value]}"
    when = line.date.french() if line.date else ""
    more = len(line.sources) - 1
    source = line.source.french() + (f" (+{more})" if more else "")
    explained = [line_text(line)]
    if line.new:
        explained.append(phrases["new_since"])
    if line.conflict:
        explained.append(line.conflict)
    values = values_text(line)
    if values:
        explained.append(phrases["values"].format(v=values))
    explained.append(phrases["source"].format(s=line.source.french()))
    for other in line.sources[1:]:
        explained.append(phrases["also"].format(s=other.french()))
    explained.append(phrases["enter"])
    cells = (item, detail, when, source)
    return RowTexts(cells, "\n".join(explained), normalized(" ".join(cells) + " " + line.conflict))


def prepare_rows(
    essentials: Essentials, phrases: Mapping[str, str] = PHRASES
) -> tuple[RowTexts, ...]:
    """Every line's texts, in the order of ``essentials.lines``."""
    return tuple(row_texts(line, phrases) for line in essentials.lines)
