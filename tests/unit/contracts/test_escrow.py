"""Job escrow: every state transition, revert path, deadline and refund."""

import boa
import pytest

from inferix.eip712 import sign_permit
from inferix.protocol import TaskState

from .conftest import IBM, IFX, USD, warp


def task_state(s, task_id):
    return s.escrow.tasks(task_id).state


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


def test_create_job_needs_active_manager_fresh_price_and_allowance(s):
    s.fund(s.creator, 10 * IFX)
    with boa.env.prank(s.creator):
        with boa.reverts("escrow: manager not active"):
            s.escrow.createJob(s.workers[0], "bafy", 1, 2, "", USD, IFX)
        with boa.reverts("erc20: insufficient allowance"):
            s.escrow.createJob(s.manager, "bafy", 1, 2, "", USD, IFX)
        s.token.approve(s.escrow.address, IFX)
        warp(86401)
        with boa.reverts("pricefeed: stale price"):
            s.escrow.createJob(s.manager, "bafy", 1, 2, "", USD, IFX)
    s.refresh_price(100_000_000)  # $1.00
    with boa.env.prank(s.creator):
        job = s.escrow.createJob(s.manager, "bafy", 1, 2, "", USD, IFX)
    assert s.escrow.jobs(job).usdPerIfx == USD
    # the job's rate is locked: later price moves do not change it
    s.refresh_price(25_000_000)
    assert s.escrow.jobs(job).usdPerIfx == USD


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
        s.escrow.postTasks(job, [(IBM, b"\x01" * 32, 1, 1, 3600, "bafy")])
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

@pytest.mark.parametrize("spec,error", [
    ((0, b"\x01" * 32, 1, 1, 3600, "bafy"), "escrow: zero work"),
    ((IBM, b"\x00" * 32, 1, 1, 3600, "bafy"), "escrow: empty key commitment"),
    ((IBM, b"\x01" * 32, 2, 1, 3600, "bafy"), "escrow: bad frame range"),
    ((IBM, b"\x01" * 32, 1, 1, 59, "bafy"), "escrow: render window out of bounds"),
    ((IBM, b"\x01" * 32, 1, 1, 7 * 86400 + 1, "bafy"), "escrow: render window out of bounds"),
    ((IBM, b"\x01" * 32, 1, 1, 3600, ""), "escrow: empty scene CID"),
    ((10_000 * IBM, b"\x01" * 32, 1, 1, 3600, "bafy"), "escrow: budget exceeded"),
])
def test_post_validation(s, spec, error):
    job = s.create_job(budget=100 * IFX)
    with boa.env.prank(s.manager), boa.reverts(error):
        s.escrow.postTasks(job, [spec])


def test_post_only_by_the_jobs_manager(s):
    job = s.create_job()
    with boa.env.prank(s.workers[0]), boa.reverts("escrow: caller is not the job's manager"):
        s.escrow.postTasks(job, [(IBM, b"\x01" * 32, 1, 1, 3600, "bafy")])
    with boa.env.prank(s.manager):
        with boa.reverts("escrow: unknown job"):
            s.escrow.postTasks(77, [(IBM, b"\x01" * 32, 1, 1, 3600, "bafy")])
        with boa.reverts("escrow: no tasks"):
            s.escrow.postTasks(job, [])


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
            s.escrow.assign(task, "0x" + "00" * 20)
        s.escrow.assign(task, worker)
        with boa.reverts("escrow: task not open"):
            s.escrow.assign(task, other)
    with boa.env.prank(other), boa.reverts("escrow: caller is not the assigned worker"):
        s.escrow.accept(task)
    warp(901)
    with boa.env.prank(worker), boa.reverts("escrow: acceptance deadline passed"):
        s.escrow.accept(task)
    # an unaccepted assignment expires back to the open pool, no slashing
    s.escrow.expire(task)
    assert task_state(s, task) == POSTED
    assert s.escrow.tasks(task).attempts == 0


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
    with boa.env.prank(worker):
        with boa.reverts("escrow: empty result CID"):
            s.escrow.submitResult(task, "")
        s.escrow.submitResult(task, "bafyframes")
        with boa.reverts("escrow: task not accepted"):
            s.escrow.submitResult(task, "bafyframes")
    with boa.reverts("escrow: seed does not match commitment"):
        s.escrow.revealKey(task, b"\x13" * 32)
    s.escrow.revealKey(task, s.seed(task))
    assert task_state(s, task) == REVEALED
    assert s.escrow.verdictSubject(task)[1] == boa.eval('keccak256("bafyframes")')


