"""Staking: registration, bonding and unbonding, minimum stake, collateral and slashing hooks."""

import boa
import pytest
from eth_utils import keccak

from .conftest import IFX, MIN_MANAGER_STAKE, MIN_ORACLE_STAKE, USD, USD_PER_IFX, WORKER_PRICE, WORKER_STAKE, warp
from .test_escrow import run_benchmark

WEEK = 7 * 86400
ZERO = "0x" + "00" * 20


def newcomer(s, amount=10_000 * IFX):
    account = boa.env.generate_address()
    s.fund(account, amount)
    with boa.env.prank(account):
        s.token.approve(s.staking.address, amount)
    return account


@pytest.mark.parametrize("role,price,error", [
    (0, 0, "staking: unknown role"),
    (4, 0, "staking: unknown role"),
    (1, 0, "staking: zero price"),
    (2, 1, "staking: price is for workers"),
    (3, 1, "staking: price is for workers"),
])
def test_register_rejects(s, role, price, error):
    with boa.env.prank(newcomer(s)), boa.reverts(error):
        s.staking.register(role, price)


def test_register_once(s):
    a = newcomer(s)
    with boa.env.prank(a):
        s.staking.register(2, 0, s.license(a, 2))
        with boa.reverts("staking: already registered"):
            s.staking.register(1, USD)
    assert s.staking.nodes(a).role == 2


def test_stake_requires_registration_and_amount(s):
    a = newcomer(s)
    with boa.env.prank(a):
        with boa.reverts("staking: not registered"):
            s.staking.stake(IFX)
        s.staking.register(2, 0, s.license(a, 2))
        with boa.reverts("staking: zero amount"):
            s.staking.stake(0)
        s.staking.stake(3 * IFX)
    assert s.staking.nodes(a).stake == 3 * IFX
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()


def test_unbonding_delay(s):
    a = newcomer(s)
    with boa.env.prank(a):
        s.staking.register(2, 0, s.license(a, 2))
        s.staking.stake(5_000 * IFX)
        with boa.reverts("staking: nothing unbonding"):
            s.staking.withdraw()
        with boa.reverts("staking: amount exceeds free stake"):
            s.staking.requestUnbond(5_001 * IFX)
        with boa.reverts("staking: zero amount"):
            s.staking.requestUnbond(0)
        s.staking.requestUnbond(4_500 * IFX)
        assert not s.staking.isActive(a, 2)  # 500 bonded < 1,000 minimum
        warp(WEEK - 10)
        with boa.reverts("staking: still unbonding"):
            s.staking.withdraw()
        warp(10)
        before = s.token.balanceOf(a)
        total = s.staking.totalStaked()
        s.staking.withdraw()
        logs = s.staking.get_logs()
    assert s.token.balanceOf(a) - before == 4_500 * IFX
    assert s.staking.nodes(a).stake == 500 * IFX
    assert s.staking.nodes(a).unbonding == 0
    assert s.staking.totalStaked() == total - 4_500 * IFX
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()
    withdrawn = [log for log in logs if type(log).__name__ == "Withdrawn"]
    assert len(withdrawn) == 1
    assert (withdrawn[0].account, withdrawn[0].amount, withdrawn[0].stake) == (a, 4_500 * IFX, 500 * IFX)


def test_is_active_by_role(s):
    assert s.staking.isActive(s.oracles[0].address, 2)
    assert not s.staking.isActive(s.oracles[0].address, 1)
    assert not s.staking.isActive(s.oracles[3].address, 2)  # never registered
    assert s.staking.isActive(s.manager, 3)
    assert s.staking.isActive(s.workers[0], 1)


