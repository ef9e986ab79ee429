"""Tasks settled per minute through the real services: the whole stack on one machine, each part its own process
(anvil, js-ipfs, the contracts deployed by the real deploy command, the manager with its API, coordination loop and
indexer, 3 oracles, ``--workers`` workers: :mod:`inferix.testing.stack`, as ``make demo`` runs them), a creator
submitting jobs of tiny renders through the SDK (``InferixClient.submit``: upload, quote, create the job), every
task prepared, rendered, verified by its drawn committee and settled on chain.

    python -m benchmarks.pipeline                          # 30 tasks, 3 workers
    python -m benchmarks.pipeline --tasks 60 --workers 4
    python -m benchmarks.pipeline --soak --tasks 1000      # with the chaos loop (hours on a 2-core machine)

**The renders.** One generated scene (the demo's ``flyby``) at ``--size`` square pixels (96: the smallest at which
ANGV places its 12 imprints in every frame of it; at 16x16 the manager refuses the frame, "too small for an
imprint", and at 64x64 only 9 of 12 fit), ``--samples`` samples, one frame per task, jobs of ``--job-tasks`` tasks
(frames 1..k of the scene), at most ``--open-jobs`` jobs unfinished at a time (the next job is submitted when one
finishes: the manager prepares it while the previous one renders). Results: docs/scale.md, "The pipeline (measured)".

**Time windows, shortened by configuration.** A passed task settles only after its challenge window (an hour by
default). Before any job, one governance proposal (the timelock, the local 60 s delay time-travelled past:
:meth:`Stack.govern`) sets ``JobEscrow.challengeWindow`` to its floor, 600 s; the benchmark's clock then skips what
is left of it by time travel (``evm_increaseTime``): at most every ``--jump-every`` wall seconds, when tasks wait
out their challenge windows, the chain jumps just past the latest of their deadlines (<= 601 s). A jump moves every
deadline of the tasks in flight closer too, so the same proposal lengthens the windows that only bound a node's
response time to their ceilings (``acceptWindow`` 1 day, ``revealWindow`` and ``verifyWindow`` 3 days,
``ProofOfRender.commitWindow`` and ``voteRevealWindow`` 1 day each), and the manager gives workers a 1-day render
window (``--render-window 86400``): no deadline of a task in flight is missed because of a jump. The price feed's
mock aggregator is refreshed (``setAnswer``, same answer) once the jumps add up to 6 h, as its answers go stale
after a day. Nothing else differs from a real deployment: the nodes wait for the same events and send the same
transactions. The manager's other settings (environment): no paid benchmark task per new worker
(``INFERIX_BENCHMARK_WORKERS=false``: a once-per-worker cost, not the pipeline's) and quote and upload rate limits
raised (``INFERIX_QUOTE_RATE``, ``INFERIX_UPLOAD_RATE``: one creator submits every job).

**What it prints.** Tasks settled, wall time (from the first job's submission to the last task's settlement),
tasks per minute over that time and in the steady state (first to last settlement); the median and longest wall time
a task spends between the states the benchmark sees it in (polled each second); where the services' time goes, from
:mod:`inferix.timing` (``INFERIX_TIMINGS_DIR``): wall seconds inside chain transactions (estimate, sign, send, wait
for the receipt), chain reads, IPFS calls, sandboxed Blender runs by operation (the manager's ``prepare``: noise
embedding; its ``time_frames``/``scene_info``: quotes and uploads; the workers' ``render_frames``) and ANGV
verification (the oracles', and the manager's per-region scores), per role, each counted once (an IPFS fetch inside a
verification is IPFS time); and the CPU seconds of every process (``psutil``, anvil's and js-ipfs's with the children
their npm launchers start) plus those of its Blender runs (each sandboxed run reports its own: the sandbox's PID
namespace hides them from the parent), the manager's per task.

**Checks** (also without ``--soak``): every task of the benchmark's jobs settled exactly once (state ``SETTLED``
and one ``TaskSettled`` event); then the epoch is closed and every node claims, and IFX is conserved to the wei
(:func:`conservation`). Exits non-zero if anything is off.

**--soak** adds a chaos loop: every ``--kill-every`` seconds (uniform between the two bounds), one of the manager,
an oracle, a worker or the IPFS daemon (each kind once per round of four, in a random order; then one of its
processes at random) is killed with SIGKILL (its whole process group; a Blender run dies with its parent) and started
again after ``--restart-after`` seconds, on its persisted state. It prints every kill, how long each service took to be back (the manager's API answering, the
IPFS API answering, a node's "ready" log line) and the totals; with ``--baseline`` (the tasks/min of a chaos-free
run of the same size), the time lost: the wall time beyond what the same tasks took without kills.
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

from inferix import timing  # noqa: E402
from inferix.chain import Chain  # noqa: E402
from inferix.client import InferixClient  # noqa: E402
from inferix.protocol import IFX, TaskState, get_job, get_node, get_task, read_struct  # noqa: E402
from inferix.render import run_jobs  # noqa: E402
from inferix.testing.devnet import dev_account  # noqa: E402
from inferix.testing.stack import Stack, StackFailure, answers  # noqa: E402

DEPLOYER, MANAGER, CREATOR, ORACLES, FIRST_WORKER = 0, 1, 2, (3, 4, 5), 6
FINAL = {TaskState.SETTLED, TaskState.FAILED, TaskState.CANCELLED}
RENDER_WINDOW = 86_400
CHALLENGE_WINDOW = 600
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


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class Kill:
    victim: str
    at: float  # seconds into the run
    down_s: float | None = None  # until the service answered again


@dataclass
class Tracked:
    job_id: int
    state: TaskState = TaskState.POSTED
    deadline: int = 0
    seen: dict[TaskState, float] = field(default_factory=dict)  # first wall time the benchmark saw each state


class Pipeline:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out
        self.net = Stack(self.out, extra_env={timing.ENV: str(self.out / "timings")})
        self.workers = [FIRST_WORKER + i for i in range(args.workers)]
        self.rng = random.Random(args.seed)
        self.jobs: dict[int, int] = {}  # job id -> its number of tasks (one frame per task)
        self.tasks: dict[int, Tracked] = {}
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
        self.first_submit = self.last_settled = self.first_settled = 0.0

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
        self.api = net.start_manager(MANAGER, render_window=RENDER_WINDOW, poll=args.poll, env=MANAGER_ENV)
        for index in ORACLES:
            net.start_oracle(index, poll=args.poll)
        for index in self.workers:
            net.start_worker(index, poll=args.poll)
        for name, service in net.processes.items():
            self.pids[service.process.pid] = name
        net.wait_api()
        chain = self.chain
        net.wait(lambda: all(chain.call("Staking", "isActive", dev_account(i).address, 2) for i in ORACLES) and all(
            chain.call("Staking", "isActive", dev_account(i).address, 1) for i in self.workers), 300, "nodes staked")
        self.creator = InferixClient(self.api, dev_account(CREATOR), net.anvil.url)
        self.creator.sign_in()
        log(f"stack up in {time.monotonic() - t:.0f} s: anvil, js-ipfs, contracts, manager, {len(ORACLES)} oracles, "
            f"{len(self.workers)} workers; windows shortened by governance; {args.size}x{args.size} px, "
            f"{args.samples} spp, jobs of {args.job_tasks} one-frame tasks")

    # ------------------------------------------------------------ the chain
    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def poll_chain(self) -> None:
        head = self.chain.block_number()
        if head >= self.cursor:
            creator = dev_account(CREATOR).address
            for ev in self.chain.events("JobEscrow", ["JobCreated", "TaskPosted"], self.cursor, head):
                a = ev.args
                if ev.name == "JobCreated" and a["creator"] == creator:
                    self.jobs[a["jobId"]] = a["frameEnd"] - a["frameStart"] + 1
                elif ev.name == "TaskPosted" and a["jobId"] in self.jobs:
                    self.tasks.setdefault(a["taskId"], Tracked(a["jobId"]))
            self.cursor = head + 1
        wall = time.monotonic()
        for task_id, tracked in self.tasks.items():
            if tracked.state in FINAL:
                continue
            task = get_task(self.chain, task_id)
            tracked.state = task.state
            tracked.seen.setdefault(task.state, wall)
            tracked.deadline = task.deadline
            if task.state == TaskState.SETTLED:
                self.last_settled = wall
                self.first_settled = self.first_settled or wall

    def submitted(self) -> int:
        return sum(self.jobs.values())

    def open_jobs(self) -> int:
        done = defaultdict(int)
        for tracked in self.tasks.values():
            if tracked.state in FINAL:
                done[tracked.job_id] += 1
        return sum(1 for job_id, n in self.jobs.items() if done[job_id] < n)

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
        """Skip the challenge windows of the tasks waiting them out: jump just past the latest of their deadlines."""
        if time.monotonic() - self.last_jump < self.args.jump_every:
            return
        now = self.now()
        waiting = [t.deadline for t in self.tasks.values() if t.state == TaskState.VERIFIED and t.deadline >= now]
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
                if self.submitted() >= args.tasks and len(self.tasks) >= self.submitted() and all(
                        t.state in FINAL for t in self.tasks.values()):
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
        counts = defaultdict(int)
        for t in self.tasks.values():
            counts[t.state.label] += 1
        states = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none posted yet"
        return (f"jobs {len(self.jobs)}, tasks submitted {self.submitted()}/{self.args.tasks}: {states}; "
                f"{self.jumps} jumps; {len(self.kills)} kills")

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
        totals["benchmark (creator, clock, beacon)"] = (me.user + me.system, 0.0)
        for name, pid in live.items():
            own, children = cpu_of(pid, tree=name in ("anvil", "ipfs"))
            before = totals.get(name, (0.0, 0.0))
            totals[name] = (before[0] + own, before[1] + children)
        return totals

    def report(self) -> dict:
        settled = sum(1 for t in self.tasks.values() if t.state == TaskState.SETTLED)
        wall = self.last_settled - self.first_submit
        steady = (settled - 1) / (self.last_settled - self.first_settled) * 60 \
            if settled > 1 and self.last_settled > self.first_settled else 0.0
        return {"settled": settled, "tasks": len(self.tasks), "wall_s": wall,
                "per_min": settled / wall * 60 if wall > 0 else 0.0, "steady_per_min": steady,
                "stages": self.stage_medians(), "cpu": self.process_cpu(), "timings": self.timings(),
                "jumps": self.jumps, "skipped_s": self.skipped_s, "kills": list(self.kills)}

    def stage_medians(self) -> list[tuple[str, float, float, int]]:
        """(from -> to, median s, longest s, tasks seen in both states) for each pair of consecutive states."""
        out = []
        for a, b in zip(SEEN, SEEN[1:]):
            gaps = [t.seen[b] - t.seen[a] for t in self.tasks.values() if a in t.seen and b in t.seen]
            if gaps:
                out.append((f"{a.label} -> {b.label}", statistics.median(gaps), max(gaps), len(gaps)))
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
def settled_once(chain: Chain, deployment, task_ids: list[int]) -> list[str]:
    """Every task of the benchmark SETTLED, with exactly one TaskSettled event."""
    events = chain.events("JobEscrow", ["TaskSettled"], deployment.block_number, chain.block_number())
    count = defaultdict(int)
    for ev in events:
        count[ev.args["taskId"]] += 1
    problems = []
    for task_id in task_ids:
        state = get_task(chain, task_id).state
        if state != TaskState.SETTLED or count[task_id] != 1:
            problems.append(f"task {task_id}: {state.label}, {count[task_id]} TaskSettled events")
    return problems


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
    * burns: ``totalMinted - totalSupply`` = the burns of the settled fees (``TaskSettled.burned``) = the burns the
      issuance recorded per epoch;
    * escrow: its balance = the jobs' unreserved budgets + the reservations of live tasks + every account's claimable
      balance + the challenge bonds + the batch lane's fees (``JobEscrow.escrow_liabilities`` of the unit tests);
    * stakes: the staking contract's balance = ``totalStaked`` = the sum of every node's stake;
    * issuance: its balance = its mints + the penalties it received - the claims it paid, and it holds at least the
      closed epochs' unclaimed pools;
    * treasury: the fee shares owed to it (``TaskSettled.toTreasury``) = its claimable balance + its withdrawals.
    """
    c = chain.call
    since, head = deployment.block_number, chain.block_number()
    ev = lambda contract, *names: chain.events(contract, list(names), since, head)  # noqa: E731
    token = chain.contract("IFXToken")
    holders = set()
    for start in range(since, head + 1, 5_000):
        for entry in token.events.Transfer().get_logs(from_block=start, to_block=min(start + 4_999, head)):
            holders.update(v for k, v in entry["args"].items() if k != "value" and isinstance(v, str))
    holders.discard("0x" + "00" * 20)
    supply, minted = c("IFXToken", "totalSupply"), c("IFXToken", "totalMinted")
    balances = sum(c("IFXToken", "balanceOf", h) for h in holders)
    closed = ev("BMWIssuance", "EpochClosed")
    epoch_mints = sum(e.args["minted"] for e in closed)
    genesis = int(deployment.parameters["genesis_mint_wei"])
    settled = ev("JobEscrow", "TaskSettled")
    fee_burns = sum(e.args["burned"] for e in settled)
    epochs = c("BMWIssuance", "currentEpoch")
    recorded_burns = sum(read_struct(chain, "BMWIssuance", "epochs", e)["burned"] for e in range(epochs + 1))
    out = [("supply: balances of all holders = totalSupply", balances == supply,
            f"{len(holders)} holders hold {balances} wei, totalSupply {supply}"),
           ("mints: totalMinted = genesis + epoch mints", minted == genesis + epoch_mints,
            f"{minted} = {genesis} + {epoch_mints}"),
           ("burns: totalMinted - totalSupply = settled fees' burns = recorded burns",
            minted - supply == fee_burns == recorded_burns, f"{minted - supply} / {fee_burns} / {recorded_burns}")]

    escrow = deployment.address("JobEscrow")
    liabilities = c("JobEscrow", "bondsHeld") + c("JobEscrow", "laneHeld")
    liabilities += sum(get_job(chain, j).budget for j in range(1, c("JobEscrow", "jobCount") + 1))
    for task_id in range(1, c("JobEscrow", "taskCount") + 1):
        task = get_task(chain, task_id)
        if TaskState.POSTED <= task.state <= TaskState.DISPUTED:
            liabilities += task.reserved
    accounts = holders | {deployment.parameters["treasury"]}
    liabilities += sum(c("JobEscrow", "claimable", a) for a in accounts)
    held = c("IFXToken", "balanceOf", escrow)
    out.append(("escrow: balance = budgets + live reservations + claimable + bonds", held == liabilities,
                f"{held} vs {liabilities}"))

    nodes = {e.args["account"] for e in ev("Staking", "Registered")}
    stakes = sum(get_node(chain, a).stake for a in nodes)
    staking_held, total_staked = c("IFXToken", "balanceOf", deployment.address("Staking")), c("Staking", "totalStaked")
    out.append(("stakes: staking balance = totalStaked = sum of stakes", staking_held == total_staked == stakes,
                f"{staking_held} / {total_staked} / {stakes} ({len(nodes)} nodes)"))

    penalties = sum(e.args["amount"] for e in ev("BMWIssuance", "PenaltyReceived"))
    claims = sum(e.args["amount"] for e in ev("BMWIssuance", "Claimed"))
    issuance_held = c("IFXToken", "balanceOf", deployment.address("BMWIssuance"))
    pools = sum(e.args["workerPool"] + e.args["oraclePool"] + e.args["managerPool"] + e.args["toTreasury"]
                for e in closed)
    out.append(("issuance: balance = mints + penalties - claims >= unclaimed pools",
                issuance_held == epoch_mints + penalties - claims and issuance_held >= pools - claims,
                f"{issuance_held} = {epoch_mints} + {penalties} - {claims}"))

    treasury = deployment.parameters["treasury"]
    to_treasury = sum(e.args["toTreasury"] for e in settled)
    withdrawn = sum(e.args["amount"] for e in ev("JobEscrow", "Withdrawal") if e.args["account"] == treasury)
    owed = c("JobEscrow", "claimable", treasury)
    out.append(("treasury: fee shares = claimable + withdrawn", to_treasury == owed + withdrawn,
                f"{to_treasury} = {owed} + {withdrawn}"))
    return out


