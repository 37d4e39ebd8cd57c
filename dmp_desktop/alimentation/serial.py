"""JSON forms of what the outbox keeps (inside its encrypted store, never in clear)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dmp_desktop.dates import parse_iso_date
from dmp_desktop.domain.document import Author, Code, DocumentEntry, DocumentStatus
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.summary import Gender, LocalId, PatientIdentity


def code_to_json(code: Code | None) -> dict[str, str] | None:
    if code is None:
        return None
    return {"code": code.code, "display": code.display, "scheme": code.scheme}


def code_from_json(data: Any) -> Code | None:
    if data is None:
        return None
    return Code(str(data["code"]), str(data.get("display", "")), str(data.get("scheme", "")))


def _code(data: Any) -> Code:
    code = code_from_json(data)
    return code if code is not None else Code("")


def ins_to_json(ins: Ins) -> dict[str, str]:
    return {"value": ins.value, "oid": ins.oid}


def ins_from_json(data: Any) -> Ins:
    return Ins(str(data["value"]), InsKind.from_oid(str(data["oid"])))


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def identity_to_json(identity: PatientIdentity | None) -> dict[str, Any] | None:
    if identity is None:
        return None
    return {
        "ins": ins_to_json(identity.ins),
        "birth_family_name": identity.birth_family_name,
        "birth_given_names": list(identity.birth_given_names),
        "birth_date": identity.birth_date.isoformat(),
        "gender": identity.gender.value,
        "birthplace_code": identity.birthplace_code,
        "local_id": (
            {"root": identity.local_id.root, "extension": identity.local_id.extension}
            if identity.local_id is not None
            else None
        ),
        "used_family_name": identity.used_family_name,
        "used_given_name": identity.used_given_name,
    }


def identity_from_json(data: Any) -> PatientIdentity | None:
    if data is None:
        return None
    local = data.get("local_id")
    return PatientIdentity(
        ins=ins_from_json(data["ins"]),
        birth_family_name=str(data["birth_family_name"]),
        birth_given_names=[str(g) for g in data["birth_given_names"]],
        birth_date=parse_iso_date(data["birth_date"]),
        gender=Gender(data["gender"]),
        birthplace_code=data.get("birthplace_code"),
        local_id=LocalId(str(local["root"]), str(local["extension"])) if local else None,
        used_family_name=data.get("used_family_name"),
        used_given_name=data.get("used_given_name"),
    )


def _author_to_json(author: Author) -> dict[str, Any]:
    return {
        "national_id": author.national_id,
        "family_name": author.family_name,
        "given_name": author.given_name,
        "role": author.role,
        "specialty": code_to_json(author.specialty),
        "institution": author.institution,
        "institution_id": author.institution_id,
    }


def _author_from_json(data: Any) -> Author:
    return Author(
        national_id=data.get("national_id"),
        family_name=str(data.get("family_name", "")),
        given_name=str(data.get("given_name", "")),
        role=str(data.get("role", "")),
        specialty=code_from_json(data.get("specialty")),
        institution=str(data.get("institution", "")),
        institution_id=data.get("institution_id"),
    )


def entry_to_json(entry: DocumentEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "entry_uuid": entry.entry_uuid,
        "unique_id": entry.unique_id,
        "repository_id": entry.repository_id,
        "patient": ins_to_json(entry.patient),
        "title": entry.title,
        "type_code": code_to_json(entry.type_code),
        "class_code": code_to_json(entry.class_code),
        "format_code": code_to_json(entry.format_code),
        "mime_type": entry.mime_type,
        "creation_time": _when(entry.creation_time),
        "service_start": _when(entry.service_start),
        "service_stop": _when(entry.service_stop),
        "submission_time": _when(entry.submission_time),
        "authors": [_author_to_json(a) for a in entry.authors],
        "confidentiality": [code_to_json(c) for c in entry.confidentiality],
        "status": entry.status.value,
        "practice_setting": code_to_json(entry.practice_setting),
        "facility_type": code_to_json(entry.facility_type),
        "event_codes": [code_to_json(c) for c in entry.event_codes],
        "language": entry.language,
        "size": entry.size,
        "hash_sha1": entry.hash_sha1,
        "comments": entry.comments,
        "version": entry.version,
        "extra": dict(entry.extra),
    }


def entry_from_json(data: Any) -> DocumentEntry | None:
    if data is None:
        return None
    return DocumentEntry(
        entry_uuid=str(data["entry_uuid"]),
        unique_id=str(data["unique_id"]),
        repository_id=str(data["repository_id"]),
        patient=ins_from_json(data["patient"]),
        title=str(data.get("title", "")),
        type_code=_code(data.get("type_code")),
        class_code=_code(data.get("class_code")),
        format_code=_code(data.get("format_code")),
        mime_type=str(data.get("mime_type", "text/xml")),
        creation_time=_parse_when(data.get("creation_time")),
        service_start=_parse_when(data.get("service_start")),
        service_stop=_parse_when(data.get("service_stop")),
        submission_time=_parse_when(data.get("submission_time")),
        authors=tuple(_author_from_json(a) for a in data.get("authors", [])),
        confidentiality=tuple(_code(c) for c in data.get("confidentiality", [])),
        status=DocumentStatus(data.get("status", DocumentStatus.APPROVED.value)),
        practice_setting=code_from_json(data.get("practice_setting")),
        facility_type=code_from_json(data.get("facility_type")),
        event_codes=tuple(_code(c) for c in data.get("event_codes", [])),
        language=str(data.get("language", "fr-FR")),
        size=data.get("size"),
        hash_sha1=data.get("hash_sha1"),
        comments=str(data.get("comments", "")),
        version=data.get("version"),
        extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
    )


__all__ = [
    "code_from_json",
    "code_to_json",
    "entry_from_json",
    "entry_to_json",
    "identity_from_json",
    "identity_to_json",
    "ins_from_json",
    "ins_to_json",
]
