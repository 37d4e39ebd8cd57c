"""The official schemas the host validates every request body against, before anything else.

The schemas are the DMP's "annexe schémas et WSDL" (v2.01.04) and the IHE
ITI ones, read from ``<reference data>/xds-schemas`` (``../shared`` next to a
checkout, or the folder named by ``DMP_SANDBOX_SCHEMAS``); they are never
copied into the repository. Each body element the host serves maps to the
official schema that declares it:

============================================== =============================================
body element                                   schema (under ``dmp-annexe-wsdl-schema``)
============================================== =============================================
``hl7:PRPA_IN201307UV02`` (TD0.2, TD1.3a)      ``schema/HL7V3/NE2009/multicacheschemas/…``
``hl7:PRPA_IN201311UV02`` (TD1.1)              same folder
``hl7:PRPA_IN201314UV02`` (TD1.2, 1.3b, 1.4)   same folder
``hl7:PRPA_IN201305UV02`` (TD0.5, PDQ)         ``schema/HL7V3/NE2008/multicacheschemas/…``
``xdsb:ProvideAndRegisterDocumentSetRequest``  ``schema/IHE/XDS.b_DocumentRepository.xsd``
``xdsb:RetrieveDocumentSetRequest``            same
``query:AdhocQueryRequest`` (TD3.1)            ``schema/ebRS/query.xsd``
``lcm:SubmitObjectsRequest`` (TD3.3, ITI-57)   ``schema/ebRS/lcm.xsd``
``hab:setAuthorization``, ``hab:listAuthori…`` ``wsdl/Habilitations.wsdl`` (its ``types``)
``pat:patientList`` (TD0.4)                    ``wsdl/PatientsSpecific.wsdl`` (its ``types``)
============================================== =============================================

Bodies no official schema declares (TD1.5, whose operations the 2024 WSDL
removed, and the training extension ``urn:dmp-formation:habilitations``)
are checked by the host's own code only (see ``docs/wire-conventions.md``).

MTOM (TD2.1): a ``Document`` holding an ``xop:Include`` is validated as the
XOP infoset says it is: base64 content (a placeholder stands in for the
part, which the host checks separately).

Compiled schemas are cached per process (each worker process compiles its
own, on first use) and used under a lock: lxml validators keep an error log
and are not meant to be shared between threads mid-validation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from dmp_sandbox import wire
from dmp_sandbox.xmlparse import parse_file

SCHEMAS_ENV = "DMP_SANDBOX_SCHEMAS"
SHARED_ENV = "DMP_SHARED_DIR"
_ANNEX = "dmp-annexe-wsdl-schema"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
MAX_ERRORS_SHOWN = 3


class SchemasUnavailable(RuntimeError):
    """The official schemas cannot be found or compiled: the host cannot judge."""


def default_location() -> Path:
    """``$DMP_SANDBOX_SCHEMAS``, else ``<shared>/reference-data/xds-schemas``.

    ``<shared>`` is ``$DMP_SHARED_DIR`` when set (as the tests read it), else
    ``../shared`` next to the checkout.
    """
    configured = os.environ.get(SCHEMAS_ENV)
    if configured:
        return Path(configured).expanduser()
    shared = os.environ.get(SHARED_ENV)
    base = Path(shared).expanduser() if shared else Path(__file__).resolve().parents[2] / "shared"
    return base / "reference-data" / "xds-schemas"


def _hl7(rel: str) -> str:
    return f"schema/HL7V3/{rel}"


# body element (Clark name) -> (file under the annex, how to read it)
_SOURCES: dict[str, tuple[str, str]] = {
    f"{{{wire.HL7}}}PRPA_IN201307UV02": (
        _hl7("NE2009/multicacheschemas/PRPA_IN201307UV02.xsd"),
        "xsd",
    ),
    f"{{{wire.HL7}}}PRPA_IN201311UV02": (
        _hl7("NE2009/multicacheschemas/PRPA_IN201311UV02.xsd"),
        "xsd",
    ),
    f"{{{wire.HL7}}}PRPA_IN201314UV02": (
        _hl7("NE2009/multicacheschemas/PRPA_IN201314UV02.xsd"),
        "xsd",
    ),
    f"{{{wire.HL7}}}PRPA_IN201305UV02": (
        _hl7("NE2008/multicacheschemas/PRPA_IN201305UV02.xsd"),
        "xsd",
    ),
    f"{{{wire.XDSB}}}ProvideAndRegisterDocumentSetRequest": (
        "schema/IHE/XDS.b_DocumentRepository.xsd",
        "xsd",
    ),
    f"{{{wire.XDSB}}}RetrieveDocumentSetRequest": (
        "schema/IHE/XDS.b_DocumentRepository.xsd",
        "xsd",
    ),
    f"{{{wire.QUERY}}}AdhocQueryRequest": ("schema/ebRS/query.xsd", "xsd"),
    f"{{{wire.LCM}}}SubmitObjectsRequest": ("schema/ebRS/lcm.xsd", "xsd"),
    f"{{{wire.HABILITATIONS_NS}}}setAuthorization": ("wsdl/Habilitations.wsdl", "wsdl"),
    f"{{{wire.HABILITATIONS_NS}}}listAuthorizationByPatient": ("wsdl/Habilitations.wsdl", "wsdl"),
    f"{{{wire.PATIENTS_NS}}}patientList": ("wsdl/PatientsSpecific.wsdl", "wsdl"),
}


def official_schema_file(tag: str) -> str | None:
    """The annex file that declares the body element ``tag`` (Clark name), if any."""
    source = _SOURCES.get(tag)
    return f"{_ANNEX}/{source[0]}" if source else None


@dataclass(frozen=True)
class SchemaProblem:
    """Why a body is not valid: a French sentence naming the element and the schema."""

    message: str


def _compile_xsd(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(parse_file(str(path)))


def _compile_wsdl(path: Path) -> etree.XMLSchema:
    """The schema embedded in a WSDL's ``types`` (the DMP's proprietary services)."""
    wsdl = parse_file(str(path)).getroot()
    found = wsdl.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    if found is None:
        raise SchemasUnavailable(f"{path.name} : pas de schéma dans wsdl:types")
    return etree.XMLSchema(etree.ElementTree(found))


class OfficialSchemas:
    """The compiled official schemas of one process, compiled on first use."""

    def __init__(self, location: Path | None = None) -> None:
        self.location = (location or default_location()) / _ANNEX
        self._compiled: dict[str, etree.XMLSchema] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._pid = os.getpid()

    def check_available(self) -> None:
        """Raise :class:`SchemasUnavailable` (French) when the annex folder is missing."""
        if not (self.location / "schema").is_dir() or not (self.location / "wsdl").is_dir():
            raise SchemasUnavailable(
                f"Schémas officiels du DMP introuvables ({self.location}) : l'hôte de formation "
                f"ne peut pas juger les requêtes. Indiquez leur dossier (xds-schemas) dans "
                f"{SCHEMAS_ENV}."
            )

    def _schema(self, rel: str, kind: str) -> tuple[etree.XMLSchema, threading.Lock]:
        with self._guard:
            if self._pid != os.getpid():  # a forked worker: compile its own
                self._compiled, self._locks, self._pid = {}, {}, os.getpid()
            schema = self._compiled.get(rel)
            if schema is None:
                path = self.location / rel
                compile_: Callable[[Path], etree.XMLSchema] = (
                    _compile_wsdl if kind == "wsdl" else _compile_xsd
                )
                try:
                    schema = compile_(path)
                except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                    raise SchemasUnavailable(
                        f"Schéma officiel illisible ({path.name}) : {exc}"
                    ) from exc
                self._compiled[rel] = schema
                self._locks[rel] = threading.Lock()
            return schema, self._locks[rel]

    def preload(self) -> None:
        """Compile every schema now (a server does it before its first request)."""
        for rel, kind in set(_SOURCES.values()):
            self._schema(rel, kind)

    def validate(self, payload: etree._Element) -> SchemaProblem | None:
        """None when the body is valid, or has no official schema (see the module docstring)."""
        source = _SOURCES.get(payload.tag) if isinstance(payload.tag, str) else None
        if source is None:
            return None
        schema, lock = self._schema(*source)
        with lock:
            valid = schema.validate(_as_sent(payload))
            errors = [] if valid else list(schema.error_log)
            if not valid and _has_nil_placeholders(payload):
                # Read the CNAM examples' nil placeholders as absent (see _without_nil).
                if schema.validate(_without_nil(payload)):
                    errors = []
        errors = [e for e in errors if not _tolerated(payload.tag, e.message)][:MAX_ERRORS_SHOWN]
        if not errors:
            return None
        name = etree.QName(payload).localname
        details = " ; ".join(f"ligne {e.line} : {e.message}" for e in errors)
        return SchemaProblem(
            f"Requête refusée : le corps {name} n'est pas conforme au schéma officiel "
            f"{Path(source[0]).name} ({details})."
        )


def _has_nil_placeholders(payload: etree._Element) -> bool:
    return payload.tag.startswith(f"{{{wire.HL7}}}") and any(
        e.get(f"{{{wire.XSI}}}nil") == "true" for e in payload.iter()
    )


def _without_nil(payload: etree._Element) -> etree._ElementTree:
    """The HL7v3 body with its ``xsi:nil="true"`` placeholders left out.

    The CNAM's TD1.3a example writes absent optional parts as nil elements
    (``respondTo``, ``asAgent``, ``reasonOf``…) that the HL7 schemas do not
    declare nillable; the real DMP accepts it. A body that is valid once
    they are read as absent is accepted; a nil element the schema requires
    is still missing, and refused.
    """
    tree = _as_sent(payload)
    for nil in [e for e in tree.getroot().iter() if e.get(f"{{{wire.XSI}}}nil") == "true"]:
        parent = nil.getparent()
        if parent is not None:
            parent.remove(nil)
    return tree


def _as_sent(payload: etree._Element) -> etree._ElementTree:
    """The body as its own document (a copy), read as the official examples are written.

    Two readings, each seen in the CNAM's own example requests (which the
    real DMP accepts), neither making an invalid body valid:

    - ``xop:Include`` (MTOM): base64 content stands in for the part (the XOP
      infoset; the part itself is checked by the host);
    - an ebRIM ``Classification`` / ``ExternalIdentifier`` nested in its
      object without ``classifiedObject`` / ``registryObject`` (TD3.3c/d)
      refers to that object.
    """
    copy = deepcopy(payload)
    for include in list(copy.iter(f"{{{wire.XOP}}}Include")):
        parent = include.getparent()
        if parent is not None:
            parent.remove(include)
            parent.text = (parent.text or "").strip() + "AA=="
    for tag, attribute in (
        ("Classification", "classifiedObject"),
        ("ExternalIdentifier", "registryObject"),
    ):
        for element in copy.iter(f"{{{wire.RIM}}}{tag}"):
            parent = element.getparent()
            if element.get(attribute) is None and parent is not None and parent.get("id"):
                element.set(attribute, parent.get("id") or "")
    return etree.ElementTree(copy)


# Errors the official examples make and the real DMP accepts (tolerated, named):
# TD1.3b's representedOrganization has neither name nor contactParty.
_TOLERATED = (
    (
        f"{{{wire.HL7}}}PRPA_IN201314UV02",
        "Element '{urn:hl7-org:v3}representedOrganization': Missing child element(s).",
    ),
)


def _tolerated(tag: str, message: str) -> bool:
    return any(tag == t and message.startswith(m) for t, m in _TOLERATED)


_PROCESS_SCHEMAS: OfficialSchemas | None = None
_PROCESS_GUARD = threading.Lock()


def process_schemas() -> OfficialSchemas:
    """The schemas of this process at the default location (one instance per process)."""
    global _PROCESS_SCHEMAS
    with _PROCESS_GUARD:
        if _PROCESS_SCHEMAS is None or _PROCESS_SCHEMAS._pid != os.getpid():
            _PROCESS_SCHEMAS = OfficialSchemas()
        return _PROCESS_SCHEMAS