def test_min_stake_formula(s):
    worker = s.workers[0]
    # S(n) = 2 x 4320 x IB x P: IB defaults to 1.0, P = $0.50, at $0.50/IFX -> 8,640 IFX
    assert s.staking.minStake(worker, USD_PER_IFX) == 2 * 4320 * WORKER_PRICE * 10**18 // USD_PER_IFX
    assert s.staking.minStake(worker, USD_PER_IFX) == 8_640 * IFX
    run_benchmark(s, worker, render_time=48)  # 2 IBM in 48 s: IB = 2 x 60 / 48 = 2.5
    assert s.staking.nodes(worker).ib == 2_500_000
    assert s.staking.minStake(worker, USD_PER_IFX) == 21_600 * IFX
    assert s.staking.minStake(worker, 2 * USD_PER_IFX) == 10_800 * IFX  # a dearer IFX: fewer IFX
    assert s.staking.totalIB() == 2_500_000
    with boa.reverts("staking: zero rate"):
        s.staking.minStake(worker, 0)


def test_accept_checks_minimum_stake(s):
    """A worker whose IB makes S(n) exceed its stake cannot accept work."""
    worker = s.workers[0]
    run_benchmark(s, worker, render_time=40)  # IB 3.0: S = 25,920 IFX > 20,000 staked
    assert s.staking.nodes(worker).ib == 3_000_000
    assert s.staking.minStake(worker, USD_PER_IFX) == 25_920 * IFX
    job = s.create_job()
    (task,) = s.post(job)
    with boa.env.prank(s.manager):
        s.escrow.assign(task, worker)
    with boa.env.prank(worker), boa.reverts("staking: below minimum stake"):
        s.escrow.accept(task)


def test_unbonding_stake_cannot_back_collateral(s):
    worker = s.workers[1]
    with boa.env.prank(worker):
        s.staking.requestUnbond(WORKER_STAKE - 8_000 * IFX)  # bonded 8,000 < S = 8,640
    job = s.create_job()
    (task,) = s.post(job)
    with boa.env.prank(s.manager):
        s.escrow.assign(task, worker)
    with boa.env.prank(worker), boa.reverts("staking: below minimum stake"):
        s.escrow.accept(task)


def test_locked_collateral_cannot_unbond(s):
    worker = s.workers[0]
    job = s.create_job(budget=100_000 * IFX)
    (task,) = s.post(job, ibm=1_000 * 10**6, window=3600)  # fee 1,000 IFX, collateral 2,000
    s.assign_accept(task, worker)
    assert s.staking.nodes(worker).locked == 2_000 * IFX
    with boa.env.prank(worker), boa.reverts("staking: amount exceeds free stake"):
        s.staking.requestUnbond(WORKER_STAKE - 1_999 * IFX)


@pytest.mark.parametrize("call,args,error", [
    ("lockCollateral", lambda s: (s.workers[0], 1, USD_PER_IFX, USD), "staking: caller is not the escrow"),
    ("unlockCollateral", lambda s: (s.workers[0], 0), "staking: caller is not the escrow"),
    ("slashCollateral", lambda s: (s.workers[0], 0, 0, ZERO, 0), "staking: caller is not the escrow"),
    ("slash", lambda s: (s.workers[0], 1, ZERO, 0), "staking: caller may not slash"),
    ("setIB", lambda s: (s.workers[0], 1), "staking: caller is not the escrow"),
])
@pytest.mark.parametrize("caller", ["worker", "governance", "issuance", "admin"])
def test_protocol_hooks_are_restricted(s, call, args, error, caller):
    who = {"worker": s.workers[0], "governance": s.governance, "issuance": s.issuance.address, "admin": s.admin}
    with boa.env.prank(who[caller]), boa.reverts(error):
        getattr(s.staking, call)(*args(s))


def test_proof_of_render_may_slash_but_not_set_ib_or_touch_collateral(s):
    with boa.env.prank(s.por.address):
        with boa.reverts("staking: caller is not the escrow"):
            s.staking.setIB(s.workers[0], 2_000_000)
        with boa.reverts("staking: caller is not the escrow"):
            s.staking.slashCollateral(s.workers[0], 0, 0, ZERO, 0)
        with boa.reverts("staking: caller is not the escrow"):
            s.staking.lockCollateral(s.workers[0], 1, USD_PER_IFX, USD)
        assert s.staking.slash(s.oracles[0].address, 10 * IFX, ZERO, 0) == 10 * IFX
    assert s.staking.nodes(s.oracles[0].address).stake == MIN_ORACLE_STAKE - 10 * IFX


