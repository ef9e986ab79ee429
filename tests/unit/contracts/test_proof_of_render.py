"""Proof of render: EIP-712 verdicts, quorum accumulation, replay protection, verdict credits, disputes."""

import boa
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from inferix.eip712 import Verdict, verdict_digest

from .conftest import EPOCH, IFX, MIN_ORACLE_STAKE, WORKER_STAKE, Oracle, warp

POSTED, REVEALED, VERIFIED, DISPUTED, SETTLED = 1, 5, 6, 7, 8
VOTE_PASS, VOTE_FAIL, VOTE_SLASHED, VOTE_CREDITED = 1, 2, 4, 8
FEE = 10 * IFX  # the revealed task's fee: 10 IBM at $0.50/IBM and $0.50/IFX
ORACLE_SLASH = MIN_ORACLE_STAKE * 1000 // 10_000  # oracleSlashBps 10 %
ZERO = "0x" + "00" * 20


def key(task_id, attempt=0):
    return keccak(encode(["uint256", "uint256"], [task_id, attempt]))


def events(contract, name):
    return [log for log in contract.get_logs() if type(log).__name__ == name]


def weight(s, oracle, epoch=0):
    return s.issuance.oracleWeights(epoch, oracle.address)


@pytest.fixture
def revealed(s):
    job = s.create_job()
    (task,) = s.post(job)
    s.assign_accept(task, s.workers[0])
    s.submit_reveal(task, s.workers[0])
    return task


def test_digest_matches_eth_account_typed_data(s, revealed):
    cid = s.result_cid(revealed)
    resultHash = s.escrow.verdictSubject(revealed)[1]
    assert resultHash == keccak(cid.encode())
    onchain = s.por.verdictDigest(revealed, 0, resultHash, True, 9_000)
    assert onchain == verdict_digest(s.chain_id, s.por.address, Verdict(revealed, 0, cid, True, 9_000))
    assert onchain != verdict_digest(s.chain_id, s.por.address, Verdict(revealed, 1, cid, True, 9_000))


def test_quorum_accumulates_across_calls(s, revealed):
    o1, o2, o3 = s.oracles[:3]
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(o1, revealed, True)])
    assert s.escrow.tasks(revealed).state == REVEALED
    assert s.por.tallies(key(revealed)).passVotes == 1
    assert s.por.votes(key(revealed), o1.address) == VOTE_PASS
    assert weight(s, o1) == 0  # a vote that is not final (yet) earns nothing
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(o2, revealed, True)])
    assert s.escrow.tasks(revealed).state == VERIFIED
    (final,) = events(s.por, "VerdictFinal")
    assert (final.taskId, final.attempt, final.passed, final.votes) == (revealed, 0, True, 2)
    # at quorum every voter of the final side is credited the task's fee, once
    assert weight(s, o1) == weight(s, o2) == FEE
    assert s.issuance.epochs(0).verdictWeight == 2 * FEE
    assert s.por.weights(key(revealed)) == FEE
    assert s.por.votes(key(revealed), o1.address) == VOTE_PASS | VOTE_CREDITED  # credited in epoch 0
    assert [s.por.voters(key(revealed), i) for i in range(2)] == [o1.address, o2.address]
    # a late signature no longer counts: the verdict is final
    with boa.reverts("por: task not awaiting a verdict"):
        s.por.submitVerdict(revealed, True, 9_000, [s.sign(o3, revealed, True)])
    assert weight(s, o3) == 0


def test_final_fail_verdict_credits_its_voters_too(s, revealed):
    s.verdict(revealed, False)
    assert s.escrow.tasks(revealed).state == VERIFIED and not s.escrow.tasks(revealed).passed
    assert weight(s, s.oracles[0]) == weight(s, s.oracles[1]) == FEE


def test_votes_that_never_become_final_earn_nothing(s, revealed):
    s.verdict(revealed, True, oracles=s.oracles[:1])
    warp(6 * 3600 + 1)
    s.escrow.expire(revealed)  # no quorum in time: re-queued
    assert s.escrow.tasks(revealed).state == POSTED
    assert weight(s, s.oracles[0]) == 0
    assert s.issuance.epochs(0).verdictWeight == 0


def test_duplicate_signer_in_one_call(s, revealed):
    sig = s.sign(s.oracles[0], revealed, True)
    with boa.reverts("por: oracle already voted"):
        s.por.submitVerdict(revealed, True, 9_000, [sig, sig])
    assert s.escrow.tasks(revealed).state == REVEALED
    assert s.por.tallies(key(revealed)).passVotes == 0


