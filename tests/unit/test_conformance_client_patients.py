"""INSi, TD0.4 and TD0.5 against the official material (schemas and the CNAM's examples).

INSi (no official XSD in the reference data): the request has the official
example's shape, header for header and element for element, its assertion is
signed and verifies; the official answer (00) reads as a qualified identity,
and the 01 / 02 variants derived from it read as such.
TD0.4: the request validates against PatientsSpecific.wsdl's schema and has
the official shape; the official answer is read.
TD0.5: the request validates against the official PRPA_IN201305UV02.xsd
(NE2008) and has the official shape (plus the parameters it adds); the
official answer is read.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import insi, ns, td04, td05
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.soap import parse_envelope
from dmp_desktop.dmp.vihf_signature import verify_vihf_signature
from dmp_desktop.domain import Ins, InsKind
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from dmp_desktop.identity.traits import IdentitySource, TraitsError, TraitsQuery
from tests.conftest import DMP_MESSAGES, DMP_SCHEMAS, require_shared
from tests.unit.test_alimentation_support import SoftSigner
from tests.unit.test_dmp_support import doctor, settings

INSI_REQUEST = "WS_INS2_rechercherInsAvecTraitsIdentite_requête.xml"
INSI_RESPONSE = "WS_INS2_rechercherInsAvecTraitsIdentite_réponse.xml"
TD04_REQUEST = "TD0.4 - Liste des DMP autorisés_requête.xml"
TD04_RESPONSE = "TD0.4 - Liste des DMP autorisés_réponse.xml"
TD05_REQUEST = "TD0.5 - Recherche d'un patient sans INS_requête.xml"
TD05_RESPONSE = "TD0.5 - Recherche d'un patient sans INS_réponse.xml"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"


def _official(name: str) -> bytes:
    return require_shared(DMP_MESSAGES / name).read_bytes()


def _body(envelope: etree._Element) -> etree._Element:
    body = envelope.find(f"{{{ns.SOAP12}}}Body")
    assert body is not None
    return next(el for el in body if isinstance(el.tag, str))


def _shape(el: etree._Element, depth: int = 0) -> Iterator[tuple[int, str]]:
    yield depth, el.tag
    for node in el:
        if isinstance(node.tag, str):
            yield from _shape(node, depth + 1)


def _validate(schema: etree.XMLSchema, element: etree._Element) -> None:
    doc = etree.ElementTree(copy.deepcopy(element))
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


class Exchange:
    """A client whose transport records the request and answers with ``answer(request)``."""

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.sent: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            self.sent.append(request)
            return httpx.Response(
                200,
                content=answer(request.content),
                headers={"Content-Type": "application/soap+xml; charset=utf-8"},
            )

        self.client = DmpClient(
            httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor()
        )

    @property
    def envelope(self) -> etree._Element:
        return xmlsafe.parse(self.sent[0].content)


def _relating(official: bytes) -> Callable[[bytes], bytes]:
    """The official answer, its RelatesTo rewritten to the request's MessageID."""

    def answer(request: bytes) -> bytes:
        message_id = xmlsafe.parse(request).findtext(f".//{{{ns.WSA}}}MessageID") or ""
        return re.sub(
            rb"(<RelatesTo[^>]*>)[^<]*(</RelatesTo>)",
            lambda m: m.group(1) + message_id.encode() + m.group(2),
            official,
        )

    return answer


# --- INSi --------------------------------------------------------------------------------------

QUERY = TraitsQuery.from_text("patb-quatre", "laurence", "F", dt.date(1907, 5, 25))


@pytest.fixture(scope="module")
def insi_exchange() -> tuple[Exchange, insi.InsiResult, SoftSigner]:
    signer = SoftSigner(doctor())
    exchange = Exchange(lambda _req: _official(INSI_RESPONSE))
    result = exchange.client.search_ins(QUERY, signer)
    return exchange, result, signer


