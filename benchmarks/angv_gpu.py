"""Honest GPU renders against the manager's CPU-made ANGV manifests: the network must not reject honest GPU work.

    .venv/bin/python -m benchmarks.angv_gpu                 # best device Cycles finds; CPU side by side
    .venv/bin/python -m benchmarks.angv_gpu --device CUDA --seeds 5

For each scene (studio, dark_room) at 640x360, a task is prepared on the CPU as the manager does (reference render,
noise, quality tiles rendered on the CPU), then rendered honestly on the GPU device and on the CPU with the ordered
sampling seed and ``--seeds`` other seeds, for two orders (64 samples denoised, 128 samples), each frame verified by
``verify_frame`` against the sealed manifest. Prints one table (frames, false rejects, mean score, seconds per frame,
per device) and the ꟻLIP difference between the GPU and CPU renders at the same seed. Every Blender run goes
through the sandboxed render layer, the GPU's device nodes passed through.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from inferix.render import find_devices, render_job, run_jobs  # noqa: E402
from inferix.render.devices import choose  # noqa: E402
from oracle.angv import AngvParams, Manifest, load_frame, verify_frame  # noqa: E402

W, H = 640, 360
ORDERS = {"s64dn": {"samples": 64, "denoise": True}, "s128": {"samples": 128, "denoise": False}}
SCENES = ("studio", "dark_room")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="Cycles device (default: the best found)")
    ap.add_argument("--seeds", type=int, default=3, help="other sampling seeds per frame")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    found = find_devices()
    device = choose(found, args.device)
    print(f"Cycles finds: {found or 'no GPU'}; rendering on {device}", flush=True)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="angv-gpu-"))
    root.mkdir(parents=True, exist_ok=True)
    params = AngvParams()
    prep = []
    for scene in SCENES:
        prep.append({"op": "make_scene", "name": scene, "path": str(root / f"{scene}.blend"), "width": W, "height": H})
        for oname, o in ORDERS.items():
            tag = f"{scene}_{oname}"
            prep.append({"op": "prepare", "scene": str(root / f"{scene}.blend"), "out_blend": str(root / f"{tag}.blend"),
                         "manifest": str(root / f"{tag}.json"), "seed": os.urandom(32).hex(), "task_id": 1,
                         "frames": [1], "order": {"width": W, "height": H, "seed": 0, **o},
                         "workdir": str(root / f"{tag}_work"), "tiles": True})
    run_jobs([j for j in prep if not Path(j.get("manifest", j.get("path"))).exists()])
    rows = []
    flips = []
    for dev in dict.fromkeys([device, "CPU"]):
        jobs, names = [], []
        for scene in SCENES:
            for oname, o in ORDERS.items():
                tag = f"{scene}_{oname}"
                for s in range(args.seeds + 1):
                    out = root / f"{tag}_{dev}_{s}.png"
                    jobs.append(render_job(root / f"{tag}.blend", out, {"width": W, "height": H, "seed": s, **o}))
                    names.append((tag, s, out))
        started = time.perf_counter()
        run_jobs(jobs, device=dev)
        per_frame = (time.perf_counter() - started) / len(jobs)
        for oname in ORDERS:
            results = []
            for tag, s, out in names:
                if not tag.endswith(oname):
                    continue
                fm = Manifest.load(root / f"{tag}.json").frames[1]
                results.append(verify_frame(load_frame(out, (W, H)), fm, params))
            rejects = sum(not r.accepted for r in results)
            rows.append((dev, oname, len(results), rejects, np.mean([r.score for r in results]),
                         np.max([r.quality for r in results]), per_frame))
    try:
        import flip_evaluator
    except ImportError:
        flip_evaluator = None
    if device != "CPU" and flip_evaluator is not None:
        for tag, s, out in names:
            gpu = load_frame(Path(str(out).replace("_CPU_", f"_{device}_")), (W, H)).pixels
            cpu = load_frame(out, (W, H)).pixels
            flips.append(flip_evaluator.evaluate(np.clip(cpu, 0, 1), np.clip(gpu, 0, 1), "LDR", applyMagma=False)[1])
    print("\n| device | order | frames | false rejects | mean region score | worst quality Q | s per frame (all jobs) |")
    print("|---|---|---|---|---|---|---|")
    for dev, oname, n, k, score, q, sec in rows:
        print(f"| {dev} | {oname} | {n} | {k} | {score:.2f} | {q:.3f} | {sec:.2f} |")
    if flips:
        print(f"\nꟻLIP GPU vs CPU at the same seed: mean {np.mean(flips):.4f}, max {np.max(flips):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
