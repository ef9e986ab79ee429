"""What the scene sandbox costs: the same Blender runs with and without bubblewrap, side by side.

    .venv/bin/python -m benchmarks.sandbox_overhead [--repeat 5]

Runs, each ``--repeat`` times in a fresh Blender child: reading a scene's metadata (what an upload waits for), the
quote's reference render (4 frames at 160x90, 8 samples), a worker's 2-frame task at 320x180, 16 samples, and the
manager's noise insertion for that task. The
unsandboxed column is what a node started with ``--unsandboxed`` does. Prints one table (median seconds).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from inferix.render import render_frames, run_jobs, sandbox, scene_info, time_frames  # noqa: E402


def _timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _prepare(scene: Path, work: Path, order: dict) -> None:
    run_jobs([{"op": "prepare", "scene": str(scene), "out_blend": str(work / "noised.blend"),
               "manifest": str(work / "manifest.json"), "seed": os.urandom(32).hex(), "task_id": 1, "frames": [1, 2],
               "order": order, "workdir": str(work / "prep"), "tiles": True}])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if sandbox.probe() is not None:
        print(f"no sandbox here: {sandbox.probe()}")
        return 1
    root = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    scene = root / "studio.blend"
    run_jobs([{"op": "make_scene", "name": "studio", "path": str(scene), "width": 320, "height": 180}])
    order = {"width": 320, "height": 180, "samples": 16, "denoise": False, "seed": 0}
    cases = {
        "scene metadata (upload)": lambda: scene_info(scene),
        "quote reference render, 4 frames 160x90 8 spp": lambda: time_frames(scene, [1, 2, 3, 4], 160, 90, 8),
        "worker task, 2 frames 320x180 16 spp": lambda: render_frames(scene, tempfile.mkdtemp(dir=root), 1, 2, order),
        "noise insertion (manager), 2 frames 320x180": lambda: _prepare(scene, Path(tempfile.mkdtemp(dir=root)), order),
    }
    rows = {}
    for mode in ("bubblewrap", "unsandboxed"):
        if mode == "unsandboxed":
            sandbox.probe.cache_clear()
            sandbox.probe = lambda: "benchmark: the sandbox is off"  # what --unsandboxed on such a host does
            os.environ["INFERIX_UNSANDBOXED"] = "1"
            logging.getLogger("inferix.render").setLevel(logging.ERROR)  # one warning per run otherwise
        for name, fn in cases.items():
            rows.setdefault(name, {})[mode] = _timed(fn, args.repeat)
    print(f"\nmedian of {args.repeat} runs, seconds\n")
    print("| run | bubblewrap | unsandboxed | overhead |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['bubblewrap']:.2f} | {r['unsandboxed']:.2f} | "
              f"{r['bubblewrap'] - r['unsandboxed']:+.2f} s ({r['bubblewrap'] / r['unsandboxed'] - 1:+.0%}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
