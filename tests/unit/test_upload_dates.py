"""The date of the act: the same in the CDA header as in the XDS metadata.

An upload dated by the professional (``dmp upload --date 2026-11-30``, the
« Date de l'acte » of the window) puts that date in the CDA's
``documentationOf/serviceEvent/effectiveTime`` and
``componentOf/encompassingEncounter/effectiveTime`` as in the XDS
``serviceStartTime``; the document's own time (``effectiveTime``, author and
legal authenticator) stays the moment it was made.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from dmp_desktop.alimentation import build
from dmp_desktop.dates import xds_dtm
from dmp_desktop.dmp import iti41
from dmp_desktop.domain.summary import CareProvider, CareStructure
from tests.unit.test_alimentation_support import request
from tests.unit.test_dmp_support import doctor

H = "{urn:hl7-org:v3}"
ACT = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 12, 6, 18, 30, tzinfo=dt.UTC)


def _built() -> tuple[build.BuiltDocument, iti41.Submission]:
    req = request(service_date=ACT)
    provider = CareProvider(doctor(), CareStructure(id="499700433153007", name="CABINET"))
    document = build.build_document(req, provider, unique_id="2.25.7", now=NOW)
    submission = build.build_submission(
        req,
        document,
        author=build.author_values(provider),
        structure=build.structure_info(provider),
        submission_unique_id="2.25.8",
        signature_unique_id="2.25.9",
        source_id="1.2.3",
        submission_time=NOW,
    )
    return document, submission


def test_the_act_date_is_in_the_cda_as_in_the_metadata() -> None:
    document, submission = _built()
    cda = etree.fromstring(document.content)
    event = cda.find(f"{H}documentationOf/{H}serviceEvent/{H}effectiveTime/{H}low")
    encounter = cda.find(f"{H}componentOf/{H}encompassingEncounter/{H}effectiveTime/{H}low")
    assert event is not None and event.get("value") == "20261130"
    assert encounter is not None and encounter.get("value") == "20261130"
    assert submission.document.service_start == ACT
    assert xds_dtm(submission.document.service_start).startswith("20261130")
    # The document itself was made now.
    assert cda.find(f"{H}effectiveTime").get("value").startswith("20261206")
    assert cda.find(f"{H}author/{H}time").get("value").startswith("20261206")
