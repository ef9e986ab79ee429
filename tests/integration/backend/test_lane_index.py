"""The batch lane in the index and the read API: a real batch on anvil (``inferix.lane``: prepared, accepted by its two
workers, posted, delivered, revealed, judged by a drawn committee of which one member never reveals, one task
challenged and overturned by the arbiter, settled), indexed stage by stage on SQLite and on PostgreSQL, each stage by
a new indexer (a restart), then read through ``/v1/batches`` and ``/v1/jobs/{id}``: the tasks decoded from the post's
calldata, the result CIDs from the submissions', the verdict bits, the settlement's figures, the slashes and the
no-show; the job's budget and open tasks and the workers' locked collateral equal the contracts' own (the escrow and
Staking log nothing for them). The chain is reverted afterwards (``evm_snapshot``) and every actor but the manager is
a fresh account, as in tests/integration/contracts/test_lane_anvil.py."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from backend.api.reads.models import BatchDetail, BatchPage, JobDetail
from backend.app import create_app
from backend.db import connect
from backend.indexer import Indexer
from backend.settings import BackendSettings
from inferix import batches as B
from inferix import lane
from inferix.chain import Chain
from inferix.protocol import IFX, get_job, get_node, latest_time, read_struct
from inferix.sealing import manifest_digest, seal_manifest
from inferix.testing.devnet import rpc
from tests.conftest import dev_index, draw_batch_committee, fresh_account, lane_job, manager, speak_as
from tests.integration.backend.conftest import DB_BACKENDS, idx_refresh_price

pytestmark = pytest.mark.integration

IBM = 10**6
FEE = 10 * IFX
TASKS = 4
# the members' bitmaps (seat 2 commits but never reveals): task 0 passes, 1 fails, 2 is undecided (one vote each
# way), 3 passes and is then overturned by the arbiter
VOTES = (0b1101, 0b1001, 0b1111)
STAGES = ("posted", "submitted", "revealed", "verdict", "challenged", "settled", "resolved")
LANE_TABLES = {"lane_batches": "batch_id", "lane_batch_tasks": "batch_id, task_index",
               "lane_batch_members": "batch_id, seat"}


def _as_arbiter(devnet, chain: Chain, function: str, *args) -> None:
    """The arbiter is the timelock (governance) on the devnet."""
    speak_as(devnet, chain, chain.call("ProofOfRender", "arbiter"), "BatchLane", function, *args)


def _rows(conn, table: str) -> list[dict]:
    return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {LANE_TABLES[table]}").fetchall()]


def _lane_snapshot(conn, job_id: int) -> dict:
    data = {table: _rows(conn, table) for table in LANE_TABLES}
    data["job"] = dict(conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone())
    data["events"] = [dict(r) for r in conn.execute(
        "SELECT block, log_index, name, job_id, batch_id, args FROM events WHERE batch_id IS NOT NULL "
        "ORDER BY block, log_index").fetchall()]
    return data


def _run_batch(devnet) -> dict:
    """The batch's whole life; returns what the tests compare with, and the last block of each stage."""
    boss = manager(devnet)
    chain = devnet.chain(0)
    stages: dict[str, int] = {}
    chain_views: dict[str, dict] = {}

    def stage(name: str) -> None:
        stages[name] = chain.block_number()
        chain_views[name] = {"job": get_job(chain, job), "nodes": {a: get_node(chain, a) for a in accounts}}

    idx_refresh_price(devnet)
    creator = fresh_account(devnet)
    workers, oracles, job = lane_job(devnet, boss, creator, "bafylaneindexscene", 10 * TASKS)

    nonce = lane.next_nonce(boss, boss.address)
    seed = os.urandom(32)
    batch_id = B.batch_id(boss.address, nonce)
    blobs = [seal_manifest(b'{"frames": {}}', B.task_seed(seed, batch_id, i)) for i in range(TASKS)]
    leaves = [B.Leaf(workers[i // 2].address, 10 * IBM, FEE, manifest_digest(blobs[i]), 1 + 10 * i, 10 + 10 * i,
                     f"bafylaneindexpackage-{job}-{i}") for i in range(TASKS)]
    batch = lane.prepare(boss, job, nonce, leaves, 3600, seed=seed)
    accept_by = latest_time(boss) + 600
    signatures = [(accept_by, lane.accept(w, batch, g, accept_by)) for w, g in zip(workers, batch.groups)]
    accounts = [w.address for w in workers] + list(oracles) + [boss.address]
    lane.post(boss, batch, signatures)
    stage("posted")

    cids = {0: [f"bafylaneindexframes-{job}-0", f"bafylaneindexframes-{job}-1"],
            1: [f"bafylaneindexframes-{job}-2", f"bafylaneindexframes-{job}-3"]}
    for g, w in enumerate(workers):
        lane.submit_results(w, batch.id, g, cids[g])
    stage("submitted")

    lane.reveal_seed(boss, batch.id, seed)
    stage("revealed")

    members = draw_batch_committee(devnet, batch.id)
    assert len(members) == 3 and chain.call("ProofOfRender", "quorum") == 2
    for m in members:  # oracles staked before the post: ours, or other tests' (dev accounts)
        if m not in oracles:
            oracles[m] = devnet.chain(dev_index(devnet, m))
            accounts.append(m)
    salts = [os.urandom(32) for _ in members]
    signed = [lane.commitment(oracles[m], batch.id, bits, salt) for m, bits, salt in zip(members, VOTES, salts)]
    relay = oracles[members[0]]
    relay.transact("BatchCommittee", "commitVotes", batch.id, [0, 1, 2], [c for c, _ in signed],
                   [s for _, s in signed])
    relay.transact("BatchCommittee", "revealVotes", batch.id, [0, 1], list(VOTES[:2]), salts[:2])
    committee = read_struct(boss, "BatchCommittee", "committees", batch.id)
    devnet.anvil.time_travel(committee["vote_ends"] - latest_time(chain) + 1)
    chain.transact("BatchCommittee", "finalize", batch.id)  # the reveal phase is over: seat 2 never revealed
    stage("verdict")

    nodes = [B.leaf_node(i, leaf) for i, leaf in enumerate(leaves)]
    proof = B.merkle_proof(nodes, 3)
    creator.transact("IFXToken", "approve", creator.deployments.address("BatchLane"), 1_000 * IFX)
    creator.transact("BatchLane", "challenge", batch.id, 3, leaves[3].as_tuple(), proof)
    bond = 30_000 * IFX - 500 * IFX - chain.call("IFXToken", "balanceOf", creator.address)
    stage("challenged")

    devnet.anvil.time_travel(chain.call("JobEscrow", "challengeWindow") + 1)
    lane.settle(boss, batch.id, leaves)
    stage("settled")

    _as_arbiter(devnet, chain, "resolve", batch.id, 3, 1, leaves[3].as_tuple(), proof, False)
    slashed = {e.args["oracle"]: e.args["amount"] for e in chain.events(
        "BatchLane", ["OracleSlashed"], stages["settled"] + 1, chain.block_number(), {"batchId": batch.id})}
    stage("resolved")
    return {"job": job, "batch": batch, "leaves": leaves, "cids": cids, "members": members,
            "round": chain.call("RandomnessBeacon", "roundAt", lane.get_batch(chain, batch.id)["revealed_at"]) + 1,
            "workers": [w.address for w in workers], "creator": creator.address, "manager": boss.address,
            "bond": bond, "slashed": slashed, "stages": stages, "chain": chain_views}


@pytest.fixture(scope="module")
def lane_index(devnet, postgres, tmp_path_factory):
    """The batch's life on a snapshot of the chain, indexed on both databases while the chain still holds it; yields
    ``(flow, {backend: {"url", "views": {stage: {"batch", "job", "rows"}}}})``."""
    snapshot = rpc(devnet.anvil.url, "evm_snapshot")
    made: list[str] = []
    try:
        flow = _run_batch(devnet)
        batch_hex = "0x" + flow["batch"].id.hex()
        out = {}
        for backend in DB_BACKENDS:
            if backend == "sqlite":
                url = str(tmp_path_factory.mktemp("lane_index") / "backend.sqlite")
            else:
                url = postgres.create_database("lane_index")
                made.append(url)
            views = {}
            for name in STAGES:
                conn = connect(url)  # a new indexer at every stage: it goes on from its cursor
                Indexer(devnet.chain(), conn, max_blocks=50).poll_once(to_block=flow["stages"][name])
                conn.close()
                app = create_app(BackendSettings(database_url=url))
                with TestClient(app) as client:
                    views[name] = {"batch": client.get(f"/v1/batches/{batch_hex}").json(),
                                   "job": client.get(f"/v1/jobs/{flow['job']}").json()}
                conn = connect(url)
                views[name]["rows"] = {
                    "job": dict(conn.execute("SELECT * FROM jobs WHERE job_id = ?", (flow["job"],)).fetchone()),
                    "nodes": {r["address"]: dict(r) for r in conn.execute("SELECT * FROM workers").fetchall()}}
                conn.close()
            # replaying every block from the deployment's first changes nothing
            conn = connect(url)
            before = _lane_snapshot(conn, flow["job"])
            conn.execute("UPDATE indexer_cursor SET next_block = ?", (devnet.deployment.block_number,))
            assert Indexer(devnet.chain(), conn).poll_once(to_block=flow["stages"]["resolved"]) == 0
            out[backend] = {"url": url, "views": views, "snapshot": _lane_snapshot(conn, flow["job"])}
            assert out[backend]["snapshot"] == before
            conn.close()
        yield flow, out
    finally:
        rpc(devnet.anvil.url, "evm_revert", [snapshot])
        for url in made:
            postgres.drop_database(url)


def test_both_databases_build_the_same_lane_index(lane_index):
    _, out = lane_index
    on_sqlite, on_postgresql = (out[b]["snapshot"] for b in DB_BACKENDS)
    assert on_sqlite["lane_batch_tasks"] and on_postgresql == on_sqlite


@pytest.mark.parametrize("backend", DB_BACKENDS)
def test_a_batch_stage_by_stage_through_the_api(lane_index, backend):
    flow, out = lane_index
    views = out[backend]["views"]
    leaves, cids, members = flow["leaves"], flow["cids"], flow["members"]
    workers = flow["workers"]
    batch_hex = "0x" + flow["batch"].id.hex()

    def batch(name):
        return BatchDetail.model_validate(views[name]["batch"])

    # posted: every task from the post's calldata (checked against the root), nothing delivered yet
    b = batch("posted")
    assert (b.batch_id, b.job_id, b.manager, b.count, b.workers, b.stage, b.late) == (
        batch_hex, flow["job"], flow["manager"], TASKS, 2, "rendering", False)
    assert b.leaves_known and b.fees == str(TASKS * FEE) and b.escrow_round == flow["batch"].escrow_round
    assert b.root == "0x" + B.merkle_root([B.leaf_node(i, leaf) for i, leaf in enumerate(leaves)]).hex()
    assert [(t.index, t.group, t.worker, t.ibm, t.fee, t.manifest_digest, t.frame_start, t.frame_end, t.package_cid)
            for t in b.tasks] == [
        (i, i // 2, leaf.worker, str(leaf.ibm), str(leaf.fee), "0x" + leaf.manifest_digest.hex(), leaf.frame_start,
         leaf.frame_end, leaf.package) for i, leaf in enumerate(leaves)]
    collateral = int(b.tasks[0].collateral)
    assert collateral == FEE * b.collateral_bps // 10_000 > 0
    assert all(t.result_cid is None and t.verdict is None and t.outcome is None for t in b.tasks)
    assert b.committee is None and b.verdict is None and b.settlement is None
    assert [e.name for e in b.events] == ["BatchPosted"]
    job = JobDetail.model_validate(views["posted"]["job"])
    assert [s.batch_id for s in job.batches] == [batch_hex] and job.tasks == []
    assert (job.status, job.task_counts.open, job.budget_left) == ("running", 1, str(500 * IFX - TASKS * FEE))

    # submitted: the result CIDs from each worker's submitResults calldata
    b = batch("submitted")
    assert [t.result_cid for t in b.tasks] == cids[0] + cids[1] and b.submitted == 2
    assert all(t.delivered_block is not None for t in b.tasks)

    b = batch("revealed")
    assert b.stage == "revealed" and b.revealed_at is not None and b.revealer == flow["manager"]
    assert "seed" not in b.events[-1].args  # the index keeps no seed

    # the verdict: two members revealed their bitmaps, the third only committed
    b = batch("verdict")
    assert (b.committee.round, b.committee.size, b.committee.committed) == (flow["round"], 3, 3)
    assert [(m.seat, m.oracle, m.pass_bits, m.committed_block is not None) for m in b.committee.members] == [
        (0, members[0], hex(VOTES[0]), True), (1, members[1], hex(VOTES[1]), True), (2, members[2], None, True)]
    assert (b.verdict.pass_bits, b.verdict.decided_bits, b.verdict.revealed_seats) == ("0x9", "0xb", "0x3")
    assert [t.verdict for t in b.tasks] == ["passed", "failed", "undecided", "passed"]
    assert not any(m.no_show for m in b.committee.members)

    b = batch("challenged")
    t3 = b.tasks[3]
    assert (t3.challenger, t3.challenge_bond, b.challenged) == (flow["creator"], str(flow["bond"]), 1)

    # settled: task 3 waits for the arbiter; the unrevealed seat is a no-show
    b = batch("settled")
    assert b.stage == "settled"
    s = b.settlement
    assert (s.passed, s.failed, s.burned, s.to_treasury, s.refund) == (
        1, 1, str(FEE * 8 // 10), str(FEE * 2 // 10), str(2 * FEE))
    assert [t.outcome for t in b.tasks] == ["passed", "failed", "undecided", None]
    assert [m.no_show for m in b.committee.members] == [False, False, True]
    job = JobDetail.model_validate(views["settled"]["job"])
    assert (job.status, job.task_counts.open, job.budget_left, job.fees_paid) == (
        "running", 1, str(500 * IFX - 2 * FEE), str(FEE))
    assert job.batches[0].settlement.passed == 1

    # resolved: the arbiter failed task 3, overturning the verdict; the two members who passed it are slashed
    b = batch("resolved")
    t3 = b.tasks[3]
    assert (t3.outcome, t3.overturned, t3.verdict) == ("failed", True, "passed")
    assert b.done_bits == hex(2**TASKS - 1)
    assert {m.oracle: (m.slashed, m.slashed_tasks) for m in b.committee.members} == {
        members[0]: (str(flow["slashed"][members[0]]), 1), members[1]: (str(flow["slashed"][members[1]]), 1),
        members[2]: ("0", 0)}
    assert all(int(flow["slashed"][m]) > 0 for m in members[:2])
    names = [e.name for e in b.events]
    assert names[0] == "BatchPosted" and names.count("ResultsSubmitted") == 2 and names.count("OracleSlashed") == 2
    assert names[-1] == "TaskResolved" and "BatchVerdict" in names and "BatchSettled" in names
    job = JobDetail.model_validate(views["resolved"]["job"])
    # frames 1-10 passed, 11-40 did not: nothing open any more, the job is partly done
    assert (job.status, job.task_counts.open, job.budget_left, job.fees_paid) == (
        "partial", 0, str(500 * IFX - FEE), str(FEE))

    # what the escrow and Staking log nothing about equals the contracts' state at every stage
    for name in STAGES:
        chain_job, rows = flow["chain"][name]["job"], views[name]["rows"]
        assert (int(rows["job"]["budget_left"]), rows["job"]["open_tasks"]) == (chain_job.budget,
                                                                               chain_job.open_tasks), name
        for address, node in flow["chain"][name]["nodes"].items():
            row = rows["nodes"][address]
            assert (int(row["locked"]), int(row["stake"]), int(row["unbonding"])) == (
                node.locked, node.stake, node.unbonding), (name, address)
    final = views["resolved"]["rows"]["nodes"]
    assert [(final[w]["completed"], final[w]["failed"]) for w in workers] == [(1, 1), (0, 1)]
    assert [final[m]["committee_seats"] >= 1 for m in members] == [True] * 3


@pytest.mark.parametrize("backend", DB_BACKENDS)
def test_batch_lists_and_ids(lane_index, backend):
    flow, out = lane_index
    batch_hex = "0x" + flow["batch"].id.hex()
    with TestClient(create_app(BackendSettings(database_url=out[backend]["url"]))) as client:
        assert client.get(f"/v1/batches/{batch_hex.upper().replace('0X', '0x')}").json()["batch_id"] == batch_hex
        for malformed in ("0x12", "nothex", "0x" + "g" * 64, batch_hex + "00", batch_hex[2:]):
            reply = client.get(f"/v1/batches/{malformed}")
            assert reply.status_code == 400 and "64 hex digits" in reply.json()["detail"], malformed
        reply = client.get("/v1/batches/0x" + "ab" * 32)
        assert reply.status_code == 404 and reply.json()["detail"].startswith("batch 0x")

        for query in ({"job_id": flow["job"]}, {"worker": flow["workers"][1].lower()}, {"oracle": flow["members"][2]},
                      {"manager": flow["manager"], "stage": "settled"}):
            page = BatchPage.model_validate(client.get("/v1/batches", params=query).json())
            assert [b.batch_id for b in page.items] == [batch_hex] and page.total == 1, query
        assert client.get("/v1/batches", params={"worker": flow["creator"]}).json()["total"] == 0
        assert client.get("/v1/batches", params={"stage": "rendering", "job_id": flow["job"]}).json()["items"] == []
        everything = client.get("/v1/batches", params={"limit": 100}).json()
        assert batch_hex in [b["batch_id"] for b in everything["items"]]
        assert client.get("/v1/batches", params={"offset": everything["total"]}).json()["items"] == []
        assert client.get("/v1/batches", params={"limit": 0}).status_code == 422
        assert client.get("/v1/batches", params={"worker": "0x12"}).status_code == 422