def test_insi_request_goes_to_insi_with_its_action(insi_exchange: tuple) -> None:
    exchange, _result, _signer = insi_exchange
    request = exchange.sent[0]
    assert str(request.url) == "https://dmp.test:8443/lps"
    assert f'action="{insi.ACTION_SEARCH_TRAITS}"' in request.headers["content-type"]
    assert request.headers["content-type"].startswith("application/soap+xml")


def _header_tags(envelope: etree._Element) -> list[str]:
    header = envelope.find(f"{{{ns.SOAP12}}}Header")
    assert header is not None
    return [child.tag for child in header if isinstance(child.tag, str)]


def test_insi_headers_have_the_official_shape(insi_exchange: tuple) -> None:
    exchange, _result, _signer = insi_exchange
    ours = exchange.envelope
    official = xmlsafe.parse(_official(INSI_REQUEST))
    # Same header blocks; the official example puts Security last, as we do.
    assert sorted(_header_tags(ours)) == sorted(_header_tags(official))
    assert _header_tags(ours)[-1] == f"{{{ns.WSSE}}}Security"
    for tag in (f"{{{insi.NS_CTX_BAM}}}ContexteBAM", f"{{{insi.NS_CTX_LPS}}}ContexteLPS"):
        mine, theirs = ours.find(f".//{tag}"), official.find(f".//{tag}")
        assert list(_shape(mine)) == list(_shape(theirs))
        assert mine.get("Version") == theirs.get("Version")
    assert ours.findtext(f".//{{{ns.WSA}}}Action") == insi.ACTION_SEARCH_TRAITS
    assert official.findtext(f".//{{{ns.WSA}}}Action") == insi.ACTION_SEARCH_TRAITS
    idam = ours.find(f".//{{{insi.NS_CTX_LPS}}}IDAM")
    assert idam.get("R") == "4"
    assert ours.findtext(f".//{{{insi.NS_CTX_BAM}}}Emetteur") == doctor().national_id


def test_insi_body_has_the_official_shape(insi_exchange: tuple) -> None:
    exchange, _result, _signer = insi_exchange
    ours = _body(exchange.envelope)
    official = _body(xmlsafe.parse(_official(INSI_REQUEST)))
    assert list(_shape(ours)) == list(_shape(official))
    assert [(c.tag, c.text) for c in ours] == [(c.tag, c.text) for c in official]


def test_insi_assertion_is_signed_with_the_card_signature_key(insi_exchange: tuple) -> None:
    exchange, _result, signer = insi_exchange
    assertion = exchange.envelope.find(f".//{{{ns.WSSE}}}Security/{{{ns.SAML2}}}Assertion")
    official = xmlsafe.parse(_official(INSI_REQUEST)).find(
        f".//{{{ns.WSSE}}}Security/{{{ns.SAML2}}}Assertion"
    )
    assert [c.tag for c in assertion][:3] == [c.tag for c in official][:3]
    name_id = assertion.find(f"{{{ns.SAML2}}}Subject/{{{ns.SAML2}}}NameID")
    assert name_id.text == doctor().national_id and name_id.get("NameQualifier") == "CPS"
    verified = verify_vihf_signature(assertion)
    assert verified.certificate == signer.sign_certificate
    assert signer.signed == 1


def test_the_official_insi_answer_reads_as_a_qualified_identity(insi_exchange: tuple) -> None:
    _exchange, result, _signer = insi_exchange
    assert result.outcome is insi.InsiOutcome.FOUND and result.advice_fr == ""
    identity = result.identity
    assert identity is not None and identity.qualified
    assert identity.source is IdentitySource.INSI
    assert identity.ins == Ins("207058575627097", InsKind.NIR)
    traits = identity.traits
    assert (traits.birth_name, traits.given_names, traits.sex) == (
        "PATB-QUATRE",
        ("LAURENCE",),
        "F",
    )
    assert traits.birth_date == dt.date(1907, 5, 25) and traits.birthplace == "85756"


