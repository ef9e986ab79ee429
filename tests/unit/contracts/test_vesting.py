"""Vesting: a factory of minimal-proxy escrows per beneficiary, the whitepaper's round presets, claims, votes at half
weight in VotePower, revocation of community grants only."""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FAST

from .conftest import IFX, deployer

# titanoboa casts every minimal proxy to its implementation's ABI, and warns that the proxy's code is not the
# implementation's (as intended)
pytestmark = pytest.mark.filterwarnings("ignore:casted bytecode does not match:UserWarning")

ZERO = "0x" + "00" * 20
MONTH = 2_629_800
BPS = 10_000
HALF = 5_000
BUCKET = 100_000_000 * IFX
# round -> (tgeBps, cliff, duration), the whitepaper's vesting table
PRESETS = {
    0: (0, 6 * MONTH, 12 * MONTH),  # seed
    1: (0, 6 * MONTH, 12 * MONTH),  # strategic
    2: (1_000, 3 * MONTH, 15 * MONTH),  # KOLs
    3: (1_000, 3 * MONTH, 4 * MONTH),  # public sale
    4: (0, 12 * MONTH, 24 * MONTH),  # foundation
}


@dataclass
class Vesting:
    admin: str
    timelock: str
    staking: str
    token: object
    votes: object
    implementation: object
    factory: object  # irrevocable: investors, foundation
    community: object  # revocable: community grants


def now() -> int:
    return boa.env.evm.patch.timestamp


def vested(total: int, start: int, tge_bps: int, cliff: int, duration: int, t: int) -> int:
    if t < start:
        return 0
    tge = total * tge_bps // BPS
    if t < start + cliff:
        return tge
    if duration == 0:
        return total
    return tge + (total - tge) * min(t - start - cliff, duration) // duration


@pytest.fixture(scope="module")
def world() -> Vesting:
    admin = boa.env.eoa
    token = deployer("IFXToken").deploy()
    votes = deployer("VotePower").deploy(token.address, "Inferix Votes", "1")
    implementation = deployer("VestingEscrow").deploy()
    factory = deployer("VestingFactory").deploy(token.address, votes.address, implementation.address, False)
    community = deployer("VestingFactory").deploy(token.address, votes.address, implementation.address, True)
    staking = boa.env.generate_address("staking")
    votes.wire(staking, [factory.address, community.address])
    token.mint(factory.address, BUCKET)
    token.mint(community.address, BUCKET)
    return Vesting(admin, boa.env.generate_address("timelock"), staking, token, votes, implementation, factory,
                   community)


@pytest.fixture
def v(world: Vesting):
    with boa.env.anchor():
        yield world


def escrow_at(address: str):
    return deployer("VestingEscrow").at(address)


def create(factory, beneficiary: str, amount: int, start: int, tge_bps: int, cliff: int, duration: int):
    return escrow_at(factory.createEscrow(beneficiary, amount, start, tge_bps, cliff, duration))


# ---------------------------------------------------------------- creation


def test_round_escrow_is_a_locked_delegated_proxy(v):
    alice = boa.env.generate_address("alice")
    start = now() + 1_000
    address = v.factory.createRoundEscrow(2, alice, 1_000 * IFX, start)
    logs = [log for log in v.factory.get_logs() if type(log).__name__ == "EscrowCreated"]
    assert len(logs) == 1
    log = logs[0]
    assert (log.escrow, log.beneficiary, log.amount, log.start, log.tgeBps, log.cliff, log.duration) == (
        address, alice, 1_000 * IFX, start, 1_000, 3 * MONTH, 15 * MONTH)
    escrow = escrow_at(address)
    assert (escrow.beneficiary(), escrow.total(), escrow.start(), escrow.tgeBps(), escrow.cliff(),
            escrow.duration()) == (alice, 1_000 * IFX, start, 1_000, 3 * MONTH, 15 * MONTH)
    assert escrow.factory() == v.factory.address and escrow.token() == v.token.address
    assert escrow.votes() == v.votes.address and escrow.claimed() == 0
    # a minimal proxy of the implementation (EIP-1167)
    code = boa.env.evm.get_code(address)
    assert len(code) == 45 and bytes.fromhex(v.implementation.address[2:].lower()) in code
    # everything locked in VotePower at half weight, delegated to the beneficiary
    assert v.votes.isEscrow(address)
    assert v.votes.locked(address) == 1_000 * IFX and v.token.balanceOf(address) == 0
    assert v.votes.delegates(address) == alice
    assert v.votes.getVotes(alice) == 500 * IFX and v.votes.getVotes(address) == 0
    assert v.factory.available() == BUCKET - 1_000 * IFX
    assert v.factory.escrowCount() == 1 and v.factory.escrows(0) == address and v.factory.isEscrow(address)
    second = v.factory.createRoundEscrow(0, alice, 3 * IFX + 1, start)
    assert v.factory.getEscrows(0, 10) == [address, second]
    assert v.factory.getEscrows(1, 10) == [second] and v.factory.getEscrows(0, 1) == [address]
    assert v.factory.getEscrows(2, 10) == []
    assert v.votes.getVotes(alice) == 500 * IFX + (3 * IFX + 1) // 2
    assert not v.community.isEscrow(address)


