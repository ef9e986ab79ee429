"""Proof of render: committees drawn from the beacon by stake, committed votes, quorum, no-shows, credits, disputes."""

import boa
import pytest
from eth_abi import encode
from eth_utils import keccak

from .conftest import EPOCH, IFX, MIN_ORACLE_STAKE, WORKER_STAKE, warp

POSTED, SUBMITTED, REVEALED, VERIFIED, DISPUTED, SETTLED = 1, 4, 5, 6, 7, 8
VOTE_PASS, VOTE_FAIL, VOTE_SLASHED, VOTE_CREDITED = 1, 2, 4, 8
FEE = 10 * IFX  # the revealed task's fee: 10 IBM at $0.50/IBM and $0.50/IFX
ORACLE_SLASH = MIN_ORACLE_STAKE * 1000 // 10_000  # oracleSlashBps 10 %
NO_SHOW_SLASH = MIN_ORACLE_STAKE * 100 // 10_000  # noShowSlashBps 1 %
ZERO = "0x" + "00" * 20
EMPTY = b"\x00" * 32


def key(task_id, attempt=0):
    return keccak(encode(["uint256", "uint256"], [task_id, attempt]))


def draw_seed(randomness, task_id, attempt=0):
    """The seed `drawCommittee` hands to `Staking.drawOracles`."""
    return keccak(encode(["bytes32", "uint256", "uint256"], [randomness, task_id, attempt]))


def events(contract, name):
    return [log for log in contract.get_logs() if type(log).__name__ == name]


def weight(s, oracle, epoch=0):
    return s.issuance.oracleWeights(epoch, getattr(oracle, "address", oracle))


def now():
    return boa.env.evm.patch.timestamp


def add_oracle(s, name, stake=MIN_ORACLE_STAKE):
    account = boa.env.generate_address(name)
    s.fund(account, stake)
    with boa.env.prank(account):
        s.staking.register(2, 0, s.license(account, 2))
        s.token.approve(s.staking.address, stake)
        s.staking.stake(stake)
    return account


def publish(s, task_id, randomness):
    """Publishes the task's draw round with a chosen randomness (time moves to the round if needed)."""
    round_ = s.por.drawRound(task_id)
    due = s.beacon.genesisTime() + (round_ - 1) * s.beacon.period()
    if due > now():
        warp(due - now())
    with boa.env.prank(s.admin):
        s.beacon.setRandomness(round_, randomness)
    return round_


def commit(s, task_id, oracle, passed, score=9_000, salt=b"\x5a" * 32):
    with boa.env.prank(oracle):
        s.por.commitVote(task_id, s.commitment(task_id, oracle, passed, score, salt))


def reveal(s, task_id, oracle, passed, score=9_000, salt=b"\x5a" * 32):
    with boa.env.prank(oracle):
        s.por.revealVote(task_id, passed, score, salt)


def vote_all(s, task_id, votes, name):
    """Every member commits then reveals ``votes`` ({member: passed}); returns the ``name`` events of the last
    reveal (the one that decides). Views reset boa's logs, so they are read at once."""
    for oracle, passed in votes.items():
        commit(s, task_id, oracle, passed)
    for oracle, passed in votes.items():
        reveal(s, task_id, oracle, passed)
        logs = events(s.por, name)
    return logs


def accepted_task(s, worker=None):
    job = s.create_job()
    (task,) = s.post(job)
    s.assign_accept(task, worker or s.workers[0])
    return task


@pytest.fixture
def revealed(s):
    task = accepted_task(s)
    s.submit_reveal(task, s.workers[0])
    return task


# ---------------------------------------------------------------- the draw

def test_committee_is_drawn_from_the_round_after_the_submission(s):
    task = accepted_task(s)
    assert s.por.drawRound(task) == 0  # nothing submitted yet
    with boa.env.prank(s.workers[0]):
        s.escrow.submitResult(task, "bafyframes")
    submitted_at = s.escrow.tasks(task).submittedAt
    assert submitted_at == now()
    round_ = s.por.drawRound(task)
    assert round_ == s.beacon.roundAt(submitted_at) + 1
    assert s.beacon.genesisTime() + (round_ - 1) * s.beacon.period() > submitted_at  # not known at submission
    with boa.reverts("por: task not awaiting a verdict"):  # the key is not revealed yet
        s.por.drawCommittee(task)
    s.escrow.revealKey(task, s.seed(task))
    with boa.reverts("por: beacon round not available yet"):
        s.por.drawCommittee(task)
    with boa.env.prank(s.oracles[0].address), boa.reverts("por: beacon round not available yet"):
        s.por.commitVote(task, b"\x01" * 32)
    s.publish_round(task)
    s.por.drawCommittee(task)
    (drawn,) = events(s.por, "CommitteeDrawn")
    members = list(s.por.committeeOf(task, 0))
    assert sorted(members) == sorted(o.address for o in s.oracles[:3])  # three equal oracles, three seats
    assert (drawn.taskId, drawn.attempt, drawn.round, list(drawn.members)) == (task, 0, round_, members)
    c = s.por.committees(key(task))
    assert (c.round, c.members, c.committed, c.revealed, c.finalized) == (round_, 3, 0, 0, False)
    assert (c.commitEnds, c.revealEnds) == (now() + 1800, now() + 3600)
    with boa.reverts("por: committee already drawn"):
        s.por.drawCommittee(task)
    assert all(s.por.isMember(key(task), m) for m in members)
    assert not s.por.isMember(key(task), s.oracles[3].address)


