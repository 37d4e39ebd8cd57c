"""« L'essentiel » as plain French text (``dmp essentials``): the lines of the window's pane."""

from __future__ import annotations

from decimal import Decimal

from dmp_desktop.essentials.model import Category, Essentials, Line, status_label
from dmp_desktop.essentials.reading import quantity_text

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