def test_duplicate_signer_across_calls(s, revealed):
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(s.oracles[0], revealed, True)])
    # the same oracle again, even with a fresh signature of a different score
    with boa.reverts("por: oracle already voted"):
        s.por.submitVerdict(revealed, True, 8_000, [s.sign(s.oracles[0], revealed, True, score=8_000)])
    # or of the other verdict
    with boa.reverts("por: oracle already voted"):
        s.por.submitVerdict(revealed, False, 9_000, [s.sign(s.oracles[0], revealed, False)])


def test_signature_from_another_chain_is_rejected(s, revealed):
    foreign = [s.sign(o, revealed, True, chain_id=s.chain_id + 1) for o in s.oracles[:2]]
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(revealed, True, 9_000, foreign)


def test_signature_for_another_result_or_score_is_rejected(s, revealed):
    wrong_cid = [s.sign(o, revealed, True, cid="bafyother") for o in s.oracles[:2]]
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(revealed, True, 9_000, wrong_cid)
    sigs = [s.sign(o, revealed, True, score=9_000) for o in s.oracles[:2]]
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(revealed, True, 9_001, sigs)
    with boa.reverts("por: signer is not an active oracle"):  # signed a pass, submitted as a fail
        s.por.submitVerdict(revealed, False, 9_000, sigs)
    s.por.submitVerdict(revealed, True, 9_000, sigs)
    assert s.escrow.tasks(revealed).state == VERIFIED


def test_unregistered_and_garbage_signers(s, revealed):
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(revealed, True, 9_000, [s.sign(s.oracles[3], revealed, True)])
    with boa.reverts("ecdsa: invalid signature"):
        s.por.submitVerdict(revealed, True, 9_000, [b"\x00" * 65])
    # the malleable twin (s' = n - s) of a valid signature is refused
    sig = s.sign(s.oracles[0], revealed, True)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
    twin = sig[:32] + high_s + bytes([55 - sig[64]])
    with boa.reverts("ecdsa: invalid signature `s` value"):
        s.por.submitVerdict(revealed, True, 9_000, [twin])
    with boa.reverts("por: no signatures"):
        s.por.submitVerdict(revealed, True, 9_000, [])


def test_unbonding_oracle_does_not_count(s, revealed):
    o1 = s.oracles[0]
    with boa.env.prank(o1.address):
        s.staking.requestUnbond(MIN_ORACLE_STAKE)
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(revealed, True, 9_000, [s.sign(o1, revealed, True)])


def test_worker_or_manager_signature_does_not_count(s, revealed):
    impostor = Account.from_key(b"\x09" * 32)
    s.fund(impostor.address, MIN_ORACLE_STAKE)
    with boa.env.prank(impostor.address):
        s.staking.register(1, 10**18)  # a worker, with more than an oracle's stake
        s.token.approve(s.staking.address, MIN_ORACLE_STAKE)
        s.staking.stake(MIN_ORACLE_STAKE)
    sig = s.sign(Oracle(impostor.key, impostor.address), revealed, True)
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(revealed, True, 9_000, [sig])


def test_replayed_verdict_on_requeued_task_is_rejected(s):
    """A fail verdict for attempt 0 cannot be replayed against attempt 1, whatever CID it names."""
    job = s.create_job()
    (task,) = s.post(job)
    s.run_task(task, s.workers[0], passed=False)
    old = [s.sign(o, task, False, attempt=0) for o in s.oracles[:2]]
    warp(3601)
    s.escrow.settle([task])
    s.rekey(task)
    s.assign_accept(task, s.workers[1])
    s.submit_reveal(task, s.workers[1])
    assert s.attempt(task) == 1
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(task, False, 9_000, old)
    # signed for the new result CID but attempt 0: still refused, the attempt is bound
    stale = [s.sign(o, task, False, attempt=0) for o in s.oracles[:2]]
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(task, False, 9_000, stale)
    assert s.escrow.tasks(task).state == REVEALED
    # the first attempt's votes do not block the oracles on the second
    s.verdict(task, True)
    assert s.escrow.tasks(task).state == VERIFIED
    assert s.por.tallies(key(task, 1)).passVotes == 2
    assert s.por.tallies(key(task, 0)).failVotes == 2
    assert weight(s, s.oracles[0]) == 2 * FEE  # one fail and one pass verdict, both final


