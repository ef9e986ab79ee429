"""Fixtures of the backend tests.

``idx_lifecycle``: a job's whole life scripted on the session's anvil with plain transactions (no node
processes): the job is created, three tasks are posted (each with its key commitment and sealed-manifest
digest), one assignment expires, two tasks are accepted, rendered (result CIDs), revealed and judged by their
drawn committees (the beacon round after the submission is posted, each committee drawn, and its members commit to
and then reveal their votes: one task passes, one fails and is re-queued with a slash), settled, one task is
cancelled; the manager gives the re-queued task a fresh key (``rekey``), the worker renders its second attempt
but the manager lets the reveal expire (the manager is slashed, the worker paid its fee from the slash, the task
re-queued again; the manager's stake is topped up for the other tests); the BMW epoch is closed, the creator
closes the job and cancels the re-queued task, and the nodes unbond (so that no matcher of another test picks
them). It records the last block of every stage so that an indexer can be stopped at any stage.

``db_backend`` / ``db_url`` / ``new_db_url``: the backend's two databases, SQLite and PostgreSQL (the session's
server, ``postgres``): a test that asks for one runs once on each, on fresh, empty databases.

The lifecycle registers two oracles (``IDX_ORACLES``); committees are drawn among every eligible oracle, so when
other tests of the session left oracles staked, those can be drawn too: every member drawn votes (all dev accounts'
keys are known), and ``IdxLifecycle.committees`` records who sat on each committee.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import pytest
from eth_utils import keccak

from inferix.service import run_loop
from inferix.protocol import (IBM, IFX, ROLE_MANAGER, ROLE_ORACLE, ROLE_WORKER, USD, TaskState, ensure_staked,
                              escrow_round, get_node, get_task)
from tests.conftest import dev_index, fund, manager, post_beacon_round

IDX_CREATOR, IDX_WORKER, IDX_ORACLES = 12, 13, (14, 15)
IDX_STAGES = ("nodes", "created", "posted", "expired", "accepted", "submitted", "revealed", "verdicts", "settled",
              "rekeyed", "reveal_missed", "epoch", "closed", "unbonded")


@dataclass
class IdxLifecycle:
    job_id: int
    passed_task: int
    failed_task: int
    cancelled_task: int
    creator: str
    worker: str
    oracles: list[str]
    manager: str
    seeds: dict[int, bytes]  # the first attempt's seed of each task
    manifests: dict[int, bytes]  # the first attempt's sealed-manifest digest of each task
    result_cids: dict[int, str]  # the first attempt's result of the passed and the failed task
    scores: dict[tuple[int, str], int]
    committees: dict[int, list[str]]  # the passed and the failed task's first committee, in draw order
    rounds: dict[int, int]  # the beacon round that drew each of them
    retry_seed: bytes  # the failed task's second attempt (rekeyed): seed, manifest digest, package, result
    retry_manifest: bytes
    retry_package: str
    retry_cid: str
    manager_slash: int  # what the expired reveal cost the manager (IFX wei)
    epoch: int
    stages: dict[str, int] = field(default_factory=dict)  # stage -> its last block


@contextmanager
def manager_running(manager, interval: float = 0.5) -> Iterator[list[BaseException]]:
    """The manager's loop in a thread while the block runs; yields the errors it raised (the first one stops the
    loop, so that the test sees it)."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def surface(exc: BaseException) -> bool:
        errors.append(exc)
        return False  # stop the loop

    thread = threading.Thread(target=run_loop, args=(manager.run_once, interval, stop, logging.getLogger("test"),
                                                     "manager", surface), daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(timeout=30)


def prepare(manager, timeout: float = 300) -> None:
    """One ``prepare_jobs`` step, then the rest of it: a batch's tasks are noised on a thread beside the loop, and
    the step that finds them done records them."""
    manager.prepare_jobs()
    deadline = time.monotonic() + timeout
    while manager.batcher is not None and manager.batcher.running_job() is not None:
        assert time.monotonic() < deadline, "the manager's preparation did not finish"
        time.sleep(0.2)
        manager.prepare_jobs()


def draw_committee(devnet, task_id: int) -> tuple[int, list[str]]:
    """Post the task's beacon round and draw its committee; returns the round and the members in draw order."""
    round_ = post_beacon_round(devnet, task_id)
    chain = devnet.chain(0)
    chain.transact("ProofOfRender", "drawCommittee", task_id)
    return round_, list(chain.call("ProofOfRender", "committeeOf", task_id, get_task(chain, task_id).attempts))


def vote_in_committee(devnet, task_id: int, members: list[str], passed: bool,
                      scores: tuple[int, ...]) -> dict[str, int]:
    """Every member commits to the same vote, then reveals it (in draw order); the last reveal decides. Returns
    each member's score."""
    attempt = get_task(devnet.chain(0), task_id).attempts
    chains = [devnet.chain(dev_index(devnet, m)) for m in members]
    salts = {m: keccak(text=f"idx salt {task_id} {attempt} {m}") for m in members}
    given = dict(zip(members, scores))
    for member, chain in zip(members, chains):
        digest = chain.call("ProofOfRender", "commitmentOf", task_id, attempt, member, passed, given[member],
                            salts[member])
        chain.transact("ProofOfRender", "commitVote", task_id, digest)
    for member, chain in zip(members, chains):
        chain.transact("ProofOfRender", "revealVote", task_id, passed, given[member], salts[member])
    return given


def idx_refresh_price(devnet) -> None:
    """The mock IFX/USD feed goes stale after a long time travel: publish the same price again."""
    devnet.chain(0).transact("MockAggregator", "setAnswer", devnet.deployment.parameters["mock_price_8dec"])


def idx_run_lifecycle(devnet) -> IdxLifecycle:
    chain = devnet.chain()
    mgr = manager(devnet)
    creator = devnet.chain(IDX_CREATOR)
    worker = devnet.chain(IDX_WORKER)
    oracles = [devnet.chain(i) for i in IDX_ORACLES]
    escrow = devnet.deployment.address("JobEscrow")
    stages: dict[str, int] = {}

    def stage(name: str) -> None:
        stages[name] = chain.block_number()

    idx_refresh_price(devnet)
    fund(devnet, creator.address, 200 * IFX)
    if get_node(chain, worker.address).role == 0:
        fund(devnet, worker.address, 20_000 * IFX)
    ensure_staked(worker, ROLE_WORKER, 10_000 * IFX, USD // 2)
    for oracle in oracles:
        if get_node(chain, oracle.address).role == 0:
            fund(devnet, oracle.address, 2_000 * IFX)
        ensure_staked(oracle, ROLE_ORACLE, 1_000 * IFX)
    stage("nodes")

    creator.transact("IFXToken", "approve", escrow, 100 * IFX)
    creator.transact("JobEscrow", "createJob", mgr.address, "bafyidxscene", 1, 6, "192x108 16spp png", USD, 100 * IFX)
    job_id = chain.call("JobEscrow", "jobCount")
    stage("created")

    first = chain.call("JobEscrow", "taskCount") + 1
    a, b, c = first, first + 1, first + 2
    seeds = {t: keccak(text=f"idx seed {t} {job_id}") for t in (a, b, c)}
    manifests = {t: keccak(text=f"idx sealed manifest {t} {job_id}") for t in (a, b, c)}
    # the seed escrows are placeholders: this lifecycle never opens one (tests/e2e does)
    escrow = (escrow_round(chain, 900), bytes(160))
    specs = [(1 * IBM, keccak(seeds[t]), manifests[t], *escrow, 1 + 2 * i, 2 + 2 * i, 900, f"bafyidxpackage{t}")
             for i, t in enumerate((a, b, c))]
    mgr.transact("JobEscrow", "postTasks", job_id, specs)
    stage("posted")

    mgr.transact("JobEscrow", "assign", a, worker.address)
    devnet.anvil.time_travel(901)
    creator.transact("JobEscrow", "expire", a)
    stage("expired")

    for t in (a, b):
        mgr.transact("JobEscrow", "assign", t, worker.address)
        worker.transact("JobEscrow", "accept", t)
    stage("accepted")

    results = {a: f"bafyidxresult{a}", b: f"bafyidxresult{b}"}  # a result CID is accepted once, ever
    for t in (a, b):
        worker.transact("JobEscrow", "submitResult", t, results[t])
    stage("submitted")

    for t in (a, b):
        mgr.transact("JobEscrow", "revealKey", t, seeds[t])
    stage("revealed")

    scores: dict[tuple[int, str], int] = {}
    committees: dict[int, list[str]] = {}
    rounds: dict[int, int] = {}
    for t, passed, values in ((a, True, (9100, 9300, 9200)), (b, False, (1200, 800, 1000))):
        rounds[t], committees[t] = draw_committee(devnet, t)
        for member, score in vote_in_committee(devnet, t, committees[t], passed, values).items():
            scores[(t, member)] = score
        task = get_task(chain, t)
        assert task.state == TaskState.VERIFIED and task.passed == passed, (t, task.state)
    stage("verdicts")

    devnet.anvil.time_travel(3601)
    creator.transact("JobEscrow", "settle", [a, b])
    mgr.transact("JobEscrow", "cancelTask", c)
    stage("settled")

    # the failed task's second attempt needs a fresh secret before it can be assigned
    retry_seed = keccak(text=f"idx seed {b} {job_id} attempt 1")
    retry_manifest = keccak(text=f"idx sealed manifest {b} {job_id} attempt 1")
    retry_package, retry_cid = f"bafyidxpackage{b}r1", f"bafyidxresult{b}r1"
    mgr.transact("JobEscrow", "rekey", b, keccak(retry_seed), retry_manifest, escrow_round(chain, 900), bytes(160),
                 retry_package)
    stage("rekeyed")

    # rendered and submitted, but the manager never reveals the key and its seed escrow does not open (a placeholder
    # ciphertext): late (slashed), then slashed again with the worker paid its fee from the slash
    mgr.transact("JobEscrow", "assign", b, worker.address)
    worker.transact("JobEscrow", "accept", b)
    worker.transact("JobEscrow", "submitResult", b, retry_cid)
    manager_stake = get_node(chain, mgr.address).stake
    devnet.anvil.time_travel(chain.call("JobEscrow", "revealWindow") + 1)
    creator.transact("JobEscrow", "expire", b)
    assert get_task(chain, b).state == TaskState.SUBMITTED and get_task(chain, b).late
    devnet.anvil.time_travel(get_task(chain, b).deadline - chain.w3.eth.get_block("latest")["timestamp"] + 1)
    creator.transact("JobEscrow", "expire", b)
    manager_slash = manager_stake - get_node(chain, mgr.address).stake
    fund(devnet, mgr.address, manager_slash)
    ensure_staked(mgr, ROLE_MANAGER, manager_stake)  # the session's manager stays active for the other tests
    stage("reveal_missed")

    epoch = chain.call("BMWIssuance", "currentEpoch")
    devnet.anvil.time_travel(72 * 3600 + 1)
    idx_refresh_price(devnet)
    creator.transact("BMWIssuance", "closeEpoch")
    stage("epoch")

    creator.transact("JobEscrow", "closeJob", job_id)
    creator.transact("JobEscrow", "cancelTask", b)
    stage("closed")

    node = get_node(chain, worker.address)
    worker.transact("Staking", "requestUnbond", node.stake - node.locked - node.unbonding)
    for oracle in oracles:
        node = get_node(chain, oracle.address)
        oracle.transact("Staking", "requestUnbond", node.stake - node.locked - node.unbonding)
    stage("unbonded")

    assert tuple(stages) == IDX_STAGES
    return IdxLifecycle(job_id=job_id, passed_task=a, failed_task=b, cancelled_task=c, creator=creator.address,
                        worker=worker.address, oracles=[o.address for o in oracles], manager=mgr.address,
                        seeds=seeds, manifests=manifests, result_cids=results, scores=scores, committees=committees,
                        rounds=rounds, retry_seed=retry_seed,
                        retry_manifest=retry_manifest, retry_package=retry_package, retry_cid=retry_cid,
                        manager_slash=manager_slash, epoch=epoch, stages=stages)


@pytest.fixture(scope="session")
def idx_lifecycle(devnet) -> IdxLifecycle:
    return idx_run_lifecycle(devnet)


DB_BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=DB_BACKENDS)
def db_backend(request) -> str:
    """Each of the backend's databases in turn (``backend.db``): the test runs once on each."""
    return request.param


@pytest.fixture
def new_db_url(request, db_backend, tmp_path):
    """``new_db_url(name)``: the URL of a new, empty database of the test's backend (a SQLite file in the test's
    directory, or a new database on the session's PostgreSQL, dropped after the test)."""
    server = request.getfixturevalue("postgres") if db_backend == "postgresql" else None
    made: list[str] = []

    def make(name: str = "backend") -> str:
        if server is None:
            return str(tmp_path / f"{name}.sqlite")
        made.append(server.create_database(name))
        return made[-1]

    yield make
    for url in made:
        server.drop_database(url)


@pytest.fixture
def db_url(new_db_url) -> str:
    """A new, empty database of the test's backend (``db_backend``)."""
    return new_db_url()
