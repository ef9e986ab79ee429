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


# ---------------------------------------------------------------- node licenses

WORKER_LICENSE, VERIFIER_LICENSE, MANAGER_LICENSE = 1, 2, 4


def _issue(s, account, node_types, approve=True):
    """A license of ``node_types`` issued to ``account`` (approved to Staking unless ``approve`` is False)."""
    with boa.env.prank(s.admin):
        token_id = s.licenses.issue(account, node_types)
    if approve:
        with boa.env.prank(account):
            s.licenses.approve(s.staking.address, token_id)
    return token_id


@pytest.mark.parametrize("role", [2, 3])
def test_oracles_and_managers_need_their_own_license_of_their_type(s, role):
    a, other = newcomer(s), newcomer(s)
    wrong = [WORKER_LICENSE, MANAGER_LICENSE if role == 2 else VERIFIER_LICENSE]
    wrong += [WORKER_LICENSE | (MANAGER_LICENSE if role == 2 else VERIFIER_LICENSE)]
    count = s.staking.oracleCount()
    with boa.env.prank(a):
        with boa.reverts("staking: not the license's owner"):
            s.staking.register(role, 0)  # no license
    theirs = _issue(s, other, VERIFIER_LICENSE | MANAGER_LICENSE)
    with boa.env.prank(a), boa.reverts("staking: not the license's owner"):
        s.staking.register(role, 0, theirs)  # someone else's (approved to Staking, of the right type)
    for node_types in wrong:
        token_id = _issue(s, a, node_types)
        with boa.env.prank(a), boa.reverts("staking: license is not for this role"):
            s.staking.register(role, 0, token_id)
        assert s.licenses.ownerOf(token_id) == a
    unapproved = _issue(s, a, VERIFIER_LICENSE if role == 2 else MANAGER_LICENSE, approve=False)
    with boa.env.prank(a), boa.reverts("erc721: caller is not token owner or approved"):
        s.staking.register(role, 0, unapproved)  # Staking may not take it
    # nothing was locked, nobody registered, the oracle set is unchanged
    assert s.staking.nodes(a).role == 0 and s.staking.licenseOf(a) == 0
    assert s.licenses.ownerOf(theirs) == other and s.staking.licensee(theirs) == ZERO
    assert s.staking.oracleCount() == count
    # the right license (alone or among other types) registers it
    good = _issue(s, a, (VERIFIER_LICENSE if role == 2 else MANAGER_LICENSE) | WORKER_LICENSE)
    with boa.env.prank(a):
        s.staking.register(role, 0, good)
    assert s.staking.nodes(a).role == role and s.staking.licenseOf(a) == good
    assert s.staking.oracleCount() == count + (role == 2)


def test_workers_register_without_a_license_and_refuse_one(s):
    a, b = newcomer(s), newcomer(s)
    token_id = _issue(s, a, WORKER_LICENSE | VERIFIER_LICENSE | MANAGER_LICENSE)
    with boa.env.prank(a), boa.reverts("staking: workers need no license"):
        s.staking.register(1, USD, token_id)
    assert s.licenses.ownerOf(token_id) == a and s.staking.nodes(a).role == 0
    with boa.env.prank(b):
        s.staking.register(1, USD)
        with boa.reverts("staking: no license held"):
            s.staking.releaseLicense()
    assert s.staking.nodes(b).role == 1 and s.staking.licenseOf(b) == 0


