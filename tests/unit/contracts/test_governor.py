"""The Governor on the real EVM: a proposal's whole life changing E_p (BMWIssuance.emissionRate) through the timelock,
votes read at the snapshot (tokens moved in after it vote nothing), ballots by signature (replay refused), the quorum,
the execution delay never shorter than Staking's unbonding period, the stakers' veto of security proposals, cancels,
and parameters only through a vote."""

from __future__ import annotations

import boa
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector as selector
from eth_utils import keccak

from .conftest import EMISSION_RATE, EPOCH_CAP, ECOSYSTEM, IFX, PRICE_8DEC, deployer

ZERO = "0x" + "00" * 20
DAY = 86400
VOTING_DELAY = DAY
VOTING_PERIOD = 5 * DAY
THRESHOLD = 100_000 * IFX
QUORUM_BPS = 400
QUORUM_FLOOR = 1_000_000 * IFX
VETO_BPS = 1_000
TIMELOCK_DELAY = 2 * DAY  # below Staking's 7-day unbonding: queue() must wait the unbonding period

PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED, VETOED = range(9)
AGAINST, FOR, ABSTAIN = 0, 1, 2


class Gov:
    def __init__(self):
        self.admin = boa.env.eoa
        self.treasury = boa.env.generate_address("treasury")
        with boa.env.prank(self.admin):
            self.token = deployer("IFXToken").deploy()
            self.timelock = deployer("Timelock").deploy(TIMELOCK_DELAY, [], [ZERO], self.admin)
            aggregator = deployer("MockAggregator").deploy(8, PRICE_8DEC)
            feed = deployer("PriceFeedAdapter").deploy(aggregator.address, self.timelock.address, 86400)
            self.staking = deployer("Staking").deploy(self.token.address, self.timelock.address, 1_000 * IFX,
                                                      1_000 * IFX)
            self.issuance = deployer("BMWIssuance").deploy(
                self.token.address, feed.address, self.staking.address, self.timelock.address, self.treasury,
                ECOSYSTEM, EMISSION_RATE, EPOCH_CAP)
            self.votes = deployer("VotePower").deploy(self.token.address, "Inferix Votes", "1")
            self.governor = deployer("Governor").deploy(
                self.votes.address, self.timelock.address, self.staking.address, VOTING_DELAY, VOTING_PERIOD,
                THRESHOLD, QUORUM_BPS, QUORUM_FLOOR, VETO_BPS)
            self.license = deployer("NodeLicense").deploy(self.timelock.address)
            # Staking's other partners play no part here: any non-zero address wires them
            filler = boa.env.generate_address("unused")
            self.staking.wire(filler, filler, self.issuance.address, filler, self.votes.address,
                              self.license.address)
            self.votes.wire(self.staking.address, [])
            self.governor.wire([self.staking.address], [selector("setNoShow(uint256,uint256)")])
            for role in (self.timelock.PROPOSER_ROLE(), self.timelock.CANCELLER_ROLE()):
                self.timelock.grantRole(role, self.governor.address)
            self.timelock.renounceRole(self.timelock.DEFAULT_ADMIN_ROLE(), self.admin)
            self.token.mint(self.admin, 100_000_000 * IFX)
            self.token.finishGenesis(self.issuance.address)

    def holder(self, name: str, amount: int, *, key: bytes | None = None) -> str:
        """An account that locked ``amount`` IFX in VotePower (votes for itself)."""
        account = Account.from_key(key).address if key else boa.env.generate_address(name)
        with boa.env.prank(self.admin):
            self.token.transfer(account, amount)
        with boa.env.prank(account):
            self.token.approve(self.votes.address, amount)
            self.votes.lock(amount)
        return account

    def staker(self, name: str, amount: int) -> str:
        account = boa.env.generate_address(name)
        with boa.env.prank(self.admin):
            self.token.transfer(account, amount)
        with boa.env.prank(account):
            self.staking.register(1, 10**18)
            self.token.approve(self.staking.address, amount)
            self.staking.stake(amount)
        return account

    def proposal(self, calls, description="E_p to 12 IFX per IBM"):
        targets = [c[0] for c in calls]
        payloads = [c[1] for c in calls]
        return targets, [0] * len(calls), payloads, description

    def propose(self, proposer, calls, description="E_p to 12 IFX per IBM") -> tuple[int, tuple]:
        targets, values, payloads, text = self.proposal(calls, description)
        with boa.env.prank(proposer):
            pid = self.governor.propose(targets, values, payloads, text)
        return pid, (targets, values, payloads, keccak(text=text))


