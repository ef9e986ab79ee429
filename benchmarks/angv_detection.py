"""ANGV detection benchmark: false-reject rate of honest renders, false-accept rate of attacks (a)-(g), fidelity.

    .venv/bin/python -m benchmarks.angv_detection            # 2 tasks per scene
    .venv/bin/python -m benchmarks.angv_detection --quick    # 1 task per scene

For each scene (studio, dark_room, flyby) and task (a fresh secret seed), the scene is prepared for three render
orders (16 samples denoiser off, 64 samples denoiser on, 256 samples denoiser off) and rendered honestly per order
with the ordered sampling seed and with ``--honest-seeds`` other seeds (what another device produces), each saved by
Blender as PNG, EXR and JPEG q90 (the network judges PNG and EXR; JPEG is refused, and is judged in the research mode
``lossy=True`` on its own rows). Attack (d) renders every order with 1/8 of the samples (``--cheat-seeds`` sampling
seeds each); the other attacks use the 64-sample denoised order, the hardest for the quality check. Issue 14's
attacks: the 1/8-sample render as JPEG q30/q20 (as JPEG, and decoded into PNG), the crafted JPEG (fine tables used,
coarse unused ones first), and (h) the partial render: full quality (the ordered seed's honest render) on the
likeliest 15 % / 50 % of the frame by the attacker's run of the public tile rule on its cheap render, 1/8 elsewhere. Wrong-key statistics verify every honest frame against regions drawn with
random keys from the same reference render. The verdict columns: "network" (calibrated rule and quality tiles, the
network's decision), "noise only" (calibrated rule alone), "whitepaper" (every e_i >= 5). Prints one table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from oracle.angv import AngvParams, Manifest, load_frame, verify_frame  # noqa: E402
from oracle.angv.adaptive import fit_preview, plan_regions  # noqa: E402
from oracle.angv.attacks import (blank, forge_patches, likeliest_area, partial_render, random_image, splice,  # noqa: E402
                                 tile_coverage, upscale)
from inferix.render import render_job, run_jobs  # noqa: E402
from oracle.angv.keys import FrameKey  # noqa: E402
from oracle.angv.manifest import FrameManifest  # noqa: E402
from oracle.angv.verify import required_passes  # noqa: E402

from .payoff import payoff_rows  # noqa: E402

SCENES = {"studio": [1], "dark_room": [1], "flyby": [1, 3]}
ORDERS = {"s16": (16, False), "s64dn": (64, True), "s256": (256, False)}
BASE = "s64dn"


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.ndimage import gaussian_filter

    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = gaussian_filter(a, 1.5), gaussian_filter(b, 1.5)
    saa = gaussian_filter(a * a, 1.5) - mu_a**2
    sbb = gaussian_filter(b * b, 1.5) - mu_b**2
    sab = gaussian_filter(a * b, 1.5) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
    return float(m.mean())


def luma(img: np.ndarray) -> np.ndarray:
    return np.asarray(img, np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def jpeg_bytes(img: np.ndarray, **kw) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(img, np.uint8)).save(buf, "JPEG", **kw)
    return buf.getvalue()


def crafted_jpeg(img: np.ndarray, fine: int = 2, coarse: int = 255) -> bytes:
    """Issue 14's crafted JPEG: the image data quantised with fine tables (ids 2 and 3 in the SOF), coarse tables
    that no component uses stored first, in ids 0 and 1."""
    import struct

    data = jpeg_bytes(img, qtables=[[fine] * 64, [fine] * 64], subsampling=0)
    out, i, first_dqt = [b"\xff\xd8"], 2, None
    while True:
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:
            out.append(data[i:])
            break
        body = bytearray(data[i + 4 : i + 2 + length])
        if marker == 0xDB:
            first_dqt = len(out) if first_dqt is None else first_dqt
            j = 0
            while j < len(body):
                body[j] = (body[j] & 0xF0) | ((body[j] & 0x0F) + 2)
                j += 1 + 64 * (1 + (body[j] >> 4))
        elif marker in (0xC0, 0xC1, 0xC2):
            for c in range(body[5]):
                body[6 + 3 * c + 2] += 2
        out.append(bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + bytes(body))
        i += 2 + length
    coarse_dqt = bytes([0x00]) + bytes([coarse] * 64) + bytes([0x01]) + bytes([coarse] * 64)
    out.insert(first_dqt, b"\xff\xdb" + struct.pack(">H", len(coarse_dqt) + 2) + coarse_dqt)
    return b"".join(out)


def clopper_pearson_upper(k: int, n: int, conf: float = 0.95) -> float:
    """One-sided upper confidence bound on a rate after k events in n trials."""
    from scipy.stats import beta

    return 1.0 if k >= n else float(beta.ppf(conf, k + 1, n - k))


class Tally:
    def __init__(self) -> None:
        self.rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # trials, network, noise, whitepaper
        self.quality: dict[str, list[float]] = defaultdict(list)

    def add(self, case: str, r) -> None:
        row = self.rows[case]
        row[0] += 1
        row[1] += int(r.accepted)
        row[2] += int(r.noise_accepted)
        row[3] += int(r.whitepaper_accepted)
        self.quality[case].append(r.quality)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 task per scene, 200 wrong keys per frame")
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--wrong-keys", type=int, default=1000, help="random keys per honest frame")
    ap.add_argument("--honest-seeds", type=int, default=4, help="other sampling seeds per order and frame")
    ap.add_argument("--cheat-seeds", type=int, default=3, help="sampling seeds of each 1/8-sample render")
    ap.add_argument("--denoised-cheat-seeds", type=int, default=60,
                    help="sampling seeds of the 1/8-sample render of the denoised order (the hardest case)")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=144)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--scenes", nargs="+", choices=list(SCENES), default=list(SCENES))
    args = ap.parse_args()
    tasks = 1 if args.quick else args.tasks
    wrong_keys = 200 if args.quick else args.wrong_keys
    hseeds = 1 if args.quick else args.honest_seeds
    cseeds = 1 if args.quick else args.cheat_seeds
    dseeds = 1 if args.quick else max(args.denoised_cheat_seeds, cseeds)
    W, H = args.width, args.height
    params = AngvParams()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="angv-detect-"))
    root.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    rng = np.random.default_rng(2026)

    scenes = {s: SCENES[s] for s in args.scenes}
    # scenes are made once per --workdir: a new .blend has a new digest, hence new keys, and would orphan the renders
    setup = [{"op": "make_scene", "name": s, "path": str(root / f"{s}.blend"), "width": W, "height": H}
             for s in SCENES if not (root / f"{s}.blend").exists()]
    setup += [render_job(root / f"{s}.blend", root / f"stock_{s}.png",
                         {"width": W, "height": H, "samples": 16, "denoise": True, "seed": 5})
              for s in SCENES if not (root / f"stock_{s}.png").exists()]
    if setup:
        run_jobs(setup)
    names = list(SCENES)
    tally = Tally()
    psnrs, ssims = [], []
    null_regions = null_pass = null_frames = null_frame_pass = 0
    for scene, frames in scenes.items():
        honest_by_task: dict[int, tuple[Manifest, dict[int, np.ndarray]]] = {}
        for t in range(tasks):
            seed = rng.bytes(32)
            task_id = 1000 + t
            prep, renders = [], []
            for oname, (samples, dn) in ORDERS.items():
                order = {"width": W, "height": H, "samples": samples, "denoise": dn, "seed": 11 + t}
                tag = f"{scene}_{t}_{oname}"
                prep.append({"op": "prepare", "scene": str(root / f"{scene}.blend"),
                             "out_blend": str(root / f"{tag}.blend"), "manifest": str(root / f"{tag}.json"),
                             "seed": seed.hex(), "task_id": task_id, "frames": frames, "order": order,
                             "workdir": str(root / f"{tag}_work")})
                for f in frames:
                    for h in range(hseeds + 1):  # h = 0: the ordered sampling seed; then other devices' seeds
                        name = f"{tag}_f{f}_h{h}"
                        renders.append(render_job(root / f"{tag}.blend", root / f"{name}.png",
                                                  {**order, "seed": order["seed"] + 1000 * h}, frame=f,
                                                  also={"exr": str(root / f"{name}.exr"),
                                                        "jpeg": str(root / f"{name}.jpg")}))
                    for c in range(dseeds if oname == BASE else cseeds):
                        renders.append(render_job(root / f"{tag}.blend", root / f"{tag}_f{f}_eighth{c}.png",
                                                  {**order, "samples": samples // 8, "seed": 500 + c}, frame=f))
                    if oname == BASE:
                        renders += [
                            render_job(root / f"{scene}.blend", root / f"{tag}_f{f}_clean.png", order, frame=f),
                            render_job(root / f"{tag}.blend", root / f"{tag}_f{f}_quarter.png", order, frame=f,
                                       percentage=50),
                            render_job(root / f"{tag}.blend", root / f"{tag}_f{f}_stripped.png", order, frame=f,
                                       op="render_stripped"),
                        ] + [render_job(root / f"{tag}.blend", root / f"{tag}_f{f}_fourth{c}.png",
                                        {**order, "samples": samples // 4, "seed": 700 + c}, frame=f)
                             for c in range(cseeds)]
            renders.append({"op": "find_carriers", "blend": str(root / f"{scene}_{t}_{BASE}.blend"),
                            "frames": frames})
            # a --workdir from an earlier run is reused: preparation is deterministic (same seeds from the same rng)
            todo = [j for j in prep if not Path(j["manifest"]).exists()]
            if todo:
                run_jobs(todo)
            found = run_jobs([j for j in renders if "out" not in j or not Path(j["out"]).exists()])[-1]["boxes"]

            for oname, (samples, dn) in ORDERS.items():
                tag = f"{scene}_{t}_{oname}"
                m = Manifest.load(root / f"{tag}.json")
                for f in frames:
                    fm = m.frames[f]
                    for h in range(hseeds + 1):
                        for ext in ("png", "exr"):
                            fr = load_frame(root / f"{tag}_f{f}_h{h}.{ext}", (W, H))
                            tally.add(f"honest {oname} {ext}", verify_frame(fr, fm, params))
                        fr = load_frame(root / f"{tag}_f{f}_h{h}.jpg", (W, H))
                        tally.add(f"JPEG q90 {oname}, network (refused)", verify_frame(fr, fm, params))
                        tally.add(f"JPEG q90 {oname}, lossy mode", verify_frame(fr, fm, params, lossy=True))
                    for c in range(dseeds if oname == BASE else cseeds):
                        tally.add(f"(d) 1/8 samples, {oname} order ({samples // 8}{' dn' if dn else ''})",
                                  verify_frame(load_frame(root / f"{tag}_f{f}_eighth{c}.png", (W, H)), fm, params))
            tag = f"{scene}_{t}_{BASE}"
            m = Manifest.load(root / f"{tag}.json")
            frames_px = {}
            for f in frames:
                fm = m.frames[f]
                honest = load_frame(root / f"{tag}_f{f}_h0.png", (W, H)).pixels
                frames_px[f] = honest
                clean = load_frame(root / f"{tag}_f{f}_clean.png", (W, H)).pixels
                mse = float(np.mean((honest.astype(np.float64) - clean) ** 2))
                psnrs.append(10 * np.log10(255**2 / max(mse, 1e-12)))
                ssims.append(ssim(luma(honest), luma(clean)))
                other = names[(names.index(scene) + 1) % len(names)]  # a picture of another scene
                stock = load_frame(root / f"stock_{other}.png", (W, H)).pixels
                tally.add("(a) blank grey", verify_frame(blank(W, H), fm, params))
                tally.add("(a) random pixels", verify_frame(random_image(W, H, rng), fm, params))
                tally.add("(a) stock image", verify_frame(stock, fm, params))
                tally.add("(a') clean render, no noise", verify_frame(clean, fm, params))
                quarter = upscale(load_frame(root / f"{tag}_f{f}_quarter.png").pixels, W, H)
                tally.add("(c) 1/4 resolution upscaled", verify_frame(quarter, fm, params, codec="png"))
                for c in range(cseeds):
                    tally.add("(d') 1/4 samples, s64dn order (16 dn)", verify_frame(
                        load_frame(root / f"{tag}_f{f}_fourth{c}.png", (W, H)), fm, params))
                tally.add("(e) carriers removed", verify_frame(load_frame(root / f"{tag}_f{f}_stripped.png",
                                                                          (W, H)), fm, params))
                stripped = load_frame(root / f"{tag}_f{f}_stripped.png", (W, H)).pixels
                for count in (12, 100):
                    tally.add(f"(f) carriers removed + {count} forged", verify_frame(
                        forge_patches(stripped, count, rng, params), fm, params, codec="png"))
                pad = 6
                patches = [(max(0, x0 - pad), max(0, y0 - pad), honest[max(0, y0 - pad): y1 + pad,
                                                                       max(0, x0 - pad): x1 + pad])
                           for x0, y0, x1, y1 in found[str(f)]]
                tally.add("(g) splice 1/4 res + carrier patches", verify_frame(splice(quarter, patches), fm, params,
                                                                               codec="png"))
                cover = None
                for c in range(dseeds):
                    eighth = load_frame(root / f"{tag}_f{f}_eighth{c}.png", (W, H)).pixels
                    tally.add("(g) splice 1/8 samples + carrier patches", verify_frame(splice(eighth, patches), fm,
                                                                                       params, codec="png"))
                    if c < cseeds:  # issue 14's JPEG attacks on the 1/8-sample render
                        for q in (30, 20):
                            data = jpeg_bytes(eighth, quality=q)
                            tally.add(f"(i) 1/8 samples as JPEG q{q}", verify_frame(load_frame(data, (W, H)), fm,
                                                                                     params))
                            tally.add(f"(i) 1/8 samples as JPEG q{q}, lossy mode", verify_frame(
                                load_frame(data, (W, H)), fm, params, lossy=True))
                            tally.add(f"(i) 1/8 samples via JPEG q{q}, delivered as PNG", verify_frame(
                                load_frame(data).pixels, fm, params, codec="png"))
                        crafted = crafted_jpeg(eighth)
                        tally.add("(j) crafted JPEG (coarse unused tables first)", verify_frame(
                            load_frame(crafted, (W, H)), fm, params))
                        tally.add("(j) crafted JPEG, lossy mode", verify_frame(load_frame(crafted, (W, H)), fm,
                                                                              params, lossy=True))
                    # (h) the partial render: the attacker's estimate of the tiles from its own cheap render
                    if cover is None:
                        cover = tile_coverage(eighth, params, 200, rng)
                    for fr in (0.15, 0.5):
                        tally.add(f"(h) full quality on likeliest {fr:.0%}, 1/8 else", verify_frame(
                            partial_render(honest, eighth, likeliest_area(cover, fr)), fm, params, codec="png"))
                # null statistics: the same honest frame against random keys' regions on the same reference
                preview = fit_preview(load_frame(root / f"{tag}_work" / f"preview_{f}.png").pixels, W, H)
                for _ in range(wrong_keys):
                    plans = plan_regions(preview, FrameKey(rng.bytes(32), f), params)
                    res = verify_frame(honest, FrameManifest(f, [p.region for p in plans], []), params)
                    null_regions += res.n
                    null_pass += res.passed
                    null_frames += 1
                    null_frame_pass += int(res.noise_accepted)
            honest_by_task[t] = (m, frames_px)
        # (b) frames of another task of the same scene
        for t, (m, _) in honest_by_task.items():
            for u, (_, px) in honest_by_task.items():
                if u != t:
                    for f in SCENES[scene]:
                        tally.add("(b) frame of another task", verify_frame(px[f], m.frames[f], params))
        print(f"# {scene} done at {time.time() - t_start:.0f} s", file=sys.stderr)

    k, bound = required_passes(params.n, params.null_pass_bound, params.false_accept_target)
    p0 = null_pass / max(null_regions, 1)
    print(f"ANGV detection, n={params.n}, {W}x{H}, scenes={list(scenes)}, tasks/scene={tasks}, "
          f"honest sampling seeds/order/frame={hseeds + 1}, 1/8-sample seeds={cseeds} ({dseeds} for {BASE}), "
          f"rule: >= {k}/{params.n} regions (bound {bound:.1e} at p0 <= {params.null_pass_bound}) + "
          f"{params.tiles} quality tiles (worst half <= {params.quality_half_max}); wall {time.time() - t_start:.0f} s")
    print(f"wrong keys: {null_frames} frames, per-region null pass rate {p0:.2e} ({null_pass}/{null_regions}), "
          f"frames accepted by noise rule {null_frame_pass}; fidelity PSNR mean {np.mean(psnrs):.1f} dB "
          f"(min {np.min(psnrs):.1f}), SSIM mean {np.mean(ssims):.4f} (min {np.min(ssims):.4f}), {len(psnrs)} frames")
    print()
    print(f"| {'case':40s} | {'trials':>6s} | {'network accepts':>15s} | {'noise-only accepts':>18s} | "
          f"{'whitepaper accepts':>18s} | {'quality score Q':>15s} |")
    print(f"|{'-' * 42}|{'-' * 8}|{'-' * 17}|{'-' * 20}|{'-' * 20}|{'-' * 17}|")
    for case, (n, acc, noise, wp) in tally.rows.items():
        q = tally.quality[case]
        qs = f"{min(q):5.2f} - {max(q):5.2f}" if np.all(np.isfinite(q)) else "  (inf)"
        print(f"| {case:40s} | {n:6d} | {acc:6d} ({100 * acc / n:5.1f}%) | {noise:9d} ({100 * noise / n:5.1f}%) | "
              f"{wp:9d} ({100 * wp / n:5.1f}%) | {qs:>15s} |")
    honest = [c for c in tally.rows if c.startswith("honest")]
    n_h = sum(tally.rows[c][0] for c in honest)
    rej = n_h - sum(tally.rows[c][1] for c in honest)
    print(f"\nhonest frames: {n_h}, rejected {rej}; 95 % upper bound on the false-reject rate "
          f"{clopper_pearson_upper(rej, n_h):.2%}")
    for c in tally.rows:
        if c.startswith(("(d)", "(h)", "(i)", "(j)")):
            n, acc = tally.rows[c][0], tally.rows[c][1]
            print(f"{c}: accepted {acc}/{n}, 95 % upper bound {clopper_pearson_upper(acc, n):.1%}")
    print()
    print("\n".join(payoff_rows({c: (v[0], v[1]) for c, v in tally.rows.items()})))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
