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


# ---------------------------------------------------------------- the manifest seal (checkable on chain)

from eth_utils import keccak  # noqa: E402

from inferix.sealing import (HEAD_BYTES, MANIFEST_MAGIC, manifest_defect, manifest_digest,  # noqa: E402
                             open_manifest_seal, seal_manifest)


def test_manifest_seal_round_trip_hides_the_content_and_is_bound_to_the_seed():
    seed = os.urandom(32)
    secret = b'{"frames": {"1": [10, 20, 5, 5]}}' * 40
    blob = seal_manifest(secret, seed)
    assert blob.startswith(MANIFEST_MAGIC) and len(blob) == HEAD_BYTES + len(secret)
    assert secret[:16] not in blob and keccak(seed) not in blob  # the header too is encrypted
    assert manifest_defect(blob, seed) is None
    assert open_manifest_seal(blob, seed) == secret
    assert seal_manifest(secret, seed) == blob  # deterministic: one seed seals one manifest
    # what the manager commits: keccak256(head ‖ keccak256(body)), the contract's formula
    assert manifest_digest(blob) == keccak(blob[:HEAD_BYTES] + keccak(blob[HEAD_BYTES:]))
    assert manifest_digest(blob) != keccak(blob)


def test_every_defect_of_a_manifest_seal_is_named():
    seed = os.urandom(32)
    blob = seal_manifest(b"manifest" * 10, seed)
    cases = {
        "not a sealed manifest": [b"", b"garbage", seal(b"manifest", seed), blob[:HEAD_BYTES - 1]],
        "the header does not open with the seed": [seal_manifest(b"manifest" * 10, os.urandom(32)),
                                                   blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]],
        "the manifest's body does not match its integrity tag": [blob[:-1] + bytes([blob[-1] ^ 1]), blob + b"x",
                                                                 blob[:-1]],
    }
    for defect, blobs in cases.items():
        for bad in blobs:
            assert manifest_defect(bad, seed) == defect
            with pytest.raises(SealError, match=defect):
                open_manifest_seal(bad, seed)
    assert manifest_defect(blob, os.urandom(32)) == "the header does not open with the seed"
    with pytest.raises(SealError, match="32 bytes"):
        seal_manifest(b"x", b"short")
