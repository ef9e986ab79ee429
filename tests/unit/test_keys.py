"""inferix.keys without a chain: the local keystore (file mode, rotation, retired keys, corrupt files) and the public-key
validation every reader applies before wrapping to a key read from the chain."""

from __future__ import annotations

import json
import os
import stat

import pytest

from inferix import crypto
from inferix import keys as K

P = 2**255 - 19
INFO = b"job=7|task=3|attempt=1|package"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------- the keystore file


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_new_keystore_is_private(tmp_path):
    path = tmp_path / "node" / "encryption-keys.json"
    keystore = K.load_or_create(path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700  # created for it
    pair = keystore.current()
    assert crypto.public_key(pair.private) == pair.public == keystore.public_key
    assert pair.retired is None and keystore.retired == ()
    assert pair.private.hex() not in repr(pair) and pair.private.hex() not in repr(keystore)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary file left


def test_load_or_create_reads_an_existing_keystore(tmp_path):
    path = tmp_path / "keys.json"
    first = K.load_or_create(path)
    again = K.load_or_create(path)
    assert again.current() == first.current()
    assert K.load(path).public_key == first.public_key


def test_load_of_a_missing_keystore_is_an_error(tmp_path):
    with pytest.raises(K.KeystoreError, match="no keystore"):
        K.load(tmp_path / "absent.json")


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_keystore_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "keys.json"
    K.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(K.KeystoreError, match="chmod 600"):
        K.load_or_create(path)
    assert mode(path) == 0o644  # told, not fixed behind the operator's back


# ---------------------------------------------------------------- rotation


def test_rotation_keeps_retired_keys_and_private_for_finds_them(tmp_path):
    path = tmp_path / "keys.json"
    k0 = K.load_or_create(path).current()
    k1 = K.rotate(path).current()
    keystore = K.rotate(path)
    k2 = keystore.current()
    assert len({k0.public, k1.public, k2.public}) == 3
    assert [pair.public for pair in keystore.retired] == [k1.public, k0.public]  # newest first
    assert all(pair.retired is not None for pair in keystore.retired)
    reloaded = K.load(path)
    assert reloaded.current() == k2 and reloaded.retired == keystore.retired
    for pair in (k0, k1, k2):
        assert reloaded.private_for(pair.public) == pair.private  # by public key
        assert reloaded.private_for(crypto.fingerprint(pair.public)) == pair.private  # by envelope fingerprint
    with pytest.raises(K.NoPrivateKey, match="searched 3 keys"):
        reloaded.private_for(crypto.generate_keypair()[1])
    with pytest.raises(ValueError):
        reloaded.private_for(b"\x01" * 20)
    if os.name == "posix":
        assert mode(path) == 0o600


def test_an_envelope_to_the_old_key_still_opens_after_rotation(tmp_path):
    path = tmp_path / "keys.json"
    old = K.load_or_create(path)
    creator_private, creator_public = crypto.generate_keypair()
    content = crypto.new_content_key()
    # wrapped to the worker's key before it rotated (a task in flight)
    envelope = crypto.make_envelope(content, {"creator": creator_public, "worker": old.public_key}, INFO)
    blob = crypto.seal(content, b"task package", b"ctx")

    rotated = K.rotate(path)
    assert rotated.public_key != old.public_key
    fp = crypto.fingerprint(old.public_key)
    assert fp in crypto.envelope_fingerprints(envelope)
    key = crypto.open_envelope(envelope, rotated.private_for(fp), INFO)
    assert crypto.unseal(key, blob, b"ctx") == b"task package"
    assert rotated.open_envelope(envelope, INFO) == content
    # an envelope to the new key opens too; one naming none of the keys does not
    assert rotated.open_envelope(crypto.make_envelope(content, [rotated.public_key], INFO), INFO) == content
    with pytest.raises(crypto.DecryptionError, match="not a recipient"):
        rotated.open_envelope(crypto.make_envelope(content, [creator_public], INFO), INFO)
    with pytest.raises(crypto.DecryptionError):
        rotated.open_envelope(envelope, b"another purpose")


# ---------------------------------------------------------------- corrupt keystores


def _corruptions(good: dict) -> dict[str, bytes]:
    flipped = dict(good, current=dict(good["current"]))
    private = bytearray.fromhex(flipped["current"]["private"])
    private[5] ^= 0x10
    flipped["current"]["private"] = private.hex()
    return {
        "empty": b"",
        "not json": b"{\"format\": 1, \"kind\": ",
        "binary": os.urandom(64),
        "another kind": json.dumps(dict(good, kind="something-else")).encode(),
        "a later format": json.dumps(dict(good, format=2)).encode(),
        "no current key": json.dumps({k: v for k, v in good.items() if k != "current"}).encode(),
        "a flipped private key bit": json.dumps(flipped).encode(),
        "a short key": json.dumps(dict(good, current=dict(good["current"], public="00" * 31))).encode(),
        "a duplicate": json.dumps(dict(good, retired=[dict(good["current"], retired=1)])).encode(),
        "retired not a list": json.dumps(dict(good, retired={})).encode(),
    }


def test_a_corrupt_keystore_is_refused_and_not_overwritten(tmp_path):
    path = tmp_path / "keys.json"
    K.load_or_create(path)
    good = json.loads(path.read_text())
    for name, raw in _corruptions(good).items():
        path.write_bytes(raw)
        os.chmod(path, 0o600)
        for action in (K.load_or_create, K.load, K.rotate):
            with pytest.raises(K.KeystoreError) as error:
                action(path)
            assert str(path) in str(error.value), name
            assert path.read_bytes() == raw, f"{name}: {action.__name__} changed the file"
    assert "damaged" in _message(path, _corruptions(good)["a flipped private key bit"])
    assert "not valid JSON" in _message(path, b"{")
    assert "not an Inferix encryption keystore" in _message(path, json.dumps({"hello": 1}).encode())


def _message(path, raw: bytes) -> str:
    path.write_bytes(raw)
    with pytest.raises(K.KeystoreError) as error:
        K.load_or_create(path)
    return str(error.value)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_symlinked_keystore_is_refused(tmp_path):
    real = tmp_path / "real.json"
    K.load_or_create(real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with pytest.raises(K.KeystoreError):
        K.load(link)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    with pytest.raises(K.KeystoreError):
        K.load_or_create(dangling)  # not followed to create a file elsewhere
    assert not (tmp_path / "nowhere.json").exists()


# ---------------------------------------------------------------- public-key validation (what recipient_key applies)


def test_a_real_public_key_passes():
    public = crypto.generate_keypair()[1]
    assert K.validate_public_key(public) == public
    assert K.validate_public_key(bytearray(public)) == public


@pytest.mark.parametrize("point", sorted(K.LOW_ORDER_POINTS), ids=lambda p: p.hex()[:8])
@pytest.mark.parametrize("top_bit", [False, True])
def test_zero_and_small_order_points_are_refused(point, top_bit):
    key = point[:31] + bytes([point[31] | (0x80 if top_bit else 0)])
    with pytest.raises(K.InvalidPublicKey, match="zero key|small-order"):
        K.validate_public_key(key)
    # and they are exactly the points X25519 itself refuses to agree with
    with pytest.raises(ValueError):
        crypto.wrap_key(crypto.new_content_key(), key, INFO)


@pytest.mark.parametrize("key, reason", [
    (b"\x09" * 31, "32 bytes"), (b"\x09" * 33, "32 bytes"), ("09" * 32, "must be bytes"),
    ((P + 2).to_bytes(32, "little"), "canonical"), ((2**255 + 9).to_bytes(32, "little"), "canonical"),
])
def test_malformed_keys_are_refused(key, reason):
    with pytest.raises(K.InvalidPublicKey, match=reason):
        K.validate_public_key(key)


def test_the_list_matches_the_contract():
    """inferix.keys.LOW_ORDER_POINTS and KeyRegistry.vy's LOW_ORDER are the same encodings."""
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "contracts" / "KeyRegistry.vy").read_text()
    block = source.split("LOW_ORDER: constant(bytes32[7]) = [", 1)[1].split("]", 1)[0]
    listed = {bytes.fromhex(line.strip()[2:66]) for line in block.splitlines() if line.strip().startswith("0x")}
    assert listed == K.LOW_ORDER_POINTS


def test_no_encryption_key_is_a_key_error_with_a_plain_message():
    error = K.NoEncryptionKey("0xabc")
    assert isinstance(error, KeyError) and error.account == "0xabc"
    assert str(error) == "0xabc has no encryption key registered (never set, or revoked)"
