"""The training host plays INSi: ``rechercherInsAvecTraitsIdentite`` at ``/lps``.

The real teleservice answers at ``https://services-ps.ameli.fr/lps``; the
training host answers at the same path, over the same mutual TLS as its
DMP services, from its own identity base (:mod:`dmp_sandbox.identity_base`).

What it checks, with its own code (no official XSD of INSi is in the
reference data; the CNAM's example request is the reference):

* SOAP 1.2 envelope; WS-Addressing ``Action`` =
  ``urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite``
  (the carte Vitale search, ``rechercherInsAvecCarteVitale``, is not
  offered: ``DMPInvalidRequest``);
* the header blocks of the official example: ``ContexteBAM`` (Version
  ``01_02``: Id, Temps, Emetteur) and ``ContexteLPS`` (Version ``01_00``:
  Id, Temps, Emetteur, LPS/IDAM); ``Emetteur`` is the TLS certificate's
  national id;
* the professional's assertion in ``wsse:Security``: signed (enveloped
  XML-DSig over the whole assertion, verified with signxml), by a card
  signature certificate of the test IGC-Santé persons CA belonging to the
  TLS certificate's holder (:func:`dmp_sandbox.signatures.verify_enveloped`,
  signxml, the XML-DSig schema included); ``NameID`` is that national id;
* the body ``RECSANSVITALE`` (http://www.cnamts.fr/INSiRecSans): elements
  NomNaissance, Prenom (one or more; first names separated by spaces),
  Sexe (F|M), DateNaissance (AAAA-MM-JJ), optional LieuNaissance (COG), in
  that order, nothing else; the first four are required.

The answer has the shape of the official one: ``RESULTAT``
(http://www.cnamts.fr/INSiResultat) with ``CR`` (``00`` OK, ``01`` Aucune
identite trouvee, ``02`` Plusieurs identites trouvees) and, for ``00``,
``INDIVIDU`` (``INSACTIF``: IdIndividu NumIdentifiant + Cle, OID; ``TIQ``:
NomNaissance, Prenom, ListePrenom, Sexe, DateNaissance, LieuNaissance).

An INSi search is not an access to a DMP: its trace row names no patient.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from lxml import etree

from dmp_sandbox import identity_base
from dmp_sandbox.auth import CertIdentity
from dmp_sandbox.host import HostResponse, TraceContext, content_type_info
from dmp_sandbox.signatures import SignatureInvalid, verify_enveloped
from dmp_sandbox.soap import FaultCode, SoapFault, fault_envelope, invalid, read_envelope
from dmp_sandbox.xades_verify import (
    DocumentSignerTrust,
    SubmissionSignatureError,
    check_signer,
    signer_national_id,
)

log = logging.getLogger("dmp_sandbox.insi")

PATH = "/lps"
SERVICE = "insi"
TRANSACTION = "INSi"
MAX_BODY = 256 * 1024

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_REC_SANS = "http://www.cnamts.fr/INSiRecSans"
NS_REC_VIT = "http://www.cnamts.fr/INSiRecVit"
NS_RESULT = "http://www.cnamts.fr/INSiResultat"
NS_CTX_BAM = "urn:siram:bam:ctxbam"
NS_CTX_LPS = "urn:siram:lps:ctxlps"
ACTION_SEARCH_TRAITS = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"

CR_FOUND = ("00", "OK")
CR_NOT_FOUND = ("01", "Aucune identite trouvee")
CR_SEVERAL = ("02", "Plusieurs identites trouvees")

_BODY_ORDER = ("NomNaissance", "Prenom", "Sexe", "DateNaissance", "LieuNaissance")
_COG = re.compile(r"^(?:[0-9]{5}|2[AB][0-9]{3})$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MAX_TRAIT = 100


class InsiQuery:
    """The traits of a ``RECSANSVITALE``, checked."""

    def __init__(
        self,
        birth_name: str,
        given_names: list[str],
        sex: str,
        birth_date: dt.date,
        birthplace: str | None,
    ) -> None:
        self.birth_name = birth_name
        self.given_names = given_names
        self.sex = sex
        self.birth_date = birth_date
        self.birthplace = birthplace


def _text(el: etree._Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def read_query(payload: etree._Element) -> InsiQuery:
    """The body, read and checked (see the module docstring); SoapFault when refused."""
    if payload.tag != f"{{{NS_REC_SANS}}}RECSANSVITALE":
        raise invalid("Corps de requête INSi attendu : RECSANSVITALE (INSiRecSans).")
    names: list[str] = []
    values: dict[str, list[str]] = {}
    for child in payload:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.namespace != NS_REC_SANS or qname.localname not in _BODY_ORDER:
            raise invalid(f"Élément inattendu dans RECSANSVITALE : {qname.localname[:40]}.")
        if len(child):
            raise invalid(f"L'élément {qname.localname} ne contient que du texte.")
        names.append(qname.localname)
        values.setdefault(qname.localname, []).append(_text(child))
    order = [_BODY_ORDER.index(n) for n in names]
    if order != sorted(order):
        raise invalid("Les traits de RECSANSVITALE ne sont pas dans l'ordre du service INSi.")
    for name in _BODY_ORDER:
        if name != "Prenom" and len(values.get(name, [])) > 1:
            raise invalid(f"L'élément {name} ne peut figurer qu'une fois.")
    birth_name = (values.get("NomNaissance") or [""])[0]
    given = " ".join(values.get("Prenom", [])).split()
    sex = (values.get("Sexe") or [""])[0]
    raw_date = (values.get("DateNaissance") or [""])[0]
    place = (values.get("LieuNaissance") or [""])[0] or None
    if not birth_name or len(birth_name) > _MAX_TRAIT:
        raise invalid(
            "Recherche INSi : le nom de naissance est obligatoire (100 caractères au plus)."
        )
    if not given or len(" ".join(given)) > _MAX_TRAIT:
        raise invalid("Recherche INSi : le prénom de naissance est obligatoire.")
    if sex not in ("F", "M"):
        raise invalid("Recherche INSi : le sexe vaut F ou M.")
    if not _DATE.match(raw_date):
        raise invalid("Recherche INSi : la date de naissance s'écrit AAAA-MM-JJ.")
    try:
        birth_date = dt.date.fromisoformat(raw_date)
    except ValueError:
        raise invalid("Recherche INSi : date de naissance invalide.") from None
    if place is not None and not _COG.match(place):
        raise invalid("Recherche INSi : le lieu de naissance est un code INSEE à 5 caractères.")
    return InsiQuery(birth_name, given, sex, birth_date, place)


def _check_contexts(header: etree._Element | None, national_id: str) -> None:
    for ns_uri, local, version in (
        (NS_CTX_BAM, "ContexteBAM", "01_02"),
        (NS_CTX_LPS, "ContexteLPS", "01_00"),
    ):
        block = header.find(f"{{{ns_uri}}}{local}") if header is not None else None
        if block is None:
            raise invalid(f"En-tête {local} absent : il est obligatoire pour le service INSi.")
        if block.get("Version") != version:
            raise invalid(f"En-tête {local} : version {version} attendue.")
        for field in ("Id", "Temps", "Emetteur"):
            if not _text(block.find(f"{{{ns_uri}}}{field}")):
                raise invalid(f"En-tête {local} : élément {field} absent.")
        if _text(block.find(f"{{{ns_uri}}}Emetteur")) != national_id:
            raise SoapFault(
                FaultCode.AUTHENTICATION,
                f"En-tête {local} : l'émetteur n'est pas le titulaire du certificat TLS.",
            )
    lps = (
        header.find(f"{{{NS_CTX_LPS}}}ContexteLPS/{{{NS_CTX_LPS}}}LPS")
        if header is not None
        else None
    )
    if lps is None or not _text(lps.find(f"{{{NS_CTX_LPS}}}IDAM")):
        raise invalid("En-tête ContexteLPS : le logiciel (LPS/IDAM) n'est pas identifié.")


def _check_assertion(
    security: etree._Element | None, identity: CertIdentity, trust: DocumentSignerTrust | None
) -> None:
    assertion = security.find(f"{{{SAML2}}}Assertion") if security is not None else None
    if assertion is None:
        raise SoapFault(
            FaultCode.AUTHENTICATION, "Assertion du professionnel absente (wsse:Security)."
        )
    if trust is None:
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "L'hôte ne connaît pas l'autorité des cartes : l'assertion ne peut être vérifiée.",
        )
    try:
        verified = verify_enveloped(assertion)
    except SignatureInvalid as exc:
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            f"Signature de l'assertion du professionnel refusée ({exc.reason}).",
        ) from None
    try:
        check_signer(verified.certificate, trust)
    except SubmissionSignatureError:
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "L'assertion n'est pas signée par une carte de professionnel de santé reconnue.",
        ) from None
    if signer_national_id(verified.certificate) != identity.national_id:
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "L'assertion est signée par une autre carte que celle du certificat TLS.",
        )
    name_id = _text(verified.signed.find(f"{{{SAML2}}}Subject/{{{SAML2}}}NameID"))
    if name_id != identity.national_id:
        raise SoapFault(
            FaultCode.AUTHENTICATION,
            "L'assertion (NameID) ne désigne pas le titulaire du certificat TLS.",
        )


def _sub(parent: etree._Element, local: str, value: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{NS_RESULT}}}{local}")
    if value is not None:
        el.text = value
    return el


def build_result(found: list[identity_base.ReferenceIdentity]) -> etree._Element:
    """``RESULTAT`` in the shape of the official answer."""
    result = etree.Element(
        f"{{{NS_RESULT}}}RESULTAT",
        nsmap={"ns3": NS_REC_VIT, "ns2": NS_RESULT, None: NS_REC_SANS},
    )
    code, label = CR_NOT_FOUND if not found else CR_FOUND if len(found) == 1 else CR_SEVERAL
    report = _sub(result, "CR")
    _sub(report, "CodeCR", code)
    _sub(report, "LibelleCR", label)
    if len(found) == 1:
        person = found[0]
        individual = _sub(result, "INDIVIDU")
        active = _sub(individual, "INSACTIF")
        ident = _sub(active, "IdIndividu")
        _sub(ident, "NumIdentifiant", person.nir13)
        _sub(ident, "Cle", person.key)
        _sub(active, "OID", person.root)
        tiq = _sub(individual, "TIQ")
        _sub(tiq, "NomNaissance", person.birth_name)
        _sub(tiq, "Prenom", person.given_names[0])
        _sub(tiq, "ListePrenom", " ".join(person.given_names))
        _sub(tiq, "Sexe", person.sex)
        _sub(tiq, "DateNaissance", person.birth_date.isoformat())
        _sub(tiq, "LieuNaissance", person.birthplace)
    return result


def answer_envelope(result: etree._Element) -> bytes:
    """The official answer's envelope: no header, the body in the same SOAP 1.2 namespace."""
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
    body = etree.SubElement(envelope, f"{{{SOAP12}}}Body", nsmap={"env": SOAP12, "S": SOAP12})
    body.append(result)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


