"""VotePower: IFX locked to vote, Staking's bonded stake, vesting escrows at half weight, delegation (also by
EIP-712 signature), timestamp checkpoints that a same-timestamp flash loan leaves untouched."""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FAST

from .conftest import IFX, deployer

ZERO = "0x" + "00" * 20
HALF = 5_000
BPS = 10_000
DELEGATION_TYPES = {
    "Delegation": [
        {"name": "delegatee", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
    ]
}
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass
class Votes:
    admin: str
    staking: str
    factory: str  # stands in for a wired VestingFactory
    escrow: str  # an address the factory registered as a vesting escrow
    holders: list[str]
    token: object
    votes: object


def now() -> int:
    return boa.env.evm.patch.timestamp


@pytest.fixture(scope="module")
def world() -> Votes:
    admin = boa.env.eoa
    token = deployer("IFXToken").deploy()
    votes = deployer("VotePower").deploy(token.address, "Inferix Votes", "1")
    staking = boa.env.generate_address("staking")
    factory = boa.env.generate_address("vesting factory")
    votes.wire(staking, [factory])
    escrow = boa.env.generate_address("escrow")
    with boa.env.prank(factory):
        votes.registerEscrow(escrow)
    holders = [boa.env.generate_address(f"holder{i}") for i in range(4)]
    for account in holders + [escrow]:
        token.mint(account, 1_000_000 * IFX)
        with boa.env.prank(account):
            token.approve(votes.address, 2**256 - 1)
    return Votes(admin, staking, factory, escrow, holders, token, votes)


@pytest.fixture
def w(world: Votes):
    with boa.env.anchor():
        yield world


def lock(w: Votes, account: str, amount: int) -> None:
    with boa.env.prank(account):
        w.votes.lock(amount)


def unlock(w: Votes, account: str, amount: int) -> None:
    with boa.env.prank(account):
        w.votes.unlock(amount)


def delegate(w: Votes, account: str, to: str) -> None:
    with boa.env.prank(account):
        w.votes.delegate(to)


def stake(w: Votes, account: str, bonded: int) -> None:
    with boa.env.prank(w.staking):
        w.votes.onStake(account, bonded)


# ---------------------------------------------------------------- basics


def test_clock_and_domain(w):
    assert w.votes.CLOCK_MODE() == "mode=timestamp"
    assert w.votes.clock() == now()
    boa.env.time_travel(seconds=1234)
    assert w.votes.clock() == now()
    domain = w.votes.eip712Domain()
    assert (domain[1], domain[2], domain[3], domain[4]) == ("Inferix Votes", "1", boa.env.evm.patch.chain_id,
                                                           w.votes.address)
    assert w.votes.VESTING_VOTE_BPS() == HALF
    assert w.votes.token() == w.token.address


def test_wire_once_by_the_deployer():
    token = deployer("IFXToken").deploy()
    votes = deployer("VotePower").deploy(token.address, "Inferix Votes", "1")
    staking, factory, stranger = (boa.env.generate_address() for _ in range(3))
    with boa.env.prank(stranger), boa.reverts("votes: caller is not the deployer"):
        votes.wire(staking, [factory])
    with boa.reverts("votes: zero staking"):
        votes.wire(ZERO, [factory])
    with boa.reverts("votes: zero factory"):
        votes.wire(staking, [ZERO])
    # before wiring, nobody is Staking or a factory
    with boa.env.prank(staking), boa.reverts("votes: caller is not staking"):
        votes.onStake(stranger, 1)
    votes.wire(staking, [factory])
    assert votes.staking() == staking and votes.isFactory(factory) and votes.wired()
    assert not votes.isFactory(stranger)
    with boa.reverts("votes: already wired"):
        votes.wire(stranger, [stranger])
    assert votes.staking() == staking and not votes.isFactory(stranger)


def test_lock_unlock_and_delegate_move_votes(w):
    alice, bob, carol, _ = w.holders
    assert w.votes.delegates(alice) == alice  # never delegated: counts for itself
    lock(w, alice, 100 * IFX)
    assert w.token.balanceOf(w.votes.address) == 100 * IFX
    assert w.votes.locked(alice) == 100 * IFX and w.votes.totalLocked() == 100 * IFX
    assert w.votes.getVotes(alice) == 100 * IFX
    assert w.votes.totalVotes() == 100 * IFX

    delegate(w, alice, bob)
    logs = w.votes.get_logs()
    assert [type(log).__name__ for log in logs] == ["DelegateChanged", "DelegateVotesChanged", "DelegateVotesChanged"]
    assert (logs[0].delegator, logs[0].fromDelegate, logs[0].toDelegate) == (alice, alice, bob)
    assert (logs[1].delegate, logs[1].previousVotes, logs[1].newVotes) == (alice, 100 * IFX, 0)
    assert (logs[2].delegate, logs[2].previousVotes, logs[2].newVotes) == (bob, 0, 100 * IFX)
    assert w.votes.delegates(alice) == bob
    assert (w.votes.getVotes(alice), w.votes.getVotes(bob)) == (0, 100 * IFX)

    # more IFX locked by alice goes to her delegate; bob's own lock counts for bob
    lock(w, alice, 50 * IFX)
    lock(w, bob, 7 * IFX)
    assert (w.votes.getVotes(alice), w.votes.getVotes(bob)) == (0, 157 * IFX)
    delegate(w, alice, carol)
    assert (w.votes.getVotes(bob), w.votes.getVotes(carol)) == (7 * IFX, 150 * IFX)
    unlock(w, alice, 30 * IFX)
    assert w.votes.getVotes(carol) == 120 * IFX
    assert w.token.balanceOf(alice) == 1_000_000 * IFX - 120 * IFX
    # alice takes her votes back
    delegate(w, alice, alice)
    assert (w.votes.getVotes(alice), w.votes.getVotes(carol)) == (120 * IFX, 0)
    assert w.votes.totalVotes() == 127 * IFX == w.votes.totalLocked()
    unlock(w, alice, 120 * IFX)
    assert w.votes.getVotes(alice) == 0 and w.votes.locked(alice) == 0
    assert w.token.balanceOf(alice) == 1_000_000 * IFX


def test_lock_refusals(w):
    alice, bob, _, _ = w.holders
    lock(w, alice, 10)
    with boa.env.prank(alice), boa.reverts("votes: unlock exceeds locked"):
        w.votes.unlock(11)
    with boa.env.prank(bob), boa.reverts("votes: unlock exceeds locked"):
        w.votes.unlock(1)  # bob's lock is bob's, not the pool's
    with boa.env.prank(alice), boa.reverts("votes: zero amount"):
        w.votes.lock(0)
    with boa.env.prank(alice), boa.reverts("votes: zero amount"):
        w.votes.unlock(0)
    with boa.env.prank(alice), boa.reverts("votes: zero delegatee"):
        w.votes.delegate(ZERO)
    poor = boa.env.generate_address()
    with boa.env.prank(poor), boa.reverts():
        w.votes.lock(1)  # no allowance, no balance
    assert w.votes.getVotes(alice) == 10 and w.votes.totalLocked() == 10


# ---------------------------------------------------------------- history


def test_past_votes_and_total_supply(w):
    alice, bob, _, _ = w.holders
    t0 = now()
    lock(w, alice, 100 * IFX)
    boa.env.time_travel(seconds=10)
    t1 = now()
    lock(w, bob, 40 * IFX)
    delegate(w, alice, bob)
    boa.env.time_travel(seconds=10)
    t2 = now()
    unlock(w, alice, 60 * IFX)
    boa.env.time_travel(seconds=10)
    t3 = now()
    delegate(w, bob, alice)
    boa.env.time_travel(seconds=5)

    assert w.votes.getPastVotes(alice, t0 - 1) == 0
    assert w.votes.getPastTotalSupply(t0 - 1) == 0
    assert [w.votes.getPastVotes(alice, t) for t in (t0, t0 + 5, t1, t2, t3)] == [100 * IFX, 100 * IFX, 0, 0, 40 * IFX]
    assert [w.votes.getPastVotes(bob, t) for t in (t0, t1, t1 + 9, t2, t3)] == [0, 140 * IFX, 140 * IFX, 80 * IFX, 40 * IFX]
    assert [w.votes.getPastTotalSupply(t) for t in (t0, t1, t2, t3, t3 + 4)] == [100 * IFX, 140 * IFX, 80 * IFX,
                                                                                 80 * IFX, 80 * IFX]
    # one checkpoint per timestamp: two writes at t1 made one
    assert w.votes.numCheckpoints(bob) == 3
    assert w.votes.checkpoints(bob, 0) == (t1, 140 * IFX)
    # the present and the future are not history
    for t in (now(), now() + 1, 2**64):
        with boa.reverts("votes: future lookup"):
            w.votes.getPastVotes(alice, t)
        with boa.reverts("votes: future lookup"):
            w.votes.getPastTotalSupply(t)
        with boa.reverts("votes: future lookup"):
            w.votes.getPastStake(alice, t)
        with boa.reverts("votes: future lookup"):
            w.votes.getPastTotalStake(t)


def test_binary_search_over_many_checkpoints(w):
    alice = w.holders[0]
    times = []
    for i in range(1, 41):
        lock(w, alice, i)
        times.append(now())
        boa.env.time_travel(seconds=3)
    assert w.votes.numCheckpoints(alice) == 40
    for i, t in enumerate(times):
        expected = (i + 1) * (i + 2) // 2
        assert w.votes.getPastVotes(alice, t) == expected
        assert w.votes.getPastVotes(alice, t + 2) == expected
        assert w.votes.getPastTotalSupply(t + 1) == expected
    assert w.votes.getPastVotes(alice, times[0] - 1) == 0


def test_flash_loan_in_one_timestamp_leaves_no_trace(w):
    alice, lender, attacker, _ = w.holders
    lock(w, alice, 100 * IFX)
    boa.env.time_travel(seconds=100)
    snapshot = now()
    # within one timestamp: borrow, lock, unlock, pay back
    with boa.env.prank(lender):
        w.token.transfer(attacker, 500_000 * IFX)
    lock(w, attacker, 1_500_000 * IFX)
    assert w.votes.getVotes(attacker) == 1_500_000 * IFX  # the present sees it...
    assert w.votes.getPastVotes(attacker, snapshot - 1) == 0  # ...the past does not
    unlock(w, attacker, 1_500_000 * IFX)
    with boa.env.prank(attacker):
        w.token.transfer(lender, 500_000 * IFX)
    boa.env.time_travel(seconds=1)
    assert w.votes.getPastVotes(attacker, snapshot) == 0
    assert w.votes.getPastTotalSupply(snapshot) == 100 * IFX
    assert w.votes.getPastVotes(alice, snapshot) == 100 * IFX
    # the net-zero writes overwrote one checkpoint, nothing more
    assert w.votes.numCheckpoints(attacker) == 1 and w.votes.checkpoints(attacker, 0) == (snapshot, 0)


def test_tokens_moved_and_locked_after_a_snapshot_vote_nothing_at_it(w):
    alice, bob, buddy, _ = w.holders
    lock(w, alice, 100 * IFX)
    lock(w, bob, 10 * IFX)
    boa.env.time_travel(seconds=1)
    snapshot = now() - 1
    # after the snapshot, alice unlocks and hands her IFX to a buddy who locks them (and bob's)
    unlock(w, alice, 100 * IFX)
    with boa.env.prank(alice):
        w.token.transfer(buddy, 100 * IFX)
    lock(w, buddy, 100 * IFX)
    delegate(w, bob, buddy)
    boa.env.time_travel(seconds=50)
    assert w.votes.getPastVotes(buddy, snapshot) == 0
    assert w.votes.getPastVotes(alice, snapshot) == 100 * IFX
    assert w.votes.getPastVotes(bob, snapshot) == 10 * IFX
    assert w.votes.getPastTotalSupply(snapshot) == 110 * IFX
    assert w.votes.getPastVotes(buddy, now() - 1) == 110 * IFX
    assert w.votes.getPastTotalSupply(now() - 1) == 110 * IFX


# ---------------------------------------------------------------- delegateBySig


def _sign(w: Votes, key: bytes, delegatee: str, nonce: int, expiry: int, verifying: str | None = None,
          chain_id: int | None = None):
    domain = {"name": "Inferix Votes", "version": "1", "chainId": chain_id or boa.env.evm.patch.chain_id,
              "verifyingContract": verifying or w.votes.address}
    signed = Account.sign_typed_data(key, domain, DELEGATION_TYPES,
                                     {"delegatee": delegatee, "nonce": nonce, "expiry": expiry})
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def _fund_and_lock(w: Votes, account: str, amount: int) -> None:
    with boa.env.prank(w.holders[3]):
        w.token.transfer(account, amount)
    with boa.env.prank(account):
        w.token.approve(w.votes.address, amount)
        w.votes.lock(amount)


def test_delegate_by_sig_once(w):
    owner = Account.from_key(b"\x11" * 32)
    delegatee, relayer = w.holders[0], w.holders[1]
    _fund_and_lock(w, owner.address, 50 * IFX)
    expiry = now() + 3600
    v, r, s = _sign(w, owner.key, delegatee, 0, expiry)
    with boa.env.prank(relayer):
        w.votes.delegateBySig(delegatee, 0, expiry, v, r, s)
    assert w.votes.delegates(owner.address) == delegatee
    assert w.votes.nonces(owner.address) == 1
    assert (w.votes.getVotes(delegatee), w.votes.getVotes(owner.address)) == (50 * IFX, 0)
    # replay refused
    with boa.reverts("votes: invalid nonce"):
        w.votes.delegateBySig(delegatee, 0, expiry, v, r, s)
    # the next nonce works, once
    v, r, s = _sign(w, owner.key, owner.address, 1, expiry)
    w.votes.delegateBySig(owner.address, 1, expiry, v, r, s)
    assert w.votes.getVotes(owner.address) == 50 * IFX and w.votes.nonces(owner.address) == 2
    with boa.reverts("votes: invalid nonce"):
        w.votes.delegateBySig(owner.address, 1, expiry, v, r, s)


def test_delegate_by_sig_expired(w):
    owner = Account.from_key(b"\x12" * 32)
    _fund_and_lock(w, owner.address, 5 * IFX)
    expiry = now() + 60
    v, r, s = _sign(w, owner.key, w.holders[0], 0, expiry)
    boa.env.time_travel(seconds=61)
    with boa.reverts("votes: signature expired"):
        w.votes.delegateBySig(w.holders[0], 0, expiry, v, r, s)
    assert w.votes.delegates(owner.address) == owner.address and w.votes.nonces(owner.address) == 0


def test_delegate_by_sig_wrong_signer(w):
    """A signature moves only its own signer's votes: a tampered message, another domain or another key never
    delegates the victim's units, and malformed signatures are refused."""
    victim = Account.from_key(b"\x13" * 32)
    mallory = Account.from_key(b"\x14" * 32)
    thief = w.holders[2]
    _fund_and_lock(w, victim.address, 80 * IFX)
    expiry = now() + 3600
    v, r, s = _sign(w, victim.key, w.holders[0], 0, expiry)
    # the victim's signature, relayed for another delegatee: it recovers some other (keyless, unitless) address,
    # whose fresh nonce 0 matches, so that address delegates: never the victim (ERC20Votes behaves the same)
    w.votes.delegateBySig(thief, 0, expiry, v, r, s)
    log = w.votes.get_logs()[0]
    assert type(log).__name__ == "DelegateChanged" and log.delegator not in (victim.address, mallory.address)
    assert w.votes.delegates(victim.address) == victim.address
    assert w.votes.getVotes(thief) == 0 and w.votes.getVotes(victim.address) == 80 * IFX
    assert w.votes.nonces(victim.address) == 0
    # signed for another contract or chain: not the victim either
    for other in (_sign(w, victim.key, thief, 0, expiry, verifying=w.token.address),
                  _sign(w, victim.key, thief, 0, expiry, chain_id=boa.env.evm.patch.chain_id + 1)):
        w.votes.delegateBySig(thief, 0, expiry, *other)
        assert w.votes.get_logs()[0].delegator != victim.address
    assert w.votes.delegates(victim.address) == victim.address and w.votes.getVotes(thief) == 0
    # mallory signs "the victim's next nonce": it is checked against mallory's own nonce
    w.votes.delegateBySig(w.holders[0], 0, expiry, v, r, s)  # the genuine one still works
    assert w.votes.nonces(victim.address) == 1
    mv, mr, ms = _sign(w, mallory.key, thief, 1, expiry)
    with boa.reverts("votes: invalid nonce"):
        w.votes.delegateBySig(thief, 1, expiry, mv, mr, ms)
    assert w.votes.delegates(victim.address) == w.holders[0]
    # malformed: high s (the malleable twin of a valid signature) and a bad v
    v2, r2, s2 = _sign(w, victim.key, thief, 1, expiry)
    high_s = (SECP256K1_N - int.from_bytes(s2, "big")).to_bytes(32, "big")
    with boa.reverts("ecdsa: invalid signature `s` value"):
        w.votes.delegateBySig(thief, 1, expiry, 55 - v2, r2, high_s)
    with boa.reverts("ecdsa: invalid signature"):
        w.votes.delegateBySig(thief, 1, expiry, 29, r2, s2)
    assert w.votes.delegates(victim.address) == w.holders[0] and w.votes.getVotes(thief) == 0


# ---------------------------------------------------------------- stake


def test_on_stake_only_from_staking(w):
    alice = w.holders[0]
    for caller in (alice, w.admin, w.factory, w.escrow):
        with boa.env.prank(caller), boa.reverts("votes: caller is not staking"):
            w.votes.onStake(alice, 1_000 * IFX)
    assert w.votes.getVotes(alice) == 0 and w.votes.stakeOf(alice) == 0


def test_stake_counts_at_weight_one_and_keeps_its_own_series(w):
    alice, bob, carol, _ = w.holders
    lock(w, alice, 10 * IFX)
    stake(w, alice, 1_000 * IFX)
    logs = w.votes.get_logs()
    assert type(logs[-1]).__name__ == "StakeChanged"
    assert (logs[-1].account, logs[-1].previousBonded, logs[-1].newBonded) == (alice, 0, 1_000 * IFX)
    assert w.votes.getVotes(alice) == 1_010 * IFX and w.votes.votingUnits(alice) == 1_010 * IFX
    assert w.votes.totalStake() == 1_000 * IFX and w.votes.totalVotes() == 1_010 * IFX
    stake(w, bob, 300 * IFX)
    t1 = now()
    boa.env.time_travel(seconds=10)
    # alice delegates: her stake votes with bob, yet the stake series (the staker veto) stays hers
    delegate(w, alice, bob)
    stake(w, alice, 400 * IFX)  # unbonding 600
    t2 = now()
    boa.env.time_travel(seconds=10)
    stake(w, carol, 50 * IFX)
    stake(w, bob, 0)
    t3 = now()
    boa.env.time_travel(seconds=1)
    stake(w, carol, 50 * IFX)  # no change: nothing written
    assert w.votes.getVotes(bob) == 410 * IFX and w.votes.getVotes(alice) == 0
    assert w.votes.getPastStake(alice, t1) == 1_000 * IFX
    assert w.votes.getPastStake(alice, t2) == 400 * IFX
    assert w.votes.getPastStake(bob, t2) == 300 * IFX
    assert w.votes.getPastStake(bob, t3) == 0
    assert w.votes.getPastStake(carol, t2) == 0 and w.votes.getPastStake(carol, t3) == 50 * IFX
    assert [w.votes.getPastTotalStake(t) for t in (t1 - 1, t1, t2, t3)] == [0, 1_300 * IFX, 700 * IFX, 450 * IFX]
    assert w.votes.getPastVotes(bob, t1) == 300 * IFX and w.votes.getPastVotes(bob, t2) == 710 * IFX
    assert w.votes.getPastTotalSupply(t1) == 1_310 * IFX
    assert w.votes.getPastTotalSupply(t2) == 710 * IFX
    assert w.votes.getPastTotalSupply(t3) == 460 * IFX
    # staking moves no IFX here
    assert w.token.balanceOf(w.votes.address) == 10 * IFX == w.votes.totalLocked()


# ---------------------------------------------------------------- vesting escrows


def test_escrow_units_count_at_half_weight_without_drift(w):
    alice = w.holders[0]
    escrow = w.escrow
    assert w.votes.isEscrow(escrow) and not w.votes.isEscrow(alice)
    with boa.env.prank(escrow):
        w.votes.delegate(alice)
    lock(w, escrow, 1)
    assert w.votes.getVotes(alice) == 0  # 1 * 5000 // 10000
    lock(w, escrow, 1)
    assert w.votes.getVotes(alice) == 1  # computed from the total deposit (2), not 0 + 0
    lock(w, escrow, 1_001 * IFX)
    deposit = 1_001 * IFX + 2
    assert w.votes.getVotes(alice) == deposit * HALF // BPS == w.votes.votingUnits(escrow)
    assert w.votes.totalVotes() == deposit * HALF // BPS
    for amount in (3, 1, 500 * IFX - 7, 1):
        unlock(w, escrow, amount)
        deposit -= amount
        assert w.votes.getVotes(alice) == deposit * HALF // BPS == w.votes.totalVotes()
    unlock(w, escrow, deposit)
    assert w.votes.getVotes(alice) == 0 and w.votes.totalVotes() == 0
    # a plain holder's lock still counts in full next to it
    lock(w, alice, 9)
    lock(w, escrow, 9)
    assert w.votes.getVotes(alice) == 9 + 4


def test_register_escrow_refusals(w):
    alice, bob, _, _ = w.holders
    for caller in (alice, w.admin, w.staking, w.escrow):
        with boa.env.prank(caller), boa.reverts("votes: caller is not a factory"):
            w.votes.registerEscrow(bob)
    with boa.env.prank(w.factory), boa.reverts("votes: already an escrow"):
        w.votes.registerEscrow(w.escrow)
    with boa.env.prank(w.factory), boa.reverts("votes: zero escrow"):
        w.votes.registerEscrow(ZERO)
    lock(w, alice, 10)
    with boa.env.prank(w.factory), boa.reverts("votes: escrow holds a lock"):
        w.votes.registerEscrow(alice)
    fresh = boa.env.generate_address()
    with boa.env.prank(w.factory):
        w.votes.registerEscrow(fresh)
    log = w.votes.get_logs()[-1]
    assert w.votes.isEscrow(fresh) and not w.votes.isEscrow(alice)
    assert (type(log).__name__, log.escrow, log.factory) == ("EscrowRegistered", fresh, w.factory)


# ---------------------------------------------------------------- randomized accounting

ACTION = st.tuples(st.sampled_from(["lock", "unlock", "delegate", "stake", "wait"]), st.integers(0, 4),
                   st.integers(0, 4), st.integers(1, 10**6))


@settings(max_examples=10 if FAST else 40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTION, min_size=1, max_size=30))
def test_votes_sum_to_the_total_at_every_timepoint(world, actions):
    """Any mix of locks, unlocks, delegations and stake pushes, over several timestamps: at each past timepoint
    every delegate's votes match a model, and they sum to ``getPastTotalSupply`` (likewise the stake series)."""
    w = world
    accounts = w.holders + [w.escrow]
    locked = dict.fromkeys(accounts, 0)
    bonded = dict.fromkeys(accounts, 0)
    delegates = {a: a for a in accounts}

    def units(a):
        return (locked[a] * HALF // BPS if a == w.escrow else locked[a]) + bonded[a]

    def snapshot():
        votes = dict.fromkeys(accounts, 0)
        for a in accounts:
            votes[delegates[a]] += units(a)
        return votes, dict(bonded)

    history = {}
    for kind, i, j, amount in actions:
        a, b = accounts[i], accounts[j]
        if kind == "lock":
            lock(w, a, amount)
            locked[a] += amount
        elif kind == "unlock":
            amount = min(amount, locked[a])
            if amount:
                unlock(w, a, amount)
                locked[a] -= amount
        elif kind == "delegate":
            delegate(w, a, b)
            delegates[a] = b
        elif kind == "stake":
            stake(w, a, amount % 3 * amount)  # sometimes back to 0
            bonded[a] = amount % 3 * amount
        else:
            boa.env.time_travel(seconds=1 + amount % 100)
        history[now()] = snapshot()
        assert sum(w.votes.getVotes(x) for x in accounts) == w.votes.totalVotes() == sum(units(x) for x in accounts)
    boa.env.time_travel(seconds=1)
    for t, (votes, stakes) in history.items():
        past = {x: w.votes.getPastVotes(x, t) for x in accounts}
        assert past == votes
        assert sum(past.values()) == w.votes.getPastTotalSupply(t)
        assert {x: w.votes.getPastStake(x, t) for x in accounts} == stakes
        assert sum(stakes.values()) == w.votes.getPastTotalStake(t)
