"""What one Blender process per batch would save: the pipeline's Blender work (docs/scale.md, "The pipeline
(measured)") run as the services run it, one sandboxed Blender process per task, and as one process for ``--tasks``
tasks (``inferix.render.run_jobs`` with several jobs), with the CPU seconds each process reports (the sandbox hides
them from the parent) and the wall time.

    python -m benchmarks.amortize                  # 5 tasks of the pipeline's 96x96 flyby, 4 spp
    python -m benchmarks.amortize --tasks 10

* ``prepare`` (the manager's noise embedding, ``backend.taskprep._prepare``'s Blender job: a 16-spp reference render
  of the frame, the imprints, the quality tiles), task ``i`` with its own seed, as a batch's tasks are;
* ``render_frames`` (a worker's render of a task's noised package), each task its own noised scene;
* a start-up probe: the cheapest job there is (``scene_info`` of the scene), what every Blender process pays before
  its first job.

No IPFS, no chain: only the Blender runs. The saving per task is (separate - together) / tasks.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from inferix import timing
from inferix.render import run_jobs

ROOT = Path(__file__).resolve().parents[1]


def cpu(kind: str) -> float:
    return timing.snapshot().get(f"cpu: blender {kind}", {}).get("seconds", 0.0)


def measure(kind: str, batches: list[list[dict]]) -> tuple[float, float]:
    """(CPU s, wall s) of running each list of jobs in one Blender process, one after the other."""
    before, t = cpu(kind), time.perf_counter()
    for jobs in batches:
        run_jobs(jobs, timeout=3600)
    return cpu(kind) - before, time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "amortize")
    args = parser.parse_args()
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    n = args.tasks
    scene = out / "scene.blend"
    run_jobs([{"op": "make_scene", "name": "flyby", "path": str(scene), "width": args.size, "height": args.size,
               "frames": n}])
    order = {"width": args.size, "height": args.size, "samples": args.samples, "denoise": False, "seed": 0}
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs); {n} tasks of "
          f"{args.size}x{args.size} px, {args.samples} spp", flush=True)

    def prepare_job(i: int, tag: str) -> dict:
        work = out / tag / f"task-{i}"
        (work / "package").mkdir(parents=True, exist_ok=True)
        return {"op": "prepare", "scene": str(scene), "out_blend": str(work / "package" / "scene.blend"),
                "manifest": str(work / "manifest.json"), "seed": os.urandom(32).hex(), "task_id": i,
                "frames": [i + 1], "order": order, "params": {}, "workdir": str(work / "prep"), "tiles": True}

    def render_job(i: int, tag: str) -> dict:
        work = out / "separate" / f"task-{i}"  # the packages prepared one by one
        frames = out / tag / f"frames-{i}"
        frames.mkdir(parents=True, exist_ok=True)
        return {"op": "render_frames", "blend": str(work / "package" / "scene.blend"), "out_dir": str(frames),
                "frames": [i + 1, i + 1], "order": order}

    rows = []
    probe = measure("scene_info", [[{"op": "scene_info", "scene": str(scene)}] for _ in range(3)])
    rows.append(("start-up probe (`scene_info`)", 3, probe[0] / 3, probe[1] / 3, None, None))
    for kind, make in (("prepare", prepare_job), ("render_frames", render_job)):
        separate = measure(kind, [[make(i, "separate")] for i in range(n)])
        together = measure(kind, [[make(i, "together") for i in range(n)]])
        rows.append((f"`{kind}`", n, separate[0] / n, separate[1] / n, together[0] / n, together[1] / n))

    print("\n| Blender work | tasks | one process per task: CPU s per task | wall s per task | one process for all: "
          "CPU s per task | wall s per task | CPU saved per task |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, k, sc, sw, tc, tw in rows:
        if tc is None:
            print(f"| {name} | {k} | {sc:.2f} | {sw:.2f} | | | |")
        else:
            print(f"| {name} | {k} | {sc:.2f} | {sw:.2f} | {tc:.2f} | {tw:.2f} | {sc - tc:.2f} "
                  f"({(sc - tc) / sc:.0%}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
