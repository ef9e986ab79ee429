"""Transactions whose gas estimate goes stale before inclusion are resent, not reported as refused."""

from __future__ import annotations

import threading
import time

from eth_utils import keccak

from inferix.protocol import (IBM, IFX, ROLE_ORACLE, ROLE_WORKER, USD, TaskState, ensure_staked, escrow_round, get_node,
                              get_task)
from inferix.testing.devnet import dev_account

from tests.conftest import dev_index, fund, manager, post_beacon_round

ORACLES, WORKER = (16, 17), 18


def _revealed_task(devnet, worker) -> tuple[int, str]:
    """A task of a new job, rendered by ``worker`` and revealed (awaiting its committee's verdict); its result CID."""
    creator, mgr = devnet.chain(0), manager(devnet)
    creator.transact("MockAggregator", "setAnswer", devnet.deployment.parameters["mock_price_8dec"])  # fresh price
    creator.transact("IFXToken", "approve", devnet.deployment.address("JobEscrow"), 10 * IFX)
    creator.transact("JobEscrow", "createJob", mgr.address, "bafychainscene", 1, 1, "64x64", USD, 10 * IFX)
    job_id = creator.call("JobEscrow", "jobCount")
    task_id = creator.call("JobEscrow", "taskCount") + 1
    seed = keccak(text=f"chain test seed {job_id}")
    mgr.transact("JobEscrow", "postTasks", job_id,
                 [(IBM, keccak(seed), keccak(text=f"chain test manifest {job_id}"), escrow_round(mgr, 900),
                   bytes(160), 1, 1, 900, "bafychainpkg")])
    mgr.transact("JobEscrow", "assign", task_id, worker.address)
    worker.transact("JobEscrow", "accept", task_id)
    result_cid = f"bafychainresult{task_id}"
    worker.transact("JobEscrow", "submitResult", task_id, result_cid)
    mgr.transact("JobEscrow", "revealKey", task_id, seed)
    return task_id, result_cid


def test_a_vote_that_decides_after_its_estimate_is_resent(devnet):
    """The task's drawn committee has committed; its last two members estimate their reveal on the same state
    (neither is the last reveal), then both land in one block: the second one in becomes the last reveal, which
    also makes the verdict final (credits every voter in the BMW epoch) and records it in the escrow, and needs
    more gas than estimated. It runs out of gas on chain; ``transact`` re-estimates and resends it.

    Committees are drawn among every eligible oracle: this test stakes two, and any other oracle of the session
    still staked may be drawn too, so it votes with whoever is drawn (their keys are known); every member but the
    last two reveals first."""
    worker = devnet.chain(WORKER)
    for chain, role, price in ((devnet.chain(ORACLES[0]), ROLE_ORACLE, 0), (devnet.chain(ORACLES[1]), ROLE_ORACLE, 0),
                               (worker, ROLE_WORKER, 10**8)):  # a tiny price: a tiny minimum stake
        fund(devnet, chain.address, 2_000 * IFX)
        ensure_staked(chain, role, 1_000 * IFX, price)
    assert worker.call("ProofOfRender", "quorum") == 2
    try:
        task_id, _ = _revealed_task(devnet, worker)
        post_beacon_round(devnet, task_id)
        worker.transact("ProofOfRender", "drawCommittee", task_id)
        members = [devnet.chain(dev_index(devnet, m)) for m in worker.call("ProofOfRender", "committeeOf", task_id, 0)]
        assert len(members) >= 2
        salts = {m.address: keccak(text=f"chain test salt {task_id} {m.address}") for m in members}
        for i, member in enumerate(members):
            digest = member.call("ProofOfRender", "commitmentOf", task_id, 0, member.address, True, 9000 + i,
                                 salts[member.address])
            member.transact("ProofOfRender", "commitVote", task_id, digest)
        for i, member in enumerate(members[:-2]):
            member.transact("ProofOfRender", "revealVote", task_id, True, 9000 + i, salts[member.address])
        last = members[-2:]
        sent_before = [c.w3.eth.get_transaction_count(c.address) for c in last]
        outcomes: dict[int, object] = {}

        def reveal(i: int) -> None:
            member = last[i]
            try:
                outcomes[i] = member.transact("ProofOfRender", "revealVote", task_id, True,
                                              9000 + len(members) - 2 + i, salts[member.address])
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes[i] = exc

        rpc = worker.w3.provider.make_request
        rpc("evm_setAutomine", [False])
        try:
            threads = [threading.Thread(target=reveal, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while int(rpc("txpool_status", [])["result"]["pending"], 16) < 2:
                assert time.monotonic() < deadline, "the two reveals never reached the pool"
                time.sleep(0.05)
            rpc("evm_setIntervalMining", [1])  # both in the next block, then the resent one in a later block
            for thread in threads:
                thread.join(60)
        finally:
            rpc("evm_setIntervalMining", [0])
            rpc("evm_setAutomine", [True])
        failed = {i: o for i, o in outcomes.items() if isinstance(o, Exception)}
        assert not failed and len(outcomes) == 2, failed
        assert [outcomes[i]["status"] for i in range(2)] == [1, 1]
        task = get_task(worker, task_id)
        assert task.state == TaskState.VERIFIED and task.passed
        sent = [c.w3.eth.get_transaction_count(c.address) - before for c, before in zip(last, sent_before)]
        assert sorted(sent) == [1, 2]  # one reveal ran out of gas on chain and was sent again
    finally:
        # no manager of another test may pick this worker (it runs no agent), and no later committee may draw
        # these oracles (they run no daemon)
        for index in (WORKER, *ORACLES):
            chain = devnet.chain(index)
            node = get_node(chain, chain.address)
            if node.stake - node.locked - node.unbonding > 0:
                chain.transact("Staking", "requestUnbond", node.stake - node.locked - node.unbonding)


def test_events_are_asked_in_bounded_block_ranges(devnet, monkeypatch):
    """Public RPC providers cap eth_getLogs ranges: a long scan is split, and finds exactly the same events."""
    import inferix.chain

    chain = devnet.chain()
    start, head = devnet.deployment.block_number, chain.block_number()
    whole = chain.events("Staking", ["Registered", "Staked"], start, head)
    assert len(whole) >= 4 and head - start > 20
    asked: list[tuple[int, int]] = []
    get_logs = chain.w3.eth.get_logs

    def recording(params):
        asked.append((int(params["fromBlock"], 16) if isinstance(params["fromBlock"], str) else params["fromBlock"],
                      int(params["toBlock"], 16) if isinstance(params["toBlock"], str) else params["toBlock"]))
        return get_logs(params)

    monkeypatch.setattr(chain.w3.eth, "get_logs", recording)
    monkeypatch.setattr(inferix.chain, "LOG_RANGE", 7)
    split = chain.events("Staking", ["Registered", "Staked"], start, head)
    assert [(e.name, e.block, e.log_index, e.args) for e in split] == \
        [(e.name, e.block, e.log_index, e.args) for e in whole]
    assert asked and all(end - begin < 7 for begin, end in asked)
    assert len(asked) == 2 * -(-(head - start + 1) // 7)  # every range, for each of the two events
    registered = chain.events("Staking", ["Registered"], start, head, where={"account": dev_account(WORKER).address})
    assert [e.args["account"] for e in registered] == [dev_account(WORKER).address]  # a topic filter
