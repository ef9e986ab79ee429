"""The manager's batches (docs/protocol.md, "Batches in the services"): a job's tasks are prepared into batches of the
lane, each batch offered to its workers through the API, posted once every group is signed, its seed revealed
once every group delivered, and settled after the challenge window; tasks that fail go into a later batch.

Every step is idempotent and driven by the chain's state plus the ``batches``, ``batch_tasks``, ``batch_acceptances``
and ``lane_tasks`` tables, so a restart resumes without posting, revealing or settling twice. A batch's status:

    open ──(full, old, or the job has no task left)──▶ closed ──plan──▶ offered ──every group signed──▶ posted
      ▲                                                                 │  └─ accept_by passed: re-planned without
      └─ tasks that failed go back to ``pending``                       │     the silent workers, offered again
    posted ──every group delivered, or the render deadline──▶ revealed ──challenge window──▶ settled
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inferix import batches as B, lane
from inferix.chain import TransactionReverted
from inferix.protocol import get_job, task_ifx
from inferix.render import BlenderJobError
from inferix.sealing import seal, unseal

from backend.matcher import choose
from backend.taskprep import TaskSpec, prepare_tasks

if TYPE_CHECKING:
    from backend.manager import Manager

log = logging.getLogger("inferix.manager")

OPEN, CLOSED, OFFERED, POSTED, REVEALED, SETTLED = "open", "closed", "offered", "posted", "revealed", "settled"
LIVE = (OPEN, CLOSED, OFFERED, POSTED, REVEALED)
SEED_DOMAIN = b"batch-seed"
PLACEMENT_TRIES = 3
POST_MARGIN = 2  # seconds: a post is not sent when its acceptances expire sooner (the block would refuse it)


@dataclass
class BatchConfig:
    max_tasks: int = 64  # a batch is closed when it holds this many tasks ...
    max_age: float = 30.0  # ... or when its first task has waited this many seconds
    offer_timeout: int = 60  # seconds a group's worker has to sign its offer
    max_attempts: int = 3  # batches a task may fail in before the manager gives up on it
    prepare_chunk: int = 8  # tasks noised in one Blender process (its start-up and the scene's loading paid once)


@dataclass
class _Running:
    job_id: int
    batch_id: str  # hex, no 0x
    first: int  # the batch index of the first task
    pending: list  # their lane_tasks rows
    tasks: list[dict]  # the quote's tasks
    future: Future


class Batcher:
    """The batch side of a :class:`backend.manager.Manager` (its chain, store, database and configuration)."""

    def __init__(self, manager: "Manager", config: BatchConfig) -> None:
        self.m = manager
        self.config = config
        self._running: _Running | None = None  # the tasks being noised beside the loop

    @property
    def db(self):
        return self.m.db

    @property
    def chain(self):
        return self.m.chain

    # ------------------------------------------------------------ preparing tasks into batches
    def _seed(self, row) -> bytes:
        return unseal(row["sealed_seed"], self.m.config.seed_key, SEED_DOMAIN)

    def _next_nonce(self) -> int:
        row = self.db.execute("SELECT MAX(nonce) FROM batches").fetchone()
        nonce = (row[0] or 0) + 1
        while lane.get_batch(self.chain, B.batch_id(self.m.me, nonce))["stage"] != 0:
            nonce += 1  # used on chain by an earlier database of this manager
        return nonce

    def _open_batch(self, job_id: int):
        row = self.db.execute("SELECT * FROM batches WHERE job_id = ? AND status = ?", (job_id, OPEN)).fetchone()
        if row is not None:
            return row
        nonce = self._next_nonce()
        batch = B.batch_id(self.m.me, nonce)
        now = time.time()
        self.db.execute("INSERT INTO batches (batch_id, nonce, job_id, sealed_seed, status, created_at, updated_at, "
                        "render_window) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (batch.hex(), nonce, job_id, seal(os.urandom(32), self.m.config.seed_key, SEED_DOMAIN), OPEN,
                         now, now, self.m.config.render_window))
        log.info("job %s: batch 0x%s opened (nonce %s)", job_id, batch.hex()[:12], nonce)
        return self.db.execute("SELECT * FROM batches WHERE batch_id = ?", (batch.hex(),)).fetchone()

    def _close(self, batch_hex: str, why: str) -> None:
        count = self.db.execute("SELECT COUNT(*) FROM batch_tasks WHERE batch_id = ?", (batch_hex,)).fetchone()[0]
        if count == 0:
            self.db.execute("DELETE FROM batches WHERE batch_id = ?", (batch_hex,))
            return
        self.db.execute("UPDATE batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                        (CLOSED, time.time(), batch_hex))
        log.info("batch 0x%s closed with %s tasks (%s)", batch_hex[:12], count, why)

    def has_pending(self, job_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM lane_tasks WHERE job_id = ? AND status = 'pending' LIMIT 1",
                               (job_id,)).fetchone() is not None

    def running_job(self) -> int | None:
        """The job whose tasks are being noised beside the loop, if any."""
        return self._running.job_id if self._running is not None else None

    def prepare_job(self, job_id: int) -> bool:
        """Start noising the job's next pending tasks (up to ``prepare_chunk``, in one Blender process, on a thread
        beside the coordination loop: offers, posts, reveals and settlements go on meanwhile) into its open batch;
        :meth:`collect` records them. False when none was pending (nothing started); True, doing nothing, while
        another job's preparation runs."""
        if self._running is not None:
            return True
        scene, order, quote = self.m._job_order(job_id)
        for index, task in enumerate(quote["tasks"]):
            self.db.execute("INSERT INTO lane_tasks (job_id, task_index, status, attempts, placement_failures) "
                            "VALUES (?, ?, 'pending', 0, 0) ON CONFLICT DO NOTHING", (job_id, index))
        pending = self.db.execute("SELECT * FROM lane_tasks WHERE job_id = ? AND status = 'pending' "
                                  "ORDER BY task_index LIMIT ?", (job_id, self.config.prepare_chunk)).fetchall()
        if not pending:
            return False
        batch = self._open_batch(job_id)
        first = self.db.execute("SELECT COUNT(*) FROM batch_tasks WHERE batch_id = ?", (batch["batch_id"],)
                                ).fetchone()[0]
        pending = pending[:self.config.max_tasks - first]
        batch_id, batch_seed = bytes.fromhex(batch["batch_id"]), self._seed(batch)
        specs = [TaskSpec(self.m.config.work_dir / "tasks" / f"job-{job_id}" /
                          f"task-{p['task_index']}-{batch['batch_id'][:16]}-{first + k}", first + k,
                          (quote["tasks"][p["task_index"]]["frame_start"], quote["tasks"][p["task_index"]]["frame_end"]),
                          B.task_seed(batch_seed, batch_id, first + k)) for k, p in enumerate(pending)]
        future: Future = Future()

        def work() -> None:
            try:
                future.set_result(prepare_tasks(self.m.store, scene, specs, order,
                                                timeout=self.m.config.prepare_timeout * len(specs)))
            except BaseException as exc:  # noqa: BLE001 - handed to collect(), which raises it in the loop
                future.set_exception(exc)

        self._running = _Running(job_id, batch["batch_id"], first, pending, quote["tasks"], future)
        # a daemon thread: a stopping manager does not wait for Blender (the tasks stay pending and are noised again)
        threading.Thread(target=work, name=f"prepare-job-{job_id}", daemon=True).start()
        return True

    def collect(self) -> bool:
        """Record the running preparation once it is done (True), or False while it runs; raises what it raised."""
        run = self._running
        if run is None:
            return True
        if not run.future.done():
            return False
        self._running = None
        results = run.future.result()
        job_id, batch_hex, first, pending = run.job_id, run.batch_id, run.first, run.pending
        if self.db.execute("SELECT status FROM batches WHERE batch_id = ?", (batch_hex,)).fetchone()[0] != OPEN:
            raise RuntimeError(f"batch 0x{batch_hex[:12]} was closed while its tasks were noised")  # never: step()
        for k, (p, prepared) in enumerate(zip(pending, results)):
            if isinstance(prepared, BlenderJobError):
                if "PlacementError" not in str(prepared):
                    raise prepared
                # too few smooth regions for this seed's imprints: the task goes into a new batch (a new seed);
                # the tasks prepared after it in this run are prepared again there (an index is never skipped)
                failures = p["placement_failures"] + 1
                if failures >= PLACEMENT_TRIES:
                    self._close(batch_hex, "the job is rejected")  # what it holds is posted as it is
                    raise ValueError(f"task {p['task_index']}: no placement of the imprints after {failures} seeds")
                self.db.execute("UPDATE lane_tasks SET placement_failures = ? WHERE job_id = ? AND task_index = ?",
                                (failures, job_id, p["task_index"]))
                log.warning("job %s: task %s: no placement of the imprints for its seed in batch 0x%s; it goes into "
                            "a new batch", job_id, p["task_index"], batch_hex[:12])
                self._close(batch_hex, "a placement failed")
                return True
            task = run.tasks[p["task_index"]]
            self.db.execute("INSERT INTO batch_tasks (batch_id, idx, job_id, task_index, package_cid, manifest_digest, "
                            "ibm, frame_start, frame_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (batch_hex, first + k, job_id, p["task_index"], prepared.package_cid,
                             prepared.sealed_digest.hex(), task["ibm"], task["frame_start"], task["frame_end"]))
            self.db.execute("UPDATE lane_tasks SET status = 'batched', batch_id = ? WHERE job_id = ? AND "
                            "task_index = ?", (batch_hex, job_id, p["task_index"]))
            log.info("job %s: task %s prepared into batch 0x%s as #%s (package %s)", job_id, p["task_index"],
                     batch_hex[:12], first + k, prepared.package_cid)
        left = self.db.execute("SELECT COUNT(*) FROM lane_tasks WHERE job_id = ? AND status = 'pending'",
                               (job_id,)).fetchone()[0]
        if first + len(pending) >= self.config.max_tasks or left == 0:
            self._close(batch_hex, "full" if left else "the job's last task")
        return True

    def pending_jobs(self) -> list[int]:
        """Jobs with tasks to (re-)prepare: new ones come from ``prepared_jobs``; failed tasks bring a job back."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT l.job_id FROM lane_tasks l JOIN prepared_jobs p ON p.job_id = l.job_id "
            "WHERE l.status = 'pending' AND p.status != 'rejected' ORDER BY l.job_id").fetchall()]

    # ------------------------------------------------------------ the step
    def step(self) -> None:
        now = self.m.chain_now()
        for row in self.db.execute(f"SELECT * FROM batches WHERE status IN ({','.join('?' * len(LIVE))}) "
                                   "ORDER BY nonce", LIVE).fetchall():
            status = row["status"]
            try:
                if status == OPEN and time.time() - row["created_at"] >= self.config.max_age \
                        and (self._running is None or self._running.batch_id != row["batch_id"]):
                    self._close(row["batch_id"], f"{self.config.max_age:.0f} s old")
                elif status == CLOSED:
                    self._offer(row, now)
                elif status == OFFERED:
                    self._post_or_replan(row, now)
                elif status == POSTED:
                    self._reveal(row, now)
                elif status == REVEALED:
                    self._settle(row, now)
            except TransactionReverted as exc:
                log.warning("batch 0x%s (%s): %s", row["batch_id"][:12], status, exc)

    # ------------------------------------------------------------ offers
    def _tasks(self, batch_hex: str):
        return self.db.execute("SELECT * FROM batch_tasks WHERE batch_id = ? ORDER BY idx", (batch_hex,)).fetchall()

    def _in_flight(self) -> dict[str, int]:
        """Groups per worker in batches offered or rendering (the matcher's load)."""
        counts: dict[str, int] = {}
        for (offer,) in self.db.execute("SELECT offer FROM batches WHERE status IN (?, ?) AND offer IS NOT NULL",
                                        (OFFERED, POSTED)).fetchall():
            for worker in {leaf["worker"] for leaf in json.loads(offer)["leaves"]}:
                counts[worker] = counts.get(worker, 0) + 1
        return counts

    def _failed_before(self, batch_hex: str, tasks) -> set[str]:
        """The workers whose frames the committee judged FAIL for one of these tasks in an earlier batch: a task is
        never offered again to a worker it failed with (it waits for another qualified worker instead)."""
        earlier = self.db.execute(
            "SELECT bt.batch_id, bt.idx, b.offer FROM batch_tasks bt JOIN batches b ON b.batch_id = bt.batch_id "
            "WHERE bt.job_id = ? AND bt.task_index IN (%s) AND bt.batch_id != ? AND b.status = ?"
            % ",".join("?" * len(tasks)),
            (tasks[0]["job_id"], *(t["task_index"] for t in tasks), batch_hex, SETTLED)).fetchall()
        verdicts: dict[str, dict] = {}
        failed = set()
        for r in earlier:
            if r["batch_id"] not in verdicts:
                verdicts[r["batch_id"]] = lane.outcome(self.chain, bytes.fromhex(r["batch_id"]))
            v = verdicts[r["batch_id"]]
            if v["decided_bits"] >> r["idx"] & 1 and not v["pass_bits"] >> r["idx"] & 1:
                failed.add(json.loads(r["offer"])["leaves"][r["idx"]]["worker"])
        return failed

    def _offer(self, row, now: int, silent: frozenset[str] = frozenset()) -> None:
        """Plan the groups (consecutive runs of tasks, one per qualified worker) and offer them."""
        tasks = self._tasks(row["batch_id"])
        job = get_job(self.chain, row["job_id"])
        from backend.manager import _StepReads

        reads = _StepReads(self.chain)
        candidates = self.m._candidates(job.usd_per_ifx, self._in_flight(), reads)
        failed = self._failed_before(row["batch_id"], tasks)
        n = len(tasks)
        chosen: list = []
        # at most one group per task and per worker; a worker renders at most 64 tasks of a batch
        while len(chosen) < min(n, B.MAX_WORKERS):
            k = len(chosen) + 1
            share = sum(t["ibm"] for t in tasks[: -(-n // k)])  # the largest group if the batch had k groups
            pick = choose(candidates, share, job.max_price_per_ibm, job.usd_per_ifx, self.m.config.max_failures,
                          self.m.config.max_in_flight, exclude={c.address for c in chosen} | set(silent) | failed,
                          collateral_bps=reads.collateral_bps())
            if pick is None:
                break
            chosen.append(pick)
        if not chosen or -(-n // len(chosen)) > 64:
            log.info("batch 0x%s: no qualified workers for %s tasks yet", row["batch_id"][:12], n)
            return
        leaves = []
        k = len(chosen)
        for g, worker in enumerate(chosen):
            for t in tasks[g * n // k:(g + 1) * n // k]:
                leaves.append(B.Leaf(worker.address, t["ibm"], task_ifx(t["ibm"], worker.price_per_ibm,
                                     job.usd_per_ifx), bytes.fromhex(t["manifest_digest"]), t["frame_start"],
                                     t["frame_end"], t["package_cid"]))
        offer = {"accept_by": now + self.config.offer_timeout, "silent": sorted(silent),
                 "leaves": [B.leaf_to_json(leaf) for leaf in leaves]}
        self.db.execute("DELETE FROM batch_acceptances WHERE batch_id = ?", (row["batch_id"],))
        self.db.execute("UPDATE batches SET status = ?, offer = ?, updated_at = ? WHERE batch_id = ?",
                        (OFFERED, json.dumps(offer), time.time(), row["batch_id"]))
        log.info("batch 0x%s offered to %s (%s tasks), sign by %s", row["batch_id"][:12],
                 ", ".join(c.address for c in chosen), n, offer["accept_by"])

    def _post_or_replan(self, row, now: int) -> None:
        if lane.get_batch(self.chain, bytes.fromhex(row["batch_id"]))["stage"] != 0:  # posted before a crash
            self.db.execute("UPDATE batches SET status = ?, posted_block = ? WHERE batch_id = ?",
                            (POSTED, self.chain.deployments.block_number, row["batch_id"]))
            return
        offer = json.loads(row["offer"])
        leaves = [B.leaf_from_json(leaf) for leaf in offer["leaves"]]
        spans = B.groups(leaves)
        signed = {r["grp"]: r for r in self.db.execute(
            "SELECT * FROM batch_acceptances WHERE batch_id = ? AND accept_by = ?",
            (row["batch_id"], offer["accept_by"])).fetchall()}
        if len(signed) == len(spans) and now + POST_MARGIN < offer["accept_by"]:
            self._post(row, leaves, [(offer["accept_by"], bytes.fromhex(signed[g]["signature"].removeprefix("0x")))
                                     for g in range(len(spans))])
            return
        if now < offer["accept_by"]:
            return
        silent = {span.worker for g, span in enumerate(spans) if g not in signed}
        log.info("batch 0x%s: the offer lapsed unsigned by %s; planning again without them", row["batch_id"][:12],
                 ", ".join(sorted(silent)) or "nobody (signed too late to post)")
        self.db.execute("UPDATE batches SET status = ?, offer = NULL WHERE batch_id = ?", (CLOSED, row["batch_id"]))
        self._offer(row, now, frozenset(silent) | frozenset(offer.get("silent", ())))

    def _post(self, row, leaves: list[B.Leaf], acceptances: list[tuple[int, bytes]]) -> None:
        prepared = lane.prepare(self.chain, row["job_id"], row["nonce"], leaves, row["render_window"],
                                seed=self._seed(row), margin=self.m.config.escrow_margin)
        if prepared.id.hex() != row["batch_id"]:
            raise RuntimeError(f"batch 0x{row['batch_id']} is not this manager's nonce {row['nonce']}")
        try:
            receipt = lane.post(self.chain, prepared, acceptances)
        except TransactionReverted:
            if lane.get_batch(self.chain, prepared.id)["stage"] == 0:
                raise
            receipt = None  # posted before a crash: the chain is the record
        self.db.execute("UPDATE batches SET status = ?, updated_at = ?, posted_block = ? WHERE batch_id = ?",
                        (POSTED, time.time(), receipt["blockNumber"] if receipt else self.chain.block_number(),
                         row["batch_id"]))
        log.info("batch 0x%s posted: %s tasks, %s workers%s", row["batch_id"][:12], len(leaves), len(acceptances),
                 f" (gas {receipt['gasUsed']})" if receipt else "")

    # ------------------------------------------------------------ after the post
    def _reveal(self, row, now: int) -> None:
        batch_id = bytes.fromhex(row["batch_id"])
        record = lane.get_batch(self.chain, batch_id)
        if record["stage"] != lane.RENDERING:
            self.db.execute("UPDATE batches SET status = ? WHERE batch_id = ?", (REVEALED, row["batch_id"]))
            return
        if record["submitted"] < record["workers"] and now <= record["render_ends"]:
            return
        lane.reveal_seed(self.chain, batch_id, self._seed(row))
        self.db.execute("UPDATE batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                        (REVEALED, time.time(), row["batch_id"]))
        log.info("batch 0x%s: seed revealed (%s of %s groups delivered)", row["batch_id"][:12], record["submitted"],
                 record["workers"])

    def _settle(self, row, now: int) -> None:
        batch_id = bytes.fromhex(row["batch_id"])
        record = lane.get_batch(self.chain, batch_id)
        leaves = [B.leaf_from_json(leaf) for leaf in json.loads(row["offer"])["leaves"]]
        if record["stage"] != lane.SETTLED:
            verdict = lane.outcome(self.chain, batch_id)
            if verdict["finalized_at"]:
                if now <= verdict["finalized_at"] + self.m.reads_window("challengeWindow"):
                    return
            elif verdict["members"]:
                # undecided: its last reveal decides, or anyone once the reveal phase is over (members gone quiet)
                if lane.finalize_if_due(self.chain, batch_id, now):
                    log.info("batch 0x%s: committee finalized by the manager", row["batch_id"][:12])
                return  # the challenge window starts at the verdict
            elif now <= record["revealed_at"] + self.m.reads_window("verifyWindow"):
                return  # no committee yet
            try:
                lane.settle(self.chain, batch_id, leaves)
            except TransactionReverted as exc:
                if lane.get_batch(self.chain, batch_id)["stage"] != lane.SETTLED:
                    raise
                log.info("batch 0x%s settled by someone else (%s)", row["batch_id"][:12], exc.reason)
        passed = lane.task_outcomes(self.chain, batch_id, leaves, row["posted_block"] or 0)
        self._record_workers(batch_id, leaves, passed, row["posted_block"] or 0)
        for t, ok in zip(self._tasks(row["batch_id"]), passed):
            if ok:
                status = "passed"
            else:
                attempts = self.db.execute("SELECT attempts FROM lane_tasks WHERE job_id = ? AND task_index = ?",
                                           (t["job_id"], t["task_index"])).fetchone()[0] + 1
                status = "failed" if attempts >= self.config.max_attempts else "pending"
                self.db.execute("UPDATE lane_tasks SET attempts = ? WHERE job_id = ? AND task_index = ?",
                                (attempts, t["job_id"], t["task_index"]))
            self.db.execute("UPDATE lane_tasks SET status = ? WHERE job_id = ? AND task_index = ? AND batch_id = ?",
                            (status, t["job_id"], t["task_index"], row["batch_id"]))
        self.db.execute("UPDATE batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                        (SETTLED, time.time(), row["batch_id"]))
        log.info("batch 0x%s settled: %s of %s tasks passed", row["batch_id"][:12], sum(passed), len(passed))

    def _record_workers(self, batch_id: bytes, leaves: list[B.Leaf], passed: list[bool], from_block: int) -> None:
        """The matcher's record of each worker (``worker_record``, as the single path's TaskSettled / TaskFailed
        keep it): a task passed is a completion, a task the committee failed is a failure (not a task left
        undecided, nor one closed by a bogus manifest the manager is to blame for)."""
        verdict = lane.outcome(self.chain, batch_id)
        bogus = {e.args["index"] for e in self.chain.events("BatchLane", ["BadManifestProven"], from_block,
                                                             self.chain.block_number(), {"batchId": batch_id})}
        for i, (leaf, ok) in enumerate(zip(leaves, passed)):
            if ok:
                column = "completed"
            elif verdict["decided_bits"] >> i & 1 and not verdict["pass_bits"] >> i & 1 and i not in bogus:
                column = "failures"
            else:
                continue
            self.db.execute(f"INSERT INTO worker_record (address, {column}) VALUES (?, 1) ON CONFLICT(address) "
                            f"DO UPDATE SET {column} = worker_record.{column} + 1", (leaf.worker,))