def emission_call(gov: Gov, rate: int):
    return gov.issuance.address, gov.issuance.setParameter.prepare_calldata("emissionRate", rate)


@pytest.fixture(scope="module")
def gov_base():
    return Gov()


@pytest.fixture
def gov(gov_base):
    with boa.env.anchor():
        boa.env.time_travel(seconds=1)
        yield gov_base


def test_a_proposal_changes_e_p_through_the_governor_and_the_timelock(gov):
    alice = gov.holder("alice", 2_000_000 * IFX)
    bob = gov.holder("bob", 500_000 * IFX)
    boa.env.time_travel(seconds=1)
    pid, args = gov.propose(alice, [emission_call(gov, 12 * IFX)])
    assert gov.governor.state(pid) == PENDING
    with boa.env.prank(alice), boa.reverts("governor: vote not active"):
        gov.governor.castVote(pid, FOR)
    boa.env.time_travel(seconds=VOTING_DELAY + 1)
    assert gov.governor.state(pid) == ACTIVE
    with boa.env.prank(alice):
        assert gov.governor.castVote(pid, FOR) == 2_000_000 * IFX
    with boa.env.prank(bob):
        gov.governor.castVoteWithReason(pid, AGAINST, "too generous")
    with boa.env.prank(alice), boa.reverts("governor: already voted"):
        gov.governor.castVote(pid, FOR)
    with boa.reverts("governor: proposal not successful"):
        gov.governor.queue(*args)
    boa.env.time_travel(seconds=VOTING_PERIOD)
    assert gov.governor.state(pid) == SUCCEEDED
    gov.governor.queue(*args)
    assert gov.governor.state(pid) == QUEUED
    # the delay is Staking's unbonding period (7 days), not the timelock's shorter minimum
    eta = gov.governor.proposals(pid).eta
    assert eta - boa.env.evm.patch.timestamp == gov.staking.unbondingPeriod() == 7 * DAY
    boa.env.time_travel(seconds=TIMELOCK_DELAY + 1)
    with boa.reverts():
        gov.governor.execute(*args)  # past the timelock's minimum, not yet past the unbonding period
    assert gov.issuance.emissionRate() == EMISSION_RATE
    boa.env.time_travel(seconds=7 * DAY)
    gov.governor.execute(*args)
    assert gov.issuance.emissionRate() == 12 * IFX
    assert gov.governor.state(pid) == EXECUTED


def test_nothing_reaches_the_timelock_but_the_governor(gov):
    """The timelock has no other proposer, and the deployer gave up its admin role."""
    tl = gov.timelock
    for account in (gov.admin, boa.env.generate_address("anyone")):
        assert not tl.hasRole(tl.PROPOSER_ROLE(), account)
        assert not tl.hasRole(tl.DEFAULT_ADMIN_ROLE(), account)
        target, payload = emission_call(gov, 0)
        with boa.env.prank(account), boa.reverts():
            tl.schedule(target, 0, payload, b"\x00" * 32, b"\x01" * 32, 30 * DAY)
    with boa.env.prank(gov.admin), boa.reverts("governed: caller is not governance"):
        gov.issuance.setParameter("emissionRate", 0)
    with boa.env.prank(gov.admin), boa.reverts("governed: caller is not governance"):
        gov.governor.setParameter("quorumBps", 100)


