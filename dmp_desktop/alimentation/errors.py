"""The alimentation errors (defined with the wire, in :mod:`dmp_desktop.dmp.feed_errors`)."""

from dmp_desktop.dmp.feed_errors import (
    DocumentStatusError,
    FeedError,
    ForbiddenVisibilityError,
    NotAuthorError,
    OutboxItemGoneError,
    PatientObjectionError,
    UploadInvalidError,
    UploadUnconfirmedError,
    problem_fr,
    problem_message,
)

__all__ = [
    "DocumentStatusError",
    "FeedError",
    "ForbiddenVisibilityError",
    "NotAuthorError",
    "OutboxItemGoneError",
    "PatientObjectionError",
    "UploadInvalidError",
    "UploadUnconfirmedError",
    "problem_fr",
    "problem_message",
]
