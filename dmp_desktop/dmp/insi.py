"""INSi: the national teleservice that returns a patient's INS and official traits.

Operation ``rechercherInsAvecTraitsIdentite`` (search by identity traits),
SOAP 1.2, over the same card-backed mutual TLS as the DMP. The request is
shaped exactly like the CNAM's official example
(``WS_INS2_rechercherInsAvecTraitsIdentite_requête.xml``)::

    <soap:Envelope>
      <soap:Header>
        <ctxbam:ContexteBAM Version="01_02">Id, Temps, Emetteur, COUVERTURE</ctxbam:ContexteBAM>
        <wsa:MessageID>(uuid, no urn: prefix)</wsa:MessageID>
        <wsa:Action>urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite</wsa:Action>
        <ctxlps:ContexteLPS Version="01_00">Id, Temps, Emetteur, LPS (IDAM R="4", Version,
          Instance, Nom)</ctxlps:ContexteLPS>
        <wsse:Security>(the professional's SAML 2.0 assertion, signed with the card's
          signature key: Issuer = signature certificate subject, NameID
          NameQualifier="CPS" = national id, optional attribute identifiantFacturation)
        </wsse:Security>
      </soap:Header>
      <soap:Body>
        <ins:RECSANSVITALE>  (http://www.cnamts.fr/INSiRecSans)
          NomNaissance, Prenom, Sexe (F|M), DateNaissance (AAAA-MM-JJ), [LieuNaissance (COG)]
        </ins:RECSANSVITALE>
      </soap:Body>
    </soap:Envelope>

``Prenom`` carries the first names typed, separated by spaces (the first
one alone at first; the others are added after a "02" answer).

The answer (official ``…_réponse.xml``) is ``RESULTAT``
(http://www.cnamts.fr/INSiResultat): ``CR/CodeCR`` and ``LibelleCR``, then,
for ``00`` only, ``INDIVIDU``: ``INSACTIF`` (``IdIndividu/NumIdentifiant``
13 characters + ``Cle``, ``OID`` of the authority), any ``INSHISTO``, and
``TIQ`` (NomNaissance, Prenom, ListePrenom, Sexe, DateNaissance,
LieuNaissance). ``01``: no identity found; ``02``: several identities found.

No official XSD of INSi is in the reference data (the CNAM gives it to
registered editors): the request follows the official example element for
element, and :func:`parse_result` reads the official answer.

The carte Vitale search (``rechercherInsAvecCarteVitale``, body
``RECVITALE`` in http://www.cnamts.fr/INSiRecVit) needs the Vitale card's
data read through the SESAM-Vitale reader API, which this software does not
drive yet. :data:`ACTION_SEARCH_VITALE` names it; a second request builder
next to :func:`build_search_body` and the same :func:`parse_result` (the
answer is the same ``RESULTAT``) are all it would take.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography import x509
from lxml import etree

from dmp_desktop.dates import DateFormatError, parse_iso_date, xs_datetime_utc
from dmp_desktop.dmp import ns
from dmp_desktop.dmp.vihf_signature import sign_assertion
from dmp_desktop.dmp.xmlutil import Element, child, children, qn, text
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from dmp_desktop.identity.traits import (
    IdentitySource,
    IdentityTraits,
    InsIdentity,
    TraitsQuery,
    normalize_sex,
    split_given_names,
)
from dmp_desktop.messages import msg, render

NS_REC_SANS = "http://www.cnamts.fr/INSiRecSans"
NS_REC_VIT = "http://www.cnamts.fr/INSiRecVit"
NS_RESULT = "http://www.cnamts.fr/INSiResultat"
NS_CTX_BAM = "urn:siram:bam:ctxbam"
NS_CTX_LPS = "urn:siram:lps:ctxlps"

ACTION_SEARCH_TRAITS = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
ACTION_SEARCH_VITALE = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"
BODY_SEARCH_TRAITS = "RECSANSVITALE"
BODY_RESULT = "RESULTAT"
CONTEXT_BAM_VERSION = "01_02"
CONTEXT_LPS_VERSION = "01_00"
IDAM_KIND = "4"  # IDAM R="4": the homologation number of the software, as in the example
NAME_QUALIFIER_CPS = "CPS"
ATTR_BILLING_ID = "identifiantFacturation"


class InsiOutcome(enum.StrEnum):
    """``CodeCR`` of the answer."""

    FOUND = "00"
    NOT_FOUND = "01"
    SEVERAL = "02"


ADVICE_NOT_FOUND = "insi.advice.not_found"  # message ids (dmp_desktop.messages)
ADVICE_SEVERAL = "insi.advice.several"


@dataclass(frozen=True)
class InsiResult:
    """The INSi answer: its code, its label and, for ``00``, the qualified identity."""

    code: str
    label: str
    identity: InsIdentity | None = None
    previous_ins: tuple[Ins, ...] = ()  # INSHISTO: the patient's earlier INS

    @property
    def outcome(self) -> InsiOutcome:
        return InsiOutcome(self.code)

    @property
    def advice_fr(self) -> str:
        """What to do next, in the words of identity vigilance (empty when found)."""
        if self.code == InsiOutcome.NOT_FOUND:
            return render(msg(ADVICE_NOT_FOUND))
        if self.code == InsiOutcome.SEVERAL:
            return render(msg(ADVICE_SEVERAL))
        return ""


@dataclass(frozen=True)
class InsiContext:
    """Who asks: the card holder, this software, the assertion's signer."""

    practitioner: Practitioner
    signature_certificate: x509.Certificate
    sign: Callable[[bytes], bytes]  # RSA-SHA256 with the card's signature key
    software_name: str
    software_version: str
    homologation_id: str
    instance_id: str
    billing_id: str | None = None  # the professional's identifiantFacturation, when known


