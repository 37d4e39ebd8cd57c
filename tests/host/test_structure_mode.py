"""Structure mode ("authentification indirecte renforcée") against the training host,
over real mutual TLS: the TLS client certificate is a structure's (test organisations
CA), the VIHF is signed with it and names the card holder. Every refusal is traced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from dmp_desktop.dmp.vihf_signature import sign_vihf
from dmp_desktop.net.keys import FileClientKey
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.pki import PkiPaths, load_cert, load_key, pem, write_key
from dmp_sandbox.server import RunningHost
from dmp_sandbox.store import Trace
from dmp_sandbox.structures import StructureSpec, create_structure
from dmp_sandbox.training import TrainingEnv
from tests.host.conftest import DURAND, MARTIN
from tests.host.wire import (
    SAML,
    ClientIdentity,
    Reply,
    TlsClient,
    client_context,
    envelope,
    td02_body,
    vihf,
)

STRUCTURE_ID = "499700433153007"
PATIENT = next(p for p in demo_patients() if p.key == "actif-autorise")
RESOURCE = f"{PATIENT.ins.value}^^^&{PATIENT.ins.oid}&ISO^NH"


@dataclass(frozen=True)
class Structure:
    key: FileClientKey
    tls: TlsClient


def _structure(
    host: RunningHost,
    pki: PkiPaths,
    directory: Path,
    structure_id: str,
    name: str,
    *,
    issuer: PkiPaths | None = None,
) -> Structure:
    """A structure PKCS#12 (as ``dmp-sandbox structure create`` writes it) and its client."""
    issuer = issuer or pki
    created = create_structure(
        StructureSpec(structure_id, name),
        pki,
        directory / f"{structure_id}-{uuid.uuid4().hex[:6]}.p12",
        issuer_cert=load_cert(issuer.orgs_cert),
        issuer_key=load_key(issuer.orgs_key),
    )
    key = FileClientKey.from_pkcs12(created.p12_path, created.passphrase.encode())
    private, cert, _extra = pkcs12.load_key_and_certificates(
        created.p12_path.read_bytes(), created.passphrase.encode()
    )
    cert_path, key_path = created.p12_path.with_suffix(".pem"), created.p12_path.with_suffix(".key")
    assert cert is not None and private is not None
    cert_path.write_bytes(pem(cert))
    write_key(key_path, private)  # type: ignore[arg-type]
    identity = ClientIdentity(structure_id, cert_path, key_path)
    return Structure(key, TlsClient(host.port, client_context(pki.trust_roots, identity)))


@pytest.fixture(scope="module")
def structure_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("structures")


@pytest.fixture(scope="module")
def cabinet(host: RunningHost, training_env: TrainingEnv, structure_dir: Path) -> Structure:
    return _structure(
        host, training_env.pki, structure_dir, STRUCTURE_ID, "CABINET MEDICAL FORMATION"
    )


def request(
    name_id: str = DURAND,
    *,
    signer: FileClientKey | None,
    mode: str = "INDIRECTE_RENFORCEE",
    structure_id: str = STRUCTURE_ID,
    tamper: bool = False,
) -> bytes:
    """A TD0.2 request whose VIHF names ``name_id``, signed by ``signer``."""
    assertion = vihf(name_id, resource_id=RESOURCE, auth_mode=mode)
    for value in assertion.iter(f"{{{SAML}}}AttributeValue"):
        if value.text == "499700433153007":
            value.text = structure_id
    if signer is not None:
        sign_vihf(assertion, signer)
    if tamper:  # after signing: another doctor's identity slipped in
        assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = MARTIN
    data, _message_id = envelope(td02_body(PATIENT.ins.value), assertion)
    return data


def last_trace(host: RunningHost) -> Trace:
    return host.store.traces(after_id=host.store.last_trace_id() - 1)[-1]


def refused(host: RunningHost, reply: Reply, result: str) -> Trace:
    assert reply.status != 200
    assert reply.fault_code == "DMPAuthenticationError", reply.body
    trace = last_trace(host)
    assert trace.outcome == "DMPAuthenticationError"
    assert trace.result == result
    assert trace.transaction == "TD0.2"
    return trace


def test_structure_certificate_and_signed_vihf_are_accepted(
    host: RunningHost, cabinet: Structure
) -> None:
    reply = cabinet.tls.post(request(signer=cabinet.key))
    assert reply.status == 200, reply.fault_reason
    body = reply.body_element()
    assert etree.QName(body).localname == "PRPA_IN201308UV02"
    trace = last_trace(host)
    assert trace.outcome == "OK"
    assert trace.professional_national_id == DURAND  # the card holder, not the structure
    assert trace.patient_ins == PATIENT.ins.value
    # The structure is not recorded as a professional.
    assert host.store.professional(STRUCTURE_ID) is None


def test_a_tampered_vihf_is_refused_and_traced(host: RunningHost, cabinet: Structure) -> None:
    reply = cabinet.tls.post(request(signer=cabinet.key, tamper=True))
    trace = refused(host, reply, "VIHF_SIGNATURE_EMPREINTE")
    assert "signature du jeton VIHF est invalide" in (reply.fault_reason or "")
    assert trace.professional_national_id == STRUCTURE_ID  # nobody's identity was accepted


def test_an_unsigned_vihf_is_refused(host: RunningHost, cabinet: Structure) -> None:
    reply = cabinet.tls.post(request(signer=None))
    refused(host, reply, "VIHF_SIGNATURE_ABSENTE")
    assert "doit être signé" in (reply.fault_reason or "")


