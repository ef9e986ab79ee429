"""A driver of the batch lane on the unit-test chain: posts batches with real worker acceptances (EIP-712 signed by
keyed workers), submits results, reveals the batch seed, publishes the beacon round, relays the committee's signed
commitments and reveals, and settles; every hash from ``inferix.batches``, so the tests check the contracts against
the same bytes the services use."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import boa
from eth_account import Account
from eth_utils import keccak

from inferix import batches as B
from inferix.eip712 import sign_acceptance, sign_vote_commitment
from inferix.sealing import manifest_digest

from .conftest import IBM, IFX, WORKER_PRICE, WORKER_STAKE, bogus_manifest, sealed_seed, warp

RENDER_WINDOW = 3600


def now() -> int:
    return boa.env.evm.patch.timestamp


def events(contract, name: str) -> list:
    return [log for log in contract.get_logs() if type(log).__name__ == name]


@dataclass
class Batch:
    id: bytes
    nonce: int
    job: int
    seed: bytes
    leaves: list[B.Leaf]
    groups: list[B.Group]
    manifests: list[bytes]
    cids: dict = field(default_factory=dict)  # group index -> result CIDs

    def node(self, i: int) -> bytes:
        return B.leaf_node(i, self.leaves[i])

    def proof(self, i: int) -> list[bytes]:
        return B.merkle_proof([B.leaf_node(j, leaf) for j, leaf in enumerate(self.leaves)], i)

    def leaf(self, i: int) -> tuple:
        return self.leaves[i].as_tuple()

    def group_of(self, i: int) -> int:
        return next(g for g, grp in enumerate(self.groups) if grp.first <= i < grp.end)

    def task_seed(self, i: int) -> bytes:
        return B.task_seed(self.seed, self.id, i)


class Lane:
    """The batch lane of a deployed unit-test system ``s``."""

    def __init__(self, s):
        self.s = s
        self.lane, self.committee = s.lane, s.committee
        self.nonce = 0
        self.keys: dict[str, bytes] = {}

    # ------------------------------------------------------------ actors
    def workers(self, n: int, stake: int = WORKER_STAKE) -> list[str]:
        """``n`` keyed workers (they sign acceptances), registered and staked."""
        out = []
        for i in range(n):
            acct = Account.from_key(keccak(b"batch worker %d" % i))
            out.append(acct.address)
            self.keys[acct.address] = bytes(acct.key)
            if self.s.staking.nodes(acct.address).role == 0:
                self.s.fund(acct.address, stake)
                with boa.env.prank(acct.address):
                    self.s.staking.register(1, WORKER_PRICE)
                    self.s.token.approve(self.s.staking.address, stake)
                    self.s.staking.stake(stake)
        return out

    # ------------------------------------------------------------ posting
    def leaves(self, plan: list[tuple[str, int]], ibm: int = 10 * IBM, fee: int | None = None,
               manifests: dict | None = None):
        """Leaves for ``plan`` [(worker, tasks)], grouped in order, each with a bogus sealed manifest by default (the
        contracts see only its digest until someone proves it bogus)."""
        leaves, blobs = [], []
        i = 0
        for worker, n in plan:
            for _ in range(n):
                blob = (manifests or {}).get(i, bogus_manifest(os.urandom(8)))
                blobs.append(blob)
                leaves.append(B.Leaf(worker, ibm, 10 * IFX if fee is None else fee, manifest_digest(blob), 1, 10,
                                     f"bafynoised-{i}"))
                i += 1
        return leaves, blobs

    def post(self, job: int, plan: list[tuple[str, int]], *, ibm: int = 10 * IBM, fee: int | None = None,
             window: int = RENDER_WINDOW, accept_by: int | None = None, manifests: dict | None = None,
             signers: dict | None = None, leaves: list | None = None, nonce: int | None = None,
             manager: str | None = None) -> Batch:
        manager = manager or self.s.manager
        if nonce is None:
            self.nonce += 1
            nonce = self.nonce
        batch = B.batch_id(manager, nonce)
        seed = os.urandom(32)
        if leaves is None:
            leaves, blobs = self.leaves(plan, ibm, fee, manifests)
        else:
            blobs = []
        groups = B.groups(leaves)
        accept_by = now() + 600 if accept_by is None else accept_by
        acceptances = []
        for g in groups:
            signer = (signers or {}).get(g.worker, g.worker)
            sig = sign_acceptance(self.keys[signer], self.s.chain_id, self.committee.address, batch,
                                  B.acceptance_chain(leaves, g), window, accept_by)
            acceptances.append((accept_by, sig))
        escrow_round = self.s.beacon.roundAt(now() + window) + 1
        with boa.env.prank(manager):
            got = self.lane.postBatch(job, nonce, [l.as_tuple() for l in leaves], [l.package for l in leaves],
                                      acceptances, keccak(seed), escrow_round, sealed_seed(seed), window)
        assert got == batch
        return Batch(batch, nonce, job, seed, leaves, groups, blobs)

    # ------------------------------------------------------------ results and the seed
    def submit(self, b: Batch, group: int, cids: list[str] | None = None) -> list[str]:
        g = b.groups[group]
        cids = cids or [f"bafyframes-{b.id.hex()[:8]}-{i}" for i in range(g.first, g.end)]
        with boa.env.prank(g.worker):
            self.lane.submitResults(b.id, group, cids)
        b.cids[group] = cids
        return cids

    def submit_all(self, b: Batch) -> None:
        for g in range(len(b.groups)):
            self.submit(b, g)

    def reveal(self, b: Batch, by: str | None = None) -> None:
        with boa.env.prank(by or self.s.manager):
            self.lane.revealSeed(b.id, b.seed)

    # ------------------------------------------------------------ the committee
    def publish_round(self, b: Batch) -> None:
        round_ = self.s.beacon.roundAt(self.lane.batches(b.id).revealedAt) + 1
        due = self.s.beacon.roundTime(round_)
        if due > now():
            warp(due - now())
        if self.s.beacon.randomness(round_) == b"\x00" * 32:
            with boa.env.prank(self.s.admin):
                self.s.beacon.setRandomness(round_, keccak(b"round" + round_.to_bytes(8, "big")))

    def draw(self, b: Batch) -> list[str]:
        members = list(self.committee.committeeOf(b.id))
        if not members:
            self.publish_round(b)
            self.committee.draw(b.id)
            members = list(self.committee.committeeOf(b.id))
        return members

    def oracle_key(self, address: str) -> bytes:
        return next(o.key for o in self.s.oracles if o.address == address)

    def vote(self, b: Batch, bits: dict[str, int], relay: str | None = None, finalize: bool = True) -> None:
        """Members commit (signed, relayed in one call) then reveal ``bits`` {member: bitmap}; members left out stay
        silent, and the committee is finalized after the reveal phase."""
        members = self.draw(b)
        relay = relay or self.s.creator
        seats, commitments, sigs, salts = [], [], [], {}
        for member, passbits in bits.items():
            salts[member] = os.urandom(32)
            c = B.vote_commitment(b.id, member, passbits, salts[member])
            seats.append(members.index(member))
            commitments.append(c)
            sigs.append(sign_vote_commitment(self.oracle_key(member), self.s.chain_id, self.committee.address, b.id, c))
        if seats:
            with boa.env.prank(relay):
                self.committee.commitVotes(b.id, seats, commitments, sigs)
        if len(seats) < len(members):
            warp(self.committee.committees(b.id).commitEnds - now() + 1)
        if seats:
            with boa.env.prank(relay):
                self.committee.revealVotes(b.id, seats, list(bits.values()), [salts[m] for m in bits])
        if finalize and self.committee.committees(b.id).finalizedAt == 0:
            warp(self.committee.committees(b.id).voteEnds - now() + 1)
            self.committee.finalize(b.id)

    def verdict(self, b: Batch, passing: list[bool]) -> None:
        """Every member votes ``passing`` (one bool per task)."""
        bits = B.pass_bits(passing)
        self.vote(b, {m: bits for m in self.draw(b)})

    def past_challenge_window(self, b: Batch) -> None:
        ends = self.committee.committees(b.id).finalizedAt + self.s.escrow.challengeWindow()
        if ends >= now():
            warp(ends - now() + 1)

    def settle(self, b: Batch, leaves: list | None = None) -> None:
        self.lane.settle(b.id, [l.as_tuple() for l in (leaves or b.leaves)])

    def run(self, b: Batch, passing: list[bool] | None = None) -> None:
        """Results, reveal, verdict (all pass by default), past the challenge window, settled."""
        self.submit_all(b)
        self.reveal(b)
        self.verdict(b, passing or [True] * len(b.leaves))
        self.past_challenge_window(b)
        self.settle(b)

    def challenge(self, b: Batch, i: int, who: str) -> int:
        fee = b.leaves[i].fee
        bond = max(self.s.escrow.challengeBond(), fee * self.s.escrow.challengeBondBps() // 10_000)
        self.s.fund(who, bond)
        with boa.env.prank(who):
            self.s.token.approve(self.lane.address, bond)
            self.lane.challenge(b.id, i, b.leaf(i), b.proof(i))
        return bond

    def resolve(self, b: Batch, i: int, passed: bool, by: str | None = None) -> None:
        with boa.env.prank(by or self.s.arbiter):
            self.lane.resolve(b.id, i, b.group_of(i), b.leaf(i), b.proof(i), passed)