def test_license_is_locked_while_registered_and_released_after_withdraw(s):
    a, b = newcomer(s), newcomer(s)
    token_id = s.license(a, 2)
    with boa.env.prank(a):
        s.staking.register(2, 0, token_id)
        s.staking.stake(2_000 * IFX)
    assert s.licenses.ownerOf(token_id) == s.staking.address
    assert s.staking.licenseOf(a) == token_id and s.staking.licensee(token_id) == a
    assert s.staking.oracleCount() == 4 and s.staking.oracles(3) == a
    # the node cannot move it: it is Staking's
    with boa.env.prank(a):
        for owner in (a, s.staking.address):
            with boa.reverts("erc721: caller is not token owner or approved"):
                s.licenses.transferFrom(owner, b, token_id)
        with boa.reverts("erc721: approve caller is not token owner or approved for all"):
            s.licenses.approve(b, token_id)
    assert s.licenses.ownerOf(token_id) == s.staking.address
    # released only once the whole stake has left
    with boa.env.prank(a):
        with boa.reverts("staking: withdraw the stake first"):
            s.staking.releaseLicense()
        s.staking.requestUnbond(2_000 * IFX)
        with boa.reverts("staking: withdraw the stake first"):
            s.staking.releaseLicense()  # unbonding is still stake
        warp(WEEK)
        s.staking.withdraw()
        s.staking.releaseLicense()
        (log,) = [e for e in s.staking.get_logs() if type(e).__name__ == "LicenseReleased"]
        with boa.reverts("staking: no license held"):
            s.staking.releaseLicense()
    assert (log.account, log.licenseId, log.revoked) == (a, token_id, False)
    assert s.licenses.ownerOf(token_id) == a
    assert s.staking.licenseOf(a) == 0 and s.staking.licensee(token_id) == ZERO
    assert s.staking.nodes(a).role == 0 and not s.staking.isActive(a, 2)
    assert s.staking.oracleCount() == 3 and a not in [s.staking.oracles(i) for i in range(3)]
    # the node may register again, with the same license
    with boa.env.prank(a):
        s.licenses.approve(s.staking.address, token_id)
        s.staking.register(2, 0, token_id)
    assert s.staking.oracleCount() == 4 and s.staking.oracles(3) == a and s.staking.licensee(token_id) == a


def test_release_takes_an_oracle_out_of_the_middle_of_the_set(s):
    first, rest = s.oracles[0].address, [o.address for o in s.oracles[1:3]]
    token_id = s.staking.licenseOf(first)
    assert token_id != 0
    with boa.env.prank(first):
        s.staking.requestUnbond(MIN_ORACLE_STAKE)
        warp(WEEK)
        s.staking.withdraw()
        s.staking.releaseLicense()
    assert s.staking.oracleCount() == 2
    assert sorted(s.staking.oracles(i) for i in range(2)) == sorted(rest)
    assert s.licenses.ownerOf(token_id) == first
    for i in range(20):
        drawn = s.staking.drawOracles(_seed(i), 15, boa.env.evm.patch.timestamp)
        assert sorted(drawn) == sorted(rest)


def test_manager_releases_its_license_after_withdraw(s):
    manager = s.manager
    token_id = s.staking.licenseOf(manager)
    assert s.licenses.ownerOf(token_id) == s.staking.address
    with boa.env.prank(manager):
        s.staking.requestUnbond(MIN_MANAGER_STAKE)
        warp(WEEK)
        with boa.reverts("staking: withdraw the stake first"):
            s.staking.releaseLicense()
        s.staking.withdraw()
        s.staking.releaseLicense()
    assert s.licenses.ownerOf(token_id) == manager and s.staking.nodes(manager).role == 0
    assert s.staking.oracleCount() == 3


def test_revoked_oracle_is_never_drawn_and_keeps_its_stake(s):
    whale = _oracle(s, 100 * MIN_ORACLE_STAKE)
    token_id = s.staking.licenseOf(whale)
    now = boa.env.evm.patch.timestamp
    assert sum(whale in s.staking.drawOracles(_seed(i), 1, now) for i in range(20)) >= 15  # 100 of 103 shares
    middle = s.oracles[1].address  # an original oracle, in the middle of the set
    middle_id = s.staking.licenseOf(middle)
    total, votes = s.staking.totalStaked(), s.votes.totalVotes()
    with boa.env.prank(s.governance):
        s.licenses.revoke(token_id)
        (log,) = [e for e in s.licenses.get_logs() if type(e).__name__ == "LicenseReleased"]
        s.licenses.revoke(middle_id)
    assert (log.account, log.licenseId, log.revoked) == (whale, token_id, True)
    for account, license_id in ((whale, token_id), (middle, middle_id)):
        assert not s.staking.isActive(account, 2) and s.staking.nodes(account).role == 0
        assert s.staking.licenseOf(account) == 0 and s.staking.licensee(license_id) == ZERO
        assert not s.licenses.exists(license_id)
    left = sorted([s.oracles[0].address, s.oracles[2].address])
    assert s.staking.oracleCount() == 2 and sorted(s.staking.oracles(i) for i in range(2)) == left
    now = boa.env.evm.patch.timestamp
    for i in range(60):
        assert sorted(s.staking.drawOracles(_seed(i), 15, now)) == left
        assert s.staking.drawOracles(_seed(i), 1, now)[0] in left
    # the stake stays its own (and keeps voting while bonded), to unbond and withdraw; no new stake
    assert s.staking.nodes(whale).stake == 100 * MIN_ORACLE_STAKE
    assert s.staking.totalStaked() == total and s.votes.totalVotes() == votes
    assert s.votes.stakeOf(whale) == 100 * MIN_ORACLE_STAKE
    with boa.env.prank(whale):
        with boa.reverts("staking: no license held"):
            s.staking.releaseLicense()
        with boa.reverts("staking: not registered"):
            s.staking.stake(IFX)
        s.staking.requestUnbond(100 * MIN_ORACLE_STAKE)
        warp(WEEK)
        before = s.token.balanceOf(whale)
        s.staking.withdraw()
    assert s.token.balanceOf(whale) - before == 100 * MIN_ORACLE_STAKE
    assert s.staking.nodes(whale).stake == 0 and s.votes.stakeOf(whale) == 0
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked() == total - 100 * MIN_ORACLE_STAKE


