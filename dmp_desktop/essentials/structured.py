"""Which listed documents « L'essentiel » reads: level-3 CDA, as the registry describes them.

Light on purpose (the domain only): the window's process asks it of every entry of a
list without importing the use case (:mod:`dmp_desktop.usecases.essentials`, its CDA
reader and pydantic models, which live in the worker process).
"""

from __future__ import annotations

from dmp_desktop.domain.document import DocumentEntry

# Level-1 documents (a PDF or a text in CDA, XDS-SD): no coded entries to read.
LEVEL1_FORMAT_PREFIX = "urn:ihe:iti:xds-sd:"
XML_TYPES = ("text/xml", "application/xml", "application/hl7-v3+xml", "application/hl7-cda+xml")


def is_structured(entry: DocumentEntry) -> bool:
    """A level-3 CDA (coded entries), as the registry describes it: XML, not XDS-SD."""
    mime = (entry.mime_type or "").split(";", 1)[0].strip().lower()
    return mime in XML_TYPES and not entry.format_code.code.startswith(LEVEL1_FORMAT_PREFIX)