def test_tokens_moved_in_after_the_snapshot_vote_nothing(gov):
    """A flash-loan-style attack: the attacker locks borrowed IFX after the snapshot (or lends its votes to itself
    within one block); at the snapshot it had nothing, so its vote weighs nothing."""
    alice = gov.holder("alice", 2_000_000 * IFX)
    boa.env.time_travel(seconds=1)
    pid, _ = gov.propose(alice, [emission_call(gov, 0)], "E_p to zero")
    boa.env.time_travel(seconds=VOTING_DELAY + 1)
    attacker = gov.holder("attacker", 50_000_000 * IFX)
    with boa.env.prank(attacker):
        assert gov.governor.castVote(pid, AGAINST) == 0
    with boa.env.prank(alice):
        gov.governor.castVote(pid, FOR)
    boa.env.time_travel(seconds=VOTING_PERIOD)
    assert gov.governor.proposals(pid).againstVotes == 0
    assert gov.governor.state(pid) == SUCCEEDED


def test_a_proposer_needs_the_threshold_and_a_proposal_the_quorum(gov):
    small = gov.holder("small", THRESHOLD - 1)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(small), boa.reverts("governor: proposer votes below threshold"):
        gov.governor.propose(*gov.proposal([emission_call(gov, 0)]))
    proposer = gov.holder("proposer", QUORUM_FLOOR // 2)
    gov.holder("whale", 100_000_000 * IFX - QUORUM_FLOOR)  # locked, silent: 4 % of all votes is the quorum
    boa.env.time_travel(seconds=1)
    pid, _ = gov.propose(proposer, [emission_call(gov, 0)])
    boa.env.time_travel(seconds=VOTING_DELAY + 1)
    with boa.env.prank(proposer):
        gov.governor.castVote(pid, FOR)
    boa.env.time_travel(seconds=VOTING_PERIOD)
    snapshot = gov.governor.proposals(pid).snapshot
    assert gov.governor.quorum(snapshot) == gov.votes.getPastTotalSupply(snapshot) * QUORUM_BPS // 10_000
    assert gov.governor.proposals(pid).forVotes < gov.governor.quorum(snapshot)
    assert gov.governor.state(pid) == DEFEATED


def _ballot_signature(gov: Gov, key: bytes, pid: int, support: int, nonce: int) -> bytes:
    voter = Account.from_key(key)
    message = encode_typed_data(full_message={
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Ballot": [{"name": "proposalId", "type": "uint256"}, {"name": "support", "type": "uint8"},
                       {"name": "voter", "type": "address"}, {"name": "nonce", "type": "uint256"}],
        },
        "primaryType": "Ballot",
        "domain": {"name": "Inferix Governor", "version": "1", "chainId": boa.env.evm.patch.chain_id,
                   "verifyingContract": gov.governor.address},
        "message": {"proposalId": pid, "support": support, "voter": voter.address, "nonce": nonce},
    })
    return bytes(voter.sign_message(message).signature)


def test_votes_by_signature_count_once_and_only_for_their_signer(gov):
    key = bytes([7]) * 32
    carol = gov.holder("carol", 2_000_000 * IFX, key=key)
    boa.env.time_travel(seconds=1)
    pid, _ = gov.propose(carol, [emission_call(gov, 11 * IFX)])
    boa.env.time_travel(seconds=VOTING_DELAY + 1)
    signature = _ballot_signature(gov, key, pid, FOR, 0)
    relayer = boa.env.generate_address("relayer")
    other = gov.holder("dave", 1_000 * IFX)
    with boa.env.prank(relayer):
        with boa.reverts("governor: invalid signature"):
            gov.governor.castVoteBySig(pid, FOR, other, signature)  # not dave's signature
        with boa.reverts("governor: invalid signature"):
            gov.governor.castVoteBySig(pid, AGAINST, carol, signature)  # another support than signed
        assert gov.governor.castVoteBySig(pid, FOR, carol, signature) == 2_000_000 * IFX
        with boa.reverts("governor: invalid signature"):
            gov.governor.castVoteBySig(pid, FOR, carol, signature)  # replay: the nonce moved on
    assert gov.governor.hasVoted(pid, carol)
    assert gov.governor.proposals(pid).forVotes == 2_000_000 * IFX