def test_draw_is_a_pure_function_of_the_beacon_randomness(s):
    for i in range(5):  # eight oracles of equal stake, three seats
        add_oracle(s, f"extra{i}")
    warp(1)
    task = accepted_task(s)
    s.submit_reveal(task, s.workers[0])
    submitted_at = s.escrow.tasks(task).submittedAt
    randomness = [keccak(bytes([i])) for i in range(6)]

    def committee(r, caller=None, later=0):
        with boa.env.anchor():
            publish(s, task, r)
            warp(later + 1)
            with boa.env.prank(caller or s.admin):
                s.por.drawCommittee(task)
            return list(s.por.committeeOf(task, 0))

    first = committee(randomness[0])
    assert len(first) == len(set(first)) == 3
    # the same randomness gives the same committee, whoever draws it and whenever
    assert committee(randomness[0], caller=s.creator, later=1_000) == first
    assert committee(randomness[0], caller=s.oracles[2].address) == first
    # it is exactly Staking.drawOracles on keccak256(randomness, taskId, attempt), with the stake before submission
    assert first == list(s.staking.drawOracles(draw_seed(randomness[0], task), 3, submitted_at))
    # another round's randomness draws another committee (at least one of these five does)
    others = [committee(r) for r in randomness[1:]]
    for r, c in zip(randomness[1:], others):
        assert c == list(s.staking.drawOracles(draw_seed(r, task), 3, submitted_at))
    assert any(sorted(c) != sorted(first) for c in others)
    # the seed binds the task: the same round draws other committees for other tasks
    assert any(list(s.staking.drawOracles(draw_seed(randomness[0], t), 3, submitted_at)) != first
               for t in range(task + 1, task + 6))


def test_stake_added_after_the_submission_does_not_count(s):
    task = accepted_task(s)
    warp(10)
    with boa.env.prank(s.workers[0]):
        s.escrow.submitResult(task, "bafyframes")
    submitted_at = now()
    s.escrow.revealKey(task, s.seed(task))
    warp(1)
    # a whale registers right after the submission, and an oracle tops up its stake
    whale = add_oracle(s, "whale", 1_000 * MIN_ORACLE_STAKE)
    topper = s.oracles[0].address
    s.fund(topper, 10 * MIN_ORACLE_STAKE)
    with boa.env.prank(topper):
        s.token.approve(s.staking.address, 10 * MIN_ORACLE_STAKE)
        s.staking.stake(10 * MIN_ORACLE_STAKE)
    assert s.staking.nodes(whale).stakedAt > submitted_at and s.staking.nodes(topper).stakedAt > submitted_at
    members = s.draw(task)
    assert sorted(members) == sorted(o.address for o in s.oracles[1:3])  # neither the whale nor the top-up
    for i in range(20):  # whatever the randomness
        drawn = s.staking.drawOracles(keccak(bytes([i])), 3, submitted_at)
        assert whale not in drawn and topper not in drawn
    # the whale would otherwise be in nearly every committee: the cut-off is what keeps it out
    assert sum(whale in s.staking.drawOracles(keccak(bytes([i])), 3, now()) for i in range(20)) == 20
    with boa.env.prank(whale), boa.reverts("por: not a committee member"):
        s.por.commitVote(task, s.commitment(task, whale, True, 9_000, b"\x01" * 32))
    # two members are still a quorum
    s.verdict(task, True)
    assert s.escrow.tasks(task).state == VERIFIED
    assert weight(s, whale) == weight(s, topper) == 0


def test_unbonding_oracle_is_not_drawn(s):
    task = accepted_task(s)
    o1, o2, o3 = (o.address for o in s.oracles[:3])
    with boa.env.prank(o1):
        s.staking.requestUnbond(1)  # bonded stake now below the oracle minimum
    warp(1)
    s.submit_reveal(task, s.workers[0])
    assert s.staking.nodes(o1).stakedAt < now()  # before the submission: the cut-off is not what excludes it
    assert not s.staking.isActive(o1, 2)
    assert sorted(s.draw(task)) == sorted([o2, o3])
    with boa.env.prank(o1), boa.reverts("por: not a committee member"):
        s.por.commitVote(task, s.commitment(task, o1, True, 9_000, b"\x01" * 32))


