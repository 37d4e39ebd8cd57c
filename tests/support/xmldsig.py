"""The W3C XML-DSig and ETSI XAdES schemas, as shipped by signxml (a maintained library).

Nothing here is the client's code: tests check the client's signatures against
these schemas and with signxml's verifier.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from lxml import etree

XADES_111 = "http://uri.etsi.org/01903/v1.1.1#"
XADES_132_NS = "http://uri.etsi.org/01903/v1.3.2#"


def _signxml_dir() -> Path:
    import signxml

    return Path(signxml.__file__).parent


@cache
def XMLDSIG_SCHEMA() -> etree.XMLSchema:
    """http://www.w3.org/2000/09/xmldsig# (xmldsig-core-schema.xsd)."""
    path = _signxml_dir() / "schemas" / "xmldsig-core-schema.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


@cache
def XADES_132() -> etree.XMLSchema:
    """ETSI TS 101 903 v1.3.2 (XAdES.xsd), which imports the XML-DSig schema."""
    return etree.XMLSchema(etree.parse(str(_signxml_dir() / "xades" / "schemas" / "XAdES.xsd")))


def xades_as_132(element: etree._Element) -> etree._Element:
    """A copy of a XAdES v1.1.1 subtree with its elements moved to the v1.3.2 namespace."""
    clone = copy.deepcopy(element)
    for el in clone.iter():
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{XADES_111}}}"):
            el.tag = f"{{{XADES_132_NS}}}{etree.QName(el).localname}"
    etree.cleanup_namespaces(clone)
    return clone