def _variant(code: str, label: str) -> bytes:
    root = xmlsafe.parse(_official(INSI_RESPONSE))
    result = _body(root)
    r = "{http://www.cnamts.fr/INSiResultat}"
    result.find(f"{r}CR/{r}CodeCR").text = code
    result.find(f"{r}CR/{r}LibelleCR").text = label
    result.remove(result.find(f"{r}INDIVIDU"))
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("code", "label", "advice"),
    [
        ("01", "Aucune identite trouvee", "tous les prénoms de naissance"),
        ("02", "Plusieurs identites trouvees", "autres prénoms"),
    ],
)
def test_insi_01_and_02_answers_say_what_to_try(code: str, label: str, advice: str) -> None:
    result = insi.parse_result(parse_envelope(_variant(code, label)).body)
    assert result.code == code and result.identity is None
    assert advice in result.advice_fr


def test_insi_full_list_of_first_names_is_complete() -> None:
    root = xmlsafe.parse(_official(INSI_RESPONSE))
    r = "{http://www.cnamts.fr/INSiResultat}"
    tiq = root.find(f".//{r}TIQ")
    tiq.find(f"{r}Prenom").addnext(etree.Element(f"{r}ListePrenom"))
    tiq.find(f"{r}ListePrenom").text = "LAURENCE MARIE JEANNE"
    result = insi.parse_result(_body(root))
    assert result.identity is not None
    assert result.identity.traits.given_names == ("LAURENCE", "MARIE", "JEANNE")
    assert result.identity.traits.given_names_complete


@pytest.mark.parametrize(
    "mutation",
    [
        lambda tiq, r: tiq.remove(tiq.find(f"{r}NomNaissance")),
        lambda tiq, r: setattr(tiq.find(f"{r}DateNaissance"), "text", "1907-00-00"),
        lambda tiq, r: setattr(tiq.find(f"{r}Sexe"), "text", "X"),
        lambda tiq, r: setattr(
            tiq.getparent().find(f"{r}INSACTIF/{r}IdIndividu/{r}Cle"), "text", "12"
        ),
    ],
)
def test_an_unusable_insi_identity_is_refused(mutation: Callable) -> None:
    root = xmlsafe.parse(_official(INSI_RESPONSE))
    r = "{http://www.cnamts.fr/INSiResultat}"
    mutation(root.find(f".//{r}TIQ"), r)
    with pytest.raises(DmpProtocolError):
        insi.parse_result(_body(root))


def test_an_unknown_insi_code_is_a_service_error() -> None:
    with pytest.raises(DmpServiceError) as caught:
        insi.parse_result(parse_envelope(_variant("99", "Erreur")).body)
    assert caught.value.code == "INSi99"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "LEA", "F", dt.date(2000, 1, 1)), "birth_name"),
        (("MOREAU", " ", "F", dt.date(2000, 1, 1)), "given_names"),
        (("MOREAU", "LEA", "U", dt.date(2000, 1, 1)), "sex"),
        (("MOREAU", "LEA", "F", dt.date.today() + dt.timedelta(days=2)), "birth_date"),
        (("MOREAU", "LEA", "F", dt.date(2000, 1, 1), "750"), "birthplace"),
    ],
)
def test_traits_are_checked_before_anything_is_sent(args: tuple, field: str) -> None:
    with pytest.raises(TraitsError) as caught:
        TraitsQuery.from_text(*args)
    assert caught.value.field == field and caught.value.message_fr


def test_insi_request_carries_the_birthplace_and_the_other_first_names() -> None:
    body = insi.build_search_body(
        TraitsQuery.from_text("Lefebvre", "julien pierre", "M", dt.date(1982, 11, 2), "2a004")
    )
    values = {etree.QName(c).localname: c.text for c in body}
    assert values == {
        "NomNaissance": "LEFEBVRE",
        "Prenom": "JULIEN PIERRE",
        "Sexe": "M",
        "DateNaissance": "1982-11-02",
        "LieuNaissance": "2A004",
    }


