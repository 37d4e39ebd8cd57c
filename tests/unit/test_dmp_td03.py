"""TD0.3 setAuthorization: the body for each case, the answer's status, and the client call."""

from __future__ import annotations

import re

import httpx
import pytest
from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.dmp import ns, td03
from dmp_desktop.dmp.client import DmpClient
from dmp_desktop.dmp.vihf import parse_vihf
from dmp_desktop.errors import DmpProtocolError, DmpServiceError
from tests.unit.test_dmp_support import INS, doctor, settings

H = "{urn:si-dmp-habilitations}"


def answer(status: str = "DMPOk", context: str = "", relates_to: str = "") -> bytes:
    relates = (
        f'<RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{relates_to}</RelatesTo>'
        if relates_to
        else ""
    )
    status_el = f"<ns1:status>{status}</ns1:status>" if status else ""
    return f"""<soap:Envelope xmlns:ns1="urn:si-dmp-habilitations"
    xmlns:soap="http://www.w3.org/2003/05/soap-envelope">
  <soap:Header>
    <Action xmlns="http://www.w3.org/2005/08/addressing">{td03.ACTION_SET_AUTHORIZATION_RESPONSE}</Action>
    {relates}
  </soap:Header>
  <soap:Body><ns1:setAuthorizationResponse><ns1:output>{status_el}
    <ns1:context>{context}</ns1:context></ns1:output></ns1:setAuthorizationResponse></soap:Body>
</soap:Envelope>""".encode()


def _children(el: etree._Element) -> list[tuple[str, str | None]]:
    return [(c.tag, c.text) for c in el]


@pytest.mark.parametrize(
    ("grant", "treating", "expected"),
    [
        (True, False, [(f"{H}action", "AJOUT")]),
        (True, True, [(f"{H}action", "AJOUT"), (f"{H}role", "MEDECIN_TRAITANT")]),
        (False, False, [(f"{H}action", "SUPPRESSION")]),
        (False, True, [(f"{H}action", "SUPPRESSION"), (f"{H}role", "MEDECIN_TRAITANT")]),
    ],
)
def test_request_body(grant: bool, treating: bool, expected: list[tuple[str, str]]) -> None:
    body = td03.build_set_authorization(grant=grant, treating_physician=treating)
    assert body.tag == f"{H}setAuthorization"
    assert body.nsmap == {None: td03.HABILITATIONS}
    assert _children(body) == expected


def _parse(data: bytes) -> td03.SetAuthorizationResult:
    root = xmlsafe.parse(data)
    body = next(iter(root.find(f"{{{ns.SOAP12}}}Body")))
    return td03.parse_set_authorization_response(body)


def test_ok_in_any_case() -> None:
    assert _parse(answer("DMPOk", "Autorisation ajoutée")) == td03.SetAuthorizationResult(
        "DMPOk", "Autorisation ajoutée"
    )
    assert _parse(answer("DMPOK")).status == "DMPOK"


def test_error_status_is_a_service_error() -> None:
    with pytest.raises(DmpServiceError) as raised:
        _parse(answer("DMPAccessDeniedByExcludedPs", "Le patient a bloqué ce professionnel"))
    assert raised.value.code == "DMPAccessDeniedByExcludedPs"
    assert raised.value.detail == "Le patient a bloqué ce professionnel"


def test_missing_status_or_wrong_answer() -> None:
    with pytest.raises(DmpProtocolError, match="without a status"):
        _parse(answer(""))
    with pytest.raises(DmpProtocolError, match="not a setAuthorizationResponse"):
        td03.parse_set_authorization_response(etree.fromstring("<x/>"))


def _message_id(request: httpx.Request) -> str:
    found = re.search(rb"<MessageID[^>]*>([^<]+)</MessageID>", request.content)
    assert found is not None
    return found.group(1).decode()


@pytest.mark.parametrize("treating", [False, True])
def test_client_set_authorization(treating: bool) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            content=answer(relates_to=_message_id(request)),
            headers={"Content-Type": "application/soap+xml; charset=utf-8"},
        )

    with DmpClient(
        httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor()
    ) as client:
        assert client.set_authorization(INS, treating_physician=treating) is None
    (request,) = seen
    assert str(request.url) == "https://dmp.test:8443/si-dmp-server/v2/services/habilitations"
    assert f'action="{td03.ACTION_SET_AUTHORIZATION}"' in request.headers["content-type"]
    envelope = xmlsafe.parse(request.content)
    body = envelope.find(f"{{{ns.SOAP12}}}Body/{H}setAuthorization")
    assert body.findtext(f"{H}action") == "AJOUT"
    assert (body.findtext(f"{H}role") == "MEDECIN_TRAITANT") is treating
    claims = parse_vihf(envelope.find(f".//{{{ns.SAML2}}}Assertion"))
    assert claims.patient_ins() == INS
    assert claims.purpose_of_use == "normal"


def test_client_revocation_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=answer("DMPAccessDenied", "", relates_to=_message_id(request)),
            headers={"Content-Type": "application/soap+xml"},
        )

    with DmpClient(
        httpx.Client(transport=httpx.MockTransport(handler)), settings(), doctor()
    ) as client:
        with pytest.raises(DmpServiceError, match="DMPAccessDenied"):
            client.set_authorization(INS, grant=False)
