"""IPFS storage client against a real js-ipfs daemon: round trips, limits and clear errors."""

from __future__ import annotations

import hashlib

import pytest

from inferix.testing.ipfs import free_port
from inferix.storage import (ContentNotFound, ContentTooLarge, InvalidCID, IPFSStore, StorageUnavailable,
                             validate_cid)

MISSING = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


@pytest.fixture
def store(ipfs_node):
    client = IPFSStore(ipfs_node.api_multiaddr, timeout=3, max_bytes=64 * 1024)
    yield client
    client.close()


def test_bytes_round_trip_and_cid_is_content_address(store):
    data = b"inferix frame bytes " * 10
    cid = store.add_bytes(data)
    assert store.cat(cid) == data
    assert store.add_bytes(data) == cid  # same bytes, same CID
    assert store.add_bytes(data + b"!") != cid


def test_directory_round_trip(store, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        (frames / f"{i:04d}.png").write_bytes(bytes([i]) * (100 + i))
    root = store.add_directory(frames)
    assert store.is_pinned(root)
    assert [e["name"] for e in store.ls(root)] == ["0000.png", "0001.png", "0002.png"]
    out = store.get(root, tmp_path / "download")
    for i in range(3):
        got = (out / f"{i:04d}.png").read_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(bytes([i]) * (100 + i)).digest()


@pytest.mark.parametrize("bad", ["", "   ", "notacid", "Qm123", "/ipfs/../etc/passwd", "x" * 200])
def test_invalid_cids_are_rejected_before_any_request(store, bad):
    with pytest.raises(InvalidCID):
        store.cat(bad)


def test_validate_cid_accepts_v0_v1_and_path_form():
    v0 = "QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1"
    assert validate_cid(v0) == v0
    assert validate_cid(f"/ipfs/{v0}") == v0
    assert validate_cid(MISSING) == MISSING


def test_missing_content_times_out_with_a_clear_error(store):
    with pytest.raises(ContentNotFound, match="timed out"):
        store.cat(MISSING)


def test_size_limits(store, tmp_path):
    with pytest.raises(ContentTooLarge):
        store.add_bytes(b"x" * (64 * 1024 + 1))
    big = IPFSStore(store.api, timeout=3).add_bytes(b"y" * (70 * 1024))
    with pytest.raises(ContentTooLarge):
        store.cat(big)
    with pytest.raises(ContentTooLarge):
        store.get(big, tmp_path)
    assert len(store.cat(store.add_bytes(b"z" * 100), max_bytes=200)) == 100
    with pytest.raises(ContentTooLarge):
        store.cat(store.add_bytes(b"z" * 300), max_bytes=200)


def test_unreachable_node():
    store = IPFSStore(f"/ip4/127.0.0.1/tcp/{free_port()}", timeout=2)
    assert not store.alive()
    with pytest.raises(StorageUnavailable):
        store.add_bytes(b"data")


def test_cids_follow_the_projects_import_settings_not_the_daemons(store, tmp_path, monkeypatch):
    import inferix.storage as storage

    # Kubo's CID for these bytes with CIDv0, 256 KiB chunks, no raw leaves
    assert store.add_bytes(b"hello world\n") == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    (tmp_path / "f.txt").write_bytes(b"hello world\n")
    assert store.add_file(tmp_path / "f.txt") == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    # the settings are sent with every add (not left to the daemon): other settings, other CIDs
    monkeypatch.setitem(storage.IMPORT, "cid_version", 1)
    monkeypatch.setitem(storage.IMPORT, "raw_leaves", True)
    import cid as cidlib

    for made in (store.add_bytes(b"hello world\n"), store.add_file(tmp_path / "f.txt")):
        parsed = cidlib.make_cid(made)
        assert parsed.version == 1 and parsed.codec == "raw"  # a raw leaf, CIDv1
