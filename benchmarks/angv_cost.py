"""What ANGV costs the manager: its preparation of a frame (``oracle.angv.insertion.prepare``: the preview render
that places the imprints, the imprints themselves, the quality tiles' two references) beside one honest render of
that frame at the ordered settings, on the same machine, one table.

    .venv/bin/python -m benchmarks.angv_cost                                   # 640x360, 32 samples, denoised
    .venv/bin/python -m benchmarks.angv_cost --size 1920x1080 --samples 128    # the issue's target size

For each scene and each way of rendering the tile references (``--modes``: ``crops``, one border render per tile
and seed, the synced scene kept between them; ``full``, one full-frame render per seed the tiles are cut from;
``auto``, what ``prepare`` chooses: full frames when the tiles' crops cover half the frame or more) the manager's
seconds per frame are split into preview, imprints (placement, carriers, saving the noised scene) and tiles. The
honest render is Blender's ``time_frames`` op on the clean scene (scene loading excluded, as for the preparation's
parts). Scene loading is shown once per scene: both pay it once per task, not per frame.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from inferix.render import run_jobs

ROOT = Path(__file__).resolve().parents[1]
SCENES = ("studio", "dark_room", "flyby")
MODES = ("crops", "full", "auto")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="640x360", help="WxH (default 640x360)")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--no-denoise", action="store_true")
    ap.add_argument("--scenes", nargs="+", choices=SCENES, default=list(SCENES))
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "angv_cost")
    args = ap.parse_args()
    W, H = (int(v) for v in args.size.lower().split("x"))
    order = {"width": W, "height": H, "samples": args.samples, "denoise": not args.no_denoise, "seed": 3}
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    rows = []
    for name in args.scenes:
        scene = out / f"{name}.blend"
        run_jobs([{"op": "make_scene", "name": name, "path": str(scene), "width": W, "height": H}], timeout=3600)
        [honest] = run_jobs([{"op": "time_frames", "scene": str(scene), "frames": [1], "width": W, "height": H,
                              "samples": args.samples, "denoise": order["denoise"],
                              "out_dir": str(out / f"{name}_honest")}], timeout=3600)
        render_s = honest["seconds"][0]
        for mode in args.modes:
            job = {"op": "prepare", "scene": str(scene), "out_blend": str(out / f"{name}_{mode}.blend"),
                   "manifest": str(out / f"{name}_{mode}.json"), "seed": os.urandom(32).hex(), "task_id": 1,
                   "frames": [1], "order": order, "workdir": str(out / f"{name}_{mode}_work"), "tile_refs": mode}
            [r] = run_jobs([job], timeout=3600)
            t = r["times"]
            imprints = t["insert"] + t["save"]
            total = t["preview"] + imprints + t["tiles"]
            rows.append((name, mode, t["load"], t["preview"], imprints, t["tiles"], total, render_s))
    load = os.getloadavg()
    print(f"ANGV preparation per frame vs one honest render, {W}x{H}, {args.samples} samples, denoiser "
          f"{'off' if args.no_denoise else 'on'}, 16 tiles of 32 px; load average {load[0]:.2f} "
          f"({os.cpu_count()} CPUs); wall {time.perf_counter() - started:.0f} s\n")
    print("| scene | tile references | scene load s | preview s | imprints s | tiles s | manager s/frame "
          "| honest render s | manager ÷ render |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, mode, load_s, preview, imprints, tiles, total, render_s in rows:
        print(f"| {name} | {mode} | {load_s:.2f} | {preview:.2f} | {imprints:.2f} | {tiles:.2f} | {total:.2f} "
              f"| {render_s:.2f} | {100 * total / render_s:.0f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
