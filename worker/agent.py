"""The worker agent's loop. Every step is recorded in SQLite *before* the next one starts, and every
transaction is preceded by a look at the chain, so a restart (or a crash) at any point resumes the task
without sending anything twice:

    assigned ──accept──▶ accepted ──render + pin──▶ rendered ──submitResult──▶ submitted
        └── declined (cannot finish before the deadline, or no longer ours)

    submitted ──verdict──▶ done (PASS; a FAIL left alone; the task moved on)
        └── challenge (a FAIL our own check refutes) ──▶ challenged ──the arbiter's ruling──▶ done

A task the agent accepted is never dropped silently: rendering or submission errors are retried until the
deadline, and a missed deadline is logged as an error.

After submitting, the agent follows its attempt to the committee's verdict. A FAIL it can refute is challenged
(``WorkerConfig.challenge``, ``--no-challenge`` turns it off): the agent opens the task's sealed manifest with the
seed revealed on chain (``KeyRevealed``) and checks its own frames with ANGV, as an oracle does; only if they pass
does it bond ``JobEscrow.bondFor(taskId)`` and call ``challenge`` within the challenge window (a FAIL that its own
check confirms is left alone: the arbiter would keep the bond). ``challenged`` then waits for the arbiter.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from inferix.chain import ChainError, TransactionReverted
from inferix.service import PollingNode, Waiting
from inferix.protocol import (IB_ONE, IBM, PACKAGE_ORDER, PACKAGE_SCENE, ROLE_WORKER, NodeView, TaskState,
                              challenge_verdict, ensure_staked, get_node, get_task)
from inferix.render import RenderLimitError, SceneRefused, find_devices, render_frames, render_many, sandbox
from inferix.render.devices import choose
from inferix.storage import StorageError
from oracle.angv.task import VerificationUnavailable, open_manifest, verify_result

log = logging.getLogger("inferix.worker")
SUBMIT_MARGIN = 10  # seconds of the render window kept for pinning and submitting the frames
STAKE_CHECK = 300  # seconds between two checks of the stake against S(n) (at once when a new IB is attested)


@dataclass
class WorkerConfig:
    price_per_ibm: int  # USD per IBM, 18 decimals
    stake: int  # IFX wei to keep bonded (at least the minimum stake S(n))
    work_dir: Path
    poll_interval: float = 1.0
    minutes_per_ibm: float = 1.0  # this node's wall minutes per IBM = 1 / IB; refined by the attested IB
    safety: float = 2.0  # accept only if the estimated render time × safety fits the render window
    device: str | None = None  # Cycles device type to render on (--device); None: the best this machine has
    challenge: bool = True  # challenge a FAIL verdict on our frames when our own ANGV check passes them
    managers: tuple[str, ...] = ()  # managers whose batch offers to poll (--manager); none: the single path only
    max_batches: int = 1  # batches signed and not yet submitted at once
    offer_poll: float = 2.0  # seconds between two polls of the managers' offers
    offer_timeout: float = 5.0  # seconds a manager has to answer
    max_accept_wait: int = 3600  # refuse an offer whose accept_by would hold our capacity longer than this


class WorkerAgent(PollingNode):
    log = log

    def __init__(self, chain, store, db, config: WorkerConfig) -> None:
        super().__init__(chain, store, db, config)
        from worker.batches import BatchWork

        self.lane = BatchWork(self)
        self._stake_checked = 0.0  # monotonic time of the last keep_staked
        self._short_of: int | None = None  # the target a too-small balance was last reported for

    def step(self) -> None:
        """The single path's events and tasks, then the lane's offers and batches (each batch's failure is caught
        there; a failure of the single path's step still lets the lane run)."""
        try:
            super().step()
        finally:
            if not self.stop.is_set():
                self.lane.step()

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

    def keep_staked(self) -> NodeView:
        """Top the bonded stake up to :meth:`target_stake` from this account's balance. Called at start, when a
        benchmark attests a new IB (S(n) grows with it: a worker left below it is offered no work) and every
        ``STAKE_CHECK`` s (a falling IFX price raises S(n) too). What the balance cannot cover is said once."""
        self._stake_checked = time.monotonic()
        target = self.target_stake()
        node = get_node(self.chain, self.me)
        bonded = node.stake - node.unbonding
        if bonded >= target:
            return node
        balance = self.chain.call("IFXToken", "balanceOf", self.me)
        reach = min(target, bonded + balance)
        if reach < target and self._short_of != target:
            log.warning("the stake %.2f IFX is below the %.2f IFX this node needs (the minimum S(n) at IB %s, +10 %%) "
                        "and the balance covers only %.2f IFX more: no manager offers this node work until it is "
                        "topped up", bonded / 1e18, target / 1e18, node.ib / IB_ONE if node.ib else 1.0,
                        balance / 1e18)
            self._short_of = target
        if reach > bonded:
            if target > self.config.stake:
                log.info("raising the stake to %.2f IFX: the minimum S(n) for $%.4f/IBM at IB %s", reach / 1e18,
                         self.config.price_per_ibm / 1e18, node.ib / IB_ONE if node.ib else 1.0)
            node = ensure_staked(self.chain, ROLE_WORKER, reach, self.config.price_per_ibm)
        return node

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
        node = self.keep_staked()
        log.info("worker %s ready: stake %.2f IFX, price $%.4f/IBM, IB %s", self.me, node.stake / 1e18,
                 self.config.price_per_ibm / 1e18, node.ib / IB_ONE if node.ib else "not attested yet (1.0 until a manager's benchmark task is verified)")

    # ------------------------------------------------------------ events
    def poll_events(self) -> None:
        start = self.db.cursor("escrow", self.chain.deployments.block_number)
        head = self.chain.block_number()
        if start > head:
            return
        ours = None  # the tasks we are rendering or following, read once if a key is revealed
        names = ["TaskPosted", "TaskRekeyed", "TaskAssigned", "KeyRevealed"]
        for ev in self.chain.events("JobEscrow", names, start, head):
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
                known = self.db.task(a["taskId"], attempt)
                # an expired assignment consumes no attempt: the same attempt assigned to us again (a later accept-by)
                # after we declined or missed it is a new offer, not one already seen
                again = known is not None and known[0] in ("declined", "missed") and \
                    a["deadline"] > known[1].get("acceptBy", 0)
                if known is None or again:
                    log.info("task %s (attempt %s) assigned to us%s, accept by %s", a["taskId"], attempt,
                             " again" if again else "", a["deadline"])
                    self.db.set_task(a["taskId"], attempt, "assigned", acceptBy=a["deadline"])
            elif ev.name == "KeyRevealed":  # the seed that opens the manifest: to check our frames against a FAIL
                if ours is None:
                    ours = {t for t, *_ in self.db.tasks("accepted", "rendered", "submitted")}
                if a["taskId"] in ours:  # the latest reveal wins; _follow checks it against the attempt's commitment
                    self.db.put(f"revealed:{a['taskId']}", {"seed": bytes(a["seed"]).hex(), "revealer": a["revealer"],
                                                            "late": a["late"]})
        attested = self.chain.events("Staking", ["IBSet"], start, head, {"worker": self.me})
        self.db.set_cursor("escrow", head + 1)
        if attested or time.monotonic() - self._stake_checked > STAKE_CHECK:
            self.keep_staked()

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
            timeout = deadline - self._now() - SUBMIT_MARGIN

        def progress(done: str, frame: str, seconds: str) -> None:
            log.info("rendering on %s: %s frames (frame %s in %s s)", self.device, done, frame, seconds)

        render_frames(blend, out_dir, first, last, order, device=self.device, timeout=timeout, on_progress=progress)

    def _run_blender_many(self, tasks: list[tuple[Path, Path, int, int, dict]], deadline) -> list[str | None]:
        """Several tasks ``(blend, out_dir, first, last, order)`` in one sandboxed Blender process, bounded by what is
        left of the render window: per task None or its own error (a limit or a refused scene raises for all)."""
        def progress(done: str, frame: str, seconds: str) -> None:
            log.info("rendering on %s: %s frames (frame %s in %s s)", self.device, done, frame, seconds)

        return render_many(tasks, device=self.device, timeout=deadline - self._now() - SUBMIT_MARGIN,
                           on_progress=progress)

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

    # ------------------------------------------------------------ after submission: the verdict
    def _follow(self, task_id: int, attempt: int, data: dict) -> None:
        """Our attempt is submitted: wait for the committee's verdict; challenge a FAIL our own check refutes."""
        task = get_task(self.chain, task_id)
        if task.attempts != attempt or task.worker != self.me:
            self.db.set_task(task_id, attempt, "done", reason=f"task is {task.state.name} for another attempt")
            return
        if task.state in (TaskState.SUBMITTED, TaskState.REVEALED):
            raise Waiting("no verdict yet")
        if task.state == TaskState.DISPUTED:
            if task.challenger == self.me:  # we challenged before a crash: never twice
                self.db.set_task(task_id, attempt, "challenged", reason="chain says DISPUTED by us")
            else:
                self.db.set_task(task_id, attempt, "done", reason=f"disputed by {task.challenger}")
            return
        if task.state != TaskState.VERIFIED:
            self.db.set_task(task_id, attempt, "done", reason=f"task is {task.state.name}")
            return
        if task.passed:
            log.info("task %s: verdict PASS", task_id)
            self.db.set_task(task_id, attempt, "done", verdict="PASS")
            return
        if not self.config.challenge:
            log.warning("task %s: verdict FAIL (challenging is off)", task_id)
            self.db.set_task(task_id, attempt, "done", verdict="FAIL", reason="challenging is off")
            return
        if self._now() > task.deadline:
            log.warning("task %s: verdict FAIL, challenge window closed", task_id)
            self.db.set_task(task_id, attempt, "done", verdict="FAIL", reason="challenge window closed")
            return
        try:
            own = self._own_verdict(task_id, task, data)
        except VerificationUnavailable as exc:
            # not our frames' fault, and nothing proven: no challenge. Retried (a seed not seen yet, IPFS down)
            # until the window closes, which then records the FAIL as done
            if data.get("unverifiable") != str(exc)[:300]:
                log.warning("task %s: verdict FAIL, but our frames cannot be checked (%s): not challenging",
                            task_id, exc)
                self.db.set_task(task_id, attempt, "submitted", unverifiable=str(exc)[:300])
            raise Waiting(f"own check unavailable: {exc}") from None
        if not own.passed:
            log.warning("task %s: verdict FAIL, and our own check fails too (%s): not challenging", task_id,
                        own.reason)
            self.db.set_task(task_id, attempt, "done", verdict="FAIL", reason=f"own check fails: {own.reason}"[:300],
                             ownScore=own.score)
            return
        self._challenge(task_id, attempt, own)

    def _own_verdict(self, task_id: int, task, data: dict):
        """ANGV on our own frames, with the seed revealed on chain (``VerificationUnavailable`` if it cannot run)."""
        revealed = self.db.get(f"revealed:{task_id}")
        if not revealed:
            raise VerificationUnavailable("the KeyRevealed event not seen yet")
        posted = self.db.get(f"posted:{task_id}")
        if not posted:
            raise VerificationUnavailable("the TaskPosted event not seen yet")
        result_cid = data.get("resultCid")
        if not result_cid or keccak(text=result_cid) != task.result_hash:
            raise VerificationUnavailable("the chain holds a result we do not know")
        # open_manifest checks the seed against the attempt's commitment (a stale reveal of an earlier attempt
        # fails here until ours is seen) and the sealed manifest against the chain's digest
        manifest = open_manifest(self.store, posted["sceneCid"], bytes.fromhex(revealed["seed"]), task.key_commit,
                                 task.manifest_digest)
        return verify_result(self.store, result_cid, manifest)

    def _challenge(self, task_id: int, attempt: int, own) -> None:
        """Bond ``bondFor(taskId)`` and challenge the FAIL (the task was just read VERIFIED, in its window)."""
        bond, receipt = challenge_verdict(self.chain, task_id)
        if receipt is None:
            log.warning("task %s: verdict FAIL refuted by our own check, but the %.2f IFX bond exceeds our balance: "
                        "not challenging", task_id, bond / 1e18)
            self.db.set_task(task_id, attempt, "done", verdict="FAIL", reason="bond exceeds our balance",
                             ownScore=own.score)
            return
        log.warning("task %s: challenged the committee's FAIL verdict, bond %.2f IFX (tx %s): our own check passes "
                    "our frames (score %s: %s)", task_id, bond / 1e18, receipt["transactionHash"].hex(), own.score,
                    own.reason)
        self.db.set_task(task_id, attempt, "challenged", verdict="FAIL", bond=bond, ownScore=own.score,
                         reason=own.reason[:300], tx=receipt["transactionHash"].hex())

    def _await_ruling(self, task_id: int, attempt: int, data: dict) -> None:
        """Our challenge is with the arbiter: record the final verdict once the dispute is over."""
        task = get_task(self.chain, task_id)
        if task.attempts == attempt and task.state == TaskState.DISPUTED:
            raise Waiting("the arbiter has not decided")
        passed = task.attempts == attempt and task.state in (TaskState.VERIFIED, TaskState.SETTLED) and task.passed
        if passed:
            log.info("task %s: the FAIL verdict was overturned: PASS (the bond is claimable from the escrow)", task_id)
        else:
            log.warning("task %s: the dispute ended without overturning the FAIL (task is %s)", task_id,
                        task.state.name)
        self.db.set_task(task_id, attempt, "done", ruling="PASS" if passed else "FAIL")

    def task_steps(self) -> dict:
        return {"assigned": self._accept, "accepted": self._render, "rendered": self._submit,
                "submitted": self._follow, "challenged": self._await_ruling}

    def task_failed(self, task_id: int, attempt: int, status: str, data: dict, exc: Exception) -> bool:
        if isinstance(exc, Waiting):
            log.debug("task %s: %s", task_id, exc)
        elif status in ("submitted", "challenged") and isinstance(exc, (StorageError, ChainError, RuntimeError,
                                                                        OSError)):
            # after submission no render deadline applies: retry; the next look at the chain decides
            log.warning("task %s: following the verdict failed, will retry: %s", task_id, exc)
        elif isinstance(exc, (RenderLimitError, SceneRefused)):  # rendering again would break it again
            log.error("task %s FAILED: %s", task_id, exc)
            self.db.set_task(task_id, attempt, "failed", reason=str(exc)[:300])
        elif isinstance(exc, TransactionReverted):
            log.error("task %s: %s", task_id, exc)
            if status == "assigned":
                self.db.set_task(task_id, attempt, "declined", reason=exc.reason)
        elif isinstance(exc, (StorageError, ChainError, RuntimeError, OSError)):
            deadline = data.get("deadline") or data.get("acceptBy") or 0
            now = self._now()
            if deadline and now > deadline:
                log.error("task %s MISSED its deadline while %s: %s", task_id, status, exc)
                self.db.set_task(task_id, attempt, "missed", reason=str(exc)[:300])
            else:
                log.warning("task %s: %s failed, will retry: %s", task_id, status, exc)
        else:
            return False
        return True
