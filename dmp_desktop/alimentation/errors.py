"""The alimentation errors (defined with the wire, in :mod:`dmp_desktop.dmp.feed_errors`)."""

from dmp_desktop.dmp.feed_errors import (
    PROBLEMS_FR,
    DocumentStatusError,
    FeedError,
    ForbiddenVisibilityError,
    NotAuthorError,
    OutboxItemGoneError,
    PatientObjectionError,
    UploadInvalidError,
    UploadUnconfirmedError,
    describe_fr,
    problem_fr,
)

__all__ = [
    "PROBLEMS_FR",
    "DocumentStatusError",
    "FeedError",
    "ForbiddenVisibilityError",
    "NotAuthorError",
    "OutboxItemGoneError",
    "PatientObjectionError",
    "UploadInvalidError",
    "UploadUnconfirmedError",
    "describe_fr",
    "problem_fr",
]