def test_not_enough_eligible_oracles(s, revealed):
    task = accepted_task(s, s.workers[1])
    for o in s.oracles[:2]:
        with boa.env.prank(o.address):
            s.staking.requestUnbond(MIN_ORACLE_STAKE)
    warp(1)
    s.submit_reveal(task, s.workers[1])
    s.publish_round(task)
    assert len(s.staking.drawOracles(keccak(b"any"), 3, now())) == 1  # one eligible oracle, quorum 2
    with boa.reverts("por: not enough eligible oracles"):
        s.por.drawCommittee(task)
    with boa.env.prank(s.oracles[2].address), boa.reverts("por: not enough eligible oracles"):
        s.por.commitVote(task, b"\x01" * 32)
    # `revealed` was submitted before the unbonding: its draw does not see it either (the unbond moved
    # their stake after that submission, so they are out), and with one eligible oracle it cannot be judged
    s.publish_round(revealed)
    with boa.reverts("por: not enough eligible oracles"):
        s.por.drawCommittee(revealed)


# ---------------------------------------------------------------- committing and revealing

def test_only_drawn_members_commit(s):
    extras = [add_oracle(s, f"extra{i}") for i in range(3)]
    warp(1)
    task = accepted_task(s)
    s.submit_reveal(task, s.workers[0])
    members = s.draw(task)
    oracles = [o.address for o in s.oracles[:3]] + extras
    outsiders = [o for o in oracles if o not in members]
    assert len(members) == 3 and len(outsiders) == 3
    for who in [*outsiders, s.oracles[3].address, s.workers[1], s.manager, s.creator]:
        with boa.env.prank(who), boa.reverts("por: not a committee member"):
            s.por.commitVote(task, s.commitment(task, who, True, 9_000, b"\x01" * 32))
    s.vote(task, {m: True for m in members})
    assert s.escrow.tasks(task).state == VERIFIED
    assert all(weight(s, m) == FEE for m in members)
    assert all(weight(s, o) == 0 for o in outsiders)


def test_first_commit_draws_the_committee(s, revealed):
    s.publish_round(revealed)
    member = s.oracles[0].address
    commit(s, revealed, member, True)
    (drawn,) = events(s.por, "CommitteeDrawn")
    assert drawn.taskId == revealed
    assert s.por.isMember(key(revealed), member)
    assert s.por.committees(key(revealed)).committed == 1


def test_nobody_reveals_before_every_vote_is_fixed(s, revealed):
    o1, o2, o3 = s.draw(revealed)
    commit(s, revealed, o1, True)
    commit(s, revealed, o2, True)
    # the two committed votes stay hidden: no reveal, so a lazy third member has nothing to copy
    for who in (o1, o2, o3):
        with boa.env.prank(who), boa.reverts("por: commit phase not over"):
            s.por.revealVote(revealed, True, 9_000, b"\x5a" * 32)
    assert s.por.tallies(key(revealed)) == (0, 0)
    # the third commitment closes the commit phase at once
    commit(s, revealed, o3, False, score=1_000)
    c = s.por.committees(key(revealed))
    assert (c.committed, c.commitEnds, c.revealEnds) == (3, now(), now() + 1800)
    reveal(s, revealed, o1, True)
    reveal(s, revealed, o3, False, score=1_000)
    assert s.escrow.tasks(revealed).state == REVEALED  # the last reveal decides
    with boa.reverts("por: reveal phase not over"):
        s.por.finalize(revealed)
    reveal(s, revealed, o2, True)
    assert s.escrow.tasks(revealed).state == VERIFIED


def test_commit_phase_ends_with_its_window(s, revealed):
    o1, o2, o3 = s.draw(revealed)
    commit(s, revealed, o1, True)
    warp(1800)
    commit(s, revealed, o2, True)  # the last second of the window
    with boa.env.prank(o1), boa.reverts("por: commit phase not over"):
        s.por.revealVote(revealed, True, 9_000, b"\x5a" * 32)
    warp(1)
    with boa.env.prank(o3), boa.reverts("por: commit phase over"):
        s.por.commitVote(revealed, s.commitment(revealed, o3, True, 9_000, b"\x01" * 32))
    with boa.env.prank(o3), boa.reverts("por: no commitment"):
        s.por.revealVote(revealed, True, 9_000, b"\x01" * 32)
    reveal(s, revealed, o1, True)
    reveal(s, revealed, o2, True)
    warp(1800)
    s.por.finalize(revealed)
    assert s.escrow.tasks(revealed).state == VERIFIED
    warp(1)
    with boa.reverts("por: task not awaiting a verdict"):
        s.por.finalize(revealed)


def test_reveal_must_match_its_commitment(s, revealed):
    o1, o2, o3 = s.draw(revealed)
    salt = b"\x11" * 32
    commit(s, revealed, o1, True, 9_000, salt)
    # o2 copies o1's commitment: the commitment binds the oracle, so the copy reveals nothing for o2
    with boa.env.prank(o2):
        s.por.commitVote(revealed, s.commitment(revealed, o1, True, 9_000, salt))
    # o3's commitment for another attempt does not open on this one
    with boa.env.prank(o3):
        s.por.commitVote(revealed, s.por.commitmentOf(revealed, 1, o3, True, 9_000, salt))
    for who, passed, score, salt_ in [(o1, False, 9_000, salt), (o1, True, 9_001, salt), (o1, True, 9_000, EMPTY),
                                      (o2, True, 9_000, salt), (o3, True, 9_000, salt)]:
        with boa.env.prank(who), boa.reverts("por: vote does not match commitment"):
            s.por.revealVote(revealed, passed, score, salt_)
    assert s.por.commitmentOf(revealed, 0, o1, True, 9_000, salt) == keccak(encode(
        ["uint256", "uint256", "address", "bool", "uint16", "bytes32"], [revealed, 0, o1, True, 9_000, salt]))
    reveal(s, revealed, o1, True, 9_000, salt)
    (signed,) = events(s.por, "VerdictSigned")
    assert (signed.taskId, signed.oracle, signed.passed, signed.score) == (revealed, o1, True, 9_000)
    warp(1801)
    s.por.finalize(revealed)  # only one vote opened: no verdict
    assert s.escrow.tasks(revealed).state == REVEALED
    assert len(events(s.por, "NoVerdict")) == 1


