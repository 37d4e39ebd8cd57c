"""SoftHSM2 test cards laid out like a CPS3 (or CPS4) card.

The key pairs are generated on the token (the private keys never exist
outside it, as on a real card); certificates are issued by the test persons
CA and written next to their key with the same CKA_ID. A CPS3-like card
restricts its keys to PKCS#1 v1.5 mechanisms (CKA_ALLOWED_MECHANISMS), a
CPS4-like one also allows PSS.

A professional's card also carries the public data object ``CPS_INFO_PS``
with the profession and, when given, the specialty, in the *training
layout* documented in :mod:`dmp_desktop.smartcard.card_data` (the real
card's layout is not public).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass

from dmp_desktop.domain.practitioner import PROFESSION_CODES
from dmp_desktop.settings import SOFTHSM_MODULE
from dmp_desktop.smartcard import pkcs11_compat  # noqa: F401 - registers CKA_ALLOWED_MECHANISMS
from dmp_desktop.smartcard.card import (
    AUTH_CERT_LABEL,
    AUTH_KEY_LABEL,
    SIGN_CERT_LABEL,
    SIGN_KEY_LABEL,
)
from dmp_desktop.smartcard.card_data import INFO_PS_LABEL, encode_info_ps
from dmp_sandbox.pki import PkiPaths, issue_leaf, load_cert, load_key

CPS3_MECHANISMS = [Mechanism.RSA_PKCS, Mechanism.SHA1_RSA_PKCS, Mechanism.SHA256_RSA_PKCS]
CPS4_MECHANISMS = [
    *CPS3_MECHANISMS,
    Mechanism.RSA_PKCS_PSS,
    Mechanism.SHA256_RSA_PKCS_PSS,
]


# Profession titles as written on the card (certificate "title" attribute).
STAFF_TITLE = "Secrétaire médicale"


@dataclass(frozen=True)
class CardSpec:
    label: str
    national_id: str  # "8" + RPPS for a professional, "3..." for structure staff
    family_name: str
    given_name: str
    profession: str  # "Médecin", ... or STAFF_TITLE
    pin: str
    so_pin: str = "12345678"
    cps4: bool = False
    structure_id: str = "499700433153007"
    structure_name: str = "CABINET MEDICAL FORMATION"
    specialty: str | None = None  # R01 code written to CPS_INFO_PS, e.g. "SM26"


def write_softhsm_conf(directory: Path) -> Path:
    """A SoftHSM configuration whose tokens live under ``directory/tokens``."""
    directory.mkdir(parents=True, exist_ok=True)
    tokens = directory / "tokens"
    tokens.mkdir(exist_ok=True, mode=0o700)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = true\n",
        encoding="utf-8",
    )
    return conf


def _softhsm_util() -> str:
    tool = shutil.which("softhsm2-util")
    if tool is None:
        raise RuntimeError("softhsm2-util introuvable : installez le paquet softhsm2.")
    return tool


def _subject(spec: CardSpec) -> x509.Name:
    return x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.structure_name)]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, spec.structure_id)]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, spec.profession)]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, spec.national_id),
                    x509.NameAttribute(NameOID.SURNAME, spec.family_name.upper()),
                    x509.NameAttribute(NameOID.GIVEN_NAME, spec.given_name.upper()),
                ]
            ),
        ]
    )


def create_card(spec: CardSpec, pki: PkiPaths, softhsm_conf: Path) -> None:
    """Initialise a new token and provision it like a CPS card."""
    env = {**os.environ, "SOFTHSM2_CONF": str(softhsm_conf)}
    subprocess.run(  # noqa: S603 - fixed tool, arguments are ours
        [
            _softhsm_util(),
            "--init-token",
            "--free",
            "--label",
            spec.label,
            "--pin",
            spec.pin,
            "--so-pin",
            spec.so_pin,
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    os.environ["SOFTHSM2_CONF"] = str(softhsm_conf)
    lib = pkcs11.lib(SOFTHSM_MODULE)
    lib.reinitialize()
    token = lib.get_token(token_label=spec.label)
    issuer_cert = load_cert(pki.persons_cert)
    issuer_key = load_key(pki.persons_key)
    mechs = CPS4_MECHANISMS if spec.cps4 else CPS3_MECHANISMS
    base_id = secrets.token_bytes(6)
    with token.open(rw=True, user_pin=spec.pin) as session:
        for usage, key_label, cert_label, suffix in (
            ("auth", AUTH_KEY_LABEL, AUTH_CERT_LABEL, b"\x10\x02"),
            ("sign", SIGN_KEY_LABEL, SIGN_CERT_LABEL, b"\x10\x01"),
        ):
            key_id = base_id + suffix
            pub, _priv = session.generate_keypair(
                KeyType.RSA,
                2048,
                id=key_id,
                label=key_label.replace("PRIV", "PUB"),
                store=True,
                private_template={
                    Attribute.LABEL: key_label,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ALLOWED_MECHANISMS: mechs,
                },
            )
            numbers = RSAPublicNumbers(
                int.from_bytes(pub[Attribute.PUBLIC_EXPONENT], "big"),
                int.from_bytes(pub[Attribute.MODULUS], "big"),
            )
            cert = issue_leaf(
                _subject(spec),
                numbers.public_key(),
                issuer_cert,
                issuer_key,
                client=usage == "auth",
                signing=usage == "sign",
            )
            der = cert.public_bytes(encoding=_DER)
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.LABEL: cert_label,
                    Attribute.ID: key_id,
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.VALUE: der,
                }
            )
        profession_code = PROFESSION_CODES.get(spec.profession)
        if profession_code is not None:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.DATA,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.LABEL: INFO_PS_LABEL,
                    Attribute.APPLICATION: "CPS",
                    Attribute.VALUE: encode_info_ps(profession_code, spec.specialty),
                }
            )
    lib.reinitialize()


def delete_card(label: str, softhsm_conf: Path) -> None:
    env = {**os.environ, "SOFTHSM2_CONF": str(softhsm_conf)}
    subprocess.run(  # noqa: S603
        [_softhsm_util(), "--delete-token", "--token", label],
        check=True,
        env=env,
        capture_output=True,
    )


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


_DER = _der()
