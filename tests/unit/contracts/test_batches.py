"""The batch lane (docs/protocol.md, "Batches"): many tasks posted, judged and settled per call, with every guarantee
of the single-task path. Each attack a hostile manager, worker, oracle, creator or stranger could try on a batch is
tried here on the real contracts."""

import boa
import pytest
from eth_utils import keccak

from inferix import batches as B
from inferix.sealing import HEAD_BYTES, manifest_defect, seal_manifest

from ._batch_helpers import RENDER_WINDOW, Lane, events, now
from .conftest import IBM, IFX, sealed_seed, warp

BPS = 10_000


@pytest.fixture
def lane(s):
    return Lane(s)


def _balances_hold(s) -> None:
    """The escrow holds exactly what it owes (batches included), and the lane exactly its bonds."""
    assert s.token.balanceOf(s.escrow.address) == s.escrow_liabilities()
    assert s.token.balanceOf(s.lane.address) == s.lane.bondsHeld()


def _tx_gas(contract) -> int:
    """The last call's gas as a transaction: execution (refunds deducted) + 21,000 + calldata (4/16 per byte)."""
    c = contract._computation
    data = bytes(c.msg.data)
    return c.net_gas_used + 21_000 + sum(4 if byte == 0 else 16 for byte in data)


def _seal_proof(blob: bytes) -> tuple[bytes, bytes]:
    return blob[:HEAD_BYTES], keccak(blob[HEAD_BYTES:])


# ---------------------------------------------------------------- the normal path


def test_a_batch_is_posted_judged_and_settled_in_a_few_calls(s, lane):
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    budget = s.escrow.jobs(job).budget
    b = lane.post(job, [(w[0], 3), (w[1], 2)])
    (posted,) = events(s.lane, "BatchPosted")
    assert (posted.batchId, posted.count) == (b.id, 5)
    # the leaves are public: in the post's calldata, package CIDs included
    leaves, _ = B.decode_post(bytes(s.lane._computation.msg.data))
    assert leaves == b.leaves
    rec = s.lane.batches(b.id)
    # the Merkle root and the groups the contract computed are the ones the services compute
    assert rec.root == B.merkle_root([b.node(i) for i in range(5)])
    assert (rec.count, rec.workers, rec.fees) == (5, 2, 50 * IFX)
    assert s.lane.groups(b.id, 1) == (3 << 160) | int(w[1], 16)
    assert s.escrow.jobs(job).budget == budget - 50 * IFX and s.escrow.laneHeld() == 50 * IFX
    assert s.staking.nodes(w[0]).locked == 3 * 20 * IFX and s.staking.nodes(w[1]).locked == 2 * 20 * IFX
    _balances_hold(s)

    lane.submit_all(b)
    assert B.decode_results(bytes(s.lane._computation.msg.data)) == (1, b.cids[1])
    assert s.lane.results(b.id, 0) == B.merkle_root([B.result_node(i, c) for i, c in zip(range(3), b.cids[0])])
    lane.reveal(b)
    members = lane.draw(b)
    assert len(members) == 3
    lane.verdict(b, [True] * 5)
    c = s.committee.committees(b.id)
    assert (c.passBits, c.decidedBits) == (0b11111, 0b11111)
    lane.past_challenge_window(b)
    epoch = s.issuance.currentEpoch()
    fees_before = s.issuance.epochs(epoch).fees
    supply = s.token.totalSupply()
    treasury = s.escrow.claimable(s.treasury)
    lane.settle(b)

    assert s.token.totalSupply() == supply - 40 * IFX  # 80 % of 50 IFX burned
    assert s.escrow.claimable(s.treasury) == treasury + 10 * IFX
    assert s.issuance.workerFees(epoch, w[0]) == 30 * IFX and s.issuance.workerFees(epoch, w[1]) == 20 * IFX
    assert s.issuance.managerFees(epoch, s.manager) >= 50 * IFX
    assert s.issuance.epochs(epoch).fees == fees_before + 50 * IFX
    for m in members:
        assert s.issuance.oracleWeights(epoch, m) >= 50 * IFX  # every member voted with the verdict on each task
    assert s.staking.nodes(w[0]).locked == s.staking.nodes(w[1]).locked == 0
    assert s.escrow.laneHeld() == 0 and s.escrow.jobs(job).openTasks == 0
    assert s.lane.batches(b.id).stage == 3
    _balances_hold(s)
    with boa.reverts("lane: batch settled"):
        lane.settle(b)