def test_round_presets(v):
    for round_, preset in PRESETS.items():
        assert v.factory.roundSchedule(round_) == preset
    with boa.reverts("vesting: unknown round"):
        v.factory.roundSchedule(5)
    with boa.reverts("vesting: unknown round"):
        v.factory.createRoundEscrow(5, v.admin, IFX, now())
    assert v.factory.MONTH() == MONTH
    for round_, (tge, cliff, duration) in PRESETS.items():
        escrow = escrow_at(v.factory.createRoundEscrow(round_, v.admin, 100 * IFX, now()))
        assert (escrow.tgeBps(), escrow.cliff(), escrow.duration()) == (tge, cliff, duration)


def test_create_refusals(v):
    alice = boa.env.generate_address()
    with boa.reverts("vesting: zero beneficiary"):
        v.factory.createEscrow(ZERO, IFX, now(), 0, 0, MONTH)
    with boa.reverts("vesting: zero amount"):
        v.factory.createEscrow(alice, 0, now(), 0, 0, MONTH)
    with boa.reverts("vesting: bad tge share"):
        v.factory.createEscrow(alice, IFX, now(), 10_001, 0, MONTH)
    with boa.reverts("vesting: bucket too small"):
        v.factory.createEscrow(alice, BUCKET + 1, now(), 0, 0, MONTH)
    # a factory that VotePower was not wired with cannot register escrows
    rogue = deployer("VestingFactory").deploy(v.token.address, v.votes.address, v.implementation.address, True)
    v.token.mint(rogue.address, IFX)
    with boa.reverts("vesting: factory not wired in VotePower"):
        rogue.createEscrow(alice, IFX, now(), 0, 0, MONTH)
    assert v.factory.escrowCount() == 0 and v.factory.available() == BUCKET


def test_only_the_owner_creates_releases_and_revokes(v):
    stranger = boa.env.generate_address("stranger")
    escrow = v.community.createEscrow(stranger, 10 * IFX, now(), 0, 0, MONTH)
    for account in (stranger, v.timelock, v.staking):
        with boa.env.prank(account):
            with boa.reverts("ownable: caller is not the owner"):
                v.factory.createEscrow(stranger, IFX, now(), 0, 0, MONTH)
            with boa.reverts("ownable: caller is not the owner"):
                v.factory.createRoundEscrow(0, stranger, IFX, now())
            with boa.reverts("ownable: caller is not the owner"):
                v.factory.release(stranger, IFX)
            with boa.reverts("ownable: caller is not the owner"):
                v.community.revoke(escrow)
    # handed over to the governance timelock at the end of the deployment
    assert v.factory.owner() == v.admin
    v.factory.transfer_ownership(v.timelock)
    assert v.factory.owner() == v.timelock
    with boa.reverts("ownable: caller is not the owner"):
        v.factory.release(stranger, IFX)
    with boa.env.prank(v.timelock):
        v.factory.release(stranger, IFX)
        v.factory.createRoundEscrow(3, stranger, IFX, now())
    assert v.token.balanceOf(stranger) == IFX and v.factory.escrowCount() == 1


def test_release_from_the_bucket(v):
    airdrop = boa.env.generate_address("airdrop")
    v.community.release(airdrop, 3_000_000 * IFX)
    log = v.community.get_logs()[-1]
    assert (type(log).__name__, log.to, log.amount) == ("Released", airdrop, 3_000_000 * IFX)
    assert v.token.balanceOf(airdrop) == 3_000_000 * IFX
    assert v.community.available() == BUCKET - 3_000_000 * IFX
    assert v.votes.getVotes(airdrop) == 0  # released IFX is not vesting: it votes once its holder locks it
    with boa.reverts("vesting: zero receiver"):
        v.community.release(ZERO, 1)
    with boa.reverts("vesting: zero amount"):
        v.community.release(airdrop, 0)
    with boa.reverts():
        v.community.release(airdrop, BUCKET)