def test_verdict_before_reveal_is_rejected(s):
    job = s.create_job()
    (task,) = s.post(job)
    s.assign_accept(task, s.workers[0])
    with boa.env.prank(s.workers[0]):
        s.escrow.submitResult(task, "bafyframes")
    with boa.reverts("por: task not awaiting a verdict"):
        s.por.submitVerdict(task, True, 9_000, [s.sign(s.oracles[0], task, True, cid="bafyframes")])


# ---------------------------------------------------------------- disputes

def test_conflict_goes_to_dispute_and_arbiter_slashes_the_losing_side(s, revealed):
    o1, o2, o3 = s.oracles[:3]
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(o1, revealed, True)])
    s.por.submitVerdict(revealed, False, 1_000, [s.sign(o2, revealed, False, score=1_000)])
    assert s.escrow.tasks(revealed).state == DISPUTED
    assert s.escrow.disputeOf(revealed) == (ZERO, False)
    assert weight(s, o1) == weight(s, o2) == 0  # no verdict is final yet
    with boa.reverts("por: task not awaiting a verdict"):
        s.por.submitVerdict(revealed, True, 9_000, [s.sign(o3, revealed, True)])
    with boa.reverts("por: caller is not the arbiter"):
        s.por.resolveDispute(revealed, True)
    pool = s.token.balanceOf(s.issuance.address)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, True)
        slashes = events(s.por, "OracleSlashed")
        (resolved,) = events(s.por, "DisputeResolved")
    assert s.staking.nodes(o2.address).stake == MIN_ORACLE_STAKE - ORACLE_SLASH
    assert s.staking.nodes(o1.address).stake == MIN_ORACLE_STAKE
    assert [(e.taskId, e.oracle, e.amount, e.toChallenger) for e in slashes] == [
        (revealed, o2.address, ORACLE_SLASH, 0)]
    assert s.token.balanceOf(s.issuance.address) - pool == ORACLE_SLASH  # no challenger: all to the pool
    assert (resolved.passed, resolved.overturned) == (True, False)
    assert weight(s, o2) == 0
    assert weight(s, o1) == FEE  # the winning side is credited now
    assert s.por.votes(key(revealed), o2.address) == VOTE_FAIL | VOTE_SLASHED
    # the arbiter's decision is final: it cannot be challenged again, even in the same block, and settles at once
    s.fund(s.creator, 100 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 100 * IFX)
        with boa.reverts("escrow: challenge window closed"):
            s.escrow.challenge(revealed)
    with boa.env.prank(s.arbiter), boa.reverts("por: task not disputed"):
        s.por.resolveDispute(revealed, False)
    s.escrow.settle([revealed])
    assert s.escrow.tasks(revealed).state == SETTLED
    assert weight(s, o1) == FEE and weight(s, o2) == 0


def test_conflict_with_several_voters_per_side(s, revealed):
    o1, o2, o3 = s.oracles[:3]
    with boa.env.prank(s.governance):
        s.por.setQuorum(3)
    s.verdict(revealed, True, oracles=[o1, o2])  # two passes: not a quorum of three
    s.verdict(revealed, False, oracles=[o3])
    assert s.escrow.tasks(revealed).state == DISPUTED
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, False)
    for o in (o1, o2):
        assert s.staking.nodes(o.address).stake == MIN_ORACLE_STAKE - ORACLE_SLASH
        assert weight(s, o) == 0
    assert s.staking.nodes(o3.address).stake == MIN_ORACLE_STAKE
    assert weight(s, o3) == FEE
    assert s.issuance.epochs(0).penalty == 2 * ORACLE_SLASH


def test_challenge_overturns_a_verdict_and_slashes_its_signers(s, revealed):
    o1, o2 = s.oracles[:2]
    s.verdict(revealed, True)  # a wrong pass
    assert weight(s, o1) == weight(s, o2) == FEE
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
    assert [(e.oracle, e.amount, e.toChallenger) for e in slashes] == [
        (o1.address, ORACLE_SLASH, reward), (o2.address, ORACLE_SLASH, reward)]
    for o in (o1, o2):
        assert s.staking.nodes(o.address).stake == MIN_ORACLE_STAKE - ORACLE_SLASH
        assert weight(s, o) == 0  # credit revoked
        assert s.por.votes(key(revealed), o.address) == VOTE_PASS | VOTE_CREDITED | VOTE_SLASHED
    assert s.issuance.epochs(0).verdictWeight == 0
    assert s.token.balanceOf(challenger) == 2 * reward  # paid directly by staking
    assert s.escrow.claimable(challenger) == bond  # bond back: the challenge was right
    warp(1)
    s.escrow.settle([revealed])
    worker_slash = collateral // 10
    worker_reward = worker_slash * 5000 // 10_000
    assert stake - s.staking.nodes(worker).stake == worker_slash
    assert s.token.balanceOf(challenger) == 2 * reward + worker_reward
    assert s.escrow.tasks(revealed).state == POSTED  # re-queued
    # the rest of the penalties (two oracles, one worker) sit in the issuance contract's pool
    assert s.issuance.epochs(0).penalty == 2 * (ORACLE_SLASH - reward) + worker_slash - worker_reward
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()
    assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked()