def test_only_the_license_contract_reports_a_revocation(s):
    token_id = s.staking.licenseOf(s.oracles[0].address)
    for caller in (s.governance, s.oracles[0].address, s.admin):
        with boa.env.prank(caller), boa.reverts("staking: caller is not the license"):
            s.staking.onLicenseRevoked(token_id)
    assert s.staking.isActive(s.oracles[0].address, 2)


def test_a_license_sent_to_staking_without_registering_can_still_be_revoked(s):
    """A holder who transfers its license to Staking by hand registers nothing with it; governance can still revoke
    (burn) it, and no registered node is touched."""
    holder = boa.env.generate_address("careless")
    token_id = s.license(holder, 2)
    with boa.env.prank(holder):
        s.licenses.transferFrom(holder, s.staking.address, token_id)
    oracles = s.staking.oracleCount()
    with boa.env.prank(s.governance):
        s.licenses.revoke(token_id)
    assert not s.licenses.exists(token_id)
    assert s.staking.oracleCount() == oracles and s.staking.isActive(s.oracles[0].address, 2)


def test_revoked_manager_takes_no_new_jobs(s):
    job = s.create_job()
    with boa.env.prank(s.governance):
        s.licenses.revoke(s.staking.licenseOf(s.manager))
    assert not s.staking.isActive(s.manager, 3) and s.staking.nodes(s.manager).role == 0
    assert s.staking.nodes(s.manager).stake == MIN_MANAGER_STAKE
    s.fund(s.creator, 100 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 100 * IFX)
        with boa.reverts("escrow: manager not active"):
            s.escrow.createJob(s.manager, "bafyscene", 1, 10, "640x360@64spp png", USD, 100 * IFX)
    with boa.env.prank(s.manager), boa.reverts("escrow: manager not active"):
        s.escrow.postTasks(job, [s.spec(10 * 10**6)])


# ---------------------------------------------------------------- bonded stake votes


