"""Benchmark tasks for new workers: the benchmark scene G and its work ``W_t`` in IBM.

A worker's IB is measured by the escrow when its *benchmark task* settles passed: benchmark jobs are a distinct
kind on chain (``createBenchmarkJob``), their one task's work ``W_t`` is the governance-set standard
(``JobEscrow.benchmarkWork``), and ``IB = W_t / minutes between accept and submit`` (see docs/protocol.md). The
manager posts one such task for each worker it sees without an IB and pays for it itself. G is the project's
generated ``studio`` scene (textured and flat surfaces, glossy and glass materials), rendered at the order below;
governance calibrates ``benchmarkWork`` as the standard node's minutes for that order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from inferix.protocol import task_ifx
from inferix.render import run_jobs
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


def make_benchmark_scene(store: IPFSStore, work_dir: Path, order: BenchmarkOrder, ibm: int) -> BenchmarkScene:
    """Generate G at the order's resolution and pin it; ``ibm`` is the standard's work, read from the chain."""
    path = Path(work_dir) / "benchmark" / f"{SCENE}-{order.width}x{order.height}.blend"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        run_jobs([{"op": "make_scene", "name": SCENE, "path": str(path), "width": order.width,
                   "height": order.height}])
    return BenchmarkScene(store.add_file(path), ibm, path.stat().st_size)


def benchmark_budget(ibm: int, price_per_ibm: int, usd_per_ifx: int) -> int:
    """IFX wei to lock for a task of ``ibm`` at ``price_per_ibm``: the escrow's reservation (rounded as the
    contract rounds) plus 1 % for a price move before the job is created; the rest is refunded."""
    reserved = task_ifx(ibm, price_per_ibm, usd_per_ifx)
    return reserved + reserved // 100 + 1
