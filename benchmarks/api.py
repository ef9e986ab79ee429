"""Throughput and latency of ``GET /v1/jobs/{id}`` on a populated index, one server process.

    python -m benchmarks.api                       # 10,000 jobs, 50,000 tasks, 64 clients, 20 s
    python -m benchmarks.api --jobs 1000 --duration 5 --concurrency 16

The script fills a temporary SQLite database through the indexer's tables (``populate``: jobs, tasks, their
attempts and verdicts, per-region scores, nodes, epochs and job events, as the indexer would have derived them),
starts ONE ``uvicorn`` server process on 127.0.0.1 serving ``backend.app.create_app`` (the whole app, every
router and middleware), and runs a closed-loop load in another process: ``--concurrency`` keep-alive HTTP/1.1
connections, each sending its next request as soon as the previous answer is in, for random job ids, over
``--duration`` seconds after a warm-up. The client is a minimal asyncio HTTP/1.1 client (fixed request bytes,
Content-Length framing) so that it costs the shared CPU far less than the server it measures. It prints a table
of requests/s and p50/p90/p99/max latency and exits non-zero if any answer was not a 200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import sys
import tempfile
import time
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


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database: Path, port: int) -> Service:
    """One uvicorn process serving the whole app on ``database`` (no chain, no IPFS: reads only)."""
    code = (
        "import uvicorn\n"
        "from backend.app import create_app\n"
        "from backend.settings import BackendSettings\n"
        "app = create_app(BackendSettings(database=%r))\n"
        "uvicorn.run(app, host='127.0.0.1', port=%d, log_level='warning', access_log=False)\n"
    ) % (str(database), port)

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    return Service("api", [sys.executable, "-c", code], cwd=ROOT).start(ready=answers, timeout=30)


def stop_server(server: Service) -> None:
    server.stop(grace=10)


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
            if start >= record_from:
                latencies.append(end - start)
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(port: int, jobs: int, concurrency: int, warmup: float, duration: float, seed: int):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    now = time.perf_counter()
    record_from, stop_at = now + warmup, now + warmup + duration
    rng = random.Random(seed)
    sent = [0]
    await asyncio.gather(*(_connection(port, jobs, stop_at, record_from, latencies, statuses,
                                       random.Random(rng.random()), sent) for _ in range(concurrency)))
    return latencies, statuses, sent[0]


def _client(port, jobs, concurrency, warmup, duration, seed, queue) -> None:
    queue.put(asyncio.run(_load(port, jobs, concurrency, warmup, duration, seed)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(port: int, jobs: int, concurrency: int, warmup: float, duration: float, seed: int = 1,
             server_pid: int | None = None) -> dict:
    """The load in a separate process; returns the figures, with the server's CPU time per request when
    ``server_pid`` is given (a figure that does not depend on what else the machine runs)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_client, args=(port, jobs, concurrency, warmup, duration, seed, queue))
    cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    process.start()
    latencies, statuses, sent = queue.get(timeout=warmup + duration + 120)
    cpu = cpu_seconds(server_pid) - cpu0 if server_pid else 0.0
    process.join(timeout=30)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(int(p / 100 * len(latencies)), len(latencies) - 1)] * 1000 if latencies else 0.0

    return {"concurrency": concurrency, "requests": len(latencies), "rps": len(latencies) / duration,
            "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
            "max_ms": latencies[-1] * 1000 if latencies else 0.0,
            "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0, "statuses": statuses,
            "server_cpu_us": cpu / sent * 1e6 if sent and server_pid else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--tasks-per-job", type=int, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64],
                        help="keep-alive connections (several values: one run each)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--database", type=Path, help="keep the populated database here (default: a temp dir)")
    args = parser.parse_args(argv)

    from backend.db import connect, migrate
    from backend.indexer import INDEXER_MIGRATIONS

    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or Path(tmp) / "index.sqlite"
        if database.exists():
            database.unlink()
        started = time.perf_counter()
        conn = connect(database)
        migrate(conn, "indexer", INDEXER_MIGRATIONS)
        populate(conn, args.jobs, args.tasks_per_job)
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("jobs", "tasks")}
        conn.close()
        print(f"populated {counts['jobs']:,} jobs and {counts['tasks']:,} tasks in "
              f"{time.perf_counter() - started:.1f} s ({database.stat().st_size / 2**20:.1f} MiB)")
        port = _free_port()
        load_before = os.getloadavg()[0]
        server = start_server(database, port)
        try:
            rows = [run_load(port, args.jobs, c, args.warmup, args.duration, server_pid=server.pid)
                    for c in args.concurrency]
        finally:
            stop_server(server)
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
    print(f"\nGET /v1/jobs/{{id}}: one uvicorn process ({parser_name}), {encoder}, {os.cpu_count()} CPUs, "
          f"load average {load_before:.1f} before the runs, {args.duration:.0f} s per run after "
          f"{args.warmup:.0f} s warm-up\n")
    print("| clients | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | server CPU/request |")
    print("|--------:|---------:|------:|-------:|-------:|-------:|-------:|-------------------:|")
    bad = 0
    for r in rows:
        print(f"| {r['concurrency']} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} "
              f"| {r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['server_cpu_us']:.0f} µs |")
        bad += sum(n for status, n in r["statuses"].items() if status != 200)
    if bad:
        print(f"\n{bad} answers were not 200: {[r['statuses'] for r in rows]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
