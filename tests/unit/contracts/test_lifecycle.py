"""One task from job creation to claims, every balance checked to the wei."""

import boa

from .conftest import EPOCH, EMISSION_RATE, IBM, IFX, USD_PER_IFX, WORKER_PRICE, WORKER_STAKE, warp


def test_full_lifecycle_balances_to_the_wei(s):
    worker = s.workers[0]
    o1, o2, o3 = s.oracles[:3]
    budget = 1_000 * IFX
    supply0 = s.token.totalSupply()

    job_id = s.create_job(budget=budget)
    assert s.token.balanceOf(s.creator) == 0
    assert s.token.balanceOf(s.escrow.address) == budget

    (task_id,) = s.post(job_id, ibm=10 * IBM)
    # reservation at the job's max price ($1/IBM) and locked rate ($0.50/IFX): 10 IBM -> 20 IFX
    assert s.escrow.tasks(task_id).reserved == 20 * IFX
    assert s.escrow.jobs(job_id).budget == budget - 20 * IFX

    s.assign_accept(task_id, worker)
    fee = 10 * WORKER_PRICE * 10**18 // USD_PER_IFX  # 10 IBM x $0.50 / $0.50 = 10 IFX
    assert fee == 10 * IFX
    task = s.escrow.tasks(task_id)
    assert task.fee == fee and task.collateral == 2 * fee
    assert s.staking.nodes(worker).locked == 2 * fee

    warp(600)  # ten minutes of rendering
    s.submit_reveal(task_id, worker, cid="bafyframes")
    assert s.escrow.tasks(task_id).renderTime == 600
    submitted_at = s.escrow.tasks(task_id).submittedAt
    assert s.escrow.verdictSubject(task_id) == (5, boa.eval('keccak256("bafyframes")'), 0, fee, submitted_at)
    # the committee is drawn with the first beacon round after the submission; with three equal oracles and
    # three seats, it is all of them
    s.publish_round(task_id)
    assert s.por.drawRound(task_id) == s.beacon.roundAt(submitted_at) + 1
    members = s.draw(task_id)
    assert sorted(members) == sorted(o.address for o in (o1, o2, o3))
    salts = {m: bytes([i + 1]) * 32 for i, m in enumerate(members)}
    for m in members:  # commit, then reveal: the reveal phase opens once all three committed
        with boa.env.prank(m):
            s.por.commitVote(task_id, s.commitment(task_id, m, True, 9_000, salts[m]))
    for i, m in enumerate(members):
        with boa.env.prank(m):
            s.por.revealVote(task_id, True, 9_000, salts[m])
        if i < 2:
            assert s.escrow.tasks(task_id).state == 5  # decided by the last reveal (or finalize)
    assert s.escrow.tasks(task_id).state == 6
    # the final verdict credits the three voters the task's fee value
    assert [s.issuance.oracleWeights(0, o.address) for o in (o1, o2, o3)] == [fee, fee, fee]
    assert s.issuance.epochs(0).verdictWeight == 3 * fee

    with boa.reverts("escrow: challenge window open"):
        s.escrow.settle([task_id])
    warp(3601)
    s.escrow.settle([task_id])

    burned = fee * 8000 // 10_000
    to_treasury = fee - burned
    assert s.token.totalSupply() == supply0 - burned
    assert s.escrow.claimable(s.treasury) == to_treasury
    assert s.staking.nodes(worker).locked == 0
    assert s.escrow.jobs(job_id).budget == budget - fee  # unspent reservation returned
    assert s.escrow.tasks(task_id).state == 8
    ep = s.issuance.epochs(0)
    assert (ep.workIBM, ep.fees, ep.burned) == (10 * IBM, fee, burned)
    assert s.issuance.workerFees(0, worker) == s.issuance.managerFees(0, s.manager) == fee

    # unspent budget back to the creator
    with boa.env.prank(s.creator):
        s.escrow.closeJob(job_id)
        s.escrow.withdraw()
    assert s.token.balanceOf(s.creator) == budget - fee
    with boa.env.prank(s.treasury):
        s.escrow.withdraw()
    assert s.token.balanceOf(s.treasury) == to_treasury
    assert s.token.balanceOf(s.escrow.address) == 0

    # epoch close mints min(W_p x E_p = 10 IBM x 10 IFX, 90 % of the 8 IFX burned): the usage cap binds
    warp(EPOCH)
    s.refresh_price()
    s.issuance.closeEpoch()
    minted = min(10 * EMISSION_RATE, burned * 9000 // 10_000)
    assert minted == 7_200_000_000_000_000_000 < burned
    epoch = s.issuance.epochs(0)
    assert epoch.minted == minted
    assert s.token.totalSupply() == supply0 - burned + minted
    worker_pool = minted * 7500 // 10_000
    oracle_pool = minted * 1500 // 10_000
    manager_pool = minted * 250 // 10_000
    treasury_mint = minted * 750 // 10_000
    assert (epoch.workerPool, epoch.oraclePool, epoch.managerPool) == (worker_pool, oracle_pool, manager_pool)

    assert oracle_pool % 3 == 0  # no rounding dust at these numbers
    before = {a: s.token.balanceOf(a) for a in (worker, o1.address, o2.address, s.manager, s.treasury)}
    with boa.env.prank(worker):
        assert s.issuance.claim(0) == worker_pool
    for o in (o1, o2, o3):
        with boa.env.prank(o.address):
            assert s.issuance.claim(0) == oracle_pool // 3
    with boa.env.prank(s.manager):
        assert s.issuance.claim(0) == manager_pool
    assert s.issuance.claimTreasury() == treasury_mint
    assert s.token.balanceOf(worker) - before[worker] == worker_pool
    assert s.token.balanceOf(o1.address) - before[o1.address] == oracle_pool // 3
    assert s.token.balanceOf(s.manager) - before[s.manager] == manager_pool
    assert s.token.balanceOf(s.treasury) - before[s.treasury] == treasury_mint
    assert s.token.balanceOf(s.issuance.address) == 0
    # the epoch's net effect on the supply: less was minted back than the fees burned
    assert s.token.totalSupply() == supply0 - burned + minted < supply0
    with boa.env.prank(worker), boa.reverts("bmw: nothing to claim"):
        s.issuance.claim(0)


def test_requeued_task_with_rekey_balances_to_the_wei(s):
    """A task fails once (worker slashed, re-queued), the manager rekeys it, a second worker passes it: every
    IFX is accounted for, the first worker's slash ending in the oracles' pool."""
    bad_worker, good_worker = s.workers[:2]
    oracles = s.oracles[:3]
    budget = 100 * IFX
    supply0 = s.token.totalSupply()
    job_id = s.create_job(budget=budget)
    (task_id,) = s.post(job_id, ibm=10 * IBM)
    first_commit = s.escrow.tasks(task_id).keyCommit

    s.run_task(task_id, bad_worker, passed=False)
    fee = s.escrow.tasks(task_id).fee
    collateral = s.escrow.tasks(task_id).collateral
    assert (fee, collateral) == (10 * IFX, 20 * IFX)
    warp(3601)
    s.escrow.settle([task_id])
    slashed = collateral * 1000 // 10_000
    assert s.staking.nodes(bad_worker).stake == WORKER_STAKE - slashed
    assert s.escrow.tasks(task_id).state == 1 and s.escrow.tasks(task_id).attempts == 1
    assert s.token.totalSupply() == supply0  # a failed task burns nothing

    s.rekey(task_id)
    assert s.escrow.tasks(task_id).keyCommit not in (first_commit, b"\x00" * 32)
    s.run_task(task_id, good_worker)
    assert s.attempt(task_id) == 1
    warp(3601)
    s.escrow.settle([task_id])
    burned = fee * 8000 // 10_000
    assert s.token.totalSupply() == supply0 - burned
    assert s.escrow.jobs(job_id).budget == budget - fee
    assert s.staking.nodes(good_worker).stake == WORKER_STAKE
    assert s.staking.nodes(good_worker).locked == s.staking.nodes(bad_worker).locked == 0

    with boa.env.prank(s.creator):
        s.escrow.closeJob(job_id)
        s.escrow.withdraw()
    with boa.env.prank(s.treasury):
        s.escrow.withdraw()
    assert s.token.balanceOf(s.creator) == budget - fee
    assert s.token.balanceOf(s.escrow.address) == 0

    warp(EPOCH)
    s.refresh_price()
    s.issuance.closeEpoch()
    ep = s.issuance.epochs(0)
    minted = min(10 * EMISSION_RATE, burned * 9000 // 10_000)
    assert (ep.workIBM, ep.fees, ep.burned, ep.penalty, ep.minted) == (10 * IBM, fee, burned, slashed, minted)
    # the three members voted both final verdicts (the fail, then the pass): 2 x fee of weight each
    assert [s.issuance.oracleWeights(0, o.address) for o in oracles] == [2 * fee] * 3
    oracle_pool = minted * 1500 // 10_000 + slashed
    assert ep.oraclePool == oracle_pool
    with boa.env.prank(bad_worker), boa.reverts("bmw: nothing to claim"):
        s.issuance.claim(0)
    with boa.env.prank(good_worker):
        assert s.issuance.claim(0) == minted * 7500 // 10_000
    for o in oracles:
        with boa.env.prank(o.address):
            assert s.issuance.claim(0) == oracle_pool // 3
    with boa.env.prank(s.manager):
        assert s.issuance.claim(0) == minted * 250 // 10_000
    assert s.issuance.claimTreasury() == minted * 750 // 10_000
    # what stays is the oracle pool's rounding dust (a third of it does not divide), to the wei
    assert s.token.balanceOf(s.issuance.address) == oracle_pool - 3 * (oracle_pool // 3) == 2
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()
