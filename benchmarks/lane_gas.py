"""Gas of the batch lane (``BatchLane`` + ``BatchCommittee``), from real anvil receipts: part of ``benchmarks.gas``.

Scenario (after the single-task path of ``benchmarks.gas`` has warmed the epoch up):

* **warm-up**: one batch of 10 tasks, so that every node already has work credited in the epoch (steady state).
* **one task alone**: a batch of one task, its own beacon round: ``postBatch`` (the worker's signed acceptance
  inside) → ``submitResults`` → ``revealSeed`` → ``RandomnessBeacon.submit`` → ``BatchCommittee.draw`` → one
  ``commitVotes`` carrying the 3 members' signed commitments (relayed by one of them) → one ``revealVotes``
  (the last reveal decides) → ``settle``.
* **batches of 10, 100, 256** (the largest: 256 tasks), one job each, 10 workers (every worker's leaves one
  group), each worker submitting its results in one call, all passing; **1,000 tasks** as 4 batches of 250.
* **the realistic mix**: 5 jobs, one batch of 100 each (10 workers), 3 % of the tasks failed by the committee
  (collateral slashed, fee back to the job), one task challenged (bond, the arbiter overturns it: oracles and
  worker slashed, the challenger rewarded) and settled on its own.
* **a challenge in the largest batch**: ``challenge`` and ``resolve`` of its last task (the longest proof).

Amortized gas per task = every transaction of the scenario (posts, results, reveals, beacon rounds, draws,
commitments, reveals, settles, challenge, resolution) ÷ its tasks. Each transaction is also checked against
EIP-7825's cap of 2^24 = 16,777,216 gas per transaction (anvil does not enforce it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from inferix import batches as B
from inferix.eip712 import sign_acceptance, sign_vote_commitment
from inferix.sealing import manifest_digest

IFX = 10**18
IBM = 10**6
TX_CAP = 2**24  # EIP-7825
RESULT_PREFIX = "bafybeibwzifw52ttrkqlikfzext5akxu4lyf4jgcsyqkd4lwxqxyn"  # + 5 chars: 59-character CIDv1 strings
PACKAGE_PREFIX = "bafybeihkoviema7g3gxyt6la7vd5ho32ictqbilu3wnlo3rs7ewhn"
RENDER_WINDOW = 3600
FRAMES = 10


@contextlib.contextmanager
def no_steps_tracing():
    """ape-foundry starts anvil with ``--steps-tracing`` (geth-style opcode traces, memory included, kept for every
    transaction): fine for the single-task table's opcode columns, gigabytes for one settle of 256 tasks."""
    from ape_foundry.provider import FoundryProvider

    build = FoundryProvider.build_command

    def without(self) -> list[str]:
        return [arg for arg in build(self) if arg != "--steps-tracing"]

    FoundryProvider.build_command = without
    try:
        yield
    finally:
        FoundryProvider.build_command = build


