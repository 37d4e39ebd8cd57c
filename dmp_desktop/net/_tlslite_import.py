"""Import tlslite-ng once, quietly.

``tlslite/__init__.py`` imports its asyncore integration, and asyncore warns
(DeprecationWarning) on Python 3.11. We never use that integration; the warning
is silenced for this one import only, so that warnings stay errors elsewhere.
Every module of :mod:`dmp_desktop.net` imports this before any ``tlslite`` module.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="The asyncore module is deprecated", category=DeprecationWarning
    )
    import tlslite

TLSLITE_VERSION: str = getattr(tlslite, "__version__", "unknown")
