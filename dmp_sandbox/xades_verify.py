"""The training host's check of a submission's signature (TD2.1: IHE DSG, XAdES).

TD2.1 needs a signature: a submission without one is refused
(``DMPDocumentSignatureError``, trace result ``SIGNATURE_ABSENTE``). The XML
signature itself is checked by signxml (:func:`dmp_sandbox.signatures.verify_xades`:
XML-DSig schema, references, manifest digests over the documents received,
signing-certificate digest, RSA value), never by the client's code. On top
of it the host decides whether the signer may sign this submission:

- the certificate is a card's *signature* certificate: not a CA, valid
  today, its key usage (when present) allows non-repudiation;
- it was issued by the test IGC-Santé persons CA, which chains to the test
  root (each link's signature, dates and CA flag are checked);
- its subject (CN: the national id) is the professional the host
  authenticated (TLS certificate, or the structure's signed VIHF); for a
  secretary (no profession), the professional she feeds for: the author of
  every document, who must be of her structure (see
  :func:`dmp_sandbox.alimentation.allowed_signers`).

Every refusal raises :class:`SubmissionSignatureError` with a short reason
code (for the trace: ``SIGNATURE_<REASON>``) and a French message that names
nobody.

:data:`STRICT_DSIG_SCHEMA` (on): a signature that is not valid against the
W3C XML-DSig schema is refused. The client's signatures were not
(``SignatureProperty`` with text only) until its fix (f22f12b, dmp/xades.py);
the switch stays for tests that need a lenient host.

Test-only bypass: :func:`read_unverified` only checks that the signature is
a readable XML signature. The host calls it instead of the verification
when it was started with ``skip_signature_check=True`` (see
:class:`dmp_sandbox.host.DmpHost`), which only the conformance test of the
official TD2.1 example does: that example was signed with a certificate of
the real test IGC-Santé, and its manifest no longer matches its documents.
Never the default, never reachable from the ``dmp-sandbox`` command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from dmp_sandbox import wire
from dmp_sandbox.certpath import MAX_CHAIN, is_ca, issued_by, valid_at
from dmp_sandbox.pki import PkiPaths, load_cert
from dmp_sandbox.signatures import SignatureInvalid, verify_xades
from dmp_sandbox.xmlparse import XmlRefused, parse_xml

DS = wire.DS
# Refuse signatures that are not valid against the XML-DSig schema (see the docstring).
STRICT_DSIG_SCHEMA = True

_MESSAGES = {
    "absente": (
        "Le lot de soumission n'est pas signé : le DMP exige la signature XAdES (IHE DSG) du "
        "lot par le professionnel, faite avec sa carte CPS."
    ),
    "schema": (
        "La signature du lot de soumission n'est pas conforme au schéma XML-DSig du W3C : "
        "elle est refusée même si son calcul est juste."
    ),
    "forme": (
        "La signature du lot de soumission est illisible : une signature XAdES (IHE DSG) "
        "est attendue."
    ),
    "algorithme": (
        "La signature du lot de soumission utilise un algorithme non accepté (RSA-SHA256 attendu)."
    ),
    "reference": (
        "La signature du lot de soumission est mal construite (références internes "
        "introuvables) : signez de nouveau puis renvoyez."
    ),
    "empreinte": (
        "La signature du lot de soumission ne correspond plus à son contenu : elle a été "
        "modifiée après la signature. Signez de nouveau puis renvoyez."
    ),
    "document": (
        "La signature ne couvre pas exactement les documents envoyés (document modifié après "
        "la signature, ajouté ou manquant) : signez de nouveau puis renvoyez."
    ),
    "certificat": (
        "Le certificat de signature est absent de la signature ou n'est pas celui qu'elle désigne."
    ),
    "signature": (
        "La signature du lot de soumission est invalide : elle n'a pas été faite avec la clé "
        "du certificat joint."
    ),
    "signataire": (
        "Le certificat de signature ne provient pas de l'IGC-Santé (de test) : signez avec "
        "la carte CPS."
    ),
    "signataire_expire": (
        "Le certificat de signature de la carte est expiré ou pas encore valide."
    ),
    "usage": (
        "Ce certificat ne sert pas à signer des documents : utilisez le certificat de "
        "signature de la carte CPS."
    ),
    "signataire_autre": (
        "Le lot de soumission a été signé avec la carte d'une autre personne que celle qui "
        "l'envoie ou qui en est l'auteur."
    ),
    "non_verifiable": (
        "L'hôte ne peut pas vérifier la signature du lot de soumission (autorités de "
        "certification non configurées)."
    ),
}


class SubmissionSignatureError(Exception):
    """A submission signature the host refuses; ``reason`` goes to the trace."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return _MESSAGES.get(self.reason, _MESSAGES["signature"])