@pytest.mark.parametrize("slasher", ["escrow", "por"])
def test_slash_pays_the_reward_directly_and_the_rest_to_the_penalty_pool(s, slasher):
    manager = s.manager
    beneficiary = boa.env.generate_address("beneficiary")
    pool = s.token.balanceOf(s.issuance.address)
    total = s.staking.totalStaked()
    with boa.env.prank(getattr(s, slasher).address):
        taken = s.staking.slash(manager, 300 * IFX, beneficiary, 120 * IFX)
        logs = [log for log in s.staking.get_logs() if type(log).__name__ == "Slashed"]
    assert taken == 300 * IFX
    assert s.staking.nodes(manager).stake == MIN_MANAGER_STAKE - 300 * IFX
    assert s.staking.totalStaked() == total - 300 * IFX
    assert s.token.balanceOf(beneficiary) == 120 * IFX
    assert s.token.balanceOf(s.issuance.address) - pool == 180 * IFX
    assert s.issuance.epochs(0).penalty == 180 * IFX
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()
    assert len(logs) == 1
    log = logs[0]
    assert (log.account, log.amount, log.stake, log.rewardTo, log.reward) == (
        manager, 300 * IFX, MIN_MANAGER_STAKE - 300 * IFX, beneficiary, 120 * IFX)


def test_slash_takes_only_free_stake_and_caps_the_reward(s):
    """Locked collateral is never slashed by `slash`; the reward never exceeds what was taken; the pending
    unbonding shrinks so that stake >= locked + unbonding still holds."""
    worker = s.workers[0]
    job = s.create_job(budget=100_000 * IFX)
    (task,) = s.post(job, ibm=1_000 * 10**6)  # fee 1,000 IFX, collateral 2,000
    s.assign_accept(task, worker)
    with boa.env.prank(worker):
        s.staking.requestUnbond(WORKER_STAKE - 2_000 * IFX - 1_000 * IFX)  # 17,000 unbonding, 1,000 left free
    beneficiary = boa.env.generate_address("beneficiary")
    pool = s.token.balanceOf(s.issuance.address)
    with boa.env.prank(s.escrow.address):
        taken = s.staking.slash(worker, 50_000 * IFX, beneficiary, 50_000 * IFX)
    node = s.staking.nodes(worker)
    assert taken == WORKER_STAKE - 2_000 * IFX  # everything but the locked collateral
    assert (node.stake, node.locked, node.unbonding) == (2_000 * IFX, 2_000 * IFX, 0)
    assert s.token.balanceOf(beneficiary) == taken  # the reward, capped at what was taken
    assert s.token.balanceOf(s.issuance.address) == pool  # nothing left for the pool
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()
    # nothing free left: a further slash takes nothing and pays nothing
    with boa.env.prank(s.por.address):
        assert s.staking.slash(worker, IFX, beneficiary, IFX) == 0
    assert s.token.balanceOf(beneficiary) == taken


def test_slash_without_reward_target_goes_to_the_pool(s):
    oracle = s.oracles[1].address
    pool = s.token.balanceOf(s.issuance.address)
    with boa.env.prank(s.por.address):
        assert s.staking.slash(oracle, 100 * IFX, ZERO, 50 * IFX) == 100 * IFX
    assert s.token.balanceOf(s.issuance.address) - pool == 100 * IFX
    assert s.issuance.epochs(0).penalty == 100 * IFX


