"""Run the ANS CI-SIS CDA validation kit (``validate-cda``) and read its JSON report.

The kit is found through ``$DMP_CDA_KIT`` or at ``../shared/cda-kit`` next to
the repository. It runs with this interpreter (``sys.executable``), which must
have lxml and saxonche. Each run costs about 10 s of schematron compilation:
give all the documents to one call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmp_desktop.cda.errors import ValidationKitMissingError, ValidationRunError

KIT_ENV = "DMP_CDA_KIT"
PROFILES = ("auto", "vsm", "n1", "generic")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ValidationIssue:
    check: str
    pattern: str | None
    location: str | None
    line: int | None
    test: str | None
    text: str

    def __str__(self) -> str:
        where = f" line {self.line}" if self.line else ""
        return f"[{self.check}] {self.location or ''}{where}: {self.text}"


@dataclass
class FileReport:
    path: str
    passed: bool
    profile: str
    template_ids: list[str] = field(default_factory=list)
    errors: list[ValidationIssue] = field(default_factory=list)
    warnings: list[ValidationIssue] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ValidationReport:
    passed: bool
    files: list[FileReport]
    seconds_total: float
    seconds_compile: float
    raw: dict[str, Any]

    def file(self, name: str) -> FileReport:
        """The report of the file whose path ends with ``name``."""
        for report in self.files:
            if report.path == name or Path(report.path).name == name:
                return report
        raise KeyError(name)

    def summary(self) -> str:
        lines = []
        for report in self.files:
            status = "PASS" if report.passed else "FAIL"
            lines.append(f"{status} {Path(report.path).name} ({report.profile})")
            lines.extend(f"  - {issue}" for issue in report.errors)
        return "\n".join(lines)


def candidate_kits() -> list[Path]:
    candidates = []
    env = os.environ.get(KIT_ENV)
    if env:
        candidates.append(Path(env).expanduser())
    candidates.append(REPO_ROOT.parent / "shared" / "cda-kit")
    return candidates


def find_kit(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The kit's folder (holding ``validate-cda``); raises when it is nowhere."""
    candidates = [Path(explicit)] if explicit is not None else candidate_kits()
    for path in candidates:
        if (path / "validate-cda").is_file():
            return path
    raise ValidationKitMissingError([str(p) for p in candidates])


def kit_available() -> bool:
    try:
        find_kit()
    except ValidationKitMissingError:
        return False
    return True


def validate_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    profile: str = "auto",
    volet: str | None = None,
    kit: str | os.PathLike[str] | None = None,
    timeout: float = 900.0,
) -> ValidationReport:
    """Validate files in one run of the kit (one schematron compilation for all)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}")
    if not paths:
        raise ValueError("no file to validate")
    kit_dir = find_kit(kit)
    command = [sys.executable, str(kit_dir / "validate-cda"), "--json", "--profile", profile]
    if volet:
        command += ["--volet", volet]
    command += [str(Path(p)) for p in paths]
    try:
        # Fixed program and arguments, no shell.
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ValidationRunError(f"validate-cda took more than {timeout:.0f} s") from exc
    except OSError as exc:
        raise ValidationRunError(f"cannot run validate-cda: {exc.strerror}") from exc
    if done.returncode not in (0, 1):
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise ValidationRunError(f"validate-cda exit status {done.returncode}: {tail[0]}")
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ValidationRunError("validate-cda did not print a JSON report") from exc
    return parse_report(data)


def validate_documents(
    documents: Mapping[str, bytes],
    *,
    profile: str = "auto",
    volet: str | None = None,
    kit: str | os.PathLike[str] | None = None,
) -> ValidationReport:
    """Validate in-memory documents (name -> bytes) in one run; names become file names."""
    with tempfile.TemporaryDirectory(prefix="dmp-cda-") as tmp:
        paths = []
        for name, data in documents.items():
            if Path(name).name != name or not name:
                raise ValueError(f"not a plain file name: {name!r}")
            path = Path(tmp) / name
            path.write_bytes(data)
            paths.append(path)
        return validate_files(paths, profile=profile, volet=volet, kit=kit)


def parse_report(data: Any) -> ValidationReport:
    """The kit's ``--json`` output as typed objects."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ValidationRunError("unexpected JSON report")
    files = []
    for item in data["files"]:
        report = FileReport(
            path=str(item.get("file", "")),
            passed=item.get("status") == "PASS",
            profile=str(item.get("profile", "")),
            template_ids=[str(t) for t in item.get("template_ids") or []],
            seconds=float(item.get("seconds") or 0.0),
        )
        for check in item.get("checks") or []:
            name = str(check.get("name", check.get("check", "")))
            report.errors.extend(_issues(name, check.get("errors")))
            report.warnings.extend(_issues(name, check.get("warnings")))
        files.append(report)
    seconds = data.get("seconds") or {}
    return ValidationReport(
        passed=bool(data.get("passed")),
        files=files,
        seconds_total=float(seconds.get("total") or 0.0),
        seconds_compile=float(seconds.get("schematron_compile") or 0.0),
        raw=data,
    )


def _issues(check: str, items: Iterable[Any] | None) -> list[ValidationIssue]:
    out = []
    for item in items or []:
        if not isinstance(item, dict):
            out.append(ValidationIssue(check, None, None, None, None, str(item)))
            continue
        line = item.get("line")
        out.append(
            ValidationIssue(
                check=check,
                pattern=item.get("pattern"),
                location=item.get("location"),
                line=line if isinstance(line, int) else None,
                test=item.get("test"),
                text=" ".join(str(item.get("text") or item.get("message") or "").split()),
            )
        )
    return out
