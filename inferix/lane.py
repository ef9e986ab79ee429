"""The batch lane from a node's side: prepare, post, deliver, judge and settle a batch over :class:`~inferix.chain.Chain`.

The contracts are ``BatchLane`` and ``BatchCommittee`` (docs/protocol.md, "Batches"); the bytes every party must
agree on (leaves, trees, acceptances, commitments) come from :mod:`inferix.batches`. A batch's tasks and results
live in calldata, not in events: :func:`batch_leaves` and :func:`batch_results` read them back from the
transactions that carried them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from eth_utils import keccak

from inferix import batches as B
from inferix.chain import Chain, ChainError, TransactionReverted
from inferix.eip712 import acceptance_signer, acceptance_typed_data, sign_acceptance, sign_vote_commitment
from inferix.protocol import ESCROW_MARGIN_S, EscrowClock, get_beacon, latest_time, read_struct

# the lane's stages (BatchLane.vy)
RENDERING, REVEALED, SETTLED = 1, 2, 3


@dataclass
class PreparedBatch:
    """A batch ready to be offered to its workers: its id, nonce, seed (secret until the reveal), leaves and the
    seed's escrow. Task ``i``'s seed is :func:`inferix.batches.task_seed` of it."""

    id: bytes
    nonce: int
    job_id: int
    seed: bytes
    leaves: list[B.Leaf]
    render_window: int
    escrow_round: int
    seed_escrow: bytes

    @property
    def groups(self) -> list[B.Group]:
        return B.groups(self.leaves)

    def task_seed(self, index: int) -> bytes:
        return B.task_seed(self.seed, self.id, index)


def next_nonce(chain: Chain, manager: str) -> int:
    """The first nonce whose batch id ``manager`` has not used (ids are never reused)."""
    nonce = 1
    while get_batch(chain, B.batch_id(manager, nonce))["stage"] != 0:
        nonce += 1
    return nonce


def prepare(chain: Chain, job_id: int, nonce: int, leaves: list[B.Leaf], render_window: int,
            seed: bytes | None = None, margin: int = ESCROW_MARGIN_S) -> PreparedBatch:
    """A batch of ``leaves`` for ``job_id`` (the caller is its manager), with a fresh seed time-locked to the beacon
    round after the render deadline (+ ``margin`` for the time the acceptances take)."""
    seed = os.urandom(32) if seed is None else seed
    B.groups(leaves)  # raises when a worker's leaves are not consecutive
    # the lane has no on-chain acceptance step (the workers signed before the post): the single path's acceptWindow
    # is no part of a batch's render deadline, and counting it would put the round past renderEnds + escrowSlack
    # (postBatch reverts "seed escrow round too late") whenever acceptWindow + margin > escrowSlack
    clock = EscrowClock(get_beacon(chain), accept_window=0)
    escrow_round, ciphertext = clock.lock(seed, latest_time(chain), render_window, margin)
    return PreparedBatch(B.batch_id(chain.address, nonce), nonce, job_id, seed, leaves, render_window, escrow_round,
                         ciphertext)


def acceptance_request(chain: Chain, batch: PreparedBatch, group: B.Group, accept_by: int) -> dict:
    """What a worker's wallet signs to accept its group of ``batch`` (``eth_signTypedData_v4``)."""
    return acceptance_typed_data(chain.deployments.chain_id, chain.deployments.address("BatchCommittee"), batch.id,
                                 B.acceptance_chain(batch.leaves, group), batch.render_window, accept_by)


def accept(chain: Chain, batch: PreparedBatch, group: B.Group, accept_by: int) -> bytes:
    """The worker (the chain's account) signs its acceptance of ``group``."""
    return sign_leaves(chain, batch.id, batch.leaves, group, batch.render_window, accept_by)


def sign_leaves(chain: Chain, batch_id: bytes, leaves: list[B.Leaf] | tuple[B.Leaf, ...], group: B.Group,
                render_window: int, accept_by: int) -> bytes:
    """The chain's account (a worker) signs its acceptance of ``group`` of the batch ``leaves``."""
    if group.worker.lower() != chain.address.lower():
        raise ChainError(f"group of {group.worker} is not {chain.address}'s to accept")
    return sign_acceptance(chain.account.key, chain.deployments.chain_id, chain.deployments.address("BatchCommittee"),
                           batch_id, B.acceptance_chain(list(leaves), group), render_window, accept_by)


