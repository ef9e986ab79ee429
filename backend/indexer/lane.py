"""Projections of the batch lane (``BatchLane``) and its committees (``BatchCommittee``): batches, their tasks, their
committee members' bitmaps, settlements, challenges and slashes (docs/protocol.md, "Batches").

Events carry a batch's roots, not its tasks: a task (its leaf: worker, work, fee, manifest digest, frames, package CID)
lives in the calldata of the ``postBatch`` transaction that posted it, and its result CID in the calldata of its
worker's ``submitResults``. The indexer reads both transactions' input (``inferix.batches.decode_post`` /
``decode_results``) and keeps the tasks only when they hash to the event's root (the batch id matches the manager's
nonce too): a post or a submission sent through another contract (a wallet, a multicall) is not decodable from its
transaction's input, and its batch is then indexed without tasks (``leaves_known`` 0) or without result CIDs. The
transactions (and each batch's collateral rate, read once from the lane's record: it never changes) are read in
``_prefetch``, before the range's transaction; a handler applied without them (``apply`` called directly) reads them
itself.

Per task, the committee's verdict (``BatchVerdict``: passed, failed or undecided) and how it closed (``outcome``):
passed or failed at settlement (a task whose worker delivered nothing fails whatever the votes; an undecided one
closes without fault) or by the arbiter's ``resolve`` after a challenge, ``bad_manifest`` (proven on chain: its fee
returns to the job), ``void`` (the seed never came out: every fee returns to the job).

The escrow emits nothing when the lane reserves a batch's fees from a job or releases them (``reserveFor``,
``releaseFor``), and Staking nothing when the lane slashes a worker's collateral (``slashCollateral``): the jobs'
budgets, open tasks and fees paid and the workers' locked collateral follow from the lane's events here, as the
escrow's projections do for the single path. A job counts a batch as one open task, as the escrow does.

One method per event, ``_on_BatchLane_<Event>`` / ``_on_BatchCommittee_<Event>(e, args, block_time)``; they run
inside the range's transaction (:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

import json
import logging

from inferix import batches as B
from inferix.chain import ChainError, Event
from backend.indexer.base import _add, _hex

log = logging.getLogger("inferix.indexer")

BPS = 10_000
STAGES = ("rendering", "revealed", "settled")
TASK_VERDICTS = ("passed", "failed", "undecided")
TASK_OUTCOMES = ("passed", "failed", "undecided", "bad_manifest", "void")


def _bits(value: int) -> str:
    return hex(value)


def _int(bits: str | None) -> int:
    return int(bits, 16) if bits else 0


def _frames(ranges) -> int:
    """Frames covered by the union of inclusive ``(start, end)`` ranges."""
    total, last = 0, None
    for start, end in sorted(ranges):
        if last is not None and start <= last:
            if end > last:
                total += end - last
                last = end
            continue
        total += end - start + 1
        last = end
    return total


class LaneProjections:
    # ------------------------------------------------------------ what the chain holds beyond the logs
    def _prefetch(self, events: list[Event]) -> None:
        self._lane_inputs: dict[str, bytes] = {}
        self._lane_records: dict[str, dict] = {}
        for e in events:
            if e.contract == "BatchLane" and e.name in ("BatchPosted", "ResultsSubmitted"):
                self._tx_input(e.tx_hash)
                if e.name == "BatchPosted":
                    self._batch_record(e.args["batchId"])

    def _tx_input(self, tx_hash: str) -> bytes:
        cache = self.__dict__.setdefault("_lane_inputs", {})
        if tx_hash not in cache:
            try:
                cache[tx_hash] = bytes(self.chain.w3.eth.get_transaction(tx_hash)["input"])
            except Exception as exc:  # noqa: BLE001 - web3 raises many kinds; all mean "try again later"
                raise ChainError(f"get_transaction {tx_hash}: {exc.__class__.__name__}: {exc}") from None
        return cache[tx_hash]

    def _batch_record(self, batch_id: bytes) -> dict:
        cache = self.__dict__.setdefault("_lane_records", {})
        key = _hex(batch_id)
        if key not in cache:
            from inferix.protocol import read_struct

            cache[key] = read_struct(self.chain, "BatchLane", "batches", bytes(batch_id))
        return cache[key]

    # ------------------------------------------------------------ rows
    def _batch(self, e: Event, batch_id: str) -> dict | None:
        batch = self._row("lane_batches", "batch_id", batch_id)
        if batch is None:
            log.warning("%s for unknown batch %s in block %d (indexing started too late?)", e.name, batch_id, e.block)
        return batch

    def _set_batch(self, batch_id: str, e: Event, **changes) -> None:
        self._update("lane_batches", "batch_id", batch_id, {**changes, "updated_block": e.block})

    def _batch_tasks(self, batch_id: str) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT * FROM lane_batch_tasks WHERE batch_id = ? ORDER BY task_index", (batch_id,)).fetchall()]

    def _set_batch_task(self, batch_id: str, index: int, **changes) -> None:
        sets = ", ".join(f"{column} = ?" for column in changes)
        self.conn.execute(f"UPDATE lane_batch_tasks SET {sets} WHERE batch_id = ? AND task_index = ?",
                          (*changes.values(), batch_id, index))

    def _batch_task(self, batch_id: str, index: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM lane_batch_tasks WHERE batch_id = ? AND task_index = ?",
                                (batch_id, index)).fetchone()
        return dict(row) if row is not None else None

    def _job_frames(self, job: dict) -> None:
        rows = self.conn.execute("SELECT frame_start, frame_end, outcome FROM lane_batch_tasks WHERE job_id = ?",
                                 (job["job_id"],)).fetchall()
        job["batch_frames"] = _frames((r[0], r[1]) for r in rows)
        job["batch_frames_passed"] = _frames((r[0], r[1]) for r in rows if r[2] == "passed")

    def _lane_release(self, batch: dict, e: Event, bits: int, paid: int, refund: int) -> None:
        """``BatchLane._release``: tasks ``bits`` closed; ``paid`` (burned + treasury) left the job, ``refund``
        returned to it (to the creator once closed); the batch's hold on the job ends with its last task."""
        done = _int(batch["done_bits"]) | bits
        batch["done_bits"] = _bits(done)
        self._set_batch(batch["batch_id"], e, done_bits=batch["done_bits"])
        last = batch["stage"] == "settled" and done == (1 << batch["count"]) - 1

        def change(job):
            if not last:
                job["open_tasks"] += 1  # JobEscrow.releaseFor: `_release` counts a task ended, the batch is not over
            self._release(job, refund)
            job["fees_paid"] = _add(job["fees_paid"], paid)
            self._job_frames(job)
        self._job_change(batch["job_id"], e, change)

    def _unlocked_in_tx(self, e: Event, worker: str) -> bool:
        # Staking.unlockCollateral logs CollateralUnlocked; slashCollateral releases the collateral silently
        for (args,) in self.conn.execute("SELECT args FROM events WHERE block = ? AND tx_hash = ? AND "
                                         "contract = 'Staking' AND name = 'CollateralUnlocked'",
                                         (e.block, e.tx_hash)).fetchall():
            if json.loads(args).get("worker") == worker:
                return True
        return False

    def _release_collateral(self, e: Event, worker: str, amount: int) -> None:
        def change(node):
            node["locked"] = str(max(int(node["locked"]) - amount, 0))
            self._normalize_unbonding(node)
        self._node_change(worker, e, change)

    # ------------------------------------------------------------ BatchLane
    def _decode_leaves(self, e: Event, a: dict) -> list[B.Leaf] | None:
        batch_id = bytes(a["batchId"])
        try:
            leaves, call = B.decode_post(self._tx_input(e.tx_hash))
            if B.batch_id(a["manager"], call["nonce"]) != batch_id:
                raise ValueError("the call's nonce is not the batch's")
            if len(leaves) != a["count"] or \
                    B.merkle_root([B.leaf_node(i, leaf) for i, leaf in enumerate(leaves)]) != bytes(a["root"]):
                raise ValueError("the leaves do not hash to the batch's root")
            B.groups(leaves)
        except ChainError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transaction's input is untrusted: not decodable, not indexed
            log.warning("batch %s: its tasks are not in transaction %s's input (%s: %s); indexed without them",
                        _hex(batch_id), e.tx_hash, exc.__class__.__name__, exc)
            return None
        return leaves

    def _on_BatchLane_BatchPosted(self, e: Event, a: dict, t: int) -> None:
        batch_id = _hex(a["batchId"])
        record = self._batch_record(a["batchId"])
        leaves = self._decode_leaves(e, a)
        bps = record.get("collateral_bps")
        fees = record.get("fees") if record.get("stage") else None  # not on chain any more (a reorg): from the leaves
        if fees is None and leaves is not None:
            fees = sum(leaf.fee for leaf in leaves)
        spans = B.groups(leaves) if leaves is not None else []
        self.conn.execute(
            "INSERT INTO lane_batches (batch_id, job_id, manager, count, workers, root, leaves_known, fees, "
            "collateral_bps, stage, escrow_round, posted_block, posted_log, posted_at, post_tx, render_ends, "
            "updated_block) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'rendering', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (batch_id, a["jobId"], a["manager"], a["count"], len(spans) or record.get("workers", 0), _hex(a["root"]),
             int(leaves is not None), None if fees is None else str(fees), bps, a["escrowRound"], e.block,
             e.log_index, t, e.tx_hash, a["renderEnds"], e.block))
        for g, span in enumerate(spans):
            for i in range(span.first, span.end):
                leaf = leaves[i]
                self.conn.execute(
                    "INSERT INTO lane_batch_tasks (batch_id, task_index, job_id, worker_group, worker, ibm, fee, "
                    "collateral, manifest_digest, frame_start, frame_end, package_cid) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (batch_id, i, a["jobId"], g, leaf.worker, str(leaf.ibm), str(leaf.fee),
                     None if bps is None else str(leaf.fee * bps // BPS), _hex(leaf.manifest_digest),
                     leaf.frame_start, leaf.frame_end, leaf.package))

        def change(job):
            # JobEscrow.reserveFor: the batch's fees leave the budget, the batch counts as one open task
            job["budget_left"] = _add(job["budget_left"], -(fees or 0))
            job["open_tasks"] += 1
            job["batches"] += 1
            self._job_frames(job)
        self._job_change(a["jobId"], e, change)

    def _on_BatchLane_ResultsSubmitted(self, e: Event, a: dict, t: int) -> None:
        batch_id = _hex(a["batchId"])
        batch = self._batch(e, batch_id)
        if batch is None:
            return
        self._set_batch(batch_id, e, submitted=batch["submitted"] + 1)
        group, first = a["group"], a["first"]
        cids = None
        try:
            decoded_group, decoded = B.decode_results(self._tx_input(e.tx_hash))
            nodes = [B.result_node(first + i, cid) for i, cid in enumerate(decoded)]
            if decoded_group != group or not nodes or B.merkle_root(nodes) != bytes(a["root"]):
                raise ValueError("the CIDs do not hash to the submission's root")
            cids = decoded
        except ChainError:
            raise
        except Exception as exc:  # noqa: BLE001 - untrusted input, as in _decode_leaves
            log.warning("batch %s group %d: result CIDs not in transaction %s's input (%s: %s)", batch_id, group,
                        e.tx_hash, exc.__class__.__name__, exc)
        rows = self.conn.execute("SELECT task_index FROM lane_batch_tasks WHERE batch_id = ? AND worker_group = ? "
                                 "ORDER BY task_index", (batch_id, group)).fetchall()
        for (index,) in rows:
            cid = cids[index - first] if cids is not None and 0 <= index - first < len(cids) else None
            self._set_batch_task(batch_id, index, delivered_block=e.block, result_cid=cid)

    def _on_BatchLane_SeedRevealed(self, e: Event, a: dict, t: int) -> None:
        # the seed itself is public on chain, but the index does not keep it (reads never serve seeds)
        self._set_batch(_hex(a["batchId"]), e, stage="revealed", revealed_block=e.block, revealed_at=t,
                        revealer=a["revealer"], late=int(a["late"]))

    def _on_BatchLane_ManagerSlashed(self, e: Event, a: dict, t: int) -> None:
        # late (the reveal past its window, or `expire`), or the seed escrow that never opened (`settle` voids the
        # batch: the workers who delivered are paid from the slash), or a bogus manifest (one task)
        batch_id = _hex(a["batchId"])
        batch = self._batch(e, batch_id)
        if batch is not None:
            changes = {"manager_slashed": _add(batch["manager_slashed"], a["amount"]),
                       "to_workers": _add(batch["to_workers"], a["toWorkers"])}
            if a["late"]:
                changes["late"] = 1
            self._set_batch(batch_id, e, **changes)

        def manager(node):
            node["manager_slashes"] += 1
        self._node_change(a["manager"], e, manager)

    def _on_BatchLane_TaskChallenged(self, e: Event, a: dict, t: int) -> None:
        batch_id = _hex(a["batchId"])
        batch = self._batch(e, batch_id)
        if batch is None:
            return
        self._set_batch(batch_id, e, challenged=batch["challenged"] + 1)
        self._set_batch_task(batch_id, a["index"], challenger=a["challenger"], challenge_bond=str(a["bond"]),
                             challenged_block=e.block)

    def _on_BatchLane_TaskResolved(self, e: Event, a: dict, t: int) -> None:
        # the arbiter's decision (or its silence: the verdict stands); the task settled at once
        batch_id = _hex(a["batchId"])
        batch = self._batch(e, batch_id)
        if batch is None:
            return
        index, passed = a["index"], bool(a["passed"])
        task = self._batch_task(batch_id, index)
        fee = int(task["fee"]) if task is not None else 0
        if task is not None:
            self._set_batch_task(batch_id, index, outcome="passed" if passed else "failed",
                                 overturned=int(a["overturned"]), closed_block=e.block)

            def worker(node):
                if passed:
                    node["completed"] += 1
                else:
                    node["failed"] += 1
                    node["last_failure_block"] = e.block
            self._node_change(task["worker"], e, worker)
            if not passed and task["collateral"] is not None:
                self._release_collateral(e, task["worker"], int(task["collateral"]))  # slashCollateral
        self._lane_release(batch, e, 1 << index, fee if passed else 0, 0 if passed else fee)

    def _on_BatchLane_BadManifestProven(self, e: Event, a: dict, t: int) -> None:
        # the manager slashed (its ManagerSlashed came first), the worker paid its fee from the slash and its
        # collateral released (CollateralUnlocked); the fee returns to the job
        batch_id = _hex(a["batchId"])
        batch = self._batch(e, batch_id)
        if batch is None:
            return
        task = self._batch_task(batch_id, a["index"])
        if task is not None:
            self._set_batch_task(batch_id, a["index"], outcome="bad_manifest", defect=a["defect"],
                                 closed_block=e.block)
        self._lane_release(batch, e, 1 << a["index"], 0, int(task["fee"]) if task is not None else 0)

    def _on_BatchLane_OracleSlashed(self, e: Event, a: dict, t: int) -> None:
        # a member on the losing side of the arbiter's decision on one task
        batch_id = _hex(a["batchId"])
        self.conn.execute("UPDATE lane_batch_members SET slashed = ?, slashed_tasks = slashed_tasks + 1 "
                          "WHERE batch_id = ? AND oracle = ?",
                          (str(self._member_slashed(batch_id, a["oracle"]) + a["amount"]), batch_id, a["oracle"]))

    def _member_slashed(self, batch_id: str, oracle: str) -> int:
        row = self.conn.execute("SELECT slashed FROM lane_batch_members WHERE batch_id = ? AND oracle = ?",
                                (batch_id, oracle)).fetchone()
        return int(row[0]) if row is not None else 0

    def _on_BatchLane_NoShow(self, e: Event, a: dict, t: int) -> None:
        self.conn.execute("UPDATE lane_batch_members SET no_show = 1 WHERE batch_id = ? AND oracle = ?",
                          (_hex(a["batchId"]), a["oracle"]))

    def _on_BatchLane_BatchSettled(self, e: Event, a: dict, t: int) -> None:
        batch_id = _hex(a["batchId"])
        batch = self._batch(e, batch_id)
        if batch is None:
            return
        void = batch["stage"] == "rendering"  # the seed never came out: every fee back to the job
        tasks = self._batch_tasks(batch_id)
        done = _int(batch["done_bits"])
        skip = done | sum(1 << r["task_index"] for r in tasks
                          if r["challenged_block"] is not None and r["closed_block"] is None)
        pass_bits, decided = _int(batch["pass_bits"]), _int(batch["decided_bits"])
        counted = {"passed": 0, "failed": 0}
        groups: dict[str, dict] = {}
        for r in tasks:
            bit = 1 << r["task_index"]
            if skip & bit:
                continue
            group = groups.setdefault(r["worker"], {"locked": 0, "passed": 0, "failed": 0})
            group["locked"] += int(r["collateral"] or 0)
            if void:
                outcome = "void"
            else:
                delivered = r["delivered_block"] is not None
                if pass_bits & bit and delivered:
                    outcome = "passed"
                elif not delivered or decided & bit:
                    outcome = "failed"
                else:
                    outcome = "undecided"
                if outcome in counted:
                    counted[outcome] += 1
                    group[outcome] += 1
            self._set_batch_task(batch_id, r["task_index"], outcome=outcome, closed_block=e.block)
        if tasks and (counted["passed"], counted["failed"]) != (a["passed"], a["failed"]):
            log.warning("batch %s settled %d passed, %d failed; the index counted %d and %d", batch_id, a["passed"],
                        a["failed"], counted["passed"], counted["failed"])
        for worker, group in groups.items():
            if group["passed"] or group["failed"]:
                def record(node, group=group):
                    node["completed"] += group["passed"]
                    node["failed"] += group["failed"]
                    if group["failed"]:
                        node["last_failure_block"] = e.block
                self._node_change(worker, e, record)
            if group["locked"] > 0 and not self._unlocked_in_tx(e, worker):
                self._release_collateral(e, worker, group["locked"])  # slashCollateral: a failed task's penalty
        if not void and batch["committee_size"]:
            # Staking.recordNoShow for every seat that did not reveal (NoShowRecorded counts the node's misses)
            revealed = _int(batch["revealed_seats"])
            for seat in range(batch["committee_size"]):
                if not revealed & (1 << seat):
                    self.conn.execute("UPDATE lane_batch_members SET no_show = 1 WHERE batch_id = ? AND seat = ?",
                                      (batch_id, seat))
        batch["stage"] = "settled"
        self._set_batch(batch_id, e, stage="settled", passed=a["passed"], failed=a["failed"], burned=str(a["burned"]),
                        to_treasury=str(a["toTreasury"]), refund=str(a["refund"]), settled_block=e.block,
                        settled_at=t)
        mask = (1 << batch["count"]) - 1
        self._lane_release(batch, e, mask & ~skip, a["burned"] + a["toTreasury"], a["refund"])

    # ------------------------------------------------------------ BatchCommittee
    def _on_BatchCommittee_CommitteeDrawn(self, e: Event, a: dict, t: int) -> None:
        batch_id = _hex(a["batchId"])
        members = list(a["members"])
        self._set_batch(batch_id, e, committee_round=a["round"], committee_size=len(members),
                        commit_ends=a["commitEnds"], drawn_block=e.block)
        for seat, oracle in enumerate(members):
            self.conn.execute("INSERT INTO lane_batch_members (batch_id, seat, oracle) VALUES (?, ?, ?) "
                              "ON CONFLICT DO NOTHING", (batch_id, seat, oracle))

            def drawn(node):
                node["committee_seats"] += 1
            self._node_change(oracle, e, drawn)

    def _on_BatchCommittee_VotesCommitted(self, e: Event, a: dict, t: int) -> None:
        batch_id = _hex(a["batchId"])
        batch = self._batch(e, batch_id)
        if batch is None:
            return
        changes = {"committed": a["committed"]}
        if a["committed"] == batch["committee_size"]:
            changes["commit_ends"] = t  # every member committed: the reveal phase opened at once
        self._set_batch(batch_id, e, **changes)
        for seat in a["seats"]:
            self.conn.execute("UPDATE lane_batch_members SET committed_block = ? WHERE batch_id = ? AND seat = ?",
                              (e.block, batch_id, seat))

    def _on_BatchCommittee_VotesRevealed(self, e: Event, a: dict, t: int) -> None:
        batch_id = _hex(a["batchId"])
        for seat, bits in zip(a["seats"], a["passBits"]):
            self.conn.execute("UPDATE lane_batch_members SET revealed_block = ?, pass_bits = ? WHERE batch_id = ? "
                              "AND seat = ?", (e.block, _bits(bits), batch_id, seat))
            row = self.conn.execute("SELECT oracle FROM lane_batch_members WHERE batch_id = ? AND seat = ?",
                                    (batch_id, seat)).fetchone()
            if row is not None:
                def voted(node):
                    node["verdicts"] += 1
                self._node_change(row[0], e, voted)

    def _on_BatchCommittee_BatchVerdict(self, e: Event, a: dict, t: int) -> None:
        # every member revealed, or `finalize` after the reveal phase: per task, a quorum of pass bits passes it, a
        # quorum of fail bits fails it, anything else leaves it undecided
        batch_id = _hex(a["batchId"])
        pass_bits, decided = a["passBits"], a["decidedBits"]
        self._set_batch(batch_id, e, pass_bits=_bits(pass_bits), decided_bits=_bits(decided),
                        revealed_seats=_bits(a["revealed"]), verdict_block=e.block, verdict_at=t)
        for (index,) in self.conn.execute("SELECT task_index FROM lane_batch_tasks WHERE batch_id = ?",
                                          (batch_id,)).fetchall():
            bit = 1 << index
            verdict = "passed" if pass_bits & bit else "failed" if decided & bit else "undecided"
            self._set_batch_task(batch_id, index, verdict=verdict)
