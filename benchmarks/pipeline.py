"""Tasks settled per minute through the real services: the whole stack on one machine, each part its own process
(anvil, js-ipfs, the contracts deployed by the real deploy command, the manager with its API, coordination loop and
indexer, 3 oracles, ``--workers`` workers: :mod:`inferix.testing.stack`, as ``make demo`` runs them), a creator
submitting jobs of tiny renders through the SDK (``InferixClient.submit``: upload, quote, create the job), every
task prepared, rendered, verified by its drawn committee and settled on chain.

    python -m benchmarks.pipeline                          # 30 tasks, 3 workers, on the batch lane (the default)
    python -m benchmarks.pipeline --single-tasks           # the same on the single-task path
    python -m benchmarks.pipeline --compare --tasks 40     # both, one after the other, and one table side by side
    python -m benchmarks.pipeline --soak --tasks 1000      # with the chaos loop (hours on a 2-core machine)

**The two paths.** By default the manager batches creators' jobs (``inferix manager run``: a job's tasks noised into
batches of the lane, each batch offered to its workers, signed, posted, rendered group by group, one
``submitResults`` per worker, judged by a batch committee, settled in one call; docs/protocol.md, "Batches in the
services"); the workers follow the manager's offers (``worker run --manager``). ``--single-tasks`` starts the
manager with its ``--single-tasks`` flag: every task posted, assigned, accepted, revealed, verified and settled on
its own (JobEscrow + ProofOfRender). ``--compare`` runs both on fresh stacks, the batch lane first, and prints both
reports and one table of the two side by side. The manager's batch options are passed through (``--batch-tasks``,
``--batch-age``, ``--offer-timeout``).

**The renders.** One generated scene (the demo's ``flyby``) at ``--size`` square pixels (96: the smallest at which
ANGV places its 12 imprints in every frame of it; at 16x16 the manager refuses the frame, "too small for an
imprint", and at 64x64 only 9 of 12 fit), ``--samples`` samples, one frame per task, jobs of ``--job-tasks`` tasks
(frames 1..k of the scene), at most ``--open-jobs`` jobs unfinished at a time (the next job is submitted when one
finishes: the manager prepares it while the previous one renders). Results: docs/scale.md, "The pipeline (measured)".

**Time windows, shortened by configuration.** A passed task settles only after its challenge window (an hour by
default; on the lane it runs from the committee's verdict). Before any job, one governance proposal (the timelock,
the local 60 s delay time-travelled past: :meth:`Stack.govern`) sets ``JobEscrow.challengeWindow`` to its floor,
600 s; the benchmark's clock then skips what is left of it by time travel (``evm_increaseTime``): at most every
``--jump-every`` wall seconds, when tasks or batches wait out their challenge windows, the chain jumps just past the
latest of their deadlines (<= 601 s). A jump moves every deadline in flight closer too, so the same proposal
lengthens the windows that only bound a node's response time to their ceilings (``acceptWindow`` 1 day,
``revealWindow`` and ``verifyWindow`` 3 days, ``ProofOfRender.commitWindow`` and ``voteRevealWindow`` 1 day each,
which the batch committee uses too), the manager gives workers a 1-day render window (``--render-window 86400``)
and its offers 1,800 s to be signed (``--offer-timeout``, the default 60 s would lapse at every jump; a worker
refuses an offer held open longer than an hour): no deadline in flight is missed because of a jump. The price
feed's mock aggregator is refreshed (``setAnswer``, same answer) once the jumps add up to 6 h, as its answers go
stale after a day. Nothing else differs from a real deployment: the nodes wait for the same events and send the
same transactions. The manager's other settings (environment): no paid benchmark task per new worker
(``INFERIX_BENCHMARK_WORKERS=false``: a once-per-worker cost, not the pipeline's) and quote and upload rate limits
raised (``INFERIX_QUOTE_RATE``, ``INFERIX_UPLOAD_RATE``: one creator submits every job).

**What is counted.** A task is a task of a job (its frames). On the single path it settles with its ``TaskSettled``;
on the lane it passes when its batch settles (``BatchSettled``) with the task passed
(:func:`inferix.lane.task_outcomes`: a committee pass bit and delivered frames, or the arbiter's ``TaskResolved``);
a task that failed and went into a later batch counts once, when it finally passes; it is given up after the
manager's ``max_attempts`` failed batches.

**What it prints.** Tasks settled, wall time (from the first job's submission to the last task's settlement),
tasks per minute over that time and in the steady state (from the first settlement to the last, less the tasks of
the first settlement: a batch settles many at once); the median and longest wall time a task spends between the
stages the benchmark sees (polled each second; on the lane: job created, its batch posted, its group's results
submitted, the seed revealed, the committee's verdict final, settled); the batches (how many, tasks and groups per
batch, tasks re-batched, offers re-planned); where the services' time goes, from :mod:`inferix.timing`
(``INFERIX_TIMINGS_DIR``): wall seconds inside chain transactions (estimate, sign, send, wait for the receipt),
chain reads, IPFS calls, sandboxed Blender runs by operation (the manager's ``prepare``: noise embedding; its
``time_frames``/``scene_info``: quotes and uploads; the workers' ``render_frames``) and ANGV verification, per role,
each counted once (an IPFS fetch inside a verification is IPFS time); the CPU seconds of every process (``psutil``,
anvil's and js-ipfs's with the children their npm launchers start) plus those of its Blender runs (each sandboxed
run reports its own: the sandbox's PID namespace hides them from the parent), per task; and where the CPU of a task
goes (Blender per operation and role, the daemons' own).

**Checks** (also without ``--soak``): every task of the benchmark's jobs settled exactly once (single path: state
``SETTLED`` and one ``TaskSettled`` event; lane: every batch of the benchmark's jobs ``SETTLED`` with exactly one
``BatchSettled`` event and no open dispute, no task resolved twice, and every task of every job passed in exactly one
batch, recomputed from the chain after the run); then the epoch is closed and every node claims, and IFX is
conserved to the wei (:func:`conservation`, the lane included). Exits non-zero if anything is off.

**--soak** adds a chaos loop: every ``--kill-every`` seconds (uniform between the two bounds), one of the manager,
an oracle, a worker or the IPFS daemon (each kind once per round of four, in a random order; then one of its
processes at random) is killed with SIGKILL (its whole process group; a Blender run dies with its parent) and
started again after ``--restart-after`` seconds, on its persisted state. It prints every kill, how long each service
took to be back (the manager's API answering, the IPFS API answering, a node's "ready" log line) and the totals;
with ``--baseline`` (the tasks/min of a chaos-free run of the same size), the time lost: the wall time beyond what
the same tasks took without kills.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import psutil  # noqa: E402

from backend.batching import BatchConfig  # noqa: E402
from inferix import batches as B, lane, timing  # noqa: E402
from inferix.chain import Chain  # noqa: E402
from inferix.client import InferixClient  # noqa: E402
from inferix.protocol import BPS, IFX, TaskState, get_job, get_node, get_task, read_struct  # noqa: E402
from inferix.render import run_jobs  # noqa: E402
from inferix.testing.devnet import dev_account  # noqa: E402
from inferix.testing.stack import Stack, StackFailure, answers  # noqa: E402

DEPLOYER, MANAGER, CREATOR, ORACLES, FIRST_WORKER = 0, 1, 2, (3, 4, 5), 6
FINAL = {TaskState.SETTLED, TaskState.FAILED, TaskState.CANCELLED}
RENDER_WINDOW = 86_400
CHALLENGE_WINDOW = 600
OFFER_TIMEOUT = 1_800  # survives two time jumps; below the workers' max_accept_wait (3,600 s)
MAX_ATTEMPTS = BatchConfig().max_attempts  # the manager gives a task up after this many failed batches
# one governance proposal: the challenge window to its floor (skipped by time travel), and the windows that bound
# a node's response time to their ceilings, so that the jumps never make a task in flight miss a deadline
GOVERNANCE = [("JobEscrow", "setParameter", ("verifyWindow", 3 * 86_400)),
              ("JobEscrow", "setParameter", ("revealWindow", 3 * 86_400)),
              ("JobEscrow", "setParameter", ("acceptWindow", 86_400)),
              ("JobEscrow", "setParameter", ("challengeWindow", CHALLENGE_WINDOW)),
              ("ProofOfRender", "setParameter", ("commitWindow", 86_400)),
              ("ProofOfRender", "setParameter", ("voteRevealWindow", 86_400))]
PRICE_REFRESH_S = 6 * 3600
MANAGER_ENV = {"INFERIX_BENCHMARK_WORKERS": "false", "INFERIX_QUOTE_RATE": "100000/hour",
               "INFERIX_UPLOAD_RATE": "100000/hour"}
SEEN = (TaskState.POSTED, TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.REVEALED,
        TaskState.VERIFIED, TaskState.SETTLED)
# the stages the benchmark sees a lane task in: its job created, its batch posted, its group's results submitted,
# the batch's seed revealed, the committee's verdict final, the batch settled
LANE_STAGES = ("job created", "posted", "results submitted", "revealed", "verdict final", "settled")
ZERO = "0x" + "00" * 20


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class Kill:
    victim: str
    at: float  # seconds into the run
    down_s: float | None = None  # until the service answered again


@dataclass
class Tracked:
    """A single-path task (JobEscrow)."""
    job_id: int
    frames: tuple[int, int]
    state: TaskState = TaskState.POSTED
    deadline: int = 0
    seen: dict[TaskState, float] = field(default_factory=dict)  # first wall time the benchmark saw each state


@dataclass
class JobTask:
    """A task of a job (its frames), whichever path carries it."""
    job_id: int
    frames: tuple[int, int]
    passed: int = 0  # settled single task or lane pass: exactly 1 in the end
    failed: int = 0  # failed attempts (lane batches it failed in; a single task FAILED)
    settled_at: float = 0.0  # wall time the benchmark saw it pass
    final: bool = False
    way: dict[str, float] = field(default_factory=dict)  # lane: wall times of its passing batch's stages


@dataclass
class LaneBatch:
    batch_id: bytes
    job_id: int
    block: int
    leaves: list[B.Leaf]
    seen: dict[str, float] = field(default_factory=dict)  # stage -> first wall time seen
    delivered: dict[int, float] = field(default_factory=dict)  # group -> wall time of its ResultsSubmitted
    finalized_at: int = 0  # chain time of the committee's final verdict
    settled: bool = False
    disputed: set[int] = field(default_factory=set)  # tasks still with the arbiter after the batch settled

    @property
    def spans(self) -> list[B.Group]:
        return B.groups(self.leaves)


class Pipeline:
    def __init__(self, args: argparse.Namespace, single: bool, out: Path) -> None:
        self.args = args
        self.single = single
        self.out = out
        self.net = Stack(out, extra_env={timing.ENV: str(out / "timings")})
        self.workers = [FIRST_WORKER + i for i in range(args.workers)]
        self.rng = random.Random(args.seed)
        self.jobs: dict[int, int] = {}  # job id -> its number of tasks (one frame per task)
        self.job_seen: dict[int, float] = {}  # job id -> wall time its JobCreated was seen
        self.job_tasks: dict[tuple[int, int, int], JobTask] = {}  # (job, first frame, last frame) -> its task
        self.tasks: dict[int, Tracked] = {}  # single path: task id -> tracked
        self.batches: dict[bytes, LaneBatch] = {}
        self.cursor = 0
        self.jumps = 0
        self.skipped_s = 0  # chain seconds skipped by the jumps
        self.last_jump = 0.0
        self.price_at = 0  # chain time of the last price refresh
        self.cpu: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # name -> [own, children] of dead pids
        self.pids: dict[int, str] = {}  # every pid a service ran as -> its name (timings are per pid)
        self.kills: list[Kill] = []
        self.down: set[str] = set()  # services killed and not back yet (the chaos thread's)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.chaos_error: BaseException | None = None
        self.t0 = 0.0
        self.first_submit = 0.0
        self.load_before = os.getloadavg()

    @property
    def path(self) -> str:
        return "single" if self.single else "batches"

    # ------------------------------------------------------------ set-up
    def setup(self) -> None:
        net, args = self.net, self.args
        t = time.monotonic()
        deployment = net.start()
        net.govern(GOVERNANCE)
        self.admin, self.chain = net.chain(DEPLOYER), net.chain()
        self.price_at = self.now()
        self.cursor = deployment.block_number
        net.fund({MANAGER: 5_000 * IFX, CREATOR: 100_000 * IFX, **{o: 2_000 * IFX for o in ORACLES},
                  **{w: 20_000 * IFX for w in self.workers}})
        self.scene = self.out / "scene.blend"
        run_jobs([{"op": "make_scene", "name": "flyby", "path": str(self.scene), "width": args.size,
                   "height": args.size, "frames": args.job_tasks}])
        options = ["--single-tasks"] if self.single else [
            "--batch-tasks", str(args.batch_tasks), "--batch-age", str(args.batch_age),
            "--offer-timeout", str(args.offer_timeout)]
        self.api = net.start_manager(MANAGER, render_window=RENDER_WINDOW, poll=args.poll, env=MANAGER_ENV,
                                     args=tuple(options))
        for index in ORACLES:
            net.start_oracle(index, poll=args.poll)
        for index in self.workers:  # started after the manager: they follow its offers (worker run --manager)
            net.start_worker(index, poll=args.poll)
        for name, service in net.processes.items():
            self.pids[service.process.pid] = name
        net.wait_api()
        chain = self.chain
        net.wait(lambda: all(chain.call("Staking", "isActive", dev_account(i).address, 2) for i in ORACLES) and all(
            chain.call("Staking", "isActive", dev_account(i).address, 1) for i in self.workers), 300, "nodes staked")
        self.creator = InferixClient(self.api, dev_account(CREATOR), net.anvil.url)
        self.creator.sign_in()
        log(f"[{self.path}] stack up in {time.monotonic() - t:.0f} s: anvil, js-ipfs, contracts, manager "
            f"({' '.join(options)}), {len(ORACLES)} oracles, {len(self.workers)} workers; windows shortened by "
            f"governance; {args.size}x{args.size} px, {args.samples} spp, jobs of {args.job_tasks} one-frame tasks")

    # ------------------------------------------------------------ the chain
    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def _job_task(self, job_id: int, first: int, last: int) -> JobTask:
        return self.job_tasks.setdefault((job_id, first, last), JobTask(job_id, (first, last)))

    def _passed(self, jt: JobTask, wall: float) -> None:
        jt.passed += 1
        jt.final = True
        jt.settled_at = jt.settled_at or wall

    def _failed(self, jt: JobTask, final: bool) -> None:
        jt.failed += 1
        jt.final = jt.final or final

    def poll_chain(self) -> None:
        head = self.chain.block_number()
        wall = time.monotonic()
        if head >= self.cursor:
            creator = dev_account(CREATOR).address
            for ev in self.chain.events("JobEscrow", ["JobCreated", "TaskPosted"], self.cursor, head):
                a = ev.args
                if ev.name == "JobCreated" and a["creator"] == creator:
                    self.jobs[a["jobId"]] = a["frameEnd"] - a["frameStart"] + 1
                    self.job_seen[a["jobId"]] = wall
                    for frame in range(a["frameStart"], a["frameEnd"] + 1):  # one frame per task
                        self._job_task(a["jobId"], frame, frame)
                elif ev.name == "TaskPosted" and a["jobId"] in self.jobs:
                    tracked = self.tasks.setdefault(a["taskId"], Tracked(a["jobId"], (a["frameStart"], a["frameEnd"])))
                    tracked.seen.setdefault(TaskState.POSTED, wall)
            for ev in self.chain.events("BatchLane", ["BatchPosted", "ResultsSubmitted", "SeedRevealed",
                                                      "BatchSettled", "TaskResolved"], self.cursor, head):
                self._lane_event(ev, wall)
            self.cursor = head + 1
        for task_id, tracked in self.tasks.items():
            if tracked.state in FINAL:
                continue
            task = get_task(self.chain, task_id)
            tracked.state = task.state
            tracked.seen.setdefault(task.state, wall)
            tracked.deadline = task.deadline
            if task.state in FINAL:
                jt = self._job_task(tracked.job_id, *tracked.frames)
                if task.state == TaskState.SETTLED:
                    self._passed(jt, wall)
                else:
                    self._failed(jt, True)
        for b in self.batches.values():
            if "revealed" in b.seen and not b.finalized_at and not b.settled:
                b.finalized_at = lane.outcome(self.chain, b.batch_id)["finalized_at"]
                if b.finalized_at:
                    b.seen["verdict final"] = wall

    def _lane_event(self, ev, wall: float) -> None:
        a = ev.args
        if ev.name == "BatchPosted":
            if a["jobId"] in self.jobs:
                leaves, _ = B.decode_post(bytes(self.chain.w3.eth.get_transaction(ev.tx_hash)["input"]))
                self.batches[a["batchId"]] = LaneBatch(a["batchId"], a["jobId"], ev.block, leaves,
                                                       {"posted": wall})
            return
        b = self.batches.get(a["batchId"])
        if b is None:
            return
        if ev.name == "ResultsSubmitted":
            b.delivered.setdefault(a["group"], wall)
        elif ev.name == "SeedRevealed":
            b.seen.setdefault("revealed", wall)
        elif ev.name == "BatchSettled" and not b.settled:
            b.settled = True
            b.seen["settled"] = wall
            disputed = lane.get_batch(self.chain, b.batch_id)["disputed"]
            passed = lane.task_outcomes(self.chain, b.batch_id, b.leaves, b.block)
            for i, ok in enumerate(passed):
                if disputed >> i & 1:
                    b.disputed.add(i)  # its outcome comes with TaskResolved
                else:
                    self._lane_outcome(b, i, ok, wall)
        elif ev.name == "TaskResolved" and a["index"] in b.disputed:
            b.disputed.discard(a["index"])
            self._lane_outcome(b, a["index"], lane.task_outcomes(self.chain, b.batch_id, b.leaves, b.block)[a["index"]],
                               wall)

    def _lane_outcome(self, b: LaneBatch, index: int, ok: bool, wall: float) -> None:
        leaf = b.leaves[index]
        jt = self._job_task(b.job_id, leaf.frame_start, leaf.frame_end)
        if not ok:
            self._failed(jt, jt.failed + 1 >= MAX_ATTEMPTS)
            return
        self._passed(jt, wall)
        group = next(g for g, span in enumerate(b.spans) if span.first <= index < span.end)
        jt.way = {"job created": self.job_seen.get(b.job_id, 0.0), "posted": b.seen.get("posted", 0.0),
                  "results submitted": b.delivered.get(group, 0.0), "revealed": b.seen.get("revealed", 0.0),
                  "verdict final": b.seen.get("verdict final", 0.0), "settled": wall}

    def submitted(self) -> int:
        return sum(self.jobs.values())

    def open_jobs(self) -> int:
        done = defaultdict(int)
        for jt in self.job_tasks.values():
            if jt.final:
                done[jt.job_id] += 1
        return sum(1 for job_id, n in self.jobs.items() if done[job_id] < n)

    def finished(self) -> bool:
        return self.submitted() >= self.args.tasks and self.open_jobs() == 0

    def submit(self) -> None:
        """The next job through the SDK, if fewer than ``--open-jobs`` are unfinished (a failure, e.g. the manager
        killed mid-quote, is retried on the next pass; jobs are counted from the chain's JobCreated events)."""
        remaining = self.args.tasks - self.submitted()
        if remaining <= 0 or self.open_jobs() >= self.args.open_jobs:
            return
        frames = min(self.args.job_tasks, remaining)
        try:
            self.creator.submit(self.scene, 1, frames, samples=self.args.samples, frames_per_task=1)
        except Exception as exc:  # noqa: BLE001 - the manager may be down (soak): retried
            log(f"  submission failed, will retry: {str(exc)[:200]}")
            time.sleep(2)
            return
        self.first_submit = self.first_submit or time.monotonic()
        self.poll_chain()

    def clock(self) -> None:
        """Skip the challenge windows of the tasks and batches waiting them out: jump just past the latest of their
        deadlines."""
        if time.monotonic() - self.last_jump < self.args.jump_every:
            return
        now = self.now()
        waiting = [t.deadline for t in self.tasks.values() if t.state == TaskState.VERIFIED and t.deadline >= now]
        waiting += [b.finalized_at + CHALLENGE_WINDOW for b in self.batches.values()
                    if b.finalized_at and not b.settled and b.finalized_at + CHALLENGE_WINDOW >= now]
        if not waiting:
            return
        jump = min(max(waiting) - now + 1, CHALLENGE_WINDOW + 1)
        self.net.anvil.time_travel(jump)
        self.jumps += 1
        self.skipped_s += jump
        self.last_jump = time.monotonic()
        if now + jump - self.price_at >= PRICE_REFRESH_S:
            answer = self.admin.call("MockAggregator", "latestRoundData")[1]
            self.admin.transact("MockAggregator", "setAnswer", answer)
            self.price_at = now + jump

    # ------------------------------------------------------------ chaos (--soak)
    def victims(self) -> dict[str, list[str]]:
        return {"manager": ["manager"], "oracle": [f"oracle-{i}" for i in ORACLES],
                "worker": [f"worker-{i}" for i in self.workers], "ipfs": ["ipfs"]}

    def _record_cpu(self, name: str, pid: int, tree: bool = False) -> None:
        own, children = cpu_of(pid, tree)
        self.cpu[name][0] += own
        self.cpu[name][1] += children

    def _back(self, name: str, ready_lines: int) -> bool:
        if name == "manager":
            return answers(f"{self.api}/docs")
        if name == "ipfs":
            return self.net.ipfs.alive()
        service = self.net.processes[name]
        if not service.alive():
            raise StackFailure(f"{name} exited after its restart:\n{service.log_tail()}")
        return service.log_tail(10**9).count(" ready: ") > ready_lines

    def chaos(self) -> None:
        lo, hi = self.args.kill_every
        kinds: list[str] = []
        try:
            while not self.stop.wait(self.rng.uniform(lo, hi)):
                if not kinds:  # every kind once per round, in a random order
                    kinds = sorted(self.victims())
                    self.rng.shuffle(kinds)
                kind = kinds.pop()
                name = self.rng.choice(self.victims()[kind])
                kill = Kill(name, time.monotonic() - self.t0)
                with self.lock:
                    self.down.add(name)
                    self.kills.append(kill)
                if name == "ipfs":
                    service = self.net.ipfs.service
                else:
                    service = self.net.processes[name]
                ready_lines = 0 if name in ("manager", "ipfs") else service.log_tail(10**9).count(" ready: ")
                self._record_cpu(name, service.process.pid, tree=name == "ipfs")
                service.kill()  # SIGKILL to its process group
                killed = time.monotonic()
                log(f"  [{kill.at:6.0f} s] kill -9 {name}")
                time.sleep(self.rng.uniform(*self.args.restart_after))
                if name == "ipfs":
                    self.net.restart_ipfs()
                    self.pids[self.net.ipfs.service.process.pid] = "ipfs"
                else:
                    self.pids[self.net.restart(name).process.pid] = name
                deadline = time.monotonic() + 300
                while not self._back(name, ready_lines):
                    if time.monotonic() > deadline:
                        raise StackFailure(f"{name} not back 300 s after its restart")
                    time.sleep(0.25)
                kill.down_s = time.monotonic() - killed
                log(f"  [{time.monotonic() - self.t0:6.0f} s] {name} back after {kill.down_s:.1f} s")
                with self.lock:
                    self.down.discard(name)
        except BaseException as exc:  # noqa: BLE001 - reported by the main loop
            self.chaos_error = exc

    def check_alive(self) -> None:
        if self.chaos_error is not None:
            raise StackFailure(f"chaos loop: {self.chaos_error}")
        with self.lock:
            down = set(self.down)
        self.net.check_alive(skip=down)

    # ------------------------------------------------------------ the run
    def run(self) -> dict:
        args = self.args
        self.t0 = time.monotonic()
        chaos = threading.Thread(target=self.chaos, name="chaos", daemon=True) if args.soak else None
        if chaos:
            chaos.start()
        next_report = 0.0
        try:
            while True:
                self.submit()
                self.poll_chain()
                self.clock()
                if self.finished():
                    break
                if time.monotonic() - self.t0 > args.timeout:
                    raise StackFailure(f"not finished after {args.timeout} s: {self.summary()}")
                if time.monotonic() >= next_report:
                    log(f"  [{time.monotonic() - self.t0:6.0f} s] {self.summary()}")
                    next_report = time.monotonic() + 15
                self.check_alive()
                time.sleep(1.0)
        finally:
            self.stop.set()
            if chaos:
                chaos.join(timeout=330)
        log(f"  [{time.monotonic() - self.t0:6.0f} s] {self.summary()}")
        return self.report()

    def summary(self) -> str:
        passed = sum(1 for jt in self.job_tasks.values() if jt.passed)
        given_up = sum(1 for jt in self.job_tasks.values() if jt.final and not jt.passed)
        if self.single:
            counts = defaultdict(int)
            for t in self.tasks.values():
                counts[t.state.label] += 1
            states = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none posted yet"
        else:
            stages = defaultdict(int)
            for b in self.batches.values():
                stage = "settled" if b.settled else "verdict final" if b.finalized_at else \
                    "revealed" if "revealed" in b.seen else "rendering"
                stages[stage] += 1
            states = (f"batches: {', '.join(f'{k} {v}' for k, v in sorted(stages.items())) or 'none posted yet'}; "
                      f"tasks in batches {sum(len(b.leaves) for b in self.batches.values())}")
        return (f"jobs {len(self.jobs)}, tasks submitted {self.submitted()}/{self.args.tasks}, passed {passed}"
                f"{f', given up {given_up}' if given_up else ''}: {states}; {self.jumps} jumps; "
                f"{len(self.kills)} kills")

    # ------------------------------------------------------------ results
    def process_cpu(self) -> dict[str, tuple[float, float]]:
        """CPU seconds (own, waited children) of every service, over all its incarnations."""
        live = {name: s.process.pid for name, s in self.net.processes.items() if s.alive()}
        if self.net.ipfs and self.net.ipfs.service and self.net.ipfs.service.alive():
            live["ipfs"] = self.net.ipfs.service.process.pid
        if self.net.anvil and self.net.anvil.service:
            live["anvil"] = self.net.anvil.service.process.pid
        totals = {name: tuple(v) for name, v in self.cpu.items()}
        me = psutil.Process().cpu_times()
        # the benchmark's process: in --compare, the CPU of the runs before this one is subtracted
        totals["benchmark (creator, clock, beacon)"] = (me.user + me.system - self.my_cpu0, 0.0)
        for name, pid in live.items():
            own, children = cpu_of(pid, tree=name in ("anvil", "ipfs"))
            before = totals.get(name, (0.0, 0.0))
            totals[name] = (before[0] + own, before[1] + children)
        return totals

    def report(self) -> dict:
        times = sorted(jt.settled_at for jt in self.job_tasks.values() if jt.passed)
        settled = len(times)
        first, last = (times[0], times[-1]) if times else (0.0, 0.0)
        wall = last - self.first_submit
        at_first = sum(1 for t in times if t == first)
        steady = (settled - at_first) / (last - first) * 60 if last > first else 0.0
        return {"path": self.path, "settled": settled, "tasks": len(self.job_tasks), "wall_s": wall,
                "per_min": settled / wall * 60 if wall > 0 else 0.0, "steady_per_min": steady,
                "given_up": sum(1 for jt in self.job_tasks.values() if jt.final and not jt.passed),
                "stages": self.stage_medians(), "cpu": self.process_cpu(), "timings": self.timings(),
                "jumps": self.jumps, "skipped_s": self.skipped_s, "kills": list(self.kills),
                "batches": self.batch_stats(), "load_before": self.load_before, "load_after": os.getloadavg()}

    def batch_stats(self) -> dict:
        if self.single:
            return {}
        sizes = [len(b.leaves) for b in self.batches.values()]
        groups = [len(b.spans) for b in self.batches.values()]
        replans = 0
        log_path = self.out / "logs" / "manager.log"
        if log_path.exists():
            replans = log_path.read_text(errors="replace").count("the offer lapsed unsigned")
        return {"count": len(sizes), "sizes": sizes, "groups": groups, "replans": replans,
                "failed_attempts": sum(jt.failed for jt in self.job_tasks.values())}

    def stage_medians(self) -> list[tuple[str, float, float, int]]:
        """(from -> to, median s, longest s, tasks seen in both) for each pair of consecutive stages."""
        out = []
        if self.single:
            ways = [{s.label: v for s, v in t.seen.items()} | {"job created": self.job_seen.get(t.job_id, 0.0)}
                    for t in self.tasks.values()]
            names = ("job created", *(s.label for s in SEEN))
        else:
            ways = [jt.way for jt in self.job_tasks.values() if jt.way]
            names = LANE_STAGES
        for a, b in zip(names, names[1:]):
            gaps = [w[b] - w[a] for w in ways if w.get(a) and w.get(b)]
            if gaps:
                out.append((f"{a} -> {b}", statistics.median(gaps), max(gaps), len(gaps)))
        if ways:
            totals = [w[names[-1]] - w[names[0]] for w in ways if w.get(names[0]) and w.get(names[-1])]
            if totals:
                out.append((f"{names[0]} -> {names[-1]} (all)", statistics.median(totals), max(totals), len(totals)))
        return out

    def timings(self) -> dict[str, dict[str, list[float]]]:
        """service name -> kind -> [seconds, calls], summed over the service's incarnations (pids)."""
        names: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
        for entry in timing.read_dir(self.out / "timings"):
            name = self.pids.get(entry["pid"], "?")
            for kind, v in entry["kinds"].items():
                names[name][kind][0] += v["seconds"]
                names[name][kind][1] += v["calls"]
        return names


def cpu_of(pid: int, tree: bool = False) -> tuple[float, float]:
    """(own, waited children's) CPU seconds of a process, with ``tree`` its live descendants' added to its own (the
    npm launchers of anvil and js-ipfs start the real binary as a child); zeros if it is gone."""
    try:
        process = psutil.Process(pid)
        t = process.cpu_times()
        own, children = t.user + t.system, t.children_user + t.children_system
        for child in process.children(recursive=True) if tree else ():
            try:
                c = child.cpu_times()
                own += c.user + c.system
            except psutil.Error:
                pass
        return own, children
    except psutil.Error:
        return 0.0, 0.0


# ---------------------------------------------------------------- checks
def our_jobs(chain: Chain, deployment) -> dict[int, tuple[int, int]]:
    """The creator's jobs: job id -> (first frame, last frame)."""
    creator = dev_account(CREATOR).address
    return {e.args["jobId"]: (e.args["frameStart"], e.args["frameEnd"])
            for e in chain.events("JobEscrow", ["JobCreated"], deployment.block_number, chain.block_number())
            if e.args["creator"] == creator}


def settled_once(chain: Chain, deployment) -> tuple[list[str], dict]:
    """Every task of the benchmark's jobs settled exactly once, recomputed from the chain alone:

    * single path: every task posted for them ``SETTLED`` with exactly one ``TaskSettled`` event;
    * lane: every batch posted for them ``SETTLED`` with exactly one ``BatchSettled`` event and no task still
      disputed, no task resolved twice;
    * every task of every job (one frame each) passed exactly once over both paths (a settled single task, or a task
      passed in a settled batch, :func:`inferix.lane.task_outcomes`), and none is left unsettled.
    """
    since, head = deployment.block_number, chain.block_number()
    jobs = our_jobs(chain, deployment)
    problems: list[str] = []
    passes: dict[tuple[int, int, int], int] = defaultdict(int)
    settled_events = defaultdict(int)
    for ev in chain.events("JobEscrow", ["TaskSettled"], since, head):
        settled_events[ev.args["taskId"]] += 1
    single = 0
    for ev in chain.events("JobEscrow", ["TaskPosted"], since, head):
        a = ev.args
        if a["jobId"] not in jobs:
            continue
        single += 1
        state = get_task(chain, a["taskId"]).state
        if state != TaskState.SETTLED or settled_events[a["taskId"]] != 1:
            problems.append(f"task {a['taskId']}: {state.label}, {settled_events[a['taskId']]} TaskSettled events")
        if state == TaskState.SETTLED:
            passes[(a["jobId"], a["frameStart"], a["frameEnd"])] += 1
    lane_events = chain.events("BatchLane", ["BatchPosted", "BatchSettled", "TaskResolved"], since, head)
    settles, resolves = defaultdict(int), defaultdict(int)
    for ev in lane_events:
        if ev.name == "BatchSettled":
            settles[ev.args["batchId"]] += 1
        elif ev.name == "TaskResolved":
            resolves[(ev.args["batchId"], ev.args["index"])] += 1
    batches, failed = 0, 0
    for ev in lane_events:
        if ev.name != "BatchPosted" or ev.args["jobId"] not in jobs:
            continue
        batches += 1
        batch_id = ev.args["batchId"]
        record = lane.get_batch(chain, batch_id)
        name = f"batch 0x{batch_id.hex()[:12]}"
        if record["stage"] != lane.SETTLED or settles[batch_id] != 1 or record["disputed"]:
            problems.append(f"{name}: stage {record['stage']}, {settles[batch_id]} BatchSettled events, disputed "
                            f"bits {record['disputed']:#x}")
            continue
        leaves = lane.batch_leaves(chain, batch_id, ev.block)
        for i, ok in enumerate(lane.task_outcomes(chain, batch_id, leaves, ev.block)):
            if resolves[(batch_id, i)] > 1:
                problems.append(f"{name} task {i}: resolved {resolves[(batch_id, i)]} times")
            if ok:
                passes[(ev.args["jobId"], leaves[i].frame_start, leaves[i].frame_end)] += 1
            else:
                failed += 1
    expected = {(j, f, f) for j, (first, last) in jobs.items() for f in range(first, last + 1)}
    for key in sorted(expected | set(passes)):
        if key not in expected:
            problems.append(f"job {key[0]} frames {key[1]}-{key[2]}: not a task of the job, passed {passes[key]}x")
        elif passes[key] != 1:
            problems.append(f"job {key[0]} frame {key[1]}: passed {passes[key]} times")
    return problems, {"tasks": len(expected), "single": single, "batches": batches, "failed_in_batches": failed}


def close_epoch_and_claim(net: Stack, accounts: list[int]) -> dict[str, int]:
    """Past the epoch's end, a fresh price, ``closeEpoch``, every node's claim and the treasury's."""
    admin, chain = net.chain(DEPLOYER), net.chain()
    epoch = chain.call("BMWIssuance", "currentEpoch")
    ep = read_struct(chain, "BMWIssuance", "epochs", epoch)
    start, length = ep["start"], ep["length"]
    now = chain.w3.eth.get_block("latest")["timestamp"]
    if start + length > now:
        net.anvil.time_travel(start + length - now + 1)
    admin.transact("MockAggregator", "setAnswer", admin.call("MockAggregator", "latestRoundData")[1])
    admin.transact("BMWIssuance", "closeEpoch")
    claimed = {}
    for index in accounts:
        node = net.chain(index)
        amount = node.call("BMWIssuance", "claimable", epoch, node.address)
        if amount:
            node.transact("BMWIssuance", "claim", epoch)
        claimed[node.address] = amount
    if chain.call("BMWIssuance", "treasuryOwed"):
        admin.transact("BMWIssuance", "claimTreasury")
    return claimed


def conservation(chain: Chain, deployment) -> list[tuple[str, bool, str]]:
    """IFX conserved to the wei, from contract state and events since the deployment:

    * supply: every IFX minted is held by someone or was burned: the balances of every address that ever held IFX
      (``Transfer`` events) add up to ``totalSupply``, and ``totalMinted`` = the genesis mint + every epoch's mint;
    * burns: ``totalMinted - totalSupply`` = the burns of the settled fees (single path: ``TaskSettled.burned``;
      lane: ``BatchSettled.burned`` + ``burnBps`` of each task the arbiter's ``resolve`` passed) = the burns the
      issuance recorded per epoch;
    * escrow: its balance = the jobs' unreserved budgets + the reservations of live tasks + every account's claimable
      balance + the challenge bonds + the batch lane's fees (``JobEscrow.laneHeld``);
    * lane fees: ``laneHeld`` = the fees of every batch posted - what their settlements released (burned, owed to the
      treasury, refunded to the jobs) - the fees of the tasks closed on their own (``TaskResolved``,
      ``BadManifestProven``);
    * lane bonds: the lane's balance = its ``bondsHeld`` (it holds challenge bonds and nothing else);
    * stakes: the staking contract's balance = ``totalStaked`` = the sum of every node's stake = every ``Staked`` -
      every ``Withdrawn`` - every ``Slashed`` amount;
    * locks: the collateral locked (the sum of every node's ``locked``) = the collateral of the live single tasks +
      that of the lane's tasks not closed (``doneBits``) at their batch's ``collateralBps``;
    * slashes: the pool's part of every slash (``Slashed.amount - reward``) = what the staking contract transferred to
      the issuance; every penalty the issuance recorded (``PenaltyReceived``) = every transfer to it but its mints
      (slashes, forfeited challenge bonds);
    * issuance: its balance = its mints + the penalties it received - the claims it paid, and it holds at least the
      closed epochs' unclaimed pools;
    * treasury: the fee shares owed to it (``TaskSettled.toTreasury`` + ``BatchSettled.toTreasury`` + the rest of each
      fee a ``resolve`` passed) = its claimable balance + its withdrawals.
    """
    c = chain.call
    since, head = deployment.block_number, chain.block_number()
    ev = lambda contract, *names: chain.events(contract, list(names), since, head)  # noqa: E731
    token = chain.contract("IFXToken")
    issuance_address = deployment.address("BMWIssuance")
    staking_address = deployment.address("Staking")
    holders = set()
    to_issuance = from_staking_to_issuance = 0
    for start in range(since, head + 1, 5_000):
        for entry in token.events.Transfer().get_logs(from_block=start, to_block=min(start + 4_999, head)):
            args = entry["args"]
            holders.update(v for k, v in args.items() if k != "value" and isinstance(v, str))
            if args["receiver"] == issuance_address and args["sender"] != ZERO:
                to_issuance += args["value"]
                if args["sender"] == staking_address:
                    from_staking_to_issuance += args["value"]
    holders.discard(ZERO)
    supply, minted = c("IFXToken", "totalSupply"), c("IFXToken", "totalMinted")
    balances = sum(c("IFXToken", "balanceOf", h) for h in holders)
    closed = ev("BMWIssuance", "EpochClosed")
    epoch_mints = sum(e.args["minted"] for e in closed)
    genesis = int(deployment.parameters["genesis_mint_wei"])
    settled = ev("JobEscrow", "TaskSettled")
    burn_bps = c("JobEscrow", "burnBps")

    # the lane: every batch's leaves (from calldata), what its settlement and its tasks closed on their own released
    posted = ev("BatchLane", "BatchPosted")
    leaves = {e.args["batchId"]: lane.batch_leaves(chain, e.args["batchId"], e.block) for e in posted}
    lane_settled = ev("BatchLane", "BatchSettled")
    resolved = ev("BatchLane", "TaskResolved")
    proven = ev("BatchLane", "BadManifestProven")
    resolved_burn = sum(leaves[e.args["batchId"]][e.args["index"]].fee * burn_bps // BPS
                        for e in resolved if e.args["passed"])
    resolved_treasury = sum(leaves[e.args["batchId"]][e.args["index"]].fee for e in resolved if e.args["passed"]) \
        - resolved_burn
    fee_burns = sum(e.args["burned"] for e in settled) + sum(e.args["burned"] for e in lane_settled) + resolved_burn
    epochs = c("BMWIssuance", "currentEpoch")
    recorded_burns = sum(read_struct(chain, "BMWIssuance", "epochs", e)["burned"] for e in range(epochs + 1))
    out = [("supply: balances of all holders = totalSupply", balances == supply,
            f"{len(holders)} holders hold {balances} wei, totalSupply {supply}"),
           ("mints: totalMinted = genesis + epoch mints", minted == genesis + epoch_mints,
            f"{minted} = {genesis} + {epoch_mints}"),
           ("burns: totalMinted - totalSupply = settled fees' burns (single + lane) = recorded burns",
            minted - supply == fee_burns == recorded_burns, f"{minted - supply} / {fee_burns} / {recorded_burns}")]

    escrow = deployment.address("JobEscrow")
    lane_held = c("JobEscrow", "laneHeld")
    liabilities = c("JobEscrow", "bondsHeld") + lane_held
    liabilities += sum(get_job(chain, j).budget for j in range(1, c("JobEscrow", "jobCount") + 1))
    single_locked = 0
    for task_id in range(1, c("JobEscrow", "taskCount") + 1):
        task = get_task(chain, task_id)
        if TaskState.POSTED <= task.state <= TaskState.DISPUTED:
            liabilities += task.reserved
        if TaskState.ACCEPTED <= task.state <= TaskState.DISPUTED:
            single_locked += task.collateral
    accounts = holders | {deployment.parameters["treasury"]}
    liabilities += sum(c("JobEscrow", "claimable", a) for a in accounts)
    held = c("IFXToken", "balanceOf", escrow)
    out.append(("escrow: balance = budgets + live reservations + claimable + bonds + laneHeld", held == liabilities,
                f"{held} vs {liabilities}"))

    records = {b: lane.get_batch(chain, b) for b in leaves}
    lane_fees = sum(r["fees"] for r in records.values())
    released = sum(e.args["burned"] + e.args["toTreasury"] + e.args["refund"] for e in lane_settled)
    closed_own = sum(leaves[e.args["batchId"]][e.args["index"]].fee for e in [*resolved, *proven])
    out.append(("lane fees: laneHeld = batches' fees - settlements' releases - tasks closed on their own",
                lane_held == lane_fees - released - closed_own,
                f"{lane_held} = {lane_fees} - {released} - {closed_own} ({len(posted)} batches, "
                f"{len(lane_settled)} settled, {len(resolved)} resolved, {len(proven)} bogus manifests proven)"))
    lane_balance, bonds = c("IFXToken", "balanceOf", deployment.address("BatchLane")), c("BatchLane", "bondsHeld")
    out.append(("lane bonds: BatchLane's balance = bondsHeld", lane_balance == bonds, f"{lane_balance} = {bonds}"))

    nodes = {e.args["account"] for e in ev("Staking", "Registered")}
    views = {a: get_node(chain, a) for a in nodes}
    stakes = sum(v.stake for v in views.values())
    staking_held, total_staked = c("IFXToken", "balanceOf", staking_address), c("Staking", "totalStaked")
    slashed = ev("Staking", "Slashed")
    flow = sum(e.args["amount"] for e in ev("Staking", "Staked")) - sum(
        e.args["amount"] for e in ev("Staking", "Withdrawn")) - sum(e.args["amount"] for e in slashed)
    out.append(("stakes: staking balance = totalStaked = sum of stakes = staked - withdrawn - slashed",
                staking_held == total_staked == stakes == flow,
                f"{staking_held} / {total_staked} / {stakes} / {flow} ({len(nodes)} nodes, {len(slashed)} slashes)"))
    lane_locked = 0
    for b, record in records.items():
        for i, leaf in enumerate(leaves[b]):
            if not record["done_bits"] >> i & 1 and record["stage"] != 0:
                lane_locked += leaf.fee * record["collateral_bps"] // BPS
    locked = sum(v.locked for v in views.values())
    out.append(("locks: collateral locked = live single tasks' + open lane tasks'",
                locked == single_locked + lane_locked, f"{locked} = {single_locked} + {lane_locked}"))
    pool_part = sum(e.args["amount"] - e.args["reward"] for e in slashed)
    penalties = sum(e.args["amount"] for e in ev("BMWIssuance", "PenaltyReceived"))
    out.append(("slashes: pool share of slashes = staking's transfers to the issuance; penalties recorded = every "
                "transfer to it but mints", pool_part == from_staking_to_issuance and penalties == to_issuance,
                f"{pool_part} = {from_staking_to_issuance}; {penalties} = {to_issuance} (rewards paid from slashes "
                f"{sum(e.args['reward'] for e in slashed)})"))

    claims = sum(e.args["amount"] for e in ev("BMWIssuance", "Claimed"))
    issuance_held = c("IFXToken", "balanceOf", issuance_address)
    pools = sum(e.args["workerPool"] + e.args["oraclePool"] + e.args["managerPool"] + e.args["toTreasury"]
                for e in closed)
    out.append(("issuance: balance = mints + penalties - claims >= unclaimed pools",
                issuance_held == epoch_mints + penalties - claims and issuance_held >= pools - claims,
                f"{issuance_held} = {epoch_mints} + {penalties} - {claims}"))

    treasury = deployment.parameters["treasury"]
    to_treasury = sum(e.args["toTreasury"] for e in settled) + sum(e.args["toTreasury"] for e in lane_settled) \
        + resolved_treasury
    withdrawn = sum(e.args["amount"] for e in ev("JobEscrow", "Withdrawal") if e.args["account"] == treasury)
    owed = c("JobEscrow", "claimable", treasury)
    out.append(("treasury: fee shares (single + lane) = claimable + withdrawn", to_treasury == owed + withdrawn,
                f"{to_treasury} = {owed} + {withdrawn}"))
    return out


# ---------------------------------------------------------------- output
ROLES = {"manager": "manager", "workers": "worker", "oracles": "oracle"}


def role_of(name: str) -> str:
    """A process's role in the tables: manager, workers, oracles, or the process itself."""
    head = name.split("-")[0]
    return {"worker": "workers", "oracle": "oracles"}.get(head, name)


def cpu_by_role(r: dict) -> dict[str, tuple[float, float]]:
    """role -> (own CPU s, Blender CPU s) over its processes."""
    blender: dict[str, float] = defaultdict(float)
    for name, kinds in r["timings"].items():
        for kind, (seconds, _) in kinds.items():
            if kind.startswith("cpu: "):
                blender[name] += seconds
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for name, (own, _children) in r["cpu"].items():
        out[role_of(name)][0] += own
        out[role_of(name)][1] += blender.get(name, 0.0)
    return {k: (v[0], v[1]) for k, v in out.items()}


def kind_totals(r: dict) -> dict[str, list[float]]:
    """kind -> [seconds, calls] over every process."""
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for kinds in r["timings"].values():
        for kind, (seconds, calls) in kinds.items():
            out[kind][0] += seconds
            out[kind][1] += calls
    return out


def print_report(p: Pipeline, r: dict, checks: list[tuple[str, bool, str]], problems: list[str], counted: dict,
                 claimed: dict[str, int]) -> None:
    args = p.args
    log(f"\n# {'Single path (--single-tasks)' if p.single else 'Batch lane'}: {r['settled']} tasks\n")
    log("## Throughput\n")
    log("| tasks settled | wall time | tasks/min | steady state tasks/min | chain jumps | chain time skipped | "
        "load before / after |")
    log("|---:|---:|---:|---:|---:|---:|---|")
    log(f"| {r['settled']} | {r['wall_s']:.0f} s | {r['per_min']:.1f} | {r['steady_per_min']:.1f} | {r['jumps']} | "
        f"{r['skipped_s'] / 3600:.1f} h | {r['load_before'][0]:.1f} / {r['load_after'][0]:.1f} |")
    if r["batches"]:
        b = r["batches"]
        sizes = b["sizes"] or [0]
        log(f"\nbatches: {b['count']} ({', '.join(map(str, b['sizes']))} tasks; {statistics.mean(sizes):.1f} per "
            f"batch; {statistics.mean(b['groups'] or [0]):.1f} worker groups per batch); failed attempts re-batched: "
            f"{b['failed_attempts']}; offers re-planned: {b['replans']}")
    log("\n## A task's way (wall seconds between the stages the benchmark saw, polled each second)\n")
    log("| from -> to | median s | longest s | tasks |")
    log("|---|---:|---:|---:|")
    for name, median, longest, n in r["stages"]:
        log(f"| {name} | {median:.1f} | {longest:.1f} | {n} |")

    log("\n## Where the services' time goes (wall seconds inside each kind of call, summed over a role's processes "
        "and threads; a call inside another is counted once, as its own kind)\n")
    by_role: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    blender_cpu: dict[str, float] = defaultdict(float)  # service name -> CPU of its sandboxed Blender runs
    for name, kinds in r["timings"].items():
        for kind, (seconds, calls) in kinds.items():
            by_role[name.split("-")[0]][kind][0] += seconds
            by_role[name.split("-")[0]][kind][1] += calls
            if kind.startswith("cpu: "):
                blender_cpu[name] += seconds
    settled = max(r["settled"], 1)
    kinds = sorted({k for role in ROLES.values() for k in by_role[role] if not k.startswith("cpu: ")})
    log("| kind | " + " s | ".join(ROLES) + " s | all, per task s | calls | calls per task |")
    log("|---|" + "---:|" * (len(ROLES) + 3))
    for kind in kinds:
        cells = [by_role[role].get(kind, [0.0, 0]) for role in ROLES.values()]
        total, calls = sum(c[0] for c in cells), sum(c[1] for c in cells)
        log(f"| {kind} | " + " | ".join(f"{c[0]:.1f}" for c in cells) + f" | {total / settled:.2f} | {calls} | "
            f"{calls / settled:.1f} |")

    log("\n## CPU seconds per process (its own, from psutil; its sandboxed Blender runs, which the sandbox's PID "
        "namespace hides from it, as each run reports them)\n")
    log("| process | own | Blender | total | per task |")
    log("|---|---:|---:|---:|---:|")
    all_cpu = 0.0
    for name, (own, _children) in sorted(r["cpu"].items()):
        total = own + blender_cpu.get(name, 0.0)
        all_cpu += total
        log(f"| {name} | {own:.1f} | {blender_cpu.get(name, 0.0):.1f} | {total:.1f} | {total / settled:.2f} |")
    log("\n| role | own per task | Blender per task | total per task |")
    log("|---|---:|---:|---:|")
    for role, (own, blender) in sorted(cpu_by_role(r).items()):
        log(f"| {role} | {own / settled:.2f} | {blender / settled:.2f} | {(own + blender) / settled:.2f} |")
    log(f"\nall processes: {all_cpu:.0f} CPU s = {all_cpu / settled:.2f} s per task, "
        f"{all_cpu / max(r['wall_s'], 1):.2f} cores busy on average (the machine has {psutil.cpu_count()})")

    log("\n## Where a task's CPU goes: Blender runs by role and operation (CPU s each run reports)\n")
    log("| role | operation | runs | CPU s | per run | per task settled |")
    log("|---|---|---:|---:|---:|---:|")
    for role, key in ROLES.items():
        for kind, (seconds, calls) in sorted(by_role[key].items()):
            if kind.startswith("cpu: "):
                log(f"| {role} | {kind[5:]} | {calls} | {seconds:.1f} | {seconds / max(calls, 1):.2f} | "
                    f"{seconds / settled:.2f} |")

    if args.soak:
        log("\n## Chaos\n")
        log("| # | at s | killed | back after s |")
        log("|---:|---:|---|---:|")
        for i, k in enumerate(r["kills"], 1):
            log(f"| {i} | {k.at:.0f} | {k.victim} | {'-' if k.down_s is None else f'{k.down_s:.1f}'} |")
        downs = [k.down_s for k in r["kills"] if k.down_s is not None]
        by_kind = defaultdict(int)
        for k in r["kills"]:
            by_kind[k.victim.split("-")[0]] += 1
        log(f"\nkills survived: {len(downs)} ({', '.join(f'{n} {kind}' for kind, n in sorted(by_kind.items()))}); "
            f"services down {sum(downs):.0f} s in all (kill to answering again, summed)")
        if args.baseline:
            expected = r["settled"] / args.baseline * 60
            lost = r["wall_s"] - expected
            log(f"time lost: {lost:.0f} s ({r['wall_s']:.0f} s of wall time against {expected:.0f} s for "
                f"{r['settled']} tasks at the chaos-free run's {args.baseline} tasks/min"
                + ("; negative: faster than that run, within the run-to-run noise of a shared machine)" if lost < 0
                   else ")"))

    log("\n## Checks\n")
    lane_part = (f"; {counted['batches']} batches each settled once, {counted['failed_in_batches']} failed attempts "
                 f"re-batched") if counted.get("batches") else ""
    log(f"- every task settled exactly once: {'PASS' if not problems else 'FAIL'} ({counted.get('tasks', 0)} tasks "
        f"of the benchmark's jobs; {counted.get('single', 0)} single-path tasks{lane_part})"
        + "".join(f"\n  - {p}" for p in problems[:20]))
    log(f"- epoch closed; {sum(1 for v in claimed.values() if v)} nodes claimed "
        f"{sum(claimed.values()) / IFX:.6f} IFX")
    for name, ok, detail in checks:
        log(f"- {name}: {'PASS' if ok else 'FAIL'} ({detail})")


def print_comparison(results: list[dict]) -> None:
    """One table: the runs side by side."""
    log("\n# Side by side\n")
    log("| | " + " | ".join(r["path"] for r in results) + " |")
    log("|---|" + "---:|" * len(results))

    def row(label: str, cell) -> None:
        log(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    row("tasks settled", lambda r: str(r["settled"]))
    row("wall time, s", lambda r: f"{r['wall_s']:.0f}")
    row("**tasks/min**", lambda r: f"**{r['per_min']:.1f}**")
    row("steady state tasks/min", lambda r: f"{r['steady_per_min']:.1f}")
    row("load average before / after", lambda r: f"{r['load_before'][0]:.1f} / {r['load_after'][0]:.1f}")
    row("batches (tasks each)", lambda r: f"{r['batches']['count']} ({', '.join(map(str, r['batches']['sizes']))})"
        if r["batches"] else "-")
    for kind, label in (("chain transaction", "chain transactions per task"), ("chain read", "chain reads per task"),
                        ("ipfs", "IPFS calls per task")):
        row(label, lambda r, kind=kind: f"{kind_totals(r)[kind][1] / max(r['settled'], 1):.1f}")
    row("wall s in chain transactions per task",
        lambda r: f"{kind_totals(r)['chain transaction'][0] / max(r['settled'], 1):.2f}")
    for role in ("manager", "workers", "oracles", "ipfs", "anvil", "benchmark (creator, clock, beacon)"):
        def cell(r, role=role):
            own, blender = cpu_by_role(r).get(role, (0.0, 0.0))
            n = max(r["settled"], 1)
            return f"{(own + blender) / n:.2f}" + (f" ({own / n:.2f} + {blender / n:.2f} Blender)" if blender else "")
        row(f"CPU s per task: {role}", cell)
    row("**CPU s per task: all**",
        lambda r: f"**{sum(a + b for a, b in cpu_by_role(r).values()) / max(r['settled'], 1):.2f}**")
    for op in ("prepare", "render_frames"):
        row(f"Blender `{op}` CPU s per run", lambda r, op=op: (lambda v: f"{v[0] / v[1]:.2f} ({v[1]} runs)" if v[1]
                                                                else "-")(kind_totals(r).get(f"cpu: blender {op}",
                                                                                             [0.0, 0])))


# ---------------------------------------------------------------- main
def run_path(args: argparse.Namespace, single: bool, out: Path) -> tuple[int, dict | None]:
    """One run on a fresh stack: (exit status, its results)."""
    shutil.rmtree(out, ignore_errors=True)
    pipeline = Pipeline(args, single, out)
    pipeline.my_cpu0 = sum(psutil.Process().cpu_times()[:2])
    log(f"\n[{pipeline.path}] load average before the stack starts: "
        f"{' '.join(f'{x:.2f}' for x in pipeline.load_before)} ({psutil.cpu_count()} CPUs): the machine's other work")
    try:
        pipeline.setup()
        log(f"[{pipeline.path}] running: {args.tasks} tasks{', with the chaos loop' if args.soak else ''}")
        result = pipeline.run()
        net = pipeline.net
        for name, service in net.processes.items():  # the nodes stop before the epoch is closed and claimed
            service.terminate()
        result["cpu"] = pipeline.process_cpu()  # before they exit (read again: CPU until the end of the run)
        for service in net.processes.values():
            service.stop()
        problems, counted = settled_once(pipeline.chain, net.deployment)
        claimed = close_epoch_and_claim(net, [MANAGER, *ORACLES, *pipeline.workers])
        checks = conservation(pipeline.chain, net.deployment)
        print_report(pipeline, result, checks, problems, counted, claimed)
        ok = not problems and all(ok for _, ok, _ in checks)
        result["ok"] = ok
        log(f"\nPIPELINE ({pipeline.path}) {'PASSED' if ok else 'FAILED'} (logs in {out / 'logs'})")
        return (0 if ok else 1), result
    except StackFailure as exc:
        log(f"\nPIPELINE ({pipeline.path}) FAILED: {exc}")
        return 1, None
    finally:
        pipeline.stop.set()
        pipeline.net.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=30, help="tasks in all (one frame each)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--size", type=int, default=96, help="frame width and height, pixels")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--job-tasks", type=int, default=10, help="tasks per job")
    parser.add_argument("--open-jobs", type=int, default=2, help="jobs unfinished at a time")
    parser.add_argument("--poll", type=float, default=0.5, help="the daemons' poll interval, s")
    parser.add_argument("--jump-every", type=float, default=10.0, help="wall seconds between two time jumps, at least")
    parser.add_argument("--single-tasks", action="store_true",
                        help="the manager on the single-task path (its --single-tasks) instead of the batch lane")
    parser.add_argument("--compare", action="store_true",
                        help="run the batch lane, then the single path, each on a fresh stack; one table of both")
    parser.add_argument("--batch-tasks", type=int, default=64, help="the manager's --batch-tasks")
    parser.add_argument("--batch-age", type=float, default=30.0, help="the manager's --batch-age, s")
    parser.add_argument("--offer-timeout", type=int, default=OFFER_TIMEOUT,
                        help="the manager's --offer-timeout, chain s (long: the clock's jumps would lapse offers)")
    parser.add_argument("--soak", action="store_true", help="kill -9 and restart services at random meanwhile")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(20.0, 60.0), metavar=("MIN", "MAX"))
    parser.add_argument("--restart-after", type=float, nargs=2, default=(0.5, 3.0), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=1, help="the chaos loop's random seed")
    parser.add_argument("--baseline", type=float, default=None, metavar="TASKS_PER_MIN",
                        help="--soak: a chaos-free run's tasks/min, to print the time the kills cost")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds of run")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "pipeline")
    args = parser.parse_args()
    args.out = args.out.resolve()  # the sandboxed Blender runs see absolute paths only
    if args.workers > 14:
        parser.error("at most 14 workers (anvil's 20 dev accounts)")
    if args.compare and args.single_tasks:
        parser.error("--compare runs both paths; --single-tasks picks one")

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    paths = [False, True] if args.compare else [args.single_tasks]
    status, results = 0, []
    try:
        for single in paths:
            out = args.out / ("single" if single else "batches") if args.compare else args.out
            code, result = run_path(args, single, out)
            status = status or code
            if result is not None:
                results.append(result)
    except KeyboardInterrupt:
        log("\ninterrupted")
        return 130
    if len(results) > 1:
        print_comparison(results)
    return status


if __name__ == "__main__":
    sys.exit(main())
