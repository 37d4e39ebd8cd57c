"""Typed errors of the alimentation side (upload, replace, mask, archive, delete, outbox).

They carry codes and data, never prose nor health data; their messages are
``feed.*`` and ``upload.problem.*`` in :mod:`dmp_desktop.messages`, shown by
``dmp_desktop.errors.describe``. Kept apart from :mod:`dmp_desktop.alimentation` so that the
wire (``dmp/``) can raise them without importing the outbox.
"""

from __future__ import annotations

from dmp_desktop.errors import DmpDesktopError
from dmp_desktop.messages import Msg, coded, msg, render


def _action(action: str) -> Msg:
    return coded("feed.action", action, "feed.action.unknown")


class FeedError(DmpDesktopError):
    """Base of the alimentation errors."""

    message_id = "feed.error"


class UploadInvalidError(FeedError):
    """The upload cannot be sent as it is; ``problems``: codes of ``upload.problem.*``."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        super().__init__(", ".join(problems))
        self.problems = tuple(problems)

    def message(self) -> Msg:
        return msg("lines", lines=[problem_message(code) for code in self.problems])


class ForbiddenVisibilityError(FeedError):
    """Masked from professionals and invisible to the patient: the DMP forbids the pair."""

    message_id = "upload.problem.forbidden_visibility"


class NotAuthorError(FeedError):
    """Only the author may do this (``action``: ``delete``, ``replace``)."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action

    def message(self) -> Msg:
        return msg("feed.not_author", action=_action(self.action))


class DocumentStatusError(FeedError):
    """The document's status does not allow ``action`` (e.g. replacing an archived document)."""

    def __init__(self, action: str, status: str) -> None:
        super().__init__(action, status)
        self.action = action
        self.status = status

    def message(self) -> Msg:
        key = _STATUS_KEYS.get(self.status, "unknown")
        status = coded("feed.status", key, "feed.status.unknown")
        return msg("feed.status_forbids", action=_action(self.action), status=status)


class PatientObjectionError(FeedError):
    """The patient objected to this document being sent: it never will be."""

    message_id = "feed.patient_objection"


class OutboxItemGoneError(FeedError):
    """The outbox item was confirmed or discarded meanwhile (another window, the CLI)."""

    message_id = "feed.outbox_item_gone"


class OnBehalfRefusedError(FeedError):
    """The DMP refused a secretary's upload for ``author`` (display name of the professional).

    ``code``: the DMP's code (``DMPAccessDenied``: not authorised by the
    patient or not of the card's structure; ``DMPAccessDeniedByExcludedPs``:
    the patient blocked that professional). Nothing was registered.
    """

    def __init__(self, code: str, author: str) -> None:
        super().__init__(code)
        self.code = code
        self.author = author

    def message(self) -> Msg:
        if self.code == "DMPAccessDeniedByExcludedPs":
            why = msg("feed.on_behalf.blocked", author=self.author)
        else:
            why = msg("feed.on_behalf.not_authorised", author=self.author)
        return msg("feed.on_behalf_refused", why=why)


class SignatureAwaitedError(FeedError):
    """A secretary prepared this upload for ``signer`` (display name): it leaves only once
    signed with that professional's card (the parapheur). Nothing was sent."""

    def __init__(self, signer: str) -> None:
        super().__init__("signature_awaited")
        self.signer = signer

    def message(self) -> Msg:
        return msg("feed.to_sign.awaited", signer=self.signer)


class NotSignerError(FeedError):
    """Only ``signer`` (display name), with their own card, may sign this prepared upload."""

    def __init__(self, signer: str) -> None:
        super().__init__("not_signer")
        self.signer = signer

    def message(self) -> Msg:
        return msg("feed.to_sign.not_signer", signer=self.signer)


class UploadUnconfirmedError(FeedError):
    """The request may have reached the DMP but no answer came back.

    The item stays in the outbox as *sent, unconfirmed*: before any new
    attempt the DMP is asked whether it holds the document (by its unique
    id), so that it is never sent twice. ``cause`` is the error met.
    """

    def __init__(self, cause: DmpDesktopError) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause

    message_id = "feed.unconfirmed"


_STATUS_KEYS = {
    "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved": "approved",
    "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated": "deprecated",
    "urn:asip:ci-sis:2010:StatusType:Archived": "archived",
    "urn:asip:ci-sis:2010:StatusType:Deleted": "deleted",
}


def problem_message(code: str) -> Msg:
    """The message of one upload problem code (``upload.problem.<code>``)."""
    return coded("upload.problem", code, "upload.problem.unknown")


def problem_fr(code: str) -> str:
    """The French sentence (translated) of one upload problem code."""
    return render(problem_message(code))


__all__ = [
    "DocumentStatusError",
    "FeedError",
    "ForbiddenVisibilityError",
    "NotAuthorError",
    "NotSignerError",
    "OnBehalfRefusedError",
    "OutboxItemGoneError",
    "PatientObjectionError",
    "SignatureAwaitedError",
    "UploadInvalidError",
    "UploadUnconfirmedError",
    "problem_fr",
    "problem_message",
]