# --- TD0.4 -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patients_specific_schema() -> etree.XMLSchema:
    path = require_shared(DMP_SCHEMAS.parent / "wsdl" / "PatientsSpecific.wsdl")
    wsdl = etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False))
    schema = wsdl.getroot().find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    return etree.XMLSchema(etree.ElementTree(schema))


@pytest.fixture(scope="module")
def td04_exchange() -> tuple[Exchange, list[td04.AuthorisedPatient]]:
    exchange = Exchange(_relating(_official(TD04_RESPONSE)))
    return exchange, exchange.client.list_authorised_patients()


def test_official_td04_request_validates(patients_specific_schema: etree.XMLSchema) -> None:
    _validate(patients_specific_schema, _body(xmlsafe.parse(_official(TD04_REQUEST))))


def test_td04_request_validates_and_has_the_official_shape(
    patients_specific_schema: etree.XMLSchema, td04_exchange: tuple
) -> None:
    exchange, _rows = td04_exchange
    ours = _body(exchange.envelope)
    _validate(patients_specific_schema, ours)
    assert list(_shape(ours)) == list(_shape(_body(xmlsafe.parse(_official(TD04_REQUEST)))))
    assert str(exchange.sent[0].url).endswith("/si-dmp-server/v2/services/patientsSpecific")
    assert exchange.envelope.findtext(f".//{{{ns.WSA}}}Action") == td04.ACTION
    assert ours.findtext(f"{{{td04.NS}}}startDate") == "20100101000000"
    assert ours.findtext(f"{{{td04.NS}}}dateType") == "LASTAUTORIZATION"


def test_td04_vihf_names_no_patient(td04_exchange: tuple) -> None:
    exchange, _rows = td04_exchange
    names = [a.get("Name") for a in exchange.envelope.iter(f"{{{ns.SAML2}}}Attribute")]
    assert "urn:oasis:names:tc:xacml:2.0:resource:resource-id" not in names


def test_the_official_td04_answer_reads(td04_exchange: tuple) -> None:
    _exchange, rows = td04_exchange
    assert [r.identity.ins for r in rows] == [
        Ins("153078987658513", InsKind.TEST_NIR),
        Ins("207058575627097", InsKind.TEST_NIR),
    ]
    first, second = rows
    assert first.identity.traits.birth_name == "PAT-TROIS"
    assert first.identity.traits.given_names == ("DOMINIQUE",)
    assert first.identity.traits.birth_date == dt.date(1979, 3, 28)
    assert first.dmp_id == "0740724093302701701806"
    assert not first.treating_physician and second.treating_physician
    assert first.last_access == dt.datetime(2021, 6, 1, 9, 41, 5, tzinfo=dt.UTC)
    assert second.last_document == dt.datetime(2021, 5, 21, 10, 16, 31, tzinfo=dt.UTC)
    assert all(not r.identity.qualified and r.identity.source is IdentitySource.DMP for r in rows)


def test_a_td04_refusal_raises_its_status() -> None:
    answer = _official(TD04_RESPONSE).replace(b">DMPOk<", b">DMPAccessDenied<")
    with pytest.raises(DmpServiceError) as caught:
        td04.parse_response(parse_envelope(answer).body)
    assert caught.value.code == "DMPAccessDenied"


# --- TD0.5 -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdq_schema() -> etree.XMLSchema:
    path = require_shared(DMP_SCHEMAS / "HL7V3" / "NE2008" / "multicacheschemas")
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(path / "PRPA_IN201305UV02.xsd"), parser))