def test_a_mixed_verdict_slashes_only_the_failed_tasks_and_returns_their_fees(s, lane):
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2), (w[1], 2)])
    budget = s.escrow.jobs(job).budget
    stake1 = s.staking.stakeOf(w[1])
    lane.run(b, [True, True, True, False])
    # task 3 failed: 10 % of its 20 IFX collateral slashed, its 10 IFX fee back in the budget
    assert s.staking.stakeOf(w[1]) == stake1 - 2 * IFX
    assert s.escrow.jobs(job).budget == budget + 10 * IFX
    assert s.staking.nodes(w[1]).locked == 0
    (settled,) = events(s.lane, "BatchSettled")
    assert (settled.passed, settled.failed, settled.refund) == (3, 1, 10 * IFX)
    _balances_hold(s)


def test_a_worker_who_delivers_nothing_fails_all_its_tasks_whatever_the_votes(s, lane):
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2), (w[1], 2)])
    lane.submit(b, 0)
    warp(RENDER_WINDOW + 1)
    lane.reveal(b)
    stake1 = s.staking.stakeOf(w[1])
    members = lane.draw(b)
    # two members pass everything; one fails the tasks whose frames never came: the majority cannot pay for them
    lane.vote(b, {members[0]: 0b1111, members[1]: 0b1111, members[2]: 0b0011})
    lane.past_challenge_window(b)
    epoch = s.issuance.currentEpoch()
    weights = [s.issuance.oracleWeights(epoch, m) for m in members]
    lane.settle(b)
    assert s.staking.stakeOf(w[1]) == stake1 - 2 * 2 * IFX
    assert s.issuance.workerFees(epoch, w[1]) == 0
    # verdict credits follow the outcome: the two delivered tasks for all, the two undelivered for the one who
    # failed them
    gained = [s.issuance.oracleWeights(epoch, m) - before for m, before in zip(members, weights)]
    assert gained == [20 * IFX, 20 * IFX, 40 * IFX]
    _balances_hold(s)


# ---------------------------------------------------------------- hostile managers


def test_a_manager_cannot_post_tasks_a_worker_did_not_accept(s, lane):
    w = lane.workers(3)
    job = s.create_job(budget=1_000 * IFX)
    with boa.reverts("lane: bad acceptance"):  # signed by another worker
        lane.post(job, [(w[0], 1)], signers={w[0]: w[1]})
    # an acceptance is for one batch id: replaying it under another nonce fails
    leaves, _ = lane.leaves([(w[0], 1)])
    accepted = B.acceptance_chain(leaves, B.groups(leaves)[0])
    from inferix.eip712 import sign_acceptance
    sig = sign_acceptance(lane.keys[w[0]], s.chain_id, s.committee.address, B.batch_id(s.manager, 77), accepted,
                          RENDER_WINDOW, now() + 600)
    with boa.env.prank(s.manager), boa.reverts("lane: bad acceptance"):
        s.lane.postBatch(job, 78, [l.as_tuple() for l in leaves], [l.package for l in leaves], [(now() + 600, sig)],
                         keccak(b"x"), s.beacon.roundAt(now() + RENDER_WINDOW) + 1, sealed_seed(b"x"), RENDER_WINDOW)
    with boa.reverts("lane: acceptance expired"):
        lane.post(job, [(w[0], 1)], accept_by=now() - 1)
    # a worker's leaves come as one group: a manager cannot slip in tasks around another worker's
    leaves, _ = lane.leaves([(w[0], 1), (w[1], 1), (w[0], 1)])
    with pytest.raises(ValueError):
        B.groups(leaves)
    batch = B.batch_id(s.manager, 79)
    signed = [(now() + 600, sign_acceptance(lane.keys[leaf.worker], s.chain_id, s.committee.address, batch,
                                            B.acceptance_chain(leaves, B.Group(leaf.worker, i, i + 1)), RENDER_WINDOW,
                                            now() + 600))
              for i, leaf in enumerate(leaves)]
    with boa.env.prank(s.manager), boa.reverts("lane: worker in two groups"):
        s.lane.postBatch(job, 79, [l.as_tuple() for l in leaves], [l.package for l in leaves], signed,
                         keccak(b"x"), s.beacon.roundAt(now() + RENDER_WINDOW) + 1, sealed_seed(b"x"), RENDER_WINDOW)


