"""Staking: registration, bonding and unbonding, minimum stake, collateral and slashing hooks."""

import boa
import pytest

from .conftest import IFX, MIN_ORACLE_STAKE, USD, USD_PER_IFX, WORKER_PRICE, WORKER_STAKE, warp

WEEK = 7 * 86400


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
        s.staking.register(2, 0)
        with boa.reverts("staking: already registered"):
            s.staking.register(1, USD)
    assert s.staking.nodes(a).role == 2


def test_stake_requires_registration_and_amount(s):
    a = newcomer(s)
    with boa.env.prank(a):
        with boa.reverts("staking: not registered"):
            s.staking.stake(IFX)
        s.staking.register(2, 0)
        with boa.reverts("staking: zero amount"):
            s.staking.stake(0)
        s.staking.stake(3 * IFX)
    assert s.staking.nodes(a).stake == 3 * IFX
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()


def test_unbonding_delay(s):
    a = newcomer(s)
    with boa.env.prank(a):
        s.staking.register(2, 0)
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
        s.staking.withdraw()
    assert s.token.balanceOf(a) - before == 4_500 * IFX
    assert s.staking.nodes(a).stake == 500 * IFX
    assert s.staking.nodes(a).unbonding == 0


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
    s.attest_ib(worker, 2_500_000)  # IB 2.5
    assert s.staking.minStake(worker, USD_PER_IFX) == 21_600 * IFX
    assert s.staking.totalIB() == 2_500_000
    with boa.reverts("staking: zero rate"):
        s.staking.minStake(worker, 0)


def test_accept_checks_minimum_stake(s):
    """A worker whose IB makes S(n) exceed its stake cannot accept work."""
    worker = s.workers[0]
    s.attest_ib(worker, 3_000_000)  # S = 25,920 IFX > 20,000 staked
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
    ("slashCollateral", lambda s: (s.workers[0], 0, 0), "staking: caller is not the escrow"),
    ("slash", lambda s: (s.workers[0], 1), "staking: caller is not proof of render"),
    ("setIB", lambda s: (s.workers[0], 1), "staking: caller is not proof of render"),
])
def test_protocol_hooks_are_restricted(s, call, args, error):
    with boa.env.prank(s.workers[0]), boa.reverts(error):
        getattr(s.staking, call)(*args(s))


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
    with boa.env.prank(s.admin), boa.reverts("staking: already wired"):
        s.staking.wire(s.escrow.address, s.por.address, s.issuance.address)
    with boa.env.prank(s.workers[0]), boa.reverts("staking: caller is not the deployer"):
        s.staking.wire(s.escrow.address, s.por.address, s.issuance.address)


@pytest.mark.parametrize("setter,good,bad", [
    ("setUnbondingPeriod", 2 * 86400, 3600),
    ("setStakeMultiplier", 3, 11),
    ("setMinOracleStake", 5 * IFX, 10**7 * IFX + 1),
    ("setMinManagerStake", 5 * IFX, 10**7 * IFX + 1),
])
def test_governance_bounds(s, setter, good, bad):
    with boa.reverts("staking: caller is not governance"):
        getattr(s.staking, setter)(good)
    with boa.env.prank(s.governance):
        with boa.reverts("staking: out of bounds"):
            getattr(s.staking, setter)(bad)
        getattr(s.staking, setter)(good)


def test_min_oracle_stake_change_deactivates(s):
    with boa.env.prank(s.governance):
        s.staking.setMinOracleStake(MIN_ORACLE_STAKE + 1)
    assert not s.staking.isActive(s.oracles[0].address, 2)
