"""CDA R2 documents for the DMP, without Qt.

- :mod:`~dmp_desktop.cda.vsm`: the VSM (level 3) from a :class:`MedicalSummary`
  (:func:`build_vsm`) and back (:func:`parse_vsm`);
- :mod:`~dmp_desktop.cda.level1`: a PDF or a text wrapped in a level-1 CDA
  (:func:`wrap_pdf`, :func:`wrap_text`) and unwrapped (:func:`extract_level1`);
- :mod:`~dmp_desktop.cda.render`: any CDA as escaped, self-contained HTML;
- :mod:`~dmp_desktop.cda.header`: the shared header, and reading it back;
- :mod:`~dmp_desktop.cda.validation`: running the ANS validation kit.
"""

from dmp_desktop.cda.errors import (
    CdaError,
    CdaFormatError,
    EmptyPayloadError,
    SummaryInvalidError,
    SummaryProblem,
)
from dmp_desktop.cda.header import HeaderSummary, read_header
from dmp_desktop.cda.level1 import Level1Document, extract_level1, wrap_pdf, wrap_text
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.vsm import build_vsm, check_summary, parse_vsm, preview_html

__all__ = [
    "CdaError",
    "CdaFormatError",
    "EmptyPayloadError",
    "HeaderSummary",
    "Level1Document",
    "SummaryInvalidError",
    "SummaryProblem",
    "build_vsm",
    "check_summary",
    "extract_level1",
    "parse_vsm",
    "preview_html",
    "read_header",
    "render_html",
    "wrap_pdf",
    "wrap_text",
]
