"""Throughput and latency of ``GET /v1/jobs/{id}`` on a populated index: SQLite with one API process, PostgreSQL with
one and with two, side by side.

    python -m benchmarks.api                        # all three, 10,000 jobs, 50,000 tasks, 16 clients, 20 s each
    python -m benchmarks.api --db sqlite --concurrency 16 64 --duration 10
    python -m benchmarks.api --db postgresql --processes 1 2 4

The script fills each database through the indexer's tables with the same data (``populate``: jobs, tasks, their
attempts and verdicts, per-region scores, nodes, epochs and job events, as the indexer would have derived them;
written through ``backend.db.connect(url)``, so the same statements on both): a temporary SQLite file, and a
database on a throwaway PostgreSQL server that the script starts itself (``inferix.testing.postgres``, on
127.0.0.1, stopped and deleted at the end). For each configuration it starts the API processes as an operator
does, real ``uvicorn --factory`` processes (``read_app`` below: ``backend.app.create_app`` with every router and
middleware, its database from ``INFERIX_DATABASE_URL``; no chain, no IPFS: reads only), each on its own port, and
runs a closed-loop load in another process: ``--concurrency`` keep-alive HTTP/1.1 connections spread evenly over
the processes (as a load balancer would), each sending its next request as soon as the previous answer is in, for
random job ids, over ``--duration`` seconds after a warm-up. The client is a minimal asyncio HTTP/1.1 client (fixed
request bytes, Content-Length framing) so that it costs the shared CPU far less than the servers it measures.

It prints one table of requests/s and p50/p90/p99/max latency per configuration, and one of the CPU each part used
during the measured window (from ``/proc``: the load generator, each API process, the PostgreSQL server with all
its backends, the rest of the machine), with what bounds each run. It exits non-zero if any answer was not a 200
or if the databases answered a sample of jobs differently.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import NamedTuple
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from inferix.protocol import IFX, TASK_STATE_NAMES, USD  # noqa: E402
from inferix.testing.process import Service  # noqa: E402

STATES = tuple(label for label in TASK_STATE_NAMES.values() if label != "disputed")


def _address(rng: random.Random) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + rng.randbytes(20).hex())


def populate(conn, jobs: int = 10_000, tasks_per_job: int = 5, workers: int = 200, seed: int = 7) -> None:
    """Fill the indexer's tables (already migrated on ``conn``) with a plausible network's history."""
    from backend.indexer import job_status

    rng = random.Random(seed)
    creators = [_address(rng) for _ in range(max(jobs // 20, 1))]
    managers = [_address(rng) for _ in range(3)]
    nodes = [_address(rng) for _ in range(workers)]
    oracles = [_address(rng) for _ in range(5)]
    now = 1_767_225_600
    conn.execute("BEGIN")
    for i, address in enumerate(nodes):
        conn.execute(
            "INSERT INTO workers (address, role, price_per_ibm, stake, locked, unbonding, ib, completed, failed, "
            "last_failure_block, work_ibm, fees, registered_block, updated_block) "
            "VALUES (?, 'worker', ?, ?, '0', '0', ?, ?, ?, ?, ?, ?, ?, ?)",
            (address, str(USD // 2), str(10_000 * IFX), str(rng.randint(1, 5) * 10**6), rng.randint(0, 500),
             rng.randint(0, 5), rng.choice([None, 10 + i]), str(rng.randint(0, 10**12)), str(rng.randint(0, 10**21)),
             1 + i, 1 + i))
    for i, address in enumerate(oracles + managers):
        role = "oracle" if i < len(oracles) else "manager"
        conn.execute("INSERT INTO workers (address, role, stake, verdicts, verdict_weight, registered_block, "
                     "updated_block) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (address, role, str(1_000 * IFX), rng.randint(0, 10**4), str(rng.randint(0, 10**22)), 1, 1))
    task_id = 0
    block = 100
    for job_id in range(1, jobs + 1):
        block += 1
        frames_per_task = rng.randint(1, 10)
        n = tasks_per_job
        states = [rng.choice(STATES) for _ in range(n)]
        settled = states.count("settled")
        failed = states.count("failed")
        cancelled = states.count("cancelled")
        open_tasks = n - settled - failed - cancelled
        closed = int(open_tasks == 0 and rng.random() < 0.3)
        job = {"closed": closed, "open_tasks": open_tasks, "tasks_total": n, "tasks_settled": settled}
        creator = rng.choice(creators)
        conn.execute(
            "INSERT INTO jobs (job_id, creator, manager, scene_cid, frame_start, frame_end, output_settings, budget, "
            "budget_left, refunded, fees_paid, usd_per_ifx, max_price_per_ibm, open_tasks, tasks_total, "
            "tasks_settled, tasks_failed, tasks_cancelled, closed, status, created_block, created_at, updated_block) "
            "VALUES (?, ?, ?, ?, 1, ?, '1920x1080 128spp png', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, creator, rng.choice(managers), f"bafybeigscene{job_id:010d}", n * frames_per_task,
             str(100 * IFX), str(90 * IFX), str(0), str(settled * IFX), str(USD // 2), str(USD), open_tasks, n,
             settled, failed, cancelled, closed, job_status(job), block, now + block * 2, block + 50))
        conn.execute("INSERT INTO events (block, log_index, tx_hash, contract, name, job_id, block_time, args) "
                     "VALUES (?, 0, ?, 'JobEscrow', 'JobCreated', ?, ?, ?)",
                     (block, "0x" + rng.randbytes(32).hex(), job_id, now + block * 2,
                      json.dumps({"jobId": str(job_id), "creator": creator, "budget": str(100 * IFX)})))
        for k, state in enumerate(states):
            task_id += 1
            worker = rng.choice(nodes) if state not in ("posted", "cancelled") else None
            attempts = 1 if state == "failed" else 0
            has_result = state in ("submitted", "revealed", "verified", "settled")
            passed = None if state not in ("verified", "settled") else int(state == "settled" or rng.random() < 0.9)
            conn.execute(
                "INSERT INTO tasks (task_id, job_id, state, worker, attempts, ibm, reserved, fee, collateral, "
                "key_commit, manifest_digest, key_revealed, frame_start, frame_end, render_window, package_cid, "
                "result_cid, passed, deadline, settled_fee, burned, to_treasury, posted_block, updated_block) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 900, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task_id, job_id, state, worker, attempts, str(10**6), str(2 * IFX),
                 str(IFX if worker else 0), str(2 * IFX if worker else 0), "0x" + rng.randbytes(32).hex(),
                 "0x" + rng.randbytes(32).hex(),
                 int(state in ("revealed", "verified", "settled")), 1 + k * frames_per_task,
                 (k + 1) * frames_per_task, f"bafybeigpackage{task_id:010d}",
                 f"bafybeigresult{task_id:010d}" if has_result else None, passed,
                 now + block * 2 + 900 if state in ("assigned", "accepted") else None,
                 str(IFX) if state == "settled" else None, str(IFX * 8 // 10) if state == "settled" else None,
                 str(IFX * 2 // 10) if state == "settled" else None, block, block + 10))
            conn.execute("INSERT INTO events (block, log_index, tx_hash, contract, name, job_id, task_id, "
                         "block_time, args) VALUES (?, ?, ?, 'JobEscrow', 'TaskPosted', ?, ?, ?, ?)",
                         (block, k + 1, "0x" + rng.randbytes(32).hex(), job_id, task_id, now + block * 2,
                          json.dumps({"taskId": str(task_id), "jobId": str(job_id)})))
            if worker and state not in ("assigned",):
                conn.execute("INSERT INTO task_attempts (task_id, attempt, worker, fee, collateral, result_cid, "
                             "passed, outcome, accepted_block) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (task_id, attempts, worker, str(IFX), str(2 * IFX),
                              f"bafybeigresult{task_id:010d}" if has_result else None, passed,
                              "settled" if state == "settled" else None, block + 2))
            if passed is not None:
                for oracle in oracles[:2]:
                    conn.execute("INSERT INTO verdicts (task_id, attempt, oracle, passed, score, block, log_index, "
                                 "tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (task_id, attempts, oracle, passed, rng.randint(0, 10_000), block + 5, k,
                                  "0x" + rng.randbytes(32).hex()))
                for frame in range(1 + k * frames_per_task, (k + 1) * frames_per_task + 1):
                    regions = [{"region": r, "step": round(rng.uniform(-1, 4), 3), "passed": rng.random() < 0.8}
                               for r in range(4)]
                    conn.execute("INSERT INTO task_scores (task_id, attempt, frame, scores_json, frame_cid) "
                                 "VALUES (?, ?, ?, ?, ?)",
                                 (task_id, attempts, frame, json.dumps(regions), f"bafybeigframe{task_id}x{frame}"))
    for epoch in range(max(jobs // 1000, 1) + 1):
        closed = int(epoch < max(jobs // 1000, 1))
        conn.execute("INSERT INTO epochs (epoch, work_ibm, fees, burned, verdict_weight, tasks, penalty, minted, "
                     "worker_pool, oracle_pool, manager_pool, to_treasury, closed, started_at, closed_block, "
                     "closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (epoch, str(10**9), str(10**21), str(8 * 10**20), str(2 * 10**20), 50, str(IFX),
                      str(700 * IFX) if closed else "0",
                      str(525 * IFX) if closed else "0", str(105 * IFX) if closed else "0",
                      str(17 * IFX) if closed else "0", str(53 * IFX) if closed else "0", closed,
                      now + epoch * 259_200, 1000 * (epoch + 1) if closed else None,
                      now + (epoch + 1) * 259_200 if closed else None))
    conn.execute("INSERT INTO indexer_cursor (id, next_block, updated_at) VALUES (1, ?, ?)", (block + 100, now))
    conn.execute("COMMIT")


# --------------------------------------------------------------------------- the servers


def read_app():
    """``uvicorn --factory benchmarks.api:read_app``: the whole app (``create_app``) on ``INFERIX_DATABASE_URL``,
    without a chain or IPFS (the read API needs neither)."""
    from backend.app import create_app
    from backend.settings import BackendSettings

    return create_app(BackendSettings())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/index", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def start_servers(url: str, count: int, log_dir: Path) -> tuple[list[Service], list[int]]:
    """``count`` uvicorn processes serving the app on the database ``url``, each on its own port; they start
    together, as an operator's would."""
    ports: list[int] = []
    while len(ports) < count:
        port = _free_port()
        if port not in ports:
            ports.append(port)
    env = {**os.environ, "INFERIX_DATABASE_URL": url,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    servers = [Service(f"api-{i}", [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.api:read_app",
                                    "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                    "--no-access-log"],
                       log_path=log_dir / f"api-{i}-{port}.log", env=env, cwd=ROOT)
               for i, port in enumerate(ports)]
    try:
        for server in servers:
            server.start()
        deadline = time.monotonic() + 60
        while not all(_answers(port) for port in ports):
            if time.monotonic() > deadline or not all(server.alive() for server in servers):
                raise RuntimeError("the API processes did not start:\n" +
                                   "\n".join(server.log_tail(1500) for server in servers))
            time.sleep(0.2)
    except BaseException:
        stop_servers(servers)
        raise
    return servers, ports


def stop_servers(servers: list[Service]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        server.stop(grace=10)


def sample_answers(ports: list[int], jobs: int, count: int = 25) -> dict[int, bytes]:
    """The bodies of a fixed sample of ``GET /v1/jobs/{id}`` (and one unknown id), to compare the databases."""
    ids = sorted(random.Random(99).sample(range(1, jobs + 1), min(count, jobs))) + [jobs + 1]
    answers = {}
    for n, job_id in enumerate(ids):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ports[n % len(ports)]}/v1/jobs/{job_id}",
                                        timeout=10) as reply:
                answers[job_id] = reply.read()
        except urllib.error.HTTPError as exc:
            answers[job_id] = f"{exc.code} ".encode() + exc.read()
    return answers


# --------------------------------------------------------------------------- CPU accounting (Linux /proc)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _tree_cpu_seconds(root_pid: int) -> float:
    """CPU time of ``root_pid`` and its direct children (the PostgreSQL postmaster and its backends and workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(entry.name) == root_pid or int(fields[1]) == root_pid:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, summed over its cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICK, sum(values) / TICK


class Snapshot(NamedTuple):
    wall: float
    api: list[float]
    postgres: float
    machine_busy: float
    machine_total: float


def snapshot(api_pids: list[int], postmaster: int | None) -> Snapshot:
    busy, total = _machine()
    return Snapshot(time.perf_counter(), [cpu_seconds(pid) for pid in api_pids],
                    _tree_cpu_seconds(postmaster) if postmaster else 0.0, busy, total)


# --------------------------------------------------------------------------- the client


async def _connection(port: int, jobs: int, stop_at: float, record_from: float, latencies: list[float],
                      statuses: dict[int, int], rng: random.Random, sent: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                return
            job_id = rng.randint(1, jobs)
            writer.write(f"GET /v1/jobs/{job_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
                         .encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            end = time.perf_counter()
            sent[0] += 1
            if record_from <= start and end <= stop_at:
                latencies.append(end - start)
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _window(record_from: float, stop_at: float, started, stopped, cpu: list[float]) -> None:
    """Marks the measured window for the parent (which reads the servers' CPU then) and reads the client's own."""
    await asyncio.sleep(max(record_from - time.perf_counter(), 0))
    cpu.append(time.process_time())
    started.set()
    await asyncio.sleep(max(stop_at - time.perf_counter(), 0))
    cpu.append(time.process_time())
    stopped.set()


async def _load(ports: list[int], jobs: int, concurrency: int, warmup: float, duration: float, seed: int,
                started, stopped):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    now = time.perf_counter()
    record_from, stop_at = now + warmup, now + warmup + duration
    rng = random.Random(seed)
    sent = [0]
    cpu: list[float] = []
    await asyncio.gather(_window(record_from, stop_at, started, stopped, cpu),
                         *(_connection(ports[i % len(ports)], jobs, stop_at, record_from, latencies, statuses,
                                       random.Random(rng.random()), sent) for i in range(concurrency)))
    return latencies, statuses, sent[0], cpu[1] - cpu[0]


def _client(ports, jobs, concurrency, warmup, duration, seed, started, stopped, queue) -> None:
    try:
        import uvloop  # the client's own cost: as small as it can be (uvicorn[standard] installs uvloop)
        uvloop.install()
    except ImportError:
        pass
    queue.put(asyncio.run(_load(ports, jobs, concurrency, warmup, duration, seed, started, stopped)))


class Run:
    """One run's figures: latencies (sorted, seconds), answers by status, and the CPU seconds each part used during
    the measured window (a plain class: the schemathesis test loads this file outside ``sys.modules``, where
    dataclasses cannot resolve annotations)."""

    def __init__(self, database: str, processes: int, concurrency: int, duration: float, latencies: list[float],
                 statuses: dict[int, int], client_cpu: float, api_cpu: list[float], postgres_cpu: float,
                 machine_busy: float, machine_total: float) -> None:
        self.database, self.processes, self.concurrency, self.duration = database, processes, concurrency, duration
        self.latencies, self.statuses = latencies, statuses
        self.client_cpu, self.api_cpu, self.postgres_cpu = client_cpu, api_cpu, postgres_cpu
        self.machine_busy, self.machine_total = machine_busy, machine_total
        self.cores = os.cpu_count() or 1

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.duration

    def pct(self, p: float) -> float:
        lat = self.latencies
        return lat[min(int(p / 100 * len(lat)), len(lat) - 1)] * 1000 if lat else 0.0

    def per_request_us(self, seconds: float) -> float:
        return seconds / self.requests * 1e6 if self.requests else 0.0

    def cores_used(self, seconds: float) -> float:
        return seconds / self.duration

    @property
    def machine_cores_busy(self) -> float:
        return self.machine_busy / self.machine_total * self.cores if self.machine_total else 0.0

    @property
    def other_cpu(self) -> float:
        """The rest of the machine's busy CPU: the kernel's loopback networking not charged to a process, the
        benchmark's own parent process, anything else running."""
        return max(self.machine_busy - self.client_cpu - sum(self.api_cpu) - self.postgres_cpu, 0.0)

    @property
    def all_cpu(self) -> float:
        return self.client_cpu + sum(self.api_cpu) + self.postgres_cpu + self.other_cpu

    def bound(self) -> str:
        """What limits the run, in a few words."""
        busy = self.machine_cores_busy
        if busy >= 0.9 * self.cores:
            return f"CPU: all {self.cores} cores ({busy / self.cores:.0%} busy)"
        loops = [self.cores_used(c) for c in self.api_cpu]
        if min(loops) >= 0.85:
            return "CPU of the API process (one core each)" if len(loops) == 1 else \
                "CPU of the API processes (one core each)"
        return ("waiting: the API process's event loop waits on its database round trips "
                f"({max(loops):.2f} core used)")

    def explain(self) -> str:
        """The run's CPU budget per request, and what it implies."""
        api, pg = self.per_request_us(sum(self.api_cpu)), self.per_request_us(self.postgres_cpu)
        client, other = self.per_request_us(self.client_cpu), self.per_request_us(self.other_cpu)
        total = self.per_request_us(self.all_cpu)
        name = "SQLite" if self.database == "sqlite" else "PostgreSQL"
        parts = f"API {api:,.0f} µs" + (f" + PostgreSQL {pg:,.0f} µs" if self.database == "postgresql" else "") + \
            f" + load generator {client:,.0f} µs + other {other:,.0f} µs"
        text = (f"{name}, {self.processes} API process{'es' if self.processes > 1 else ''}, {self.concurrency} "
                f"clients: {self.rps:,.0f} req/s, {self.bound()}. CPU per request: {parts} = {total:,.0f} µs")
        if total:
            text += (f"; {self.cores} cores at 100 % would carry ≈ {self.cores / total * 1e6:,.0f} req/s of this mix")
        if api:
            text += (f"; with the clients and the database on other machines, one API process's CPU would carry at "
                     f"most ≈ {1e6 / api:,.0f} req/s")
            if self.database == "postgresql":
                text += (" (less each database round trip: the handler's two queries run synchronously on the "
                         "event loop)")
        return text + "."


def run_load(ports: list[int], jobs: int, concurrency: int, warmup: float, duration: float, *, database: str,
             api_pids: list[int], postmaster: int | None, seed: int = 1) -> Run:
    """The load in a separate process, with the CPU of every part read at the start and end of the measured
    window."""
    ctx = multiprocessing.get_context("spawn")
    queue, started, stopped = ctx.Queue(), ctx.Event(), ctx.Event()
    process = ctx.Process(target=_client, args=(ports, jobs, concurrency, warmup, duration, seed, started, stopped,
                                                queue))
    process.start()
    try:
        if not started.wait(timeout=warmup + 120):
            raise RuntimeError("the load generator did not start")
        before = snapshot(api_pids, postmaster)
        if not stopped.wait(timeout=duration + 120):
            raise RuntimeError("the load generator did not finish")
        after = snapshot(api_pids, postmaster)
        latencies, statuses, _sent, client_cpu = queue.get(timeout=120)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    latencies.sort()
    return Run(database, len(ports), concurrency, duration, latencies, statuses, client_cpu,
               [b - a for a, b in zip(before.api, after.api)], after.postgres - before.postgres,
               after.machine_busy - before.machine_busy, after.machine_total - before.machine_total)


# --------------------------------------------------------------------------- the databases


def fill(url: str, jobs: int, tasks_per_job: int) -> tuple[dict, float]:
    """Migrate and populate the database ``url`` (through ``backend.db.connect``); returns the row counts and the
    seconds it took."""
    from backend.db import connect, migrate
    from backend.indexer import INDEXER_MIGRATIONS
    from backend.state import APP_MIGRATIONS

    started = time.perf_counter()
    conn = connect(url)
    try:
        migrate(conn, "app", APP_MIGRATIONS)
        migrate(conn, "indexer", INDEXER_MIGRATIONS)
        populate(conn, jobs, tasks_per_job)
        conn.execute("ANALYZE")  # the planner's statistics, as autovacuum would gather them after a bulk load
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("jobs", "tasks")}
    finally:
        conn.close()
    return counts, time.perf_counter() - started


def _postmaster_pid(postgres) -> int:
    return int((postgres.root / "data" / "postmaster.pid").read_text().split("\n", 1)[0])


# --------------------------------------------------------------------------- main


def _fmt_us(value: float) -> str:
    return f"{value:,.0f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="all",
                        help="the database(s) to measure (default: all)")
    parser.add_argument("--processes", type=int, nargs="+",
                        help="API processes (several values: one run each) for every database measured "
                             "(default: 1 on SQLite; 1 and 2 on PostgreSQL)")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--tasks-per-job", type=int, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16],
                        help="keep-alive connections, spread over the processes (several values: one run each)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--database", type=Path, help="keep the populated SQLite database here (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.processes and min(args.processes) < 1:
        parser.error("--processes: at least 1")
    databases = ["sqlite", "postgresql"] if args.db == "all" else [args.db]
    plan = {db: args.processes or ([1] if db == "sqlite" else [1, 2]) for db in databases}

    runs: list[Run] = []
    samples: dict[str, dict[int, bytes]] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="inferix-api-bench-") as tmp:
        tmp = Path(tmp)
        for db in databases:
            postgres = None
            try:
                if db == "sqlite":
                    path = args.database or tmp / "index.sqlite"
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
                    url, postmaster = str(path), None
                else:
                    from inferix.testing.postgres import LocalPostgres

                    postgres = LocalPostgres().start()
                    url, postmaster = postgres.create_database("api_bench"), _postmaster_pid(postgres)
                counts, seconds = fill(url, args.jobs, args.tasks_per_job)
                size = path.stat().st_size if db == "sqlite" else _pg_size(url)
                version = f" {_pg_version(url)}" if db == "postgresql" else ""
                print(f"{db}{version}: populated {counts['jobs']:,} jobs and {counts['tasks']:,} tasks in "
                      f"{seconds:.1f} s ({size / 2**20:.1f} MiB)", flush=True)
                for processes in plan[db]:
                    servers, ports = start_servers(url, processes, tmp)
                    try:
                        samples.setdefault(db, sample_answers(ports, args.jobs))
                        for concurrency in args.concurrency:
                            run = run_load(ports, args.jobs, concurrency, args.warmup, args.duration, database=db,
                                           api_pids=[s.process.pid for s in servers], postmaster=postmaster)
                            runs.append(run)
                            print(f"  {processes} API process(es), {concurrency} clients: {run.rps:,.0f} req/s, "
                                  f"p99 {run.pct(99):.2f} ms", flush=True)
                    finally:
                        stop_servers(servers)
            finally:
                if postgres is not None:
                    postgres.stop()
    report(runs, args, load_before)

    bad = sum(n for r in runs for status, n in r.statuses.items() if status != 200)
    failed = 0
    if bad:
        print(f"\n{bad} answers were not 200: {[r.statuses for r in runs]}")
        failed = 1
    if len(samples) == 2 and samples["sqlite"] != samples["postgresql"]:
        differ = [k for k in samples["sqlite"] if samples["sqlite"][k] != samples["postgresql"].get(k)]
        print(f"\nthe databases answered differently for jobs {differ}")
        failed = 1
    elif len(samples) == 2:
        print(f"\nSQLite and PostgreSQL gave byte-identical answers for {len(samples['sqlite'])} sampled "
              "GET /v1/jobs/{id} (one of them a 404).")
    return failed


