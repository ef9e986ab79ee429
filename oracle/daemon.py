"""The oracle (verifier) daemon.

It follows the escrow's events from a cursor kept in SQLite. When a task's key is revealed, the task's committee is
drawn (by whoever comes first) from the beacon round after the result was submitted: the daemon posts that round's
BLS signature to the beacon contract if nobody has (it fetches it from the beacon's HTTP API, drand's shape), then
draws. If the manager lets the reveal window pass, the daemon opens the task's seed escrow (the seed time-locked to
a beacon round, posted with the task) once that round is published and reveals the seed itself: anyone may, and
nobody is paid for it. If this oracle is a member, it fetches the frames, verifies them with ANGV, commits to its
vote (a salted hash), reveals it once every member has committed or the commit phase is over, and afterwards
challenges a final verdict it disagrees with (honest dissent escalates to the arbiter). Each (task, attempt) moves
through ``awaiting_key → to_verify → verified → committed → revealed → done`` (or ``closed`` when it is not a
member or the task moved on), and each state is written before the next step, so a restart never commits or reveals
twice.

The sealed manifest must be the one the manager committed to when posting (``manifestDigest``); a re-queued
task's attempt has its own package, key and manifest (``TaskRekeyed``). A committed manifest that does not open
with the seed is proven bogus on chain (``proveBadManifest``: the manager pays) instead of being voted on. A result
nobody serves is retried until ``unserved_margin`` seconds before the commit phase ends, then voted FAIL. IB is not the oracles' business: the
escrow measures it when a benchmark task settles.

Batches (the lane) are served next to the single path, by the same loop: :mod:`oracle.batches` (``BatchDuties``)
follows ``BatchLane.SeedRevealed``, draws the batch committee, verifies every task of a batch it sits on with the
same ``open_manifest`` and ``judge``, commits, reveals, finalizes and challenges a verdict it voted against.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from eth_abi import encode
from eth_utils import keccak

from inferix.beacon import fetch_round
from inferix.timelock import TimelockError, decrypt
from inferix.chain import ChainError, TransactionReverted
from inferix.service import PollingNode, Waiting
from inferix.protocol import ROLE_ORACLE, TaskState, challenge_verdict, ensure_staked, get_beacon, get_task
from oracle.angv.task import (BadManifest, ResultUnavailable, TaskVerdict, VerificationUnavailable, open_manifest,
                              verify_result)
from oracle.batches import BatchDuties

log = logging.getLogger("inferix.oracle")

# the contract's answers that mean "nothing left for us to do": not errors
DONE_REASONS = ("por: task not awaiting a verdict", "por: oracle already voted", "por: already committed",
                "por: commit phase over", "por: reveal phase over")


BEACON_SUBMIT_GAS = 400_000


@dataclass
class OracleConfig:
    stake: int
    work_dir: Path
    poll_interval: float = 1.0
    beacon_url: str | None = None  # the beacon's HTTP API (drand's shape), to post a round nobody has posted
    challenge: bool = True  # challenge a final verdict this oracle voted against
    # a result still unreachable this many seconds before the commit phase ends is voted FAIL: a result nobody
    # serves is no result (a transient outage before then is retried)
    unserved_margin: int = 300
    # the batch lane: challenge the dissent on at most this many tasks of one batch (each costs a bond; one
    # overturned task already slashes every member who voted the other way) — oracle.batches, "Decisions"
    batch_challenges: int = 1


def commitment(task_id: int, attempt: int, oracle: str, passed: bool, score: int, salt: bytes) -> bytes:
    """What ``ProofOfRender.commitVote`` takes: keccak256(abi.encode(taskId, attempt, oracle, passed, score, salt))."""
    return keccak(encode(["uint256", "uint256", "address", "bool", "uint16", "bytes32"],
                         [task_id, attempt, oracle, passed, score, salt]))


def committee_key(task_id: int, attempt: int) -> bytes:
    return keccak(encode(["uint256", "uint256"], [task_id, attempt]))


class OracleDaemon(BatchDuties, PollingNode):
    log = log

    def step(self) -> None:
        """The single path's events and tasks, then the batch lane's (one failing never skips the other)."""
        try:
            super().step()
        finally:
            if not self.stop.is_set():
                self.batch_step()

    def ensure_ready(self) -> None:
        node = ensure_staked(self.chain, ROLE_ORACLE, self.config.stake)
        log.info("oracle %s ready: stake %.2f IFX", self.me, node.stake / 1e18)

    # ------------------------------------------------------------ events
    def poll_events(self) -> None:
        start = self.db.cursor("escrow", self.chain.deployments.block_number)
        head = self.chain.block_number()
        if start > head:
            return
        names = ["TaskPosted", "TaskRekeyed", "ResultSubmitted", "KeyRevealed"]
        for ev in self.chain.events("JobEscrow", names, start, head):
            a = ev.args
            if ev.name in ("TaskPosted", "TaskRekeyed"):
                escrow = {"escrowRound": a["escrowRound"], "seedEscrow": bytes(a["seedEscrow"]).hex()}
            if ev.name == "TaskPosted":
                self.db.put(f"posted:{a['taskId']}", {"jobId": a["jobId"], "sceneCid": a["sceneCid"], **escrow})
            elif ev.name == "TaskRekeyed":  # the attempt's own noised package and seed escrow
                posted = self.db.get(f"posted:{a['taskId']}") or {}
                self.db.put(f"posted:{a['taskId']}", {**posted, "sceneCid": a["sceneCid"], **escrow})
            elif ev.name == "ResultSubmitted":
                self.db.put(f"result:{a['taskId']}", {"cid": a["resultCid"], "worker": a["worker"]})
                attempt = get_task(self.chain, a["taskId"]).attempts
                if self.db.task(a["taskId"], attempt) is None:  # watch for a seed the manager withholds
                    self.db.set_task(a["taskId"], attempt, "awaiting_key")
            elif ev.name == "KeyRevealed":
                attempt = get_task(self.chain, a["taskId"]).attempts
                known = self.db.task(a["taskId"], attempt)
                if known is None or known[0] == "awaiting_key":
                    self.db.set_task(a["taskId"], attempt, "to_verify", seed=a["seed"].hex())
        self.db.set_cursor("escrow", head + 1)

    # ------------------------------------------------------------ the committee
    def _committee(self, task_id: int, attempt: int) -> dict:
        names = ("round", "quorum", "commit_ends", "reveal_ends", "members", "committed", "revealed", "finalized")
        return dict(zip(names, self.chain.call("ProofOfRender", "committees", committee_key(task_id, attempt))))

    def _post_round(self, task_id: int) -> None:
        """Publish the task committee draw's beacon round on chain if nobody has."""
        self._post_beacon_round(self.chain.call("ProofOfRender", "drawRound", task_id))

    def _post_beacon_round(self, round_: int) -> None:
        """Publish a beacon round on chain if nobody has (anyone may; the contract verifies it): what a committee
        draw needs, a task's (``_post_round``) or a batch's (``oracle.batches``)."""
        if self.chain.call("RandomnessBeacon", "randomness", round_) != b"\x00" * 32:
            return
        signature = self._fetch_round(round_)
        try:
            # a fixed gas limit (a round costs ~169k): estimating against the latest block would refuse a round
            # that is due by the time the transaction is mined, on a chain that mines no block meanwhile
            self.chain.transact("RandomnessBeacon", "submit", round_, signature, gas=BEACON_SUBMIT_GAS)
            log.info("beacon round %s posted", round_)
        except TransactionReverted as exc:
            if self.chain.call("RandomnessBeacon", "randomness", round_) != b"\x00" * 32:
                return  # posted by someone else meanwhile
            raise Waiting(f"beacon round {round_} not accepted yet: {exc.reason}") from None

    def _fetch_round(self, round_: int) -> bytes:
        """A beacon round's signature from the beacon's HTTP API (``Waiting`` until it is published or reachable)."""
        if not self.config.beacon_url:
            raise Waiting(f"beacon round {round_} needed and no beacon URL to fetch it from")
        try:
            return fetch_round(self.config.beacon_url, round_)
        except LookupError:
            raise Waiting(f"beacon round {round_} not published yet") from None
        except OSError as exc:
            raise Waiting(f"beacon unreachable: {exc}") from None

    def _members(self, task_id: int, attempt: int) -> list[str]:
        members = self.chain.call("ProofOfRender", "committeeOf", task_id, attempt)
        if members:
            return list(members)
        self._post_round(task_id)
        try:
            self.chain.transact("ProofOfRender", "drawCommittee", task_id)
        except TransactionReverted as exc:
            if exc.reason != "por: committee already drawn":
                raise
        return list(self.chain.call("ProofOfRender", "committeeOf", task_id, attempt))

    # ------------------------------------------------------------ the seed escrow
    def _open_escrow(self, task_id: int, attempt: int, data: dict) -> None:
        """The manager let the reveal window pass: open the seed escrow with its beacon round's signature and
        reveal the seed (the escrow checks it against the commitment). An escrow that does not open (a bogus
        ciphertext) is left to ``expire``, which slashes the manager again and pays the worker."""
        task = get_task(self.chain, task_id)
        if task.attempts != attempt or task.state not in (TaskState.SUBMITTED, TaskState.REVEALED):
            self.db.set_task(task_id, attempt, "closed", reason=f"task is {task.state.name}")
            return
        if task.state == TaskState.REVEALED:
            raise Waiting("revealed: waiting for the KeyRevealed event")
        now = self._now()
        if now <= task.deadline and not task.late:
            raise Waiting("the manager's reveal window is open")
        beacon = get_beacon(self.chain)
        if now < beacon.round_time(task.escrow_round):
            raise Waiting(f"the seed escrow opens with beacon round {task.escrow_round}")
        posted = self.db.get(f"posted:{task_id}") or {}
        if posted.get("escrowRound") != task.escrow_round or not posted.get("seedEscrow"):
            raise VerificationUnavailable("the task's seed escrow event not seen yet")
        try:
            seed = decrypt(self._fetch_round(task.escrow_round), bytes.fromhex(posted["seedEscrow"]))
        except TimelockError as exc:
            log.error("task %s: the manager's seed escrow does not open: %s", task_id, exc)
            self.db.set_task(task_id, attempt, "bogus_escrow", reason=str(exc))
            return
        try:
            self.chain.transact("JobEscrow", "revealKey", task_id, seed)
        except TransactionReverted as exc:
            if exc.reason == "escrow: task not submitted":
                raise Waiting("revealed by someone else meanwhile") from None
            if exc.reason == "escrow: seed does not match commitment":
                log.error("task %s: the seed escrow opens to a seed that does not match the commitment", task_id)
                self.db.set_task(task_id, attempt, "bogus_escrow", reason=exc.reason)
                return
            raise
        log.warning("task %s: the manager withheld the seed; revealed it from the seed escrow (round %s)", task_id,
                    task.escrow_round)
        self.db.set_task(task_id, attempt, "to_verify", seed=seed.hex())

    def _expire_bogus(self, task_id: int, attempt: int, data: dict) -> None:
        """A seed escrow that cannot open: once the escrow's grace has passed, ``expire`` slashes the manager again
        and pays the worker its fee from the slash."""
        task = get_task(self.chain, task_id)
        if task.attempts != attempt or task.state != TaskState.SUBMITTED:
            self.db.set_task(task_id, attempt, "closed", reason=f"task is {task.state.name}")
            return
        if self._now() <= task.deadline:
            raise Waiting("the escrow's grace is still running")
        self.chain.transact("JobEscrow", "expire", task_id)
        log.warning("task %s: expired (bogus seed escrow: the manager slashed again, the worker paid)", task_id)
        self.db.set_task(task_id, attempt, "closed", reason="bogus seed escrow")

    # ------------------------------------------------------------ steps
    def _verify(self, task_id: int, attempt: int, data: dict) -> None:
        task = get_task(self.chain, task_id)
        if task.state != TaskState.REVEALED or task.attempts != attempt:
            self.db.set_task(task_id, attempt, "closed", reason=f"task is {task.state.name}")
            return
        members = self._members(task_id, attempt)
        if self.me not in members:
            self.db.set_task(task_id, attempt, "closed", reason="not drawn for this committee")
            log.info("task %s attempt %s: not drawn (committee %s)", task_id, attempt, ", ".join(members))
            return
        posted = self.db.get(f"posted:{task_id}")
        result = self.db.get(f"result:{task_id}")
        if not posted or not result:
            raise VerificationUnavailable("task events not seen yet")
        if keccak(text=result["cid"]) != task.result_hash:
            raise VerificationUnavailable("the result CID seen does not match the chain's")
        seed = bytes.fromhex(data["seed"])
        try:
            manifest = open_manifest(self.store, posted["sceneCid"], seed, task.key_commit, task.manifest_digest)
        except BadManifest as exc:
            self._prove_bad_manifest(task_id, attempt, seed, exc)
            return
        try:
            verdict = self.judge(result["cid"], manifest)
        except ResultUnavailable as exc:
            committee = self._committee(task_id, attempt)
            if self._now() < committee["commit_ends"] - self.config.unserved_margin:
                raise
            verdict = TaskVerdict(False, 0, f"result not served: {exc}")
        log.info("task %s attempt %s: %s, score %s (%s)", task_id, attempt, "PASS" if verdict.passed else "FAIL",
                 verdict.score, verdict.reason)
        self.db.set_task(task_id, attempt, "verified", passed=verdict.passed, score=verdict.score,
                         reason=verdict.reason, frames=verdict.frames, salt=os.urandom(32).hex(),
                         resultCid=result["cid"])

    def _prove_bad_manifest(self, task_id: int, attempt: int, seed: bytes, exc: BadManifest) -> None:
        """The manager's committed manifest does not open with the seed: prove it on chain (the manager is slashed,
        the worker gets its fee from the slash, the task is re-queued) instead of voting."""
        log.warning("task %s attempt %s: %s; proving it on chain", task_id, attempt, exc)
        try:
            self.chain.transact("ProofOfRender", "proveBadManifest", task_id, seed, *exc.proof)
        except TransactionReverted as exc2:
            if get_task(self.chain, task_id).attempts == attempt:
                raise
            log.info("task %s: already proven (%s)", task_id, exc2.reason)
        self.db.set_task(task_id, attempt, "closed", reason=f"bad manifest proven: {exc}")

    def judge(self, result_cid: str, manifest):
        """ANGV's verdict on the frames (a separate method so that test tooling can model a dishonest oracle)."""
        return verify_result(self.store, result_cid, manifest)

    def _commit(self, task_id: int, attempt: int, data: dict) -> None:
        digest = commitment(task_id, attempt, self.me, data["passed"], data["score"], bytes.fromhex(data["salt"]))
        if not self._send(task_id, attempt, "commitVote", task_id, digest):
            return
        log.info("task %s: vote committed", task_id)
        self.db.set_task(task_id, attempt, "committed", **data)

    def _reveal(self, task_id: int, attempt: int, data: dict) -> None:
        committee = self._committee(task_id, attempt)
        if committee["committed"] < committee["members"] and self._now() <= committee["commit_ends"]:
            raise Waiting("the other members have not all committed")
        if not self._send(task_id, attempt, "revealVote", task_id, data["passed"], data["score"],
                          bytes.fromhex(data["salt"])):
            return
        log.info("task %s: vote revealed (%s)", task_id, "PASS" if data["passed"] else "FAIL")
        self.db.set_task(task_id, attempt, "revealed", **data)

    def _follow(self, task_id: int, attempt: int, data: dict) -> None:
        """After our reveal: finalize a committee whose reveal phase is over, and challenge a final verdict we
        voted against (honest dissent escalates)."""
        task = get_task(self.chain, task_id)
        if task.attempts != attempt:
            self.db.set_task(task_id, attempt, "done", **data)
            return
        if task.state == TaskState.REVEALED:
            committee = self._committee(task_id, attempt)
            if committee["finalized"] or self._now() <= committee["reveal_ends"]:
                raise Waiting("the committee has not decided yet")
            self._send(task_id, attempt, "finalize", task_id)
            return
        if task.state == TaskState.VERIFIED and task.passed != data["passed"] and self.config.challenge \
                and self._now() <= task.deadline:
            self._challenge(task_id, task)
        self.db.set_task(task_id, attempt, "done", **data)

    def _challenge(self, task_id: int, task) -> None:
        bond, receipt = challenge_verdict(self.chain, task_id)
        if receipt is None:
            log.warning("task %s: the verdict contradicts our vote, but the %.2f IFX bond exceeds our balance",
                        task_id, bond / 1e18)
            return
        log.warning("task %s: challenged the committee's %s verdict (we voted %s)", task_id,
                    "PASS" if task.passed else "FAIL", "FAIL" if task.passed else "PASS")

    def _send(self, task_id: int, attempt: int, function: str, *args) -> bool:
        try:
            self.chain.transact("ProofOfRender", function, *args)
        except TransactionReverted as exc:
            if exc.reason in DONE_REASONS:
                log.info("task %s: %s", task_id, exc.reason)
                self.db.set_task(task_id, attempt, "closed", reason=exc.reason)
                return False
            raise
        return True

    def task_steps(self) -> dict:
        return {"awaiting_key": self._open_escrow, "bogus_escrow": self._expire_bogus, "to_verify": self._verify,
                "verified": self._commit, "committed": self._reveal, "revealed": self._follow}

    def task_failed(self, task_id: int, attempt: int, status: str, data: dict, exc: Exception) -> bool:
        if isinstance(exc, Waiting):
            log.debug("task %s: %s", task_id, exc)
        elif isinstance(exc, VerificationUnavailable):
            log.warning("task %s: cannot verify yet: %s", task_id, exc)
        elif isinstance(exc, TransactionReverted):
            log.error("task %s: %s", task_id, exc)
            self.db.set_task(task_id, attempt, "rejected", reason=exc.reason)
        elif isinstance(exc, ChainError):
            log.warning("task %s: chain error, will retry: %s", task_id, exc)
        else:
            return False
        return True