def test_one_commit_and_one_vote_per_member(s, revealed):
    o1, o2, o3 = s.draw(revealed)
    with boa.env.prank(o1), boa.reverts("por: empty commitment"):
        s.por.commitVote(revealed, EMPTY)
    commit(s, revealed, o1, True)
    with boa.env.prank(o1), boa.reverts("por: already committed"):
        s.por.commitVote(revealed, s.commitment(revealed, o1, False, 9_000, b"\x01" * 32))
    commit(s, revealed, o2, True)
    commit(s, revealed, o3, True)
    reveal(s, revealed, o1, True)
    with boa.env.prank(o1), boa.reverts("por: oracle already voted"):
        s.por.revealVote(revealed, True, 9_000, b"\x5a" * 32)
    assert s.por.tallies(key(revealed)).passVotes == 1
    assert s.por.voters(key(revealed), 0) == o1


def test_vote_before_the_key_is_revealed_is_refused(s):
    task = accepted_task(s)
    with boa.env.prank(s.workers[0]):
        s.escrow.submitResult(task, "bafyframes")
    s.publish_round(task)
    with boa.env.prank(s.oracles[0].address), boa.reverts("por: task not awaiting a verdict"):
        s.por.commitVote(task, b"\x01" * 32)


# ---------------------------------------------------------------- deciding

def test_unanimous_verdict_credits_every_member(s, revealed):
    members = s.draw(revealed)
    (final,) = vote_all(s, revealed, {m: True for m in members}, "VerdictFinal")
    assert s.escrow.tasks(revealed).state == VERIFIED and s.escrow.tasks(revealed).passed
    assert (final.taskId, final.attempt, final.passed, final.votes) == (revealed, 0, True, 3)
    assert [weight(s, m) for m in members] == [FEE] * 3
    assert s.issuance.epochs(0).verdictWeight == 3 * FEE
    assert s.por.weights(key(revealed)) == FEE
    assert all(s.por.votes(key(revealed), m) == VOTE_PASS | VOTE_CREDITED for m in members)  # epoch 0
    assert [s.por.voters(key(revealed), i) for i in range(3)] == members


def test_final_fail_verdict_credits_its_voters_too(s, revealed):
    s.verdict(revealed, False)
    assert s.escrow.tasks(revealed).state == VERIFIED and not s.escrow.tasks(revealed).passed
    assert [weight(s, o) for o in s.oracles[:3]] == [FEE] * 3


def test_majority_decides_and_the_dissenter_challenges_and_wins(s, revealed):
    liar1, liar2, honest = s.draw(revealed)
    # a wrong pass, two against one
    (final,) = vote_all(s, revealed, {liar1: True, liar2: True, honest: False}, "VerdictFinal")
    assert s.escrow.tasks(revealed).state == VERIFIED and s.escrow.tasks(revealed).passed
    assert (final.passed, final.votes) == (True, 2)
    assert weight(s, liar1) == weight(s, liar2) == FEE
    assert weight(s, honest) == 0  # the dissenter is not credited
    assert s.por.votes(key(revealed), honest) == VOTE_FAIL
    assert s.staking.missed(honest) == 0  # it voted: not a no-show
    # it escalates: challenges the verdict within the challenge window, and the arbiter agrees with it
    bond = s.challenge(revealed, honest)
    assert s.escrow.disputeOf(revealed) == (honest, True)
    assert s.token.balanceOf(honest) == 0
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, False)
        slashes = events(s.por, "OracleSlashed")
        (resolved,) = events(s.por, "DisputeResolved")
    assert (resolved.passed, resolved.overturned) == (False, True)
    reward = ORACLE_SLASH * 5000 // 10_000
    assert [(e.oracle, e.amount, e.toChallenger) for e in slashes] == [
        (liar1, ORACLE_SLASH, reward), (liar2, ORACLE_SLASH, reward)]
    for liar in (liar1, liar2):
        assert s.staking.stakeOf(liar) == MIN_ORACLE_STAKE - ORACLE_SLASH
        assert weight(s, liar) == 0  # credit revoked
        assert s.por.votes(key(revealed), liar) == VOTE_PASS | VOTE_CREDITED | VOTE_SLASHED
    assert s.staking.stakeOf(honest) == MIN_ORACLE_STAKE
    assert weight(s, honest) == FEE  # the winning side is credited now
    assert s.por.votes(key(revealed), honest) == VOTE_FAIL | VOTE_CREDITED
    assert s.issuance.epochs(0).verdictWeight == FEE
    assert s.token.balanceOf(honest) == 2 * reward  # paid by staking, out of the liars' slashes
    assert s.escrow.claimable(honest) == bond  # and its bond back
    warp(1)
    s.escrow.settle([revealed])
    assert s.escrow.tasks(revealed).state == POSTED  # the worker's bad result is re-queued
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()


