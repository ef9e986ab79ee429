"""The oracle's duties on the batch lane (docs/protocol.md, "Batches: the scale path" and "Batches in the services").

:class:`BatchDuties` is mixed into :class:`oracle.daemon.OracleDaemon`, next to its single-task path. It follows
``BatchLane.SeedRevealed`` from a cursor in NodeDB (``lane``) and moves each batch whose seed is out through

``drawing → verifying → verified → committed → revealed → done``

(``closed`` when this oracle is not a member, or the batch moved on without it). Each status is written before the
transaction of the next step is sent, and every step reads the chain before it sends (is the committee drawn? is our
commitment on chain? is our seat revealed? is the task disputed?), so a restart — a fresh daemon on the same
NodeDB — never sends a transaction twice.

* **drawing**: the committee is drawn from the beacon round after the reveal (``roundAt(revealedAt) + 1``): the
  daemon posts that round if nobody has (the single path's ``_post_beacon_round``) and calls ``draw`` if nobody has
  ("committee: already drawn" is someone else's draw). Not a member: ``closed``.
* **verifying**: every task is checked from what the chain holds: its leaf (``postBatch``'s calldata), its worker
  group's result CIDs (``submitResults``' calldata), its seed ``taskSeed(seed, batchId, i)``; the sealed manifest
  (the leaf's package) must be the committed one and open with that seed (``open_manifest``), then ``judge`` gives
  ANGV's verdict. A group that delivered nothing fails all its tasks. A manifest whose seal is bogus is proven on
  chain (``BatchLane.proveBadManifest``: the manager pays, the task closes) and voted FAIL. A result nobody serves
  is retried until ``unserved_margin`` seconds before the commit phase ends, then voted FAIL. Each task's verdict is
  stored as soon as it is known, so a restart resumes with the tasks left.
* **verified**: the bitmap (``pass_bits``) and a fresh salt are stored; **committed**: our commitment, signed
  (EIP-712) and relayed by us with ``commitVotes`` (one entry: our seat); **revealed**: ``revealVotes`` once every
  member committed or the commit phase ended.
* **done**: after the vote phase the daemon calls ``finalize`` if nobody did, then challenges the committee's
  verdict on tasks where it contradicts our vote (below).

**Decisions.** *Challenges*: each challenge costs a bond (``max(challengeBond, challengeBondBps × fee)``), and one
overturned task is enough to slash every member who voted the other way (``oracleSlashBps`` of its stake per task
resolved against it). The daemon therefore challenges the dissent on at most ``batch_challenges`` tasks per batch
(default 1: the first task, in index order, whose decided verdict contradicts our vote and that is neither closed
nor already disputed), and logs the others; an operator who wants every dissent escalated raises the limit.
Nothing is challenged with ``challenge`` off or a balance short of the bond. *Unverifiable tasks*: the lane has no
per-task abstention (a member's bitmap says pass or fail for every task), so a task whose verdict cannot be
established by the end of the commit phase for a reason that is not the worker's (its package or manifest
unreachable, a sealed manifest that opens to garbage) is voted FAIL, with the reason logged, rather than leaving
the whole batch unvoted (a no-show); the worker challenges a FAIL it can refute.
"""

from __future__ import annotations

import logging
import os
import time

from eth_utils import keccak

from inferix import batches as B
from inferix import lane
from inferix.chain import ChainError, TransactionReverted
from inferix.protocol import read_struct
from inferix.service import Waiting
from oracle.angv.task import BadManifest, ResultUnavailable, VerificationUnavailable, open_manifest

log = logging.getLogger("inferix.oracle.batches")

ZERO32 = b"\x00" * 32

# statuses of a batch in NodeDB (``db.batches``): those with a step, and the final ones
LIVE = ("drawing", "verifying", "verified", "committed", "revealed")
FINAL = ("done", "closed")

# reverts that mean "done already" or "too late": the step closes quietly
DRAW_TOO_LATE = "committee: batch not awaiting a verdict"
CHALLENGE_DONE = ("lane: challenge window closed", "lane: task challenged or closed", "lane: task has no verdict")
PROOF_DONE = ("lane: task closed or disputed",)

RETRY_MIN_S, RETRY_MAX_S = 5.0, 300.0


def fmt(batch_id: bytes) -> str:
    return "0x" + batch_id.hex()[:12]


