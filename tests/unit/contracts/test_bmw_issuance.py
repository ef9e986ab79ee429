"""BMW issuance: epoch close, mint formula and caps (the usage cap on burns), pools, penalty pool, claims, IBME."""

from types import SimpleNamespace

import boa
import pytest

from .conftest import ECOSYSTEM, EMISSION_RATE, EPOCH, EPOCH_CAP, IBM, IFX, deployer, warp
from .test_escrow import run_benchmark

FEE = 10 * IFX  # a 10 IBM task at $0.50/IBM and $0.50/IFX
BURNED = FEE * 8000 // 10_000  # burnBps 80 %


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


def usage_pool(work_ibm, burned, rate=EMISSION_RATE, cap=EPOCH_CAP, remaining=ECOSYSTEM, usage_bps=9000):
    """T_p = min(W_p x E_p, epochCap, ecosystemRemaining, burned x usageCapBps / 10000)."""
    return min(work_ibm * rate // IBM, cap, remaining, burned * usage_bps // 10_000)


def pools(total, fees=True, verdicts=True):
    """(worker, oracle mint, manager, treasury) as closeEpoch splits `total`."""
    return (total * 7500 // 10_000 if fees else 0, total * 1500 // 10_000 if verdicts else 0,
            total * 250 // 10_000 if fees else 0, total * 750 // 10_000 if fees else 0)


def isolated(s, ecosystem=ECOSYSTEM):
    """A fresh issuance contract on its own token, wired to two plain accounts standing in for the escrow and
    proof of render, so that work, fees, burns and verdict weights can be recorded directly."""
    escrow = boa.env.generate_address("fake escrow")
    por = boa.env.generate_address("fake por")
    token = deployer("IFXToken").deploy()
    iss = deployer("BMWIssuance").deploy(token.address, s.feed.address, s.staking.address, s.governance, s.treasury,
                                         ecosystem, EMISSION_RATE, EPOCH_CAP)
    iss.wire(escrow, por, boa.env.generate_address("fake lane"))
    token.finishGenesis(iss.address)
    ns = SimpleNamespace(token=token, iss=iss, escrow=escrow, por=por)

    def work(worker, manager, ibm, fee, burned):
        with boa.env.prank(escrow):
            iss.recordWork(worker, manager, ibm, fee, burned)

    def credit(oracle, weight):
        with boa.env.prank(por):
            return iss.creditVerdict(oracle, weight)

    def close_():
        warp(EPOCH)
        s.refresh_price()
        iss.closeEpoch()

    ns.work, ns.credit, ns.close = work, credit, close_
    return ns


@pytest.fixture
def iso(s):
    return isolated(s)


def test_epoch_cannot_close_early(s):
    warp(EPOCH - 1)
    s.refresh_price()
    with boa.reverts("bmw: epoch not over"):
        s.issuance.closeEpoch()
    warp(1)
    s.issuance.closeEpoch()
    assert s.issuance.currentEpoch() == 1


def test_stale_price_blocks_minting(s):
    warp(EPOCH)
    with boa.reverts("pricefeed: stale price"):
        s.issuance.closeEpoch()
    assert s.issuance.currentEpoch() == 0


def test_empty_epoch_mints_nothing(s):
    supply = s.token.totalSupply()
    close(s)
    assert s.issuance.epochs(0).closed
    assert s.issuance.epochs(0).minted == 0
    assert s.token.totalSupply() == supply
    assert s.issuance.currentEpoch() == 1
    assert s.issuance.epochs(1).start == boa.env.evm.patch.timestamp
    assert s.issuance.epochs(1).length == EPOCH
    with boa.reverts("bmw: nothing to claim"):
        s.issuance.claim(0)


def test_claim_open_epoch(s):
    with boa.reverts("bmw: epoch not closed"):
        s.issuance.claim(0)


def test_work_fees_and_burns_are_recorded_in_ifx(s):
    w0, w1 = s.workers[:2]
    settle_passed(s, n=3, workers=[w0, w0, w1])  # w0 earned 2 fees, w1 one
    ep = s.issuance.epochs(0)
    assert (ep.workIBM, ep.fees, ep.burned) == (30 * IBM, 3 * FEE, 3 * BURNED)
    assert s.issuance.workerFees(0, w0) == 2 * FEE
    assert s.issuance.workerFees(0, w1) == FEE
    assert s.issuance.managerFees(0, s.manager) == 3 * FEE
    # each of the three committee members voted for three final verdicts, each weighing its task's fee
    assert ep.verdictWeight == 3 * 3 * FEE
    for o in s.oracles[:3]:
        assert s.issuance.oracleWeights(0, o.address) == 3 * FEE
    assert s.issuance.oracleWeights(0, s.oracles[3].address) == 0  # never registered, never drawn


def test_pro_rata_worker_shares(s):
    w0, w1 = s.workers[:2]
    settle_passed(s, n=3, workers=[w0, w0, w1])
    close(s)
    minted = usage_pool(30 * IBM, 3 * BURNED)
    assert minted == 3 * BURNED * 9000 // 10_000 == 21_600_000_000_000_000_000  # the usage cap binds
    assert s.issuance.epochs(0).minted == minted
    pool = minted * 7500 // 10_000
    assert s.issuance.epochs(0).workerPool == pool
    assert s.issuance.claimable(0, w0) == pool * 2 * FEE // (3 * FEE)
    assert s.issuance.claimable(0, w1) == pool * FEE // (3 * FEE)
    assert s.issuance.claimable(0, s.workers[2]) == 0


def test_emission_rate_binds_when_below_the_usage_cap(s):
    with boa.env.prank(s.governance):
        s.issuance.setParameter("emissionRate", IFX // 2)  # 0.5 IFX per IBM
    settle_passed(s, n=2)
    close(s)
    # min(20 IBM x 0.5 = 10 IFX, 16 IFX burned x 90 % = 14.4 IFX)
    assert s.issuance.epochs(0).minted == 10 * IFX == usage_pool(20 * IBM, 2 * BURNED, rate=IFX // 2)


def test_epoch_cap_and_ecosystem_remaining(s):
    with boa.env.prank(s.governance):
        s.issuance.setParameter("epochCap", 5 * IFX)
    settle_passed(s)
    close(s)
    assert s.issuance.epochs(0).minted == 5 * IFX  # min(100 IFX, cap 5, usage 7.2)
    assert s.issuance.ecosystemRemaining() == ECOSYSTEM - 5 * IFX

    iss = deployer("BMWIssuance").deploy(s.token.address, s.feed.address, s.staking.address, s.governance,
                                         s.treasury, 7 * IFX, EMISSION_RATE, 10**6 * IFX)
    assert iss.ecosystemRemaining() == 7 * IFX
    assert iss.usageCapBps() == 9000


def test_ecosystem_remaining_binds_and_runs_out(s):
    iso = isolated(s, ecosystem=3 * IFX)
    iso.work(s.workers[0], s.manager, 10 * IBM, 100 * IFX, 80 * IFX)
    iso.credit(s.oracles[0].address, 100 * IFX)
    iso.close()
    # min(100 IFX of work, 72 IFX usage cap, 3 IFX left in the reserve)
    assert iso.iss.epochs(0).minted == usage_pool(10 * IBM, 80 * IFX, remaining=3 * IFX) == 3 * IFX
    assert iso.iss.ecosystemRemaining() == 0
    assert iso.token.totalSupply() == 3 * IFX
    # the reserve is spent: later work mints nothing
    iso.work(s.workers[0], s.manager, 10 * IBM, 100 * IFX, 80 * IFX)
    iso.credit(s.oracles[0].address, 100 * IFX)
    iso.close()
    ep = iso.iss.epochs(1)
    assert (ep.minted, ep.workerPool, ep.oraclePool, ep.managerPool) == (0, 0, 0, 0)
    assert iso.token.totalSupply() == 3 * IFX


def test_usage_cap_replaces_mint_independence_from_burns(s):
    """Same verified work with burnBps 80 % and 100 %: the mint follows the burn, 90 % of it, never more."""
    minted, burned = [], []
    for burn in (8000, 10_000):
        with boa.env.anchor():
            with boa.env.prank(s.governance):
                s.escrow.setParameter("burnBps", burn)
            supply = s.token.totalSupply()
            settle_passed(s, n=2)
            burned.append(supply - s.token.totalSupply())
            assert burned[-1] == 2 * FEE * burn // 10_000 == s.issuance.epochs(0).burned
            close(s)
            minted.append(s.issuance.epochs(0).minted)
    assert minted == [b * 9000 // 10_000 for b in burned] == [14_400_000_000_000_000_000, 18 * IFX]
    assert all(m < b for m, b in zip(minted, burned))


@pytest.mark.parametrize("usage_bps", [0, 5000, 9500])
def test_usage_cap_governance(s, usage_bps):
    with boa.env.prank(s.governance):
        with boa.reverts("bmw: out of bounds"):
            s.issuance.setParameter("usageCapBps", 9501)
        s.issuance.setParameter("usageCapBps", usage_bps)
    assert s.issuance.usageCapBps() == usage_bps
    supply = s.token.totalSupply()
    settle_passed(s, n=2)
    close(s)
    minted = s.issuance.epochs(0).minted
    assert minted == usage_pool(20 * IBM, 2 * BURNED, usage_bps=usage_bps) == 2 * BURNED * usage_bps // 10_000
    assert s.token.totalSupply() == supply - 2 * BURNED + minted


def test_self_dealing_coalition_mints_less_than_it_burns(s):
    """Creator, manager, worker and oracles as one party: all it gets back from the epoch (every pool, the
    treasury's share included) is less than what its fees burned, whatever the emission rate."""
    with boa.env.prank(s.governance):
        s.issuance.setParameter("emissionRate", 10**6 * IFX)  # the highest E_p governance may set
        s.issuance.setParameter("usageCapBps", 9500)  # and the highest usage cap
    supply = s.token.totalSupply()
    settle_passed(s, n=4, ibm=50 * IBM)
    burned = supply - s.token.totalSupply()
    assert burned == 4 * 50 * IFX * 8000 // 10_000
    close(s)
    ep = s.issuance.epochs(0)
    got = 0
    for account in [*s.workers, *(o.address for o in s.oracles), s.manager]:
        if s.issuance.claimable(0, account):
            with boa.env.prank(account):
                got += s.issuance.claim(0)
    got += s.issuance.claimTreasury()
    assert got <= ep.minted == burned * 9500 // 10_000 < burned
    assert s.token.totalSupply() < supply


def test_pools_split_and_claims_pro_rata_by_fee(s, iso):
    w0, w1 = s.workers[:2]
    m0, m1 = s.manager, boa.env.generate_address("manager 2")
    o0, o1 = s.oracles[0].address, s.oracles[1].address
    iso.work(w0, m0, 10 * IBM, 30 * IFX, 24 * IFX)
    with boa.env.prank(iso.escrow):
        iso.iss.recordWork(w1, m1, 10 * IBM, 10 * IFX, 8 * IFX)
        (log,) = [entry for entry in iso.iss.get_logs() if type(entry).__name__ == "WorkRecorded"]
    assert (log.epoch, log.worker, log.manager, log.ibm, log.fee, log.burned, log.epochFees, log.epochBurned) == (
        0, w1, m1, 10 * IBM, 10 * IFX, 8 * IFX, 40 * IFX, 32 * IFX)
    assert iso.credit(o0, 30 * IFX) == 0
    iso.credit(o1, 10 * IFX)
    iso.credit(o0, 20 * IFX)
    assert iso.iss.oracleWeights(0, o0) == 50 * IFX and iso.iss.epochs(0).verdictWeight == 60 * IFX
    iso.close()
    total = usage_pool(20 * IBM, 32 * IFX)
    assert total == 28_800_000_000_000_000_000
    worker, oracle, manager, treasury = pools(total)
    ep = iso.iss.epochs(0)
    assert (ep.minted, ep.workerPool, ep.oraclePool, ep.managerPool) == (total, worker, oracle, manager)
    assert iso.iss.treasuryOwed() == treasury
    assert iso.token.balanceOf(iso.iss.address) == total
    # managers are weighted by fee now, not by task count: 3:1 although each settled one task
    expected = {w0: worker * 30 // 40, w1: worker * 10 // 40, m0: manager * 30 // 40, m1: manager * 10 // 40,
                o0: oracle * 50 // 60, o1: oracle * 10 // 60}
    for account, amount in expected.items():
        assert iso.iss.claimable(0, account) == amount
        with boa.env.prank(account):
            assert iso.iss.claim(0) == amount
            with boa.reverts("bmw: nothing to claim"):
                iso.iss.claim(0)
        assert iso.token.balanceOf(account) == amount
    assert iso.iss.claimTreasury() == treasury
    assert iso.token.balanceOf(s.treasury) == treasury
    with boa.reverts("bmw: nothing to claim"):
        iso.iss.claimTreasury()
    assert 0 <= iso.token.balanceOf(iso.iss.address) < 10  # rounding dust only


ZERO = "0x" + "00" * 20


def test_forfeited_manager_credit_is_not_minted(s, iso):
    """Work recorded without a manager (the manager revealed the seed late) forfeits its manager share: the
    epoch's manager pool covers the other fees only, and the forfeited part stays in the reserve."""
    iso.work(s.workers[0], s.manager, 10 * IBM, 30 * IFX, 24 * IFX)
    with boa.env.prank(iso.escrow):
        iso.iss.recordWork(s.workers[1], ZERO, 10 * IBM, 10 * IFX, 8 * IFX)
        (log,) = [entry for entry in iso.iss.get_logs() if type(entry).__name__ == "WorkRecorded"]
    assert (log.manager, log.fee, log.epochFees) == (ZERO, 10 * IFX, 40 * IFX)
    assert iso.iss.forfeitedFees(0) == 10 * IFX
    assert iso.iss.managerFees(0, s.manager) == 30 * IFX and iso.iss.managerFees(0, ZERO) == 0
    assert iso.iss.workerFees(0, s.workers[1]) == 10 * IFX  # the worker keeps its credit
    remaining = iso.iss.ecosystemRemaining()
    iso.close()
    total = usage_pool(20 * IBM, 32 * IFX)
    worker, _, manager, treasury = pools(total, verdicts=False)
    ep = iso.iss.epochs(0)
    assert (ep.workerPool, ep.managerPool) == (worker, manager * 30 // 40)
    assert ep.minted == worker + manager * 30 // 40 + treasury
    assert remaining - iso.iss.ecosystemRemaining() == ep.minted == iso.token.totalSupply()
    assert iso.iss.claimable(0, s.workers[1]) == worker * 10 // 40
    # a later epoch starts with nothing forfeited
    assert iso.iss.forfeitedFees(1) == 0


def test_an_epoch_of_forfeited_work_mints_no_manager_pool(s, iso):
    iso.work(s.workers[0], ZERO, 10 * IBM, 10 * IFX, 8 * IFX)
    iso.close()
    worker, _, _, treasury = pools(usage_pool(10 * IBM, 8 * IFX), verdicts=False)
    ep = iso.iss.epochs(0)
    assert (ep.workerPool, ep.managerPool, ep.minted) == (worker, 0, worker + treasury)
    assert iso.iss.claimable(0, ZERO) == 0


def test_account_with_several_roles_claims_all_its_shares(s, iso):
    both = s.workers[0]
    iso.work(both, both, 10 * IBM, 10 * IFX, 8 * IFX)
    iso.credit(both, 10 * IFX)
    iso.close()
    total = usage_pool(10 * IBM, 8 * IFX)
    worker, oracle, manager, _ = pools(total)
    with boa.env.prank(both):
        assert iso.iss.claim(0) == worker + oracle + manager
    assert iso.iss.claimable(0, both) == 0


def test_no_verdict_weight_mints_no_oracle_pool(s, iso):
    iso.work(s.workers[0], s.manager, 10 * IBM, 10 * IFX, 8 * IFX)
    iso.close()
    total = usage_pool(10 * IBM, 8 * IFX)
    worker, _, manager, treasury = pools(total)
    ep = iso.iss.epochs(0)
    assert (ep.workerPool, ep.oraclePool, ep.managerPool) == (worker, 0, manager)
    assert ep.minted == worker + manager + treasury == total - total * 1500 // 10_000
    assert iso.token.totalSupply() == ep.minted


def test_verdicts_without_fees_mint_nothing(s, iso):
    iso.credit(s.oracles[0].address, 10 * IFX)  # e.g. final FAIL verdicts only: no fee was paid or burned
    iso.close()
    ep = iso.iss.epochs(0)
    assert (ep.minted, ep.workerPool, ep.oraclePool, ep.managerPool) == (0, 0, 0, 0)
    assert iso.iss.treasuryOwed() == 0
    assert iso.token.totalSupply() == 0


def test_work_without_burns_mints_nothing(s, iso):
    iso.work(s.workers[0], s.manager, 10 * IBM, 10 * IFX, 0)
    iso.credit(s.oracles[0].address, 10 * IFX)
    iso.close()
    assert iso.iss.epochs(0).minted == 0
    assert iso.token.totalSupply() == 0


def test_revoke_verdict_only_in_the_open_epoch(s, iso):
    o0, o1 = s.oracles[0].address, s.oracles[1].address
    iso.work(s.workers[0], s.manager, 10 * IBM, 10 * IFX, 8 * IFX)
    iso.credit(o0, 10 * IFX)
    iso.credit(o1, 10 * IFX)
    with boa.env.prank(iso.por):
        iso.iss.revokeVerdict(o1, 0, 4 * IFX)
        (log,) = [e for e in iso.iss.get_logs() if type(e).__name__ == "VerdictRevoked"]
        assert (log.epoch, log.oracle, log.weight, log.oracleWeight) == (0, o1, 4 * IFX, 6 * IFX)
        iso.iss.revokeVerdict(o1, 0, 100 * IFX)  # never more than was credited
    assert iso.iss.oracleWeights(0, o1) == 0
    assert iso.iss.epochs(0).verdictWeight == 10 * IFX
    iso.close()
    with boa.env.prank(iso.por):
        iso.iss.revokeVerdict(o0, 0, 10 * IFX)  # epoch 0 is closed: nothing changes
    assert iso.iss.oracleWeights(0, o0) == 10 * IFX
    assert iso.iss.epochs(0).verdictWeight == 10 * IFX
    _, oracle, _, _ = pools(usage_pool(10 * IBM, 8 * IFX))
    assert iso.iss.claimable(0, o0) == oracle
    assert iso.iss.claimable(0, o1) == 0


def test_penalty_pool_goes_to_the_epochs_oracles(s):
    job = s.create_job()
    (bad, good) = s.post(job, n=2)
    s.run_task(bad, s.workers[0], passed=False)
    s.run_task(good, s.workers[1], passed=True)
    warp(3601)
    collateral = s.escrow.tasks(bad).collateral
    s.escrow.settle([bad, good])
    penalty = collateral // 10
    assert s.issuance.epochs(0).penalty == penalty
    close(s)
    ep = s.issuance.epochs(0)
    oracle_mint = usage_pool(10 * IBM, BURNED) * 1500 // 10_000
    assert ep.oraclePool == oracle_mint + penalty
    # each of the three members voted for both final verdicts (the fail one too), each weighing its fee
    assert ep.verdictWeight == 3 * (FEE + FEE)
    o = s.oracles[0].address
    with boa.env.prank(o):
        assert s.issuance.claim(0) == ep.oraclePool * 2 * FEE // (6 * FEE)


def test_penalty_without_verdicts_carries_forward(s):
    job = s.create_job()
    (task,) = s.post(job, window=600)
    s.assign_accept(task, s.workers[0])
    warp(601)
    s.escrow.expire(task)  # slashed, no verdicts in this epoch
    penalty = s.issuance.epochs(0).penalty
    assert penalty == 20 * IFX // 10
    close(s)
    assert s.issuance.epochs(0).oraclePool == 0
    assert s.issuance.epochs(0).minted == 0
    assert s.issuance.carriedPenalty() == penalty
    settle_passed(s)
    close(s)
    assert s.issuance.epochs(1).oraclePool == usage_pool(10 * IBM, BURNED) * 1500 // 10_000 + penalty
    assert s.issuance.carriedPenalty() == 0


def test_claims_never_exceed_mint_with_odd_shares(s):
    settle_passed(s, n=3, ibm=7 * IBM + 3)
    close(s)
    ep = s.issuance.epochs(0)
    assert ep.minted == ep.burned * 9000 // 10_000 > 0
    paid = 0
    for account in [*s.workers, *(o.address for o in s.oracles[:3]), s.manager]:
        if s.issuance.claimable(0, account):
            with boa.env.prank(account):
                paid += s.issuance.claim(0)
    paid += s.issuance.claimTreasury()
    assert paid <= ep.minted
    assert ep.minted - paid < 10  # rounding dust only
    assert s.token.balanceOf(s.issuance.address) == ep.minted - paid


def test_ibme(s):
    run_benchmark(s, s.workers[0], render_time=60)  # IB 2.0: apparent IBM = 2 IB x epoch minutes
    assert s.staking.totalIB() == 2 * 10**6
    settle_passed(s, n=1, workers=[s.workers[0]])  # 10 IBM paid, on top of the 2 IBM benchmark
    close(s)
    ep = s.issuance.epochs(0)
    assert ep.workIBM == 12 * IBM
    assert ep.apparentIBM == 2 * 10**6 * ((EPOCH + 60 + 3601 + 3601) // 60)  # IB x the epoch's minutes
    assert s.issuance.ibme(0) == 12 * IBM * 10**18 // ep.apparentIBM


@pytest.mark.parametrize("call,args,error", [
    ("recordWork", lambda s: (s.workers[0], s.manager, 1, 1, 1), "bmw: caller is not the escrow"),
    ("creditVerdict", lambda s: (s.oracles[0].address, 1), "bmw: caller is not proof of render"),
    ("revokeVerdict", lambda s: (s.oracles[0].address, 0, 1), "bmw: caller is not proof of render"),
    ("notifyPenalty", lambda s: (1,), "bmw: caller may not add penalties"),
])
@pytest.mark.parametrize("caller", ["admin", "governance", "worker"])
def test_restricted_hooks(s, call, args, error, caller):
    who = {"admin": s.admin, "governance": s.governance, "worker": s.workers[0]}[caller]
    with boa.env.prank(who), boa.reverts(error):
        getattr(s.issuance, call)(*args(s))


def test_wire_once(s):
    assert s.issuance.wired() and s.issuance.governance() == s.governance
    with boa.env.prank(s.admin), boa.reverts("governed: already wired"):
        s.issuance.wire(s.escrow.address, s.por.address, s.lane.address)
    with boa.env.prank(s.creator), boa.reverts("governed: caller is not the deployer"):
        s.issuance.wire(s.creator, s.creator, s.creator)


def test_governance_bounds(s):
    with boa.reverts("governed: caller is not governance"):
        s.issuance.setParameter("emissionRate", 1)
    with boa.env.prank(s.governance):
        for name, bad in [("emissionRate", 10**6 * IFX + 1), ("epochCap", 10**8 * IFX + 1), ("epochLength", 3599),
                          ("epochLength", 30 * 86400 + 1), ("usageCapBps", 9501)]:
            with boa.reverts("bmw: out of bounds"):
                s.issuance.setParameter(name, bad)
        with boa.reverts("bmw: unknown parameter"):
            s.issuance.setParameter("burn", 1)
        s.issuance.setParameter("epochLength", 3600)
    # the new length applies from the next epoch
    assert s.issuance.epochs(0).length == EPOCH
    close(s)
    assert s.issuance.epochs(1).length == 3600


def test_the_emission_plan_sets_e_p_epoch_by_epoch(s):
    """Governance's Emission Plan: E_p changes by itself when each planned epoch opens, and the epoch's mint uses
    the rate of its own epoch; only governance sets a plan, epochs must lie ahead and increase."""
    e = s.issuance.currentEpoch()
    plan = [(e + 1, 5 * IFX), (e + 3, 0)]
    with boa.env.prank(s.admin), boa.reverts("governed: caller is not governance"):
        s.issuance.setEmissionPlan(plan)
    with boa.env.prank(s.governance):
        with boa.reverts("bmw: plan epochs must increase past the open epoch"):
            s.issuance.setEmissionPlan([(e, 5 * IFX)])
        with boa.reverts("bmw: plan epochs must increase past the open epoch"):
            s.issuance.setEmissionPlan([(e + 2, 5 * IFX), (e + 2, 6 * IFX)])
        with boa.reverts("bmw: out of bounds"):
            s.issuance.setEmissionPlan([(e + 1, 10**6 * IFX + 1)])
        s.issuance.setEmissionPlan(plan)
    assert s.issuance.emissionRate() == EMISSION_RATE
    close(s)  # epoch e closes at E_p = 10; epoch e + 1 opens at 5
    assert s.issuance.emissionRate() == 5 * IFX and s.issuance.planCursor() == 1
    settle_passed(s)
    close(s)  # epoch e + 1's mint at 5 IFX per IBM
    assert s.issuance.epochs(e + 1).minted == sum(pools(usage_pool(10 * IBM, BURNED, rate=5 * IFX)))
    assert s.issuance.emissionRate() == 5 * IFX  # nothing planned for e + 2
    close(s)
    assert s.issuance.emissionRate() == 0 and s.issuance.planCursor() == 2
