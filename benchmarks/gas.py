#!/usr/bin/env python
"""Gas of one rendering task's whole on-chain lifecycle, from real anvil receipts.

    .venv/bin/python -m benchmarks.gas [--json out/gas.json]

ape-foundry starts a throwaway anvil (and stops it at the end); the contracts are deployed and wired with
``scripts.deploy.deploy_all`` exactly as in a real deployment (on a local chain: the ``RandomnessBeacon``
with the public development key ``inferix.beacon.DEV_BEACON_KEY``, a round per second from deployment).
Actors: a creator, a manager, three workers and three oracles, all staked before any task is submitted,
so every committee (size 3, quorum 2) is the three oracles, in the order the beacon draws them. Block
times advance by exactly 1 s per block (``anvil_setBlockTimestampInterval``) plus the explicit time travel,
so the beacon rounds, hence the draws, are the same on every run.

Each task's verdict: after ``revealKey``, someone posts the beacon round of its draw
(``RandomnessBeacon.submit(round, DEV_BEACON_KEY.sign(round))``, round = ``ProofOfRender.drawRound``: the
first round after the result's submission; one round serves every task submitted in the round before it),
``drawCommittee``, each member ``commitVote``, then each ``revealVote`` (the last one finalizes).

Measured, in this order, all inside the first BMW epoch:

1. warm-up: one task from post to settle (the first task of the epoch for its worker, oracles and manager,
   and the first job and task ever: every counter goes 0 -> 1). Reported separately.
2. single: ``createJob`` (after an ``approve``) and ``createJobWithPermit``; task A with its own beacon round
   and a separate ``drawCommittee``; task B (only its first ``commitVote`` measured) drawn by its first
   ``commitVote``; each ``settle``d alone.
3. batched: 10 tasks posted in one ``postTasks`` call, each assigned and accepted, their results submitted
   within one beacon period (so one beacon round draws all 10 committees), revealed, drawn and voted on,
   then all 10 settled in one ``settle`` call.
4. other paths, once: a failed verdict (the committee votes fail) and its ``settle`` (slash, re-queue), the
   re-queued task's ``rekey``; and, at the very end, ``expire`` of a submitted task whose key was never
   revealed (the manager is late: slashed, ``ManagerSlashed``) and, once its seed escrow's grace has passed
   without anyone opening it, ``expire`` again (slashed again, the worker paid its fee, re-queued).
5. the epoch: ``closeEpoch`` and every ``claim`` (per epoch, whatever the number of tasks).

Every task is a 10-frame task of 10 IBM with realistic 59-character CIDv1 strings. For each transaction
the table also shows the intrinsic part (21,000 + calldata at 4/16 gas per zero/non-zero byte) and, from
``debug_traceTransaction``: storage writes (SSTORE count, of which zero -> non-zero, and their gas before
refunds), storage reads (SLOAD count, of which cold, and their gas), event gas and external calls
(precompile calls included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from inferix.sealing import HEAD_BYTES, manifest_digest

ROOT = Path(__file__).resolve().parents[1]

IFX = 10**18
USD = 10**18
IBM = 10**6
FRAMES = 10
TASK_IBM = 10 * IBM
WORKER_PRICE = USD // 2  # $0.50 per IBM
WORKER_STAKE = 20_000 * IFX
NODE_STAKE = 1_000 * IFX
BATCH = 10
TARGET = 300_000
SCENE_CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"  # 59 chars, CIDv1 base32
NOISED_CID = "bafybeihkoviema7g3gxyt6la7vd5ho32ictqbilu3wnlo3rs7ewhnp7lly"
RESULT_CID = "bafybeibwzifw52ttrkqlikfzext5akxu4lyf4jgcsyqkd4lwxqxynggkce"
SCORE = 9_000  # the ANGV score every member votes
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass
class Tx:
    """One measured transaction."""

    label: str
    gas: int
    intrinsic: int
    sstores: int = 0
    sstores_new: int = 0
    sstore_gas: int = 0
    sloads: int = 0
    sloads_cold: int = 0
    sload_gas: int = 0
    log_gas: int = 0
    calls: int = 0
    calldata_bytes: int = 0


@dataclass
class Results:
    single: dict[str, Tx] = field(default_factory=dict)
    warmup: dict[str, Tx] = field(default_factory=dict)
    batched: dict[str, list[Tx]] = field(default_factory=dict)
    epoch: dict[str, Tx] = field(default_factory=dict)
    lane: dict = field(default_factory=dict)
    other: dict[str, Tx] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _environment() -> None:
    bins = [str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent), str(ROOT / "node_modules" / ".bin")]
    os.environ["PATH"] = os.pathsep.join([*bins, os.environ.get("PATH", "")])
    os.environ.setdefault("NO_UPDATE_NOTIFIER", "1")
    os.chdir(ROOT)  # ape's local project and ape-config.yaml


class Bench:
    def __init__(self, ape, provider, trace: bool = True):
        from eth_utils import keccak

        from scripts.deploy import deploy_all

        self.ape, self.provider, self.trace = ape, provider, trace
        self.keccak = keccak
        acc = ape.accounts.test_accounts
        self.admin, self.creator, self.manager = acc[0], acc[1], acc[2]
        self.workers = [acc[3], acc[4], acc[5]]
        self.oracles = [acc[6], acc[7], acc[8]]
        self.by_address = {o.address: o for o in self.oracles}
        self.chain_id = provider.chain_id
        # every block 1 s after the previous one (plus the explicit travels): the same beacon rounds every run
        provider.make_request("anvil_setBlockTimestampInterval", [1])
        # the arbiter is a plain account here, so that the batch lane's dispute can be measured (the timelock in
        # production)
        self.arbiter = acc[9]
        market = acc[19]  # the liquidity bucket's holder: the deployer buys the actors' IFX from it
        self.c = deploy_all(self.admin, arbiter=self.arbiter.address, liquidity=market.address,
                            foundation=acc[18].address, airdrop=market.address,
                            licenses=[(a.address, 7) for a in acc[:10]])
        self.c["IFXToken"].transfer(self.admin, 8_000_000 * IFX, sender=market)
        self.token, self.escrow = self.c["IFXToken"], self.c["JobEscrow"]
        self.staking, self.por, self.issuance = self.c["Staking"], self.c["ProofOfRender"], self.c["BMWIssuance"]
        self.beacon, self.aggregator = self.c["RandomnessBeacon"], self.c["MockAggregator"]
        self.seeds: dict[int, bytes] = {}
        self._salt = 0

    # ------------------------------------------------------------------ measuring
    def measure(self, label: str, receipt) -> Tx:
        if receipt.failed:
            raise RuntimeError(f"{label} failed")
        data = bytes(receipt.transaction.data)
        intrinsic = 21_000 + sum(16 if b else 4 for b in data)
        tx = Tx(label, receipt.gas_used, intrinsic, calldata_bytes=len(data))
        if self.trace:
            trace = self.provider.make_request(
                "debug_traceTransaction",
                [receipt.txn_hash, {"disableStack": True, "disableMemory": True, "disableStorage": True}],
            )
            for step in trace.get("structLogs", []):
                if step["op"] == "SSTORE":
                    tx.sstores += 1
                    tx.sstore_gas += step["gasCost"]
                    if step["gasCost"] >= 20_000:
                        tx.sstores_new += 1
                elif step["op"] == "SLOAD":
                    tx.sloads += 1
                    tx.sload_gas += step["gasCost"]
                    tx.sloads_cold += step["gasCost"] >= 2_100
                elif step["op"].startswith("LOG"):
                    tx.log_gas += step["gasCost"]
                elif step["op"] in ("CALL", "STATICCALL", "DELEGATECALL"):
                    tx.calls += 1
        return tx

    def head(self) -> int:
        return self.ape.chain.blocks.head.timestamp

    def travel(self, seconds: int) -> None:
        self.provider.set_timestamp(self.head() + seconds)
        self.provider.mine()

    # ------------------------------------------------------------------ actors
    def setup(self) -> None:
        def join(account, role: int, price: int, amount: int) -> None:
            self.token.transfer(account, amount, sender=self.admin)
            if role == 1:
                self.staking.register(role, price, sender=account)
            else:  # oracles and managers lock a node license of their type
                licenses = self.c["NodeLicense"]
                license_id = licenses.tokenOfOwnerByIndex(account, 0)
                licenses.approve(self.staking, license_id, sender=account)
                self.staking.register(role, price, license_id, sender=account)
            self.token.approve(self.staking, amount, sender=account)
            self.staking.stake(amount, sender=account)

        join(self.manager, 3, 0, NODE_STAKE)
        for w in self.workers:
            join(w, 1, WORKER_PRICE, WORKER_STAKE)
        for o in self.oracles:
            join(o, 2, 0, NODE_STAKE)
        self.token.transfer(self.creator, 1_000_000 * IFX, sender=self.admin)
        assert self.por.committeeSize() == 3 and self.por.quorum() == 2

    def create_job(self, budget: int = 10_000 * IFX):
        approve = self.token.approve(self.escrow, budget, sender=self.creator)
        receipt = self.escrow.createJob(self.manager, SCENE_CID, 1, 10 * FRAMES, "1920x1080@128spp png", USD,
                                        budget, sender=self.creator)
        return self.escrow.jobCount(), approve, receipt

    def create_job_with_permit(self, budget: int = 10_000 * IFX):
        from inferix.eip712 import sign_permit

        deadline = self.head() + 3600
        nonce = self.token.nonces(self.creator)
        signed = sign_permit(self.creator.private_key, self.chain_id, self.token.address, self.creator.address,
                             self.escrow.address, budget, nonce, deadline)
        receipt = self.escrow.createJobWithPermit(
            self.manager, SCENE_CID, 1, 10 * FRAMES, "1920x1080@128spp png", USD, budget, deadline,
            signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"), sender=self.creator,
        )
        assert self.token.allowance(self.creator, self.escrow) == 0  # the permit's allowance was spent
        return self.escrow.jobCount(), receipt

    def secret(self) -> tuple[bytes, bytes, bytes]:
        """A fresh seed, its commitment and the digest of its sealed manifest (one per attempt)."""
        self._salt += 1
        seed = self.keccak(b"inferix benchmark seed %d" % self._salt)
        return seed, self.keccak(seed), manifest_digest(self.unsealed(seed))

    @staticmethod
    def unsealed(seed: bytes) -> bytes:
        """The "sealed manifest" every task commits to here: no seal at all (so that the last step can prove one
        bogus); the contracts see only its digest until then."""
        return b"no sealed manifest, for " + seed

    def escrow_of(self, seed: bytes) -> tuple[int, bytes]:
        """The seed escrow posted with a task: the first beacon round after its last possible render deadline (+10
        min) and a ciphertext of the real size. Pseudo-random bytes (a hash chain of the seed, so that runs are
        identical) cost the calldata a real time-lock ciphertext costs; the contract cannot tell them apart, and
        this benchmark never opens one."""
        opens = self.head() + self.escrow.acceptWindow() + 3600 + 600
        return self.beacon.roundAt(opens) + 1, b"".join(self.keccak(seed + bytes([i])) for i in range(5))

    def post(self, job_id: int, n: int):
        specs, seeds = [], []
        for i in range(n):
            seed, commit, digest = self.secret()
            seeds.append(seed)
            start = 1 + (i * FRAMES)
            specs.append((TASK_IBM, commit, digest, *self.escrow_of(seed), start, start + FRAMES - 1, 3600, NOISED_CID))
        receipt = self.escrow.postTasks(job_id, specs, sender=self.manager)
        last = self.escrow.taskCount()
        ids = list(range(last - n + 1, last + 1))
        self.seeds.update(zip(ids, seeds))
        return ids, receipt

    def rekey(self, task_id: int):
        seed, commit, digest = self.secret()
        receipt = self.escrow.rekey(task_id, commit, digest, *self.escrow_of(seed), NOISED_CID, sender=self.manager)
        self.seeds[task_id] = seed
        return receipt

    def attempt(self, task_id: int) -> int:
        return self.escrow.verdictSubject(task_id)[2]

    def publish_round(self, task_id: int):
        """Posts the beacon round that draws the task's committee, unless already posted; its receipt or None."""
        from inferix.beacon import DEV_BEACON_KEY

        round_ = self.por.drawRound(task_id)
        if self.beacon.randomness(round_) != b"\x00" * 32:
            return None
        ahead = self.beacon.roundTime(round_) - (self.head() + 1)
        if ahead > 0:
            self.travel(ahead)  # the round's time must be reached on chain
        # a relayer (here: the first oracle) fetches the round from the beacon and posts it; anyone may
        return self.beacon.submit(round_, DEV_BEACON_KEY.sign(round_), sender=self.oracles[0])

    def committee(self, task_id: int) -> list:
        return [self.by_address[a] for a in self.por.committeeOf(task_id, self.attempt(task_id))]

    def commit(self, task_id: int, oracle, passed: bool):
        salt = self.keccak(b"salt" + oracle.address.encode() + task_id.to_bytes(32, "big"))
        commitment = self.por.commitmentOf(task_id, self.attempt(task_id), oracle.address, passed, SCORE, salt)
        return self.por.commitVote(task_id, commitment, sender=oracle), salt

    def vote(self, task_id: int, passed: bool = True, draw_with_commit: bool = False) -> dict[str, object]:
        """beacon round (if not posted yet) -> drawCommittee -> commitVote x3 -> revealVote x3."""
        r: dict[str, object] = {}
        beacon = self.publish_round(task_id)
        if beacon is not None:
            r["beacon.submit"] = beacon
        if draw_with_commit:
            # nobody drew the committee: the first member to commit draws it (the daemon knows it is drawn from
            # the beacon round and Staking, so it can compute its seat before the draw is on chain)
            members = [self.by_address[a] for a in self._predicted_committee(task_id)]
        else:
            r["drawCommittee"] = self.por.drawCommittee(task_id, sender=self.oracles[0])  # anyone may
            members = self.committee(task_id)
        assert sorted(m.address for m in members) == sorted(o.address for o in self.oracles)
        salts = []
        for i, member in enumerate(members, 1):
            label = f"commitVote {i}/3" + (" (draws)" if draw_with_commit and i == 1 else "")
            r[label], salt = self.commit(task_id, member, passed)
            salts.append(salt)
        for i, (member, salt) in enumerate(zip(members, salts), 1):
            r[f"revealVote {i}/3"] = self.por.revealVote(task_id, passed, SCORE, salt, sender=member)
        assert self.escrow.tasks(task_id).state == 6  # VERIFIED
        return r

    def _predicted_committee(self, task_id: int) -> list[str]:
        from eth_abi import encode

        round_ = self.por.drawRound(task_id)
        randomness = self.beacon.randomness(round_)
        seed = self.keccak(encode(["bytes32", "uint256", "uint256"], [randomness, task_id, self.attempt(task_id)]))
        submitted = self.escrow.verdictSubject(task_id)[4]
        return list(self.staking.drawOracles(seed, self.por.committeeSize(), submitted))

    def run_task(self, task_id: int, worker, passed: bool = True,
                 draw_with_commit: bool = False) -> dict[str, object]:
        """assign -> accept -> submitResult -> revealKey -> the committee's verdict; returns the receipts by step."""
        r: dict[str, object] = {}
        # time passes between the steps as it does in production (and every deadline write is a real change)
        r["assign"] = self.escrow.assign(task_id, worker, sender=self.manager)
        self.travel(5)
        r["accept"] = self.escrow.accept(task_id, sender=worker)
        self.travel(600)  # rendering
        r["submitResult"] = self.escrow.submitResult(task_id, RESULT_CID, sender=worker)
        self.travel(5)
        # the manager reveals in production; anyone holding the seed may
        r["revealKey"] = self.escrow.revealKey(task_id, self.seeds[task_id], sender=self.manager)
        self.travel(60)  # verification (the beacon round, 1 s after the submission, is long due)
        r.update(self.vote(task_id, passed, draw_with_commit))
        return r

    # ------------------------------------------------------------------ scenario
    def run(self) -> Results:
        res = Results()
        self.setup()
        worker = self.workers[0]
        challenge = self.escrow.challengeWindow()

        # 1. warm-up: the first task ever / of the epoch for these nodes
        job0, approve0, create0 = self.create_job()
        res.warmup["approve"] = self.measure("approve", approve0)
        res.warmup["createJob"] = self.measure("createJob", create0)
        (t0,), post0 = self.post(job0, 1)
        res.warmup["postTasks"] = self.measure("postTasks", post0)
        for step, receipt in self.run_task(t0, worker).items():
            res.warmup[step] = self.measure(step, receipt)
        self.travel(challenge + 1)
        res.warmup["settle"] = self.measure("settle", self.escrow.settle([t0], sender=self.manager))

        # 2. single tasks, steady state
        job1, approve1, create1 = self.create_job()
        res.single["approve"] = self.measure("approve", approve1)
        res.single["createJob"] = self.measure("createJob", create1)
        _, permit = self.create_job_with_permit()
        res.single["createJobWithPermit"] = self.measure("createJobWithPermit", permit)
        (ta,), post_a = self.post(job1, 1)
        res.single["postTasks"] = self.measure("postTasks", post_a)
        for step, receipt in self.run_task(ta, worker).items():
            res.single[step] = self.measure(step, receipt)
        (tb,), _ = self.post(job1, 1)
        b = self.run_task(tb, worker, draw_with_commit=True)
        res.single["commitVote 1/3 (draws)"] = self.measure("commitVote (draws)", b["commitVote 1/3 (draws)"])
        self.travel(challenge + 1)
        res.single["settle"] = self.measure("settle", self.escrow.settle([ta], sender=self.manager))
        self.escrow.settle([tb], sender=self.manager)

        # 3. batched: 10 tasks in one postTasks, their results in one beacon period, 10 in one settle
        ids, post_b = self.post(job1, BATCH)
        res.batched["postTasks"] = [self.measure("postTasks", post_b)]
        batch: dict[str, list] = {}
        for task_id in ids:
            batch.setdefault("assign", []).append(self.escrow.assign(task_id, worker, sender=self.manager))
        self.travel(5)
        for task_id in ids:
            batch.setdefault("accept", []).append(self.escrow.accept(task_id, sender=worker))
        self.travel(600)
        self.provider.make_request("anvil_setBlockTimestampInterval", [0])  # 10 blocks within one second
        for task_id in ids:
            batch.setdefault("submitResult", []).append(self.escrow.submitResult(task_id, RESULT_CID, sender=worker))
        self.provider.make_request("anvil_setBlockTimestampInterval", [1])
        assert len({self.por.drawRound(t) for t in ids}) == 1, "the batch's results span two beacon rounds"
        self.travel(5)
        for task_id in ids:
            batch.setdefault("revealKey", []).append(
                self.escrow.revealKey(task_id, self.seeds[task_id], sender=self.manager))
        self.travel(60)
        for task_id in ids:
            for step, receipt in self.vote(task_id).items():
                batch.setdefault(step, []).append(receipt)
        assert len(batch["beacon.submit"]) == 1  # one round drew the 10 committees
        for step, receipts in batch.items():
            res.batched[step] = [self.measure(step, receipt) for receipt in receipts]
        self.travel(challenge + 1)
        res.batched["settle"] = [self.measure("settle", self.escrow.settle(ids, sender=self.manager))]

        # 4a. a failed verdict: settle slashes the worker's collateral and re-queues; the manager re-keys
        (tf,), _ = self.post(job1, 1)
        self.run_task(tf, self.workers[1], passed=False)
        self.travel(challenge + 1)
        res.other["settle, failed verdict (slash, re-queue)"] = self.measure(
            "settle (failed)", self.escrow.settle([tf], sender=self.manager))
        assert self.escrow.tasks(tf).state == 1  # POSTED, waiting for its next secret
        res.other["rekey (re-queued task's next attempt)"] = self.measure("rekey", self.rekey(tf))

        # 5. the epoch: close, then every node claims once
        epoch = self.issuance.currentEpoch()
        start = self.issuance.epochs(epoch).start
        self.travel(max(0, start + self.issuance.epochs(epoch).length - self.head()) + 1)
        self.aggregator.setAnswer(50_000_000, sender=self.admin)  # a fresh price: closing mints
        res.epoch["closeEpoch"] = self.measure("closeEpoch", self.issuance.closeEpoch(sender=self.manager))
        res.epoch["claim (worker)"] = self.measure("claim", self.issuance.claim(epoch, sender=worker))
        res.epoch["claim (oracle)"] = self.measure("claim", self.issuance.claim(epoch, sender=self.oracles[0]))
        res.epoch["claim (manager)"] = self.measure("claim", self.issuance.claim(epoch, sender=self.manager))
        res.epoch["claimTreasury"] = self.measure("claimTreasury", self.issuance.claimTreasury(sender=self.manager))
        res.epoch["escrow.withdraw (treasury fees)"] = self.measure(
            "withdraw", self.escrow.withdraw(sender=self.admin))  # the deployer is the local treasury

        # 4b. last (it slashes the manager below its minimum stake): a result whose key is never revealed (tm), a
        # task whose committed manifest is proven bogus (tb), an assignment left unaccepted (tn)
        (tm, tb, tn), _ = self.post(job1, 3)
        self.escrow.assign(tn, self.workers[0], sender=self.manager)
        for task_id in (tm, tb):
            self.escrow.assign(task_id, self.workers[2], sender=self.manager)
            self.escrow.accept(task_id, sender=self.workers[2])
            self.escrow.submitResult(task_id, RESULT_CID, sender=self.workers[2])
        self.escrow.revealKey(tb, self.seeds[tb], sender=self.manager)
        self.travel(self.escrow.revealWindow() + 1)
        expire = self.escrow.expire(tn, sender=self.workers[2])
        assert any(log.event_name == "NoShowRecorded" for log in expire.events)
        res.other["expire, assignment not accepted (the worker's no-show, re-opened)"] = self.measure("expire", expire)
        blob = self.unsealed(self.seeds[tb])
        proof = self.por.proveBadManifest(tb, self.seeds[tb], blob[:HEAD_BYTES], self.keccak(blob[HEAD_BYTES:]),
                                          sender=self.workers[2])
        assert any(log.event_name == "BadManifestProven" for log in proof.events)
        res.other["proveBadManifest (ManagerSlashed, worker paid, re-queue)"] = self.measure("proveBadManifest", proof)
        expire = self.escrow.expire(tm, sender=self.workers[2])
        assert any(log.event_name == "ManagerSlashed" for log in expire.events)
        res.other["expire, reveal window passed (manager late: ManagerSlashed; waits for the seed escrow)"] = \
            self.measure("expire", expire)
        self.travel(self.escrow.tasks(tm).deadline - self.head() + 1)  # nobody opened the escrow (a placeholder)
        expire = self.escrow.expire(tm, sender=self.workers[2])
        assert any(log.event_name == "TaskFailed" for log in expire.events)
        res.other["expire, seed escrow never opened (ManagerSlashed, worker paid, re-queue)"] = \
            self.measure("expire", expire)

        client = self.provider.make_request("web3_clientVersion", [])
        try:
            hardfork = self.provider.make_request("anvil_nodeInfo", []).get("hardFork", "?")
        except Exception:  # noqa: BLE001 - informational only
            hardfork = "?"
        from importlib.metadata import version

        res.env = {
            "node": f"{client} (hardfork {hardfork})",
            "compiler": f"vyper {version('vyper')} (optimize=gas; JobEscrow and BatchLane optimize=codesize, EIP-170; evm prague)",
            "stack": f"eth-ape {version('eth-ape')}, ape-foundry {version('ape-foundry')}, "
                     f"eth-account {version('eth-account')}, py_ecc {version('py_ecc')}, "
                     f"Python {platform.python_version()}",
            "machine": f"{platform.machine()} {platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        }
        return res


# ---------------------------------------------------------------------- report
VOTES = ["commitVote 1/3", "commitVote 2/3", "commitVote 3/3", "revealVote 1/3", "revealVote 2/3", "revealVote 3/3"]
LIFECYCLE = ["postTasks", "assign", "accept", "submitResult", "revealKey", "beacon.submit", "drawCommittee",
             *VOTES, "settle"]
PER_CALL = ("postTasks", "beacon.submit", "settle")  # one transaction for the whole batch
STEP_NAMES = {
    "beacon.submit": "`RandomnessBeacon.submit` (per beacon round: shared by every task it draws)",
    "drawCommittee": "`drawCommittee`",
    "commitVote 1/3": "`commitVote`, 1st member",
    "commitVote 2/3": "`commitVote`, 2nd member",
    "commitVote 3/3": "`commitVote`, 3rd member (opens the reveal)",
    "revealVote 1/3": "`revealVote`, 1st member",
    "revealVote 2/3": "`revealVote`, 2nd member",
    "revealVote 3/3": "`revealVote`, 3rd member (finalizes: credits, `onVerdict`)",
}


def _avg(txs: list[Tx]) -> int:
    return round(sum(t.gas for t in txs) / len(txs))


def batched_per_task(res: Results) -> dict[str, int]:
    out = {}
    for step, txs in res.batched.items():
        if step in PER_CALL:
            out[step] = round(txs[0].gas / BATCH)
        else:
            out[step] = _avg(txs)
    return out


def totals(res: Results) -> dict[str, int]:
    s, b, w = res.single, batched_per_task(res), res.warmup
    single = sum(s[k].gas for k in LIFECYCLE)
    batched = sum(b[k] for k in LIFECYCLE)
    # task B: no drawCommittee transaction, the first commitVote draws
    drawn_by_commit = s["commitVote 1/3 (draws)"].gas - s["drawCommittee"].gas - s["commitVote 1/3"].gas
    votes = sum(s[k].gas for k in ["drawCommittee", *VOTES])
    return {
        "single": single,
        "single_draw_by_commit": single + drawn_by_commit,
        "single_without_beacon": single - s["beacon.submit"].gas,
        "batched": batched,
        "batched_draw_by_commit": batched + drawn_by_commit,
        "batched_without_beacon": batched - b["beacon.submit"],
        "first_of_epoch": sum(w[k].gas for k in LIFECYCLE),
        "beacon_round": s["beacon.submit"].gas,
        "committee_single": votes,
        "committee_batched": sum(b[k] for k in ["drawCommittee", *VOTES]),
        "vote_txs_single": sum(s[k].gas for k in VOTES),
        "intrinsic_single": sum(s[k].intrinsic for k in LIFECYCLE),
        "sstore_gas_single": sum(s[k].sstore_gas for k in LIFECYCLE),
        "sstores_new_single": sum(s[k].sstores_new for k in LIFECYCLE),
        "sload_gas_single": sum(s[k].sload_gas for k in LIFECYCLE),
        "log_gas_single": sum(s[k].log_gas for k in LIFECYCLE),
        "create_job": s["createJob"].gas,
        "create_job_and_approve": s["createJob"].gas + s["approve"].gas,
    }


def markdown(res: Results) -> str:
    s, b = res.single, batched_per_task(res)
    t = totals(res)
    lines = [
        "| step (committee of 3, quorum 2; 10-frame task of 10 IBM) | gas, 1 task per call | 21k + calldata "
        "| SSTORE: n (new) / gas | SLOAD: n (cold) / gas | LOG gas | ext. calls "
        "| batched: gas per task (10 per call) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cells(tx: Tx) -> str:
        return (f"{tx.gas:,} | {tx.intrinsic:,} | {tx.sstores} ({tx.sstores_new}) / {tx.sstore_gas:,} | "
                f"{tx.sloads} ({tx.sloads_cold}) / {tx.sload_gas:,} | {tx.log_gas:,} | {tx.calls}")

    def row(name: str, tx: Tx, batched: str = "") -> None:
        lines.append(f"| {name} | {cells(tx)} | {batched} |")

    row("`approve` (creator, per job; or use the permit)", s["approve"])
    row("`createJob` (per job)", s["createJob"])
    row("`createJobWithPermit` (per job, no approve)", s["createJobWithPermit"])
    for step in LIFECYCLE:
        note = ""
        if step == "beacon.submit":
            note = " (1 round for the 10 tasks ÷ 10)"
        elif step in PER_CALL:
            note = " (10 in one call ÷ 10)"
        row(STEP_NAMES.get(step, f"`{step}`"), s[step], f"{b[step]:,}{note}")
        if step == "drawCommittee":
            row("`commitVote`, 1st member, drawing the committee (no `drawCommittee`)", s["commitVote 1/3 (draws)"])
    life = [s[k] for k in LIFECYCLE]
    over = t["single"] - TARGET
    lines += [
        f"| **task lifecycle** (post → settle, {len(LIFECYCLE)} transactions) | **{t['single']:,}** "
        f"| {t['intrinsic_single']:,} "
        f"| {sum(x.sstores for x in life)} ({t['sstores_new_single']}) / {t['sstore_gas_single']:,} "
        f"| {sum(x.sloads for x in life)} ({sum(x.sloads_cold for x in life)}) / "
        f"{t['sload_gas_single']:,} | {t['log_gas_single']:,} | {sum(x.calls for x in life)} "
        f"| **{t['batched']:,}** |",
        f"| task lifecycle, committee drawn by the first `commitVote` | {t['single_draw_by_commit']:,} | | | | | | "
        f"{t['batched_draw_by_commit']:,} |",
        f"| task lifecycle without the beacon round (a round shared by many tasks) | "
        f"{t['single_without_beacon']:,} | | | | | | {t['batched_without_beacon']:,} |",
        f"| **per frame** (10 frames) | **{t['single'] // FRAMES:,}** | | | | | | "
        f"**{t['batched'] // FRAMES:,}** |",
        f"| lifecycle + `createJob` amortised over 10 tasks | {t['single'] + s['createJob'].gas // 10:,} "
        f"| | | | | | {t['batched'] + s['createJob'].gas // 10:,} |",
        f"| target ≤ {TARGET:,}: difference | {over:+,} ({t['single'] / TARGET:.2f}×) | | | | | | "
        f"{t['batched'] - TARGET:+,} ({t['batched'] / TARGET:.2f}×) |",
        "",
        f"First task of an epoch for its worker, oracles and manager (and first job/task ever): "
        f"{t['first_of_epoch']:,} gas for the same lifecycle "
        f"({t['first_of_epoch'] - t['single']:+,} against the steady state).",
        "",
        "| other paths, measured once | gas | 21k + calldata | SSTORE: n (new) / gas "
        "| SLOAD: n (cold) / gas | LOG gas | ext. calls |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, tx in res.other.items():
        lines.append(f"| {name} | {cells(tx)} |")
    lines += [
        "",
        "| per epoch (independent of the number of tasks) | gas | 21k + calldata | SSTORE: n (new) / gas "
        "| SLOAD: n (cold) / gas | LOG gas | ext. calls |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, tx in res.epoch.items():
        lines.append(f"| `{name}` | {cells(tx)} |")
    lines += ["", *(f"- {k}: {v}" for k, v in res.env.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument("--no-trace", action="store_true", help="skip debug_traceTransaction (the SSTORE/SLOAD/LOG columns)")
    parser.add_argument("--lane-only", action="store_true", help="measure the batch lane only")
    args = parser.parse_args(argv)

    _environment()
    started = time.monotonic()
    import ape

    from benchmarks.lane_gas import LaneBench, markdown as lane_markdown, no_steps_tracing

    res, single = Results(), None
    if not args.lane_only:
        with ape.networks.parse_network_choice("ethereum:local:foundry") as provider:
            res = Bench(ape, provider, trace=not args.no_trace).run()
        print(markdown(res))
        single = totals(res)["single"]
    # the batch lane on a second anvil without step tracing (it records memory at every opcode: a settle of 256
    # tasks alone would take gigabytes), same deployment and actors
    with no_steps_tracing(), ape.networks.parse_network_choice("ethereum:local:foundry") as provider:
        bench = Bench(ape, provider, trace=False)
        bench.setup()
        lane_runs = LaneBench(bench, bench.arbiter).run()
    res.lane = {name: {"tasks": run.tasks, "txs": run.txs} for name, run in lane_runs.items()}
    print("\n## The batch lane\n")
    print(lane_markdown(lane_runs, single))
    print(f"\n(measured in {time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"results": asdict(res)}
        if single is not None:
            payload.update(totals=totals(res), batched_per_task=batched_per_task(res))
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