class BatchDuties:
    """The batch lane's committee duties, for a :class:`~inferix.service.PollingNode` that also has the single path's
    ``judge`` and ``_post_beacon_round`` (:class:`oracle.daemon.OracleDaemon`). Its ``config`` has ``challenge``,
    ``batch_challenges`` and ``unserved_margin``."""

    # ------------------------------------------------------------ the loop
    def lane_deployed(self) -> bool:
        contracts = self.chain.deployments.contracts
        return "BatchLane" in contracts and "BatchCommittee" in contracts

    def batch_step(self) -> None:
        """One pass: new reveals, then one step for each live batch."""
        if not self.lane_deployed():
            return
        self.poll_batch_events()
        self.advance_batches()

    def poll_batch_events(self) -> None:
        start = self.db.cursor("lane", self.chain.deployments.block_number)
        head = self.chain.block_number()
        if start > head:
            return
        for ev in self.chain.events("BatchLane", ["SeedRevealed"], start, head):
            batch_id = bytes(ev.args["batchId"])
            if self.db.batch(batch_id) is None:
                self.db.set_batch(batch_id, "drawing", seed=bytes(ev.args["seed"]).hex(), block=ev.block,
                                  late=bool(ev.args["late"]))
                log.info("batch %s: seed revealed", fmt(batch_id))
        self.db.set_cursor("lane", head + 1)

    def batch_steps(self) -> dict:
        return {"drawing": self._batch_draw, "verifying": self._batch_verify, "verified": self._batch_commit,
                "committed": self._batch_reveal, "revealed": self._batch_follow}

    def _retries(self) -> dict:
        # in memory (a restart retries at once): batch id -> (monotonic time of the next try, failures so far)
        return self.__dict__.setdefault("_batch_retries", {})

    def advance_batches(self) -> None:
        steps, retries = self.batch_steps(), self._retries()
        for batch_id, status, data in self.db.batches(*steps):
            if self.stop.is_set():
                return
            if retries.get(batch_id, (0.0, 0))[0] > time.monotonic():
                continue
            try:
                steps[status](batch_id, data)
            except Exception as exc:  # noqa: BLE001 - a batch's failure never stops the others, nor the loop
                self.batch_failed(batch_id, status, exc)
            else:
                retries.pop(batch_id, None)

    def batch_failed(self, batch_id: bytes, status: str, exc: Exception) -> None:
        """Log a step's failure; it is retried (a refused transaction or an unexpected error after a growing
        pause: retrying it at once would refuse it again)."""
        name = fmt(batch_id)
        if isinstance(exc, Waiting):
            log.debug("batch %s (%s): %s", name, status, exc)
            return
        if isinstance(exc, VerificationUnavailable):
            log.warning("batch %s: cannot verify yet: %s", name, exc)
            return
        if isinstance(exc, TransactionReverted):
            log.error("batch %s (%s): %s; will retry", name, status, exc)
        elif isinstance(exc, ChainError):
            log.warning("batch %s (%s): chain error, will retry: %s", name, status, exc)
            return
        else:
            log.error("batch %s (%s): step failed, will retry", name, status, exc_info=exc)
        retries = self._retries()
        failures = retries.get(batch_id, (0.0, 0))[1] + 1
        retries[batch_id] = (time.monotonic() + min(RETRY_MAX_S, RETRY_MIN_S * 2 ** (failures - 1)), failures)

    # ------------------------------------------------------------ chain reads
    def _batch_record(self, batch_id: bytes) -> dict:
        return lane.get_batch(self.chain, batch_id)

    def _votes(self, batch_id: bytes) -> dict:
        """The committee's record: quorum, commit_ends, vote_ends, committed, revealed, pass_bits, decided_bits,
        finalized_at."""
        return read_struct(self.chain, "BatchCommittee", "committees", batch_id)

    def _close(self, batch_id: bytes, reason: str, **data) -> None:
        log.info("batch %s: closed: %s", fmt(batch_id), reason)
        self.db.set_batch(batch_id, "closed", reason=reason, **data)

    # ------------------------------------------------------------ drawing
    def _batch_draw(self, batch_id: bytes, data: dict) -> None:
        record = self._batch_record(batch_id)
        members = lane.committee(self.chain, batch_id)
        if not members:
            if record["stage"] != lane.REVEALED:
                self._close(batch_id, f"batch at stage {record['stage']} before its committee was drawn")
                return
            round_ = self.chain.call("RandomnessBeacon", "roundAt", record["revealed_at"]) + 1
            self._post_beacon_round(round_)
            try:
                self.chain.transact("BatchCommittee", "draw", batch_id)
                log.info("batch %s: committee drawn (beacon round %s)", fmt(batch_id), round_)
            except TransactionReverted as exc:
                if exc.reason == DRAW_TOO_LATE:
                    self._close(batch_id, exc.reason)
                    return
                if exc.reason == "committee: not enough eligible oracles":
                    # only stake in place before the post counts: this never changes (the batch closes undecided)
                    self._close(batch_id, exc.reason)
                    return
                if exc.reason == "committee: beacon round not available yet":
                    raise Waiting(exc.reason) from None
                if exc.reason != "committee: already drawn":
                    raise
            members = lane.committee(self.chain, batch_id)
        seats = [seat for seat, member in enumerate(members) if member.lower() == self.me.lower()]
        if not seats:
            self._close(batch_id, "not drawn for this committee", members=members)
            return
        log.info("batch %s: drawn, seat %s of %s", fmt(batch_id), seats[0], len(members))
        self.db.set_batch(batch_id, "verifying", seat=seats[0], members=members, tasks=data.get("tasks", {}))

    # ------------------------------------------------------------ verifying
    def _batch_verify(self, batch_id: bytes, data: dict) -> None:
        record = self._batch_record(batch_id)
        votes = self._votes(batch_id)
        now = self._now()
        if record["stage"] != lane.REVEALED or votes["finalized_at"] or now > votes["commit_ends"]:
            self._close(batch_id, "the commit phase ended before our verdict")
            return
        seed = bytes.fromhex(data["seed"])
        start = self.chain.deployments.block_number
        leaves = lane.batch_leaves(self.chain, batch_id, start)
        results = lane.batch_results(self.chain, batch_id, start)
        spans = B.groups(leaves)
        verdicts = dict(data.get("tasks") or {})
        # past this moment, what is still unverifiable is voted FAIL (a result nobody serves is no result)
        last_call = now >= votes["commit_ends"] - self.config.unserved_margin
        pending: list[str] = []
        for g, span in enumerate(spans):
            for i in range(span.first, span.end):
                if str(i) in verdicts:
                    continue
                if self.stop.is_set():
                    return
                cids = results.get(g)
                try:
                    if cids is None:
                        verdict = {"passed": False, "score": 0, "reason": "the worker delivered nothing"}
                    else:
                        verdict = self._verify_task(batch_id, record, i, leaves, seed, cids[i - span.first])
                except VerificationUnavailable as exc:
                    if not last_call:
                        pending.append(f"task {i}: {exc}")
                        continue
                    what = "result not served" if isinstance(exc, ResultUnavailable) else "unverifiable"
                    log.warning("batch %s task %s: %s by the end of the commit phase (%s): voting FAIL",
                                fmt(batch_id), i, what, exc)
                    verdict = {"passed": False, "score": 0, "reason": f"{what}: {exc}"}
                log.info("batch %s task %s: %s, score %s (%s)", fmt(batch_id), i,
                         "PASS" if verdict["passed"] else "FAIL", verdict["score"], verdict["reason"])
                verdicts[str(i)] = verdict
                self.db.set_batch(batch_id, "verifying", tasks=verdicts)
        if pending:
            raise VerificationUnavailable(f"{len(pending)} task(s) to retry: " + "; ".join(pending[:3]))
        bits = B.pass_bits([bool(verdicts[str(i)]["passed"]) for i in range(len(leaves))])
        self.db.set_batch(batch_id, "verified", bits=bits, salt=os.urandom(32).hex(), count=len(leaves))
        log.info("batch %s: verified, %s of %s tasks pass", fmt(batch_id), bin(bits).count("1"), len(leaves))

    def _verify_task(self, batch_id: bytes, record: dict, index: int, leaves: list[B.Leaf], seed: bytes,
                     result_cid: str) -> dict:
        leaf = leaves[index]
        task_seed = B.task_seed(seed, batch_id, index)
        try:
            manifest = open_manifest(self.store, leaf.package, task_seed, keccak(task_seed), leaf.manifest_digest)
        except BadManifest as exc:
            proven = self._prove_batch_manifest(batch_id, index, leaves, exc)
            return {"passed": False, "score": 0, "reason": f"bad manifest ({exc}); {proven}", "result": result_cid}
        verdict = self.judge(result_cid, manifest)
        return {"passed": bool(verdict.passed), "score": int(verdict.score), "reason": verdict.reason,
                "result": result_cid}

    def _prove_batch_manifest(self, batch_id: bytes, index: int, leaves: list[B.Leaf], exc: BadManifest) -> str:
        """The committed manifest of task ``index`` does not open with its seed: prove it (the manager pays, the
        worker is paid its fee, the task closes). Returns what happened, for the task's record."""
        if self._batch_record(batch_id)["done_bits"] >> index & 1:
            return "the task is closed already (proven by someone)"
        log.warning("batch %s task %s: %s; proving it on chain", fmt(batch_id), index, exc)
        nodes = [B.leaf_node(i, leaf) for i, leaf in enumerate(leaves)]
        try:
            self.chain.transact("BatchLane", "proveBadManifest", batch_id, index, leaves[index].as_tuple(),
                                B.merkle_proof(nodes, index), *exc.proof)
        except TransactionReverted as exc2:
            if exc2.reason in PROOF_DONE:
                return f"not proven by us: {exc2.reason}"
            # the contract disagrees (or the task cannot be proven any more): we still vote FAIL on it
            log.error("batch %s task %s: the bad manifest's proof was refused: %s", fmt(batch_id), index,
                      exc2.reason)
            return f"proof refused: {exc2.reason}"
        return "proven on chain"

    # ------------------------------------------------------------ committing
    def _batch_commit(self, batch_id: bytes, data: dict) -> None:
        seat, bits, salt = data["seat"], int(data["bits"]), bytes.fromhex(data["salt"])
        value, signature = lane.commitment(self.chain, batch_id, bits, salt)
        onchain = bytes(self.chain.call("BatchCommittee", "commitments", batch_id, seat))
        if onchain == value:  # sent before a restart, or relayed by someone
            self.db.set_batch(batch_id, "committed")
            return
        if onchain != ZERO32:
            log.error("batch %s: another commitment is on chain for our seat %s", fmt(batch_id), seat)
            self._close(batch_id, "another commitment on chain for our seat")
            return
        votes = self._votes(batch_id)
        if votes["finalized_at"] or self._now() > votes["commit_ends"]:
            self._close(batch_id, "the commit phase ended before our commitment")
            return
        try:
            self.chain.transact("BatchCommittee", "commitVotes", batch_id, [seat], [value], [signature])
        except TransactionReverted as exc:
            if exc.reason == "committee: already committed":
                return  # the next pass reads what is on chain
            if exc.reason == "committee: commit phase over":
                self._close(batch_id, exc.reason)
                return
            raise
        log.info("batch %s: votes committed (%s of %s tasks pass)", fmt(batch_id), bin(bits).count("1"),
                 data.get("count"))
        self.db.set_batch(batch_id, "committed")

    # ------------------------------------------------------------ revealing
    def _batch_reveal(self, batch_id: bytes, data: dict) -> None:
        seat = data["seat"]
        votes = self._votes(batch_id)
        if votes["revealed"] >> seat & 1:
            self.db.set_batch(batch_id, "revealed")
            return
        if votes["finalized_at"]:
            self.db.set_batch(batch_id, "revealed", unrevealed="finalized before our reveal")
            return
        now = self._now()
        if votes["committed"] < len(data["members"]) and now <= votes["commit_ends"]:
            raise Waiting("the other members have not all committed")
        if now > votes["vote_ends"]:
            log.warning("batch %s: the reveal phase ended before our reveal", fmt(batch_id))
            self.db.set_batch(batch_id, "revealed", unrevealed="reveal phase over")
            return
        try:
            self.chain.transact("BatchCommittee", "revealVotes", batch_id, [seat], [int(data["bits"])],
                                [bytes.fromhex(data["salt"])])
        except TransactionReverted as exc:
            if exc.reason == "committee: already revealed":
                return  # the next pass reads it on chain
            if exc.reason == "committee: commit phase not over":
                raise Waiting(exc.reason) from None
            if exc.reason in ("committee: reveal phase over", "committee: not voting"):
                self.db.set_batch(batch_id, "revealed", unrevealed=exc.reason)
                return
            raise
        log.info("batch %s: votes revealed", fmt(batch_id))
        self.db.set_batch(batch_id, "revealed")

    # ------------------------------------------------------------ after the vote
    def _batch_follow(self, batch_id: bytes, data: dict) -> None:
        votes = self._votes(batch_id)
        if not votes["finalized_at"]:
            if not lane.finalize_if_due(self.chain, batch_id, self._now()):
                raise Waiting("the committee has not decided yet")
            log.info("batch %s: finalized", fmt(batch_id))
            votes = self._votes(batch_id)
            if not votes["finalized_at"]:
                raise Waiting("finalize not seen yet")
        ours, passed, decided = int(data["bits"]), votes["pass_bits"], votes["decided_bits"]
        dissent = decided & (passed ^ ours)
        challenged = list(data.get("challenged") or [])
        if dissent and self.config.challenge:
            challenged = self._challenge_dissent(batch_id, data, votes, dissent)
        elif dissent:
            log.warning("batch %s: the verdict contradicts our vote on tasks %s (challenging is off)",
                        fmt(batch_id), _indices(dissent))
        self.db.set_batch(batch_id, "done", pass_bits=passed, decided_bits=decided, dissent=dissent,
                          challenged=challenged)

    def _challenge_dissent(self, batch_id: bytes, data: dict, votes: dict, dissent: int) -> list[int]:
        """Challenge the verdict on up to ``config.batch_challenges`` tasks where it contradicts our vote (counting
        the challenges we already made, read on chain); returns the tasks we have challenged."""
        record = self._batch_record(batch_id)
        ends = votes["finalized_at"] + self.chain.call("JobEscrow", "challengeWindow")
        mine = [i for i in _indices(dissent) if self._challenger(batch_id, i) == self.me.lower()]
        if record["stage"] != lane.REVEALED or self._now() > ends:
            log.warning("batch %s: the verdict contradicts our vote on tasks %s; too late to challenge",
                        fmt(batch_id), _indices(dissent))
            return mine
        open_ = [i for i in _indices(dissent) if not (record["done_bits"] | record["disputed"]) >> i & 1]
        budget = max(0, self.config.batch_challenges - len(mine))
        if not open_ or not budget:
            if open_:
                log.warning("batch %s: the verdict also contradicts our vote on tasks %s (not challenged: "
                            "batch_challenges=%s)", fmt(batch_id), open_, self.config.batch_challenges)
            return mine
        leaves = lane.batch_leaves(self.chain, batch_id, self.chain.deployments.block_number)
        for index in open_[:budget]:
            if self._challenge_task(batch_id, index, leaves, votes):
                mine.append(index)
        if open_[budget:]:
            log.warning("batch %s: the verdict also contradicts our vote on tasks %s (not challenged: "
                        "batch_challenges=%s)", fmt(batch_id), open_[budget:], self.config.batch_challenges)
        return mine

    def _challenger(self, batch_id: bytes, index: int) -> str:
        from eth_abi import encode

        dispute = self.chain.call("BatchLane", "disputes", keccak(encode(["bytes32", "uint256"], [batch_id, index])))
        return str(dispute[0]).lower()

    def _challenge_task(self, batch_id: bytes, index: int, leaves: list[B.Leaf], votes: dict) -> bool:
        try:
            bond, receipt = lane.challenge_task(self.chain, batch_id, index, leaves)
        except TransactionReverted as exc:
            if exc.reason in CHALLENGE_DONE:
                log.info("batch %s task %s: not challenged: %s", fmt(batch_id), index, exc.reason)
                return False
            raise
        if receipt is None:
            log.warning("batch %s task %s: the verdict contradicts our vote, but the %.2f IFX bond exceeds our "
                        "balance", fmt(batch_id), index, bond / 1e18)
            return False
        verdict = "PASS" if votes["pass_bits"] >> index & 1 else "FAIL"
        log.warning("batch %s task %s: challenged the committee's %s verdict (we voted %s), bond %.2f IFX",
                    fmt(batch_id), index, verdict, "FAIL" if verdict == "PASS" else "PASS", bond / 1e18)
        return True


def _indices(bits: int) -> list[int]:
    return [i for i in range(bits.bit_length()) if bits >> i & 1]
