"""Job escrow: every state transition, revert path, deadline and refund."""

import os

import boa
import pytest
from eth_utils import keccak

from inferix.eip712 import sign_permit
from inferix.protocol import COLLATERAL_BPS, SLASH_BPS, TaskState

from .conftest import BENCHMARK_WORK, IBM, IFX, MIN_MANAGER_STAKE, USD, WORKER_STAKE, deployer, warp

ZERO = "0x" + "00" * 20
EMPTY = b"\x00" * 32


def test_the_services_know_the_escrows_initial_economics(s):
    """The matcher and the cheating-payoff table (benchmarks/payoff.py) use these; governance may change them later."""
    assert s.escrow.collateralBps() == COLLATERAL_BPS
    assert s.escrow.slashBps() == SLASH_BPS


def task_state(s, task_id):
    return s.escrow.tasks(task_id).state


def events(contract, name):
    """The events `name` of the last call made on `contract` (its child calls' events included)."""
    return [log for log in contract.get_logs() if type(log).__name__ == name]


def run_benchmark(s, worker, render_time, scene="bafybench", passed=True, settle=True, budget=100 * IFX):
    """A benchmark job on `scene`, its one task of `benchmarkWork` rendered by `worker` in `render_time` seconds
    (accept to submit), verified `passed` and (by default) settled. Returns (job, task)."""
    s.fund(s.creator, budget)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, budget)
        job = s.escrow.createBenchmarkJob(s.manager, scene, 1, 1, "benchmark", USD, budget)
    (task,) = s.post(job, ibm=s.escrow.benchmarkWork(), window=max(3600, render_time + 60))
    s.assign_accept(task, worker)
    warp(render_time)
    s.submit_reveal(task, worker)
    s.verdict(task, passed)
    if settle:
        warp(3601)
        s.escrow.settle([task])
    return job, task


POSTED, ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, VERIFIED, DISPUTED, SETTLED, FAILED, CANCELLED = tuple(TaskState)[1:]


# ---------------------------------------------------------------- jobs

@pytest.mark.parametrize("kwargs,error", [
    (dict(cid=""), "escrow: empty scene CID"),
    (dict(start=5, end=4), "escrow: bad frame range"),
    (dict(max_price=0), "escrow: zero max price"),
    (dict(budget=0), "escrow: zero budget"),
])
def test_create_job_validation(s, kwargs, error):
    budget = kwargs.get("budget", 10 * IFX)
    s.fund(s.creator, 10 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 10 * IFX)
        with boa.reverts(error):
            s.escrow.createJob(s.manager, kwargs.get("cid", "bafy"), kwargs.get("start", 1), kwargs.get("end", 2),
                               "", kwargs.get("max_price", USD), budget)
    assert s.escrow.jobCount() == 0


def test_create_job_needs_active_manager_fresh_price_and_allowance(s):
    s.fund(s.creator, 10 * IFX)
    with boa.env.prank(s.creator):
        with boa.reverts("escrow: manager not active"):
            s.escrow.createJob(s.workers[0], "bafy", 1, 2, "", USD, IFX)
        with boa.reverts("erc20: insufficient allowance"):
            s.escrow.createJob(s.manager, "bafy", 1, 2, "", USD, IFX)
        s.token.approve(s.escrow.address, 2 * IFX)
        warp(86401)
        with boa.reverts("pricefeed: stale price"):
            s.escrow.createJob(s.manager, "bafy", 1, 2, "", USD, IFX)
    s.refresh_price(100_000_000)  # $1.00
    # the new answer has no weight in its own block: the average is still the old $0.50
    assert s.feed.price() == USD // 2
    warp(3600)  # $1.00 now fills the whole averaging window
    with boa.env.prank(s.creator):
        job = s.escrow.createJob(s.manager, "bafy", 1, 2, "", USD, IFX)
        logs = events(s.escrow, "JobCreated")
    assert s.escrow.jobs(job).usdPerIfx == USD
    assert len(logs) == 1 and (logs[0].jobId, logs[0].usdPerIfx, logs[0].benchmark) == (job, USD, False)
    # the job's rate is locked: later price moves do not change it
    s.refresh_price(25_000_000)
    warp(3600)
    assert s.feed.price() == USD // 4
    assert s.escrow.jobs(job).usdPerIfx == USD
    # ... while a new job gets the new rate
    with boa.env.prank(s.creator):
        job2 = s.escrow.createJob(s.manager, "bafy", 1, 2, "", USD, IFX)
    assert s.escrow.jobs(job2).usdPerIfx == USD // 4


def test_create_job_rate_is_the_time_weighted_price(s):
    """A one-block spike of the feed barely moves the rate a job locks."""
    warp(3600)
    s.refresh_price()  # $0.50
    warp(1800 - 12)
    s.refresh_price(100_000_000)  # $1.00, 12 s before the job
    warp(12)
    job = s.create_job(budget=10 * IFX)
    expected = (50_000_000 * (1800 - 12) + 100_000_000 * 12) * 10**10 // 1800
    assert s.escrow.jobs(job).usdPerIfx == expected == 503_333_333_333_333_333


