"""The compiled reader of ITI-18 answers (``dmp_desktop/dmp/_ebrimscan.c``) against lxml.

The compiled reader (libxml2's SAX parser, no tree) must give exactly what the
pure-Python reading gives: the same projection of every entry
(:func:`xds.project_extrinsic_object` on the lxml element), the same entries, the
same typed error, for the official answer, generated ones, odd but well-formed
shapes (comments, CDATA, entities, prefixes, repeated or missing parts) and
hostile ones (DTD, entities, nesting, sizes), whatever the pieces the network
delivers. Under CI=true the compiled reader must have been built.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from dmp_desktop.dmp import ebrs, xds
from dmp_desktop.errors import DmpDesktopError
from tests.conftest import DMP_MESSAGES, require_shared
from tests.support import big_answer
from tests.unit.test_dmp_support import INS
from tests.unit.test_dmp_xds import extrinsic_object, query_response
from tests.unit.test_dmp_xds_stream import OFFICIAL_INS

SCANNER = xds.compiled_reader()
RIM = ebrs.RIM


def _require_compiled() -> type:
    if SCANNER is None:
        reason = "the compiled reader (dmp_desktop/dmp/_ebrimscan.c) was not built"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: scripts/bootstrap.sh installs libxml2-dev and builds it")
        pytest.skip(reason)
    return SCANNER


def test_the_compiled_reader_is_built_and_used_by_default() -> None:
    _require_compiled()
    from dmp_desktop.dmp import _ebrimscan

    assert _ebrimscan.PROJECTION_VERSION == xds.PROJECTION_VERSION  # else it is not used
    assert xds.FindDocumentsReader(INS).compiled
    assert not xds.FindDocumentsReader(INS, compiled=False).compiled


def _compiled_projections(data: bytes, chunk: int) -> list[xds.Projection]:
    scanner = _require_compiled()()
    found: list[xds.Projection] = []
    for start in range(0, len(data), chunk):
        found += scanner.feed(data[start : start + chunk])[1]
    found += scanner.close()[1]
    return found


def _lxml_projections(data: bytes) -> list[xds.Projection]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, remove_pis=True))
    return [xds.project_extrinsic_object(eo) for eo in root.iter(f"{{{RIM}}}ExtrinsicObject")]


def _read(data: bytes, compiled: bool, chunk: int, relates_to: str | None = None) -> object:
    reader = xds.FindDocumentsReader(
        OFFICIAL_INS if b"OPTOLUNE" in data else INS, compiled=compiled
    )
    try:
        for start in range(0, len(data), chunk):
            reader.feed(data[start : start + chunk])
        return reader.close(expected_action=xds.ACTION_FIND_RESPONSE, relates_to=relates_to)
    except DmpDesktopError as exc:
        return (type(exc).__name__, str(exc))


def _same_reading(data: bytes, chunks: tuple[int, ...] = (1 << 20, 4096, 7)) -> object:
    _require_compiled()
    expected = _read(data, False, 1 << 20)
    for chunk in chunks:
        assert _read(data, True, chunk) == expected, chunk
    return expected


def test_the_official_answer_projects_alike() -> None:
    require_shared(DMP_MESSAGES)
    data = (DMP_MESSAGES / big_answer.OFFICIAL_ANSWER).read_bytes()
    expected = _lxml_projections(data)
    assert len(expected) == 21
    for chunk in (1, 333, 1 << 20):
        assert _compiled_projections(data, chunk) == expected
    result = _same_reading(data)
    assert isinstance(result, xds.FindDocumentsResult) and len(result.entries) == 21


def test_a_generated_answer_projects_alike() -> None:
    data = big_answer.find_documents_answer(60)
    assert _compiled_projections(data, 65536) == _lxml_projections(data)
    result = _same_reading(data)
    assert isinstance(result, xds.FindDocumentsResult) and len(result.entries) == 60


def _with(entry: str) -> bytes:
    return query_response(entry)


ODD_ENTRIES: dict[str, Callable[[str], str]] = {
    "comment inside a value": lambda e: e.replace(
        "<ns4:Value>20250319183244</ns4:Value>",
        "<ns4:Value>2025<!-- c -->0319183244</ns4:Value>",
    ),
    "CDATA and entities in values": lambda e: e.replace(
        "<ns4:Value>fr-FR</ns4:Value>",
        "<ns4:Value><![CDATA[fr]]>&#45;F&#x52; &amp; &lt;x&gt;</ns4:Value>",
    ),
    "a processing instruction inside a value": lambda e: e.replace(
        "<ns4:Value>fr-FR</ns4:Value>", "<ns4:Value>fr<?pi x?>-FR</ns4:Value>"
    ),
    "an element inside a value": lambda e: e.replace(
        "<ns4:Value>fr-FR</ns4:Value>", "<ns4:Value>fr<b>x</b>-FR</ns4:Value>"
    ),
    "a value inside a value": lambda e: e.replace(
        "<ns4:Value>fr-FR</ns4:Value>", "<ns4:Value>fr<ns4:Value>y</ns4:Value>-FR</ns4:Value>"
    ),
    "an empty value and an empty value list": lambda e: e.replace(
        "<ns4:Value>fr-FR</ns4:Value>", "<ns4:Value/>"
    ).replace("<ns4:Value>PID-7|19760717</ns4:Value>", ""),
    "two value lists": lambda e: e.replace(
        "<ns4:Value>fr-FR</ns4:Value></ns4:ValueList>",
        "<ns4:Value>fr-FR</ns4:Value></ns4:ValueList><ns4:ValueList><ns4:Value>en</ns4:Value>"
        "</ns4:ValueList>",
    ),
    "a repeated slot": lambda e: e.replace(
        "<ns4:VersionInfo",
        '<ns4:Slot name="sourcePatientInfo"><ns4:ValueList><ns4:Value>PID-8|F</ns4:Value>'
        "</ns4:ValueList></ns4:Slot><ns4:Slot><ns4:ValueList><ns4:Value>no name</ns4:Value>"
        '</ns4:ValueList></ns4:Slot><ns4:Slot name=""/><ns4:VersionInfo',
    ),
    "another namespace and a prefixed attribute": lambda e: e.replace(
        "<ns4:VersionInfo",
        '<x:Slot xmlns:x="urn:other" name="size"><x:ValueList><x:Value>9</x:Value></x:ValueList>'
        f'</x:Slot><ns4:Slot ns4:name="size" xmlns:ns4="{RIM}"/>'
        "<ns4:VersionInfo",
    ),
    "a default namespace": lambda e: (
        e.replace("<ns4:", "<")
        .replace("</ns4:", "</")
        .replace("<ExtrinsicObject ", f'<ExtrinsicObject xmlns="{RIM}" ', 1)
    ),
    "names: none, empty, two; description without string": lambda e: e.replace(
        '<ns4:Name><ns4:LocalizedString charset="UTF8" value="Compte rendu de consultation" '
        'xml:lang="FR"/></ns4:Name>',
        '<ns4:Name/><ns4:Name><ns4:LocalizedString value="second"/></ns4:Name>',
    ).replace(
        '<ns4:Description><ns4:LocalizedString charset="UTF8" value="Un commentaire" '
        'xml:lang="FR"/>',
        "<ns4:Description><x/>",
    ),
    "a localized string without value, nested deeper": lambda e: e.replace(
        '<ns4:LocalizedString charset="UTF8" value="Compte rendu de consultation" xml:lang="FR"/>',
        '<x><ns4:LocalizedString value="deep"/></x><ns4:LocalizedString/>'
        '<ns4:LocalizedString value="later"/>',
    ),
    "attributes with entities, tabs and line ends": lambda e: e.replace(
        'value="Compte rendu de consultation"',
        'value="A &amp; B &lt;C&gt; &quot;D&quot; &#9;E&#10;F&#13;G &#233;"',
    ),
    "two version infos, the first without name": lambda e: e.replace(
        '<ns4:VersionInfo versionName="1"/>',
        '<ns4:VersionInfo/><ns4:VersionInfo versionName="2"/>',
    ),
    "classification without name nor slot, and deep slots": lambda e: e.replace(
        "<ns4:VersionInfo",
        f'<ns4:Classification classificationScheme="{xds.CLASS_EVENT_CODE}" '
        'nodeRepresentation=" E1 "/>'
        f'<ns4:Classification classificationScheme="{xds.CLASS_EVENT_CODE}">'
        '<ns4:Name><x><ns4:LocalizedString value="deep"/></x></ns4:Name>'
        '<ns4:Slot name="codingScheme"><ns4:ValueList><ns4:Value> </ns4:Value>'
        "<ns4:Value>s2</ns4:Value></ns4:ValueList></ns4:Slot>"
        '<ns4:Slot name="codingScheme"><ns4:ValueList><ns4:Value>s3</ns4:Value>'
        "</ns4:ValueList></ns4:Slot>"
        "<x><ns4:Slot name='codingScheme'><ns4:ValueList><ns4:Value>no</ns4:Value>"
        "</ns4:ValueList></ns4:Slot></x></ns4:Classification><ns4:VersionInfo",
    ),
    "external identifiers repeated, without value": lambda e: e.replace(
        "<ns4:VersionInfo",
        f'<ns4:ExternalIdentifier identificationScheme="{xds.EXT_UNIQUE_ID}"/>'
        '<ns4:ExternalIdentifier value="x"/><ns4:VersionInfo',
    ),
    "blank attributes": lambda e: e.replace('mimeType="text/xml"', 'mimeType="  "').replace(
        'lid="', 'lid=" urn:uuid:other" x="'
    ),
    "ISO-8859-1": lambda e: e,  # see _encoded
}


def _answer(name: str) -> bytes:
    entry = ODD_ENTRIES[name](extrinsic_object())
    data = _with(entry)
    if name == "ISO-8859-1":
        text = data.decode().replace("Compte rendu", "Compte rendu général")
        data = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + text.encode("iso-8859-1")
    return data


@pytest.mark.parametrize("name", sorted(ODD_ENTRIES))
def test_odd_but_well_formed_entries_project_alike(name: str) -> None:
    data = _answer(name)
    expected = _lxml_projections(data)
    assert len(expected) == 1
    for chunk in (1, 50, 1 << 20):
        assert _compiled_projections(data, chunk) == expected
    _same_reading(data)


HOSTILE: dict[str, bytes] = {
    "internal DTD": b'<!DOCTYPE x [<!ENTITY a "b">]>' + query_response(extrinsic_object()),
    "external entity": b'<!DOCTYPE x SYSTEM "file:///etc/passwd">'
    + query_response(extrinsic_object()),
    "undefined entity": query_response(extrinsic_object(title="&undefined;")),
    "nested entry": query_response(
        extrinsic_object().replace("<ns4:VersionInfo", extrinsic_object() + "<ns4:VersionInfo", 1)
    ),
    "entry in the header": query_response(extrinsic_object()).replace(
        b"<soap:Header>",
        f'<soap:Header><w xmlns:ns4="{RIM}">{extrinsic_object()}</w>'.encode(),
    ),
    "truncated": query_response(extrinsic_object())[:-300],
    "truncated after the root": query_response(extrinsic_object())[:-5],
    "mismatched tags": query_response(extrinsic_object()).replace(
        b"</ns4:Description>", b"</ns4:Descriptio>"
    ),
    "undefined prefix": query_response(extrinsic_object()).replace(
        b"<ns4:VersionInfo", b"<nope:x/><ns4:VersionInfo"
    ),
    "garbage": b"\x00\x01not xml",
    "two roots": query_response(extrinsic_object()) + b"<x/>",
    "deep nesting": query_response(
        extrinsic_object().replace(
            "<ns4:VersionInfo", "<a>" * 300 + "</a>" * 300 + "<ns4:VersionInfo"
        )
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answers_are_refused_alike(name: str) -> None:
    outcome = _same_reading(HOSTILE[name])
    assert isinstance(outcome, tuple) and outcome[0] == "DmpProtocolError", outcome


def test_an_entry_too_large_is_refused_by_both() -> None:
    huge = "x" * (700 * 1024)  # the lxml reading checks its bound once per piece fed
    data = query_response(extrinsic_object(title=huge))
    for compiled in (True, False):
        if compiled:
            _require_compiled()
        reader = xds.FindDocumentsReader(INS, max_entry_bytes=256 * 1024, compiled=compiled)
        with pytest.raises(DmpDesktopError, match="too large"):
            for start in range(0, len(data), 65536):
                reader.feed(data[start : start + 65536])
            reader.close()


def test_a_billion_laughs_is_refused_before_any_expansion() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{"&lol" + (str(i - 1) if i > 1 else "") + ";" * 1}'.encode() + b'">'
            for i in range(1, 10)
        )
        + b"]><lolz>&lol9;</lolz>"
    )
    scanner = _require_compiled()()
    with pytest.raises(ValueError, match="DTD"):
        scanner.feed(laughs)
        scanner.close()


_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff", max_codepoint=0x2FF
    ),
    max_size=12,
).map(lambda s: "".join(c for c in s if c in "\t\n\r" or ord(c) >= 0x20))


def _escape(value: str, attribute: bool = False) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("\r", "&#13;")
    if attribute:
        value = value.replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
    return value


@st.composite
def _entries(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["slot", "class", "ext", "name", "desc", "version", "junk"]))
        name = draw(st.sampled_from(["size", "hash", "codingScheme", "", None]))
        name_attr = "" if name is None else f' name="{name}"'
        values = "".join(
            f"<ns4:Value>{_escape(v)}</ns4:Value>" for v in draw(st.lists(_text, max_size=3))
        )
        slot = f"<ns4:Slot{name_attr}><ns4:ValueList>{values}</ns4:ValueList></ns4:Slot>"
        label = f'<ns4:LocalizedString value="{_escape(draw(_text), True)}"/>'
        if kind == "slot":
            parts.append(slot)
        elif kind == "class":
            scheme = draw(st.sampled_from([xds.CLASS_TYPE_CODE, xds.CLASS_AUTHOR, "x"]))
            parts.append(
                f'<ns4:Classification classificationScheme="{scheme}" '
                f'nodeRepresentation="{_escape(draw(_text), True)}">{slot}'
                f"<ns4:Name>{label}</ns4:Name></ns4:Classification>"
            )
        elif kind == "ext":
            parts.append(
                f'<ns4:ExternalIdentifier identificationScheme="{xds.EXT_UNIQUE_ID}" '
                f'value="{_escape(draw(_text), True)}"/>'
            )
        elif kind in ("name", "desc"):
            tag = "Name" if kind == "name" else "Description"
            parts.append(f"<ns4:{tag}>{label if draw(st.booleans()) else ''}</ns4:{tag}>")
        elif kind == "version":
            parts.append(f'<ns4:VersionInfo versionName="{_escape(draw(_text), True)}"/>')
        else:
            parts.append(
                f"<junk>{_escape(draw(_text))}<!-- {draw(st.sampled_from(['a', 'b']))} --></junk>"
            )
    return extrinsic_object().replace("<ns4:VersionInfo", "".join(parts) + "<ns4:VersionInfo", 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(_entries(), min_size=1, max_size=3), chunk=st.integers(1, 400))
def test_generated_entries_project_and_read_alike(entries: list[str], chunk: int) -> None:
    data = query_response(*entries)
    assert _compiled_projections(data, chunk) == _lxml_projections(data)
    assert _read(data, True, chunk) == _read(data, False, 1 << 20)


def _through_feeding_thread(data: bytes, chunk: int) -> object:
    from dmp_desktop.dmp.client import _FeedingThread

    reader = xds.FindDocumentsReader(INS)
    feeder = _FeedingThread(reader)
    try:
        try:
            for start in range(0, len(data), chunk):
                feeder.feed(data[start : start + chunk])
        except BaseException:
            feeder.abandon()
            raise
        feeder.finish()
        assert not feeder._thread.is_alive()
        return reader.close(expected_action=xds.ACTION_FIND_RESPONSE)
    except DmpDesktopError as exc:
        assert not feeder._thread.is_alive()
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("name", ["nested entry", "truncated", "undefined prefix", "internal DTD"])
def test_parsing_in_its_own_thread_gives_the_same_outcome(name: str) -> None:
    """The client parses in a thread of its own while it receives (the compiled reader
    parses without the interpreter lock): same entries, same error, in order, the thread
    stopped whatever happens."""
    _require_compiled()
    data = HOSTILE[name]
    assert _through_feeding_thread(data, 97) == _read(data, False, 1 << 20)
    good = query_response(*(extrinsic_object(unique_id=f"1.2.3.{i}") for i in range(40)))
    expected = _read(good, False, 1 << 20)
    assert isinstance(expected, xds.FindDocumentsResult) and len(expected.entries) == 40
    assert _through_feeding_thread(good, 301) == expected


def test_an_error_while_receiving_stops_the_parsing_thread() -> None:
    from dmp_desktop.dmp.client import _FeedingThread

    _require_compiled()
    reader = xds.FindDocumentsReader(INS)
    feeder = _FeedingThread(reader)
    feeder.feed(query_response(extrinsic_object())[:500])
    feeder.abandon()  # what the client does when the network fails meanwhile
    assert not feeder._thread.is_alive()
