"""The cryptography-backed AES-GCM is a byte-exact drop-in for tlslite-ng's own."""

from __future__ import annotations

import os

import pytest

# dmp_desktop.net first: it imports tlslite-ng quietly (asyncore warning) and installs the hook.
from dmp_desktop.net import aead
from dmp_desktop.net.aead import CryptographyAESGCM

# isort: split
from tlslite import recordlayer
from tlslite.utils import python_aesgcm
from tlslite.utils.cipherfactory import createAESGCM as tlslite_create_aesgcm

SIZES = [0, 1, 15, 16, 17, 255, 1000, 16384]


@pytest.mark.parametrize("key_size", [16, 32])
@pytest.mark.parametrize("size", SIZES)
def test_seal_and_open_match_tlslite_python_implementation(key_size: int, size: int) -> None:
    key = bytearray(os.urandom(key_size))
    nonce = bytearray(os.urandom(12))
    aad = bytearray(os.urandom(13))
    plaintext = bytearray(os.urandom(size))
    ours = CryptographyAESGCM(key)
    reference = python_aesgcm.new(key)

    sealed = ours.seal(nonce, plaintext, aad)
    assert sealed == reference.seal(nonce, plaintext, aad)
    assert isinstance(sealed, bytearray)
    assert len(sealed) == size + ours.tagLength
    assert reference.open(nonce, sealed, aad) == plaintext
    opened = ours.open(nonce, sealed, aad)
    assert opened == plaintext and isinstance(opened, bytearray)


def test_attributes_match_what_the_record_layer_reads() -> None:
    for key_size, name in ((16, "aes128gcm"), (32, "aes256gcm")):
        key = bytearray(key_size)
        ours, reference = CryptographyAESGCM(key), python_aesgcm.new(key)
        for attribute in ("name", "isAEAD", "isBlockCipher", "nonceLength", "tagLength", "key"):
            assert getattr(ours, attribute) == getattr(reference, attribute), attribute
        assert ours.name == name
    assert CryptographyAESGCM(bytearray(16)).implementation == "cryptography"


def test_forgeries_and_malformed_input_are_refused() -> None:
    ours = CryptographyAESGCM(bytearray(os.urandom(16)))
    nonce, aad = bytearray(12), bytearray(b"header")
    sealed = ours.seal(nonce, bytearray(b"record"), aad)
    tampered = bytearray(sealed)
    tampered[0] ^= 1
    assert ours.open(nonce, tampered, aad) is None
    assert ours.open(nonce, sealed, bytearray(b"other")) is None
    assert ours.open(nonce, sealed[:15], aad) is None
    with pytest.raises(ValueError, match="nonce"):
        ours.seal(bytearray(8), bytearray(b"x"), aad)
    with pytest.raises(ValueError):
        CryptographyAESGCM(bytearray(24))


def test_the_record_layer_hook_is_installed_once() -> None:
    assert aead.installed()
    aead.install()  # idempotent
    assert recordlayer.createAESGCM is aead.create_aesgcm
    cipher = recordlayer.createAESGCM(bytearray(32), ["python"])
    assert isinstance(cipher, CryptographyAESGCM)
    # tlslite-ng's own factory is left alone (the pure-Python fallback stays available).
    assert tlslite_create_aesgcm(bytearray(16), ["python"]).implementation == "python"