def test_a_manager_cannot_shorten_the_render_window_a_worker_accepted(s, lane):
    """A worker's acceptance covers the render window (EIP-712 `Accept(batchId, leaves, renderWindow, acceptBy)`):
    before, the manager alone chose it when posting (anything from 60 s to 7 days), so a worker offered an hour could
    be posted with 60 s, fail every task and lose its collateral. A post with a window the worker did not accept is
    refused."""
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    leaves, _ = lane.leaves([(w[0], 2)])
    batch = B.batch_id(s.manager, 90)
    accept_by = now() + 600
    from inferix.eip712 import sign_acceptance
    # what the worker signs for the batch it was offered (its leaves, to render within RENDER_WINDOW)
    accepted = sign_acceptance(lane.keys[w[0]], s.chain_id, s.committee.address, batch,
                               B.acceptance_chain(leaves, B.groups(leaves)[0]), RENDER_WINDOW, accept_by)
    with boa.env.prank(s.manager), boa.reverts("lane: bad acceptance"):
        s.lane.postBatch(job, 90, [l.as_tuple() for l in leaves], [l.package for l in leaves], [(accept_by, accepted)],
                         keccak(b"x"), s.beacon.roundAt(now() + 60) + 1, sealed_seed(b"x"), 60)


def test_a_batch_stays_within_the_job_and_its_manager(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=100 * IFX)
    with boa.reverts("lane: fee above job maximum"):  # 10 IBM at most $1/IBM at $0.50: 20 IFX
        lane.post(job, [(w[0], 1)], fee=21 * IFX)
    with boa.reverts("escrow: budget exceeded"):
        lane.post(job, [(w[0], 11)])
    with boa.reverts("escrow: not the manager's open job"):  # the creator is not the job's manager
        s.staking.nodes(s.creator)  # (registered below as a manager, so that it passes the stake check)
        s.fund(s.creator, 1_000 * IFX)
        with boa.env.prank(s.creator):
            s.staking.register(3, 0, s.license(s.creator, 3))
            s.token.approve(s.staking.address, 1_000 * IFX)
            s.staking.stake(1_000 * IFX)
        lane.post(job, [(w[0], 1)], manager=s.creator)
    b = lane.post(job, [(w[0], 1)])
    with boa.reverts("lane: batch id used"):
        lane.post(job, [(w[0], 1)], nonce=b.nonce)
    with boa.env.prank(s.creator):
        s.escrow.closeJob(job)
    with boa.reverts("escrow: not the manager's open job"):
        lane.post(job, [(w[0], 1)])


def test_a_late_seed_costs_the_manager_and_its_credit_but_the_work_is_still_judged(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2)])
    lane.submit_all(b)
    with boa.reverts("lane: nothing to expire"):
        s.lane.expire(b.id)
    warp(s.escrow.revealWindow() + 1)
    stake = s.staking.stakeOf(s.manager)
    s.lane.expire(b.id)
    assert s.staking.stakeOf(s.manager) == stake - 100 * IFX  # max(100 IFX, 2 x 20 IFX)
    assert s.lane.batches(b.id).late
    lane.reveal(b, by=s.creator)  # anyone who opened the escrow
    lane.verdict(b, [True, True])
    lane.past_challenge_window(b)
    epoch = s.issuance.currentEpoch()
    forfeited = s.issuance.forfeitedFees(epoch)
    lane.settle(b)
    assert s.issuance.forfeitedFees(epoch) == forfeited + 20 * IFX  # the manager's share is not minted
    assert s.issuance.workerFees(epoch, w[0]) == 20 * IFX
    _balances_hold(s)


