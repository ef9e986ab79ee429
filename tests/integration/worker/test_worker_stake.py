"""The worker keeps its stake at the minimum S(n) = 2 × E × IB × P (+10 %) on its own: when a benchmark attests a
higher IB (``Staking.IBSet``, here sent as the escrow on anvil), the next poll tops the stake up from the balance, or
as far as the balance goes with one clear warning; a node left below S(n) is offered no work by any manager."""

from __future__ import annotations

import logging

import pytest

from inferix.nodedb import NodeDB
from inferix.protocol import IB_ONE, IFX, ROLE_WORKER, USD, ensure_staked, get_node
from worker.agent import WorkerAgent, WorkerConfig

from ...conftest import fresh_account, speak_as

pytestmark = pytest.mark.integration

PRICE = USD // 2


def _agent(chain, tmp_path, stake: int) -> WorkerAgent:
    ensure_staked(chain, ROLE_WORKER, stake, PRICE)
    db = NodeDB(tmp_path / "worker.sqlite")
    agent = WorkerAgent(chain, None, db, WorkerConfig(price_per_ibm=PRICE, stake=stake, work_dir=tmp_path / "work"))
    agent.poll_events()  # the stake already covers S(n) at IB 1: nothing to do
    return agent


def _attest(devnet, chain, ib: int) -> None:
    speak_as(devnet, chain, chain.deployments.address("JobEscrow"), "Staking", "setIB", chain.address, ib)


def _needed(chain) -> int:
    return chain.call("Staking", "minStake", chain.address, chain.call("PriceFeedAdapter", "price")) * 11 // 10


def test_a_higher_ib_is_covered_from_the_balance_at_the_next_poll(reverted, tmp_path):
    me = fresh_account(reverted, 60_000 * IFX)
    agent = _agent(me, tmp_path, 10_000 * IFX)
    assert get_node(me, me.address).stake == 10_000 * IFX
    _attest(reverted, me, 3 * IB_ONE)  # S(n) at IB 3: 25,920 IFX at $0.50/IBM and $0.50/IFX
    assert get_node(me, me.address).stake < _needed(me)
    agent.poll_events()
    node = get_node(me, me.address)
    assert node.stake == _needed(me) and node.ib == 3 * IB_ONE
    agent.poll_events()  # covered: no second top-up
    assert get_node(me, me.address).stake == node.stake


def test_a_balance_too_small_tops_up_what_it_can_and_says_so_once(reverted, tmp_path, caplog):
    me = fresh_account(reverted, 15_000 * IFX)
    agent = _agent(me, tmp_path, 10_000 * IFX)
    _attest(reverted, me, 3 * IB_ONE)
    with caplog.at_level(logging.WARNING, logger="inferix.worker"):
        agent.poll_events()
        agent._stake_checked = 0.0  # the periodic check comes round again
        agent.poll_events()
    assert get_node(me, me.address).stake == 15_000 * IFX  # all it had
    assert me.call("IFXToken", "balanceOf", me.address) == 0
    warnings = [r.getMessage() for r in caplog.records if "below" in r.getMessage()]
    assert len(warnings) == 1 and "no manager offers this node work" in warnings[0], warnings


def test_a_task_assigned_to_us_again_after_a_failed_acceptance_is_accepted(reverted, tmp_path):
    """The acceptance window can close before the worker's ``accept`` is mined (the chain's clock jumps, the worker
    is slow): the revert declines that assignment. When the manager expires it and assigns the same task to us again
    (the same attempt: an expired assignment consumes none), the new assignment is taken up, not ignored as seen."""
    import os

    from eth_utils import keccak

    from inferix.protocol import TaskState, escrow_round, get_task

    from ...conftest import lane_job, manager

    devnet = reverted
    boss = manager(devnet)
    workers, _, job = lane_job(devnet, boss, fresh_account(devnet), "bafyscene", 4)
    me = workers[0]
    db = NodeDB(tmp_path / "worker.sqlite")
    agent = WorkerAgent(me, None, db, WorkerConfig(price_per_ibm=PRICE, stake=20_000 * IFX, work_dir=tmp_path / "w"))
    seed = os.urandom(32)
    boss.transact("JobEscrow", "postTasks", job, [(10**6 // 100, keccak(seed), os.urandom(32), escrow_round(boss, 900),
                                                   bytes(160), 1, 1, 900, "bafypackage")])
    task_id = boss.call("JobEscrow", "taskCount")
    boss.transact("JobEscrow", "assign", task_id, me.address)
    agent.poll_events()
    attempt = get_task(me, task_id).attempts
    assert db.task(task_id, attempt)[0] == "assigned"
    accept_by = db.task(task_id, attempt)[1]["acceptBy"]
    devnet.anvil.time_travel(accept_by - me.w3.eth.get_block("latest")["timestamp"] + 1)  # the window closes
    agent.step()
    assert db.task(task_id, attempt)[0] == "declined"  # accept reverted: acceptance deadline passed

    boss.transact("JobEscrow", "expire", task_id)  # the manager takes it back ...
    boss.transact("JobEscrow", "assign", task_id, me.address)  # ... and offers it to us again
    assert get_task(me, task_id).attempts == attempt
    agent.poll_events()
    assert db.task(task_id, attempt)[0] == "assigned"
    agent.step()
    task = get_task(me, task_id)
    assert task.state == TaskState.ACCEPTED and task.worker == me.address
