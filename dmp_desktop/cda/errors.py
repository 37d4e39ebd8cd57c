"""Errors of the CDA layer: typed, carrying data (paths, reasons), never health data.

Each names its message (``cda.*`` in :mod:`dmp_desktop.messages`); the
application's single translation point is ``dmp_desktop.errors.describe``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.messages import Msg, known, msg


class CdaError(DmpDesktopError):
    """Base of the CDA layer's errors."""

    message_id = "cda.error"


class CdaFormatError(CdaError):
    """A document that is not the CDA we expected (not CDA, wrong type, no body...)."""

    message_id = "cda.format"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmptyPayloadError(CdaError):
    """A level-1 document was asked for an empty PDF or text."""

    message_id = "cda.empty_payload"


@dataclass(frozen=True)
class SummaryProblem:
    """Something that prevents building a valid VSM: where (a model path) and why (a code).

    ``params`` fill the reason's message: the code concerned and its official
    label, a unit, a date (never the doctor's own text).
    """

    path: str
    reason: str
    params: tuple[tuple[str, str], ...] = ()


class SummaryInvalidError(CdaError):
    """The summary cannot become a valid VSM; ``problems`` lists every reason found."""

    def __init__(self, problems: list[SummaryProblem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.reason}" for p in problems))
        self.problems = problems

    def message(self) -> Msg:
        return msg("cda.summary_invalid", problems=[problem_message(p) for p in self.problems])


class ValidationKitMissingError(CdaError):
    """The ANS CDA validation kit (validate-cda) could not be found."""

    message_id = "cda.kit_missing"

    def __init__(self, searched: list[str]) -> None:
        super().__init__(", ".join(searched))
        self.searched = searched


class ValidationRunError(CdaError):
    """validate-cda ran but its report could not be obtained."""

    message_id = "cda.validation_run"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def problem_message(problem: SummaryProblem) -> Msg:
    """The French line for one problem: where (section and number, field) and why."""
    head = problem.path.split("[", 1)[0].split(".", 1)[0]
    where: Msg | str = msg(f"cda.path.{head}") if known(f"cda.path.{head}") else problem.path
    index = problem.path[len(head) :]
    if index.startswith("["):
        number = index[1:].split("]", 1)[0]
        if number.isdigit():
            where = msg("cda.numbered", where=where, number=int(number) + 1)
    if "." in problem.path:
        field = problem.path.rsplit(".", 1)[-1]
    else:
        field = problem.path if known(f"cda.field.{problem.path}") else ""
    reason: Msg | str = (
        msg(f"cda.reason.{problem.reason}", **dict(problem.params))
        if known(f"cda.reason.{problem.reason}")
        else problem.reason
    )
    if not field:
        return msg("cda.problem", where=where, reason=reason)
    field_text: Msg | str = msg(f"cda.field.{field}") if known(f"cda.field.{field}") else field
    return msg("cda.problem_field", where=where, field=field_text, reason=reason)
