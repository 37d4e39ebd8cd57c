"""The facts read from a document as JSON, for the encrypted cache, and « L'essentiel » as JSON.

:func:`facts_to_json` / :func:`facts_from_json` keep what a document gave
(never its content) so that the next visit shows it without retrieving the
document again. :func:`essentials_to_dict` is what ``dmp essentials --json``
prints. A cached document read by an older reader (``FORMAT_VERSION``) or
damaged is refused here (:class:`ValueError`) and simply read again.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from dmp_desktop.domain.summary import PartialDate
from dmp_desktop.essentials.model import (
    FORMAT_VERSION,
    Category,
    DocumentFacts,
    Essentials,
    LeftOut,
    Line,
    Source,
    Statement,
    Status,
    status_label,
)


def _date_out(value: PartialDate | None) -> str | None:
    return value.iso() if value is not None else None


def _date_in(value: Any) -> PartialDate | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("date")
    return PartialDate.parse(value)


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError("text")
    return value


def source_to_dict(source: Source) -> dict[str, Any]:
    return {
        "unique_id": source.unique_id,
        "title": source.title,
        "type_code": source.type_code,
        "type_label": source.type_label,
        "author": source.author,
        "date": _date_out(source.date),
    }


def source_from_dict(data: Any) -> Source:
    if not isinstance(data, dict):
        raise ValueError("source")
    return Source(
        unique_id=_text(data.get("unique_id")),
        title=_text(data.get("title")),
        type_code=_text(data.get("type_code")),
        type_label=_text(data.get("type_label")),
        author=_text(data.get("author")),
        date=_date_in(data.get("date")),
    )


def _statement_to_dict(st: Statement) -> dict[str, Any]:
    return {
        "category": st.category.value,
        "kind": st.kind,
        "key": st.key,
        "aliases": list(st.aliases),
        "label": st.label,
        "status": st.status.value,
        "detail": st.detail,
        "date": _date_out(st.date),
        "end": _date_out(st.end),
        "value": str(st.value) if st.value is not None else None,
        "unit": st.unit,
        "code": st.code,
        "item": st.item,
    }


def _statement_from_dict(data: Any) -> Statement:
    if not isinstance(data, dict):
        raise ValueError("statement")
    value = data.get("value")
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        raise ValueError("value") from None
    aliases = data.get("aliases") or []
    item = data.get("item") or {}
    if not isinstance(aliases, list) or not isinstance(item, dict):
        raise ValueError("statement")
    return Statement(
        category=Category(data.get("category")),
        kind=_text(data.get("kind")),
        key=_text(data.get("key")),
        aliases=tuple(_text(a) for a in aliases),
        label=_text(data.get("label")),
        status=Status(data.get("status")),
        detail=_text(data.get("detail")),
        date=_date_in(data.get("date")),
        end=_date_in(data.get("end")),
        value=number,
        unit=_text(data.get("unit")),
        code=_text(data.get("code")),
        item=item,
    )


def facts_to_dict(facts: DocumentFacts) -> dict[str, Any]:
    return {
        "v": FORMAT_VERSION,
        "source": source_to_dict(facts.source),
        "structured": facts.structured,
        "problem": facts.problem,
        "statements": [_statement_to_dict(st) for st in facts.statements],
        "left_out": [[i.section, i.what, i.count] for i in facts.left_out],
    }


def facts_from_dict(data: Any) -> DocumentFacts:
    """The facts back; ValueError if written by another version or damaged."""
    if not isinstance(data, dict) or data.get("v") != FORMAT_VERSION:
        raise ValueError("format")
    statements = data.get("statements")
    left = data.get("left_out")
    if not isinstance(statements, list) or not isinstance(left, list):
        raise ValueError("facts")
    left_out = []
    for item in left:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], int)):
            raise ValueError("left_out")
        left_out.append(LeftOut(_text(item[0]), _text(item[1]), item[2]))
    try:
        return DocumentFacts(
            source=source_from_dict(data.get("source")),
            statements=tuple(_statement_from_dict(s) for s in statements),
            left_out=tuple(left_out),
            structured=bool(data.get("structured", True)),
            problem=_text(data.get("problem")),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError("facts") from exc


# -- « L'essentiel » for the CLI's --json ---------------------------------------------------------


def line_to_dict(line: Line) -> dict[str, Any]:
    out: dict[str, Any] = {
        "category": line.category.value,
        "label": line.label,
        "status": line.status.value,
        "status_label": status_label(line.statement.kind, line.status),
        "detail": line.detail,
        "date": _date_out(line.date),
        "code": line.code,
        "kind": line.statement.kind,
        "new": line.new,
        "source": source_to_dict(line.source),
        "other_sources": [source_to_dict(s) for s in line.sources[1:]],
    }
    if line.conflict:
        out["conflict"] = line.conflict
    if line.points:
        out["values"] = [
            {
                "date": _date_out(p.date),
                "value": float(p.value) if p.value % 1 else int(p.value),
                "unit": p.unit,
                "source": p.source.unique_id,
            }
            for p in line.points
        ]
    if line.trend is not None:
        out["trend"] = line.trend.value
    return out


def essentials_to_dict(essentials: Essentials) -> dict[str, Any]:
    return {
        "documents_read": essentials.documents_read,
        "documents_unstructured": essentials.documents_unstructured,
        "first_visit": essentials.first_visit,
        "categories": [
            {
                "category": category.value,
                "label": category.label,
                "lines": [line_to_dict(line) for line in essentials.in_category(category)],
            }
            for category in Category
            if essentials.in_category(category)
        ],
        "left_out": [
            {
                "source": source.unique_id,
                "section": item.section,
                "what": item.what,
                "count": item.count,
            }
            for source, item in essentials.left_out
        ],
        "unreadable": [
            {"source": source.unique_id, "problem": problem}
            for source, problem in essentials.unreadable
        ],
    }