def test_slash_collateral_splits_penalty(s):
    worker = s.workers[0]
    job = s.create_job()
    (task,) = s.post(job)  # fee 10 IFX, collateral 20
    s.assign_accept(task, worker)
    beneficiary = boa.env.generate_address("beneficiary")
    pool = s.token.balanceOf(s.issuance.address)
    with boa.env.prank(s.escrow.address):
        with boa.reverts("staking: penalty exceeds collateral"):
            s.staking.slashCollateral(worker, 20 * IFX, 20 * IFX + 1, beneficiary, 0)
        s.staking.slashCollateral(worker, 20 * IFX, 5 * IFX, beneficiary, 2 * IFX)
    node = s.staking.nodes(worker)
    assert (node.stake, node.locked) == (WORKER_STAKE - 5 * IFX, 0)
    assert s.token.balanceOf(beneficiary) == 2 * IFX
    assert s.token.balanceOf(s.issuance.address) - pool == 3 * IFX
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()


def test_set_ib_by_the_escrow_only_for_workers(s):
    w0, w1 = s.workers[:2]
    with boa.env.prank(s.escrow.address):
        with boa.reverts("staking: not a worker"):
            s.staking.setIB(s.oracles[0].address, 1_000_000)
        with boa.reverts("staking: zero IB"):
            s.staking.setIB(w0, 0)
        s.staking.setIB(w0, 2_000_000)
        s.staking.setIB(w1, 500_000)
        assert s.staking.totalIB() == 2_500_000
        s.staking.setIB(w0, 1_000_000)  # a new measurement replaces the old one in the total
    assert s.staking.totalIB() == 1_500_000
    assert s.staking.nodes(w0).ib == 1_000_000
    assert s.staking.minStake(w0, USD_PER_IFX) == 8_640 * IFX


def test_price_changes(s):
    worker = s.workers[2]
    with boa.env.prank(worker):
        with boa.reverts("staking: zero price"):
            s.staking.setPrice(0)
        s.staking.setPrice(USD)
    assert s.staking.pricePerIBM(worker) == USD
    with boa.env.prank(s.manager), boa.reverts("staking: not a worker"):
        s.staking.setPrice(USD)


def test_wire_once(s):
    assert s.staking.wired()
    assert s.staking.governance() == s.governance
    assert (s.staking.escrow(), s.staking.proofOfRender(), s.staking.issuance(), s.staking.lane()) == (
        s.escrow.address, s.por.address, s.issuance.address, s.lane.address)
    with boa.env.prank(s.admin), boa.reverts("governed: already wired"):
        s.staking.wire(s.escrow.address, s.por.address, s.issuance.address, s.lane.address, s.votes.address, s.licenses.address)
    with boa.env.prank(s.workers[0]), boa.reverts("governed: caller is not the deployer"):
        s.staking.wire(s.escrow.address, s.por.address, s.issuance.address, s.lane.address, s.votes.address, s.licenses.address)


@pytest.mark.parametrize("setter,good,bad,getter", [
    ("setUnbondingPeriod", 4 * 86400, 60 * 86400 + 1, "unbondingPeriod"),
    ("setUnbondingPeriod", 60 * 86400, 86400 - 1, "unbondingPeriod"),
    ("setStakeMultiplier", 3, 11, "stakeMultiplier"),
    ("setStakeMultiplier", 1, 0, "stakeMultiplier"),
    ("setMinOracleStake", 5 * IFX, 10**7 * IFX + 1, "minOracleStake"),
    ("setMinManagerStake", 5 * IFX, 10**7 * IFX + 1, "minManagerStake"),
])
def test_governance_bounds(s, setter, good, bad, getter):
    for caller in (s.admin, s.workers[0]):
        with boa.env.prank(caller), boa.reverts("governed: caller is not governance"):
            getattr(s.staking, setter)(good)
    with boa.env.prank(s.governance):
        with boa.reverts("staking: out of bounds"):
            getattr(s.staking, setter)(bad)
        getattr(s.staking, setter)(good)
    assert getattr(s.staking, getter)() == good