def _pass(gov: Gov, proposer: str, calls, description: str):
    pid, args = gov.propose(proposer, calls, description)
    boa.env.time_travel(seconds=VOTING_DELAY + 1)
    with boa.env.prank(proposer):
        gov.governor.castVote(pid, FOR)
    boa.env.time_travel(seconds=VOTING_PERIOD)
    gov.governor.queue(*args)
    return pid, args


def test_stakers_veto_a_security_proposal_but_not_an_ordinary_one(gov):
    alice = gov.holder("alice", 5_000_000 * IFX)
    stakers = [gov.staker(f"staker{i}", 100_000 * IFX) for i in range(10)]
    gov.staker("silent", 1_000_000 * IFX)  # 2,000,000 IFX bonded in all: vetoes of 200,000 cancel
    boa.env.time_travel(seconds=1)
    ordinary, _ = _pass(gov, alice, [emission_call(gov, 9 * IFX)], "ordinary")
    assert not gov.governor.proposals(ordinary).security
    with boa.env.prank(stakers[0]), boa.reverts("governor: not a security proposal"):
        gov.governor.veto(ordinary)

    slash_call = (gov.staking.address, gov.staking.setNoShow.prepare_calldata(3, 5_000))
    pid, args = _pass(gov, alice, [slash_call], "no-show slash to 50 %")
    assert gov.governor.proposals(pid).security
    assert gov.governor.vetoNeeded(pid) == 2_000_000 * IFX * VETO_BPS // 10_000
    outsider = gov.holder("outsider", 1_000_000 * IFX)  # votes, but stakes nothing: no veto
    with boa.env.prank(outsider), boa.reverts("governor: no stake to veto with"):
        gov.governor.veto(pid)
    with boa.env.prank(stakers[0]):
        gov.governor.veto(pid)
    with boa.env.prank(stakers[0]), boa.reverts("governor: already vetoed"):
        gov.governor.veto(pid)
    assert gov.governor.state(pid) == QUEUED  # 10 % of stake needed, 10 % counted needs a second staker
    late = gov.staker("late", 10_000_000 * IFX)  # stake added after queueing weighs nothing
    with boa.env.prank(late), boa.reverts("governor: no stake to veto with"):
        gov.governor.veto(pid)
    with boa.env.prank(stakers[1]):
        gov.governor.veto(pid)
    assert gov.governor.state(pid) == VETOED
    boa.env.time_travel(seconds=8 * DAY)
    with boa.reverts():
        gov.governor.execute(*args)
    assert gov.staking.noShowSlashBps() == 100


def test_calls_to_the_governor_or_timelock_are_always_security_proposals(gov):
    alice = gov.holder("alice", 5_000_000 * IFX)
    boa.env.time_travel(seconds=1)
    calls = [(gov.governor.address, gov.governor.setParameter.prepare_calldata("vetoBps", 5_000)),
             (gov.timelock.address, gov.timelock.update_delay.prepare_calldata(DAY))]
    for call in calls:
        pid, _ = gov.propose(alice, [call], f"security {call[0]}")
        assert gov.governor.proposals(pid).security


def test_governor_parameters_change_by_a_vote_within_bounds(gov):
    alice = gov.holder("alice", 5_000_000 * IFX)
    boa.env.time_travel(seconds=1)
    good = (gov.governor.address, gov.governor.setParameter.prepare_calldata("quorumBps", 1_000))
    pid, args = _pass(gov, alice, [good], "quorum 10 %")
    boa.env.time_travel(seconds=7 * DAY + 1)
    gov.governor.execute(*args)
    assert gov.governor.quorumBps() == 1_000
    with boa.env.prank(gov.timelock.address), boa.reverts("governor: out of bounds"):
        gov.governor.setParameter("quorumBps", 9_000)
    with boa.env.prank(gov.timelock.address), boa.reverts("governor: unknown parameter"):
        gov.governor.setParameter("everything", 1)


