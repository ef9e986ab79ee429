import os

import pytest

from inferix.sealing import SealError, seal, unseal


def test_round_trip_and_confidentiality():
    seed = os.urandom(32)
    secret = b'{"regions": [[10, 20, 5, 5]]}' * 4
    blob = seal(secret, seed)
    assert secret not in blob
    assert unseal(blob, seed) == secret
    assert seal(secret, seed) != blob  # fresh nonce each time


def test_wrong_seed_tamper_and_garbage_are_refused():
    seed = os.urandom(32)
    blob = seal(b"manifest", seed)
    with pytest.raises(SealError, match="does not open"):
        unseal(blob, os.urandom(32))
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealError, match="does not open"):
        unseal(tampered, seed)
    with pytest.raises(SealError, match="not a sealed blob"):
        unseal(b"garbage", seed)
    with pytest.raises(SealError, match="does not open"):
        unseal(blob, seed, label=b"other")
    with pytest.raises(SealError, match="32 bytes"):
        seal(b"x", b"short")