def test_dissenter_who_loses_the_dispute_is_slashed(s, revealed):
    o1, o2, contrarian = s.draw(revealed)
    s.vote(revealed, {o1: True, o2: True, contrarian: False})
    bond = s.challenge(revealed, contrarian)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, True)  # the verdict stands
        slashes = events(s.por, "OracleSlashed")
    assert [(e.oracle, e.amount, e.toChallenger) for e in slashes] == [(contrarian, ORACLE_SLASH, 0)]
    assert s.staking.stakeOf(contrarian) == MIN_ORACLE_STAKE - ORACLE_SLASH
    assert s.escrow.claimable(contrarian) == 0  # the bond is forfeit
    assert s.issuance.epochs(0).penalty == bond + ORACLE_SLASH
    assert weight(s, o1) == weight(s, o2) == FEE and weight(s, contrarian) == 0
    assert s.staking.stakeOf(o1) == s.staking.stakeOf(o2) == MIN_ORACLE_STAKE


def test_no_quorum_no_verdict_and_the_task_is_requeued_without_fault(s, revealed):
    members = s.draw(revealed)
    s.vote(revealed, {members[0]: True})  # one vote of three, two no-shows
    (none,) = events(s.por, "NoVerdict")
    assert (none.taskId, none.attempt, none.passVotes, none.failVotes) == (revealed, 0, 1, 0)
    assert events(s.por, "VerdictFinal") == []
    assert s.por.committees(key(revealed)).finalized
    assert s.escrow.tasks(revealed).state == REVEALED
    assert [s.staking.missed(m) for m in members] == [0, 1, 1]
    assert all(weight(s, m) == 0 for m in members)  # votes that never become final earn nothing
    with boa.env.prank(members[1]), boa.reverts("por: task not awaiting a verdict"):
        s.por.commitVote(revealed, b"\x01" * 32)  # too late: this attempt is over
    warp(s.escrow.tasks(revealed).deadline - now() + 1)  # the escrow's verify window
    s.escrow.expire(revealed)
    t = s.escrow.tasks(revealed)
    assert (t.state, t.attempts, t.submittedAt) == (POSTED, 1, 0)
    assert s.staking.nodes(s.workers[0]).stake == WORKER_STAKE  # no fault of the worker
    assert s.staking.nodes(s.workers[0]).locked == 0
    assert s.issuance.epochs(0).penalty == 0 and s.issuance.epochs(0).verdictWeight == 0
    # the next attempt gets its own committee, and its verdict
    s.rekey(revealed)
    s.assign_accept(revealed, s.workers[1])
    s.submit_reveal(revealed, s.workers[1])
    s.verdict(revealed, True)
    assert s.escrow.tasks(revealed).state == VERIFIED
    assert s.por.tallies(key(revealed, 1)) == (3, 0)
    assert s.por.tallies(key(revealed, 0)) == (1, 0)


def test_commitment_of_one_attempt_does_not_open_on_the_next(s):
    job = s.create_job()
    (task,) = s.post(job)
    s.run_task(task, s.workers[0], passed=False)
    old = {o.address: s.por.commitmentOf(task, 0, o.address, False, 9_000, b"\x5a" * 32) for o in s.oracles[:3]}
    warp(3601)
    s.escrow.settle([task])
    s.rekey(task)
    s.assign_accept(task, s.workers[1])
    s.submit_reveal(task, s.workers[1])
    assert s.attempt(task) == 1
    members = s.draw(task)
    for m in members:  # replaying attempt 0's commitments
        with boa.env.prank(m):
            s.por.commitVote(task, old[m])
    for m in members:
        with boa.env.prank(m), boa.reverts("por: vote does not match commitment"):
            s.por.revealVote(task, False, 9_000, b"\x5a" * 32)
    assert s.escrow.tasks(task).state == REVEALED
    assert s.por.tallies(key(task, 0)) == (0, 3)


