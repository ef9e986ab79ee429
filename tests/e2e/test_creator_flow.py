"""The whole creator flow through the API, against anvil, js-ipfs, a worker and two oracles:
sign in (SIWE), upload, quote, create the job by signing the returned transactions as a wallet would, and
the manager loop prepares, posts, matches, reveals and settles."""

from __future__ import annotations

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.db import connect
from backend.manager import Manager, ManagerConfig
from backend.settings import BackendSettings
from inferix.testing.devnet import dev_account
from inferix.client import _patch_source
from inferix.delivery import deliver_png, open_patches
from inferix.protocol import IFX, PACKAGE_PATCHES, TaskState, get_task
from inferix.storage import IPFSStore
from tests.integration.backend.conftest import manager_running
from tests.conftest import fund, wait
from tests.e2e.test_nodes import start_network

from tests.integration.backend.test_auth_uploads import DOMAIN, URI, sign_in

CREATOR, MANAGER = 8, 9


def send_as_wallet(devnet, account, tx: dict) -> dict:
    """Sign and send a transaction exactly as returned by the API (to, data, value, chain id)."""
    w3 = devnet.chain().w3
    call = {"from": account.address, "to": tx["to"], "data": tx["data"], "value": int(tx["value"])}
    signed = account.sign_transaction({**call, "chainId": tx["chain_id"], "gas": int(w3.eth.estimate_gas(call) * 1.3),
                                       "nonce": w3.eth.get_transaction_count(account.address),
                                       "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9})
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1
    return receipt


@pytest.fixture(scope="module")
def blend(tmp_path_factory):
    from inferix.render import run_jobs

    path = tmp_path_factory.mktemp("flow") / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(path), "width": 192, "height": 108}])
    return path


def test_creator_flow_end_to_end(devnet, ipfs_node, node_factory, blend, tmp_path):
    oracles, worker = start_network(devnet, node_factory)
    settings = BackendSettings(database=tmp_path / "backend.sqlite", siwe_domain=DOMAIN, siwe_uri=URI,
                               work_dir=tmp_path / "work")
    store = IPFSStore(ipfs_node.api_multiaddr, timeout=10)
    manager_chain = devnet.chain(MANAGER)
    fund(devnet, manager_chain.address, 5_000 * IFX)
    manager = Manager(manager_chain, store, connect(settings.database),
                      ManagerConfig(stake=1_000 * IFX, seed_key=b"k" * 32, work_dir=settings.work_dir,
                                    render_window=900, poll_interval=0.5, batches=None))
    app = create_app(settings, chain=devnet.chain(), store=store, manager_address=manager_chain.address)
    manager.db = connect(settings.database)  # the app migrated the schema
    manager.ensure_ready()
    creator = dev_account(CREATOR)
    fund(devnet, creator.address, 1_000 * IFX)
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {sign_in(client, creator)}"}
        scene = client.post("/v1/scenes", files={"file": ("studio.blend", blend.read_bytes())}, headers=auth)
        assert scene.status_code == 201, scene.text
        cid = scene.json()["cid"]
        quote = client.post("/v1/quotes", json={"scene_cid": cid, "frame_start": 1, "frame_end": 2,
                                                "samples": 16, "frames_per_task": 1}, headers=auth)
        assert quote.status_code == 201, quote.text
        q = quote.json()
        assert len(q["tasks"]) == 2 and int(q["total_ibm"]) > 0 and q["workers"] >= 1
        assert int(q["budget_ifx"]) >= int(q["total_ifx"]) > 0

        # another creator cannot use this quote
        other = {"Authorization": f"Bearer {sign_in(client, Account.create())}"}
        assert client.post("/v1/jobs/prepare", json={"quote_id": q["id"]}, headers=other).status_code == 404

        prepared = client.post("/v1/jobs/prepare", json={"quote_id": q["id"]}, headers=auth)
        assert prepared.status_code == 200, prepared.text
        txs = prepared.json()["transactions"]
        assert [t["description"].split()[0] for t in txs] == ["approve", "create"]
        balance0 = devnet.chain().call("IFXToken", "balanceOf", creator.address)
        for tx in txs:
            send_as_wallet(devnet, creator, tx)
        budget = int(prepared.json()["budget_ifx"])
        assert balance0 - devnet.chain().call("IFXToken", "balanceOf", creator.address) == budget

        with manager_running(manager) as errors:
            chain = devnet.chain()
            job_id = chain.call("JobEscrow", "jobCount")
            nodes = [*oracles, worker]

            def tasks():
                rows = manager.db.execute("SELECT task_id FROM seeds WHERE job_id = ?", (job_id,)).fetchall()
                return [r[0] for r in rows if r[0] is not None]

            wait(lambda: len(tasks()) == 2, 240, "tasks posted by the manager", nodes)
            wait(lambda: all(get_task(chain, t).state == TaskState.VERIFIED for t in tasks()), 400,
                 "both tasks rendered, revealed and verified", nodes)
            assert not errors, errors
            assert all(get_task(chain, t).passed for t in tasks())
            devnet.anvil.time_travel(3601)
            wait(lambda: all(get_task(chain, t).state == TaskState.SETTLED for t in tasks()), 60,
                 "settlement by the manager", nodes)
            fees = sum(get_task(chain, t).fee for t in tasks())
            assert chain.call("JobEscrow", "jobs", job_id)[2] == budget - fees
        assert not errors, errors

    # clean delivery as the SDK does it on the single path: each task's package and revealed seed from the chain,
    # its patches opened with that seed, composited into the verified frames without a complaint
    for t in tasks():
        package, seed = _patch_source(chain, {"task_id": t})
        entries = {e["name"]: e["cid"] for e in store.ls(package)}
        width, height, patches = open_patches(store.cat(entries[PACKAGE_PATCHES]), seed)
        head = chain.block_number()
        [posted] = chain.events("JobEscrow", ["TaskPosted"], devnet.deployment.block_number, head, {"taskId": t})
        [result] = chain.events("JobEscrow", ["ResultSubmitted"], devnet.deployment.block_number, head, {"taskId": t})
        [cid] = [e["cid"] for e in store.ls(result.args["resultCid"])]  # one frame per task
        frame = posted.args["frameStart"]
        delivered = deliver_png(store.cat(cid), patches[frame])
        assert len(patches[frame]) == 12 and (width, height) == (192, 108)
        assert delivered != store.cat(cid)  # the imprints are gone
