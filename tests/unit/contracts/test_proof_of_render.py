"""Proof of render: EIP-712 verdicts, quorum accumulation, replay protection, disputes, IB attestations."""

import boa
import pytest
from eth_abi import encode
from eth_utils import keccak

from inferix.eip712 import Verdict, verdict_digest

from .conftest import IFX, MIN_ORACLE_STAKE, warp

REVEALED, VERIFIED, DISPUTED, SETTLED = 5, 6, 7, 8


@pytest.fixture
def revealed(s):
    job = s.create_job()
    (task,) = s.post(job)
    s.assign_accept(task, s.workers[0])
    s.submit_reveal(task, s.workers[0])
    return task


def test_digest_matches_eth_account_typed_data(s, revealed):
    resultHash = s.escrow.verdictSubject(revealed)[1]
    onchain = s.por.verdictDigest(revealed, 0, resultHash, True, 9_000)
    assert onchain == verdict_digest(s.chain_id, s.por.address, Verdict(revealed, 0, "bafyframes", True, 9_000))


def test_quorum_accumulates_across_calls(s, revealed):
    o1, o2, o3 = s.oracles[:3]
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(o1, revealed, True)])
    assert s.escrow.tasks(revealed).state == REVEALED
    key = keccak(encode(["uint256", "uint256"], [revealed, 0]))
    assert s.por.tallies(key).passVotes == 1
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(o2, revealed, True)])
    assert s.escrow.tasks(revealed).state == VERIFIED
    # a late signature no longer counts: the verdict is final
    with boa.reverts("por: task not awaiting a verdict"):
        s.por.submitVerdict(revealed, True, 9_000, [s.sign(o3, revealed, True)])


def test_duplicate_signer_in_one_call(s, revealed):
    sig = s.sign(s.oracles[0], revealed, True)
    with boa.reverts("por: oracle already voted"):
        s.por.submitVerdict(revealed, True, 9_000, [sig, sig])
    assert s.escrow.tasks(revealed).state == REVEALED


def test_duplicate_signer_across_calls(s, revealed):
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(s.oracles[0], revealed, True)])
    # the same oracle again, even with a fresh signature of a different score
    with boa.reverts("por: oracle already voted"):
        s.por.submitVerdict(revealed, True, 8_000, [s.sign(s.oracles[0], revealed, True, score=8_000)])


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


def test_replayed_verdict_on_requeued_task_is_rejected(s):
    """A fail verdict for attempt 0 cannot be replayed against attempt 1, even with the same result CID."""
    job = s.create_job()
    (task,) = s.post(job)
    s.run_task(task, s.workers[0], passed=False)
    old = [s.sign(o, task, False, attempt=0) for o in s.oracles[:2]]
    warp(3601)
    s.escrow.settle([task])
    s.assign_accept(task, s.workers[1])
    s.submit_reveal(task, s.workers[1])
    assert s.attempt(task) == 1
    with boa.reverts("por: signer is not an active oracle"):
        s.por.submitVerdict(task, False, 9_000, old)
    assert s.escrow.tasks(task).state == REVEALED


def test_verdict_before_reveal_is_rejected(s):
    job = s.create_job()
    (task,) = s.post(job)
    s.assign_accept(task, s.workers[0])
    with boa.env.prank(s.workers[0]):
        s.escrow.submitResult(task, "bafyframes")
    with boa.reverts("por: task not awaiting a verdict"):
        s.por.submitVerdict(task, True, 9_000, [s.sign(s.oracles[0], task, True)])


def test_conflict_goes_to_dispute_and_arbiter_slashes_the_losing_side(s, revealed):
    o1, o2, o3 = s.oracles[:3]
    s.por.submitVerdict(revealed, True, 9_000, [s.sign(o1, revealed, True)])
    s.por.submitVerdict(revealed, False, 1_000, [s.sign(o2, revealed, False, score=1_000)])
    assert s.escrow.tasks(revealed).state == DISPUTED
    with boa.reverts("por: caller is not the arbiter"):
        s.por.resolveDispute(revealed, True, [o1.address, o2.address])
    with boa.env.prank(s.arbiter):
        with boa.reverts("por: not a voter"):
            s.por.resolveDispute(revealed, True, [o3.address])
        s.por.resolveDispute(revealed, True, [o1.address, o2.address])
    assert s.staking.nodes(o2.address).stake == MIN_ORACLE_STAKE * 9 // 10
    assert s.staking.nodes(o1.address).stake == MIN_ORACLE_STAKE
    assert s.issuance.oracleVerdicts(0, o2.address) == 0  # credit revoked
    assert s.issuance.oracleVerdicts(0, o1.address) == 1
    # the arbiter's decision is final: it cannot be challenged again, even in the same block, and settles at once
    s.fund(s.creator, 100 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 100 * IFX)
        with boa.reverts("escrow: challenge window closed"):
            s.escrow.challenge(revealed)
    s.escrow.settle([revealed])
    assert s.escrow.tasks(revealed).state == SETTLED