def test_workers_challenge_overturns_a_wrong_fail(s, revealed):
    o1, o2 = s.oracles[:2]
    worker = s.workers[0]
    s.verdict(revealed, False)  # a wrong fail
    s.fund(worker, 100 * IFX)
    with boa.env.prank(worker):
        s.token.approve(s.escrow.address, 100 * IFX)
        s.escrow.challenge(revealed)
    before = s.token.balanceOf(worker)
    with boa.env.prank(s.governance):
        s.por.setChallengerRewardBps(10_000)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, True)
    assert s.token.balanceOf(worker) - before == 2 * ORACLE_SLASH  # all of both slashes
    assert s.escrow.claimable(worker) == 100 * IFX
    assert weight(s, o1) == weight(s, o2) == 0
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
    for o in s.oracles[:2]:
        assert s.staking.nodes(o.address).stake == MIN_ORACLE_STAKE
        assert weight(s, o) == FEE  # credited once, not again by the resolution
    assert s.issuance.epochs(0).verdictWeight == 2 * FEE


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
    for o in s.oracles[:2]:
        assert s.staking.nodes(o.address).stake == MIN_ORACLE_STAKE
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
    assert s.staking.nodes(o1.address).stake == MIN_ORACLE_STAKE - ORACLE_SLASH
    assert weight(s, o1, epoch=0) == FEE  # epoch 0 is closed: its credit is no longer revoked
    assert s.issuance.epochs(1).verdictWeight == 0


def test_ib_is_not_attested_by_oracles(s):
    """IB attestations are gone: IB comes only from settled benchmark tasks, through the escrow."""
    for name in ("attestIB", "ibDigest", "ibNonce", "IB_TYPEHASH"):
        assert not hasattr(s.por, name)
    with boa.env.prank(s.por.address), boa.reverts("staking: caller is not the escrow"):
        s.staking.setIB(s.workers[0], 2_000_000)
    assert s.staking.nodes(s.workers[0]).ib == 0


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


def test_governance(s):
    for call, arg in [("setQuorum", 3), ("setOracleSlashBps", 100), ("setArbiter", s.admin),
                      ("setChallengerRewardBps", 100)]:
        with boa.env.prank(s.admin), boa.reverts("governed: caller is not governance"):
            getattr(s.por, call)(arg)
    with boa.env.prank(s.governance):
        with boa.reverts("por: out of bounds"):
            s.por.setQuorum(0)
        with boa.reverts("por: out of bounds"):
            s.por.setQuorum(16)
        with boa.reverts("por: out of bounds"):
            s.por.setOracleSlashBps(5_001)
        with boa.reverts("por: out of bounds"):
            s.por.setChallengerRewardBps(10_001)
        with boa.reverts("por: zero address"):
            s.por.setArbiter(ZERO)
        s.por.setQuorum(3)
        s.por.setArbiter(s.admin)
        s.por.setOracleSlashBps(5_000)
        s.por.setChallengerRewardBps(0)
    assert s.por.quorum() == 3 and s.por.arbiter() == s.admin
    assert s.por.oracleSlashBps() == 5_000 and s.por.challengerRewardBps() == 0
    assert s.por.governance() == s.governance


def test_quorum_three(s, revealed):
    with boa.env.prank(s.governance):
        s.por.setQuorum(3)
    s.verdict(revealed, True)
    assert s.escrow.tasks(revealed).state == REVEALED
    assert weight(s, s.oracles[0]) == 0
    s.verdict(revealed, True, oracles=s.oracles[2:3])
    assert s.escrow.tasks(revealed).state == VERIFIED
    assert [weight(s, o) for o in s.oracles[:3]] == [FEE, FEE, FEE]
