"""One task from job creation to claims, every balance checked to the wei."""

import boa

from .conftest import EPOCH, EMISSION_RATE, IBM, IFX, USD_PER_IFX, WORKER_PRICE, warp


def test_full_lifecycle_balances_to_the_wei(s):
    worker = s.workers[0]
    o1, o2 = s.oracles[:2]
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

    s.submit_reveal(task_id, worker, cid="bafyframes")
    # quorum 2, signed as an oracle signs (eth-account typed data), submitted one per call
    s.por.submitVerdict(task_id, True, 9_000, [s.sign(o1, task_id, True)])
    assert s.escrow.tasks(task_id).state == 5  # one vote is not a quorum
    s.por.submitVerdict(task_id, True, 9_000, [s.sign(o2, task_id, True)])
    assert s.escrow.tasks(task_id).state == 6

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

    # unspent budget back to the creator
    with boa.env.prank(s.creator):
        s.escrow.closeJob(job_id)
        s.escrow.withdraw()
    assert s.token.balanceOf(s.creator) == budget - fee
    with boa.env.prank(s.treasury):
        s.escrow.withdraw()
    assert s.token.balanceOf(s.treasury) == to_treasury
    assert s.token.balanceOf(s.escrow.address) == 0

    # epoch close mints W_p x E_p = 10 IBM x 10 IFX
    warp(EPOCH)
    s.refresh_price()
    s.issuance.closeEpoch()
    minted = 10 * EMISSION_RATE
    epoch = s.issuance.epochs(0)
    assert epoch.minted == minted
    assert s.token.totalSupply() == supply0 - burned + minted
    worker_pool = minted * 7500 // 10_000
    oracle_pool = minted * 1500 // 10_000
    manager_pool = minted * 250 // 10_000
    treasury_mint = minted * 750 // 10_000
    assert (epoch.workerPool, epoch.oraclePool, epoch.managerPool) == (worker_pool, oracle_pool, manager_pool)

    before = {a: s.token.balanceOf(a) for a in (worker, o1.address, o2.address, s.manager, s.treasury)}
    with boa.env.prank(worker):
        assert s.issuance.claim(0) == worker_pool
    with boa.env.prank(o1.address):
        assert s.issuance.claim(0) == oracle_pool // 2
    with boa.env.prank(o2.address):
        assert s.issuance.claim(0) == oracle_pool // 2
    with boa.env.prank(s.manager):
        assert s.issuance.claim(0) == manager_pool
    assert s.issuance.claimTreasury() == treasury_mint
    assert s.token.balanceOf(worker) - before[worker] == worker_pool
    assert s.token.balanceOf(o1.address) - before[o1.address] == oracle_pool // 2
    assert s.token.balanceOf(s.manager) - before[s.manager] == manager_pool
    assert s.token.balanceOf(s.treasury) - before[s.treasury] == treasury_mint
    assert s.token.balanceOf(s.issuance.address) == 0
    with boa.env.prank(worker), boa.reverts("bmw: nothing to claim"):
        s.issuance.claim(0)
