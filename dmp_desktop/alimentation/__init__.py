"""Alimentation: sending documents to the DMP, and changing them afterwards. No Qt.

For the window (and ``dmp upload``)::

    req = UploadRequest(patient=ins, source=Path("cr.pdf"), filename="cr.pdf",
                        media_type=None, type_code=type_code("11488-4"),
                        service_date=date.today(), title="Compte rendu",
                        masked=False, invisible_patient=False, invisible_legal_reps=False,
                        identity=qualified_identity)
    problems = validate_upload(req)         # French messages; send only when empty
    outbox = Outbox.open(settings)          # encrypted at rest (SecureStore)
    item = outbox.add(req)                  # kept until confirmed or discarded
    entry = outbox.send(item, client, card_session)   # checks by unique id before resending

Changes after the upload are :class:`~dmp_desktop.dmp.client.DmpClient`
methods: ``update_confidentiality``, ``archive_document``, ``delete_document``;
a replacement is an :class:`UploadRequest` with ``replaces``.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp_desktop.alimentation.convert import (
        IMAGE_TYPES,
        MAX_SOURCE_BYTES,
        MEDIA_CDA,
        MEDIA_PDF,
        MEDIA_TEXT,
        image_to_pdf,
        sniff,
    )
    from dmp_desktop.alimentation.doctypes import (
        class_for_type,
        professional_types,
        search_types,
        type_code,
    )
    from dmp_desktop.alimentation.errors import (
        DocumentStatusError,
        FeedError,
        ForbiddenVisibilityError,
        NotAuthorError,
        OutboxItemGoneError,
        PatientObjectionError,
        UploadInvalidError,
        UploadUnconfirmedError,
    )
    from dmp_desktop.alimentation.outbox import Outbox, OutboxItem, OutboxState
    from dmp_desktop.alimentation.request import UploadRequest, check_upload, validate_upload

# Imported when first used (PEP 562): the window imports the outbox at start-up, not the
# image conversion (Pillow) nor the document types' tables.
_EXPORTS = {
    "IMAGE_TYPES": "convert",
    "MAX_SOURCE_BYTES": "convert",
    "MEDIA_CDA": "convert",
    "MEDIA_PDF": "convert",
    "MEDIA_TEXT": "convert",
    "image_to_pdf": "convert",
    "sniff": "convert",
    "class_for_type": "doctypes",
    "professional_types": "doctypes",
    "search_types": "doctypes",
    "type_code": "doctypes",
    "DocumentStatusError": "errors",
    "FeedError": "errors",
    "ForbiddenVisibilityError": "errors",
    "NotAuthorError": "errors",
    "OutboxItemGoneError": "errors",
    "PatientObjectionError": "errors",
    "UploadInvalidError": "errors",
    "UploadUnconfirmedError": "errors",
    "Outbox": "outbox",
    "OutboxItem": "outbox",
    "OutboxState": "outbox",
    "UploadRequest": "request",
    "check_upload": "request",
    "validate_upload": "request",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "IMAGE_TYPES",
    "MAX_SOURCE_BYTES",
    "MEDIA_CDA",
    "MEDIA_PDF",
    "MEDIA_TEXT",
    "DocumentStatusError",
    "FeedError",
    "ForbiddenVisibilityError",
    "NotAuthorError",
    "Outbox",
    "OutboxItem",
    "OutboxItemGoneError",
    "OutboxState",
    "PatientObjectionError",
    "UploadInvalidError",
    "UploadRequest",
    "UploadUnconfirmedError",
    "check_upload",
    "class_for_type",
    "image_to_pdf",
    "professional_types",
    "search_types",
    "sniff",
    "type_code",
    "validate_upload",
]
