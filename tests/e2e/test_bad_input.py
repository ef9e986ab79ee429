"""Bad input at the nodes' edges gets a clear, typed answer: reverted transactions, unreachable services,
invalid CIDs, corrupt or missing frames, a wrong seed."""

from __future__ import annotations

import io
import os

import pytest
from eth_utils import keccak
from PIL import Image

from backend.taskprep import prepare_task
from inferix.chain import Chain, ChainUnavailable, TransactionReverted
from inferix.deployments import Deployment
from inferix.testing.devnet import dev_account
from inferix.testing.ipfs import free_port
from inferix.protocol import frame_name
from inferix.storage import IPFSStore
from oracle.angv.task import VerificationUnavailable, open_manifest, verify_result

from .test_nodes import ORDER


def test_reverted_transaction_is_refused_before_sending(devnet):
    chain = devnet.chain(7)
    nonce = chain.w3.eth.get_transaction_count(chain.address)
    with pytest.raises(TransactionReverted) as info:
        chain.transact("JobEscrow", "accept", 999)
    assert info.value.reason == "escrow: task not assigned"
    assert chain.w3.eth.get_transaction_count(chain.address) == nonce  # nothing was sent


def test_unreachable_chain(devnet):
    with pytest.raises(ChainUnavailable):
        Chain(f"http://127.0.0.1:{free_port()}", devnet.deployment, dev_account(7), timeout=2)


def test_wrong_chain_id_is_refused(devnet):
    other = Deployment.from_dict({**devnet.deployment.to_dict(), "chain_id": 1})
    with pytest.raises(Exception, match="chain 31337"):
        Chain(devnet.anvil.url, other)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, ipfs_node):
    from inferix.render import run_jobs

    root = tmp_path_factory.mktemp("badinput")
    scene = root / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(scene), "width": ORDER["width"],
               "height": ORDER["height"]}])
    store = IPFSStore(ipfs_node.api_multiaddr, timeout=5)
    task = prepare_task(store, scene, root / "prep", 1, (1, 1), ORDER)
    return task, open_manifest(store, task.package_cid, task.seed, task.key_commit), root


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def _result(store: IPFSStore, root, name: str, data: bytes | None) -> str:
    folder = root / name
    folder.mkdir()
    if data is not None:
        (folder / frame_name(1)).write_bytes(data)
    else:
        (folder / "readme.txt").write_text("no frames here")
    return store.add_directory(folder)


@pytest.mark.parametrize("case", ["truncated", "garbage", "wrong_size", "missing", "flat"])
def test_frames_at_fault_get_a_failing_verdict(prepared, store, case):
    task, manifest, root = prepared
    good = _png(ORDER["width"], ORDER["height"])
    data = {"truncated": good[: len(good) // 2], "garbage": os.urandom(2000),
            "wrong_size": _png(64, 64), "missing": None, "flat": good}[case]
    cid = _result(store, root, case, data)
    verdict = verify_result(store, cid, manifest)
    assert not verdict.passed
    assert verdict.score < 5000
    expected = {"truncated": "frame 1", "garbage": "not a PNG", "wrong_size": "64x64", "missing": "missing",
                "flat": "regions pass"}[case]
    assert expected in verdict.reason


def test_invalid_result_cid_is_the_workers_fault(prepared, store):
    _, manifest, _ = prepared
    verdict = verify_result(store, "not-a-cid", manifest)
    assert not verdict.passed and "not a CID" in verdict.reason


def test_unreachable_content_is_not_the_workers_fault(prepared):
    task, manifest, _ = prepared
    offline = IPFSStore(f"/ip4/127.0.0.1/tcp/{free_port()}", timeout=2)
    with pytest.raises(VerificationUnavailable):
        verify_result(offline, task.package_cid, manifest)


def test_wrong_seed_cannot_open_the_manifest(prepared, store):
    task, manifest, root = prepared
    other = os.urandom(32)
    with pytest.raises(VerificationUnavailable, match="key commitment"):
        open_manifest(store, task.package_cid, other, task.key_commit)
    with pytest.raises(VerificationUnavailable, match="does not open"):
        open_manifest(store, task.package_cid, other, keccak(other))
