"""Time-lock encryption to a beacon round: the seed escrow (docs/protocol.md, "Seed escrow").

A manager escrows each task's 32-byte seed by encrypting it to a future round ``R`` of the randomness beacon
(:mod:`inferix.beacon`). Nobody, the manager included, can decrypt it before the beacon publishes round ``R``'s
signature, and anybody can afterwards, so a seed cannot be withheld by a manager that disappears.

The scheme is tlock's (Gailly, Melissaris and Romailler, "tlock: practical timelock encryption from threshold
BLS", 2023): Boneh-Franklin identity-based encryption with the Fujisaki-Okamoto transform, where the identity is
the round, its private key is the round's BLS signature ``σ_R = sk · H(R)`` (G1, drand's
``bls-unchained-g1-rfc9380``) and the master public key is the beacon's ``pk = sk · g2``:

* encrypt ``m`` (32 bytes): pick ``σ`` (32 random bytes); ``r = H3(σ, m)``; ``U = r · g2``;
  ``V = σ ⊕ H2(e(H(R), pk)^r)``; ``W = m ⊕ H4(σ)``. The ciphertext is ``U ‖ V ‖ W`` (96 + 32 + 32 bytes, ``U``
  compressed).
* decrypt with ``σ_R``: ``σ = V ⊕ H2(e(σ_R, U))``; ``m = W ⊕ H4(σ)``; accept only if ``U = H3(σ, m) · g2``.

The final check makes a ciphertext decrypt to one message or to nothing: a malformed escrow is detected by
whoever opens it. The hashes are SHA-256 with the domain tags ``IBE-H2``, ``IBE-H3`` and ``IBE-H4``; the byte
format is this project's own (it does not claim interoperability with drand's ``tle`` tool).

py_ecc is pure Python: encrypting costs one pairing (about 1 s on a shared 2-core machine; cached per round, so
a batch of tasks pays it once) and a G2 multiplication; decrypting costs one pairing.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from typing import Any

from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import G2, curve_order, eq, multiply, pairing

from inferix.beacon import decode_g1, decode_g2, encode_g2, g2_from_compressed, g2_to_compressed, hash_round

__all__ = ["CIPHERTEXT_SIZE", "TimelockError", "decrypt", "encrypt"]

MESSAGE_SIZE = 32
CIPHERTEXT_SIZE = 96 + 2 * MESSAGE_SIZE


class TimelockError(ValueError):
    """A ciphertext that is malformed, or does not decrypt under the round signature given."""


def _h(tag: bytes, *parts: bytes) -> bytes:
    digest = hashlib.sha256(tag)
    for part in parts:
        digest.update(part)
    return digest.digest()


def _gt_bytes(element: FQ12) -> bytes:
    return b"".join(int(c).to_bytes(48, "big") for c in element.coeffs)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _h3(sigma: bytes, message: bytes) -> int:
    """A non-zero scalar from ``(σ, m)``."""
    counter = 0
    while True:
        value = int.from_bytes(_h(b"IBE-H3", counter.to_bytes(2, "big"), sigma, message), "big") % curve_order
        if value:
            return value
        counter += 1


@lru_cache(maxsize=64)
def _round_gt(public_key_eip2537: bytes, round: int) -> FQ12:
    """``e(H(round), pk)``: the part of an encryption shared by every message to that round."""
    return pairing(decode_g2(public_key_eip2537), hash_round(round))


def encrypt(public_key_eip2537: bytes, round: int, message: bytes, sigma: bytes | None = None) -> bytes:
    """Encrypt a 32-byte ``message`` to beacon ``round`` under the beacon's public key (EIP-2537 G2, 256 bytes).

    ``sigma`` (32 bytes) is for tests only; by default it is drawn from :mod:`secrets`."""
    if len(message) != MESSAGE_SIZE:
        raise ValueError(f"a time-locked message is {MESSAGE_SIZE} bytes, not {len(message)}")
    sigma = secrets.token_bytes(MESSAGE_SIZE) if sigma is None else sigma
    r = _h3(sigma, message)
    u: Any = multiply(G2, r)
    mask = _h(b"IBE-H2", _gt_bytes(_round_gt(bytes(public_key_eip2537), round) ** r))
    return g2_to_compressed(encode_g2(u)) + _xor(sigma, mask) + _xor(message, _h(b"IBE-H4", sigma))


def decrypt(signature_eip2537: bytes, ciphertext: bytes) -> bytes:
    """The message time-locked in ``ciphertext``, given the round's signature (EIP-2537 G1, 128 bytes, as served
    by the beacon and checked by :func:`inferix.beacon.verify`). Raises :class:`TimelockError` when the ciphertext
    is malformed or was not made for that round (or was made for no message at all)."""
    if len(ciphertext) != CIPHERTEXT_SIZE:
        raise TimelockError(f"a time-lock ciphertext is {CIPHERTEXT_SIZE} bytes, not {len(ciphertext)}")
    try:
        u: Any = decode_g2(g2_from_compressed(ciphertext[:96]))
        signature = decode_g1(signature_eip2537)
    except ValueError as exc:
        raise TimelockError(f"malformed point: {exc}") from exc
    v, w = ciphertext[96:128], ciphertext[128:]
    sigma = _xor(v, _h(b"IBE-H2", _gt_bytes(pairing(u, signature))))
    message = _xor(w, _h(b"IBE-H4", sigma))
    if not eq(multiply(G2, _h3(sigma, message)), u):
        raise TimelockError("the ciphertext does not open under this round's signature")
    return message
