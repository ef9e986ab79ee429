"""A creator's job through the batch lane, every node a separate process started with its own command (docs/protocol.md,
"Batches in the services"): ``inferix manager run`` (API + coordination + indexer, batching by default), the oracles
every committee could draw, and ``inferix worker run --manager URL``. The creator signs in, uploads, quotes and
creates the job through the API (``InferixClient``); the manager noises the tasks into one batch and offers it, the
worker signs its group and renders, the manager posts and reveals, the committee verifies and votes, the batch
settles: every task paid once, the collateral released, the fees out of the job's budget and nothing left held;
the creator's SDK downloads the frames."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from inferix import lane
from inferix.client import InferixClient
from inferix.protocol import IFX, ROLE_ORACLE, USD, get_node
from inferix.storage import IPFSStore
from inferix.testing.devnet import dev_account
from inferix.testing.ipfs import free_port
from tests.conftest import dev_index, fund, wait
from tests.e2e.test_nodes import ORACLES, drawable_oracles

pytestmark = pytest.mark.e2e

MANAGER, WORKER, CREATOR = 17, 18, 7
PRICE = "0.25"  # below every other worker's on this chain: the job's maximum leaves only this worker qualified


@pytest.fixture(scope="module")
def flyby(tmp_path_factory):
    from inferix.render import run_jobs

    path = tmp_path_factory.mktemp("batches") / "flyby.blend"
    run_jobs([{"op": "make_scene", "name": "flyby", "path": str(path), "width": 96, "height": 96, "frames": 2}])
    return path


def test_a_creators_job_goes_through_a_batch(reverted, node_factory, ipfs_node, flyby, tmp_path):
    # reverted afterwards: the worker, manager and jobs of this test never meet another test's matching
    devnet = reverted
    chain = devnet.chain()
    for index in ORACLES:
        if get_node(chain, dev_account(index).address).stake == 0:
            fund(devnet, dev_account(index).address, 2_000 * IFX)
    nodes = [node_factory("oracle", i, "--stake", "1000") for i in ORACLES]
    wait(lambda: all(chain.call("Staking", "isActive", dev_account(i).address, ROLE_ORACLE) for i in ORACLES), 120,
         "the oracles staked", nodes)
    # every other oracle a committee could draw on this shared chain runs its daemon too
    ours = {dev_account(i).address for i in ORACLES}
    nodes += [node_factory("oracle", dev_index(devnet, a)) for a in drawable_oracles(chain) if a not in ours]

    port = free_port()
    api = f"http://127.0.0.1:{port}"
    fund(devnet, dev_account(MANAGER).address, 5_000 * IFX)
    nodes.append(node_factory(
        "manager", MANAGER, "--port", str(port), "--render-window", "600", "--batch-age", "5", "--offer-timeout", "30",
        env={"INFERIX_DATABASE": str(tmp_path / "manager.sqlite"), "INFERIX_WORK_DIR": str(tmp_path / "manager"),
             "INFERIX_SEED_KEY_FILE": str(tmp_path / "seed.key"), "INFERIX_SIWE_DOMAIN": f"127.0.0.1:{port}",
             "INFERIX_SIWE_URI": api, "INFERIX_BENCHMARK_WORKERS": "false"}))
    worker = dev_account(WORKER).address
    fund(devnet, worker, 12_000 * IFX)
    nodes.append(node_factory("worker", WORKER, "--price", PRICE, "--stake", "6000", "--manager", api))
    wait(lambda: get_node(chain, worker).stake > 0 and get_node(chain, dev_account(MANAGER).address).stake > 0, 180,
         "the manager and the worker staked", nodes)

    fund(devnet, dev_account(CREATOR).address, 1_000 * IFX)
    creator = InferixClient(api, dev_account(CREATOR), devnet.anvil.url)
    job = creator.submit(flyby, 1, 2, samples=4, frames_per_task=1, max_price_per_ibm=int(float(PRICE) * USD))
    budget0 = chain.call("JobEscrow", "jobs", job.job_id)[2]

    def posted():
        return chain.events("BatchLane", ["BatchPosted"], devnet.deployment.block_number, chain.block_number(),
                            {"jobId": job.job_id})

    [post] = wait(posted, 300, "the job's batch posted", nodes)
    batch_id = post.args["batchId"]
    leaves = lane.batch_leaves(chain, batch_id)
    assert len(leaves) == 2 and {leaf.worker for leaf in leaves} == {worker}
    assert get_node(chain, worker).locked > 0  # its collateral, locked by the post it signed

    def settled():
        if lane.get_batch(chain, batch_id)["stage"] == lane.SETTLED:
            return True
        if lane.outcome(chain, batch_id)["finalized_at"]:
            devnet.anvil.time_travel(chain.call("JobEscrow", "challengeWindow") + 1)  # nobody challenges
        return False

    wait(settled, 400, "the batch rendered, verified and settled", nodes)
    verdict = lane.outcome(chain, batch_id)
    assert verdict["pass_bits"] == verdict["decided_bits"] == 0b11
    assert verdict["revealed"] == (1 << len(verdict["members"])) - 1  # every member voted
    [done] = chain.events("BatchLane", ["BatchSettled"], post.block, chain.block_number(), {"batchId": batch_id})
    assert (done.args["passed"], done.args["failed"]) == (2, 0)
    fees = sum(leaf.fee for leaf in leaves)
    assert done.args["burned"] + done.args["toTreasury"] == fees
    assert chain.call("JobEscrow", "jobs", job.job_id)[2] == budget0 - fees
    assert chain.call("JobEscrow", "laneHeld") == 0
    assert get_node(chain, worker).locked == 0
    # the results the committee judged are the worker's own pins, one per task
    results = lane.batch_results(chain, batch_id)
    assert len(results[0]) == 2 and keccak(text=results[0][0]) != keccak(text=results[0][1])
    # the creator's SDK finds the frames through the read API (the job's batch, each passed task's result CID)
    found = wait(lambda: len(creator.results(job.job_id)) == 2 and creator.results(job.job_id), 60,
                 "the indexer to show both tasks passed", nodes)
    assert sorted(t["result_cid"] for t in found) == sorted(results[0])
    files = creator.download(job.job_id, tmp_path / "frames", IPFSStore(ipfs_node.api_multiaddr, timeout=10))
    assert sorted(f.name for f in files) == ["frame_0001.png", "frame_0002.png"]
    assert all(f.read_bytes().startswith(b"\x89PNG") for f in files)
    for node in nodes:
        assert node.alive(), node.log()[-2000:]