def test_no_shows_are_counted_and_slashed_at_the_limit(s):
    o1, o2, lazy = (o.address for o in s.oracles[:3])
    job = s.create_job(budget=10_000 * IFX)
    tasks = s.post(job, n=3)
    for i, task in enumerate(tasks):
        s.assign_accept(task, s.workers[i])
        s.submit_reveal(task, s.workers[i])
        assert lazy in s.draw(task)
        s.vote(task, {o1: True, o2: True})  # the lazy member neither commits nor reveals
        assert s.escrow.tasks(task).state == VERIFIED
        (no_show,) = events(s.por, "NoShow")
        assert (no_show.taskId, no_show.oracle) == (task, lazy)
        if i < 2:
            assert (no_show.missed, no_show.slashed) == (i + 1, 0)
            assert s.staking.missed(lazy) == i + 1
            assert s.staking.stakeOf(lazy) == MIN_ORACLE_STAKE
    # the third miss (noShowLimit) costs noShowSlashBps of its stake, and the count starts over
    assert (no_show.missed, no_show.slashed) == (0, NO_SHOW_SLASH)
    assert s.staking.missed(lazy) == 0
    assert s.staking.stakeOf(lazy) == MIN_ORACLE_STAKE - NO_SHOW_SLASH
    assert s.issuance.epochs(0).penalty == NO_SHOW_SLASH
    assert s.staking.missed(o1) == s.staking.missed(o2) == 0
    assert weight(s, lazy) == 0 and weight(s, o1) == 3 * FEE
    # at the bare minimum stake, the slash also takes it out of later draws
    assert not s.staking.isActive(lazy, 2)


def test_no_show_limit_is_governed(s, revealed):
    with boa.env.prank(s.admin), boa.reverts("governed: caller is not governance"):
        s.staking.setNoShow(1, 1_000)
    with boa.env.prank(s.governance):
        for limit, bps in ((0, 100), (101, 100), (3, 1_001)):
            with boa.reverts("staking: out of bounds"):
                s.staking.setNoShow(limit, bps)
        s.staking.setNoShow(1, 1_000)
    assert (s.staking.noShowLimit(), s.staking.noShowSlashBps()) == (1, 1_000)
    o1, o2, lazy = s.draw(revealed)
    s.vote(revealed, {o1: False, o2: False})
    assert s.staking.stakeOf(lazy) == MIN_ORACLE_STAKE * 9 // 10
    assert s.staking.missed(lazy) == 0


def test_quorum_of_three(s, revealed):
    with boa.env.prank(s.governance):
        s.por.setCommittee(3, 3)
    o1, o2, o3 = s.draw(revealed)
    s.vote(revealed, {o1: True, o2: True})  # two of three is no longer a quorum
    assert s.escrow.tasks(revealed).state == REVEALED
    assert len(events(s.por, "NoVerdict")) == 1
    assert weight(s, o1) == 0


def test_larger_committee(s):
    for i in range(4):
        add_oracle(s, f"extra{i}")
    with boa.env.prank(s.governance):
        with boa.reverts("por: quorum must stay a majority"):
            s.por.setCommittee(5, 2)  # 2 of 5 is no majority
        s.por.setCommittee(5, 3)
    warp(1)
    task = accepted_task(s)
    s.submit_reveal(task, s.workers[0])
    members = s.draw(task)
    assert len(members) == len(set(members)) == 5
    s.vote(task, {m: i < 3 for i, m in enumerate(members)})  # three pass, two fail
    assert s.escrow.tasks(task).state == VERIFIED and s.escrow.tasks(task).passed
    assert [weight(s, m) for m in members] == [FEE, FEE, FEE, 0, 0]


# ---------------------------------------------------------------- stake-weighted draw

def test_draw_is_weighted_by_stake(s):
    """A 3x-stake oracle among eight 1x oracles is drawn clearly more often, through the committee draw itself."""
    whale = add_oracle(s, "whale", 3 * MIN_ORACLE_STAKE)
    small = [o.address for o in s.oracles[:3]] + [add_oracle(s, f"small{i}") for i in range(5)]
    warp(1)
    task = accepted_task(s)
    s.submit_reveal(task, s.workers[0])
    submitted_at = s.escrow.tasks(task).submittedAt
    members = s.draw(task)
    randomness = s.beacon.randomness(s.por.drawRound(task))
    assert members == list(s.staking.drawOracles(draw_seed(randomness, task), 3, submitted_at))
    # the committees many tasks submitted then would get, each from its own round's randomness
    counts = {a: 0 for a in [whale, *small]}
    n = 150
    for i in range(n):
        for m in s.staking.drawOracles(draw_seed(keccak(b"round" + i.to_bytes(8, "big")), task + i), 3,
                                       submitted_at):
            counts[m] += 1
    assert sum(counts.values()) == 3 * n
    mean_small = sum(counts[a] for a in small) / len(small)
    # inclusion probability ~0.65 for the whale, ~0.29 for each small oracle
    assert counts[whale] > 1.8 * mean_small
    assert counts[whale] > max(counts[a] for a in small)


# ---------------------------------------------------------------- disputes