# ---------------------------------------------------------------- output
def print_report(p: Pipeline, r: dict, checks: list[tuple[str, bool, str]], problems: list[str],
                 claimed: dict[str, int]) -> None:
    args = p.args
    log("\n## Throughput\n")
    log("| tasks settled | wall time | tasks/min | steady state tasks/min | chain jumps | chain time skipped |")
    log("|---:|---:|---:|---:|---:|---:|")
    log(f"| {r['settled']} | {r['wall_s']:.0f} s | {r['per_min']:.1f} | {r['steady_per_min']:.1f} | {r['jumps']} | "
        f"{r['skipped_s'] / 3600:.1f} h |")
    log("\n## A task's way (wall seconds between the states the benchmark saw, polled each second)\n")
    log("| from -> to | median s | longest s | tasks |")
    log("|---|---:|---:|---:|")
    for name, median, longest, n in r["stages"]:
        log(f"| {name} | {median:.1f} | {longest:.1f} | {n} |")

    log("\n## Where the services' time goes (wall seconds inside each kind of call, summed over a role's processes "
        "and threads; a call inside another is counted once, as its own kind)\n")
    roles = {"manager": "manager", "workers": "worker", "oracles": "oracle"}
    by_role: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    blender_cpu: dict[str, float] = defaultdict(float)  # service name -> CPU of its sandboxed Blender runs
    for name, kinds in r["timings"].items():
        for kind, (seconds, calls) in kinds.items():
            by_role[name.split("-")[0]][kind][0] += seconds
            by_role[name.split("-")[0]][kind][1] += calls
            if kind.startswith("cpu: "):
                blender_cpu[name] += seconds
    settled = max(r["settled"], 1)
    kinds = sorted({k for role in roles.values() for k in by_role[role] if not k.startswith("cpu: ")})
    log("| kind | " + " s | ".join(roles) + " s | all, per task s | calls |")
    log("|---|" + "---:|" * (len(roles) + 2))
    for kind in kinds:
        cells = [by_role[role].get(kind, [0.0, 0]) for role in roles.values()]
        total = sum(c[0] for c in cells)
        log(f"| {kind} | " + " | ".join(f"{c[0]:.1f}" for c in cells) + f" | {total / settled:.2f} | "
            f"{sum(c[1] for c in cells)} |")

    log("\n## CPU seconds per process (its own, from psutil; its sandboxed Blender runs, which the sandbox's PID "
        "namespace hides from it, as each run reports them)\n")
    log("| process | own | Blender | total | per task |")
    log("|---|---:|---:|---:|---:|")
    all_cpu = 0.0
    for name, (own, _children) in sorted(r["cpu"].items()):
        total = own + blender_cpu.get(name, 0.0)
        all_cpu += total
        log(f"| {name} | {own:.1f} | {blender_cpu.get(name, 0.0):.1f} | {total:.1f} | {total / settled:.2f} |")
    own, blender = r["cpu"].get("manager", (0.0, 0.0))[0], blender_cpu.get("manager", 0.0)
    log(f"\nmanager CPU per task: {own / settled:.2f} s own + {blender / settled:.2f} s of its Blender runs = "
        f"{(own + blender) / settled:.2f} s")
    log(f"all processes: {all_cpu:.0f} CPU s = {all_cpu / settled:.2f} s per task, "
        f"{all_cpu / max(r['wall_s'], 1):.2f} cores busy on average (the machine has {psutil.cpu_count()})")

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
    log(f"- every task settled exactly once: {'PASS' if not problems else 'FAIL'} ({r['settled']} tasks)"
        + "".join(f"\n  - {p}" for p in problems[:20]))
    log(f"- epoch closed; {sum(1 for v in claimed.values() if v)} nodes claimed "
        f"{sum(claimed.values()) / IFX:.6f} IFX")
    for name, ok, detail in checks:
        log(f"- {name}: {'PASS' if ok else 'FAIL'} ({detail})")


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
    parser.add_argument("--soak", action="store_true", help="kill -9 and restart services at random meanwhile")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(20.0, 60.0), metavar=("MIN", "MAX"))
    parser.add_argument("--restart-after", type=float, nargs=2, default=(0.5, 3.0), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=1, help="the chaos loop's random seed")
    parser.add_argument("--baseline", type=float, default=None, metavar="TASKS_PER_MIN",
                        help="--soak: a chaos-free run's tasks/min, to print the time the kills cost")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds of run")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "pipeline")
    args = parser.parse_args()
    if args.workers > 14:
        parser.error("at most 14 workers (anvil's 20 dev accounts)")
    shutil.rmtree(args.out, ignore_errors=True)
    log(f"load average before the stack starts: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"({psutil.cpu_count()} CPUs): the machine's other work")
    pipeline = Pipeline(args)

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    try:
        pipeline.setup()
        log(f"running: {args.tasks} tasks{', with the chaos loop' if args.soak else ''}")
        result = pipeline.run()
        task_ids = sorted(pipeline.tasks)
        net = pipeline.net
        for name, service in net.processes.items():  # the nodes stop before the epoch is closed and claimed
            service.terminate()
        result["cpu"] = pipeline.process_cpu()  # before they exit (read again: CPU until the end of the run)
        for service in net.processes.values():
            service.stop()
        problems = settled_once(pipeline.chain, net.deployment, task_ids)
        claimed = close_epoch_and_claim(net, [MANAGER, *ORACLES, *pipeline.workers])
        checks = conservation(pipeline.chain, net.deployment)
        print_report(pipeline, result, checks, problems, claimed)
        ok = not problems and all(ok for _, ok, _ in checks)
        log(f"\nPIPELINE {'PASSED' if ok else 'FAILED'} (logs in {args.out / 'logs'})")
        return 0 if ok else 1
    except StackFailure as exc:
        log(f"\nPIPELINE FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("\ninterrupted")
        return 130
    finally:
        pipeline.stop.set()
        pipeline.net.stop_all()


if __name__ == "__main__":
    sys.exit(main())
