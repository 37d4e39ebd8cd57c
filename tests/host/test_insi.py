"""The training host's INSi (``/lps``), raw wire: the official request reshaped, signed here.

Every request starts from the CNAM's example (``WS_INS2_rechercherInsAvecTraitsIdentite``):
its headers are kept, the professional becomes Dr Durand (the TLS certificate's
holder), the assertion is signed here with signxml by a card-like signature
certificate of the test persons CA, and the body carries the traits of each
case. Answers are compared with the official answer's shape.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from lxml import etree
from signxml import XMLSigner

from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.conftest import DMP_MESSAGES, require_shared
from tests.host.conftest import DURAND
from tests.host.test_alimentation_wire import MARTIN_AUTHOR, FileSigner, make_signer
from tests.host.wire import Reply, TlsClient

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
BAM = "urn:siram:bam:ctxbam"
LPS = "urn:siram:lps:ctxlps"
REC = "http://www.cnamts.fr/INSiRecSans"
RES = "http://www.cnamts.fr/INSiResultat"
ACTION = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
VITALE = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"
REQUEST = "WS_INS2_rechercherInsAvecTraitsIdentite_requête.xml"
RESPONSE = "WS_INS2_rechercherInsAvecTraitsIdentite_réponse.xml"
PATH = "/lps"


@pytest.fixture(scope="module")
def durand_signer(training_env: TrainingEnv) -> FileSigner:
    return make_signer(training_env.pki)


@pytest.fixture(scope="module")
def martin_signer(training_env: TrainingEnv) -> FileSigner:
    return make_signer(training_env.pki, MARTIN_AUTHOR)


def _official() -> etree._Element:
    root = etree.parse(str(require_shared(DMP_MESSAGES / REQUEST))).getroot()
    etree.cleanup_namespaces(root)  # the example declares unused prefixes (xd: for XML-DSig...)
    return root


def sign(assertion: etree._Element, signer: FileSigner) -> etree._Element:
    """An enveloped RSA-SHA256 signature of the whole assertion, by signxml."""
    key = signer.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    cert = signer.certificate.public_bytes(Encoding.PEM)
    return XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
        assertion, key=key, cert=cert, reference_uri=assertion.get("ID"), id_attribute="ID"
    )


def request(
    traits: dict[str, str | list[str]],
    signer: FileSigner | None,
    *,
    national_id: str = DURAND,
    emitter: str | None = None,
    action: str = ACTION,
    mutate: Callable[[etree._Element], None] | None = None,
) -> bytes:
    """The official request, as Dr Durand sends it with these traits (in this order)."""
    envelope = _official()
    header = envelope.find(f"{{{SOAP}}}Header")
    for block in (f"{{{BAM}}}ContexteBAM", f"{{{LPS}}}ContexteLPS"):
        found = header.find(block)
        namespace = block[1:].split("}")[0]
        found.find(f"{{{namespace}}}Emetteur").text = emitter or national_id
        found.find(f"{{{namespace}}}Id").text = str(uuid.uuid4())
    header.find(f"{{{WSA}}}MessageID").text = str(uuid.uuid4())
    header.find(f"{{{WSA}}}Action").text = action
    security = header.find(f"{{{WSSE}}}Security")
    old = security.find(f"{{{SAML}}}Assertion")
    assertion = copy.deepcopy(old)
    security.remove(old)
    assertion.remove(assertion.find(f"{{{DS}}}Signature"))
    assertion.set("ID", f"_{uuid.uuid4()}")
    assertion.set("IssueInstant", f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%S.000Z}")
    assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = national_id
    # The signed assertion goes in as bytes: moving it into the envelope with lxml would
    # rewrite its namespace declarations (a default namespace becomes a prefix) after signing.
    signed = sign(assertion, signer) if signer is not None else assertion
    security.append(etree.Comment("ASSERTION"))
    body = envelope.find(f"{{{SOAP}}}Body")
    search = body.find(f"{{{REC}}}RECSANSVITALE")
    for child in list(search):
        search.remove(child)
    for name, value in traits.items():
        for item in value if isinstance(value, list) else [value]:
            etree.SubElement(search, f"{{{REC}}}{name}").text = item
    data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    data = data.replace(b"<!--ASSERTION-->", etree.tostring(signed))
    if mutate is not None:
        envelope = etree.fromstring(data)
        mutate(envelope)
        data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return data


def post(client: TlsClient, data: bytes, action: str = ACTION) -> Reply:
    return client.post(
        data, content_type=f'application/soap+xml; charset=utf-8; action="{action}"', path=PATH
    )


def result(reply: Reply) -> etree._Element:
    assert reply.status == 200, reply.body[:600]
    body = reply.xml().find(f"{{{SOAP}}}Body")
    return body.find(f"{{{RES}}}RESULTAT")


def code(reply: Reply) -> str:
    return result(reply).findtext(f"{{{RES}}}CR/{{{RES}}}CodeCR")


def traits(
    name: str, given: str | list[str], sex: str, born: str, place: str | None = None
) -> dict:
    values: dict[str, str | list[str]] = {
        "NomNaissance": name,
        "Prenom": given,
        "Sexe": sex,
        "DateNaissance": born,
    }
    if place:
        values["LieuNaissance"] = place
    return values


def _shape(el: etree._Element) -> list[str]:
    return [etree.QName(e).localname for e in el.iter() if isinstance(e.tag, str)]


def test_one_identity_00_in_the_official_shape(
    host: RunningHost, client: TlsClient, durand_signer: FileSigner
) -> None:
    before = host.store.last_trace_id()
    reply = post(client, request(traits("MOREAU", "LEA", "F", "2007-05-25"), durand_signer))
    answer = result(reply)
    official = etree.parse(str(require_shared(DMP_MESSAGES / RESPONSE))).getroot()
    official_result = official.find(f".//{{{RES}}}RESULTAT")
    # The official answer, plus ListePrenom (the full list of first names, always given here).
    assert [t for t in _shape(answer) if t != "ListePrenom"] == _shape(official_result)
    assert reply.xml().find(f"{{{SOAP}}}Header") is None  # as the official answer
    r = f"{{{RES}}}"
    assert answer.findtext(f"{r}CR/{r}CodeCR") == "00"
    active = answer.find(f"{r}INDIVIDU/{r}INSACTIF")
    assert active.findtext(f"{r}IdIndividu/{r}NumIdentifiant") == "2070585756270"
    assert active.findtext(f"{r}IdIndividu/{r}Cle") == "97"
    assert active.findtext(f"{r}OID") == "1.2.250.1.213.1.4.10"
    tiq = answer.find(f"{r}INDIVIDU/{r}TIQ")
    assert [tiq.findtext(f"{r}{t}") for t in ("NomNaissance", "Prenom", "ListePrenom")] == [
        "MOREAU",
        "LEA",
        "LEA CAMILLE",
    ]
    assert tiq.findtext(f"{r}LieuNaissance") == "85756"
    trace = host.store.traces(after_id=before)[-1]
    assert (trace.transaction, trace.service, trace.result) == ("INSi", "insi", "00")
    assert trace.patient_ins is None  # an INSi search is not an access to a DMP


def test_homonyms_02_then_the_other_first_names_or_the_birthplace(
    client: TlsClient, durand_signer: FileSigner
) -> None:
    def search(given: str | list[str], place: str | None = None) -> Reply:
        return post(
            client, request(traits("LEFEBVRE", given, "M", "1982-11-02", place), durand_signer)
        )

    assert code(search("JULIEN")) == "02"
    r = f"{{{RES}}}"
    for given, place, ins in (
        ("JULIEN ANDRE", None, "1821169383112"),
        (["JULIEN", "ANDRE"], None, "1821169383112"),  # several Prenom elements are read too
        ("JULIEN", "69383", "1821169383112"),
        ("JULIEN PIERRE", None, "1821159350187"),
        ("JULIEN", "59350", "1821159350187"),
    ):
        answer = result(search(given, place))
        assert answer.findtext(f"{r}CR/{r}CodeCR") == "00", (given, place)
        assert answer.findtext(f".//{r}NumIdentifiant") == ins
    assert code(search("JULIEN", "75056")) == "01"


def test_none_01_for_the_official_example_and_near_misses(
    client: TlsClient, durand_signer: FileSigner
) -> None:
    official_body = traits("PATB-QUATRE", "LAURENCE", "F", "1907-05-25")
    assert code(post(client, request(official_body, durand_signer))) == "01"
    for case in (
        traits("MOREAU", "LEA", "F", "2007-05-26"),
        traits("MOREAU", "LEA", "M", "2007-05-25"),
        traits("MOREAU", "CAMILLE", "F", "2007-05-25"),  # the second first name is not the first
        traits("DUPONT", "LEA", "F", "2007-05-25"),
    ):
        assert code(post(client, request(case, durand_signer))) == "01", case
    # Accents and case do not matter.
    assert (
        code(post(client, request(traits("Moreau", "Léa", "F", "2007-05-25"), durand_signer)))
        == "00"
    )


def _fault(reply: Reply) -> tuple[int, str | None]:
    return reply.status, reply.fault_code


def test_the_assertion_must_be_signed_by_the_tls_holder_card(
    client: TlsClient, durand_signer: FileSigner, martin_signer: FileSigner
) -> None:
    lea = traits("MOREAU", "LEA", "F", "2007-05-25")
    assert _fault(post(client, request(lea, None))) == (400, "DMPAuthenticationError")
    reply = post(client, request(lea, martin_signer))
    assert _fault(reply) == (400, "DMPAuthenticationError")
    assert "autre carte" in (reply.fault_reason or "")
    reply = post(client, request(lea, durand_signer, emitter="899700433160"))
    assert _fault(reply) == (400, "DMPAuthenticationError")

    def tamper(envelope: etree._Element) -> None:  # the NameID changed after signing
        envelope.find(f".//{{{SAML}}}NameID").text = "899700433160"

    reply = post(client, request(lea, durand_signer, mutate=tamper))
    assert _fault(reply) == (400, "DMPAuthenticationError")
    assert "Signature" in (reply.fault_reason or "")


def test_the_body_is_checked_like_the_official_one(
    client: TlsClient, durand_signer: FileSigner
) -> None:
    def refused(body: dict, **kwargs: object) -> str:
        reply = post(client, request(body, durand_signer, **kwargs))  # type: ignore[arg-type]
        assert _fault(reply) == (400, "DMPInvalidRequest"), reply.body[:400]
        return reply.fault_reason or ""

    assert "sexe" in refused(traits("MOREAU", "LEA", "X", "2007-05-25"))
    assert "AAAA-MM-JJ" in refused(traits("MOREAU", "LEA", "F", "25/05/2007"))
    assert "INSEE" in refused(traits("MOREAU", "LEA", "F", "2007-05-25", "750"))
    assert "nom de naissance" in refused(
        {"Prenom": "LEA", "Sexe": "F", "DateNaissance": "2007-05-25"}
    )
    assert "ordre" in refused(
        {"Sexe": "F", "NomNaissance": "MOREAU", "Prenom": "LEA", "DateNaissance": "2007-05-25"}
    )

    def foreign(envelope: etree._Element) -> None:
        etree.SubElement(envelope.find(f".//{{{REC}}}RECSANSVITALE"), f"{{{REC}}}NIR").text = "1"

    assert "inattendu" in refused(traits("MOREAU", "LEA", "F", "2007-05-25"), mutate=foreign)

    def no_lps_context(envelope: etree._Element) -> None:
        header = envelope.find(f"{{{SOAP}}}Header")
        header.remove(header.find(f"{{{LPS}}}ContexteLPS"))

    assert "ContexteLPS" in refused(
        traits("MOREAU", "LEA", "F", "2007-05-25"), mutate=no_lps_context
    )


def test_the_carte_vitale_search_is_not_offered(
    client: TlsClient, durand_signer: FileSigner
) -> None:
    reply = post(
        client,
        request(traits("MOREAU", "LEA", "F", "2007-05-25"), durand_signer, action=VITALE),
        action=VITALE,
    )
    assert _fault(reply) == (400, "DMPInvalidRequest")
    assert "rechercherInsAvecTraitsIdentite" in (reply.fault_reason or "")
