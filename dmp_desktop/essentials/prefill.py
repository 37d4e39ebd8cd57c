"""« Préparer la synthèse »: a new VSM pre-filled from lines of « L'essentiel ».

Plain Python, no Qt. Each line carries its entry as the VSM JSON format
writes it (``Statement.item``); it goes back through the same declared schema
(:mod:`dmp_desktop.domain.summary_json`) into the section of the summary it
belongs to. The window asks the doctor to confirm each line before calling
this; nothing is sent: the result opens in the VSM editor, where the usual
checks apply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dmp_desktop.domain import summary_json as sj
from dmp_desktop.domain.summary import MedicalSummary, ProblemStatus
from dmp_desktop.essentials.model import Category, Line

# kind -> (schema, the summary's list it goes to)
_TARGETS: dict[str, tuple[Any, str]] = {
    "problem": (sj.ProblemSchema, "active_problems"),
    "medical_history": (sj.MedicalHistorySchema, "medical_history"),
    "surgical_history": (sj.SurgerySchema, "surgical_history"),
    "allergy": (sj.AllergySchema, "allergies"),
    "treatment": (sj.TreatmentSchema, "treatments"),
    "vaccination": (sj.VaccinationSchema, "vaccinations"),
    "vital_sign": (sj.VitalSignSchema, "vital_signs"),
    "result": (sj.ResultSchema, "results"),
    "advance_directive": (sj.AdvanceDirectiveSchema, "advance_directives"),
}


@dataclass
class Prefill:
    """What was put in the summary, and the lines that could not be (French labels)."""

    summary: MedicalSummary
    taken: list[Line] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def prefill(summary: MedicalSummary, lines: Iterable[Line]) -> Prefill:
    """Add the entries of ``lines`` to ``summary`` (a new VSM: patient, author, date set)."""
    out = Prefill(summary)
    seen: set[tuple[str, str]] = set()
    for line in lines:
        statement = line.statement
        mark = (statement.kind, line.fingerprint)
        if mark in seen:
            continue
        seen.add(mark)
        if statement.kind == "vigilance_point":
            summary.vigilance_points.append(str(statement.item.get("text") or line.label))
            out.taken.append(line)
            continue
        if statement.kind == "trusted_person":
            try:
                summary.trusted_person = sj.ContactSchema.model_validate(statement.item).to_domain()
            except ValidationError:
                out.skipped.append(line.label)
                continue
            out.taken.append(line)
            continue
        kind = statement.kind
        if kind in ("problem", "medical_history"):
            # where the doctor sees it: in progress -> active problems; else history
            kind = "problem" if line.category is Category.PROBLEMS else "medical_history"
        target = _TARGETS.get(kind)
        if target is None:
            out.skipped.append(line.label)
            continue
        schema, name = target
        try:
            entry = schema.model_validate(statement.item).to_domain()
        except ValidationError:
            out.skipped.append(line.label)
            continue
        if kind == "medical_history":
            entry.status = ProblemStatus.RESOLVED
        getattr(summary, name).append(entry)
        out.taken.append(line)
    return out