@dataclass
class Run:
    """The transactions of one scenario: (step, gas) in order, and its number of tasks."""
    tasks: int
    txs: list[tuple[str, int]] = field(default_factory=list)

    def add(self, step: str, receipt) -> None:
        if receipt.failed:
            raise RuntimeError(f"{step} failed")
        self.txs.append((step, receipt.gas_used))

    @property
    def total(self) -> int:
        return sum(g for _, g in self.txs)

    @property
    def per_task(self) -> int:
        return round(self.total / self.tasks)

    @property
    def largest(self) -> tuple[str, int]:
        return max(self.txs, key=lambda t: t[1])

    def by_step(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step, gas in self.txs:
            out[step] = out.get(step, 0) + gas
        return out


class LaneBench:
    """Drives the lane on a ``benchmarks.gas.Bench`` deployment (its actors, clock and beacon)."""

    def __init__(self, bench, arbiter):
        self.b = bench
        self.ape = bench.ape
        self.lane, self.committee = bench.c["BatchLane"], bench.c["BatchCommittee"]
        self.arbiter = arbiter
        self.workers = []
        self.nonce = 0
        self.cid_serial = 0

    # ------------------------------------------------------------------ actors
    def setup(self, n_workers: int = 10) -> None:
        from benchmarks.gas import WORKER_PRICE, WORKER_STAKE

        b = self.b
        # the oracles get more than the minimum stake: the disputes measured here slash them 10 % each
        for oracle in b.oracles:
            b.token.transfer(oracle, 4_000 * IFX, sender=b.admin)
            b.token.approve(b.staking, 4_000 * IFX, sender=oracle)
            b.staking.stake(4_000 * IFX, sender=oracle)
        for _ in range(n_workers):
            acct = self.ape.accounts.test_accounts.generate_test_account()
            b.provider.set_balance(acct.address, 10**20)
            b.token.transfer(acct, WORKER_STAKE, sender=b.admin)
            b.staking.register(1, WORKER_PRICE, sender=acct)
            b.token.approve(b.staking, WORKER_STAKE, sender=acct)
            b.staking.stake(WORKER_STAKE, sender=acct)
            self.workers.append(acct)

    def cid(self, prefix: str) -> str:
        self.cid_serial += 1
        return f"{prefix}{self.cid_serial:05d}"

    # ------------------------------------------------------------------ one batch
    def post(self, run: Run, job: int, n: int, workers: list) -> dict:
        """A batch of ``n`` tasks spread evenly over ``workers`` (consecutive groups), each worker's fee at its
        price (10 IBM at $0.50/IBM and $0.50/IFX: 10 IFX)."""
        b = self.b
        self.nonce += 1
        batch = B.batch_id(b.manager.address, self.nonce)
        seed = b.keccak(b"lane benchmark seed %d" % self.nonce)
        leaves = []
        per = -(-n // len(workers))
        for i in range(n):
            w = workers[min(i // per, len(workers) - 1)]
            start = 1 + i * FRAMES
            leaves.append(B.Leaf(w.address, 10 * IBM, 10 * IFX,
                                 manifest_digest(b"no sealed manifest, for " + B.task_seed(seed, batch, i)),
                                 start, start + FRAMES - 1, self.cid(PACKAGE_PREFIX)))
        groups = B.groups(leaves)
        accept_by = b.head() + 3600
        keys = {w.address: w for w in workers}
        acceptances = [(accept_by, sign_acceptance(keys[g.worker].private_key, b.chain_id, self.committee.address,
                                                   batch, B.acceptance_chain(leaves, g), RENDER_WINDOW, accept_by))
                       for g in groups]
        escrow_round = b.beacon.roundAt(b.head() + RENDER_WINDOW + 600) + 1
        receipt = self.lane.postBatch(job, self.nonce, [l.as_tuple() for l in leaves], [l.package for l in leaves],
                                      acceptances, b.keccak(seed), escrow_round,
                                      b"".join(b.keccak(seed + bytes([i])) for i in range(5)), RENDER_WINDOW,
                                      sender=b.manager)
        run.add("postBatch", receipt)
        return {"id": batch, "seed": seed, "leaves": leaves, "groups": groups, "keys": keys}

    def results(self, run: Run, batch: dict) -> None:
        self.b.travel(600)  # rendering
        for g, group in enumerate(batch["groups"]):
            cids = [self.cid(RESULT_PREFIX) for _ in range(group.first, group.end)]
            run.add("submitResults", self.lane.submitResults(batch["id"], g, cids, sender=batch["keys"][group.worker]))

    def reveal(self, run: Run, batch: dict) -> None:
        self.b.travel(5)
        run.add("revealSeed", self.lane.revealSeed(batch["id"], batch["seed"], sender=self.b.manager))

    def beacon_round(self, run: Run, batch: dict) -> None:
        from inferix.beacon import DEV_BEACON_KEY

        b = self.b
        round_ = b.beacon.roundAt(self.lane.batches(batch["id"]).revealedAt) + 1
        if b.beacon.randomness(round_) != b"\x00" * 32:
            return
        ahead = b.beacon.roundTime(round_) - (b.head() + 1)
        if ahead > 0:
            b.travel(ahead)
        run.add("RandomnessBeacon.submit", b.beacon.submit(round_, DEV_BEACON_KEY.sign(round_), sender=b.oracles[0]))

    def judge(self, run: Run, batch: dict, failed: set[int] = frozenset()) -> None:
        """Draw, the 3 signed commitments in one call, the 3 reveals in one call: all members agree."""
        b = self.b
        self.beacon_round(run, batch)
        run.add("BatchCommittee.draw", self.committee.draw(batch["id"], sender=b.oracles[0]))
        members = list(self.committee.committeeOf(batch["id"]))
        bits = B.pass_bits([i not in failed for i in range(len(batch["leaves"]))])
        salts = [b.keccak(b"salt %d" % i + batch["id"]) for i in range(len(members))]
        commitments = [B.vote_commitment(batch["id"], m, bits, salt) for m, salt in zip(members, salts)]
        sigs = [sign_vote_commitment(b.by_address[m].private_key, b.chain_id, self.committee.address, batch["id"], c)
                for m, c in zip(members, commitments)]
        relay = b.by_address[members[0]]
        run.add("commitVotes", self.committee.commitVotes(batch["id"], list(range(len(members))), commitments, sigs,
                                                          sender=relay))
        run.add("revealVotes", self.committee.revealVotes(batch["id"], list(range(len(members))),
                                                          [bits] * len(members), salts, sender=relay))
        assert self.committee.committees(batch["id"]).finalizedAt != 0

    def settle(self, run: Run, batch: dict) -> None:
        b = self.b
        b.travel(b.escrow.challengeWindow() + 1)
        run.add("settle", self.lane.settle(batch["id"], [l.as_tuple() for l in batch["leaves"]], sender=b.manager))

    def lifecycle(self, run: Run, job: int, n: int, workers: list, failed: set[int] = frozenset(),
                  challenge: int | None = None) -> dict:
        batch = self.post(run, job, n, workers)
        self.results(run, batch)
        self.reveal(run, batch)
        self.b.travel(2)
        self.judge(run, batch, failed)
        if challenge is not None:
            self.challenge(run, batch, challenge)
        self.settle(run, batch)
        if challenge is not None:
            self.resolve(run, batch, challenge)
        return batch

    def challenge(self, run: Run, batch: dict, i: int) -> None:
        b = self.b
        leaf = batch["leaves"][i]
        bond = max(b.escrow.challengeBond(), leaf.fee * b.escrow.challengeBondBps() // 10_000)
        b.token.approve(self.lane, bond, sender=b.creator)
        proof = B.merkle_proof([B.leaf_node(j, l) for j, l in enumerate(batch["leaves"])], i)
        run.add("challenge", self.lane.challenge(batch["id"], i, leaf.as_tuple(), proof, sender=b.creator))

    def resolve(self, run: Run, batch: dict, i: int) -> None:
        leaf = batch["leaves"][i]
        proof = B.merkle_proof([B.leaf_node(j, l) for j, l in enumerate(batch["leaves"])], i)
        group = next(g for g, grp in enumerate(batch["groups"]) if grp.first <= i < grp.end)
        run.add("resolve", self.lane.resolve(batch["id"], i, group, leaf.as_tuple(), proof, False,
                                             sender=self.arbiter))

    # ------------------------------------------------------------------ scenario
    def run(self) -> dict:
        b = self.b
        self.setup()
        jobs = []
        for _ in range(9):
            job, _, _ = b.create_job(budget=6_000 * IFX)
            jobs.append(job)
        out: dict[str, Run] = {}
        # warm-up: every worker, oracle and the manager get work credited in this epoch first
        self.lifecycle(Run(10), jobs[0], 10, self.workers)
        out["one task alone"] = r = Run(1)
        self.lifecycle(r, jobs[0], 1, self.workers[:1])
        out["batch of 10"] = r = Run(10)
        self.lifecycle(r, jobs[0], 10, self.workers)
        out["batch of 100"] = r = Run(100)
        self.lifecycle(r, jobs[1], 100, self.workers)
        out["batch of 256 (the largest)"] = r = Run(256)
        largest = self.lifecycle(r, jobs[2], 256, self.workers, challenge=255)
        out["1,000 tasks (4 batches of 250)"] = r = Run(1000)
        for k in range(4):
            self.lifecycle(r, jobs[3 + (k % 2)], 250, self.workers)
        # the realistic mix: 5 jobs x 100 tasks, 10 workers, 3 % failed, one task challenged and overturned
        out["5 jobs x 100 tasks, 3 % failed, 1 challenged"] = r = Run(500)
        for k in range(5):
            failed = {7 + 31 * j for j in range(3)}  # 3 of 100, spread over three workers
            self.lifecycle(r, jobs[4 + k], 100, self.workers, failed=failed, challenge=42 if k == 2 else None)
        del largest
        return out


def markdown(runs: dict[str, Run], single_path: int | None) -> str:
    """The targets table and the per-step breakdown."""
    lines = [
        "| scenario (committee of 3, quorum 2; 10-frame tasks of 10 IBM) | transactions | gas in all | "
        "gas per task | largest transaction (≤ 16,777,216) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, run in runs.items():
        step, gas = run.largest
        lines.append(f"| {name} | {len(run.txs)} | {run.total:,} | **{run.per_task:,}** | {gas:,} (`{step}`) |")
    alone, mix = runs["one task alone"], runs["5 jobs x 100 tasks, 3 % failed, 1 challenged"]
    largest = runs["batch of 256 (the largest)"].by_step()
    lines += [
        "",
        "| figure | single-task path | batch lane | target |",
        "|---|---:|---:|---:|",
        f"| one task alone, post → settle, steady state, committee of 3 | {single_path or 0:,} | {alone.per_task:,} "
        f"| ≤ 300,000 |",
        f"| per task, batches of 100, 10 workers, 5 jobs, 3 % failed, 1 challenged | – | {mix.per_task:,} "
        f"| ≤ 50,000 |",
        f"| challenge one task of the largest batch (256 tasks) | – | {largest['challenge']:,} "
        f"(+ `resolve` {largest['resolve']:,}) | ≤ 500,000 |",
        "",
        "| step | " + " | ".join(runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    steps = []
    for run in runs.values():
        for step in run.by_step():
            if step not in steps:
                steps.append(step)
    for step in steps:
        cells = []
        for run in runs.values():
            gas = run.by_step().get(step)
            cells.append(f"{gas / run.tasks:,.0f}" if gas else "")
        lines.append(f"| `{step}` (per task) | " + " | ".join(cells) + " |")
    lines.append("| **all** (per task) | " + " | ".join(f"**{r.per_task:,}**" for r in runs.values()) + " |")
    over = [f"{name}: {run.largest}" for name, run in runs.items() if run.largest[1] > TX_CAP]
    if over:
        raise RuntimeError(f"a transaction exceeds EIP-7825's cap: {over}")
    return "\n".join(lines)
