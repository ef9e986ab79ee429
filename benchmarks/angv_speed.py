"""ANGV speed benchmark on 1920x1080 frames, n = 2..40, beside the whitepaper's Appendix D.

    .venv/bin/python -m benchmarks.angv_speed           # every n of Appendix D
    .venv/bin/python -m benchmarks.angv_speed --quick   # n in {2, 12, 40}

Insertion = planning the imprints on the reference render (candidate search, bpy ray casts), creating the carriers
and recomputing the imprints by projection; it excludes loading the scene, the reference render (rendered once,
reused for every n), saving the .blend and the quality tiles' reference renders (timed once, for n = 12). Verification
is timed on the decoded frame (median of repeated runs), next to (i) a straightforward implementation of the
whitepaper's rule (Laplacian of the whole frame in numpy, then the regions), (ii) the PNG decode of the same frame,
the floor of any verifier that reads PNGs, and (iii) the whitepaper's own figures (Appendix D, i5 2.5 GHz, four
scenes: min-max). Prints one table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]

from oracle.angv import AngvParams, Manifest, load_frame, verify_frame  # noqa: E402
from oracle.angv.adaptive import preview_size  # noqa: E402
from inferix.render import render_job, run_jobs  # noqa: E402
from oracle.angv.verify import whitepaper_full_frame  # noqa: E402

# Appendix D: n -> (insertion s, verification s) for Coca-Cola, Grease Pencil Bike, Blender 3.5 Splash, Bathroom
APPENDIX_D = {
    2: ((0.747, 0.343), (0.920, 0.477), (3.959, 0.546), (2.313, 0.657)),
    5: ((0.785, 0.845), (1.300, 1.077), (7.125, 0.922), (5.012, 1.152)),
    7: ((0.822, 1.059), (1.524, 1.412), (7.468, 1.251), (10.228, 1.498)),
    10: ((0.871, 1.525), (2.085, 1.976), (8.938, 1.642), (15.495, 1.997)),
    12: ((0.923, 1.855), (2.239, 2.286), (9.934, 1.871), (17.667, 2.415)),
    15: ((0.982, 2.352), (2.550, 2.722), (12.773, 2.443), (19.627, 2.964)),
    17: ((1.061, 2.612), (2.865, 3.068), (13.721, 2.751), (23.986, 3.311)),
    19: ((1.062, 2.929), (3.153, 3.453), (14.028, 3.083), (26.091, 3.738)),
    20: ((1.092, 3.081), (3.269, 3.527), (15.351, 3.228), (27.808, 3.816)),
    21: ((1.094, 3.217), (3.439, 3.747), (15.766, 3.347), (28.326, 4.080)),
    23: ((1.163, 3.508), (3.592, 4.123), (17.384, 3.717), (31.014, 4.479)),
    25: ((1.204, 3.786), (3.975, 4.546), (18.587, 3.978), (32.523, 4.770)),
    27: ((1.241, 4.182), (4.279, 4.913), (21.182, 4.281), (34.605, 5.151)),
    29: ((1.330, 4.475), (4.594, 5.313), (21.549, 4.523), (36.062, 5.462)),
    30: ((1.335, 4.673), (4.666, 5.557), (22.224, 4.706), (36.456, 5.710)),
    32: ((1.394, 5.059), (5.087, 5.812), (23.549, 5.037), (38.921, 6.031)),
    35: ((1.472, 5.585), (5.434, 6.265), (27.202, 5.444), (42.441, 6.496)),
    37: ((1.490, 5.982), (5.729, 6.654), (29.063, 5.764), (44.138, 6.919)),
    40: ((1.612, 6.409), (6.229, 7.116), (29.277, 6.087), (49.456, 7.458)),
}


def median_time(fn, reps: int) -> tuple[float, float]:
    """(median, min) wall time of ``fn``."""
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), min(ts)


def paired_times(fa, fb, reps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Interleaved timings of two functions, so that load from other processes hits both alike."""
    ta, tb = [], []
    for _ in range(reps):
        t = time.perf_counter()
        fa()
        ta.append(time.perf_counter() - t)
        t = time.perf_counter()
        fb()
        tb.append(time.perf_counter() - t)
    return (statistics.median(ta), min(ta)), (statistics.median(tb), min(tb))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scene", default="studio")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    W, H = 1920, 1080
    ns = [2, 12, 40] if args.quick else sorted(APPENDIX_D)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="angv-speed-"))
    root.mkdir(parents=True, exist_ok=True)
    params = AngvParams()
    order = {"width": W, "height": H, "samples": 16, "denoise": False, "seed": 1}
    scene = str(root / f"{args.scene}.blend")
    preview = str(root / "preview_1.png")
    pw, ph = preview_size(W, H, params)
    t0 = time.time()
    if not (Path(scene).exists() and Path(preview).exists()):  # a --workdir from an earlier run is reused
        run_jobs([{"op": "make_scene", "name": args.scene, "path": scene, "width": W, "height": H},
                  render_job(scene, preview, {"width": pw, "height": ph, "samples": params.preview_samples,
                                              "denoise": True, "seed": 0})])
    t_preview = time.time() - t0
    seed = bytes(range(32))
    jobs = []
    for n in ns:
        jobs.append({"op": "prepare", "scene": scene, "out_blend": str(root / f"n{n}.blend"),
                     "manifest": str(root / f"n{n}.json"), "seed": seed.hex(), "task_id": 1, "frames": [1],
                     "order": order, "params": {"n": n}, "workdir": str(root / f"n{n}_work"),
                     "tiles": n == 12, "previews": {"1": preview}})
    if not (root / "frame.png").exists():  # preparation is deterministic: the n = 12 scene is the same
        jobs.append(render_job(root / "n12.blend", root / "frame.png", order))
    res = run_jobs(jobs)
    times = {n: r["times"] for n, r in zip(ns, res)}

    png = root / "frame.png"
    frame = load_frame(png, (W, H))
    img = frame.pixels
    m12 = Manifest.load(root / "n12.json")
    ok = verify_frame(frame, m12.frames[1], m12.params)
    rows = []
    for n in ns:
        m = Manifest.load(root / f"n{n}.json")
        fm = m.frames[1]
        fm_regions = type(fm)(fm.frame, fm.regions, [])
        v = median_time(lambda: verify_frame(img, fm_regions, m.params, quality=False), 300)
        vt = median_time(lambda: verify_frame(img, fm, m.params), 300) if fm.tiles else None
        wp = median_time(lambda: whitepaper_full_frame(img, fm), 7)
        dec, e2e = paired_times(lambda: load_frame(png, (W, H)),
                                lambda: verify_frame(load_frame(png, (W, H)), fm, m.params), 21)
        d = APPENDIX_D.get(n)
        rows.append((n, times[n]["insert"], v, vt, wp, dec, e2e, d))

    print(f"ANGV speed, {W}x{H}, scene {args.scene}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}; times are median (min) ms; "
          f"quality tiles (n=12, {params.tiles} x 2 renders at 16 samples) "
          f"{times[12]['tiles']:.2f} s; honest n=12 frame accepted: {ok.accepted}")
    print()
    def ms(t, digits=3):
        return "-" if t is None else f"{t[0] * 1e3:.{digits}f} ({t[1] * 1e3:.{digits}f})"

    print(f"| n  | insertion (s) | verify decoded, regions | + {params.tiles} quality tiles | whitepaper rule, full frame "
          "| PNG decode | end to end from PNG | e2e / decode | App. D insertion (s) | App. D verification (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, ins, v, vt, wp, dec, e2e, d in rows:
        dins = f"{min(x[0] for x in d):.2f}-{max(x[0] for x in d):.2f}" if d else "-"
        dver = f"{min(x[1] for x in d):.2f}-{max(x[1] for x in d):.2f}" if d else "-"
        print(f"| {n:2d} | {ins:.3f} | {ms(v)} | {ms(vt)} | {ms(wp, 1)} | {ms(dec, 1)} | {ms(e2e, 1)} | "
              f"{e2e[0] / dec[0]:.2f} ({e2e[1] / dec[1]:.3f}) | {dins} | {dver} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
