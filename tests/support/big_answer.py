"""ITI-18 (TD3.1) answers of any size, made of the CNAM's official entries.

The 21 ``ExtrinsicObject`` of the official answer (``TD3.1 - Recherche de
document_réponse.xml``) are the templates: entry ``n`` is template
``n % 21`` with its own entry UUID, unique id, title and dates, and the
requested patient's INS. Indentation is dropped (a server does not indent),
which gives about 6 kB per entry. Used by the benchmarks and by the tests of
large answers.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import quoteattr

from lxml import etree

from dmp_desktop import xmlsafe
from tests.conftest import DMP_MESSAGES

OFFICIAL_ANSWER = "TD3.1 - Recherche de document_réponse.xml"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
OFFICIAL_INS = "207058575627097"
ACTION = "urn:ihe:iti:2007:RegistryStoredQueryResponse"
_HEAD = (
    '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>'
    '<Action xmlns="http://www.w3.org/2005/08/addressing">{action}</Action>'
    '<MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:{message}</MessageID>'
    '<To xmlns="http://www.w3.org/2005/08/addressing">'
    "http://www.w3.org/2005/08/addressing/anonymous</To>"
    '<RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{relates}</RelatesTo>'
    "</soap:Header><soap:Body>"
    '<ns3:AdhocQueryResponse startIndex="0" '
    'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success" '
    'totalResultCount="{count}" xmlns:ns2="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" '
    'xmlns:ns3="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
    'xmlns:ns4="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" '
    'xmlns:ns5="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:ns6="urn:hl7-org:v3">'
    "<ns4:RegistryObjectList>"
)
_TAIL = "</ns4:RegistryObjectList></ns3:AdhocQueryResponse></soap:Body></soap:Envelope>"
_DTM = re.compile(
    r'(name="(?:creationTime|serviceStartTime|serviceStopTime)"><ns4:ValueList>'
    r"<ns4:Value>)\d{14}(</ns4:Value>)"
)
_TITLE = re.compile(r'(<ns4:Name><ns4:LocalizedString charset="UTF8" value=)"[^"]*"')
_UNIQUE = re.compile(
    r'(identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" '
    r'registryObject="[^"]*" value=)"[^"]*"'
)


def _strip(element: etree._Element) -> None:
    for node in element.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None


@functools.cache
def templates() -> tuple[str, ...]:
    """The official entries as compact text, with ``{id}`` / ``{uid}`` / ``{title}`` / dates."""
    path = DMP_MESSAGES / OFFICIAL_ANSWER
    if not path.is_file():
        raise FileNotFoundError(f"official TD3.1 answer not found: {path}")
    root = xmlsafe.parse(path.read_bytes())
    out = []
    for eo in root.iter(f"{{{RIM}}}ExtrinsicObject"):
        _strip(eo)
        eo.tail = None
        text = etree.tostring(eo, encoding="unicode")
        # The namespace declarations lxml repeats on a serialised subtree: the envelope has them.
        text = re.sub(r' xmlns:ns\d="[^"]*"', "", text)
        entry_id = eo.get("id")
        text = text.replace("{", "{{").replace("}", "}}")
        text = text.replace(entry_id, "{id}")
        text = _DTM.sub(r"\g<1>{date}\g<2>", text)
        text = _TITLE.sub(r"\g<1>{title}", text, count=1)
        text = _UNIQUE.sub(r"\g<1>{uid}", text, count=1)
        text = text.replace(f"{OFFICIAL_INS}^^^", "{ins}^^^")
        out.append(text)
    return tuple(out)


def entry_text(n: int, ins: str = OFFICIAL_INS, *, today: datetime | None = None) -> str:
    template = templates()[n % len(templates())]
    when = (today or datetime(2026, 11, 1, 9, 30, tzinfo=UTC)) - timedelta(hours=7 * n + n % 5)
    return template.format(
        id=f"urn:uuid:{uuid.UUID(int=n + 1)}",
        uid=f'"1.2.250.1.999.1.1.7898.1.{900_000_000 + n}"',
        title=quoteattr(f"Compte rendu de test n° {n}"),
        date=f"{when:%Y%m%d%H%M%S}",
        ins=ins,
    )


def find_documents_answer(
    count: int, ins: str = OFFICIAL_INS, *, relates_to: str = "urn:uuid:0"
) -> bytes:
    """A whole SOAP answer with ``count`` entries of patient ``ins``."""
    head = _HEAD.format(action=ACTION, message=uuid.uuid4(), relates=relates_to, count=count)
    parts = [head]
    parts.extend(entry_text(n, ins) for n in range(count))
    parts.append(_TAIL)
    return "".join(parts).encode("utf-8")


__all__ = ["OFFICIAL_INS", "entry_text", "find_documents_answer", "templates"]