def test_cancel_rules(gov):
    alice = gov.holder("alice", 2_000_000 * IFX)
    stranger = boa.env.generate_address("stranger")
    boa.env.time_travel(seconds=1)
    pid, _ = gov.propose(alice, [emission_call(gov, 1)], "cancel me")
    with boa.env.prank(stranger), boa.reverts("governor: proposer above threshold"):
        gov.governor.cancel(pid)
    with boa.env.prank(alice):
        gov.governor.cancel(pid)
    assert gov.governor.state(pid) == CANCELED
    # a queued proposal whose proposer sold out below the threshold: anyone cancels it, in the timelock too
    pid, args = _pass(gov, alice, [emission_call(gov, 2)], "proposer sells")
    with boa.env.prank(alice):
        gov.votes.unlock(2_000_000 * IFX)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(stranger):
        gov.governor.cancel(pid)
    assert gov.governor.state(pid) == CANCELED
    assert not gov.timelock.is_operation(gov.governor.proposals(pid).operation)
    boa.env.time_travel(seconds=8 * DAY)
    with boa.reverts():
        gov.governor.execute(*args)


def test_a_succeeded_proposal_expires_unless_queued(gov):
    alice = gov.holder("alice", 2_000_000 * IFX)
    boa.env.time_travel(seconds=1)
    pid, args = gov.propose(alice, [emission_call(gov, 3)], "forgotten")
    boa.env.time_travel(seconds=VOTING_DELAY + 1)
    with boa.env.prank(alice):
        gov.governor.castVote(pid, FOR)
    boa.env.time_travel(seconds=VOTING_PERIOD + gov.governor.QUEUE_GRACE() + 1)
    assert gov.governor.state(pid) == EXPIRED
    with boa.reverts("governor: proposal not successful"):
        gov.governor.queue(*args)


def test_the_guardian_pauses_new_jobs_once_and_moves_nothing(s):
    """The emergency guardian (Staking.guardian, appointed by governance) may stop new jobs for at most 7 days,
    once; governance lifts the pause and appoints it again. It has no other power: a paused escrow still settles,
    stakes and withdraws."""
    guardian = boa.env.generate_address("guardian")
    with boa.env.prank(guardian), boa.reverts("staking: caller is not the guardian"):
        s.staking.pause()
    with boa.env.prank(guardian), boa.reverts("governed: caller is not governance"):
        s.staking.setGuardian(guardian)
    job = s.create_job()
    task = s.post(job)[0]
    with boa.env.prank(s.governance):
        s.staking.setGuardian(guardian)
    with boa.env.prank(guardian):
        s.staking.pause()
    assert s.staking.pausedUntil() == boa.env.evm.patch.timestamp + 7 * DAY
    assert s.staking.guardian() == ZERO  # spent
    with boa.env.prank(guardian), boa.reverts("staking: caller is not the guardian"):
        s.staking.pause()
    with boa.reverts("escrow: new jobs paused"):
        s.create_job()
    s.run_task(task, s.workers[0])  # work under way goes on
    with boa.env.prank(s.workers[1]):
        s.staking.requestUnbond(IFX)
    boa.env.time_travel(seconds=7 * DAY)
    s.refresh_price()
    s.create_job()  # the pause ends by itself
    with boa.env.prank(s.governance):
        s.staking.setGuardian(guardian)
    with boa.env.prank(guardian):
        s.staking.pause()
    with boa.reverts("escrow: new jobs paused"):
        s.create_job()
    with boa.env.prank(s.governance):
        s.staking.unpause()
    s.create_job()
