"""Hostile XML: external entities, entity bombs, DTDs, XInclude, depth, size.

:func:`hostile_documents` builds the corpus around two canaries that prove
nothing was fetched: a local file holding a secret word, and a TCP listener
on loopback that records any connection (:class:`Listener`). A safe parser
refuses each document (or ignores the construct), never shows the canary
word, never connects, and answers at once.
"""

from __future__ import annotations

import socket
from pathlib import Path

CANARY = "CANARI-XXE-7f3a9c"


class Listener:
    """A loopback TCP port that only counts who connects (nothing is ever answered)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def connections(self) -> int:
        """How many connections were attempted so far (accepted and closed here)."""
        count = 0
        while True:
            try:
                conn, _ = self._sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self) -> None:
        self._sock.close()


def canary_file(directory: Path) -> Path:
    path = directory / "secret.txt"
    path.write_text(f"{CANARY}\n", encoding="utf-8")
    return path


def _bomb(levels: int = 10, fan: int = 10) -> str:
    lines = ['<!ENTITY e0 "lol">']
    for level in range(1, levels):
        refs = f"&e{level - 1};" * fan
        lines.append(f'<!ENTITY e{level} "{refs}">')
    return "".join(lines)


def hostile_documents(secret: Path, listener_url: str, root: str = "r") -> dict[str, bytes]:
    """Name -> bytes of each hostile document, its root element named ``root``."""
    file_url = secret.resolve().as_uri()
    quadratic_value = "A" * 50_000
    docs_text = {
        "xxe_file": (f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{file_url}">]><{root}>&x;</{root}>'),
        "xxe_network": (
            f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{listener_url}/x">]><{root}>&x;</{root}>'
        ),
        "parameter_entity": (
            f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{listener_url}/p.dtd"> %p;]>'
            f"<{root}>&q;</{root}>"
        ),
        "external_dtd": f'<!DOCTYPE {root} SYSTEM "{listener_url}/x.dtd"><{root}/>',
        "public_dtd": (
            f'<!DOCTYPE {root} PUBLIC "-//X//DTD X//EN" "{listener_url}/pub.dtd"><{root}/>'
        ),
        "billion_laughs": f"<!DOCTYPE {root} [{_bomb()}]><{root}>&e9;</{root}>",
        "quadratic_blowup": (
            f'<!DOCTYPE {root} [<!ENTITY a "{quadratic_value}">]><{root}>'
            + "&a;" * 50_000
            + f"</{root}>"
        ),
        "internal_subset_only": f"<!DOCTYPE {root} [<!ELEMENT {root} ANY>]><{root}/>",
        "undeclared_entity": f"<{root}>&x;</{root}>",
        "xinclude": (
            f'<{root} xmlns:xi="http://www.w3.org/2001/XInclude">'
            f'<xi:include href="{file_url}" parse="text"/>'
            f'<xi:include href="{listener_url}/inc" parse="xml"/></{root}>'
        ),
        "stylesheet_pi": (
            f'<?xml-stylesheet type="text/xsl" href="{listener_url}/s.xsl"?><{root}/>'
        ),
        "schema_location": (
            f'<{root} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="urn:x {listener_url}/s.xsd" '
            f'xsi:noNamespaceSchemaLocation="{listener_url}/n.xsd"/>'
        ),
        "deep_nesting": "<a>" * 100_000 + "</a>" * 100_000,
    }
    docs = {name: text.encode("utf-8") for name, text in docs_text.items()}
    # The byte-level check does not see "<!DOCTYPE" in UTF-16: the parser's own must.
    for name in ("xxe_file", "billion_laughs", "external_dtd"):
        text = '<?xml version="1.0" encoding="UTF-16"?>' + docs_text[name]
        docs[f"{name}_utf16"] = text.encode("utf-16")
    docs["not_xml"] = b"\x00\xff garbage <<<"
    docs["empty"] = b""
    return docs


REFUSED_BY_XMLSAFE = frozenset(
    {
        "xxe_file",
        "xxe_network",
        "parameter_entity",
        "external_dtd",
        "public_dtd",
        "billion_laughs",
        "quadratic_blowup",
        "internal_subset_only",
        "undeclared_entity",
        "deep_nesting",
        "xxe_file_utf16",
        "billion_laughs_utf16",
        "external_dtd_utf16",
        "not_xml",
        "empty",
    }
)
