"""BMW issuance: epoch close, mint formula and caps, pools, penalty pool, claims, IBME."""

import boa
import pytest

from .conftest import EMISSION_RATE, EPOCH, IBM, IFX, deployer, warp


def settle_passed(s, n=1, ibm=10 * IBM, workers=None):
    job = s.create_job(budget=10_000 * IFX)
    tasks = s.post(job, ibm=ibm, n=n)
    for i, t in enumerate(tasks):
        s.run_task(t, (workers or s.workers)[i % len(workers or s.workers)])
    warp(3601)
    s.escrow.settle(tasks)
    return tasks


def close(s):
    warp(EPOCH)
    s.refresh_price()
    s.issuance.closeEpoch()


def test_epoch_cannot_close_early(s):
    with boa.reverts("bmw: epoch not over"):
        s.issuance.closeEpoch()


def test_stale_price_blocks_minting(s):
    warp(EPOCH)
    with boa.reverts("pricefeed: stale price"):
        s.issuance.closeEpoch()


def test_empty_epoch_mints_nothing(s):
    supply = s.token.totalSupply()
    close(s)
    assert s.issuance.epochs(0).closed
    assert s.issuance.epochs(0).minted == 0
    assert s.token.totalSupply() == supply
    assert s.issuance.currentEpoch() == 1
    with boa.reverts("bmw: nothing to claim"):
        s.issuance.claim(0)


def test_claim_open_epoch(s):
    with boa.reverts("bmw: epoch not closed"):
        s.issuance.claim(0)


def test_pro_rata_worker_shares(s):
    w0, w1 = s.workers[:2]
    settle_passed(s, n=3, workers=[w0, w0, w1])  # w0 earned 2 fees, w1 one
    close(s)
    minted = 30 * EMISSION_RATE
    pool = minted * 7500 // 10_000
    assert s.issuance.claimable(0, w0) == pool * 2 // 3
    assert s.issuance.claimable(0, w1) == pool // 3
    assert s.issuance.claimable(0, s.workers[2]) == 0


def test_epoch_cap_and_ecosystem_remaining(s):
    with boa.env.prank(s.governance):
        s.issuance.setParameter("epochCap", 50 * IFX)
    settle_passed(s)
    close(s)
    assert s.issuance.epochs(0).minted == 50 * IFX  # min(100 IFX, cap 50)

    iss = deployer("BMWIssuance").deploy(s.token.address, s.feed.address, s.staking.address, s.governance,
                                         s.treasury, 7 * IFX, EMISSION_RATE, 10**6 * IFX)
    assert iss.ecosystemRemaining() == 7 * IFX


def test_mint_does_not_depend_on_burns(s):
    """Same verified work with burnBps 80 % and 100 %: the same mint."""
    minted = []
    for burn in (8000, 10_000):
        with boa.env.anchor():
            with boa.env.prank(s.governance):
                s.escrow.setParameter("burnBps", burn)
            supply = s.token.totalSupply()
            settle_passed(s, n=2)
            burned = supply - s.token.totalSupply()
            assert burned == 2 * 10 * IFX * burn // 10_000
            close(s)
            minted.append(s.issuance.epochs(0).minted)
    assert minted[0] == minted[1] == 20 * EMISSION_RATE


def test_penalty_pool_goes_to_the_epochs_oracles(s):
    job = s.create_job()
    (bad, good) = s.post(job, n=2)
    s.run_task(bad, s.workers[0], passed=False)
    s.run_task(good, s.workers[1], passed=True)
    warp(3601)
    collateral = s.escrow.tasks(bad).collateral
    s.escrow.settle([bad, good])
    penalty = collateral // 10
    close(s)
    ep = s.issuance.epochs(0)
    oracle_mint = 10 * EMISSION_RATE * 1500 // 10_000
    assert ep.oraclePool == oracle_mint + penalty
    # each of the two oracles signed two verdicts
    o = s.oracles[0].address
    with boa.env.prank(o):
        assert s.issuance.claim(0) == ep.oraclePool // 2


def test_penalty_without_verdicts_carries_forward(s):
    job = s.create_job()
    (task,) = s.post(job, window=600)
    s.assign_accept(task, s.workers[0])
    warp(601)
    s.escrow.expire(task)  # slashed, no verdicts in this epoch
    penalty = s.issuance.epochs(0).penalty
    assert penalty > 0
    close(s)
    assert s.issuance.epochs(0).oraclePool == 0
    assert s.issuance.carriedPenalty() == penalty
    settle_passed(s)
    close(s)
    assert s.issuance.epochs(1).oraclePool == 10 * EMISSION_RATE * 1500 // 10_000 + penalty
    assert s.issuance.carriedPenalty() == 0


def test_claims_never_exceed_mint_with_odd_shares(s):
    settle_passed(s, n=3, ibm=7 * IBM + 3)
    close(s)
    ep = s.issuance.epochs(0)
    paid = 0
    for account in [*s.workers, *(o.address for o in s.oracles[:2]), s.manager]:
        if s.issuance.claimable(0, account):
            with boa.env.prank(account):
                paid += s.issuance.claim(0)
    paid += s.issuance.claimTreasury()
    assert paid <= ep.minted
    assert ep.minted - paid < 10  # rounding dust only
    assert s.token.balanceOf(s.issuance.address) == ep.minted - paid


def test_ibme(s):
    s.attest_ib(s.workers[0], 2 * 10**6)  # apparent IBM = 2 IB x epoch minutes
    settle_passed(s, n=1, workers=[s.workers[0]])  # 10 IBM paid
    close(s)
    ep = s.issuance.epochs(0)
    minutes = ep.apparentIBM // (2 * 10**6)
    assert minutes >= EPOCH // 60
    assert s.issuance.ibme(0) == 10 * IBM * 10**18 // ep.apparentIBM


@pytest.mark.parametrize("call,args,error", [
    ("recordWork", lambda s: (s.workers[0], s.manager, 1, 1), "bmw: caller is not the escrow"),
    ("creditVerdict", lambda s: (s.oracles[0].address,), "bmw: caller is not proof of render"),
    ("revokeVerdict", lambda s: (s.oracles[0].address, 0), "bmw: caller is not proof of render"),
    ("notifyPenalty", lambda s: (1,), "bmw: caller may not add penalties"),
])
def test_restricted_hooks(s, call, args, error):
    with boa.reverts(error):
        getattr(s.issuance, call)(*args(s))


def test_governance_bounds(s):
    with boa.reverts("bmw: caller is not governance"):
        s.issuance.setParameter("emissionRate", 1)
    with boa.env.prank(s.governance):
        for name, bad in [("emissionRate", 10**6 * IFX + 1), ("epochCap", 10**8 * IFX + 1), ("epochLength", 3599)]:
            with boa.reverts("bmw: out of bounds"):
                s.issuance.setParameter(name, bad)
        with boa.reverts("bmw: unknown parameter"):
            s.issuance.setParameter("burn", 1)
        s.issuance.setParameter("epochLength", 3600)
    # the new length applies from the next epoch
    close(s)
    assert s.issuance.epochs(1).length == 3600