def test_a_signer_outside_the_test_pki_is_refused(
    host: RunningHost, cabinet: Structure, rogue_pki: PkiPaths, structure_dir: Path
) -> None:
    """Same names, other keys: a certificate the test roots never issued."""
    rogue = create_structure(
        StructureSpec(STRUCTURE_ID, "CABINET MEDICAL FORMATION"),
        rogue_pki,
        structure_dir / "rogue.p12",
    )
    signer = FileClientKey.from_pkcs12(rogue.p12_path, rogue.passphrase.encode())
    reply = cabinet.tls.post(request(signer=signer))
    refused(host, reply, "VIHF_SIGNATURE_SIGNATAIRE")
    assert "n'est pas reconnu" in (reply.fault_reason or "")


def test_a_signer_of_another_structure_is_refused(
    host: RunningHost, training_env: TrainingEnv, cabinet: Structure, structure_dir: Path
) -> None:
    other = _structure(
        host, training_env.pki, structure_dir, "499700433999001", "CENTRE DE SANTE VOISIN"
    )
    reply = cabinet.tls.post(request(signer=other.key))
    refused(host, reply, "VIHF_SIGNATURE_ORGANISATION")
    # ...and that structure cannot speak for the first one either.
    reply = other.tls.post(request(signer=other.key))
    refused(host, reply, "VIHF_STRUCTURE")


def test_a_doctor_card_cannot_sign_for_a_structure(
    host: RunningHost, training_env: TrainingEnv, cabinet: Structure, durand: ClientIdentity
) -> None:
    card_like = FileClientKey.from_pem(durand.cert_path, durand.key_path)
    reply = cabinet.tls.post(request(signer=card_like))
    refused(host, reply, "VIHF_SIGNATURE_SIGNATAIRE_PERSONNE")
    assert "pas avec celui d'une personne" in (reply.fault_reason or "")


def test_structure_certificate_with_a_direct_vihf_is_refused(
    host: RunningHost, cabinet: Structure
) -> None:
    reply = cabinet.tls.post(request(signer=cabinet.key, mode="DIRECTE"))
    refused(host, reply, "VIHF_MODE")


def test_card_certificate_with_an_indirect_vihf_is_refused(
    host: RunningHost, client: TlsClient, cabinet: Structure
) -> None:
    reply = client.post(request(signer=cabinet.key))
    assert reply.fault_code == "DMPAuthenticationError"
    assert "INDIRECTE_RENFORCEE demande le certificat de la structure" in (reply.fault_reason or "")
    assert last_trace(host).professional_national_id == DURAND


def test_the_vihf_must_name_a_professional(host: RunningHost, cabinet: Structure) -> None:
    reply = cabinet.tls.post(request("ADMIN", signer=cabinet.key))
    refused(host, reply, "VIHF_NAMEID")


def test_signer_chain_checks(training_env: TrainingEnv) -> None:
    """The chain walk itself: expired signer, CA posing as signer, the good case."""
    import datetime as dt

    from dmp_sandbox.pki import issue_leaf, new_key
    from dmp_sandbox.structures import structure_subject
    from dmp_sandbox.vihf_verify import SignerTrust, VihfSignerError, check_chain

    pki = training_env.pki
    trust = SignerTrust.from_pki(pki)
    orgs_cert, orgs_key = load_cert(pki.orgs_cert), load_key(pki.orgs_key)
    subject = structure_subject(StructureSpec(STRUCTURE_ID, "CABINET MEDICAL FORMATION"))
    good = issue_leaf(subject, new_key().public_key(), orgs_cert, orgs_key, client=True)
    assert [c.subject for c in check_chain(good, trust)] == [
        good.subject,
        orgs_cert.subject,
        load_cert(pki.root_cert).subject,
    ]
    expired = issue_leaf(
        subject,
        new_key().public_key(),
        orgs_cert,
        orgs_key,
        client=True,
        days=1,
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=10),
    )
    with pytest.raises(VihfSignerError) as err:
        check_chain(expired, trust)
    assert err.value.reason == "signataire_expire"
    with pytest.raises(VihfSignerError) as err:
        check_chain(orgs_cert, trust)  # a CA does not sign VIHF
    assert err.value.reason == "signataire"


def test_dmp_sandbox_structure_create(
    training_env: TrainingEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmp_desktop.net.structure import KEYRING_SERVICE, keyring_user, load_structure
    from dmp_sandbox.__main__ import main

    code = main(
        [
            "structure",
            "create",
            "--dir",
            str(training_env.root),
            "--id",
            "499700433153007",
            "--name",
            "CABINET DU PARC",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    p12 = training_env.root / "structures" / "499700433153007.p12"
    assert str(p12) in out
    assert oct(p12.stat().st_mode & 0o777) == "0o600"
    passphrase = next(
        line.split(" : ", 1)[1] for line in out.splitlines() if line.startswith("Mot de passe")
    )
    assert f"service « {KEYRING_SERVICE} », utilisateur « {keyring_user(p12)} »" in out
    structure = load_structure(p12, passphrase)
    assert (structure.structure_id, structure.name) == ("499700433153007", "CABINET DU PARC")
    assert structure.certificate.issuer == load_cert(training_env.pki.orgs_cert).subject


def test_dmp_sandbox_card_create_takes_a_specialty() -> None:
    from dmp_sandbox.__main__ import build_parser

    args = build_parser().parse_args(
        [
            "card",
            "create",
            "--label",
            "CPS3-TEST",
            "--national-id",
            "899700433191",
            "--family",
            "Roux",
            "--given",
            "Anne",
            "--pin",
            "1234",
            "--specialty",
            "SM04",
        ]
    )
    assert args.specialty == "SM04"
