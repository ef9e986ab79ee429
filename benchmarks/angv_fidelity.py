"""How visible ANGV is to the creator: ꟻLIP (NVIDIA's perceptual difference metric) between the clean render and
the frame the creator gets, per carrier footprint, with and without clean delivery (inferix.delivery).

    .venv/bin/python -m benchmarks.angv_fidelity                          # 640x360, the three test scenes
    .venv/bin/python -m benchmarks.angv_fidelity --size 1920x1080 --scenes studio
    .venv/bin/python -m benchmarks.angv_fidelity --picture docs/images/footprint.png

Per scene and denoiser setting: the manager's real ``prepare`` (with patches) on the clean scene; the worker's
honest render of the noised scene at the ordered sampling seed (a CPU: it reproduces the manager's sampling) and at
another seed (a GPU's other sampling noise); two clean renders (the ordered seed and another). Rows, each the mean
and the worst footprint's mean ꟻLIP over the 12 carriers' footprints (and the footprint grown by 8 px, where a
carrier's neighbourhood would show):

* *noised*: the verified frame as the worker delivers it, against the clean render at the same seed;
* *delivered*: after compositing the patches (what the creator's SDK writes), same seed;
* *delivered, other seed*: the GPU worker's frame after compositing, against the clean render at that seed;
* *two clean seeds*: the render's own Monte Carlo noise, the bound the issue sets.

``--picture`` writes one flat-background footprint of the first scene magnified 8x: clean, noised, delivered,
side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np

from inferix.delivery import composite, decode_patches
from inferix.render import render_job, run_jobs
from oracle.angv import Manifest, load_frame
from oracle.angv.figures import flattest_region, footprint_sheet

ROOT = Path(__file__).resolve().parents[1]
SCENES = ("studio", "dark_room", "flyby")
OTHER_SEED = 99


def flip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ꟻLIP's per-pixel error map of two uint8 sRGB frames (LDR)."""
    import flip_evaluator

    error, _, _ = flip_evaluator.evaluate(a.astype(np.float32) / 255, b.astype(np.float32) / 255, "LDR",
                                          applyMagma=False)
    error = np.asarray(error)
    return error[..., 0] if error.ndim == 3 else error


def footprint_means(error: np.ndarray, regions, grow: int = 0) -> list[float]:
    H, W = error.shape
    return [float(error[max(0, r.y0 - grow):min(H, r.y0 + r.h + grow),
                        max(0, r.x0 - grow):min(W, r.x0 + r.w + grow)].mean()) for r in regions]


def measure(out: Path, name: str, W: int, H: int, samples: int, denoise: bool, context: int | None = None) -> dict:
    order = {"width": W, "height": H, "samples": samples, "denoise": denoise, "seed": 3}
    tag = f"{name}_{'dn' if denoise else 'raw'}"
    scene = out / f"{name}.blend"
    if not scene.exists():
        run_jobs([{"op": "make_scene", "name": name, "path": str(scene), "width": W, "height": H}], timeout=3600)
    run_jobs([{"op": "prepare", "scene": str(scene), "out_blend": str(out / f"{tag}.blend"),
               "manifest": str(out / f"{tag}.json"), "seed": os.urandom(32).hex(), "task_id": 1, "frames": [1],
               "order": order, "workdir": str(out / f"{tag}_work"), "patches": str(out / f"{tag}_patches.json"),
               "patch_context": context}],
             timeout=3600)
    other = {**order, "seed": OTHER_SEED}
    files = {"worker": (out / f"{tag}.blend", order), "worker_other": (out / f"{tag}.blend", other),
             "clean": (scene, order), "clean_other": (scene, other)}
    run_jobs([render_job(str(blend), str(out / f"{tag}_{k}.png"), o) for k, (blend, o) in files.items()],
             timeout=3600)
    px = {k: load_frame(out / f"{tag}_{k}.png", (W, H)).pixels for k in files}
    regions = Manifest.load(out / f"{tag}.json").frames[1].regions
    _, _, patches = decode_patches((out / f"{tag}_patches.json").read_bytes())
    delivered = composite(px["worker"], patches[1])
    delivered_other = composite(px["worker_other"], patches[1])
    cases = {"noised": flip(px["clean"], px["worker"]), "delivered": flip(px["clean"], delivered),
             "delivered, other seed": flip(px["clean_other"], delivered_other),
             "two clean seeds": flip(px["clean"], px["clean_other"])}
    rows = {case: (footprint_means(e, regions), footprint_means(e, regions, 8)) for case, e in cases.items()}
    return {"rows": rows, "regions": regions, "clean": px["clean"], "worker": px["worker"], "delivered": delivered}


def picture(result: dict, path: Path) -> None:
    """The flattest footprint, magnified: clean, noised, delivered."""
    region = flattest_region(result["clean"], result["regions"])
    path.parent.mkdir(parents=True, exist_ok=True)
    footprint_sheet({"clean render": result["clean"], "noised (verified)": result["worker"],
                     "delivered": result["delivered"]}, region).save(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="640x360", help="WxH (default 640x360)")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--scenes", nargs="+", choices=SCENES, default=list(SCENES))
    ap.add_argument("--denoise", choices=("on", "off", "both"), default="both")
    ap.add_argument("--picture", type=Path, default=None, help="write the magnified footprint there")
    ap.add_argument("--patch-context", type=int, default=None,
                    help="px rendered around each patch when denoised (default insertion.PATCH_CONTEXT)")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "angv_fidelity")
    args = ap.parse_args()
    W, H = (int(v) for v in args.size.lower().split("x"))
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    settings = {"on": (True,), "off": (False,), "both": (True, False)}[args.denoise]
    table, first = [], None
    for name in args.scenes:
        for denoise in settings:
            result = measure(out, name, W, H, args.samples, denoise, args.patch_context)
            first = first or result
            for case, (foot, grown) in result["rows"].items():
                table.append((name, "on" if denoise else "off", case, np.mean(foot), np.max(foot), np.mean(grown),
                              np.max(grown)))
    context = f"patch context {args.patch_context} px" if args.patch_context is not None else "default patch context"
    print(f"ꟻLIP per carrier footprint (12 per frame), {W}x{H}, {args.samples} samples, {context}; load average "
          f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); wall {time.perf_counter() - started:.0f} s\n")
    print("| scene | denoiser | frame against the clean render | footprint mean | worst footprint "
          "| footprint + 8 px mean | worst |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name, dn, case, mean, worst, gmean, gworst in table:
        print(f"| {name} | {dn} | {case} | {mean:.4f} | {worst:.4f} | {gmean:.4f} | {gworst:.4f} |")
    if args.picture:
        picture(first, args.picture)
        print(f"\nfootprint picture: {args.picture}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