def test_challenge_overturns_a_unanimous_verdict_and_slashes_every_voter(s, revealed):
    members = s.draw(revealed)
    s.verdict(revealed, True)  # a wrong pass, unanimous
    assert [weight(s, m) for m in members] == [FEE] * 3
    challenger = s.creator
    bond = s.challenge(revealed, challenger)
    assert bond == 100 * IFX
    assert s.escrow.tasks(revealed).state == DISPUTED
    assert s.escrow.bondsHeld() == bond
    assert s.escrow.disputeOf(revealed) == (challenger, True)
    worker = s.workers[0]
    stake = s.staking.nodes(worker).stake
    collateral = s.escrow.tasks(revealed).collateral
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, False)
        slashes = events(s.por, "OracleSlashed")
        (resolved,) = events(s.por, "DisputeResolved")
    assert (resolved.passed, resolved.overturned) == (False, True)
    reward = ORACLE_SLASH * 5000 // 10_000  # challengerRewardBps of each oracle's slash
    assert [(e.oracle, e.amount, e.toChallenger) for e in slashes] == [(m, ORACLE_SLASH, reward) for m in members]
    for m in members:
        assert s.staking.stakeOf(m) == MIN_ORACLE_STAKE - ORACLE_SLASH
        assert weight(s, m) == 0  # credit revoked
        assert s.por.votes(key(revealed), m) == VOTE_PASS | VOTE_CREDITED | VOTE_SLASHED
    assert s.issuance.epochs(0).verdictWeight == 0
    assert s.token.balanceOf(challenger) == 3 * reward  # paid directly by staking
    assert s.escrow.claimable(challenger) == bond  # bond back: the challenge was right
    warp(1)
    s.escrow.settle([revealed])
    worker_slash = collateral // 10
    worker_reward = worker_slash * 5000 // 10_000
    assert stake - s.staking.nodes(worker).stake == worker_slash
    assert s.token.balanceOf(challenger) == 3 * reward + worker_reward
    assert s.escrow.tasks(revealed).state == POSTED  # re-queued
    assert s.issuance.epochs(0).penalty == 3 * (ORACLE_SLASH - reward) + worker_slash - worker_reward
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()


def test_workers_challenge_overturns_a_wrong_fail(s, revealed):
    worker = s.workers[0]
    s.verdict(revealed, False)  # a wrong fail
    s.fund(worker, 100 * IFX)
    with boa.env.prank(worker):
        s.token.approve(s.escrow.address, 100 * IFX)
        s.escrow.challenge(revealed)
    before = s.token.balanceOf(worker)
    with boa.env.prank(s.governance):
        s.por.setParameter("challengerRewardBps", 10_000)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, True)
    assert s.token.balanceOf(worker) - before == 3 * ORACLE_SLASH  # all of the three slashes
    assert s.escrow.claimable(worker) == 100 * IFX
    assert all(weight(s, o) == 0 for o in s.oracles[:3])
    s.escrow.settle([revealed])
    assert s.escrow.tasks(revealed).state == SETTLED
    assert s.staking.nodes(worker).stake == WORKER_STAKE  # paid, not slashed
    assert s.issuance.workerFees(0, worker) == FEE


def test_upheld_challenge_forfeits_bond(s, revealed):
    s.verdict(revealed, True)
    bond = s.challenge(revealed, s.creator)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, True)
        assert events(s.por, "OracleSlashed") == []
    assert s.escrow.claimable(s.creator) == 0
    assert s.token.balanceOf(s.creator) == 0
    assert s.issuance.epochs(0).penalty == bond == 100 * IFX
    assert s.escrow.bondsHeld() == 0
    for o in s.oracles[:3]:
        assert s.staking.stakeOf(o.address) == MIN_ORACLE_STAKE
        assert weight(s, o) == FEE  # credited once, not again by the resolution
    assert s.issuance.epochs(0).verdictWeight == 3 * FEE


def test_unresolved_challenge_expires_and_the_verdict_stands(s, revealed):
    s.verdict(revealed, True)
    bond = s.challenge(revealed, s.creator)
    warp(3 * 86400 + 1)
    s.escrow.expire(revealed)
    assert s.escrow.claimable(s.creator) == bond
    assert s.escrow.tasks(revealed).state == VERIFIED
    with boa.env.prank(s.arbiter), boa.reverts("por: task not disputed"):
        s.por.resolveDispute(revealed, False)
    s.escrow.settle([revealed])
    assert s.escrow.tasks(revealed).state == SETTLED
    for o in s.oracles[:3]:
        assert s.staking.stakeOf(o.address) == MIN_ORACLE_STAKE
        assert weight(s, o) == FEE


def test_overturn_after_the_epoch_closed_slashes_but_keeps_the_old_credit(s, revealed):
    o1 = s.oracles[0]
    s.verdict(revealed, True)
    s.challenge(revealed, s.creator)
    warp(EPOCH)
    s.refresh_price()
    s.issuance.closeEpoch()
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, False)  # still DISPUTED: nobody expired it
    assert s.staking.stakeOf(o1.address) == MIN_ORACLE_STAKE - ORACLE_SLASH
    assert weight(s, o1, epoch=0) == FEE  # epoch 0 is closed: its credit is no longer revoked
    assert s.issuance.epochs(1).verdictWeight == 0


def test_ib_is_not_attested_by_oracles(s):
    """IB attestations are gone: IB comes only from settled benchmark tasks, through the escrow."""
    for name in ("attestIB", "ibDigest", "ibNonce", "IB_TYPEHASH"):
        assert not hasattr(s.por, name)
    with boa.env.prank(s.por.address), boa.reverts("staking: caller is not the escrow"):
        s.staking.setIB(s.workers[0], 2_000_000)
    assert s.staking.nodes(s.workers[0]).ib == 0


