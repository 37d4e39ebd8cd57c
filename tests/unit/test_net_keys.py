"""DigestInfo encoding, file-held client keys and the tlslite-ng RSA key adapter."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from dmp_desktop.errors import SettingsError
from dmp_desktop.net import FileClientKey
from dmp_desktop.net.keys import encode_digest_info, hash_algorithm, parse_digest_info
from dmp_desktop.net.tls import DelegatingRSAKey

# isort: split
from tlslite.utils.rsakey import RSAKey

HASHES = ["sha1", "sha224", "sha256", "sha384", "sha512"]


@pytest.fixture(scope="module")
def key_and_cert() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.mark.parametrize("name", HASHES)
def test_digest_info_matches_tlslite_and_pkcs1_recovery(
    name: str, key_and_cert: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    digest = hashlib.new(name, b"handshake transcript").digest()
    ours = encode_digest_info(name, digest)
    assert ours == bytes(RSAKey.addPKCS1Prefix(bytearray(digest), name))
    # What an RSA PKCS#1 v1.5 signature over the pre-hashed value actually embeds.
    key, _ = key_and_cert
    signature = key.sign(digest, padding.PKCS1v15(), Prehashed(hash_algorithm(name)))
    assert key.public_key().recover_data_from_signature(signature, padding.PKCS1v15(), None) == ours
    assert parse_digest_info(ours) == (name, digest)


def test_sha256_digest_info_is_the_well_known_der() -> None:
    digest = bytes(range(32))
    prefix = bytes.fromhex("3031300d060960864801650304020105000420")
    assert encode_digest_info("SHA256", digest) == prefix + digest


def test_malformed_digest_infos_are_refused() -> None:
    good = encode_digest_info("sha256", bytes(32))
    for bad in (b"", b"\x00" * 51, good + b"\x00", good[:-1], b"\x30" + good[1:-1]):
        with pytest.raises(ValueError):
            parse_digest_info(bad)
    with pytest.raises(ValueError):
        encode_digest_info("sha256", bytes(20))
    with pytest.raises(ValueError):
        encode_digest_info("md5", bytes(16))


def test_file_key_signs_pkcs1_and_pss(
    key_and_cert: tuple[rsa.RSAPrivateKey, x509.Certificate],
) -> None:
    key, cert = key_and_cert
    holder = FileClientKey(key, [cert])
    digest = hashlib.sha256(b"transcript").digest()
    public = key.public_key()
    signature = holder.sign_pkcs1(encode_digest_info("sha256", digest))
    public.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    pss = holder.sign_pss(digest, "sha256", 32)
    public.verify(
        pss,
        digest,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        Prehashed(hashes.SHA256()),
    )
    assert holder.certificate_chain() == [cert]
    with pytest.raises(ValueError):
        holder.sign_pkcs1(b"arbitrary data, not a DigestInfo")


def test_file_key_checks_its_certificate_and_pss_flag(
    key_and_cert: tuple[rsa.RSAPrivateKey, x509.Certificate],
) -> None:
    key, cert = key_and_cert
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="does not match"):
        FileClientKey(other, [cert])
    with pytest.raises(ValueError):
        FileClientKey(key, [])
    no_pss = FileClientKey(key, [cert], supports_pss=False)
    with pytest.raises(ValueError):
        no_pss.sign_pss(bytes(32), "sha256", 32)


def test_file_key_loads_pem_and_pkcs12(
    key_and_cert: tuple[rsa.RSAPrivateKey, x509.Certificate], tmp_path: Path
) -> None:
    key, cert = key_and_cert
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    (tmp_path / "s.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"s", key, cert, None, serialization.BestAvailableEncryption(b"secret")
        )
    )
    from_pem = FileClientKey.from_pem(tmp_path / "c.pem", tmp_path / "k.pem", b"secret")
    from_p12 = FileClientKey.from_pkcs12(tmp_path / "s.p12", b"secret", supports_pss=False)
    assert from_pem.certificate_chain() == [cert] == from_p12.certificate_chain()
    assert from_pem.supports_pss and not from_p12.supports_pss
    with pytest.raises(SettingsError):
        FileClientKey.from_pkcs12(tmp_path / "s.p12", b"wrong")
    with pytest.raises(SettingsError):
        FileClientKey.from_pem(tmp_path / "c.pem", tmp_path / "missing.pem")


def _adapter(
    key_and_cert: tuple[rsa.RSAPrivateKey, x509.Certificate], supports_pss: bool = True
) -> DelegatingRSAKey:
    key, cert = key_and_cert
    holder = FileClientKey(key, [cert], supports_pss=supports_pss)
    return DelegatingRSAKey(holder, key.public_key().public_numbers())


def test_rsa_adapter_signs_like_tlslite_certificate_verify(
    key_and_cert: tuple[rsa.RSAPrivateKey, x509.Certificate],
) -> None:
    adapter = _adapter(key_and_cert)
    digest = bytearray(hashlib.sha256(b"transcript").digest())
    # TLS 1.2, PKCS#1 v1.5: tlslite-ng hands over the DigestInfo, hashAlg None.
    digest_info = RSAKey.addPKCS1Prefix(digest, "sha256")
    signature = adapter.sign(digest_info, "pkcs1", None, 0)
    assert isinstance(signature, bytearray) and len(signature) == 256
    assert adapter.verify(signature, digest_info, "pkcs1", None, 0)
    # PSS (TLS 1.2 or 1.3): the digest, with hash name and salt length.
    pss = adapter.sign(digest, "pss", "sha256", 32)
    assert adapter.verify(pss, digest, "pss", "sha256", 32)
    # hashAndSign builds the DigestInfo itself.
    hashed = adapter.hashAndSign(bytearray(b"transcript"), "PKCS1", "sha256")
    assert adapter.verify(hashed, digest_info, "pkcs1", None, 0)
    assert adapter.signatures == 3
    assert len(adapter) == 2048 and adapter.hasPrivateKey()


def test_rsa_adapter_refuses_raw_private_operations_and_pss_without_support(
    key_and_cert: tuple[rsa.RSAPrivateKey, x509.Certificate],
) -> None:
    adapter = _adapter(key_and_cert, supports_pss=False)
    with pytest.raises(NotImplementedError):
        adapter.sign(bytearray(32), "pss", "sha256", 32)
    with pytest.raises(NotImplementedError):
        adapter.decrypt(bytearray(256))
    with pytest.raises(NotImplementedError):
        adapter.write()
