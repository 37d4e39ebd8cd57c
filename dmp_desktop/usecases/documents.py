"""Changing a document already in the DMP (TD3.3): visibility, mask, archive, delete.

Replacing a document is an upload with ``replaces`` (:mod:`dmp_desktop.usecases.upload`).
The DMP client refuses what the DMP forbids before sending (masked *and*
invisible to the patient, archiving a document that is not active, deleting
someone else's document); these functions are what both doors ask.
"""

from __future__ import annotations

from typing import Protocol

from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.usecases.upload import Visibility


class DocumentUpdater(Protocol):
    def update_confidentiality(
        self,
        entry: DocumentEntry,
        *,
        masked: bool,
        invisible_patient: bool,
        invisible_legal_reps: bool,
    ) -> DocumentEntry: ...

    def archive_document(self, entry: DocumentEntry) -> DocumentEntry: ...

    def delete_document(self, entry: DocumentEntry) -> DocumentEntry: ...


def visibility_of(entry: DocumentEntry) -> Visibility:
    return Visibility(
        entry.masked_from_professionals, entry.invisible_to_patient, entry.invisible_to_legal_reps
    )


def change_visibility(
    client: DocumentUpdater, entry: DocumentEntry, visibility: Visibility
) -> DocumentEntry:
    """The three choices, each explicit; returns the entry as it now stands (``entry`` itself
    when nothing changed: nothing was sent)."""
    return client.update_confidentiality(
        entry,
        masked=visibility.masked,
        invisible_patient=visibility.invisible_patient,
        invisible_legal_reps=visibility.invisible_legal_reps,
    )


def set_masked(client: DocumentUpdater, entry: DocumentEntry, masked: bool) -> DocumentEntry:
    """Mask (or unmask) to professionals, the two other choices unchanged."""
    current = visibility_of(entry)
    return change_visibility(
        client, entry, Visibility(masked, current.invisible_patient, current.invisible_legal_reps)
    )


def archive(client: DocumentUpdater, entry: DocumentEntry) -> DocumentEntry:
    return client.archive_document(entry)


def delete(client: DocumentUpdater, entry: DocumentEntry) -> DocumentEntry:
    return client.delete_document(entry)


def visibility_fr(visibility: Visibility) -> str:
    """The three choices in words, as both doors report them."""
    return ", ".join(
        (
            "masqué aux professionnels" if visibility.masked else "non masqué",
            "invisible pour le patient"
            if visibility.invisible_patient
            else "visible par le patient",
            "invisible pour les représentants légaux"
            if visibility.invisible_legal_reps
            else "visible par les représentants légaux",
        )
    )


__all__ = [
    "archive",
    "change_visibility",
    "delete",
    "set_masked",
    "visibility_fr",
    "visibility_of",
]