def test_signed_verdicts_are_gone(s):
    """Any two oracle signatures no longer decide: there is no signature entry point left."""
    for name in ("submitVerdict", "verdictDigest", "VERDICT_TYPEHASH", "DOMAIN_SEPARATOR"):
        assert not hasattr(s.por, name)


def test_only_the_arbiter_resolves(s, revealed):
    s.verdict(revealed, True)
    s.challenge(revealed, s.creator)
    for who in (s.governance, s.admin, s.creator, s.oracles[0].address):
        with boa.env.prank(who), boa.reverts("por: caller is not the arbiter"):
            s.por.resolveDispute(revealed, False)
    with boa.env.prank(s.governance):
        s.por.setArbiter(s.admin)
    with boa.env.prank(s.arbiter), boa.reverts("por: caller is not the arbiter"):
        s.por.resolveDispute(revealed, False)
    with boa.env.prank(s.admin):
        s.por.resolveDispute(revealed, False)
    assert s.escrow.tasks(revealed).state == VERIFIED


def test_resolve_needs_a_dispute(s, revealed):
    with boa.env.prank(s.arbiter), boa.reverts("por: task not disputed"):
        s.por.resolveDispute(revealed, True)


# ---------------------------------------------------------------- governance

def test_defaults(s):
    assert (s.por.committeeSize(), s.por.quorum(), s.por.commitWindow(), s.por.voteRevealWindow()) == (3, 2, 1800, 1800)
    assert (s.por.oracleSlashBps(), s.por.challengerRewardBps(), s.staking.noShowLimit(), s.staking.noShowSlashBps()) == (
        1000, 5000, 3, 100)
    assert (s.por.staking(), s.por.escrow(), s.por.issuance(), s.por.beacon()) == (
        s.staking.address, s.escrow.address, s.issuance.address, s.beacon.address)
    assert s.por.governance() == s.governance and s.por.arbiter() == s.arbiter


@pytest.mark.parametrize("name,value,error", [
    ("committeeSize", 5, "por: unknown parameter"),  # size and quorum: setCommittee, together
    ("quorum", 2, "por: unknown parameter"),
    ("commitWindow", 59, "por: out of bounds"),
    ("commitWindow", 86_401, "por: out of bounds"),
    ("voteRevealWindow", 59, "por: out of bounds"),
    ("voteRevealWindow", 86_401, "por: out of bounds"),
    ("oracleSlashBps", 5_001, "por: out of bounds"),
    ("challengerRewardBps", 10_001, "por: out of bounds"),
    ("noShowLimit", 3, "por: unknown parameter"),  # the no-show rule is Staking's (workers miss duties too)
    ("arbiter", 1, "por: unknown parameter"),
])
def test_parameter_bounds(s, name, value, error):
    with boa.env.prank(s.governance), boa.reverts(error):
        s.por.setParameter(name, value)


def test_governance(s):
    with boa.env.prank(s.admin), boa.reverts("governed: caller is not governance"):
        s.por.setParameter("oracleSlashBps", 5)
    with boa.env.prank(s.admin), boa.reverts("governed: caller is not governance"):
        s.por.setArbiter(s.admin)
    with boa.env.prank(s.governance):
        s.escrow.setParameter("verifyWindow", 3 * 86_400)  # room for the longest voting windows
    values = {"commitWindow": 60, "voteRevealWindow": 86_400, "oracleSlashBps": 5_000, "challengerRewardBps": 0}
    with boa.env.prank(s.governance):
        for name, value in values.items():
            s.por.setParameter(name, value)
            (changed,) = events(s.por, "ParameterChanged")
            assert (changed.name, changed.newValue) == (name, value)
        with boa.reverts("por: zero address"):
            s.por.setArbiter(ZERO)
        s.por.setArbiter(s.admin)
    for name, value in values.items():
        assert getattr(s.por, name)() == value
    assert s.por.votingWindows() == 60 + 86_400
    assert s.por.arbiter() == s.admin


@pytest.mark.parametrize("size,quorum,error", [
    (0, 0, "por: out of bounds"),
    (0, 1, "por: out of bounds"),
    (16, 9, "por: out of bounds"),
    (4, 2, "por: quorum must stay a majority"),  # 2 of 4 is a tie, not a majority
    (3, 1, "por: quorum must stay a majority"),
    (3, 4, "por: quorum must stay a majority"),  # more votes than seats
    (1, 0, "por: quorum must stay a majority"),
    (15, 7, "por: quorum must stay a majority"),
])
def test_committee_bounds(s, size, quorum, error):
    with boa.env.prank(s.governance), boa.reverts(error):
        s.por.setCommittee(size, quorum)
    assert (s.por.committeeSize(), s.por.quorum()) == (3, 2)


def test_a_committee_of_one_decides_alone(s):
    with boa.env.prank(s.governance):
        s.por.setCommittee(1, 1)
    task = accepted_task(s)
    s.submit_reveal(task, s.workers[0])
    (member,) = s.draw(task)
    s.vote(task, {member: True})
    t = s.escrow.tasks(task)
    assert (t.state, t.passed) == (VERIFIED, True)
    assert weight(s, member) == FEE
