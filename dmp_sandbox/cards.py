"""SoftHSM2 test cards laid out like a real CPS3 (or CPS4) card.

The key pairs are generated on the token (the private keys never exist
outside it, as on a real card); certificates are issued by the test persons
CA and written next to their key with the same CKA_ID. A CPS3-like card
restricts its keys to PKCS#1 v1.5 mechanisms (CKA_ALLOWED_MECHANISMS), a
CPS4-like one also allows PSS.

Made like the real thing, so that the client reads a training card with the
code it uses for a real one (``dmp_desktop.smartcard``):

- certificate subject as IGC-Santé writes it: ``C=FR, title=<profession>,
  CN=<idNat>+SN=<NOM>+GN=<PRÉNOM>`` (no structure in it);
- the IGC-Santé private extensions of the official TD2.1 card certificate:
  ``1.2.250.1.71.1.2.5`` product category (OCTET STRING, ``0x80`` = test
  CPx card), ``1.2.250.1.71.1.2.7`` profession (G15, INTEGER) and
  ``1.2.250.1.71.4.2.5`` specialty (R01, SEQUENCE OF UTF8String) — the last
  two for a professional only;
- the data objects the Cryptolib CPS shows: ``CPS_INFO_PS`` (public; BER-TLV
  ending with the specialty code, the only part a reader may rely on — the
  real layout is not public) and one ``CPS_ACTIVITY_nn_PS`` per practice
  situation (private, behind the PIN: ``0xEE`` { ``0x84`` structure name,
  ``0x85`` structure national id, ``0x86`` activity sector }).

The encoders here are the card factory's own (asn1crypto), not the client's.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import core
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
from dmp_sandbox.pki import PkiPaths, issue_leaf, load_cert, load_key

CPS3_MECHANISMS = [Mechanism.RSA_PKCS, Mechanism.SHA1_RSA_PKCS, Mechanism.SHA256_RSA_PKCS]
CPS4_MECHANISMS = [
    *CPS3_MECHANISMS,
    Mechanism.RSA_PKCS_PSS,
    Mechanism.SHA256_RSA_PKCS_PSS,
]

# IGC-Santé private certificate extensions (official TD2.1 card certificate).
OID_PRODUCT_CATEGORY = "1.2.250.1.71.1.2.5"  # TRE_G01
OID_PROFESSION = "1.2.250.1.71.1.2.7"  # TRE_G15
OID_SPECIALTY = "1.2.250.1.71.4.2.5"  # TRE_R01
PRODUCT_TEST_CARD = 0x80  # TRE_G01 "80": CPx de TEST

INFO_PS_LABEL = "CPS_INFO_PS"
ACTIVITY_LABEL = "CPS_ACTIVITY_{:02d}_PS"

# Profession titles as written on the card (certificate "title" attribute).
STAFF_TITLE = "Secrétaire médicale"


@dataclass(frozen=True)
class Situation:
    """A practice situation of the card: one ``CPS_ACTIVITY_nn_PS`` object."""

    structure_id: str
    structure_name: str
    sector: str = "SA07"  # J02 activity sector


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
    specialty: str | None = None  # R01 code, e.g. "SM26"
    sector: str = "SA07"  # activity sector of the first situation
    # More practice situations after the first (structure_id / structure_name / sector).
    more_situations: tuple[Situation, ...] = field(default_factory=tuple)

    @property
    def situations(self) -> tuple[Situation, ...]:
        return (
            Situation(self.structure_id, self.structure_name, self.sector),
            *self.more_situations,
        )


class _Specialties(core.SequenceOf):
    _child_spec = core.UTF8String


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        head = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + content


def encode_activity(situation: Situation) -> bytes:
    """``CPS_ACTIVITY_nn_PS``: 0xEE { 0x84 name, 0x85 structure id, 0x86 sector }."""
    return _tlv(
        0xEE,
        _tlv(0x84, situation.structure_name.encode("utf-8"))
        + _tlv(0x85, situation.structure_id.encode("ascii"))
        + _tlv(0x86, situation.sector.encode("ascii")),
    )


def encode_info_ps(
    national_id: str, profession_code: str | None, specialty: str | None = None
) -> bytes:
    """``CPS_INFO_PS`` of a training card: BER-TLV whose last value is the specialty.

    Training layout (the real one is not public): 0xEF { 0x81 national id,
    0x82 profession code (G15), 0x83 specialty (R01, last) }.
    """
    content = _tlv(0x81, national_id.encode("ascii"))
    if profession_code is not None:
        content += _tlv(0x82, profession_code.encode("ascii"))
    if specialty:
        content += _tlv(0x83, specialty.encode("ascii"))
    return _tlv(0xEF, content)


def certificate_extensions(
    profession_code: str | None, specialty: str | None = None
) -> list[x509.UnrecognizedExtension]:
    """The IGC-Santé private extensions of a (test) card certificate."""
    extensions = [
        x509.UnrecognizedExtension(
            x509.ObjectIdentifier(OID_PRODUCT_CATEGORY),
            core.OctetString(bytes([PRODUCT_TEST_CARD])).dump(),
        )
    ]
    if profession_code is not None:
        extensions.append(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier(OID_PROFESSION), core.Integer(int(profession_code)).dump()
            )
        )
        if specialty:
            extensions.append(
                x509.UnrecognizedExtension(
                    x509.ObjectIdentifier(OID_SPECIALTY), _Specialties([specialty]).dump()
                )
            )
    return extensions


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
    """``C=FR, title=…, CN=idNat+SN=…+GN=…`` as on the official TD2.1 card certificate."""
    return x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, spec.profession)]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.GIVEN_NAME, spec.given_name.upper()),
                    x509.NameAttribute(NameOID.SURNAME, spec.family_name.upper()),
                    x509.NameAttribute(NameOID.COMMON_NAME, spec.national_id),
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
                extensions=certificate_extensions(
                    PROFESSION_CODES.get(spec.profession), spec.specialty
                ),
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
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.DATA,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: INFO_PS_LABEL,
                Attribute.APPLICATION: "CPS",
                Attribute.VALUE: encode_info_ps(
                    spec.national_id, PROFESSION_CODES.get(spec.profession), spec.specialty
                ),
            }
        )
        for index, situation in enumerate(spec.situations, start=1):
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.DATA,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,  # behind the PIN, as on a real card
                    Attribute.LABEL: ACTIVITY_LABEL.format(index),
                    Attribute.APPLICATION: "CPS",
                    Attribute.VALUE: encode_activity(situation),
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