def test_bonded_stake_votes_after_stake_unbond_and_slash(s):
    # every node's stake votes from the start
    assert s.votes.totalStake() == s.staking.totalStaked() == s.votes.totalVotes()
    a, b = _oracle(s, 5_000 * IFX), newcomer(s)
    total0 = s.staking.totalStaked() - 5_000 * IFX

    def check(bonded, holder=a):
        assert s.votes.stakeOf(a) == bonded == s.staking.nodes(a).stake - s.staking.nodes(a).unbonding
        assert s.votes.getVotes(holder) == bonded == s.votes.votingUnits(a)
        assert s.votes.totalStake() == total0 + bonded == s.votes.totalVotes()

    check(5_000 * IFX)
    t1 = boa.env.evm.patch.timestamp
    warp(10)
    with boa.env.prank(a):
        s.staking.requestUnbond(1_500 * IFX)
    check(3_500 * IFX)
    t2 = boa.env.evm.patch.timestamp
    warp(10)
    with boa.env.prank(s.escrow.address):
        assert s.staking.slash(a, 1_000 * IFX, ZERO, 0) == 1_000 * IFX  # free stake first: 4,000, 1,500 unbonding
    check(2_500 * IFX)
    t3 = boa.env.evm.patch.timestamp
    warp(10)
    with boa.env.prank(a):
        s.votes.delegate(b)  # the votes move, the stake series stays a's
    assert s.votes.getVotes(a) == 0
    check(2_500 * IFX, holder=b)
    t_delegated = boa.env.evm.patch.timestamp
    warp(10)
    with boa.env.prank(s.por.address):
        assert s.staking.slash(a, 3_000 * IFX, ZERO, 0) == 3_000 * IFX  # 1,000 left: the unbonding shrinks to it
    assert (s.staking.nodes(a).stake, s.staking.nodes(a).unbonding) == (1_000 * IFX, 1_000 * IFX)
    check(0, holder=b)
    t4 = boa.env.evm.patch.timestamp
    warp(WEEK)
    with boa.env.prank(a):
        s.staking.withdraw()  # bonded unchanged
    check(0, holder=b)
    # the past keeps the old values
    assert [s.votes.getPastStake(a, t) for t in (t1 - 1, t1, t2, t3, t4)] == [
        0, 5_000 * IFX, 3_500 * IFX, 2_500 * IFX, 0]
    assert [s.votes.getPastTotalStake(t) for t in (t1, t2, t3, t4)] == [
        total0 + x for x in (5_000 * IFX, 3_500 * IFX, 2_500 * IFX, 0)]
    assert [s.votes.getPastTotalSupply(t) for t in (t1, t2, t3, t4)] == [
        total0 + x for x in (5_000 * IFX, 3_500 * IFX, 2_500 * IFX, 0)]
    assert [s.votes.getPastVotes(a, t) for t in (t1, t2, t3, t4)] == [5_000 * IFX, 3_500 * IFX, 2_500 * IFX, 0]
    assert (s.votes.getPastVotes(a, t_delegated), s.votes.getPastVotes(b, t_delegated)) == (0, 2_500 * IFX)
    assert s.votes.getPastStake(a, t_delegated) == 2_500 * IFX and s.votes.getPastVotes(b, t4) == 0


def test_no_show_slashes_move_votes_and_collateral_slashes_wait_for_a_sync(s):
    """`recordNoShow` pushes the new bonded stake at once; a task's collateral slashed at settlement
    (`slashCollateral`) pushes nothing (settlement pays no checkpoint gas) until the worker's next stake change or
    anyone's `syncVotes`."""
    oracle = s.oracles[2].address
    with boa.env.prank(s.governance):
        s.staking.setNoShow(1, 1_000)
    with boa.env.prank(s.por.address):
        assert s.staking.recordNoShow(oracle) == MIN_ORACLE_STAKE // 10
    assert s.votes.stakeOf(oracle) == s.votes.getVotes(oracle) == MIN_ORACLE_STAKE - MIN_ORACLE_STAKE // 10
    w0, w1 = s.workers[:2]
    job = s.create_job()
    tasks = s.post(job, n=2)  # fee 10 IFX, collateral 20 each
    s.assign_accept(tasks[0], w0)
    s.assign_accept(tasks[1], w1)
    with boa.env.prank(s.escrow.address):
        s.staking.slashCollateral(w0, 20 * IFX, 5 * IFX, ZERO, 0)
        s.staking.slashCollateral(w1, 20 * IFX, 5 * IFX, ZERO, 0)
    assert s.staking.nodes(w0).stake == WORKER_STAKE - 5 * IFX
    assert s.votes.stakeOf(w0) == s.votes.getVotes(w0) == WORKER_STAKE  # not yet
    nodes = [s.manager, *s.workers, *(o.address for o in s.oracles)]
    bonded = s.staking.totalStaked() - sum(s.staking.nodes(a).unbonding for a in nodes)
    assert s.votes.totalStake() == bonded + 10 * IFX == s.votes.totalVotes()
    with boa.env.prank(boa.env.generate_address("anyone")):
        s.staking.syncVotes(w0)
    with boa.env.prank(w1):
        s.staking.requestUnbond(IFX)  # the next stake change syncs too
    assert s.votes.stakeOf(w0) == s.votes.getVotes(w0) == WORKER_STAKE - 5 * IFX
    assert s.votes.stakeOf(w1) == s.votes.getVotes(w1) == WORKER_STAKE - 6 * IFX
    assert s.votes.totalStake() == bonded - IFX == s.votes.totalVotes()
