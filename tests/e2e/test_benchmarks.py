"""The manager benchmarks a new worker: it pays for one benchmark task of the generated scene G, assigned to that
worker, as a benchmark job (a kind of its own on chain); when the task settles, the escrow sets the worker's IB.
Against anvil, js-ipfs, a worker and two oracles as separate processes."""

from __future__ import annotations

import time

from backend.db import connect, migrate
from backend.indexer import INDEXER_MIGRATIONS
from backend.manager import Manager, ManagerConfig
from backend.state import APP_MIGRATIONS
from backend.workerbench import BenchmarkOrder
from inferix.testing.devnet import dev_account
from inferix.protocol import IFX, USD, TaskState, get_job, get_node, get_task
from inferix.storage import IPFSStore
from tests.integration.backend.conftest import manager_running
from tests.conftest import fund, wait
from tests.e2e.test_nodes import start_network

WORKER, MANAGER, BROKE_MANAGER = 10, 11, 19
ORDER = BenchmarkOrder(width=192, height=108, samples=16, frames=2)


def make_manager(devnet, store, tmp_path, index: int) -> Manager:
    conn = connect(tmp_path / f"manager-{index}.sqlite")
    migrate(conn, "app", APP_MIGRATIONS)
    migrate(conn, "indexer", INDEXER_MIGRATIONS)
    manager = Manager(devnet.chain(index), store, conn,
                      ManagerConfig(stake=1_000 * IFX, seed_key=b"k" * 32, work_dir=tmp_path / f"work-{index}",
                                    render_window=900, poll_interval=0.5, benchmark=ORDER))
    # workers registered by earlier tests are not this test's business: mark them as benchmarked already
    chain = devnet.chain()
    for ev in chain.events("Staking", ["Registered"], devnet.deployment.block_number, chain.block_number()):
        if ev.args["account"] != dev_account(WORKER).address:
            conn.execute("INSERT OR IGNORE INTO benchmarks (worker, created_at) VALUES (?, 0)", (ev.args["account"],))
    return manager


def test_manager_benchmarks_a_new_worker_and_its_ib_is_measured(devnet, ipfs_node, node_factory, tmp_path):
    store = IPFSStore(ipfs_node.api_multiaddr, timeout=10)
    oracles, worker = start_network(devnet, node_factory, worker_index=WORKER)
    nodes = [*oracles, worker]
    chain = devnet.chain()
    address = dev_account(WORKER).address
    assert get_node(chain, address).ib == 0
    fund(devnet, address, 100_000 * IFX)  # unstaked: what the worker tops its stake up from once its IB is known

    # a manager without IFX cannot pay for it: nothing is created, nothing is recorded, it says why
    broke = make_manager(devnet, store, tmp_path, BROKE_MANAGER)
    jobs_before = chain.call("JobEscrow", "jobCount")
    broke.poll_events()
    broke.step_benchmarks()
    assert chain.call("JobEscrow", "jobCount") == jobs_before
    assert broke.db.execute("SELECT COUNT(*) FROM benchmarks WHERE worker = ?", (address,)).fetchone()[0] == 0

    mgr_chain = devnet.chain(MANAGER)
    fund(devnet, mgr_chain.address, 5_000 * IFX)
    manager = make_manager(devnet, store, tmp_path, MANAGER)
    manager.ensure_ready()
    balance0 = chain.call("IFXToken", "balanceOf", mgr_chain.address)
    try:
        with manager_running(manager) as errors:
            def benchmark_task() -> int | None:
                row = manager.db.execute("SELECT task_id FROM seeds WHERE job_id = (SELECT job_id FROM benchmarks "
                                         "WHERE worker = ?)", (address,)).fetchone()
                return row[0] if row and row[0] else None

            wait(lambda: benchmark_task() and get_task(chain, benchmark_task()).state == TaskState.VERIFIED, 400,
                 "the worker's benchmark task verified", nodes)
            assert not errors, errors
            row = manager.db.execute("SELECT job_id FROM benchmarks WHERE worker = ?", (address,)).fetchone()
            job = get_job(chain, row["job_id"])
            assert job.creator == job.manager == mgr_chain.address and job.closed
            assert job.benchmark  # the kind is on chain, not in free text
            tasks = [r[0] for r in manager.db.execute("SELECT task_id FROM seeds WHERE job_id = ?",
                                                      (row["job_id"],))]
            assert len(tasks) == 1
            task = get_task(chain, tasks[0])
            assert task.worker == address and task.passed and task.state == TaskState.VERIFIED
            assert task.ibm == chain.call("JobEscrow", "benchmarkWork")
            assert get_node(chain, address).ib == 0  # set when the task settles

            # one benchmark per worker: more steps post nothing else
            jobs_after = chain.call("JobEscrow", "jobCount")
            time.sleep(3)
            assert chain.call("JobEscrow", "jobCount") == jobs_after

            devnet.anvil.time_travel(3601)
            wait(lambda: get_task(chain, tasks[0]).state == TaskState.SETTLED, 60, "settlement by the manager",
                 nodes)
            task = get_task(chain, tasks[0])
            expected = task.ibm * 60 // max(task.render_time, 1)
            ib = get_node(chain, address).ib
            assert ib == min(max(expected, 10_000), 1_000 * 10**6)
            # S(n) = 2 x 4320 x IB x P follows the attested IB, and the worker keeps its stake above it (+10 %)
            assert chain.call("Staking", "minStake", address, USD // 2) == 2 * 4320 * ib * 10**18 // 10**6
            rate = chain.call("PriceFeedAdapter", "price")
            wait(lambda: get_node(chain, address).stake >= chain.call("Staking", "minStake", address, rate) * 11 // 10,
                 60, "the worker's stake topped up to S(n) at its new IB", nodes)
            fee = task.fee
            assert fee > 0
            paid = balance0 - chain.call("IFXToken", "balanceOf", mgr_chain.address) \
                - chain.call("JobEscrow", "claimable", mgr_chain.address)
            assert paid == fee  # the manager paid the worker's fee and nothing else: the rest is refundable
        assert not errors, errors
    finally:
        store.close()
        worker.stop()
        # out of the running for later tests' matching: a worker with no bonded stake is never a candidate
        node = get_node(chain, address)
        devnet.chain(WORKER).transact("Staking", "requestUnbond", node.stake - node.locked - node.unbonding)