def test_a_seed_escrow_that_never_opens_voids_the_batch_and_pays_the_workers_who_delivered(s, lane):
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2), (w[1], 1)])
    lane.submit(b, 0)  # w[1] delivers nothing
    budget = s.escrow.jobs(job).budget
    warp(RENDER_WINDOW + s.escrow.revealWindow() + 1)
    s.lane.expire(b.id)
    with boa.reverts("lane: seed not revealed"):
        lane.settle(b)
    warp(s.escrow.escrowSlack() + s.escrow.revealWindow() + 1)
    stake = s.staking.stakeOf(s.manager)
    wallet0, wallet1 = s.token.balanceOf(w[0]), s.token.balanceOf(w[1])
    lane.settle(b)
    assert s.staking.stakeOf(s.manager) == stake - 100 * IFX
    assert s.token.balanceOf(w[0]) == wallet0 + 20 * IFX  # its two fees, from the slash
    assert s.token.balanceOf(w[1]) == wallet1
    assert s.staking.nodes(w[0]).locked == s.staking.nodes(w[1]).locked == 0  # no worker fault
    assert s.escrow.jobs(job).budget == budget + 30 * IFX and s.escrow.laneHeld() == 0
    _balances_hold(s)


def test_a_bogus_manifest_in_a_batch_is_proven_with_its_leaf(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 3)])
    # task 1's manifest is sound: sealed with its own task seed, computable once the batch id is known
    sound = seal_manifest(b'{"frames": {}}' * 20, b.task_seed(1))
    assert manifest_defect(sound, b.task_seed(1)) is None
    lane.submit_all(b)
    with boa.reverts("lane: seed not revealed"):
        s.lane.proveBadManifest(b.id, 0, b.leaf(0), b.proof(0), *_seal_proof(b.manifests[0]))
    lane.reveal(b)
    with boa.reverts("lane: not the committed manifest"):
        s.lane.proveBadManifest(b.id, 1, b.leaf(1), b.proof(1), *_seal_proof(sound))
    with boa.reverts("lane: leaf not in batch"):
        s.lane.proveBadManifest(b.id, 0, b.leaf(1), b.proof(0), *_seal_proof(b.manifests[0]))
    stake, wallet = s.staking.stakeOf(s.manager), s.token.balanceOf(w[0])
    with boa.env.prank(s.creator):
        s.lane.proveBadManifest(b.id, 0, b.leaf(0), b.proof(0), *_seal_proof(b.manifests[0]))
    (proven,) = events(s.lane, "BadManifestProven")
    assert (proven.index, proven.defect) == (0, "not a sealed manifest")
    assert s.staking.stakeOf(s.manager) == stake - 100 * IFX
    assert s.token.balanceOf(w[0]) == wallet + 10 * IFX
    assert s.staking.nodes(w[0]).locked == 2 * 20 * IFX  # task 0's collateral released, no fault
    with boa.reverts("lane: task closed or disputed"):
        s.lane.proveBadManifest(b.id, 0, b.leaf(0), b.proof(0), *_seal_proof(b.manifests[0]))
    lane.verdict(b, [True] * 3)
    lane.past_challenge_window(b)
    lane.settle(b)
    assert s.escrow.laneHeld() == 0 and s.staking.nodes(w[0]).locked == 0
    _balances_hold(s)


def test_the_settlement_needs_the_batchs_own_leaves(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2)])
    lane.submit_all(b)
    lane.reveal(b)
    lane.verdict(b, [True, True])
    lane.past_challenge_window(b)
    richer = [B.Leaf(l.worker, l.ibm, l.fee + 1, l.manifest_digest, l.frame_start, l.frame_end, l.package)
              for l in b.leaves]
    with boa.reverts("lane: not the batch's leaves"):
        lane.settle(b, richer)
    with boa.reverts("lane: not the batch's leaves"):
        s.lane.settle(b.id, [b.leaf(0)])


# ---------------------------------------------------------------- hostile workers