class InsiService:
    """One INSi request in, one answer (or SOAP fault) out; never raises."""

    def __init__(self, signer_trust: DocumentSignerTrust | None) -> None:
        self.signer_trust = signer_trust

    def handle(
        self,
        content_type: str | None,
        body: bytes,
        identity: CertIdentity | None,
        trace: TraceContext,
    ) -> HostResponse:
        trace.service = SERVICE
        trace.transaction = TRANSACTION
        relates_to: str | None = None
        try:
            _media, ct_action = content_type_info(content_type)
            request = read_envelope(body, ct_action, max_bytes=MAX_BODY)
            relates_to = request.message_id
            trace.message_id = request.message_id
            trace.action = request.action
            if request.action != ACTION_SEARCH_TRAITS:
                raise invalid(
                    "Opération INSi non proposée par l'hôte de formation : seule la recherche "
                    "par traits d'identité (rechercherInsAvecTraitsIdentite) l'est."
                )
            if identity is None or identity.is_structure:
                raise SoapFault(
                    FaultCode.AUTHENTICATION,
                    "Le téléservice INSi de formation demande la carte CPS du professionnel.",
                )
            header = request.envelope.find(f"{{{SOAP12}}}Header")
            _check_contexts(header, identity.national_id)
            _check_assertion(request.security, identity, self.signer_trust)
            query = read_query(request.payload)
            found = identity_base.search(
                query.birth_name, query.given_names, query.sex, query.birth_date, query.birthplace
            )
            result = build_result(found)
            trace.outcome = "OK"
            trace.result = result.findtext(f"{{{NS_RESULT}}}CR/{{{NS_RESULT}}}CodeCR")
            log.info("INSi %s -> %s", trace.message_id, trace.result)
            return HostResponse(200, answer_envelope(result), media_type=CONTENT_TYPE)
        except SoapFault as fault:
            trace.outcome = fault.code.value
            log.info("INSi %s -> fault %s", trace.message_id, fault.code.value)
            return HostResponse(fault.http_status, fault_envelope(fault, relates_to))
        except Exception:
            log.exception("internal error (INSi %s)", trace.message_id)
            internal = SoapFault(FaultCode.INTERNAL, "Erreur interne de l'hôte de formation.")
            trace.outcome = internal.code.value
            return HostResponse(internal.http_status, fault_envelope(internal, relates_to))


__all__ = [
    "ACTION_SEARCH_TRAITS",
    "MAX_BODY",
    "PATH",
    "InsiService",
    "build_result",
    "read_query",
]