def accept_offer(chain: Chain, offer: B.Offer) -> bytes:
    """The worker signs an offer of its group (checked by the caller: fees, windows, capacity)."""
    return sign_leaves(chain, offer.batch_id, offer.leaves, offer.span, offer.render_window, offer.accept_by)


def offer_signer(chain: Chain, offer: B.Offer, signature: bytes) -> str:
    """Who signed ``offer`` (``ValueError`` for a malformed signature); the manager checks it is the group's worker."""
    return acceptance_signer(chain.deployments.chain_id, chain.deployments.address("BatchCommittee"), offer.batch_id,
                             B.acceptance_chain(list(offer.leaves), offer.span), offer.render_window, offer.accept_by,
                             signature)


def post(chain: Chain, batch: PreparedBatch, acceptances: list[tuple[int, bytes]]) -> dict:
    """``postBatch`` with one ``(acceptBy, signature)`` per worker group, in order; returns the receipt."""
    return chain.transact("BatchLane", "postBatch", batch.job_id, batch.nonce,
                          [leaf.as_tuple() for leaf in batch.leaves], [leaf.package for leaf in batch.leaves],
                          acceptances, keccak(batch.seed), batch.escrow_round, batch.seed_escrow,
                          batch.render_window)


def get_batch(chain: Chain, batch_id: bytes) -> dict:
    """The batch's on-chain record, by field name (snake_case: ``revealed_at``)."""
    return read_struct(chain, "BatchLane", "batches", batch_id)


def _calldata(chain: Chain, tx_hash: str) -> bytes:
    return bytes(chain.w3.eth.get_transaction(tx_hash)["input"])


def batch_leaves(chain: Chain, batch_id: bytes, from_block: int = 0) -> list[B.Leaf]:
    """The batch's leaves, from the calldata of the transaction that posted it (checked against its root)."""
    events = chain.events("BatchLane", ["BatchPosted"], from_block, chain.block_number(), {"batchId": batch_id})
    if not events:
        raise ChainError(f"batch 0x{batch_id.hex()} was never posted")
    leaves, _ = B.decode_post(_calldata(chain, events[0].tx_hash))
    if B.merkle_root([B.leaf_node(i, leaf) for i, leaf in enumerate(leaves)]) != events[0].args["root"]:
        raise ChainError(f"the leaves posted for batch 0x{batch_id.hex()} do not hash to its root")
    return leaves


def batch_results(chain: Chain, batch_id: bytes, from_block: int = 0) -> dict[int, list[str]]:
    """Each worker group's result CIDs, from the calldata of its ``submitResults`` (checked against its root)."""
    out = {}
    for event in chain.events("BatchLane", ["ResultsSubmitted"], from_block, chain.block_number(),
                              {"batchId": batch_id}):
        group, cids = B.decode_results(_calldata(chain, event.tx_hash))
        first = event.args["first"]
        if B.merkle_root([B.result_node(first + i, cid) for i, cid in enumerate(cids)]) != event.args["root"]:
            raise ChainError(f"group {group}'s results do not hash to their root")
        out[group] = cids
    return out


def submit_results(chain: Chain, batch_id: bytes, group: int, cids: list[str]) -> dict:
    return chain.transact("BatchLane", "submitResults", batch_id, group, cids)


def reveal_seed(chain: Chain, batch_id: bytes, seed: bytes) -> dict:
    return chain.transact("BatchLane", "revealSeed", batch_id, seed)


def committee(chain: Chain, batch_id: bytes) -> list[str]:
    return list(chain.call("BatchCommittee", "committeeOf", batch_id))


def commitment(chain: Chain, batch_id: bytes, pass_bits: int, salt: bytes) -> tuple[bytes, bytes]:
    """The member's (the chain account's) commitment to ``pass_bits`` and its signature, for anyone to relay."""
    value = B.vote_commitment(batch_id, chain.address, pass_bits, salt)
    return value, sign_vote_commitment(chain.account.key, chain.deployments.chain_id,
                                       chain.deployments.address("BatchCommittee"), batch_id, value)


def settle(chain: Chain, batch_id: bytes, leaves: list[B.Leaf]) -> dict:
    return chain.transact("BatchLane", "settle", batch_id, [leaf.as_tuple() for leaf in leaves])


