"""`inferix claim`, `close-epoch`, `stake`, `unbond`, `withdraw`, `challenge`, `refund` and `verify` on a real deployment
(the session's anvil with the deploy command's contracts, the dev beacon, a real js-ipfs node), driven through the
click commands as a terminal runs them: each action's effect is read back on chain, and each refusal answers exit
code 1 with the contract's reason in one line.

`inferix verify` re-runs a committee's verification on tasks with real sealed manifests and real PNG frames on IPFS:
no scene is rendered (Blender is expensive), the frames are drawn with numpy — an honest frame shows every imprint
its manifest places, a forged one is flat — and ANGV's own judge (``verify_result``) decides; the committee's votes
are cast by the tests. Every test runs on the shared devnet and is reverted afterwards (``reverted``), its actors
fresh accounts.
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from eth_utils import keccak
from PIL import Image

from inferix import batches as B
from inferix import lane
from inferix.chain import Chain
from inferix.cli import main
from inferix.protocol import (IBM, IFX, PACKAGE_MANIFEST, ROLE_WORKER, USD, TaskState, ensure_staked, escrow_round,
                              frame_name, get_job, get_node, get_task, latest_time)
from inferix.sealing import manifest_digest, seal_manifest
from inferix.testing.devnet import ROOT
from inferix.testing.ipfs import free_port
from inferix.testing.process import Service

from ...conftest import batch_verdict, dev_index, fresh_account, lane_job, manager, post_beacon_round

pytestmark = pytest.mark.integration

# the synthetic frames: 80x64, a grey background and twelve 5x5 imprints (20 levels brighter) on a grid
W, H, BG, STEP, SIDE = 80, 64, 128, 20, 5
IMPRINTS = [(6 + 18 * i, 6 + 18 * j) for j in range(3) for i in range(4)]


# ---------------------------------------------------------------- helpers

def run(env: dict, *args, code: int = 0):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def cli(reverted, tmp_path):
    """``(env, key)``: the commands' environment on the devnet, and ``key(chain)`` the ``--account`` of a chain's
    account (a key file)."""
    env = {"INFERIX_RPC_URL": reverted.anvil.url, "INFERIX_DEPLOYMENTS": str(reverted.deployments_path)}

    def key(chain: Chain) -> str:
        path = tmp_path / f"{chain.address}.key"
        path.write_text(chain.account.key.hex())
        path.chmod(0o600)
        return f"keyfile:{path}"

    return env, key


def balance(chain: Chain) -> int:
    return chain.call("IFXToken", "balanceOf", chain.address)


def refresh_price(devnet) -> None:
    """The mock IFX/USD feed goes stale after a long time travel (closeEpoch needs a fresh price)."""
    devnet.chain(0).transact("MockAggregator", "setAnswer", devnet.deployment.parameters["mock_price_8dec"])


def to_time(devnet, timestamp: int) -> None:
    now = latest_time(devnet.chain())
    if timestamp > now:
        devnet.anvil.time_travel(timestamp - now)


def manifest_json(seed: bytes, frames: list[int]) -> bytes:
    regions = [{"index": k, "x0": x, "y0": y, "w": SIDE, "h": SIDE, "polarity": 1, "step": STEP, "bg": BG}
               for k, (x, y) in enumerate(IMPRINTS)]
    return json.dumps({"version": 4, "params": {}, "task_id": 0, "scene_digest": "00" * 32,
                       "seed_commit": "0x" + keccak(seed).hex(),
                       "order": {"width": W, "height": H, "samples": 4, "denoise": False}, "carriers": [],
                       "frames": [{"frame": f, "regions": regions, "tiles": []} for f in frames]}).encode()


def frame_png(honest: bool) -> bytes:
    pixels = np.full((H, W, 3), BG, np.uint8)
    if honest:
        for x, y in IMPRINTS:
            pixels[y:y + SIDE, x:x + SIDE] = BG + STEP
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def package(store, folder: Path, seed: bytes, frame: int) -> tuple[str, bytes]:
    """A task package on IPFS holding its manifest sealed with ``seed``: (its CID, the sealed manifest's digest)."""
    folder.mkdir(parents=True)
    sealed = seal_manifest(manifest_json(seed, [frame]), seed)
    (folder / PACKAGE_MANIFEST).write_bytes(sealed)
    return store.add_directory(folder), manifest_digest(sealed)


def result(store, folder: Path, frame: int, honest: bool) -> str:
    folder.mkdir(parents=True)
    (folder / frame_name(frame, "png")).write_bytes(frame_png(honest))
    return store.add_directory(folder)


@dataclass
class Batch:
    id: bytes
    seed: bytes
    boss: Chain
    creator: Chain
    workers: list[Chain]
    oracles: dict[str, Chain]
    leaves: list[B.Leaf]


def post_batch(devnet, count: int, packages=None) -> Batch:
    """A job of a fresh creator's and a batch of ``count`` one-frame tasks posted for it (the first two tasks for the
    first worker, the others for the second); ``packages(i, task seed)`` gives a task's (package CID, manifest
    digest), placeholders by default."""
    boss = manager(devnet)
    creator = fresh_account(devnet)
    workers, oracles, job = lane_job(devnet, boss, creator, "bafyscene", 30)
    nonce = lane.next_nonce(boss, boss.address)
    seed = os.urandom(32)
    batch_id = B.batch_id(boss.address, nonce)
    leaves = []
    for i in range(count):
        task_seed = B.task_seed(seed, batch_id, i)
        cid, digest = packages(i, task_seed) if packages else (f"bafynoised-{i}", keccak(task_seed))
        leaves.append(B.Leaf(workers[min(i // 2, 1)].address, 10 * IBM, 10 * IFX, digest, 1 + i, 1 + i, cid))
    batch = lane.prepare(boss, job, nonce, leaves, 3600, seed=seed)
    accept_by = latest_time(boss) + 600
    lane.post(boss, batch, [(accept_by, lane.accept(w, batch, g, accept_by)) for w, g in zip(workers, batch.groups)])
    return Batch(batch_id, seed, boss, creator, workers, oracles, leaves)


def deliver_and_judge(devnet, batch: Batch, results: list[str], pass_bits: int) -> None:
    """The workers submit ``results`` (a CID per task), the manager reveals the seed, the committee votes."""
    for g, span in enumerate(B.groups(batch.leaves)):
        lane.submit_results(batch.workers[g], batch.id, g, results[span.first:span.end])
    lane.reveal_seed(batch.boss, batch.id, batch.seed)
    batch_verdict(devnet, batch.id, pass_bits, batch.oracles)


def fresh_epoch(devnet) -> int:
    """Close the open epoch at its end (its issuance is another test's), so that a whole epoch lies ahead."""
    chain = devnet.chain(0)
    record = chain.call("BMWIssuance", "epochs", chain.call("BMWIssuance", "currentEpoch"))
    to_time(devnet, record[0] + record[1])
    refresh_price(devnet)
    chain.transact("BMWIssuance", "closeEpoch")
    return chain.call("BMWIssuance", "currentEpoch")


# ---------------------------------------------------------------- stake, unbond, withdraw

def test_stake_unbond_and_withdraw(cli, reverted):
    env, key = cli
    devnet = reverted
    worker = fresh_account(devnet)
    ensure_staked(worker, ROLE_WORKER, 1_000 * IFX, USD // 2)
    me = key(worker)
    before = balance(worker)

    out = run(env, "stake", "250.5", "--account", me).output
    assert get_node(worker, worker.address).stake == 1_250_500_000_000_000_000_000
    assert before - balance(worker) == 250_500_000_000_000_000_000
    assert "staked 250.500000 IFX; stake 1,250.500000 IFX" in out

    too_much = run(env, "unbond", "5000", "--account", me, code=1).output
    assert "Error: Staking.requestUnbond reverted: staking: amount exceeds free stake" in too_much
    assert len(too_much.strip().splitlines()) == 1
    nothing = run(env, "withdraw", "--account", me, code=1).output
    assert "Staking.withdraw reverted: staking: nothing unbonding" in nothing

    out = run(env, "unbond", "300", "--account", me).output
    node = get_node(worker, worker.address)
    assert node.unbonding == 300 * IFX and "unbonding 300.000000 IFX" in out and "withdrawable from" in out
    early = run(env, "withdraw", "--account", me, code=1).output
    assert "Staking.withdraw reverted: staking: still unbonding" in early
    assert get_node(worker, worker.address).unbonding == 300 * IFX

    to_time(devnet, node.unbonding_at)
    before = balance(worker)
    out = run(env, "withdraw", "--account", me).output
    assert balance(worker) - before == 300 * IFX
    node = get_node(worker, worker.address)
    assert (node.stake, node.unbonding) == (950_500_000_000_000_000_000, 0)
    assert "withdrew 300.000000 IFX" in out

    stranger = fresh_account(devnet)
    refused = run(env, "stake", "10", "--account", key(stranger), code=1).output
    assert "Staking.stake reverted: staking: not registered" in refused
    assert balance(stranger) == 30_000 * IFX  # the approval went through, no IFX moved
    assert "not an IFX amount" in run(env, "stake", "lots", "--account", me, code=2).output


# ---------------------------------------------------------------- the BMW epoch

def test_close_epoch_and_claim(cli, reverted):
    env, key = cli
    devnet = reverted
    epoch = fresh_epoch(devnet)
    batch = post_batch(devnet, 3)
    worker = batch.workers[0]
    me = key(worker)

    nothing = run(env, "claim", "--account", me, code=1).output
    assert "BMWIssuance.claim refused: nothing to claim for" in nothing
    early = run(env, "close-epoch", "--account", key(batch.creator), code=1).output
    assert "Error: BMWIssuance.closeEpoch reverted: bmw: epoch not over" in early

    # the batch passes and settles: the workers' fees are this epoch's work
    deliver_and_judge(devnet, batch, [f"bafyframes-{i}" for i in range(3)], 0b111)
    devnet.anvil.time_travel(batch.boss.call("JobEscrow", "challengeWindow") + 1)
    lane.settle(batch.boss, batch.id, lane.batch_leaves(batch.boss, batch.id))
    assert batch.boss.call("BMWIssuance", "workerFees", epoch, worker.address) == 20 * IFX
    open_ = run(env, "claim", "--epoch", epoch, "--account", me, code=1).output
    assert "BMWIssuance.claim reverted: bmw: epoch not closed" in open_

    record = worker.call("BMWIssuance", "epochs", epoch)
    to_time(devnet, record[0] + record[1])
    refresh_price(devnet)
    out = run(env, "close-epoch", "--account", key(batch.creator)).output
    assert worker.call("BMWIssuance", "currentEpoch") == epoch + 1
    minted = worker.call("BMWIssuance", "epochs", epoch)[8]
    assert minted > 0 and f"epoch {epoch} closed" in out and f"{minted / IFX:,.6f} IFX minted" in out

    owed = worker.call("BMWIssuance", "claimable", epoch, worker.address)
    assert owed > 0
    before = balance(worker)
    out = run(env, "claim", "--account", me).output
    assert balance(worker) - before == owed
    assert f"epoch {epoch}: claimed {owed / IFX:,.6f} IFX" in out
    again = run(env, "claim", "--epoch", epoch, "--account", me, code=1).output
    assert "BMWIssuance.claim reverted: bmw: nothing to claim" in again
    assert run(env, "claim", "--account", me, code=1).exit_code == 1  # nothing left anywhere


# ---------------------------------------------------------------- refunds

def test_refund_a_job(cli, reverted):
    env, key = cli
    devnet = reverted
    boss = manager(devnet)
    creator, stranger = fresh_account(devnet), fresh_account(devnet)
    creator.transact("IFXToken", "approve", creator.deployments.address("JobEscrow"), 50 * IFX)
    creator.transact("JobEscrow", "createJob", boss.address, "bafyscene", 1, 10, "16x16@4spp png", USD, 50 * IFX)
    job = creator.call("JobEscrow", "jobCount")

    theirs = run(env, "refund", job, "--account", key(stranger), code=1).output
    assert "Error: JobEscrow.closeJob reverted: escrow: caller is not the creator" in theirs
    assert not get_job(creator, job).closed

    before = balance(creator)
    out = run(env, "refund", job, "--account", key(creator)).output
    assert balance(creator) - before == 50 * IFX
    assert get_job(creator, job).closed and f"job {job} closed; withdrew 50.000000 IFX" in out

    closed = run(env, "refund", job, "--account", key(stranger), code=1).output  # closed, still not theirs
    assert "JobEscrow.closeJob reverted: escrow: caller is not the creator" in closed
    twice = run(env, "refund", job, "--account", key(creator), code=1).output
    assert "JobEscrow.withdraw reverted: escrow: nothing to withdraw" in twice
    unknown = run(env, "refund", 10**9, "--account", key(creator), code=1).output
    assert "JobEscrow.closeJob reverted: escrow: unknown job" in unknown


# ---------------------------------------------------------------- the batch lane: verify and challenge

@pytest.fixture
def ipfs_env(cli, ipfs_node):
    env, key = cli
    return {**env, "INFERIX_IPFS_API": ipfs_node.api_multiaddr, "INFERIX_IPFS_TIMEOUT": "10"}, key


def test_verify_and_challenge_a_batch_task(ipfs_env, reverted, store, tmp_path):
    env, key = ipfs_env
    devnet = reverted
    honest = [True, False, True]  # task 1's frame is flat: no imprint
    batch = post_batch(devnet, 3, lambda i, seed: package(store, tmp_path / f"package-{i}", seed, 1 + i))
    name = "0x" + batch.id.hex()

    early = run(env, "verify", "--batch", name, "--index", 0, code=1).output
    assert f"batch {name} task 0 has no verdict yet: the batch's seed is not revealed (it is rendering)" in early
    unknown = "0x" + os.urandom(32).hex()
    assert f"batch {unknown} was never posted" in run(env, "verify", "--batch", unknown, "--index", 0,
                                                      code=1).output

    results = [result(store, tmp_path / f"result-{i}", 1 + i, ok) for i, ok in enumerate(honest)]
    deliver_and_judge(devnet, batch, results, 0b001)  # the committee fails task 2, an honest one
    out_of_range = run(env, "verify", "--batch", name, "--index", 3, code=1).output
    assert f"batch {name} has 3 tasks (index 0 to 2): no task 3" in out_of_range
    assert "not a batch id" in run(env, "verify", "--batch", "0x1234", "--index", 0, code=1).output

    report = json.loads(run(env, "verify", "--batch", name, "--index", 0, "--json").output)
    assert report["computed"]["passed"] and report["computed"]["score"] == 10_000
    assert report["chain"]["passed"] and report["chain"]["decided_by"] == "committee" and report["agree"]
    assert (report["width"], report["height"], report["result"], report["job"]) == (W, H, results[0],
                                                                                 get_job_id(batch))
    (frame,) = report["frames"]
    assert frame["frame"] == 1 and frame["accepted"] and frame["cid"]
    assert [(r["x"], r["y"], r["width"], r["height"]) for r in frame["regions"]] == \
        [(x, y, SIDE, SIDE) for x, y in IMPRINTS]

    flat = run(env, "verify", "--batch", name, "--index", 1).output  # FAIL computed, FAIL on chain
    assert "computed: FAIL" in flat and "on chain: FAIL" in flat and "agree: yes" in flat
    dissent = run(env, "verify", "--batch", name, "--index", 2, code=3).output
    assert "computed: PASS, score 10000 / 10000 (all frames pass)" in dissent
    assert "on chain: FAIL" in dissent and "agree: NO" in dissent

    # the worker whose honest frames were failed challenges the verdict, with the bond
    worker = batch.workers[1]
    bond = lane.challenge_bond(worker, batch.leaves[2])
    before = balance(worker)
    out = run(env, "challenge", "--batch", name, "--index", 2, "--account", key(worker)).output
    assert before - balance(worker) == bond > 0 and f"batch {name} task 2" in out
    assert lane.get_batch(worker, batch.id)["disputed"] == 0b100
    again = run(env, "challenge", "--batch", name, "--index", 2, "--account", key(worker), code=1).output
    assert "Error: BatchLane.challenge reverted: lane: task challenged or closed" in again
    beyond = run(env, "challenge", "--batch", name, "--index", 9, "--account", key(worker), code=1).output
    assert "BatchLane.challenge refused: batch" in beyond and "no task 9" in beyond
    usage = run(env, "challenge", "--batch", name, "--account", key(worker), code=2).output
    assert "give either --task ID, or --batch" in usage
    assert json.loads(run(env, "verify", "--batch", name, "--index", 2, "--json", code=3).output)["chain"][
        "disputed"]

    # the HTTP verifier answers the same JSON, CORS open, bad input 400
    from fastapi.testclient import TestClient

    from oracle.verifycli import create_app

    http = TestClient(create_app(devnet.chain(), store))
    answer = http.get("/verify", params={"batch": name, "index": 0}, headers={"Origin": "https://app.example"})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    assert answer.json() == report
    for params, message in [({"batch": "0xzz", "index": 0}, "not a batch id"),
                            ({"batch": unknown, "index": 0}, "was never posted"),
                            ({"batch": name, "index": 7}, "no task 7"),
                            ({"batch": name, "index": -1}, "is not a task's position"),
                            ({"batch": name}, "give either task=ID, or batch=0x… with index=I"),
                            ({}, "give either"),
                            ({"task": "abc"}, "not a task id"),
                            ({"task": 10**9}, "there is no task")]:
        bad = http.get("/verify", params=params, headers={"Origin": "https://app.example"})
        assert bad.status_code == 400, (params, bad.text)
        assert message in bad.json()["error"] and bad.headers["access-control-allow-origin"] == "*"
    preflight = http.options("/verify", headers={"Origin": "https://app.example",
                                                 "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == "*"

    # and the real command serves it, as an operator starts it
    port = free_port()
    url = f"http://127.0.0.1:{port}/verify"

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    server = Service("verifier", [sys.executable, "-m", "inferix.cli", "verify", "serve", "--port", str(port)],
                     log_path=tmp_path / "verifier.log", env={**os.environ, **env}, cwd=ROOT).start(up, timeout=60)
    try:
        served = httpx.get(url, params={"batch": name, "index": 2}, headers={"Origin": "https://app.example"},
                           timeout=60)
        assert served.status_code == 200 and served.headers["access-control-allow-origin"] == "*"
        assert served.json()["computed"]["passed"] and not served.json()["agree"]
        bad = httpx.get(url, params={"batch": name, "index": "two"}, timeout=60)
        assert bad.status_code == 400 and "is not a task's position" in bad.json()["error"]
    finally:
        server.stop()


def get_job_id(batch: Batch) -> int:
    return lane.get_batch(batch.boss, batch.id)["job_id"]


# ---------------------------------------------------------------- the single path: verify and challenge

def test_verify_and_challenge_a_single_path_task(ipfs_env, reverted, store, tmp_path):
    env, key = ipfs_env
    devnet = reverted
    boss = manager(devnet)
    creator = fresh_account(devnet)
    workers, oracles, job = lane_job(devnet, boss, creator, "bafyscene", 30)
    worker = workers[0]
    seed = os.urandom(32)
    cid, digest = package(store, tmp_path / "package", seed, 1)
    boss.transact("JobEscrow", "postTasks", job, [(1 * IBM, keccak(seed), digest, escrow_round(boss, 900), bytes(160),
                                                   1, 1, 900, cid)])
    task_id = boss.call("JobEscrow", "taskCount")

    early = run(env, "verify", "--task", task_id, code=1).output
    assert f"task {task_id} has no verdict yet (it is posted)" in early
    assert "there is no task" in run(env, "verify", "--task", 10**9, code=1).output

    boss.transact("JobEscrow", "assign", task_id, worker.address)
    worker.transact("JobEscrow", "accept", task_id)
    frames = result(store, tmp_path / "result", 1, honest=True)
    worker.transact("JobEscrow", "submitResult", task_id, frames)
    boss.transact("JobEscrow", "revealKey", task_id, seed)
    post_beacon_round(devnet, task_id)
    boss.transact("ProofOfRender", "drawCommittee", task_id)
    attempt = get_task(boss, task_id).attempts
    members = list(boss.call("ProofOfRender", "committeeOf", task_id, attempt))
    chains = {m: oracles.get(m) or devnet.chain(dev_index(devnet, m)) for m in members}
    salt = os.urandom(32)
    for m in members:  # every member passes it (score 9,000), then reveals
        chains[m].transact("ProofOfRender", "commitVote", task_id,
                           boss.call("ProofOfRender", "commitmentOf", task_id, attempt, m, True, 9_000, salt))
    for m in members:
        chains[m].transact("ProofOfRender", "revealVote", task_id, True, 9_000, salt)
    assert get_task(boss, task_id).state == TaskState.VERIFIED

    report = json.loads(run(env, "verify", "--task", task_id, "--json").output)
    assert report["lane"] == "single" and report["agree"] and report["computed"]["passed"]
    assert report["chain"]["passed"] and report["result"] == frames and report["frame_range"] == [1, 1]
    assert sorted(v["oracle"] for v in report["chain"]["votes"]) == sorted(members)
    assert {v["score"] for v in report["chain"]["votes"]} == {9_000}
    assert len(report["frames"][0]["regions"]) == len(IMPRINTS)
    assert "agree: yes" in run(env, "verify", "--task", task_id).output

    # the creator doubts the PASS and challenges it, with the bond
    bond = boss.call("JobEscrow", "bondFor", task_id)
    before = balance(creator)
    out = run(env, "challenge", "--task", task_id, "--account", key(creator)).output
    assert before - balance(creator) == bond > 0 and f"task {task_id}" in out
    assert get_task(boss, task_id).state == TaskState.DISPUTED
    again = run(env, "challenge", "--task", task_id, "--account", key(creator), code=1).output
    assert "Error: JobEscrow.challenge reverted: escrow: task not verified" in again
    assert json.loads(run(env, "verify", "--task", task_id, "--json").output)["chain"]["disputed"]
