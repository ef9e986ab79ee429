"""Private objects on a real js-ipfs daemon (inferix/private.py): what IPFS holds is ciphertext, the recipients open
it, anyone else cannot, and a changed byte of either stored object is refused with nothing written."""

from __future__ import annotations

import os

import pytest

from inferix import crypto, private
from inferix.keys import load_or_create

pytestmark = pytest.mark.integration

PURPOSE = b"scene|job=12"


@pytest.fixture
def world(store, tmp_path):
    scene = tmp_path / "studio.blend"
    scene.write_bytes(b"BLENDER-v300" + b"the studio's unreleased shot " * 20_000 + os.urandom(3_000))
    creator, manager, outsider = (load_or_create(tmp_path / f"{who}.keys") for who in ("creator", "manager", "outsider"))
    obj = private.put(store, scene, {"creator": creator.public_key, "manager": manager.public_key}, PURPOSE)
    return scene, obj, creator, manager, outsider


def test_ipfs_holds_only_ciphertext_and_each_recipient_opens_it(world, store, tmp_path):
    scene, obj, creator, manager, _ = world
    stored = store.cat(obj.cid)
    plain = scene.read_bytes()
    assert b"unreleased shot" not in stored and b"BLENDER" not in stored  # an observer fetching the CID
    assert b"unreleased" not in store.cat(obj.envelope)
    assert len(stored) == crypto.encrypted_size(len(plain), crypto.DEFAULT_CHUNK_SIZE)
    for who, keys in (("creator", creator), ("manager", manager)):
        out = private.get(store, obj, keys, PURPOSE, tmp_path / f"{who}.blend")
        assert out.read_bytes() == plain


def test_anyone_else_another_purpose_or_a_changed_byte_is_refused_and_nothing_is_written(world, store, tmp_path):
    _, obj, creator, _, outsider = world
    out = tmp_path / "out.blend"
    with pytest.raises(crypto.DecryptionError, match="not a recipient"):
        private.get(store, obj, outsider, PURPOSE, out)
    with pytest.raises(crypto.DecryptionError):
        private.get(store, obj, creator, b"scene|job=13", out)  # the same object presented as another job's
    ciphertext = bytearray(store.cat(obj.cid))
    for where in (10, 200, len(ciphertext) // 2, len(ciphertext) - 1):  # header, first chunk, middle, last tag
        flipped = bytearray(ciphertext)
        flipped[where] ^= 0x01
        forged = private.PrivateObject(cid=store.add_bytes(bytes(flipped)), envelope=obj.envelope)
        with pytest.raises(crypto.DecryptionError):
            private.get(store, forged, creator, PURPOSE, out)
    truncated = private.PrivateObject(cid=store.add_bytes(bytes(ciphertext[:len(ciphertext) - 100])), envelope=obj.envelope)
    with pytest.raises(crypto.DecryptionError):
        private.get(store, truncated, creator, PURPOSE, out)
    envelope = bytearray(store.cat(obj.envelope))
    envelope[11 + 16 + 13] ^= 0x01  # inside the creator's wrapped key (magic 8, version 1, count 2, fingerprint 16)
    with pytest.raises(crypto.DecryptionError):
        private.get(store, private.PrivateObject(obj.cid, store.add_bytes(bytes(envelope))), creator, PURPOSE, out)
    assert not out.exists()
