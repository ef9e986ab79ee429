"""The manager's coordination loop: prepare the tasks of new jobs (noise embedding, seeds sealed at rest),
post them, match them to workers, reveal keys after submission, keep per-region scores, and push
deadlines and settlement along (both permissionless).

Every step is idempotent and driven by the chain's state plus this process's SQLite tables, so a restart
resumes without posting, assigning or revealing twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from web3.logs import DISCARD

from backend.batching import BatchConfig, Batcher
from backend.db import AnyRow, Connection
from backend.quote import output_settings
from backend.state import scene_path
from backend.matcher import Candidate, choose
from backend.taskprep import prepare_task
from backend.workerbench import BenchmarkOrder, BenchmarkScene, benchmark_budget, make_benchmark_scene
from inferix.chain import Chain, ChainError, TransactionReverted
from inferix.render import RenderLimitError, SceneRefused
from inferix.protocol import (ESCROW_MARGIN_S, IFX, ROLE_MANAGER, ROLE_WORKER, TaskState, ensure_staked,
                              escrow_clock, get_job, get_node, get_task, seed_escrow)
from inferix.sealing import seal, unseal
from inferix.service import run_loop
from inferix.storage import IPFSStore, StorageError

log = logging.getLogger("inferix.manager")

POST_BATCH = 32
FINAL_STATES = (TaskState.SETTLED, TaskState.FAILED, TaskState.CANCELLED)
UNFUNDED_RETRY_S = 300
BENCHMARK_RETRY_S = 60


def load_seed_key(path: Path) -> bytes:
    """The 32-byte key that seals task seeds at rest (created with mode 0600 on first use)."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
    key = path.read_bytes()
    if len(key) != 32:
        raise ValueError(f"{path} must hold exactly 32 bytes")
    return key


@dataclass
class ManagerConfig:
    stake: int
    seed_key: bytes
    work_dir: Path
    render_window: int = 1800
    poll_interval: float = 1.0
    max_failures: int = 2
    max_in_flight: int = 2
    benchmark: BenchmarkOrder | None = None  # post a paid benchmark task to each worker without an attested IB
    prepare_timeout: float = 3600.0  # seconds of Blender for one task's noise insertion
    # how long a posted task may wait for a worker before its seed escrow is too close to opening and it is
    # re-noised; also how long past its windows a worker waits for the escrow if this manager vanishes
    escrow_margin: int = ESCROW_MARGIN_S
    # creators' jobs go through the batch lane (docs/protocol.md, "Batches in the services"); None: the single path
    batches: BatchConfig | None = field(default_factory=BatchConfig)


def _job_args(args: dict) -> dict:
    """What preparing a job needs of its ``JobCreated`` event."""
    return {k: args[k] for k in ("sceneCid", "frameStart", "frameEnd", "outputSettings")}