def test_results_come_from_the_groups_worker_once_and_in_time(s, lane):
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2), (w[1], 1)])
    with boa.env.prank(w[1]), boa.reverts("lane: not the group's worker"):
        s.lane.submitResults(b.id, 0, ["a", "b"])
    with boa.env.prank(w[0]), boa.reverts("lane: one result per task"):
        s.lane.submitResults(b.id, 0, ["a"])
    with boa.env.prank(w[0]), boa.reverts("lane: empty result CID"):
        s.lane.submitResults(b.id, 0, ["a", ""])
    with boa.env.prank(w[0]), boa.reverts("lane: no such worker group"):
        s.lane.submitResults(b.id, 2, ["a"])
    lane.submit(b, 0)
    with boa.env.prank(w[0]), boa.reverts("lane: results already submitted"):
        s.lane.submitResults(b.id, 0, ["c", "d"])
    with boa.reverts("lane: results still due"):
        lane.reveal(b)
    warp(RENDER_WINDOW + 1)
    with boa.env.prank(w[1]), boa.reverts("lane: render deadline passed"):
        s.lane.submitResults(b.id, 1, ["late"])


def test_a_worker_who_delivered_nothing_is_not_paid_for_a_bogus_manifest(s, lane):
    """A bogus-manifest proof pays the worker its fee from the manager's slash only for frames delivered: before, a
    worker who submitted nothing was paid for work it never did and escaped the slash settlement takes from a
    worker who delivers nothing. As on the single path (no proof before the worker's result), it is refused."""
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 1), (w[1], 1)])
    lane.submit(b, 0)  # w[1] delivers nothing
    warp(RENDER_WINDOW + 1)
    lane.reveal(b)
    wallet = s.token.balanceOf(w[1])
    with boa.reverts("lane: no frames delivered"):
        s.lane.proveBadManifest(b.id, 1, b.leaf(1), b.proof(1), *_seal_proof(b.manifests[1]))
    assert s.token.balanceOf(w[1]) == wallet


# ---------------------------------------------------------------- hostile oracles


def test_committee_commitments_are_signed_by_their_members_and_reveals_must_match(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2)])
    lane.submit_all(b)
    with boa.reverts("committee: batch not awaiting a verdict"):
        s.committee.draw(b.id)
    lane.reveal(b)
    members = lane.draw(b)
    with boa.reverts("committee: already drawn"):
        s.committee.draw(b.id)
    from inferix.eip712 import sign_vote_commitment
    c = B.vote_commitment(b.id, members[0], 0b11, b"\x01" * 32)
    forged = sign_vote_commitment(lane.oracle_key(members[1]), s.chain_id, s.committee.address, b.id, c)
    with boa.env.prank(s.creator), boa.reverts("committee: bad commitment signature"):
        s.committee.commitVotes(b.id, [0], [c], [forged])
    with boa.env.prank(s.creator), boa.reverts("committee: bad commitment signature"):
        s.committee.commitVotes(b.id, [0], [c], [b""])  # only the member itself may omit the signature
    with boa.env.prank(members[0]):
        s.committee.commitVotes(b.id, [0], [c], [b""])
    with boa.env.prank(members[0]), boa.reverts("committee: already committed"):
        s.committee.commitVotes(b.id, [0], [c], [b""])
    with boa.reverts("committee: commit phase not over"):
        s.committee.revealVotes(b.id, [0], [0b11], [b"\x01" * 32])
    warp(s.committee.committees(b.id).commitEnds - now() + 1)
    with boa.reverts("committee: vote does not match commitment"):
        s.committee.revealVotes(b.id, [0], [0b10], [b"\x01" * 32])  # a member cannot change its mind
    s.committee.revealVotes(b.id, [0], [0b11], [b"\x01" * 32])
    warp(s.committee.committees(b.id).voteEnds - now() + 1)
    s.committee.finalize(b.id)
    c = s.committee.committees(b.id)
    assert (c.passBits, c.decidedBits) == (0, 0)  # one vote is no quorum: no verdict
    # the two silent members are no-shows, counted when the batch settles; undecided tasks close without fault
    missed = [s.staking.missed(m) for m in members]
    lane.past_challenge_window(b)
    stake = s.staking.stakeOf(w[0])
    lane.settle(b)
    assert [(e.batchId, e.oracle) for e in events(s.lane, "NoShow")] == [(b.id, members[1]), (b.id, members[2])]
    assert [s.staking.missed(m) for m in members] == [missed[0], missed[1] + 1, missed[2] + 1]
    assert s.staking.stakeOf(w[0]) == stake and s.staking.nodes(w[0]).locked == 0
    assert s.escrow.laneHeld() == 0
    _balances_hold(s)


