"""Sealing a task's verification manifest with its secret seed.

The manager pins the noised scene together with its ANGV manifest sealed (AES-256-GCM) under a key derived
from the task's seed. The manifest is thus fixed before any work is done (it cannot be tailored to a
result), the worker who downloads the scene learns nothing from it, and once ``revealKey`` publishes the
seed, every oracle and anyone else can open it and re-run verification. The seed commitment on chain,
``keccak256(seed)``, binds both.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from Crypto.Cipher import AES

MAGIC = b"IFXSEAL1"
NONCE_BYTES = 12
TAG_BYTES = 16


class SealError(ValueError):
    """The sealed blob is malformed, or the seed does not open it."""


def _key(seed: bytes, label: bytes) -> bytes:
    if len(seed) != 32:
        raise SealError("seed must be 32 bytes")
    return hmac.new(seed, b"inferix-seal-v1|" + label, hashlib.sha256).digest()


def seal(plaintext: bytes, seed: bytes, label: bytes = b"manifest") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    cipher = AES.new(_key(seed, label), AES.MODE_GCM, nonce=nonce)
    cipher.update(MAGIC + label)
    body, tag = cipher.encrypt_and_digest(plaintext)
    return MAGIC + nonce + tag + body


def unseal(blob: bytes, seed: bytes, label: bytes = b"manifest") -> bytes:
    if len(blob) < len(MAGIC) + NONCE_BYTES + TAG_BYTES or not blob.startswith(MAGIC):
        raise SealError("not a sealed blob")
    offset = len(MAGIC)
    nonce = blob[offset:offset + NONCE_BYTES]
    tag = blob[offset + NONCE_BYTES:offset + NONCE_BYTES + TAG_BYTES]
    body = blob[offset + NONCE_BYTES + TAG_BYTES:]
    cipher = AES.new(_key(seed, label), AES.MODE_GCM, nonce=nonce)
    cipher.update(MAGIC + label)
    try:
        return cipher.decrypt_and_verify(body, tag)
    except ValueError:
        raise SealError("the seed does not open this blob (wrong seed or tampered content)") from None