def test_create_job_with_permit(s):
    from eth_account import Account
    creator = Account.from_key(b"\x77" * 32)
    s.fund(creator.address, 50 * IFX)
    deadline = boa.env.evm.patch.timestamp + 600
    signed = sign_permit(creator.key, s.chain_id, s.token.address, creator.address, s.escrow.address, 50 * IFX, 0,
                         deadline)
    with boa.env.prank(creator.address):
        job = s.escrow.createJobWithPermit(s.manager, "bafy", 1, 8, "", USD, 50 * IFX, deadline, signed.v,
                                           signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))
        assert s.escrow.jobs(job).budget == 50 * IFX
        assert s.token.balanceOf(creator.address) == 0
        # the same permit again: ignored, and without allowance the transfer fails clearly
        s.fund(creator.address, 50 * IFX)
        with boa.reverts("erc20: insufficient allowance"):
            s.escrow.createJobWithPermit(s.manager, "bafy", 1, 8, "", USD, 50 * IFX, deadline, signed.v,
                                         signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def test_close_job_refunds_and_blocks_new_tasks(s):
    job = s.create_job(budget=100 * IFX)
    (t1, t2) = s.post(job, n=2)  # 20 IFX reserved each
    with boa.env.prank(s.workers[0]), boa.reverts("escrow: caller is not the creator"):
        s.escrow.closeJob(job)
    with boa.env.prank(s.creator):
        s.escrow.closeJob(job)
        assert s.escrow.claimable(s.creator) == 60 * IFX
        with boa.reverts("escrow: job closed"):
            s.escrow.closeJob(job)
        # the creator may now cancel open tasks; their reservation is refunded
        s.escrow.cancelTask(t1)
    assert task_state(s, t1) == CANCELLED
    assert s.escrow.claimable(s.creator) == 80 * IFX
    with boa.env.prank(s.manager), boa.reverts("escrow: job closed"):
        s.escrow.postTasks(job, [s.spec()])
    with boa.env.prank(s.creator):
        s.escrow.withdraw()
        with boa.reverts("escrow: nothing to withdraw"):
            s.escrow.withdraw()
    assert s.token.balanceOf(s.creator) == 80 * IFX
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities() == 20 * IFX


def test_close_unknown_job(s):
    with boa.env.prank(s.creator), boa.reverts("escrow: unknown job"):
        s.escrow.closeJob(999)


# ---------------------------------------------------------------- tasks

@pytest.mark.parametrize("kwargs,error", [
    (dict(ibm=0), "escrow: zero work"),
    (dict(commit=EMPTY), "escrow: empty key commitment"),
    (dict(digest=EMPTY), "escrow: empty manifest digest"),
    (dict(start=2, end=1), "escrow: bad frame range"),
    (dict(window=59), "escrow: render window out of bounds"),
    (dict(window=7 * 86400 + 1), "escrow: render window out of bounds"),
    (dict(cid=""), "escrow: empty scene CID"),
    (dict(ibm=10_000 * IBM), "escrow: budget exceeded"),
])
def test_post_validation(s, kwargs, error):
    job = s.create_job(budget=100 * IFX)
    with boa.env.prank(s.manager), boa.reverts(error):
        s.escrow.postTasks(job, [s.spec(**kwargs)])
    assert s.escrow.taskCount() == 0


def test_post_records_the_task_and_logs_digest_and_budget(s):
    job = s.create_job(budget=100 * IFX)
    seed = os.urandom(32)
    commit, digest = keccak(seed), keccak(b"any 32-byte digest " + seed)
    with boa.env.prank(s.manager):
        first_spec = s.spec(10 * IBM, commit, digest, 3, 7, 1200, "bafynoised", seed=seed)
        first = s.escrow.postTasks(job, [first_spec, s.spec(ibm=IBM)])
        logs = events(s.escrow, "TaskPosted")
    round_, sealed = first_spec[3:5]
    assert len(sealed) == 160 and s.escrow.tasks(first).escrowRound == round_
    assert (logs[0].escrowRound, logs[0].seedEscrow) == (round_, sealed)
    assert not s.escrow.tasks(first).late
    assert first == 1 and s.escrow.taskCount() == 2
    task = s.escrow.tasks(first)
    assert (task.jobId, task.state, task.ibm, task.reserved, task.keyCommit, task.manifestDigest, task.renderWindow) == (
        job, POSTED, 10 * IBM, 20 * IFX, commit, digest, 1200)
    assert s.escrow.commitUsed(s.manager, commit) and not s.escrow.commitUsed(s.creator, commit)
    assert [(log.taskId, log.reserved, log.jobBudget) for log in logs] == [(1, 20 * IFX, 80 * IFX), (2, 2 * IFX, 78 * IFX)]
    assert (logs[0].keyCommit, logs[0].manifestDigest, logs[0].frameStart, logs[0].frameEnd, logs[0].sceneCid) == (
        commit, digest, 3, 7, "bafynoised")
    assert s.escrow.jobs(job).budget == 78 * IFX
    assert s.escrow.jobs(job).openTasks == 2


def test_key_commitment_is_never_accepted_twice(s):
    job = s.create_job(budget=100 * IFX)
    (task,) = s.post(job)
    used = s.escrow.tasks(task).keyCommit
    with boa.env.prank(s.manager):
        # again, on another task of the same job (a fresh manifest digest does not help)
        with boa.reverts("escrow: key commitment already used"):
            s.escrow.postTasks(job, [s.spec(commit=used)])
        # twice in one batch
        fresh = keccak(os.urandom(32))
        with boa.reverts("escrow: key commitment already used"):
            s.escrow.postTasks(job, [s.spec(commit=fresh), s.spec(commit=fresh)])
    # nor on another job of the same manager
    job2 = s.create_job(budget=100 * IFX)
    with boa.env.prank(s.manager), boa.reverts("escrow: key commitment already used"):
        s.escrow.postTasks(job2, [s.spec(commit=used)])
    assert s.escrow.taskCount() == 1


def test_another_manager_cannot_block_a_post_by_copying_its_commitment(s):
    """Commitments are single-use per manager: a griefer who copies one from the mempool into its own post does
    not make the honest manager's post revert (the copy is useless to it: it does not know the seed)."""
    griefer = boa.env.generate_address("griefer-manager")
    s.fund(griefer, 1_000 * IFX)
    with boa.env.prank(griefer):
        s.staking.register(3, 0, s.license(griefer, 3))
        s.token.approve(s.staking.address, 1_000 * IFX)
        s.staking.stake(1_000 * IFX)
    fresh = keccak(os.urandom(32))
    theirs = s.create_job(budget=100 * IFX, manager=griefer)
    with boa.env.prank(griefer):
        s.escrow.postTasks(theirs, [s.spec(commit=fresh)])
    job = s.create_job(budget=100 * IFX)
    with boa.env.prank(s.manager):
        s.escrow.postTasks(job, [s.spec(commit=fresh)])
    assert s.escrow.taskCount() == 2


def test_post_only_by_the_jobs_active_manager(s):
    job = s.create_job()
    with boa.env.prank(s.workers[0]), boa.reverts("escrow: caller is not the job's manager"):
        s.escrow.postTasks(job, [s.spec()])
    with boa.env.prank(s.manager):
        with boa.reverts("escrow: unknown job"):
            s.escrow.postTasks(77, [s.spec()])
        with boa.reverts("escrow: no tasks"):
            s.escrow.postTasks(job, [])
        # a manager that starts unbonding below its minimum stops posting
        s.staking.requestUnbond(1)
        with boa.reverts("escrow: manager not active"):
            s.escrow.postTasks(job, [s.spec()])
    assert s.escrow.taskCount() == 0


def test_assign_and_accept_rules(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker, other = s.workers[0], s.workers[1]
    with boa.env.prank(worker):
        with boa.reverts("escrow: task not assigned"):
            s.escrow.accept(task)
        with boa.reverts("escrow: caller is not the job's manager"):
            s.escrow.assign(task, worker)
    with boa.env.prank(s.manager):
        with boa.reverts("escrow: zero worker"):
            s.escrow.assign(task, ZERO)
        s.escrow.assign(task, worker)
        with boa.reverts("escrow: task not open"):
            s.escrow.assign(task, other)
    with boa.env.prank(other), boa.reverts("escrow: caller is not the assigned worker"):
        s.escrow.accept(task)
    warp(901)
    with boa.env.prank(worker), boa.reverts("escrow: acceptance deadline passed"):
        s.escrow.accept(task)
    # an unaccepted assignment expires back to the open pool, no slashing, and keeps its key
    commit = s.escrow.tasks(task).keyCommit
    s.escrow.expire(task)
    t = s.escrow.tasks(task)
    assert (t.state, t.attempts, t.worker, t.keyCommit) == (POSTED, 0, ZERO, commit)
    s.assign_accept(task, other)
    assert task_state(s, task) == ACCEPTED


def test_worker_price_above_job_maximum(s):
    worker = s.workers[2]
    with boa.env.prank(worker):
        s.staking.setPrice(2 * USD)
    job = s.create_job(max_price=USD)
    (task,) = s.post(job)
    with boa.env.prank(s.manager):
        s.escrow.assign(task, worker)
    with boa.env.prank(worker), boa.reverts("escrow: price above job maximum"):
        s.escrow.accept(task)


def test_submit_and_reveal_rules(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    with boa.reverts("escrow: task not submitted"):
        s.escrow.revealKey(task, s.seed(task))
    with boa.env.prank(s.workers[1]), boa.reverts("escrow: caller is not the assigned worker"):
        s.escrow.submitResult(task, "bafyframes")
    warp(120)
    with boa.env.prank(worker):
        with boa.reverts("escrow: empty result CID"):
            s.escrow.submitResult(task, "")
        s.escrow.submitResult(task, "bafyframes")
        with boa.reverts("escrow: task not accepted"):
            s.escrow.submitResult(task, "bafyframes")
    t = s.escrow.tasks(task)
    assert (t.state, t.renderTime) == (SUBMITTED, 120)  # accept -> submit
    assert t.deadline == boa.env.evm.patch.timestamp + 3600  # the reveal window
    assert s.escrow.resultUsed(task, "bafyframes") and not s.escrow.resultUsed(task + 1, "bafyframes")
    with boa.reverts("escrow: seed does not match commitment"):
        s.escrow.revealKey(task, b"\x13" * 32)
    s.escrow.revealKey(task, s.seed(task))
    assert task_state(s, task) == REVEALED
    submitted_at = t.submittedAt
    assert submitted_at == boa.env.evm.patch.timestamp  # the submission time: committees are drawn after it
    assert s.escrow.verdictSubject(task) == (REVEALED, boa.eval('keccak256("bafyframes")'), 0, 10 * IFX,
                                             submitted_at)


def test_result_cid_is_never_accepted_twice(s):
    job = s.create_job()
    (t1, t2) = s.post(job, n=2)
    s.assign_accept(t1, s.workers[0])
    s.assign_accept(t2, s.workers[1])
    s.submit_reveal(t1, s.workers[0], cid="bafycopied")
    # another task may carry the same CID (its frames would fail verification): a copier in the mempool cannot
    # make an honest worker's submission revert
    with boa.env.prank(s.workers[1]):
        s.escrow.submitResult(t2, "bafycopied")
    # the same task's next attempt cannot resubmit the failed attempt's result either
    s.verdict(t1, False)
    warp(3601)
    s.escrow.settle([t1])
    s.rekey(t1)
    s.assign_accept(t1, s.workers[2])
    with boa.env.prank(s.workers[2]), boa.reverts("escrow: result CID already submitted"):
        s.escrow.submitResult(t1, "bafycopied")
    with boa.env.prank(s.workers[2]):
        s.escrow.submitResult(t1, "bafyfresh")
    assert task_state(s, t1) == SUBMITTED


def test_render_deadline_missed_slashes_and_requeues(s):
    job = s.create_job()
    (task,) = s.post(job, window=600)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    collateral = s.escrow.tasks(task).collateral
    assert collateral == 20 * IFX
    with boa.reverts("escrow: deadline not passed"):
        s.escrow.expire(task)
    warp(601)
    with boa.env.prank(worker), boa.reverts("escrow: render deadline passed"):
        s.escrow.submitResult(task, "bafylate")
    penalty_before = s.token.balanceOf(s.issuance.address)
    s.escrow.expire(task)  # permissionless
    failed = events(s.escrow, "TaskFailed")
    slashed = collateral * 1000 // 10_000
    assert s.staking.nodes(worker).stake == WORKER_STAKE - slashed
    assert s.staking.nodes(worker).locked == 0
    assert s.token.balanceOf(s.issuance.address) - penalty_before == slashed
    assert s.issuance.epochs(0).penalty == slashed
    t = s.escrow.tasks(task)
    assert (t.state, t.attempts, t.worker, t.fee, t.collateral) == (POSTED, 1, ZERO, 0, 0)
    # the attempt's secret is spent: the next attempt waits for a fresh key
    assert (t.keyCommit, t.manifestDigest) == (EMPTY, EMPTY)
    assert len(failed) == 1
    assert (failed[0].taskId, failed[0].worker, failed[0].slashed, failed[0].requeued, failed[0].attempts) == (
        task, worker, slashed, True, 1)
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def test_requeued_task_needs_a_rekey_by_its_manager(s):
    job = s.create_job()
    (task,) = s.post(job, window=600)
    old_seed = s.seed(task)
    s.assign_accept(task, s.workers[0])
    with boa.env.prank(s.manager), boa.reverts("escrow: task not open"):
        s.escrow.rekey(task, *s.rekey_args(task))
    warp(601)
    s.escrow.expire(task)
    with boa.env.prank(s.manager), boa.reverts("escrow: task needs a fresh key (rekey)"):
        s.escrow.assign(task, s.workers[1])
    fresh = os.urandom(32)
    args = s.rekey_args(task, fresh)
    commit, digest, round_, sealed, package = args
    with boa.env.prank(s.workers[1]), boa.reverts("escrow: caller is not the job's manager"):
        s.escrow.rekey(task, *args)
    with boa.env.prank(s.manager):
        with boa.reverts("escrow: key commitment already used"):  # the spent secret cannot come back
            s.escrow.rekey(task, keccak(old_seed), digest, round_, sealed, package)
        with boa.reverts("escrow: empty key commitment"):
            s.escrow.rekey(task, EMPTY, digest, round_, sealed, package)
        with boa.reverts("escrow: empty manifest digest"):
            s.escrow.rekey(task, commit, EMPTY, round_, sealed, package)
        with boa.reverts("escrow: empty scene CID"):
            s.escrow.rekey(task, commit, digest, round_, sealed, "")
        with boa.reverts("escrow: malformed seed escrow"):
            s.escrow.rekey(task, commit, digest, round_, sealed[:-1], package)
        s.escrow.rekey(task, *args)
        logs = events(s.escrow, "TaskRekeyed")
        with boa.reverts("escrow: task already has a key"):
            s.escrow.rekey(task, *s.rekey_args(task))
    assert len(logs) == 1
    assert (logs[0].taskId, logs[0].attempt, logs[0].keyCommit, logs[0].manifestDigest, logs[0].escrowRound,
            logs[0].seedEscrow, logs[0].sceneCid) == (task, 1, *args)
    t = s.escrow.tasks(task)
    assert (t.state, t.keyCommit, t.manifestDigest, t.escrowRound) == (POSTED, commit, digest, round_)
    # the old seed no longer opens the task: only the new one does
    s.seeds[("task", task)] = fresh
    s.assign_accept(task, s.workers[1])
    with boa.env.prank(s.workers[1]):
        s.escrow.submitResult(task, "bafyattempt1")
    with boa.reverts("escrow: seed does not match commitment"):
        s.escrow.revealKey(task, old_seed)
    s.escrow.revealKey(task, fresh)
    assert task_state(s, task) == REVEALED


def test_failed_verdict_slashes_and_requeues_then_refunds_after_max_attempts(s):
    job = s.create_job(budget=100 * IFX)
    (task,) = s.post(job)
    reserved = s.escrow.tasks(task).reserved
    assert s.escrow.jobs(job).budget == 100 * IFX - reserved
    for attempt in range(3):
        worker = s.workers[attempt]
        if attempt:
            s.rekey(task)
        s.run_task(task, worker, passed=False)
        assert s.attempt(task) == attempt
        warp(3601)
        stake_before = s.staking.nodes(worker).stake
        collateral = s.escrow.tasks(task).collateral
        assert collateral == 20 * IFX
        s.escrow.settle([task])
        assert stake_before - s.staking.nodes(worker).stake == collateral // 10
        assert s.staking.nodes(worker).locked == 0
        assert s.escrow.tasks(task).attempts == attempt + 1
        assert s.escrow.tasks(task).keyCommit == EMPTY
        if attempt < 2:
            assert task_state(s, task) == POSTED
            assert s.escrow.jobs(job).openTasks == 1
    assert task_state(s, task) == FAILED
    assert s.escrow.jobs(job).budget == 100 * IFX  # the reservation came back
    assert s.escrow.jobs(job).openTasks == 0
    with boa.env.prank(s.manager), boa.reverts("escrow: task not open"):
        s.escrow.rekey(task, *s.rekey_args(task))
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def _submit_unrevealed(s, job, ibm=10 * IBM):
    """A task submitted by workers[0] whose seed the manager withholds. Returns (task, worker, fee)."""
    (task,) = s.post(job, ibm=ibm)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    with boa.env.prank(worker):
        s.escrow.submitResult(task, "bafyframes")
    return task, worker, s.escrow.tasks(task).fee


def _top_up_manager(s, amount):
    s.fund(s.manager, amount)
    with boa.env.prank(s.manager):
        s.token.approve(s.staking.address, amount)
        s.staking.stake(amount)


def test_unrevealed_task_slashes_the_manager_late_then_again_and_pays_the_worker(s):
    job = s.create_job()
    task, worker, fee = _submit_unrevealed(s, job)
    assert fee == 10 * IFX
    with boa.reverts("escrow: deadline not passed"):
        s.escrow.expire(task)
    warp(3601)
    pool = s.token.balanceOf(s.issuance.address)
    worker_balance = s.token.balanceOf(worker)
    # first expiry: the manager is late; max(100 IFX, 2 x fee) = 100 IFX, all of it to the penalty pool
    s.escrow.expire(task)
    (late,) = events(s.escrow, "ManagerSlashed")
    assert (late.taskId, late.manager, late.amount, late.toWorker, late.late) == (task, s.manager, 100 * IFX, 0, True)
    assert not events(s.escrow, "TaskFailed")
    assert s.staking.nodes(s.manager).stake == MIN_MANAGER_STAKE - 100 * IFX
    assert s.token.balanceOf(worker) == worker_balance
    assert s.issuance.epochs(0).penalty == s.token.balanceOf(s.issuance.address) - pool == 100 * IFX
    t = s.escrow.tasks(task)
    # the task waits for its seed escrow to open, and a reveal window after that
    assert (t.state, t.late, t.worker, t.fee) == (SUBMITTED, True, worker, fee)
    assert t.deadline == max(boa.env.evm.patch.timestamp, s.escrow_time(task)) + 3600
    with boa.reverts("escrow: deadline not passed"):
        s.escrow.expire(task)
    # second expiry: nobody opened the escrow (it never decrypted): slashed again, the worker paid its fee from it
    warp(t.deadline - boa.env.evm.patch.timestamp + 1)
    s.escrow.expire(task)
    slashes = events(s.escrow, "ManagerSlashed")
    failed = events(s.escrow, "TaskFailed")
    assert len(slashes) == 1
    assert (slashes[0].taskId, slashes[0].manager, slashes[0].amount, slashes[0].toWorker, slashes[0].late) == (
        task, s.manager, 100 * IFX, fee, False)
    assert s.staking.nodes(s.manager).stake == MIN_MANAGER_STAKE - 200 * IFX
    assert s.token.balanceOf(worker) - worker_balance == fee
    assert s.token.balanceOf(s.issuance.address) - pool == 200 * IFX - fee
    assert s.issuance.epochs(0).penalty == 200 * IFX - fee
    # not the worker's fault: its stake is whole and its collateral free
    assert s.staking.nodes(worker).stake == WORKER_STAKE
    assert s.staking.nodes(worker).locked == 0
    assert (failed[0].slashed, failed[0].requeued, failed[0].attempts) == (0, True, 1)
    t = s.escrow.tasks(task)
    assert (t.state, t.attempts, t.keyCommit, t.manifestDigest, t.resultHash, t.late) == (
        POSTED, 1, EMPTY, EMPTY, EMPTY, False)
    with boa.env.prank(s.manager), boa.reverts("escrow: task needs a fresh key (rekey)"):
        s.escrow.assign(task, s.workers[1])
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()


def test_unrevealed_expensive_task_slashes_twice_its_fee(s):
    job = s.create_job(budget=1_000 * IFX)
    task, worker, fee = _submit_unrevealed(s, job, ibm=200 * IBM)
    assert fee == 200 * IFX
    _top_up_manager(s, 1_000 * IFX)  # so that it can pay both slashes in full
    warp(3601)
    before = s.token.balanceOf(worker)
    s.escrow.expire(task)
    (slash,) = events(s.escrow, "ManagerSlashed")
    assert (slash.amount, slash.toWorker, slash.late) == (400 * IFX, 0, True)  # fee x managerSlashBps 20000
    warp(s.escrow.tasks(task).deadline - boa.env.evm.patch.timestamp + 1)
    s.escrow.expire(task)
    (slash,) = events(s.escrow, "ManagerSlashed")
    assert (slash.amount, slash.toWorker, slash.late) == (400 * IFX, 200 * IFX, False)
    assert s.staking.nodes(s.manager).stake == 2_000 * IFX - 800 * IFX
    assert s.token.balanceOf(worker) - before == 200 * IFX
    assert s.issuance.epochs(0).penalty == 600 * IFX


def test_unrevealed_task_with_a_poor_manager_pays_what_was_taken(s):
    job = s.create_job(budget=1_000 * IFX)
    task, worker, fee = _submit_unrevealed(s, job, ibm=200 * IBM)  # fee 200 IFX, each slash asks 400 IFX
    warp(3601)
    s.escrow.expire(task)  # late: 400 IFX of the manager's 1,000
    assert s.staking.nodes(s.manager).stake == MIN_MANAGER_STAKE - 400 * IFX
    with boa.env.prank(s.escrow.address):  # other slashes left the manager 150 IFX
        s.staking.slash(s.manager, MIN_MANAGER_STAKE - 400 * IFX - 150 * IFX, ZERO, 0)
    warp(s.escrow.tasks(task).deadline - boa.env.evm.patch.timestamp + 1)
    before = s.token.balanceOf(worker)
    s.escrow.expire(task)
    (slash,) = events(s.escrow, "ManagerSlashed")
    assert (slash.amount, slash.toWorker, slash.late) == (150 * IFX, 150 * IFX, False)
    assert s.staking.nodes(s.manager).stake == 0
    assert s.token.balanceOf(worker) - before == 150 * IFX
    assert task_state(s, task) == POSTED


def test_late_manager_with_nothing_left_still_lets_the_task_wait_for_its_escrow(s):
    """A manager whose stake is gone is slashed nothing for lateness, but the task still waits for its escrow."""
    job = s.create_job()
    task, worker, fee = _submit_unrevealed(s, job)
    with boa.env.prank(s.escrow.address):
        s.staking.slash(s.manager, MIN_MANAGER_STAKE, ZERO, 0)
    warp(3601)
    s.escrow.expire(task)
    (slash,) = events(s.escrow, "ManagerSlashed")
    assert (slash.amount, slash.toWorker, slash.late) == (0, 0, True)
    t = s.escrow.tasks(task)
    assert (t.state, t.late) == (SUBMITTED, True)
    s.escrow.revealKey(task, s.seed(task), sender=s.creator)
    assert task_state(s, task) == REVEALED


def test_verification_timeout_requeues_without_slash(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    s.submit_reveal(task, worker)
    warp(6 * 3600)
    with boa.reverts("escrow: deadline not passed"):
        s.escrow.expire(task)
    warp(1)
    s.escrow.expire(task)
    assert s.staking.nodes(worker).stake == WORKER_STAKE
    assert s.staking.nodes(worker).locked == 0
    assert s.staking.nodes(s.manager).stake == MIN_MANAGER_STAKE  # the key was revealed: nobody's fault
    t = s.escrow.tasks(task)
    assert (t.state, t.attempts, t.keyCommit) == (POSTED, 1, EMPTY)
    assert s.issuance.epochs(0).penalty == 0


def test_nothing_to_expire(s):
    job = s.create_job()
    (task,) = s.post(job)
    with boa.reverts("escrow: nothing to expire"):
        s.escrow.expire(task)
    s.run_task(task, s.workers[0])
    warp(3601)
    with boa.reverts("escrow: nothing to expire"):  # verified: settle, not expire
        s.escrow.expire(task)
    s.escrow.settle([task])
    with boa.reverts("escrow: nothing to expire"):
        s.escrow.expire(task)


def test_settle_rules(s):
    job = s.create_job()
    (task,) = s.post(job)
    with boa.reverts("escrow: no tasks"):
        s.escrow.settle([])
    with boa.reverts("escrow: task not verified"):
        s.escrow.settle([task])
    s.run_task(task, s.workers[0])
    with boa.reverts("escrow: challenge window open"):
        s.escrow.settle([task])
    warp(3601)
    s.escrow.settle([task])
    with boa.reverts("escrow: task not verified"):
        s.escrow.settle([task])


def test_batch_settle(s):
    job = s.create_job(budget=1_000 * IFX)
    tasks = s.post(job, n=4)
    for i, t in enumerate(tasks):
        s.run_task(t, s.workers[i % 3])
    warp(3601)
    supply = s.token.totalSupply()
    s.escrow.settle(tasks)
    assert supply - s.token.totalSupply() == 4 * 8 * IFX  # 80 % of 4 x 10 IFX
    assert s.escrow.claimable(s.treasury) == 4 * 2 * IFX
    ep = s.issuance.epochs(0)
    assert (ep.workIBM, ep.fees, ep.burned) == (40 * IBM, 40 * IFX, 32 * IFX)
    assert s.issuance.workerFees(0, s.workers[0]) == 20 * IFX  # tasks 1 and 4
    assert s.issuance.managerFees(0, s.manager) == 40 * IFX
    assert all(s.escrow.tasks(t).state == SETTLED for t in tasks)


def test_only_proof_of_render_reports_verdicts(s):
    job = s.create_job()
    (task,) = s.post(job)
    for call, args in [("onVerdict", (task, True)), ("onDisputeResolved", (task, True))]:
        with boa.reverts("escrow: caller may not call this hook"):
            getattr(s.escrow, call)(*args)
    assert not hasattr(s.escrow, "onConflict")  # a dissenting committee member challenges instead


# ---------------------------------------------------------------- challenges

def test_challenge_rules(s):
    job = s.create_job()
    (task,) = s.post(job)
    with boa.env.prank(s.creator), boa.reverts("escrow: task not verified"):
        s.escrow.challenge(task)
    s.run_task(task, s.workers[0])
    challenger = s.creator
    assert s.escrow.bondFor(task) == 100 * IFX  # max(100 IFX, 10 IFX fee x 100 %)
    with boa.env.prank(challenger), boa.reverts("erc20: insufficient allowance"):
        s.escrow.challenge(task)
    warp(3601)
    with boa.env.prank(challenger), boa.reverts("escrow: challenge window closed"):
        s.escrow.challenge(task)


def test_bond_scales_with_the_fee(s):
    job = s.create_job(budget=1_000 * IFX)
    (small,) = s.post(job, ibm=IBM)  # fee 1 IFX
    (big,) = s.post(job, ibm=300 * IBM)  # fee 300 IFX
    s.run_task(small, s.workers[0])
    s.run_task(big, s.workers[1])
    assert s.escrow.bondFor(small) == 100 * IFX  # fee 1 IFX: the fixed bond
    assert s.escrow.bondFor(big) == 300 * IFX  # fee x challengeBondBps 10000
    with boa.env.prank(s.governance):
        s.escrow.setParameter("challengeBondBps", 25_000)
    assert s.escrow.bondFor(big) == 750 * IFX
    assert s.escrow.bondFor(small) == 100 * IFX
    with boa.env.prank(s.governance):
        s.escrow.setParameter("challengeBond", 0)
    assert s.escrow.bondFor(small) == 2_500_000_000_000_000_000
    bond = s.challenge(big, s.creator)
    assert bond == 750 * IFX
    assert (s.escrow.bonds(big), s.escrow.bondsHeld()) == (bond, bond)
    assert s.escrow.disputeOf(big) == (s.creator, True)
    assert task_state(s, big) == DISPUTED
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def test_undecided_challenge_keeps_the_verdict(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.run_task(task, worker)
    bond = s.challenge(task, s.creator)
    assert task_state(s, task) == DISPUTED
    warp(3 * 86400)
    with boa.reverts("escrow: deadline not passed"):
        s.escrow.expire(task)
    warp(1)
    s.escrow.expire(task)
    t = s.escrow.tasks(task)
    assert (t.state, t.passed, t.challenger, t.attempts) == (VERIFIED, True, ZERO, 0)
    assert s.escrow.claimable(s.creator) == bond  # the bond comes back
    assert (s.escrow.bonds(task), s.escrow.bondsHeld()) == (0, 0)
    # settle-able at once, without a second challenge window
    with boa.env.prank(s.creator), boa.reverts("escrow: challenge window closed"):
        s.escrow.challenge(task)
    s.escrow.settle([task])
    assert task_state(s, task) == SETTLED
    assert s.staking.nodes(worker).stake == WORKER_STAKE
    assert s.issuance.epochs(0).workIBM == 10 * IBM
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def test_no_quorum_gets_no_verdict_and_expire_requeues_without_fault(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    s.submit_reveal(task, worker)
    members = s.draw(task)
    assert len(members) == 3
    # one pass, one fail, one silent member: no side reaches the quorum of two
    s.vote(task, {members[0]: True, members[1]: False})
    (none,) = events(s.por, "NoVerdict")
    assert (none.taskId, none.attempt, none.passVotes, none.failVotes) == (task, 0, 1, 1)
    assert task_state(s, task) == REVEALED  # no verdict, no dispute
    assert s.escrow.disputeOf(task) == (ZERO, False)
    with boa.reverts("por: task not awaiting a verdict"):
        s.por.finalize(task)  # decided once: no second finalization
    with boa.reverts("escrow: deadline not passed"):
        s.escrow.expire(task)
    warp(s.escrow.tasks(task).deadline - boa.env.evm.patch.timestamp + 1)  # the verify window
    s.escrow.expire(task)
    t = s.escrow.tasks(task)
    assert (t.state, t.attempts, t.keyCommit, t.submittedAt) == (POSTED, 1, EMPTY, 0)
    assert s.staking.nodes(worker).stake == WORKER_STAKE
    assert s.staking.nodes(worker).locked == 0
    assert s.issuance.epochs(0).penalty == 0
    assert all(s.issuance.oracleWeights(0, m) == 0 for m in members)  # no verdict: nobody earns


def test_overturned_pass_pays_the_challenger_from_the_workers_slash(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.run_task(task, worker)  # a wrong pass
    collateral = s.escrow.tasks(task).collateral
    bond = s.challenge(task, s.creator)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(task, False)
        (resolved,) = events(s.por, "DisputeResolved")
    assert (resolved.taskId, resolved.passed, resolved.overturned) == (task, False, True)
    assert s.escrow.claimable(s.creator) == bond
    assert s.escrow.disputeOf(task) == (s.creator, False)  # the winner stays on the task
    creator_balance = s.token.balanceOf(s.creator)
    pool = s.token.balanceOf(s.issuance.address)
    s.escrow.settle([task])
    slashed = collateral // 10
    reward = slashed * 5000 // 10_000
    assert s.token.balanceOf(s.creator) - creator_balance == reward
    assert s.token.balanceOf(s.issuance.address) - pool == slashed - reward
    assert s.staking.nodes(worker).stake == WORKER_STAKE - slashed
    t = s.escrow.tasks(task)
    assert (t.state, t.challenger) == (POSTED, ZERO)
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def test_upheld_challenge_loses_the_bond_and_leaves_no_challenger(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.run_task(task, worker, passed=False)  # a right fail, wrongly challenged
    bond = s.challenge(task, s.creator)
    pool = s.token.balanceOf(s.issuance.address)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(task, False)
    assert s.escrow.disputeOf(task) == (ZERO, False)
    assert s.escrow.claimable(s.creator) == 0
    assert s.token.balanceOf(s.issuance.address) - pool == bond
    creator_balance = s.token.balanceOf(s.creator)
    s.escrow.settle([task])
    assert s.token.balanceOf(s.creator) == creator_balance  # no share of the worker's slash
    slashed = 20 * IFX // 10  # 10 % of the 20 IFX collateral
    assert s.issuance.epochs(0).penalty == bond + slashed  # all of the slash, none to the losing challenger
    assert s.staking.nodes(worker).stake == WORKER_STAKE - slashed


# ---------------------------------------------------------------- benchmark jobs

def test_benchmark_sets_ib_from_the_render_time(s):
    worker = s.workers[1]
    job, task = run_benchmark(s, worker, render_time=96, settle=False)
    assert s.escrow.jobs(job).benchmark
    assert s.escrow.tasks(task).renderTime == 96
    assert s.staking.nodes(worker).ib == 0  # not before settlement
    warp(3601)
    s.escrow.settle([task])
    ibs = events(s.escrow, "IBSet")
    # 2 IBM in 96 s: 1.25 IBM per minute
    assert s.staking.nodes(worker).ib == BENCHMARK_WORK * 60 // 96 == 1_250_000
    assert s.staking.totalIB() == 1_250_000
    assert len(ibs) == 1 and (ibs[0].worker, ibs[0].ib) == (worker, 1_250_000)
    assert task_state(s, task) == SETTLED
    # a later benchmark replaces it
    run_benchmark(s, worker, render_time=60)
    assert s.staking.nodes(worker).ib == 2_000_000
    assert s.staking.totalIB() == 2_000_000


def test_failed_benchmark_sets_no_ib(s):
    worker = s.workers[1]
    _, task = run_benchmark(s, worker, render_time=30, passed=False)
    assert s.staking.nodes(worker).ib == 0
    assert s.staking.totalIB() == 0
    assert task_state(s, task) == POSTED


def test_ordinary_job_never_sets_ib(s):
    job = s.create_job()
    (task,) = s.post(job, ibm=BENCHMARK_WORK)
    s.run_task(task, s.workers[0])
    warp(3601)
    s.escrow.settle([task])
    assert s.staking.nodes(s.workers[0]).ib == 0
    assert not s.escrow.jobs(job).benchmark


@pytest.mark.parametrize("work,render_time,ib", [
    (1, 3000, 10_000),  # 0.00002 IB, clamped up to 0.01
    (1000 * IBM, 0, 1000 * IBM),  # submitted in the accept's block: 60,000 IB, clamped down to 1000
])
def test_benchmark_ib_is_clamped(s, work, render_time, ib):
    with boa.env.prank(s.governance):
        s.escrow.setParameter("benchmarkWork", work)
    run_benchmark(s, s.workers[0], render_time=render_time, budget=5_000 * IFX)
    assert s.staking.nodes(s.workers[0]).ib == ib


def test_benchmark_job_rules(s):
    s.fund(s.creator, 100 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 100 * IFX)
        job = s.escrow.createBenchmarkJob(s.manager, "bafybench", 1, 1, "", USD, 100 * IFX)
        logs = events(s.escrow, "JobCreated")
    assert logs[0].benchmark and s.escrow.jobs(job).benchmark
    with boa.env.prank(s.manager):
        with boa.reverts("escrow: benchmark work is the standard's"):
            s.escrow.postTasks(job, [s.spec(ibm=BENCHMARK_WORK + 1)])
        with boa.reverts("escrow: one task per benchmark job"):
            s.escrow.postTasks(job, [s.spec(ibm=BENCHMARK_WORK), s.spec(ibm=BENCHMARK_WORK)])
        s.escrow.postTasks(job, [s.spec(ibm=BENCHMARK_WORK)])
        with boa.reverts("escrow: one task per benchmark job"):
            s.escrow.postTasks(job, [s.spec(ibm=BENCHMARK_WORK)])


def test_benchmark_scene_is_the_standard_one(s):
    with boa.env.prank(s.workers[0]), boa.reverts("governed: caller is not governance"):
        s.escrow.setBenchmarkScene("bafystandard")
    with boa.env.prank(s.governance):
        s.escrow.setBenchmarkScene("bafystandard")
    assert s.escrow.benchmarkScene() == keccak(b"bafystandard")
    s.fund(s.creator, 100 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 100 * IFX)
        with boa.reverts("escrow: not the standard benchmark scene"):
            s.escrow.createBenchmarkJob(s.manager, "bafyeasy", 1, 1, "", USD, 50 * IFX)
        s.escrow.createBenchmarkJob(s.manager, "bafystandard", 1, 1, "", USD, 50 * IFX)
    with boa.env.prank(s.governance):
        s.escrow.setBenchmarkScene("")  # any scene again
    assert s.escrow.benchmarkScene() == EMPTY
    with boa.env.prank(s.creator):
        s.escrow.createBenchmarkJob(s.manager, "bafyeasy", 1, 1, "", USD, 50 * IFX)


def test_benchmark_needs_a_standard_work():
    governance = boa.env.generate_address("gov")
    any_address = boa.env.generate_address("any")
    escrow = deployer("JobEscrow").deploy(any_address, any_address, any_address, any_address, governance,
                                          any_address, 0, ZERO)
    with boa.reverts("escrow: no benchmark standard"):
        escrow.createBenchmarkJob(any_address, "bafybench", 1, 1, "", USD, IFX)


# ---------------------------------------------------------------- governance

def test_parameters_governance_bounds(s):
    for caller in (s.admin, s.creator):
        with boa.env.prank(caller), boa.reverts("governed: caller is not governance"):
            s.escrow.setParameter("burnBps", 9000)
    with boa.env.prank(s.governance):
        for name, bad in [("burnBps", 4999), ("burnBps", 10_001), ("slashBps", 10_001), ("collateralBps", 50_001),
                          ("maxAttempts", 0), ("maxAttempts", 11), ("acceptWindow", 59), ("acceptWindow", 86401),
                          ("revealWindow", 599), ("verifyWindow", 3 * 86400 + 1), ("challengeWindow", 599),
                          ("challengeWindow", 3 * 86400 + 1), ("disputeWindow", 86399),
                          ("disputeWindow", 14 * 86400 + 1), ("challengeBond", 10**6 * IFX + 1),
                          ("challengeBondBps", 50_001), ("challengerRewardBps", 10_001),
                          ("managerSlash", 10**6 * IFX + 1), ("managerSlashBps", 9_999),
                          ("managerSlashBps", 50_001), ("escrowSlack", 599), ("escrowSlack", 7 * 86400 + 1),
                          ("benchmarkWork", 0), ("benchmarkWork", 1000 * IBM + 1)]:
            with boa.reverts("escrow: out of bounds"):
                s.escrow.setParameter(name, bad)
        with boa.reverts("escrow: unknown parameter"):
            s.escrow.setParameter("owner", 1)
        for name, good in [("burnBps", 9000), ("challengeBondBps", 0), ("challengerRewardBps", 10_000),
                           ("managerSlash", 0), ("managerSlashBps", 50_000), ("benchmarkWork", 1000 * IBM),
                           ("challengeWindow", 600), ("disputeWindow", 86400), ("escrowSlack", 600),
                           ("escrowSlack", 7 * 86400), ("verifyWindow", 3 * 86400)]:
            s.escrow.setParameter(name, good)
            (log,) = events(s.escrow, "ParameterChanged")
            assert (log.name, log.newValue) == (name, good)
            assert getattr(s.escrow, name)() == good


def test_windows_stay_below_the_unbonding_period(s):
    unbonding = s.staking.unbondingPeriod()
    assert unbonding == 7 * 86400
    with boa.env.prank(s.governance):
        with boa.reverts("escrow: challenge + dispute windows must stay below unbonding"):
            s.escrow.setParameter("disputeWindow", unbonding - 3600)  # + the 1 h challenge window = unbonding
        s.escrow.setParameter("disputeWindow", unbonding - 3601)
        with boa.reverts("escrow: challenge + dispute windows must stay below unbonding"):
            s.escrow.setParameter("challengeWindow", 3601)
        s.escrow.setParameter("disputeWindow", 3 * 86400)
        s.escrow.setParameter("challengeWindow", 3 * 86400)
        s.staking.setUnbondingPeriod(14 * 86400)
        s.escrow.setParameter("disputeWindow", 11 * 86400 - 1)
    assert s.escrow.challengeWindow() + s.escrow.disputeWindow() < s.staking.unbondingPeriod()


def test_wire_once(s):
    assert s.escrow.wired() and s.escrow.governance() == s.governance
    assert s.escrow.proofOfRender() == s.por.address
    assert s.escrow.beacon() == s.por.beacon() == s.beacon.address  # seed escrows use the committees' beacon
    assert s.escrow.lane() == s.lane.address
    with boa.env.prank(s.admin), boa.reverts("governed: already wired"):
        s.escrow.wire(s.por.address, s.lane.address)
    with boa.env.prank(s.creator), boa.reverts("governed: caller is not the deployer"):
        s.escrow.wire(s.creator, s.creator)