def test_unbonding_must_exceed_challenge_and_dispute_windows(s):
    windows = s.escrow.challengeWindow() + s.escrow.disputeWindow()
    assert windows == 3600 + 3 * 86400
    with boa.env.prank(s.governance):
        for bad in (86400, 2 * 86400, windows):  # within the bounds, but not above the windows
            with boa.reverts("staking: unbonding must exceed challenge + dispute windows"):
                s.staking.setUnbondingPeriod(bad)
        s.staking.setUnbondingPeriod(windows + 1)
    assert s.staking.unbondingPeriod() == windows + 1
    # longer escrow windows raise the floor
    with boa.env.prank(s.governance):
        s.staking.setUnbondingPeriod(10 * 86400)
        s.escrow.setParameter("disputeWindow", 7 * 86400)
        with boa.reverts("staking: unbonding must exceed challenge + dispute windows"):
            s.staking.setUnbondingPeriod(7 * 86400 + 3600)
        s.staking.setUnbondingPeriod(7 * 86400 + 3601)


def test_min_oracle_stake_change_deactivates(s):
    with boa.env.prank(s.governance):
        s.staking.setMinOracleStake(MIN_ORACLE_STAKE + 1)
    assert not s.staking.isActive(s.oracles[0].address, 2)
    with boa.env.prank(s.governance):
        s.staking.setMinManagerStake(MIN_MANAGER_STAKE + 1)
    assert not s.staking.isActive(s.manager, 3)


# ---------------------------------------------------------------- committee draws


def _seed(i):
    return keccak(b"draw" + i.to_bytes(32, "big"))


def _oracle(s, stake=MIN_ORACLE_STAKE):
    account = newcomer(s, stake)
    with boa.env.prank(account):
        s.staking.register(2, 0, s.license(account, 2))
        s.staking.stake(stake)
    return account


def test_oracle_set_lists_oracles_only(s):
    assert s.staking.oracleCount() == 3
    assert [s.staking.oracles(i) for i in range(3)] == [o.address for o in s.oracles[:3]]
    worker = newcomer(s)
    with boa.env.prank(worker):
        s.staking.register(1, USD)
    assert s.staking.oracleCount() == 3
    late = _oracle(s)
    assert s.staking.oracleCount() == 4 and s.staking.oracles(3) == late
    assert s.staking.nodes(late).stakedAt == boa.env.evm.patch.timestamp


def test_draw_members_are_distinct_oracles(s):
    extras = [_oracle(s, (i + 1) * MIN_ORACLE_STAKE) for i in range(4)]
    oracles = {o.address for o in s.oracles[:3]} | set(extras)
    now = boa.env.evm.patch.timestamp
    for i in range(30):
        drawn = s.staking.drawOracles(_seed(i), 5, now)
        assert len(drawn) == len(set(drawn)) == 5
        assert set(drawn) <= oracles
    # every eligible oracle when there are as many seats, in a seed-dependent order
    everyone = [s.staking.drawOracles(_seed(i), 7, now) for i in range(10)]
    assert all(set(d) == oracles and len(d) == 7 for d in everyone)
    assert len({tuple(d) for d in everyone}) > 1
    # a pure function of its inputs
    assert s.staking.drawOracles(_seed(1), 5, now) == s.staking.drawOracles(_seed(1), 5, now)