# ---------------------------------------------------------------- initialize


def test_initialize_refused_twice_and_on_the_implementation(v):
    alice = boa.env.generate_address()
    escrow = escrow_at(v.factory.createRoundEscrow(0, alice, 10 * IFX, now()))
    for caller in (v.factory.address, alice, v.admin):
        with boa.env.prank(caller), boa.reverts("escrow: already initialized"):
            escrow.initialize(v.token.address, v.votes.address, caller, 1, 0, 0, 0, 0)
    assert escrow.beneficiary() == alice and escrow.total() == 10 * IFX
    impl = v.implementation
    assert impl.initialized()
    for caller in (v.factory.address, alice):
        with boa.env.prank(caller), boa.reverts("escrow: already initialized"):
            impl.initialize(v.token.address, v.votes.address, caller, 1, 0, 0, 0, 0)
    with boa.reverts("escrow: not initialized"):
        impl.claim()
    with boa.reverts("escrow: caller is not the factory"):
        impl.revoke()
    assert impl.beneficiary() == ZERO and impl.factory() == ZERO


# ---------------------------------------------------------------- schedules


@pytest.mark.parametrize("round_", sorted(PRESETS))
@settings(max_examples=4 if FAST else 15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.integers(1, 10_000_000 * IFX), delay=st.integers(0, 2 * MONTH),
       steps=st.lists(st.tuples(st.integers(0, 5 * MONTH), st.booleans()), min_size=1, max_size=10))
def test_vesting_over_time(world, round_, amount, delay, steps):
    """At any time: vested follows the schedule (nothing before start, only the TGE share before the cliff's end),
    claimable = vested − claimed, claims pay the beneficiary (whoever calls) and only that, the claimed total only
    grows, the escrow's votes are half of what it still locks, and everything is claimable by the end."""
    v = world
    beneficiary = boa.env.generate_address("beneficiary")
    keeper = boa.env.generate_address("keeper")
    tge_bps, cliff, duration = PRESETS[round_]
    start = now() + delay
    escrow = escrow_at(v.factory.createRoundEscrow(round_, beneficiary, amount, start))
    tge = amount * tge_bps // BPS
    assert escrow.vestedAt(start - 1) == 0
    assert escrow.vestedAt(start) == tge == escrow.vestedAt(start + cliff - 1)
    assert escrow.vestedAt(start + cliff + duration) == amount
    claimed = 0
    for wait, claim in steps:
        if wait:
            boa.env.time_travel(seconds=wait)
        t = now()
        expected = vested(amount, start, tge_bps, cliff, duration, t)
        assert escrow.vested() == expected == escrow.vestedAt(t)
        if t < start:
            assert expected == 0
        elif t < start + cliff:
            assert expected == tge
        assert escrow.claimable() == expected - claimed
        if claim:
            with boa.env.prank(keeper):
                paid = escrow.claim()
            assert paid == expected - claimed
            claimed = expected
        assert escrow.claimed() == claimed <= expected
        assert v.token.balanceOf(beneficiary) == claimed and v.token.balanceOf(keeper) == 0
        assert v.votes.locked(escrow.address) == amount - claimed
        assert v.votes.getVotes(beneficiary) == (amount - claimed) * HALF // BPS
    end = start + cliff + duration
    if now() < end:
        boa.env.time_travel(seconds=end - now())
    assert escrow.claimable() == amount - claimed
    escrow.claim()
    assert v.token.balanceOf(beneficiary) == amount and escrow.claimed() == amount
    assert v.votes.locked(escrow.address) == 0 and v.votes.getVotes(beneficiary) == 0
    assert escrow.claimable() == 0 and escrow.claim() == 0


def test_zero_duration_vests_everything_at_the_cliffs_end(v):
    alice = boa.env.generate_address()
    start = now() + 10
    escrow = create(v.factory, alice, 1_000, start, 2_500, 100, 0)
    assert [escrow.vestedAt(t) for t in (start - 1, start, start + 99, start + 100, start + 10**9)] == [
        0, 250, 250, 1_000, 1_000]