def _sub(parent: Element, namespace: str, local: str, value: str | None = None) -> Element:
    el = etree.SubElement(parent, qn(namespace, local))
    if value is not None:
        el.text = value
    return el


def _instant(now: datetime) -> str:
    """``2021-06-16T09:39:02.0041Z`` (UTC, as the official example)."""
    return xs_datetime_utc(now, 4)


def build_search_body(query: TraitsQuery) -> Element:
    """``RECSANSVITALE``: the traits, in the order of the official example."""
    body = etree.Element(qn(NS_REC_SANS, BODY_SEARCH_TRAITS), nsmap={"ins": NS_REC_SANS})
    _sub(body, NS_REC_SANS, "NomNaissance", query.birth_name.upper())
    _sub(body, NS_REC_SANS, "Prenom", " ".join(query.given_names).upper())
    _sub(body, NS_REC_SANS, "Sexe", query.sex)
    _sub(body, NS_REC_SANS, "DateNaissance", query.birth_date.isoformat())
    if query.birthplace:
        _sub(body, NS_REC_SANS, "LieuNaissance", query.birthplace)
    return body


def build_assertion(ctx: InsiContext, now: datetime) -> Element:
    """The professional's assertion, signed with the card's signature key."""
    assertion = etree.Element(qn(ns.SAML2, "Assertion"), nsmap={"saml2": ns.SAML2})
    assertion.set("ID", f"_{uuid.uuid4()}")
    assertion.set("IssueInstant", xs_datetime_utc(now, 3))
    assertion.set("Version", "2.0")
    issuer = _sub(assertion, ns.SAML2, "Issuer", ctx.signature_certificate.subject.rfc4514_string())
    issuer.set("Format", ns.SAML_X509_SUBJECT_NAME)
    subject = _sub(assertion, ns.SAML2, "Subject")
    name_id = _sub(subject, ns.SAML2, "NameID", ctx.practitioner.national_id)
    name_id.set("NameQualifier", NAME_QUALIFIER_CPS)
    if ctx.billing_id:
        statement = _sub(assertion, ns.SAML2, "AttributeStatement")
        attribute = _sub(statement, ns.SAML2, "Attribute")
        attribute.set("Name", ATTR_BILLING_ID)
        value = etree.SubElement(
            attribute, qn(ns.SAML2, "AttributeValue"), nsmap={"xs": ns.XS, "xsi": ns.XSI}
        )
        value.set(qn(ns.XSI, "type"), "xs:string")
        value.text = ctx.billing_id
    return sign_assertion(assertion, ctx.signature_certificate, ctx.sign)


@dataclass(frozen=True)
class InsiRequest:
    message_id: str
    data: bytes


def build_request(
    query: TraitsQuery, ctx: InsiContext, *, now: datetime | None = None
) -> InsiRequest:
    """The whole SOAP 1.2 envelope of a search by traits (see the module docstring)."""
    now = now or datetime.now(UTC)
    instant = _instant(now)
    message_id = str(uuid.uuid4())
    envelope = etree.Element(
        qn(ns.SOAP12, "Envelope"),
        nsmap={
            "soap": ns.SOAP12,
            "ctxbam": NS_CTX_BAM,
            "wsa": ns.WSA,
            "ctxlps": NS_CTX_LPS,
            "wsse": ns.WSSE,
        },
    )
    header = _sub(envelope, ns.SOAP12, "Header")
    bam = _sub(header, NS_CTX_BAM, "ContexteBAM")
    bam.set("Version", CONTEXT_BAM_VERSION)
    _sub(bam, NS_CTX_BAM, "Id", str(uuid.uuid4()))
    _sub(bam, NS_CTX_BAM, "Temps", instant)
    _sub(bam, NS_CTX_BAM, "Emetteur", ctx.practitioner.national_id)
    _sub(bam, NS_CTX_BAM, "COUVERTURE")
    _sub(header, ns.WSA, "MessageID", message_id)
    _sub(header, ns.WSA, "Action", ACTION_SEARCH_TRAITS)
    lps_ctx = _sub(header, NS_CTX_LPS, "ContexteLPS")
    lps_ctx.set("Version", CONTEXT_LPS_VERSION)
    _sub(lps_ctx, NS_CTX_LPS, "Id", str(uuid.uuid4()))
    _sub(lps_ctx, NS_CTX_LPS, "Temps", instant)
    _sub(lps_ctx, NS_CTX_LPS, "Emetteur", ctx.practitioner.national_id)
    lps = _sub(lps_ctx, NS_CTX_LPS, "LPS")
    _sub(lps, NS_CTX_LPS, "IDAM", ctx.homologation_id).set("R", IDAM_KIND)
    _sub(lps, NS_CTX_LPS, "Version", ctx.software_version)
    _sub(lps, NS_CTX_LPS, "Instance", ctx.instance_id)
    _sub(lps, NS_CTX_LPS, "Nom", ctx.software_name)
    security = _sub(header, ns.WSSE, "Security")
    security.append(build_assertion(ctx, now))
    body = _sub(envelope, ns.SOAP12, "Body")
    body.append(build_search_body(query))
    data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return InsiRequest(message_id, data)


