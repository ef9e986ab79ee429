"""Sealing secrets with a task's seed.

Two constructions live here:

* **The manifest seal** (``seal_manifest`` / ``open_manifest_seal``), which a contract can check. The manager pins
  the noised scene together with its ANGV manifest sealed under the task's seed. The manifest is fixed before
  any work is done (it cannot be tailored to a result), the worker who downloads the scene learns nothing from
  it, and once ``revealKey`` publishes the seed, every oracle and anyone else can open it and re-run
  verification. The manager commits ``manifest_digest(blob)`` on chain when posting, and
  ``ProofOfRender.proveBadManifest`` checks the seal with the revealed seed: a blob whose header does not
  decrypt to the manifest magic and the task's seed commitment, or whose integrity tag does not match its body,
  is provably bogus and slashes the manager. Layout, every block a keccak256 keystream under the seed::

      MAGIC (8) | header (96): HEADER_MAGIC (32) ‖ keccak256(seed) (32) ‖ tag (32) | body (n)

  ``key_i = keccak256(keccak256(seed ‖ "inferix-seal-v2|enc") ‖ uint256(i))``, the header is blocks 0..2 and
  the body blocks 3.., and ``tag = keccak256(keccak256(seed ‖ "inferix-seal-v2|mac") ‖ keccak256(body))``
  (encrypt-then-MAC over the body's hash, so the contract needs only the 104-byte head and the body's hash,
  whatever the manifest's size). ``manifest_digest(blob) = keccak256(head ‖ keccak256(body))``. The seed
  commitment in the header names the task's attempt: a key commitment is single-use on chain.

* **The at-rest seal** (``seal`` / ``unseal``, AES-256-GCM): how the manager keeps its seeds in its own
  database, under its own key. No contract ever reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import numpy as np
from Crypto.Cipher import AES
from eth_utils import keccak

MAGIC = b"IFXSEAL1"
NONCE_BYTES = 12
TAG_BYTES = 16

MANIFEST_MAGIC = b"IFXSEAL2"
HEADER_MAGIC = b"inferix manifest v2".ljust(32, b"\0")
HEAD_BYTES = len(MANIFEST_MAGIC) + 96


class SealError(ValueError):
    """The sealed blob is malformed, or the seed does not open it."""


def _check_seed(seed: bytes) -> None:
    if len(seed) != 32:
        raise SealError("seed must be 32 bytes")


# ---------------------------------------------------------------- the manifest seal (checkable on chain)


def _keystream(seed: bytes, first_block: int, length: int) -> np.ndarray:
    key = keccak(seed + b"inferix-seal-v2|enc")
    blocks = (length + 31) // 32
    stream = b"".join(keccak(key + (first_block + i).to_bytes(32, "big")) for i in range(blocks))
    return np.frombuffer(stream[:length], np.uint8)


def _xor(data: bytes, stream: np.ndarray) -> bytes:
    return (np.frombuffer(data, np.uint8) ^ stream).tobytes()


def _tag(seed: bytes, body: bytes) -> bytes:
    return keccak(keccak(seed + b"inferix-seal-v2|mac") + keccak(body))


def seal_manifest(plaintext: bytes, seed: bytes) -> bytes:
    """The manifest sealed under ``seed`` (deterministic: a seed seals one manifest)."""
    _check_seed(seed)
    body = _xor(plaintext, _keystream(seed, 3, len(plaintext)))
    header = HEADER_MAGIC + keccak(seed) + _tag(seed, body)
    return MANIFEST_MAGIC + _xor(header, _keystream(seed, 0, 96)) + body


def manifest_digest(blob: bytes) -> bytes:
    """What the manager commits on chain: keccak256(head ‖ keccak256(body))."""
    return keccak(blob[:HEAD_BYTES] + keccak(blob[HEAD_BYTES:]))


def manifest_defect(blob: bytes, seed: bytes) -> str | None:
    """Why ``blob`` is not a sound seal under ``seed`` (exactly what ``proveBadManifest`` checks), or None."""
    _check_seed(seed)
    if len(blob) < HEAD_BYTES or not blob.startswith(MANIFEST_MAGIC):
        return "not a sealed manifest"
    header = _xor(blob[len(MANIFEST_MAGIC):HEAD_BYTES], _keystream(seed, 0, 96))
    if header[:32] != HEADER_MAGIC:
        return "the header does not open with the seed"
    if header[32:64] != keccak(seed):
        return "the manifest was sealed for another seed"
    if header[64:] != _tag(seed, blob[HEAD_BYTES:]):
        return "the manifest's body does not match its integrity tag"
    return None


def open_manifest_seal(blob: bytes, seed: bytes) -> bytes:
    """The manifest's plaintext; ``SealError`` when the seal is not sound."""
    defect = manifest_defect(blob, seed)
    if defect:
        raise SealError(defect)
    body = blob[HEAD_BYTES:]
    return _xor(body, _keystream(seed, 3, len(body)))


# ---------------------------------------------------------------- the at-rest seal (AES-256-GCM)


def _key(seed: bytes, label: bytes) -> bytes:
    _check_seed(seed)
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