class _StepReads:
    """Chain state that matching reads, fetched at most once per step: assignments do not change it (stake is
    locked when the worker accepts), so every posted task of a step is matched against the same reads."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._cache: dict[tuple, object] = {}

    def _get(self, key: tuple, read):
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def job(self, job_id: int):
        return self._get(("job", job_id), lambda: get_job(self.chain, job_id))

    def node(self, address: str):
        return self._get(("node", address), lambda: get_node(self.chain, address))

    def min_stake(self, address: str, usd_per_ifx: int) -> int:
        return self._get(("minStake", address, usd_per_ifx),
                         lambda: self.chain.call("Staking", "minStake", address, usd_per_ifx))

    def collateral_bps(self) -> int:
        return self._get(("collateralBps",), lambda: self.chain.call("JobEscrow", "collateralBps"))

    def escrow_clock(self):
        return self._get(("escrowClock",), lambda: escrow_clock(self.chain))


class Manager:
    def __init__(self, chain: Chain, store: IPFSStore, conn: Connection, config: ManagerConfig) -> None:
        self.chain = chain
        self.store = store
        self.db = conn
        self.config = config
        self.me = chain.address
        self.stop = threading.Event()
        self._unfunded_until: dict[str, float] = {}  # benchmarks postponed for lack of IFX, retried after this
        self._benchmarks_after = 0.0  # after a failure (stale price, render error), benchmarks wait until then
        self.batcher = Batcher(self, config.batches) if config.batches else None

    def chain_now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def reads_window(self, name: str) -> int:
        """A window of the escrow's (``challengeWindow``, ``verifyWindow``, ...), read once per process: governance
        changes them rarely, and a stale value only delays a step (the contract has the last word)."""
        cache = self.__dict__.setdefault("_windows", {})
        if name not in cache:
            cache[name] = self.chain.call("JobEscrow", name)
        return cache[name]

    def ensure_ready(self) -> None:
        node = ensure_staked(self.chain, ROLE_MANAGER, self.config.stake)
        log.info("manager %s ready: stake %.2f IFX", self.me, node.stake / 1e18)

    # ------------------------------------------------------------ events
    def _cursor(self) -> int:
        row = self.db.execute("SELECT block FROM manager_cursor WHERE name = 'escrow'").fetchone()
        return row[0] if row else self.chain.deployments.block_number

    def poll_events(self) -> None:
        """Read new escrow and staking events once (a cursor in the database) into the manager's tables."""
        start, head = self._cursor(), self.chain.block_number()
        if start > head:
            return
        events = (self.chain.events("JobEscrow", ["JobCreated", "TaskPosted", "ResultSubmitted", "TaskFailed",
                                                  "TaskSettled"], start, head)
                  + self.chain.events("Staking", ["Registered"], start, head))
        for ev in sorted(events, key=lambda e: (e.block, e.log_index)):
            a = ev.args
            if ev.name == "JobCreated" and a["manager"] == self.me:
                self.db.execute("INSERT INTO prepared_jobs (job_id, status, updated_at, event) "
                                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                (a["jobId"], "pending", time.time(), json.dumps(_job_args(a))))
                self._link_benchmark(a["jobId"], a["outputSettings"])
            elif ev.name == "TaskPosted":
                self.db.execute("UPDATE seeds SET task_id = ? WHERE key_commit = ?",
                                (a["taskId"], a["keyCommit"].hex()))
            elif ev.name == "ResultSubmitted":
                self.db.execute("UPDATE seeds SET result_cid = ? WHERE task_id = ?", (a["resultCid"], a["taskId"]))
            elif ev.name in ("TaskFailed", "TaskSettled") and a["worker"] != "0x" + "00" * 20:
                column = "failures" if ev.name == "TaskFailed" else "completed"
                self.db.execute(f"INSERT INTO worker_record (address, {column}) VALUES (?, 1) ON CONFLICT(address) "
                                f"DO UPDATE SET {column} = worker_record.{column} + 1", (a["worker"],))
            elif ev.name == "Registered" and a["role"] == ROLE_WORKER:
                self.db.execute("INSERT INTO known_workers (address) VALUES (?) ON CONFLICT DO NOTHING",
                                (a["account"],))
        self.db.execute("INSERT INTO manager_cursor (name, block) VALUES ('escrow', ?) "
                        "ON CONFLICT(name) DO UPDATE SET block = excluded.block", (head + 1,))

    # ------------------------------------------------------------ preparation
    def prepare_jobs(self) -> None:
        """Prepare the pending jobs' tasks, a few per call: the coordination step (reveals, assignments, settlements)
        runs between two preparations (on the single path) or beside them (batches are noised on a thread), so that
        a long job never holds up the tasks in flight. A job is posted as soon as its last task is prepared."""
        if self.batcher and (running := self.batcher.running_job()) is not None:
            if self._guarded(running, self.batcher.collect) is False:
                return  # still noising
            self._mark_posted(running)
        jobs = [row[0] for row in self.db.execute("SELECT job_id FROM prepared_jobs WHERE status = 'pending'").fetchall()]
        if self.batcher:  # tasks that failed in a batch come back to be prepared again
            jobs += [job for job in self.batcher.pending_jobs() if job not in jobs]
        for job_id in jobs:
            if self._guarded(job_id, lambda: self._prepare_job(job_id)) is False:
                return  # tasks prepared (or being prepared), more to go: the next step goes on

    def _guarded(self, job_id: int, work):
        """``work()``'s value, or None when it failed: the scene's fault rejects the job (retrying would fail again),
        an outage is retried by a later step."""
        try:
            return work()
        except (SceneRefused, RenderLimitError) as exc:
            log.error("job %s cannot be prepared: %s", job_id, exc)
            self._reject(job_id, exc)
        except (StorageError, ChainError, RuntimeError, OSError) as exc:
            log.warning("job %s: preparation failed, will retry: %s", job_id, exc)
        except ValueError as exc:
            log.error("job %s cannot be prepared: %s", job_id, exc)
            self._reject(job_id, exc)
        return None

    def _reject(self, job_id: int, exc: Exception) -> None:
        self.db.execute("UPDATE prepared_jobs SET status = 'rejected', error = ?, updated_at = ? WHERE job_id = ?",
                        (str(exc)[:500], time.time(), job_id))

    def _mark_posted(self, job_id: int) -> None:
        """A batched job none of whose tasks waits for preparation any more."""
        if not self.batcher.has_pending(job_id):
            self.db.execute("UPDATE prepared_jobs SET status = 'posted', updated_at = ? WHERE job_id = ? "
                            "AND status = 'pending'", (time.time(), job_id))

    def _job_event(self, job_id: int) -> dict:
        row = self.db.execute("SELECT event FROM prepared_jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is not None and row["event"] is not None:
            return json.loads(row["event"])
        # a job recorded before its arguments were kept (app migration 3): read its JobCreated once, by topic
        found = self.chain.events("JobEscrow", ["JobCreated"], self.chain.deployments.block_number,
                                  self.chain.block_number(), where={"jobId": job_id})
        if not found:
            raise RuntimeError(f"JobCreated of job {job_id} not found on chain")
        job = _job_args(found[0].args)
        self.db.execute("UPDATE prepared_jobs SET event = ? WHERE job_id = ?", (json.dumps(job), job_id))
        return job

    def _job_order(self, job_id: int) -> tuple[Path, dict, dict]:
        """The job's scene (a local copy), its render order and its quote."""
        event = self._job_event(job_id)
        try:
            settings = json.loads(event["outputSettings"])
            quote_id = settings["q"]
        except (ValueError, KeyError, TypeError):
            raise ValueError("output settings do not name a quote of this manager") from None
        row = self.db.execute("SELECT body FROM quotes WHERE id = ?", (quote_id,)).fetchone()
        if row is None:
            raise ValueError(f"unknown quote {quote_id}")
        quote = json.loads(row["body"])
        if (quote["scene_cid"], quote["frame_start"], quote["frame_end"]) != (
                event["sceneCid"], event["frameStart"], event["frameEnd"]):
            raise ValueError("the job does not match its quote (scene or frames differ)")
        kind = self.db.execute("SELECT kind FROM scenes WHERE cid = ?", (quote["scene_cid"],)).fetchone()
        scene = scene_path(self.config.work_dir, quote["scene_cid"], kind["kind"] if kind else "blend")
        if not scene.exists():
            scene.parent.mkdir(parents=True, exist_ok=True)
            scene.write_bytes(self.store.cat(quote["scene_cid"]))
        order = {"width": quote["width"], "height": quote["height"], "samples": quote["samples"],
                 "denoise": bool(quote["denoise"]), "seed": 0}
        return scene, order, quote

    def _prepare_job(self, job_id: int) -> bool:
        """Prepare the job's next unprepared task; post the job once none is left. True once it is posted (in
        batches: True when nothing was left to prepare)."""
        if self.batcher and not self._benchmarked_worker(job_id):
            worked = self.batcher.prepare_job(job_id)
            if not worked:
                self._mark_posted(job_id)
            return not worked
        scene, order, quote = self._job_order(job_id)
        one_done = False
        for index, task in enumerate(quote["tasks"]):
            if self.db.execute("SELECT 1 FROM seeds WHERE job_id = ? AND task_index = ?", (job_id, index)).fetchone():
                continue
            if one_done:
                return False
            one_done = True
            predicted = self.chain.call("JobEscrow", "taskCount") + 1 + index
            prepared = prepare_task(self.store, scene, self.config.work_dir / "tasks" / f"job-{job_id}" / f"task-{index}",
                                    predicted, (task["frame_start"], task["frame_end"]), order,
                                    timeout=self.config.prepare_timeout)
            self.db.execute("INSERT INTO seeds (key_commit, job_id, task_index, sealed_seed, package_cid, ibm, "
                            "frame_start, frame_end, manifest_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (prepared.key_commit.hex(), job_id, index, seal(prepared.seed, self.config.seed_key,
                             b"task-seed"), prepared.package_cid, task["ibm"], task["frame_start"], task["frame_end"],
                             prepared.sealed_digest.hex()))
            log.info("job %s: task %s/%s prepared (package %s)", job_id, index + 1, len(quote["tasks"]),
                     prepared.package_cid)
        self._post(job_id)
        if self._benchmarked_worker(job_id) and not get_job(self.chain, job_id).closed:
            # closed at once: a failed or expired benchmark is not re-queued, and what is left is refunded
            self.chain.transact("JobEscrow", "closeJob", job_id)
        self.db.execute("UPDATE prepared_jobs SET status = 'posted', updated_at = ? WHERE job_id = ?",
                        (time.time(), job_id))
        return True

    def _post(self, job_id: int) -> None:
        rows = self.db.execute("SELECT * FROM seeds WHERE job_id = ? AND task_id IS NULL ORDER BY task_index",
                               (job_id,)).fetchall()
        for start in range(0, len(rows), POST_BATCH):
            batch = rows[start:start + POST_BATCH]
            clock, now = escrow_clock(self.chain), self.chain.w3.eth.get_block("latest")["timestamp"]
            specs = []
            for r in batch:  # each seed is time-locked to a beacon round from the moment its task is posted
                escrow = clock.lock(unseal(r["sealed_seed"], self.config.seed_key, b"task-seed"), now,
                                    self.config.render_window, self.config.escrow_margin)
                specs.append((r["ibm"], bytes.fromhex(r["key_commit"]), bytes.fromhex(r["manifest_digest"]), *escrow,
                              r["frame_start"], r["frame_end"], self.config.render_window, r["package_cid"]))
            receipt = self.chain.transact("JobEscrow", "postTasks", job_id, specs)
            for ev in self.chain.contract("JobEscrow").events.TaskPosted().process_receipt(receipt):
                self.db.execute("UPDATE seeds SET task_id = ? WHERE key_commit = ?",
                                (ev["args"]["taskId"], ev["args"]["keyCommit"].hex()))
            log.info("job %s: %s tasks posted", job_id, len(batch))

    # ------------------------------------------------------------ matching, reveals, deadlines
    def _my_tasks(self) -> list[AnyRow]:
        """The posted tasks not yet seen in a final state (a step reads each of them from the chain)."""
        return self.db.execute("SELECT * FROM seeds WHERE task_id IS NOT NULL AND ended = 0 ORDER BY task_id"
                               ).fetchall()

    def _candidates(self, usd_per_ifx: int, in_flight: dict[str, int], reads: _StepReads) -> list[Candidate]:
        out = []
        for (address,) in self.db.execute("SELECT address FROM known_workers").fetchall():
            node = reads.node(address)
            record = self.db.execute("SELECT failures FROM worker_record WHERE address = ?", (address,)).fetchone()
            out.append(Candidate(address, node.price_per_ibm, node.stake - node.unbonding, node.locked,
                                 reads.min_stake(address, usd_per_ifx), record[0] if record else 0,
                                 in_flight.get(address, 0)))
        return out

    def step_tasks(self) -> None:
        settle: list[int] = []
        now = self.chain.w3.eth.get_block("latest")["timestamp"]
        mine = [(row, get_task(self.chain, row["task_id"])) for row in self._my_tasks()]
        in_flight: dict[str, int] = {}
        reads = _StepReads(self.chain)
        for _, task in mine:
            if task.state in (TaskState.ASSIGNED, TaskState.ACCEPTED):
                in_flight[task.worker] = in_flight.get(task.worker, 0) + 1
        for row, task in mine:
            task_id = task.task_id
            if task.state in FINAL_STATES:  # settled, failed or cancelled: nothing left to do, never read again
                self.db.execute("UPDATE seeds SET ended = 1 WHERE task_id = ?", (task_id,))
                continue
            try:
                if task.needs_key or (task.state == TaskState.POSTED and not reads.escrow_clock().holds(task, now)):
                    try:
                        self._rekey(row, task)
                    except (SceneRefused, RenderLimitError, StorageError, OSError, ValueError) as exc:
                        log.warning("task %s: not re-noised yet, will retry: %s", task_id, exc)
                elif task.state == TaskState.POSTED:
                    worker = self._assign(task, in_flight, reads)
                    if worker:
                        in_flight[worker] = in_flight.get(worker, 0) + 1
                elif task.state == TaskState.SUBMITTED and not row["revealed"]:
                    seed = unseal(row["sealed_seed"], self.config.seed_key, b"task-seed")
                    self.chain.transact("JobEscrow", "revealKey", task_id, seed)
                    self.db.execute("UPDATE seeds SET revealed = 1 WHERE task_id = ?", (task_id,))
                    log.info("task %s: key revealed", task_id)
                elif task.state in (TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.REVEALED) and now > task.deadline:
                    self.chain.transact("JobEscrow", "expire", task_id)
                    log.info("task %s: expired in state %s", task_id, task.state.name)
                elif task.state == TaskState.VERIFIED and now > task.deadline:
                    settle.append(task_id)
                if task.state == TaskState.VERIFIED:
                    self._record_scores(row, task)
                if task.state in (TaskState.POSTED, TaskState.ASSIGNED) and row["revealed"]:
                    self.db.execute("UPDATE seeds SET revealed = 0 WHERE task_id = ?", (task_id,))  # re-queued
            except TransactionReverted as exc:
                log.warning("task %s: %s", task_id, exc)
        if settle:
            try:
                self.chain.transact("JobEscrow", "settle", settle)
                log.info("settled tasks %s", settle)
            except TransactionReverted as exc:
                log.warning("settle %s: %s", settle, exc)

    def _rekey(self, row: AnyRow, task) -> None:
        """A re-queued task (everything of the failed attempt was revealed), or one that waited so long for a worker
        that its seed escrow is about to open: it gets a fresh seed, a newly noised package, a new sealed manifest
        and a new seed escrow (committed on chain by ``rekey``)."""
        scene, order, _ = self._job_order(task.job_id)
        work = (self.config.work_dir / "tasks" / f"job-{task.job_id}" /
                f"task-{row['task_index']}-{task.attempts}-{time.time_ns()}")
        prepared = prepare_task(self.store, scene, work, task.task_id, (row["frame_start"], row["frame_end"]), order,
                                timeout=self.config.prepare_timeout)
        escrow = seed_escrow(self.chain, prepared.seed, task.render_window, self.config.escrow_margin)
        self.chain.transact("JobEscrow", "rekey", task.task_id, prepared.key_commit, prepared.sealed_digest, *escrow,
                            prepared.package_cid)
        self.db.execute("UPDATE seeds SET key_commit = ?, sealed_seed = ?, package_cid = ?, manifest_digest = ?, "
                        "attempt = ?, revealed = 0, result_cid = NULL WHERE task_id = ?",
                        (prepared.key_commit.hex(), seal(prepared.seed, self.config.seed_key, b"task-seed"),
                         prepared.package_cid, prepared.sealed_digest.hex(), task.attempts, task.task_id))
        log.info("task %s: attempt %s re-noised with a fresh key (package %s)", task.task_id, task.attempts + 1,
                 prepared.package_cid)

    def _record_scores(self, row: AnyRow, task) -> None:
        """Per-frame, per-region ANGV scores of a verified attempt (for the API), computed with the seed this
        manager holds exactly as the oracles compute them."""
        from oracle.angv.task import VerificationUnavailable, open_manifest, verify_result

        if self.db.execute("SELECT 1 FROM task_scores WHERE task_id = ? AND attempt = ?",
                           (task.task_id, task.attempts)).fetchone():
            return
        cid = row["result_cid"]
        if not cid:
            return
        try:
            seed = unseal(row["sealed_seed"], self.config.seed_key, b"task-seed")
            manifest = open_manifest(self.store, row["package_cid"], seed, bytes.fromhex(row["key_commit"]))
            verdict = verify_result(self.store, cid, manifest)
            cids = {e["name"]: e["cid"] for e in self.store.ls(cid)}
        except (VerificationUnavailable, StorageError) as exc:
            log.warning("task %s: scores not recorded: %s", task.task_id, exc)
            return
        from inferix.protocol import frame_name

        for frame in manifest.frames:
            detail = verdict.frames.get(frame, {})
            scores = [{"region": i, "e": e} for i, e in enumerate(detail.get("regions", []))]
            self.db.execute("INSERT INTO task_scores (task_id, attempt, frame, scores_json, frame_cid) "
                            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            (task.task_id, task.attempts, frame, json.dumps(scores), cids.get(frame_name(frame))))

    def _assign(self, task, in_flight: dict[str, int], reads: _StepReads) -> str | None:
        worker = self._benchmarked_worker(task.job_id)
        if worker:
            self.chain.transact("JobEscrow", "assign", task.task_id, worker)
            log.info("task %s: benchmark assigned to %s", task.task_id, worker)
            return worker
        job = reads.job(task.job_id)
        choice = choose(self._candidates(job.usd_per_ifx, in_flight, reads), task.ibm, job.max_price_per_ibm,
                        job.usd_per_ifx, self.config.max_failures, self.config.max_in_flight,
                        collateral_bps=reads.collateral_bps())
        if choice is None:
            log.debug("task %s: no qualified worker available", task.task_id)
            return None
        self.chain.transact("JobEscrow", "assign", task.task_id, choice.address)
        log.info("task %s assigned to %s (price $%.4f/IBM)", task.task_id, choice.address, choice.price_per_ibm / 1e18)
        return choice.address

    # ------------------------------------------------------------ benchmarks of new workers
    def _benchmarked_worker(self, job_id: int) -> str | None:
        row = self.db.execute("SELECT worker FROM benchmarks WHERE job_id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def _link_benchmark(self, job_id: int, settings: str) -> None:
        try:
            quote_id = json.loads(settings).get("q")
        except (ValueError, AttributeError):
            return
        self.db.execute("UPDATE benchmarks SET job_id = ? WHERE quote_id = ? AND job_id IS NULL", (job_id, quote_id))

    def _benchmark_scene(self) -> BenchmarkScene:
        order = self.config.benchmark
        ibm = self.chain.call("JobEscrow", "benchmarkWork")
        key = json.dumps({**order.to_dict(), "ibm": ibm}, sort_keys=True)
        row = self.db.execute("SELECT body FROM benchmark_scenes WHERE order_key = ?", (key,)).fetchone()
        if row:
            return BenchmarkScene(**json.loads(row[0]))
        scene = make_benchmark_scene(self.store, self.config.work_dir, order, ibm)
        log.info("benchmark scene %s: W_t = %.4f IBM for %s", scene.cid, scene.ibm / 1e6, order)
        self.db.execute("INSERT INTO benchmark_scenes (order_key, body) VALUES (?, ?) "
                        "ON CONFLICT(order_key) DO UPDATE SET body = excluded.body",
                        (key, json.dumps(scene.__dict__)))
        return scene

    def step_benchmarks(self) -> None:
        """Post one benchmark task (at most one per step) to a registered worker that has no attested IB, has
        bonded its minimum stake, and has not been benchmarked by this manager yet. The manager is the job's
        creator and pays the worker's own price for it."""
        if self.config.benchmark is None:
            return
        waiting = self.db.execute("SELECT address FROM known_workers WHERE address NOT IN "
                                  "(SELECT worker FROM benchmarks)").fetchall()
        if not waiting:
            return
        rate = self.chain.call("PriceFeedAdapter", "price")
        for (address,) in waiting:
            if time.monotonic() < self._unfunded_until.get(address, 0):
                continue
            node = get_node(self.chain, address)
            if node.ib:  # attested already (by another manager's benchmark): nothing to do for this worker
                self.db.execute("INSERT INTO benchmarks (worker, created_at) VALUES (?, ?)", (address, time.time()))
                continue
            if node.stake - node.unbonding < self.chain.call("Staking", "minStake", address, rate):
                continue  # not ready to accept yet
            self._post_benchmark(address, node.price_per_ibm, rate)
            return

    def _post_benchmark(self, worker: str, price_per_ibm: int, rate: int) -> None:
        scene = self._benchmark_scene()
        order = self.config.benchmark
        budget = benchmark_budget(scene.ibm, price_per_ibm, rate)
        escrow = self.chain.deployments.address("JobEscrow")
        if self.chain.call("JobEscrow", "claimable", self.me) > 0:
            self.chain.transact("JobEscrow", "withdraw")  # refunds of earlier benchmarks
        balance = self.chain.call("IFXToken", "balanceOf", self.me)
        if balance < budget:
            log.warning("benchmark of %s postponed for %d s: it needs %.4f IFX, the manager holds %.4f", worker,
                        UNFUNDED_RETRY_S, budget / IFX, balance / IFX)
            self._unfunded_until[worker] = time.monotonic() + UNFUNDED_RETRY_S
            return
        quote_id = os.urandom(8).hex()
        body = {"scene_cid": scene.cid, "frame_start": 1, "frame_end": order.frames, "width": order.width,
                "height": order.height, "samples": order.samples, "denoise": False, "frames_per_task": order.frames,
                "benchmark": True, "tasks": [{"frame_start": 1, "frame_end": order.frames, "ibm": scene.ibm}]}
        self.db.execute("INSERT INTO quotes (id, owner, scene_cid, body, created_at) VALUES (?, ?, ?, ?, ?)",
                        (quote_id, self.me, scene.cid, json.dumps(body), time.time()))
        self.db.execute("INSERT INTO scenes (cid, owner, filename, size, kind, metadata, created_at) "
                        "VALUES (?, ?, ?, ?, 'blend', '{}', ?) ON CONFLICT DO NOTHING",
                        (scene.cid, self.me, "benchmark.blend", scene.size, time.time()))
        # recorded before the job exists: a crash after createJob still links the job (poll_events), and the
        # worker is never benchmarked twice by this manager
        self.db.execute("INSERT INTO benchmarks (worker, quote_id, created_at) VALUES (?, ?, ?)",
                        (worker, quote_id, time.time()))
        try:
            if self.chain.call("IFXToken", "allowance", self.me, escrow) < budget:
                self.chain.transact("IFXToken", "approve", escrow, budget)
            receipt = self.chain.transact("JobEscrow", "createBenchmarkJob", self.me, scene.cid, 1, order.frames,
                                          output_settings(quote_id, body), price_per_ibm, budget)
        except TransactionReverted:
            self.db.execute("DELETE FROM benchmarks WHERE worker = ?", (worker,))  # surely no job: try again later
            raise
        for ev in self.chain.contract("JobEscrow").events.JobCreated().process_receipt(receipt, errors=DISCARD):
            self.db.execute("UPDATE benchmarks SET job_id = ? WHERE worker = ?", (ev["args"]["jobId"], worker))
            log.info("job %s: benchmark of %s (%.4f IBM at $%.4f/IBM)", ev["args"]["jobId"], worker, scene.ibm / 1e6,
                     price_per_ibm / 1e18)

    def run_once(self) -> None:
        self.poll_events()
        if time.monotonic() >= self._benchmarks_after:
            try:
                self.step_benchmarks()
            except (StorageError, RuntimeError, OSError) as exc:  # ChainError is a RuntimeError
                log.warning("benchmark not posted, will retry in %d s: %s", BENCHMARK_RETRY_S, exc)
                self._benchmarks_after = time.monotonic() + BENCHMARK_RETRY_S
        self.prepare_jobs()
        self.step_tasks()
        if self.batcher:
            self.batcher.step()

    def run(self) -> None:
        self.ensure_ready()
        run_loop(self.run_once, self.config.poll_interval, self.stop, log, "manager")