def test_render_deadline_missed_slashes_and_requeues(s):
    job = s.create_job()
    (task,) = s.post(job, window=600)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    collateral = s.escrow.tasks(task).collateral
    with boa.reverts("escrow: deadline not passed"):
        s.escrow.expire(task)
    warp(601)
    with boa.env.prank(worker), boa.reverts("escrow: render deadline passed"):
        s.escrow.submitResult(task, "bafylate")
    penalty_before = s.token.balanceOf(s.issuance.address)
    s.escrow.expire(task)  # permissionless
    slashed = collateral * 1000 // 10_000
    assert s.staking.nodes(worker).stake == 20_000 * IFX - slashed
    assert s.staking.nodes(worker).locked == 0
    assert s.token.balanceOf(s.issuance.address) - penalty_before == slashed
    assert s.issuance.epochs(0).penalty == slashed
    t = s.escrow.tasks(task)
    assert (t.state, t.attempts, t.worker) == (POSTED, 1, "0x" + "00" * 20)
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def test_failed_verdict_slashes_and_requeues_then_refunds_after_max_attempts(s):
    job = s.create_job(budget=100 * IFX)
    (task,) = s.post(job)
    reserved = s.escrow.tasks(task).reserved
    assert s.escrow.jobs(job).budget == 100 * IFX - reserved
    for attempt in range(3):
        worker = s.workers[attempt]
        s.run_task(task, worker, passed=False)
        warp(3601)
        stake_before = s.staking.nodes(worker).stake
        collateral = s.escrow.tasks(task).collateral
        s.escrow.settle([task])
        assert stake_before - s.staking.nodes(worker).stake == collateral // 10
        assert s.staking.nodes(worker).locked == 0
        if attempt < 2:
            assert task_state(s, task) == POSTED
            assert s.escrow.tasks(task).attempts == attempt + 1
    assert task_state(s, task) == FAILED
    assert s.escrow.jobs(job).budget == 100 * IFX  # the reservation came back
    assert s.escrow.jobs(job).openTasks == 0
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def test_unrevealed_task_expires_without_worker_fault(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    with boa.env.prank(worker):
        s.escrow.submitResult(task, "bafyframes")
    warp(3601)
    s.escrow.expire(task)
    assert s.staking.nodes(worker).stake == 20_000 * IFX  # not slashed: the manager did not reveal
    assert s.staking.nodes(worker).locked == 0
    assert task_state(s, task) == POSTED


def test_verification_timeout_requeues_without_slash(s):
    job = s.create_job()
    (task,) = s.post(job)
    worker = s.workers[0]
    s.assign_accept(task, worker)
    s.submit_reveal(task, worker)
    warp(6 * 3600 + 1)
    s.escrow.expire(task)
    assert s.staking.nodes(worker).stake == 20_000 * IFX
    assert task_state(s, task) == POSTED


def test_nothing_to_expire(s):
    job = s.create_job()
    (task,) = s.post(job)
    with boa.reverts("escrow: nothing to expire"):
        s.escrow.expire(task)


def test_settle_rules(s):
    job = s.create_job()
    (task,) = s.post(job)
    with boa.reverts("escrow: no tasks"):
        s.escrow.settle([])
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
    assert s.issuance.epochs(0).workIBM == 40 * IBM


def test_only_proof_of_render_reports_verdicts(s):
    job = s.create_job()
    (task,) = s.post(job)
    for call, args in [("onVerdict", (task, True)), ("onConflict", (task,)), ("onDisputeResolved", (task, True))]:
        with boa.reverts("escrow: caller is not proof of render"):
            getattr(s.escrow, call)(*args)


def test_challenge_rules(s):
    job = s.create_job()
    (task,) = s.post(job)
    s.run_task(task, s.workers[0])
    challenger = s.creator
    with boa.env.prank(challenger), boa.reverts("erc20: insufficient allowance"):
        s.escrow.challenge(task)
    warp(3601)
    with boa.env.prank(challenger), boa.reverts("escrow: challenge window closed"):
        s.escrow.challenge(task)


def test_parameters_governance_bounds(s):
    with boa.reverts("escrow: caller is not governance"):
        s.escrow.setParameter("burnBps", 9000)
    with boa.env.prank(s.governance):
        for name, bad in [("burnBps", 4999), ("slashBps", 10_001), ("collateralBps", 50_001), ("maxAttempts", 0),
                          ("acceptWindow", 59), ("revealWindow", 599), ("verifyWindow", 3 * 86400 + 1),
                          ("challengeWindow", 599), ("disputeWindow", 86399), ("challengeBond", 10**6 * IFX + 1)]:
            with boa.reverts("escrow: out of bounds"):
                s.escrow.setParameter(name, bad)
        with boa.reverts("escrow: unknown parameter"):
            s.escrow.setParameter("owner", 1)
        s.escrow.setParameter("burnBps", 9000)
    assert s.escrow.burnBps() == 9000


def test_wire_once(s):
    with boa.env.prank(s.admin), boa.reverts("escrow: already wired"):
        s.escrow.wire(s.por.address)
