"""What ANGV costs the manager: its preparation of a frame (``oracle.angv.insertion.prepare``: the preview render
that places the imprints, the imprints themselves, the quality tiles' two references, clean delivery's patches)
beside one honest render of that frame at the ordered settings, on the same machine, one table.

    .venv/bin/python -m benchmarks.angv_cost                                   # 640x360, 32 samples, denoised
    .venv/bin/python -m benchmarks.angv_cost --size 1920x1080 --samples 128 --scenes studio   # the issue's size

Rows per scene: version 3's preparation (a full-size preview, quality tiles on every frame; per-frame costs do not
depend on the task's length), and this version's (the preview within ``preview_pixels``, tiles on
``tiled_frames``) for a one-frame task and for a task of ``--frames`` frames (per frame: the task's total ÷ its
frames). The manager's seconds per frame are split into preview, imprints (placement, carriers, saving the noised
scene), tiles and patches. The honest render is Blender's ``time_frames`` op on this version's one-frame noised scene
at another sampling seed (scene loading excluded, as for the preparation's parts), and that frame is then verified
against its manifest: the smaller preview must still place imprints an honest frame shows. Scene loading is shown
once per scene: both pay it once per task, not per frame.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from inferix.render import run_jobs
from oracle.angv import Manifest, load_frame, verify_frame

ROOT = Path(__file__).resolve().parents[1]
SCENES = ("studio", "dark_room", "flyby")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="640x360", help="WxH (default 640x360)")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--no-denoise", action="store_true")
    ap.add_argument("--frames", type=int, default=8, help="frames of the longer task (default 8)")
    ap.add_argument("--scenes", nargs="+", choices=SCENES, default=list(SCENES))
    ap.add_argument("--tile-refs", choices=("auto", "crops", "full"), default="auto",
                    help="how the tile references are rendered (prepare's tile_refs; default auto)")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "angv_cost")
    args = ap.parse_args()
    W, H = (int(v) for v in args.size.lower().split("x"))
    order = {"width": W, "height": H, "samples": args.samples, "denoise": not args.no_denoise, "seed": 3}
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    variants = [("v3: full-size preview, every frame tiled", [1], {"preview_pixels": W * H, "tile_share": 1.0}),
                ("v4: a 1-frame task", [1], {}),
                (f"v4: a {args.frames}-frame task", list(range(1, args.frames + 1)), {})]
    rows = []
    for name in args.scenes:
        scene = out / f"{name}.blend"
        run_jobs([{"op": "make_scene", "name": name, "path": str(scene), "width": W, "height": H}], timeout=3600)
        measured = []
        for i, (label, frames, params) in enumerate(variants):
            tag = f"{name}_{i}"
            job = {"op": "prepare", "scene": str(scene), "out_blend": str(out / f"{tag}.blend"),
                   "manifest": str(out / f"{tag}.json"), "seed": os.urandom(32).hex(), "task_id": 1,
                   "frames": frames, "order": order, "params": params, "workdir": str(out / f"{tag}_work"),
                   "tile_refs": args.tile_refs, "patches": str(out / f"{tag}.patches")}
            [r] = run_jobs([job], timeout=7200)
            t = r["times"]
            n = len(frames)
            parts = [t["preview"] / n, (t["insert"] + t["save"]) / n, t["tiles"] / n, t.get("patches", 0.0) / n]
            measured.append((label, t["load"], parts))
        honest_blend = out / f"{name}_1.blend"  # this version's one-frame task
        [honest] = run_jobs([{"op": "time_frames", "scene": str(honest_blend), "frames": [1], "width": W,
                              "height": H, "samples": args.samples, "denoise": order["denoise"],
                              "out_dir": str(out / f"{name}_honest")}], timeout=7200)
        render_s = honest["seconds"][0]
        m = Manifest.load(out / f"{name}_1.json")
        v = verify_frame(load_frame(out / f"{name}_honest" / "1.png", (W, H)), m.frames[1], m.params)
        verdict = f"{'passes' if v.accepted else 'REFUSED'} ({v.passed}/{v.n}, Q {v.quality:.2f})"
        for i, (label, load_s, parts) in enumerate(measured):
            rows.append((name, label, load_s, parts, render_s, verdict if i == 1 else ""))
    load = os.getloadavg()
    print(f"ANGV preparation per frame vs one honest render, {W}x{H}, {args.samples} samples, denoiser "
          f"{'off' if args.no_denoise else 'on'}, tile references {args.tile_refs}; load average {load[0]:.2f} "
          f"({os.cpu_count()} CPUs); wall {time.perf_counter() - started:.0f} s\n")
    print("| scene | preparation | scene load s | preview s | imprints s | tiles s | patches s | manager s/frame "
          "| honest render s | manager ÷ render | the honest frame |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, label, load_s, parts, render_s, verdict in rows:
        total = sum(parts)
        cells = " | ".join(f"{p:.2f}" for p in parts)
        print(f"| {name} | {label} | {load_s:.2f} | {cells} | {total:.2f} | {render_s:.2f} "
              f"| {100 * total / render_s:.1f} % | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