def test_challenge_overturns_a_verdict_and_slashes_its_signers(s, revealed):
    o1, o2 = s.oracles[:2]
    s.verdict(revealed, True)  # a wrong pass
    challenger = s.creator
    s.fund(challenger, 100 * IFX)
    with boa.env.prank(challenger):
        s.token.approve(s.escrow.address, 100 * IFX)
        s.escrow.challenge(revealed)
    assert s.escrow.tasks(revealed).state == DISPUTED
    assert s.escrow.bondsHeld() == 100 * IFX
    worker = s.workers[0]
    stake = s.staking.nodes(worker).stake
    collateral = s.escrow.tasks(revealed).collateral
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, False, [o1.address, o2.address])
    for o in (o1, o2):
        assert s.staking.nodes(o.address).stake == MIN_ORACLE_STAKE * 9 // 10
        assert s.issuance.oracleVerdicts(0, o.address) == 0
    assert s.escrow.claimable(challenger) == 100 * IFX  # bond back: the challenge was right
    warp(1)
    s.escrow.settle([revealed])
    assert stake - s.staking.nodes(worker).stake == collateral // 10
    assert s.escrow.tasks(revealed).state == 1  # re-queued
    # penalties (two oracles, one worker) sit in the issuance contract's pool
    assert s.issuance.epochs(0).penalty == 2 * MIN_ORACLE_STAKE // 10 + collateral // 10
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()


def test_upheld_challenge_forfeits_bond(s, revealed):
    s.verdict(revealed, True)
    s.fund(s.creator, 100 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 100 * IFX)
        s.escrow.challenge(revealed)
    with boa.env.prank(s.arbiter):
        s.por.resolveDispute(revealed, True, [o.address for o in s.oracles[:2]])
    assert s.escrow.claimable(s.creator) == 0
    assert s.issuance.epochs(0).penalty == 100 * IFX
    assert s.escrow.bondsHeld() == 0


def test_unresolved_dispute_expires_and_refunds_bond(s, revealed):
    s.verdict(revealed, True)
    s.fund(s.creator, 100 * IFX)
    with boa.env.prank(s.creator):
        s.token.approve(s.escrow.address, 100 * IFX)
        s.escrow.challenge(revealed)
    warp(3 * 86400 + 1)
    s.escrow.expire(revealed)
    assert s.escrow.claimable(s.creator) == 100 * IFX
    assert s.escrow.tasks(revealed).state == 1
    with boa.env.prank(s.arbiter), boa.reverts("por: task not disputed"):
        s.por.resolveDispute(revealed, True, [])


def test_ib_attestation_quorum_and_nonce(s):
    worker = s.workers[1]
    s.attest_ib(worker, 1_500_000, oracles=s.oracles[:1])
    assert s.staking.nodes(worker).ib == 0  # one attestation is not a quorum
    with boa.reverts("por: oracle already voted"):
        s.attest_ib(worker, 1_500_000, oracles=s.oracles[:1])
    s.attest_ib(worker, 1_500_000, oracles=s.oracles[1:2])
    assert s.staking.nodes(worker).ib == 1_500_000
    assert s.por.ibNonce(worker) == 1
    with boa.reverts("por: signer is not an active oracle"):
        s.attest_ib(worker, 1_500_000, oracles=s.oracles[3:4])
    with boa.reverts("por: zero IB"):
        s.por.attestIB(worker, 0, [b"\x00" * 65])


def test_governance(s):
    with boa.reverts("por: caller is not governance"):
        s.por.setQuorum(3)
    with boa.env.prank(s.governance):
        with boa.reverts("por: out of bounds"):
            s.por.setQuorum(0)
        with boa.reverts("por: out of bounds"):
            s.por.setOracleSlashBps(5_001)
        with boa.reverts("por: zero address"):
            s.por.setArbiter("0x" + "00" * 20)
        s.por.setQuorum(3)
        s.por.setArbiter(s.admin)
    assert s.por.quorum() == 3 and s.por.arbiter() == s.admin


def test_quorum_three(s, revealed):
    with boa.env.prank(s.governance):
        s.por.setQuorum(3)
    s.verdict(revealed, True)
    assert s.escrow.tasks(revealed).state == REVEALED
    s.verdict(revealed, True, oracles=s.oracles[2:3])
    assert s.escrow.tasks(revealed).state == VERIFIED
