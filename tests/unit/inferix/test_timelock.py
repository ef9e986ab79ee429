"""The seed escrow's time-lock encryption (inferix/timelock.py): only the round's beacon signature opens it, a
tampered ciphertext opens to nothing, and an escrow is useless before its round is signed."""

from __future__ import annotations

import pytest

from inferix.beacon import BeaconKey, DEV_BEACON_KEY
from inferix.timelock import CIPHERTEXT_SIZE, TimelockError, decrypt, encrypt

SEED = bytes(range(32))
ROUND = 7


@pytest.fixture(scope="module")
def locked() -> bytes:
    return encrypt(DEV_BEACON_KEY.public_key_eip2537(), ROUND, SEED)


def test_the_round_signature_opens_the_escrow(locked):
    assert len(locked) == CIPHERTEXT_SIZE == 160
    assert SEED not in locked  # the seed is not in the clear
    assert decrypt(DEV_BEACON_KEY.sign(ROUND), locked) == SEED


def test_another_round_or_another_beacon_does_not_open_it(locked):
    with pytest.raises(TimelockError, match="does not open"):
        decrypt(DEV_BEACON_KEY.sign(ROUND + 1), locked)  # the signature published one round earlier or later
    with pytest.raises(TimelockError, match="does not open"):
        decrypt(BeaconKey(12345).sign(ROUND), locked)  # a beacon the escrow was not made for


@pytest.mark.parametrize("where", [100, 140])  # in V (hides σ) and in W (hides the seed)
def test_a_tampered_escrow_opens_to_nothing(locked, where):
    """The Fujisaki-Okamoto check: a flipped bit is detected, never turned into a wrong seed."""
    tampered = bytearray(locked)
    tampered[where] ^= 1
    with pytest.raises(TimelockError, match="does not open"):
        decrypt(DEV_BEACON_KEY.sign(ROUND), bytes(tampered))


def test_malformed_input_is_refused_with_a_clear_error(locked):
    with pytest.raises(TimelockError, match="160 bytes"):
        decrypt(DEV_BEACON_KEY.sign(ROUND), locked[:-1])
    with pytest.raises(TimelockError, match="malformed point"):
        decrypt(DEV_BEACON_KEY.sign(ROUND), b"\xff" * 96 + locked[96:])
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt(DEV_BEACON_KEY.public_key_eip2537(), ROUND, b"short")


def test_each_escrow_is_randomised():
    """Two escrows of the same seed differ (σ is fresh), so equal seeds cannot be spotted on chain."""
    key = DEV_BEACON_KEY.public_key_eip2537()
    assert encrypt(key, ROUND, SEED) != encrypt(key, ROUND, SEED)