def test_draw_returns_fewer_when_fewer_are_eligible(s):
    now = boa.env.evm.patch.timestamp
    assert sorted(s.staking.drawOracles(_seed(0), 15, now)) == sorted(o.address for o in s.oracles[:3])
    assert s.staking.drawOracles(_seed(0), 0, now) == []
    with boa.reverts("staking: too many seats"):
        s.staking.drawOracles(_seed(0), 16, now)
    # workers and managers never sit, whatever their stake; nor an oracle below the minimum or unbonding
    poor = newcomer(s, MIN_ORACLE_STAKE)
    with boa.env.prank(poor):
        s.staking.register(2, 0, s.license(poor, 2))
        s.staking.stake(MIN_ORACLE_STAKE - 1)
    with boa.env.prank(s.oracles[0].address):
        s.staking.requestUnbond(1)
    drawn = s.staking.drawOracles(_seed(0), 15, boa.env.evm.patch.timestamp)
    assert sorted(drawn) == sorted(o.address for o in s.oracles[1:3])
    with boa.env.prank(s.oracles[1].address):
        s.staking.requestUnbond(MIN_ORACLE_STAKE)
    with boa.env.prank(s.oracles[2].address):
        s.staking.requestUnbond(MIN_ORACLE_STAKE)
    assert s.staking.drawOracles(_seed(0), 3, boa.env.evm.patch.timestamp) == []


def test_draw_counts_only_stake_in_place_before_the_cutoff(s):
    t0 = boa.env.evm.patch.timestamp
    warp(10)
    late = _oracle(s, 100 * MIN_ORACLE_STAKE)
    t1 = boa.env.evm.patch.timestamp
    assert s.staking.nodes(late).stakedAt == t1
    for i in range(10):
        assert late not in s.staking.drawOracles(_seed(i), 3, t0)
        assert late not in s.staking.drawOracles(_seed(i), 3, t1 - 1)
    assert sum(late in s.staking.drawOracles(_seed(i), 1, t1) for i in range(10)) >= 9  # 100 of 103 shares
    # any change of stake moves the oracle's time: a top-up, an unbonding request, a withdrawal
    o = s.oracles[0].address
    warp(10)
    s.fund(o, MIN_ORACLE_STAKE)
    with boa.env.prank(o):
        s.token.approve(s.staking.address, MIN_ORACLE_STAKE)
        s.staking.stake(MIN_ORACLE_STAKE)
    t2 = boa.env.evm.patch.timestamp
    assert s.staking.nodes(o).stakedAt == t2
    assert o not in s.staking.drawOracles(_seed(0), 15, t2 - 1)
    assert o in s.staking.drawOracles(_seed(0), 15, t2)
    warp(10)
    with boa.env.prank(o):
        s.staking.requestUnbond(MIN_ORACLE_STAKE)  # still MIN bonded: eligible, but from now on
    t3 = boa.env.evm.patch.timestamp
    assert s.staking.nodes(o).stakedAt == t3
    assert o not in s.staking.drawOracles(_seed(0), 15, t3 - 1)
    assert o in s.staking.drawOracles(_seed(0), 15, t3)
    warp(s.staking.unbondingPeriod())
    with boa.env.prank(o):
        s.staking.withdraw()
    t4 = boa.env.evm.patch.timestamp
    assert s.staking.nodes(o).stakedAt == t4
    assert o not in s.staking.drawOracles(_seed(0), 15, t4 - 1)
    assert o in s.staking.drawOracles(_seed(0), 15, t4)


def test_draw_is_weighted_by_bonded_stake(s):
    """One seat: a 3x oracle among 1x ones is drawn about three times as often; partly unbonded stake weighs less."""
    whale = _oracle(s, 3 * MIN_ORACLE_STAKE)
    half = _oracle(s, 2 * MIN_ORACLE_STAKE)
    with boa.env.prank(half):
        s.staking.requestUnbond(MIN_ORACLE_STAKE)  # bonded: 1x
    small = [o.address for o in s.oracles[:3]]
    now = boa.env.evm.patch.timestamp
    n = 240
    counts = {a: 0 for a in [whale, half, *small]}
    for i in range(n):
        (drawn,) = s.staking.drawOracles(_seed(i), 1, now)
        counts[drawn] += 1
    ones = [counts[a] for a in [half, *small]]
    mean = sum(ones) / len(ones)
    # expected shares 3/7 and 1/7 each
    assert 2.2 * mean < counts[whale] < 4.0 * mean
    assert counts[whale] > max(ones)
    assert min(ones) > 0