def test_claim_events_and_nothing_to_claim(v):
    alice = boa.env.generate_address()
    start = now() + 100
    escrow = create(v.factory, alice, 1_000 * IFX, start, 1_000, MONTH, MONTH)
    assert escrow.claim() == 0 and escrow.get_logs() == []
    assert v.token.balanceOf(alice) == 0
    boa.env.time_travel(seconds=100)
    assert escrow.claim() == 100 * IFX
    log = escrow.get_logs()[-1]
    assert (type(log).__name__, log.beneficiary, log.amount) == ("Claimed", alice, 100 * IFX)
    assert escrow.claim() == 0  # nothing more until the cliff's end
    assert v.token.balanceOf(alice) == 100 * IFX


def test_beneficiary_alone_delegates_the_escrows_votes(v):
    alice, bob, stranger = (boa.env.generate_address() for _ in range(3))
    escrow = escrow_at(v.factory.createRoundEscrow(4, alice, 100 * IFX, now()))
    for caller in (stranger, v.admin, v.factory.address):
        with boa.env.prank(caller), boa.reverts("escrow: caller is not the beneficiary"):
            escrow.delegate(stranger)
    with boa.env.prank(alice):
        escrow.delegate(bob)
    assert v.votes.delegates(escrow.address) == bob
    assert (v.votes.getVotes(alice), v.votes.getVotes(bob)) == (0, 50 * IFX)


# ---------------------------------------------------------------- revocation


@pytest.mark.parametrize("elapsed,claim_first", [(0, False), (MONTH, True), (4 * MONTH, False), (7 * MONTH, True),
                                                 (30 * MONTH, False)])
def test_revocation_is_exact(v, elapsed, claim_first):
    alice = boa.env.generate_address("grantee")
    total = 1_234_567 * IFX + 89
    start = now() + MONTH  # revoking before the start returns everything
    tge_bps, cliff, duration = 1_000, 2 * MONTH, 6 * MONTH
    escrow = create(v.community, alice, total, start, tge_bps, cliff, duration)
    bucket = v.community.available()
    boa.env.time_travel(seconds=elapsed)
    claimed = escrow.claim() if claim_first else 0
    t = now()
    vested_now = vested(total, start, tge_bps, cliff, duration, t)
    returned = v.community.revoke(escrow.address)
    logs = v.community.get_logs()
    assert (type(logs[-1]).__name__, logs[-1].escrow, logs[-1].returned) == ("EscrowRevoked", escrow.address,
                                                                            returned)
    assert returned == total - vested_now
    assert vested_now + returned == total
    assert v.community.available() == bucket + returned
    assert escrow.revoked() and escrow.revokedAt() == t
    # the votes drop to half of what vested and is still unclaimed
    assert v.votes.locked(escrow.address) == vested_now - claimed
    assert v.votes.getVotes(alice) == (vested_now - claimed) * HALF // BPS
    # the schedule is frozen: what vested stays claimable, nothing more ever vests
    boa.env.time_travel(seconds=40 * MONTH)
    assert escrow.vested() == vested_now == escrow.vestedAt(start + cliff + duration)
    assert escrow.claimable() == vested_now - claimed
    escrow.claim()
    assert v.token.balanceOf(alice) == vested_now
    assert v.votes.locked(escrow.address) == 0 and v.votes.getVotes(alice) == 0
    assert v.token.balanceOf(escrow.address) == 0
    with boa.reverts("escrow: already revoked"):
        v.community.revoke(escrow.address)


def test_revocation_refused_on_an_irrevocable_factory(v):
    alice = boa.env.generate_address()
    escrow = escrow_at(v.factory.createRoundEscrow(0, alice, 100 * IFX, now()))
    assert not v.factory.revocable() and v.community.revocable()
    with boa.reverts("vesting: not revocable"):
        v.factory.revoke(escrow.address)
    # nobody reaches the escrow around its factory
    for caller in (v.admin, alice, v.community.address):
        with boa.env.prank(caller), boa.reverts("escrow: caller is not the factory"):
            escrow.revoke()
    with boa.env.prank(v.factory.address), boa.reverts("escrow: not revocable"):
        escrow.revoke()
    assert not escrow.revoked() and v.votes.locked(escrow.address) == 100 * IFX
    # a revocable factory revokes only its own escrows
    with boa.reverts("vesting: unknown escrow"):
        v.community.revoke(escrow.address)