def _pg_size(url: str) -> int:
    from backend.db import connect

    conn = connect(url)
    try:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    finally:
        conn.close()


def _pg_version(url: str) -> str:
    from backend.db import connect

    conn = connect(url)
    try:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]
    finally:
        conn.close()


def report(runs: list[Run], args, load_before: float) -> None:
    try:
        import orjson  # noqa: F401
        encoder = "orjson"
    except ImportError:
        encoder = "json"
    try:
        import httptools  # noqa: F401
        parser_name = "httptools"
    except ImportError:
        parser_name = "h11"
    cores = os.cpu_count()
    print(f"\nGET /v1/jobs/{{id}}: uvicorn ({parser_name}), {encoder}, {args.jobs:,} jobs / "
          f"{args.jobs * args.tasks_per_job:,} tasks, {cores} CPUs shared by the load generator, the API processes "
          f"and the PostgreSQL server; load average {load_before:.1f} before the runs; {args.duration:.0f} s per run "
          f"after {args.warmup:.0f} s warm-up\n")
    print("| database | API processes | clients | requests | req/s | req/s per process | p50 ms | p90 ms | p99 ms "
          "| max ms | API CPU/request | PostgreSQL CPU/request |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        name = "SQLite" if r.database == "sqlite" else "PostgreSQL"
        pg = _fmt_us(r.per_request_us(r.postgres_cpu)) if r.database == "postgresql" else "–"
        print(f"| {name} | {r.processes} | {r.concurrency} | {r.requests:,} | **{r.rps:,.0f}** | "
              f"{r.rps / r.processes:,.0f} | {r.pct(50):.2f} | {r.pct(90):.2f} | {r.pct(99):.2f} | "
              f"{(r.latencies[-1] * 1000 if r.latencies else 0):.2f} | {_fmt_us(r.per_request_us(sum(r.api_cpu)))} "
              f"| {pg} |")
    print(f"\nCPU during the measured window, in cores (of {cores}), and what bounds each run:\n")
    print("| database | API processes | clients | machine busy | load generator | API process(es) | PostgreSQL "
          "| other | all CPU/request | bound |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in runs:
        name = "SQLite" if r.database == "sqlite" else "PostgreSQL"
        pg = f"{r.cores_used(r.postgres_cpu):.2f}" if r.database == "postgresql" else "–"
        print(f"| {name} | {r.processes} | {r.concurrency} | {r.machine_cores_busy:.2f} | "
              f"{r.cores_used(r.client_cpu):.2f} | {' + '.join(f'{r.cores_used(c):.2f}' for c in r.api_cpu)} | "
              f"{pg} | {r.cores_used(r.other_cpu):.2f} | {_fmt_us(r.per_request_us(r.all_cpu))} | {r.bound()} |")
    print()
    for r in runs:
        print(f"* {r.explain()}")


if __name__ == "__main__":
    sys.exit(main())
