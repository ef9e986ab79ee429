"""The worker agent's loop. Every step is recorded in SQLite *before* the next one starts, and every
transaction is preceded by a look at the chain, so a restart (or a crash) at any point resumes the task
without sending anything twice:

    assigned ──accept──▶ accepted ──render + pin──▶ rendered ──submitResult──▶ submitted
        └── declined (cannot finish before the deadline, or no longer ours)

A task the agent accepted is never dropped silently: rendering or submission errors are retried until the
deadline, and a missed deadline is logged as an error.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from inferix.chain import ChainError, TransactionReverted
from inferix.service import PollingNode
from inferix.protocol import (IB_ONE, IBM, PACKAGE_ORDER, PACKAGE_SCENE, ROLE_WORKER, TaskState, ensure_staked,
                              get_node, get_task)
from inferix.render import RenderLimitError, SceneRefused, find_devices, render_frames, sandbox
from inferix.render.devices import choose
from inferix.storage import StorageError

log = logging.getLogger("inferix.worker")
SUBMIT_MARGIN = 10  # seconds of the render window kept for pinning and submitting the frames


@dataclass
class WorkerConfig:
    price_per_ibm: int  # USD per IBM, 18 decimals
    stake: int  # IFX wei to keep bonded (at least the minimum stake S(n))
    work_dir: Path
    poll_interval: float = 1.0
    minutes_per_ibm: float = 1.0  # this node's wall minutes per IBM = 1 / IB; refined by the attested IB
    safety: float = 2.0  # accept only if the estimated render time × safety fits the render window
    device: str | None = None  # Cycles device type to render on (--device); None: the best this machine has


class WorkerAgent(PollingNode):
    log = log

    # ------------------------------------------------------------ set-up
    def target_stake(self) -> int:
        """The configured stake, raised to the contract's minimum S(n) = 2 × E × IB × P (``Staking.minStake``, at
        this node's registered price and IB) at today's IFX price plus a 10 % margin (a job locks its own rate, so
        a falling IFX price must not leave the node below S(n))."""
        try:
            rate = self.chain.call("PriceFeedAdapter", "price")
        except TransactionReverted as exc:
            log.warning("price feed unavailable (%s): staking the configured amount", exc.reason)
            return self.config.stake
        minimum = self.chain.call("Staking", "minStake", self.me, rate)
        return max(self.config.stake, minimum * 11 // 10)

    def choose_device(self) -> str:
        """The best Cycles device this machine has (or ``--device``), recorded in the node's status."""
        found = find_devices()
        device = choose(found, self.config.device)
        gpus = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in found.items()) or "no GPU"
        log.info("render device: %s (Cycles finds %s); scene sandbox: %s", device, gpus, sandbox.describe())
        self.db.put("status", {"device": device, "devices": found, "sandbox": sandbox.describe()})
        return device

    def ensure_ready(self) -> None:
        self.device = self.choose_device()
        node = ensure_staked(self.chain, ROLE_WORKER, 0, self.config.price_per_ibm)
        if node.price_per_ibm != self.config.price_per_ibm:
            self.chain.transact("Staking", "setPrice", self.config.price_per_ibm)
        target = self.target_stake()
        if target > self.config.stake:
            log.info("raising the stake to %.2f IFX: the minimum S(n) for $%.4f/IBM", target / 1e18,
                     self.config.price_per_ibm / 1e18)
        node = ensure_staked(self.chain, ROLE_WORKER, target, self.config.price_per_ibm)
        log.info("worker %s ready: stake %.2f IFX, price $%.4f/IBM, IB %s", self.me, node.stake / 1e18,
                 self.config.price_per_ibm / 1e18, node.ib / IB_ONE if node.ib else "not attested yet (1.0 until a manager's benchmark task is verified)")

    # ------------------------------------------------------------ events
    def poll_events(self) -> None:
        start = self.db.cursor("escrow", self.chain.deployments.block_number)
        head = self.chain.block_number()
        if start > head:
            return
        for ev in self.chain.events("JobEscrow", ["TaskPosted", "TaskRekeyed", "TaskAssigned"], start, head):
            a = ev.args
            if ev.name == "TaskPosted":
                self.db.put(f"posted:{a['taskId']}", {"sceneCid": a["sceneCid"], "frames": [a["frameStart"],
                            a["frameEnd"]], "ibm": a["ibm"], "renderWindow": a["renderWindow"]})
            elif ev.name == "TaskRekeyed":  # a re-queued task's next attempt renders its own, newly noised package
                posted = self.db.get(f"posted:{a['taskId']}")
                if posted:
                    self.db.put(f"posted:{a['taskId']}", {**posted, "sceneCid": a["sceneCid"]})
            elif ev.name == "TaskAssigned" and a["worker"] == self.me:
                attempt = get_task(self.chain, a["taskId"]).attempts
                if self.db.task(a["taskId"], attempt) is None:
                    log.info("task %s (attempt %s) assigned to us, accept by %s", a["taskId"], attempt, a["deadline"])
                    self.db.set_task(a["taskId"], attempt, "assigned", acceptBy=a["deadline"])
        self.db.set_cursor("escrow", head + 1)

    # ------------------------------------------------------------ steps
    def _minutes_per_ibm(self) -> float:
        ib = get_node(self.chain, self.me).ib
        return IB_ONE / ib if ib else self.config.minutes_per_ibm

    def _accept(self, task_id: int, attempt: int, data: dict) -> None:
        task = get_task(self.chain, task_id)
        if task.state != TaskState.ASSIGNED or task.worker != self.me or task.attempts != attempt:
            if task.state == TaskState.ACCEPTED and task.worker == self.me and task.attempts == attempt:
                self.db.set_task(task_id, attempt, "accepted", deadline=task.deadline)  # we accepted before a crash
            else:
                self.db.set_task(task_id, attempt, "declined", reason=f"task is {task.state.name}")
            return
        estimate = task.ibm / IBM * self._minutes_per_ibm() * 60 * self.config.safety
        if estimate > task.render_window:
            log.warning("declining task %s: ~%.0f s of rendering (with margin) does not fit its %s s window",
                        task_id, estimate, task.render_window)
            self.db.set_task(task_id, attempt, "declined", reason="cannot finish before the deadline")
            return
        receipt = self.chain.transact("JobEscrow", "accept", task_id)
        deadline = get_task(self.chain, task_id).deadline
        log.info("accepted task %s (tx %s), submit by %s", task_id, receipt["transactionHash"].hex(), deadline)
        self.db.set_task(task_id, attempt, "accepted", deadline=deadline)

    def _render(self, task_id: int, attempt: int, data: dict) -> None:
        posted = self.db.get(f"posted:{task_id}")
        if posted is None:
            raise RuntimeError(f"no TaskPosted event seen for task {task_id}")
        work = Path(self.config.work_dir) / f"task-{task_id}-{attempt}"
        package = work / "package"
        if not (package / PACKAGE_SCENE).exists():
            tmp = work / "download"
            shutil.rmtree(tmp, ignore_errors=True)
            got = self.store.get(posted["sceneCid"], tmp)
            shutil.rmtree(package, ignore_errors=True)
            got.replace(package)
        order = json.loads((package / PACKAGE_ORDER).read_text())
        frames_dir = work / "frames"
        first, last = posted["frames"]
        self._run_blender(package / PACKAGE_SCENE, frames_dir, first, last, order, data.get("deadline"))
        cid = self.store.add_directory(frames_dir)
        log.info("task %s: %s frames pinned as %s", task_id, last - first + 1, cid)
        self.db.set_task(task_id, attempt, "rendered", resultCid=cid)

    def _run_blender(self, blend: Path, out_dir: Path, first: int, last: int, order: dict, deadline) -> None:
        """Render in the sandbox on this node's device, bounded by what is left of the task's render window."""
        timeout = None
        if deadline:
            timeout = deadline - self.chain.w3.eth.get_block("latest")["timestamp"] - SUBMIT_MARGIN

        def progress(done: str, frame: str, seconds: str) -> None:
            log.info("rendering on %s: %s frames (frame %s in %s s)", self.device, done, frame, seconds)

        render_frames(blend, out_dir, first, last, order, device=self.device, timeout=timeout, on_progress=progress)

    def _submit(self, task_id: int, attempt: int, data: dict) -> None:
        task = get_task(self.chain, task_id)
        if task.attempts != attempt or task.worker != self.me:
            self.db.set_task(task_id, attempt, "lost", reason=f"task is {task.state.name}")
            return
        if task.state != TaskState.ACCEPTED:
            # already submitted (a crash after sending), or expired
            status = "submitted" if task.state >= TaskState.SUBMITTED else "lost"
            self.db.set_task(task_id, attempt, status, reason=f"chain says {task.state.name}")
            return
        receipt = self.chain.transact("JobEscrow", "submitResult", task_id, data["resultCid"])
        log.info("task %s submitted (tx %s)", task_id, receipt["transactionHash"].hex())
        self.db.set_task(task_id, attempt, "submitted", tx=receipt["transactionHash"].hex())

    def task_steps(self) -> dict:
        return {"assigned": self._accept, "accepted": self._render, "rendered": self._submit}

    def task_failed(self, task_id: int, attempt: int, status: str, data: dict, exc: Exception) -> bool:
        if isinstance(exc, (RenderLimitError, SceneRefused)):  # rendering again would break it again
            log.error("task %s FAILED: %s", task_id, exc)
            self.db.set_task(task_id, attempt, "failed", reason=str(exc)[:300])
        elif isinstance(exc, TransactionReverted):
            log.error("task %s: %s", task_id, exc)
            if status == "assigned":
                self.db.set_task(task_id, attempt, "declined", reason=exc.reason)
        elif isinstance(exc, (StorageError, ChainError, RuntimeError, OSError)):
            deadline = data.get("deadline") or data.get("acceptBy") or 0
            now = self.chain.w3.eth.get_block("latest")["timestamp"]
            if deadline and now > deadline:
                log.error("task %s MISSED its deadline while %s: %s", task_id, status, exc)
                self.db.set_task(task_id, attempt, "missed", reason=str(exc)[:300])
            else:
                log.warning("task %s: %s failed, will retry: %s", task_id, status, exc)
        else:
            return False
        return True
