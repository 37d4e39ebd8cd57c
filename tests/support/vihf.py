"""Make an official (or recorded) request acceptable to the training host again.

The host refuses a VIHF issued more than five minutes ago, and an assertion
ID it has already seen (:mod:`dmp_sandbox.replay`), exactly as a real DMP
would refuse the CNAM's 2019 examples sent today. :func:`refresh_vihf` gives
every assertion of a message a new ID and the current time, leaving the rest
of the message as it is.
"""

from __future__ import annotations

import datetime as dt
import uuid

from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def saml_instant(when: dt.datetime | None = None) -> str:
    """An xs:dateTime in UTC, to the millisecond, as the client writes it."""
    when = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def refresh_vihf(root: etree._Element, *, when: dt.datetime | None = None) -> etree._Element:
    """Every ``saml2:Assertion`` under ``root`` gets a new ID and ``when`` (default: now).

    Only for unsigned assertions (direct mode): a signature would no longer verify.
    """
    instant = saml_instant(when)
    for assertion in root.iter(f"{{{SAML}}}Assertion"):
        assertion.set("ID", f"_{uuid.uuid4()}")
        assertion.set("IssueInstant", instant)
        for statement in assertion.iter(f"{{{SAML}}}AuthnStatement"):
            statement.set("AuthnInstant", instant)
    return root