# --- the answer --------------------------------------------------------------------------------


def _r(el: Element | None, local: str) -> Element | None:
    return child(el, NS_RESULT, local)


def _rtext(el: Element | None, local: str) -> str:
    return (text(_r(el, local)) or "").strip()


def _ins_of(node: Element | None) -> Ins:
    ident = _r(node, "IdIndividu")
    number = _rtext(ident, "NumIdentifiant")
    key = _rtext(ident, "Cle")
    oid = _rtext(node, "OID")
    try:
        kind = InsKind.from_oid(oid)
        if len(number) == 15 and not key:  # some answers give the 15 characters at once
            return Ins(number, kind)
        return Ins(f"{number}{key.zfill(2)}", kind)
    except InsError:
        raise DmpProtocolError("INSi answer with an invalid INS") from None


def _birth_date(value: str) -> date:
    try:
        return parse_iso_date(value)
    except DateFormatError:
        # A "lunar" date (00 for an unknown day or month) cannot be a strict trait here.
        raise DmpProtocolError("INSi answer with an unusable birth date") from None


def parse_result(body: Element) -> InsiResult:
    """Read ``RESULTAT`` (see the module docstring); unreadable answers raise DmpProtocolError."""
    if body is None or body.tag != qn(NS_RESULT, BODY_RESULT):
        raise DmpProtocolError("answer is not an INSi RESULTAT")
    report = _r(body, "CR")
    code = _rtext(report, "CodeCR")
    label = _rtext(report, "LibelleCR")[:200]
    if not code:
        raise DmpProtocolError("INSi answer without CodeCR")
    if code in (InsiOutcome.NOT_FOUND, InsiOutcome.SEVERAL):
        return InsiResult(code, label)
    if code != InsiOutcome.FOUND:
        raise DmpServiceError(f"INSi{code}", label)
    person = _r(body, "INDIVIDU")
    tiq = _r(person, "TIQ")
    if person is None or tiq is None:
        raise DmpProtocolError("INSi answer 00 without INDIVIDU/TIQ")
    ins = _ins_of(_r(person, "INSACTIF"))
    history = tuple(_ins_of(node) for node in children(person, NS_RESULT, "INSHISTO"))
    birth_name = _rtext(tiq, "NomNaissance")
    given_list = split_given_names(_rtext(tiq, "ListePrenom"))
    first_given = _rtext(tiq, "Prenom")
    if not given_list and first_given:
        given_list = split_given_names(first_given)
    sex = normalize_sex(_rtext(tiq, "Sexe"))
    birth = _birth_date(_rtext(tiq, "DateNaissance"))
    place = _rtext(tiq, "LieuNaissance") or None
    if not birth_name or not given_list or sex == "U":
        raise DmpProtocolError("INSi answer 00 with incomplete traits")
    traits = IdentityTraits(
        birth_name=birth_name,
        given_names=given_list,
        sex=sex,
        birth_date=birth,
        birthplace=place,
        # ListePrenom is the full list; Prenom alone is only the first one.
        given_names_complete=bool(_rtext(tiq, "ListePrenom")),
    )
    identity = InsIdentity(ins, traits, IdentitySource.INSI, qualified=True)
    return InsiResult(code, label, identity, history)


__all__ = [
    "ACTION_SEARCH_TRAITS",
    "ACTION_SEARCH_VITALE",
    "ADVICE_NOT_FOUND",
    "ADVICE_SEVERAL",
    "NS_CTX_BAM",
    "NS_CTX_LPS",
    "NS_REC_SANS",
    "NS_REC_VIT",
    "NS_RESULT",
    "InsiContext",
    "InsiOutcome",
    "InsiRequest",
    "InsiResult",
    "build_request",
    "build_search_body",
    "parse_result",
]