@pytest.fixture(scope="module")
def td05_exchange() -> tuple[Exchange, list[td05.PdqMatch]]:
    exchange = Exchange(_relating(_official(TD05_RESPONSE)))
    matches = exchange.client.search_patients(
        td05.PdqQuery("Dechaine", "Irène", dt.date(1957, 6, 28), "F")
    )
    return exchange, matches


def test_official_td05_request_validates(pdq_schema: etree.XMLSchema) -> None:
    _validate(pdq_schema, _body(xmlsafe.parse(_official(TD05_REQUEST))))


def test_td05_request_validates_against_the_official_schema(
    pdq_schema: etree.XMLSchema, td05_exchange: tuple
) -> None:
    exchange, _matches = td05_exchange
    _validate(pdq_schema, _body(exchange.envelope))
    assert str(exchange.sent[0].url).endswith("/si-dmp-server/v2/services/patientsPDQ")
    assert exchange.envelope.findtext(f".//{{{ns.WSA}}}Action") == td05.ACTION


def test_td05_request_has_the_official_shape(td05_exchange: tuple) -> None:
    exchange, _matches = td05_exchange
    ours = _body(exchange.envelope)
    official = _body(xmlsafe.parse(_official(TD05_REQUEST)))
    h = "{urn:hl7-org:v3}"
    # Same wrapper and controlActProcess; the parameter list adds gender, birth time, given.
    assert [c.tag for c in ours] == [c.tag for c in official if isinstance(c.tag, str)]
    cap, official_cap = ours.find(f"{h}controlActProcess"), official.find(f"{h}controlActProcess")
    assert [c.tag for c in cap] == [c.tag for c in official_cap]
    params = cap.find(f"{h}queryByParameter/{h}parameterList")
    assert [etree.QName(c).localname for c in params] == [
        "livingSubjectAdministrativeGender",
        "livingSubjectBirthTime",
        "livingSubjectName",
    ]
    assert params.findtext(f"{h}livingSubjectName/{h}value/{h}family") == "DECHAINE"
    assert params.findtext(f"{h}livingSubjectName/{h}value/{h}given") == "IRÈNE"
    assert params.find(f"{h}livingSubjectBirthTime/{h}value").get("value") == "19570628"


def test_td05_name_only_request_is_the_official_one(pdq_schema: etree.XMLSchema) -> None:
    body = td05.build_request(td05.PdqQuery("DECHAINE"), sender_oid="1.2.3", sender_name="LPS")
    official = _body(xmlsafe.parse(_official(TD05_REQUEST)))
    assert list(_shape(body)) == list(_shape(official))
    _validate(pdq_schema, body)


def test_the_official_td05_answer_reads(td05_exchange: tuple) -> None:
    _exchange, matches = td05_exchange
    assert len(matches) == 1
    match = matches[0]
    identity = match.identity
    assert identity.ins == Ins("157069329642881", InsKind.TEST_NIR)
    assert identity.traits.birth_name == "DECHAINE" and identity.used_name == "ENCHAINE"
    assert identity.traits.given_names == ("IRENE",) and identity.traits.sex == "F"
    assert identity.traits.birth_date == dt.date(1957, 6, 28)
    assert identity.dmp_state == "active" and not identity.qualified
    assert match.dmp_id == "1418878867934420256667"
    assert match.match_percent == 100 and match.city == "SECLIN"
    assert identity.birth_name_line == "née DECHAINE"


def test_a_td05_not_found_answer_is_an_empty_list() -> None:
    answer = _official(TD05_RESPONSE).replace(
        b'<queryResponseCode code="OK"/>', b'<queryResponseCode code="NF"/>'
    )
    assert td05.parse_response(parse_envelope(answer).body) == []


def test_a_td05_error_acknowledgement_raises() -> None:
    answer = _official(TD05_RESPONSE).replace(b'<typeCode code="AA"/>', b'<typeCode code="AE"/>')
    with pytest.raises(DmpServiceError):
        td05.parse_response(parse_envelope(answer).body)
