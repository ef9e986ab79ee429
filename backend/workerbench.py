"""Benchmark tasks for new workers: the benchmark scene G and its work ``W_t`` in IBM.

A worker's IB is attested by the oracles after a PoR-verified *benchmark task* (``IB = W_t / minutes it took``,
see ``oracle/daemon.py``). The manager posts one such task for each worker it sees without an attested IB and
pays for it itself. G is the project's generated ``studio`` scene (textured and flat surfaces, glossy and glass
materials); ``W_t`` is measured here, once per order, as the standard node's minutes: the wall time of a
complete render of the task's frames on this machine (Blender's start, the scene load and the renders, as a
worker does them), times ``manager_ib`` (this machine's IB; 1.0 = it is the standard node).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.quote import MIN_TASK_IBM
from inferix.protocol import IBM, task_ifx
from inferix.render import run_jobs, time_frames
from inferix.storage import IPFSStore

SCENE = "studio"


@dataclass(frozen=True)
class BenchmarkOrder:
    """What a benchmark task renders: frames ``1..frames`` of G at these settings (denoiser off)."""

    width: int = 320
    height: int = 180
    samples: int = 32
    frames: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BenchmarkScene:
    cid: str
    ibm: int  # micro-IBM for the whole task
    size: int


def make_benchmark_scene(store: IPFSStore, work_dir: Path, order: BenchmarkOrder, manager_ib: float) -> BenchmarkScene:
    """Generate G at the order's resolution, pin it, and measure ``W_t`` by rendering the task here."""
    path = Path(work_dir) / "benchmark" / f"{SCENE}-{order.width}x{order.height}.blend"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        run_jobs([{"op": "make_scene", "name": SCENE, "path": str(path), "width": order.width,
                   "height": order.height}])
    cid = store.add_file(path)
    started = time.perf_counter()
    time_frames(path, list(range(1, order.frames + 1)), order.width, order.height, order.samples)
    minutes = (time.perf_counter() - started) / 60
    return BenchmarkScene(cid, max(MIN_TASK_IBM, math.ceil(minutes * manager_ib * IBM)), path.stat().st_size)


def benchmark_budget(ibm: int, price_per_ibm: int, usd_per_ifx: int) -> int:
    """IFX wei to lock for a task of ``ibm`` at ``price_per_ibm``: the escrow's reservation (rounded as the
    contract rounds) plus 1 % for a price move before the job is created; the rest is refunded."""
    reserved = task_ifx(ibm, price_per_ibm, usd_per_ifx)
    return reserved + reserved // 100 + 1