def test_a_batch_nobody_judges_closes_without_fault_after_the_verify_window(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 1)])
    lane.submit_all(b)
    lane.reveal(b)
    with boa.reverts("lane: verdict pending"):
        lane.settle(b)
    warp(s.escrow.verifyWindow() + 1)
    with boa.reverts("committee: batch not awaiting a verdict"):
        s.committee.draw(b.id)  # too late to draw: the batch closes without a verdict
    lane.settle(b)
    assert s.staking.nodes(w[0]).locked == 0 and s.escrow.laneHeld() == 0


# ---------------------------------------------------------------- challenges


def test_one_task_of_a_batch_is_challenged_and_overturned_while_the_rest_settles(s, lane):
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2), (w[1], 2)])
    lane.submit_all(b)
    lane.reveal(b)
    members = lane.draw(b)
    lane.vote(b, {members[0]: 0b1111, members[1]: 0b1111, members[2]: 0b1011})  # member 2 dissents on task 2
    with boa.reverts("lane: leaf not in batch"):
        s.lane.challenge(b.id, 2, b.leaf(3), b.proof(2))
    bond = lane.challenge(b, 2, members[2])
    assert bond == 100 * IFX and s.lane.bondsHeld() == bond
    with boa.reverts("lane: task challenged or closed"):
        lane.challenge(b, 2, s.creator)
    lane.past_challenge_window(b)
    lane.settle(b)  # everything but the challenged task
    (settled,) = events(s.lane, "BatchSettled")
    assert settled.passed == 3 and s.escrow.laneHeld() == 10 * IFX
    assert s.staking.nodes(w[1]).locked == 20 * IFX  # task 2's collateral still held
    with boa.env.prank(s.creator), boa.reverts("lane: caller is not the arbiter"):
        s.lane.resolve(b.id, 2, 1, b.leaf(2), b.proof(2), False)
    stakes = [s.staking.stakeOf(m) for m in members]
    challenger_wallet = s.token.balanceOf(members[2])
    worker_stake = s.staking.stakeOf(w[1])
    lane.resolve(b, 2, False)  # the frames were bad: PASS overturned
    # the two members who passed it are slashed 10 % of their stake, half of it to the challenger
    for m, before in zip(members[:2], stakes[:2]):
        assert s.staking.stakeOf(m) == before - before // 10
    reward = sum(before // 10 // 2 for before in stakes[:2]) + 2 * IFX // 2
    assert s.token.balanceOf(members[2]) == challenger_wallet + bond + reward
    assert s.staking.stakeOf(w[1]) == worker_stake - 2 * IFX  # 10 % of the task's 20 IFX collateral
    assert s.staking.nodes(w[1]).locked == 0 and s.escrow.laneHeld() == 0 and s.lane.bondsHeld() == 0
    assert s.escrow.jobs(job).openTasks == 0  # the batch's last task closed it
    _balances_hold(s)


def test_an_unanswered_challenge_keeps_the_verdict_and_returns_the_bond(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 2)])
    lane.submit_all(b)
    lane.reveal(b)
    lane.verdict(b, [True, True])
    bond = lane.challenge(b, 1, s.creator)
    lane.past_challenge_window(b)
    with boa.reverts("lane: challenge window closed"):
        lane.challenge(b, 0, s.creator)
    lane.settle(b)
    wallet = s.token.balanceOf(s.creator)
    with boa.reverts("lane: caller is not the arbiter"):
        lane.resolve(b, 1, False, by=s.creator)
    warp(s.escrow.disputeWindow() + 1)
    lane.resolve(b, 1, False, by=s.creator)  # anyone, after the window: `passed` is ignored, the PASS stands
    assert s.token.balanceOf(s.creator) == wallet + bond
    assert s.issuance.workerFees(s.issuance.currentEpoch(), w[0]) == 20 * IFX
    assert s.escrow.laneHeld() == 0 and s.lane.bondsHeld() == 0
    _balances_hold(s)