def outcome(chain: Chain, batch_id: bytes) -> dict:
    """The committee's outcome (``BatchCommittee.outcome``): members, revealed seats, votes, pass and decided bitmaps,
    and when it was finalized (0: not yet)."""
    members, revealed, votes, passed, decided, finalized_at = chain.call("BatchCommittee", "outcome", batch_id)
    return {"members": list(members), "revealed": revealed, "votes": list(votes), "pass_bits": passed,
            "decided_bits": decided, "finalized_at": finalized_at}


def finalize_if_due(chain: Chain, batch_id: bytes, now: int) -> bool:
    """Decide a committee whose reveal phase is over with the votes revealed (``BatchCommittee.finalize``, open to
    anyone: members that never reveal cannot hold a batch undecided). Returns whether it is finalized now (by us or
    by someone meanwhile); False while the reveal phase runs."""
    votes = read_struct(chain, "BatchCommittee", "committees", batch_id)
    if votes["finalized_at"]:
        return True
    if now <= votes["vote_ends"]:
        return False
    try:
        chain.transact("BatchCommittee", "finalize", batch_id)
    except TransactionReverted as exc:
        if exc.reason == "committee: reveal phase not over":
            return False
        if exc.reason != "committee: not voting":  # finalized by someone meanwhile
            raise
    return True


def task_outcomes(chain: Chain, batch_id: bytes, leaves: list[B.Leaf], from_block: int = 0) -> list[bool]:
    """Which tasks of a settled batch passed (the worker paid, the work credited), as ``settle`` and ``resolve``
    decided: a committee pass bit and delivered frames, unless the task closed on its own (a challenge the arbiter
    resolved, a bogus manifest proven)."""
    verdict = outcome(chain, batch_id)
    delivered = set()
    spans = B.groups(leaves)
    for g, span in enumerate(spans):
        if chain.call("BatchLane", "results", batch_id, g) != b"\x00" * 32:
            delivered.update(range(span.first, span.end))
    passed = [bool(verdict["pass_bits"] >> i & 1) and i in delivered for i in range(len(leaves))]
    for event in chain.events("BatchLane", ["TaskResolved", "BadManifestProven"], from_block, chain.block_number(),
                              {"batchId": batch_id}):
        passed[event.args["index"]] = event.name == "TaskResolved" and event.args["passed"] \
            and event.args["index"] in delivered
    return passed


def leaf_proof(leaves: list[B.Leaf], index: int) -> list[bytes]:
    """Task ``index``'s Merkle proof in the batch of ``leaves``: what ``challenge``, ``resolve`` and
    ``proveBadManifest`` take with its leaf (``IndexError`` for an index outside the batch)."""
    return B.merkle_proof([B.leaf_node(i, leaf) for i, leaf in enumerate(leaves)], index)


def challenge_bond(chain: Chain, leaf: B.Leaf) -> int:
    """The bond ``BatchLane.challenge`` takes for a task: ``max(challengeBond, challengeBondBps × fee)`` (IFX wei)."""
    from inferix.protocol import BPS

    return max(chain.call("JobEscrow", "challengeBond"), leaf.fee * chain.call("JobEscrow", "challengeBondBps") // BPS)


def challenge_task(chain: Chain, batch_id: bytes, index: int, leaves: list[B.Leaf] | None = None,
                   from_block: int | None = None) -> tuple[int, dict | None]:
    """Challenge the committee's verdict on task ``index`` of the batch (``BatchLane.challenge`` with its leaf and
    Merkle proof; the leaves read from the post's calldata unless given), approving the lane for the bond first if
    needed. Returns ``(bond, receipt)``; the receipt is None (nothing sent) when the balance cannot cover the bond.
    ``IndexError`` for an index outside the batch; the contract's refusals raise ``TransactionReverted``."""
    if leaves is None:
        start = chain.deployments.block_number if from_block is None else from_block
        leaves = batch_leaves(chain, batch_id, start)
    if not 0 <= index < len(leaves):
        raise IndexError(f"batch 0x{batch_id.hex()} has {len(leaves)} tasks: no task {index}")
    leaf = leaves[index]
    bond = challenge_bond(chain, leaf)
    if chain.call("IFXToken", "balanceOf", chain.address) < bond:
        return bond, None
    spender = chain.deployments.address("BatchLane")
    if bond and chain.call("IFXToken", "allowance", chain.address, spender) < bond:
        chain.transact("IFXToken", "approve", spender, bond)
    return bond, chain.transact("BatchLane", "challenge", batch_id, index, leaf.as_tuple(), leaf_proof(leaves, index))