@dataclass(frozen=True)
class DocumentSignerTrust:
    """The test root and the CAs that issue the cards' signature certificates."""

    roots: tuple[x509.Certificate, ...]
    issuers: tuple[x509.Certificate, ...]

    @classmethod
    def from_pki(cls, pki: PkiPaths) -> DocumentSignerTrust:
        """The test hierarchy: its root and the persons CA (the cards' issuer)."""
        return cls((load_cert(pki.root_cert),), (load_cert(pki.persons_cert),))


@dataclass(frozen=True)
class SignaturePolicy:
    """How the host treats submission signatures.

    ``skip_check`` is the test-only bypass of the module docstring: it must
    be asked for explicitly and is never the default.
    """

    trust: DocumentSignerTrust | None
    skip_check: bool = False
    strict_schema: bool = STRICT_DSIG_SCHEMA


@dataclass(frozen=True)
class SignatureCheck:
    """What the host learnt of a submission's signature."""

    verified: bool
    signer_national_id: str | None
    signing_time: str


def _chains_to_root(
    ca: x509.Certificate, roots: Sequence[x509.Certificate], at: dt.datetime
) -> bool:
    current = ca
    for _ in range(MAX_CHAIN):
        if not is_ca(current) or not valid_at(current, at):
            return False
        if any(current == root for root in roots):
            return True
        issuer = next((r for r in roots if issued_by(current, r)), None)
        if issuer is None:
            return False
        current = issuer
    return False


def check_signer(
    cert: x509.Certificate, trust: DocumentSignerTrust, at: dt.datetime | None = None
) -> None:
    """A card's signature certificate from the persons CA (see the module docstring)."""
    at = at or dt.datetime.now(dt.UTC)
    if is_ca(cert):
        raise SubmissionSignatureError("signataire")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.content_commitment:
            raise SubmissionSignatureError("usage")
    except x509.ExtensionNotFound:
        pass
    issuer = next((ca for ca in trust.issuers if issued_by(cert, ca)), None)
    if issuer is None or not _chains_to_root(issuer, trust.roots, at):
        raise SubmissionSignatureError("signataire")
    if not valid_at(cert, at):
        raise SubmissionSignatureError("signataire_expire")


def signer_national_id(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return None
    value = values[0].value
    text = value if isinstance(value, str) else value.decode("utf-8", "replace")
    return text.strip() or None


def verify_submission_signature(
    data: bytes,
    documents: Mapping[str, bytes],
    trust: DocumentSignerTrust | None,
    allowed_signers: Collection[str],
    at: dt.datetime | None = None,
    *,
    strict_schema: bool = STRICT_DSIG_SCHEMA,
) -> SignatureCheck:
    """Verify ``data`` over ``documents`` (unique id -> bytes received) and its signer.

    ``allowed_signers``: the national ids that may have signed (see the
    module docstring). Raises :class:`SubmissionSignatureError`.
    """
    if trust is None:
        raise SubmissionSignatureError("non_verifiable")
    try:
        verified = verify_xades(
            data,
            documents,
            strict_schema=strict_schema,
            check_certificate=lambda cert: check_signer(cert, trust, at),
        )
    except SignatureInvalid as exc:
        reason = exc.reason if exc.reason in _MESSAGES else "signature"
        raise SubmissionSignatureError(reason) from None
    national_id = signer_national_id(verified.certificate)
    if national_id is None or national_id not in allowed_signers:
        raise SubmissionSignatureError("signataire_autre")
    return SignatureCheck(True, national_id, verified.signing_time)


def read_unverified(data: bytes) -> SignatureCheck:
    """Test-only bypass: a readable ``ds:Signature``, nothing verified."""
    try:
        root = parse_xml(data)
    except XmlRefused:
        raise SubmissionSignatureError("forme") from None
    if root.tag != f"{{{DS}}}Signature" or root.find(f"{{{DS}}}SignedInfo") is None:
        raise SubmissionSignatureError("forme")
    return SignatureCheck(False, None, "")


__all__ = [
    "DocumentSignerTrust",
    "SignatureCheck",
    "SignaturePolicy",
    "SubmissionSignatureError",
    "check_signer",
    "read_unverified",
    "signer_national_id",
    "verify_submission_signature",
]