def test_a_challenged_task_whose_frames_never_came_credits_only_the_members_who_failed_it(s, lane):
    """A challenged task whose frames never came fails when `resolve` closes it too, and only the members who failed
    it are credited (as at settlement): before, the members who voted the verdict that stood were credited its fee
    value, delivered or not."""
    w = lane.workers(2)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 1), (w[1], 1)])
    lane.submit(b, 0)  # w[1] delivers nothing
    warp(RENDER_WINDOW + 1)
    lane.reveal(b)
    members = lane.draw(b)
    lane.verdict(b, [True, True])
    lane.challenge(b, 1, s.creator)
    lane.past_challenge_window(b)
    lane.settle(b)
    epoch = s.issuance.currentEpoch()
    weights = [s.issuance.oracleWeights(epoch, m) for m in members]
    stake = s.staking.stakeOf(w[1])
    warp(s.escrow.disputeWindow() + 1)
    lane.resolve(b, 1, True, by=s.creator)  # the arbiter was silent: the PASS stands, but the frames never came
    assert s.staking.stakeOf(w[1]) == stake - 2 * IFX  # the task failed
    assert [s.issuance.oracleWeights(epoch, m) for m in members] == weights  # today: + 10 IFX each


def test_an_upheld_challenge_loses_its_bond_to_the_penalty_pool(s, lane):
    w = lane.workers(1)
    job = s.create_job(budget=1_000 * IFX)
    b = lane.post(job, [(w[0], 1)])
    lane.submit_all(b)
    lane.reveal(b)
    lane.verdict(b, [True])
    bond = lane.challenge(b, 0, s.creator)
    epoch = s.issuance.currentEpoch()
    penalty = s.issuance.epochs(epoch).penalty
    lane.resolve(b, 0, True)
    assert s.issuance.epochs(epoch).penalty == penalty + bond
    lane.past_challenge_window(b)
    lane.settle(b)
    assert s.escrow.laneHeld() == 0 and s.escrow.jobs(job).openTasks == 0
    _balances_hold(s)


# ---------------------------------------------------------------- scale bounds


def test_a_worker_takes_at_most_64_tasks_of_a_batch(s, lane):
    """Its results come in one call, whose calldata is bounded: a larger group could never be delivered."""
    w = lane.workers(2)
    job = s.create_job(budget=10_000 * IFX)
    with boa.reverts("lane: over 64 tasks for one worker"):
        lane.post(job, [(w[0], 65)], ibm=1 * IBM, fee=1 * IFX)
    b = lane.post(job, [(w[0], 64), (w[1], 1)], ibm=1 * IBM, fee=1 * IFX)
    lane.submit(b, 0)  # 64 results in one call


def test_the_largest_batch_fits_one_transaction_and_one_challenge_stays_bounded(s, lane):
    """EIP-7825 caps a transaction at 16,777,216 gas (anvil does not enforce it); a challenge of one task of the
    largest batch must stay under 500k whatever the batch's size."""
    workers = lane.workers(32)
    job = s.create_job(budget=10_000 * IFX)
    plan = [(w, 8) for w in workers]  # 256 tasks, 32 workers
    b = lane.post(job, plan, ibm=1 * IBM, fee=1 * IFX)
    assert s.lane.batches(b.id).count == 256
    post_gas = _tx_gas(s.lane)
    assert post_gas < 16_777_216, post_gas
    lane.submit_all(b)
    lane.reveal(b)
    lane.verdict(b, [True] * 256)
    lane.challenge(b, 255, s.creator)
    challenge_gas = _tx_gas(s.lane)
    assert challenge_gas < 500_000, challenge_gas
    lane.past_challenge_window(b)
    lane.settle(b)
    settle_gas = _tx_gas(s.lane)
    assert settle_gas < 16_777_216, settle_gas
    lane.resolve(b, 255, False)
    assert s.escrow.laneHeld() == 0
    _balances_hold(s)
