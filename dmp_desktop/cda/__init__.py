"""CDA R2 documents for the DMP, without Qt.

- :mod:`~dmp_desktop.cda.vsm`: the VSM (level 3) from a :class:`MedicalSummary`
  (:func:`build_vsm`) and back (:func:`parse_vsm`);
- :mod:`~dmp_desktop.cda.level1`: a PDF or a text wrapped in a level-1 CDA
  (:func:`wrap_pdf`, :func:`wrap_text`) and unwrapped (:func:`extract_level1`);
- :mod:`~dmp_desktop.cda.render`: any CDA as escaped, self-contained HTML;
- :mod:`~dmp_desktop.cda.header`: the shared header, and reading it back;
- :mod:`~dmp_desktop.cda.validation`: running the ANS validation kit.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported when first used (PEP 562): importing one submodule (e.g. cda.valuesets,
# for the card's specialty) must not load the VSM, the terminologies and pydantic,
# which would add hundreds of milliseconds to `dmp cards` and to the window's start.
_EXPORTS = {
    "CdaError": "errors",
    "CdaFormatError": "errors",
    "EmptyPayloadError": "errors",
    "SummaryInvalidError": "errors",
    "SummaryProblem": "errors",
    "HeaderSummary": "header",
    "read_header": "header",
    "Level1Document": "level1",
    "extract_level1": "level1",
    "wrap_pdf": "level1",
    "wrap_text": "level1",
    "render_html": "render",
    "build_vsm": "vsm",
    "check_summary": "vsm",
    "parse_vsm": "vsm",
    "preview_html": "vsm",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
