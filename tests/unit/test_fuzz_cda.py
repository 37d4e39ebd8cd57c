"""Fuzzing the CDA readers: documents opened in the viewer, VSM imported in the editor.

Seeds: our VSM (full and minimal), level-1 PDF and text documents, and the
demo patients' documents as the training host returns them. Only
``UnsafeXmlError`` and the CDA package's typed errors (``CdaError``) may
come out of the renderer, the level-1 extractor, the VSM reader and the
viewer's preparation.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from dmp_desktop import xmlsafe
from dmp_desktop.cda.errors import CdaError
from dmp_desktop.cda.header import read_header
from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.vsm import parse_vsm
from dmp_desktop.domain.document import RetrievedDocument
from dmp_desktop.services.viewable import prepare
from tests.support.fuzz import TRIED, fuzz_settings, mutate_xml
from tests.support.seeds import cda_documents

TYPED = (xmlsafe.UnsafeXmlError, CdaError)
DOCUMENTS = [data for _name, data in cda_documents()]

READERS: tuple[Callable[[bytes], object], ...] = (
    render_html,
    extract_level1,
    parse_vsm,
    lambda data: read_header(xmlsafe.parse(data)),
    lambda data: prepare(RetrievedDocument("1.2.3", "1.2.3.4", "text/xml", data)),
)


def read_everything(data: bytes) -> None:
    TRIED["documents CDA"] += 1
    for reader in READERS:
        try:
            reader(data)
        except TYPED:
            pass


@fuzz_settings(default=60)
@given(st.sampled_from(DOCUMENTS).flatmap(mutate_xml))
def test_mutated_documents_raise_only_typed_errors(data: bytes) -> None:
    read_everything(data)


def test_the_seeds_are_read_as_they_are() -> None:
    assert len(DOCUMENTS) >= 8
    for data in DOCUMENTS:
        render_html(data)
        prepare(RetrievedDocument("1.2.3", "1.2.3.4", "text/xml", data))
