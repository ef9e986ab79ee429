"""The batch lane on a real node (anvil, the real randomness beacon, the deploy script's wiring), driven by the
node-side client ``inferix.lane``: a batch's tasks and results are read back from the transactions' calldata, each
party signs with its own key, and the batch settles. The chain is reverted afterwards (``evm_snapshot``), so the
oracles staked here never sit in the other tests' committees; its actors are fresh accounts, so it never meets
another test's registrations."""

from __future__ import annotations

import os

import pytest

from inferix import batches as B
from inferix import lane
from inferix.protocol import IFX, get_node, latest_time, read_struct
from inferix.sealing import manifest_digest, seal_manifest

from ...conftest import batch_verdict, lane_job, manager

pytestmark = pytest.mark.integration

IBM = 10**6
USD = 10**18


def test_a_batch_goes_through_the_lane_on_a_real_node(reverted):
    devnet = reverted
    boss = manager(devnet)
    creator = devnet.chain(0)
    workers, oracles, job = lane_job(devnet, boss, creator, "bafyscene", 30)

    # the manager prepares 3 tasks for two workers; each task's manifest is sealed with its own task seed
    nonce = lane.next_nonce(boss, boss.address)
    seed = os.urandom(32)
    batch_id = B.batch_id(boss.address, nonce)
    blobs = [seal_manifest(b'{"frames": {}}', B.task_seed(seed, batch_id, i)) for i in range(3)]
    leaves = [B.Leaf(workers[i // 2].address, 10 * IBM, 10 * IFX, manifest_digest(blobs[i]), 1 + 10 * i, 10 + 10 * i,
                     f"bafynoised-{i}") for i in range(3)]
    batch = lane.prepare(boss, job, nonce, leaves, 3600, seed=seed)
    assert batch.id == batch_id
    accept_by = latest_time(boss) + 600
    signatures = [(accept_by, lane.accept(w, batch, g, accept_by)) for w, g in zip(workers, batch.groups)]
    request = lane.acceptance_request(boss, batch, batch.groups[0], accept_by)  # what a wallet would be shown
    assert request["primaryType"] == "Accept" and request["domain"]["name"] == "Inferix Batches"
    lane.post(boss, batch, signatures)
    assert lane.batch_leaves(boss, batch.id) == leaves  # read back from the post's calldata

    cids = {0: ["bafyframes-0", "bafyframes-1"], 1: ["bafyframes-2"]}
    for g, w in enumerate(workers):
        lane.submit_results(w, batch.id, g, cids[g])
    assert lane.batch_results(boss, batch.id) == cids
    lane.reveal_seed(boss, batch.id, seed)
    record = lane.get_batch(boss, batch.id)
    assert record["stage"] == lane.REVEALED and record["seed"] == seed

    # the beacon round after the reveal draws the committee; every member passes every task, one of them relays
    # all the signed commitments, then all the reveals
    batch_verdict(devnet, batch.id, 0b111, oracles)
    verdict = read_struct(boss, "BatchCommittee", "committees", batch.id)
    assert (verdict["pass_bits"], verdict["decided_bits"]) == (0b111, 0b111) and verdict["finalized_at"] > 0

    devnet.anvil.time_travel(boss.call("JobEscrow", "challengeWindow") + 1)
    supply = boss.call("IFXToken", "totalSupply")
    lane.settle(boss, batch.id, lane.batch_leaves(boss, batch.id))
    assert lane.get_batch(boss, batch.id)["stage"] == lane.SETTLED
    assert supply - boss.call("IFXToken", "totalSupply") == 24 * IFX  # 80 % of 30 IFX of fees burned
    assert boss.call("JobEscrow", "laneHeld") == 0
    assert all(get_node(boss, w.address).locked == 0 for w in workers)  # collateral released
