"""ANGV attack (h), the partial render: tile rules and quality statistics against renders that are full quality on
part of the frame and cheap elsewhere.

    .venv/bin/python -m benchmarks.angv_partial --workdir /tmp/angv-partial

The attacker knows the public tile rule but not the key. It renders its cheap version first (1/8 of the samples,
denoised), runs the rule with ``--attacker-keys`` random keys on it (``attacks.tile_coverage``), renders the
likeliest fraction f of the frame, in 16-px blocks, at full quality with the ordered sampling seed (what the noised
.blend holds: on a CPU it reproduces the manager's reference A, the attacker's best case), and keeps the cheap
render elsewhere (``attacks.likeliest_area``, ``attacks.partial_render``). (h') ignores the rule: full quality on
the most textured fraction of its cheap render, in 16-px blocks (``attacks.block_texture``), cheap on the flat rest,
where the denoiser hides the missing samples.

To compare rules on the same renders, the tiles' references are cut from full honest renders of the clean scene
(64 samples, denoised, 256x144; seeds s, s' as the manager's pair, the others as honest deliveries), as the version-2
design study did; the real verifier (``verify_frame``, quality check only) judges every case. Rules:

* ``v2``: ANGV version 2 -- 8 tiles, each the most textured of 8 key-drawn candidates in the reference render (the
  attacker predicts from its own cheap render), the pooled score Q only;
* ``v3``: this version -- tiles drawn uniformly by key (``adaptive.plan_tiles``), ``AngvParams()`` (16 tiles), the
  pooled score and the worst half's score.

Every key drawn gives a trial (tile layouts differ); the renders are shared, so trials of one frame are not
independent draws of the renders' noise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from inferix.render import render_job, run_jobs
from oracle.angv import AngvParams, load_frame, verify_frame
from oracle.angv.adaptive import plan_tiles
from oracle.angv.attacks import block_texture, likeliest_area, partial_render, plan_tiles_v2, tile_coverage
from oracle.angv.keys import FrameKey
from oracle.angv.manifest import FrameManifest, Tile

from .angv_detection import clopper_pearson_upper
from .payoff import payoff_rows

SCENES = {"studio": [1], "dark_room": [1], "flyby": [1, 3]}
FRACTIONS = (0.15, 0.3, 0.5)
CURRENT = "v3"  # the tile rule of versions 3 and 4 (version 4 changed which frames are tiled, not where)


def rules() -> dict[str, tuple[AngvParams, object]]:
    v3 = AngvParams()
    v2 = replace(v3, tiles=8, quality_half_max=float("inf"))
    return {"v2": (v2, lambda key, w, h, p, preview: plan_tiles_v2(key, w, h, p, preview)),
            "v3": (v3, lambda key, w, h, p, preview: plan_tiles(key, w, h, p))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=144)
    ap.add_argument("--honest-seeds", type=int, default=4, help="honest renders per frame (even; pairs are references)")
    ap.add_argument("--cheat-seeds", type=int, default=4, help="1/8-sample renders per frame")
    ap.add_argument("--keys", type=int, default=60, help="tile layouts (keys) per frame and rule")
    ap.add_argument("--attacker-keys", type=int, default=200, help="random keys the attacker runs the rule with")
    args = ap.parse_args()
    W, H = args.width, args.height
    root = Path(args.workdir or tempfile.mkdtemp(prefix="angv-partial-"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    jobs = [{"op": "make_scene", "name": s, "path": str(root / f"{s}.blend"), "width": W, "height": H}
            for s in SCENES if not (root / f"{s}.blend").exists()]
    if jobs:
        run_jobs(jobs)
    order = {"width": W, "height": H, "samples": 64, "denoise": True}
    jobs = []
    for s, frames in SCENES.items():
        for f in frames:
            jobs += [render_job(root / f"{s}.blend", root / f"{s}_f{f}_h{h}.png", {**order, "seed": 11 + 1000 * h},
                                frame=f) for h in range(args.honest_seeds)]
            jobs += [render_job(root / f"{s}.blend", root / f"{s}_f{f}_e{c}.png",
                                {**order, "samples": 8, "seed": 500 + c}, frame=f) for c in range(args.cheat_seeds)]
    todo = [j for j in jobs if not Path(j["out"]).exists()]
    if todo:
        run_jobs(todo)
    rng = np.random.default_rng(2026)
    pairs = [(i, i + 1) for i in range(0, args.honest_seeds - 1, 2)]
    rows: dict[tuple[str, str], list[tuple[bool, float, float]]] = {}
    for rule, (params, planner) in rules().items():
        for s, frames in SCENES.items():
            for f in frames:
                hs = [load_frame(root / f"{s}_f{f}_h{h}.png", (W, H)).pixels for h in range(args.honest_seeds)]
                es = [load_frame(root / f"{s}_f{f}_e{c}.png", (W, H)).pixels for c in range(args.cheat_seeds)]
                # the attacker's estimate, from its own cheap render; the manager's reference render is proxied by
                # another cheap denoised render (v2 ranks candidates by texture in it)
                cov = tile_coverage(es[0], params, args.attacker_keys, rng, planner)
                masks = {fr: likeliest_area(cov, fr) for fr in FRACTIONS}
                tex = block_texture(es[0])
                tex_masks = {fr: likeliest_area(tex, fr) for fr in FRACTIONS}
                for k in range(args.keys):
                    key = FrameKey(rng.bytes(32), f)
                    tiles = planner(key, W, H, params, es[-1])
                    for ia, ib in pairs:
                        fm = FrameManifest(f, [], [Tile(x, y, t, hs[ia][y : y + t, x : x + t].copy(),
                                                        hs[ib][y : y + t, x : x + t].copy()) for x, y, t in tiles])
                        cases = {f"honest, another seed ({h})": hs[h] for h in range(args.honest_seeds)
                                 if h not in (ia, ib)}
                        cheap = es[k % len(es)]
                        cases["(d) 1/8 samples"] = cheap
                        for fr, mask in masks.items():
                            cases[f"(h) full quality on the likeliest {fr:.0%}, 1/8 elsewhere"] = \
                                partial_render(hs[ia], cheap, mask)
                        for fr, mask in tex_masks.items():
                            cases[f"(h') full quality on the most textured {fr:.0%}, 1/8 else"] = \
                                partial_render(hs[ia], cheap, mask)
                        for case, img in cases.items():
                            if case.startswith("honest"):
                                case = "honest, another seed"
                            r = verify_frame(img, fm, params, codec="png")
                            rows.setdefault((rule, case), []).append((r.quality_accepted, r.quality, r.quality_half))
        print(f"# {rule} done at {time.time() - t0:.0f} s", file=sys.stderr)
    print(f"ANGV attack (h), {W}x{H}, scenes {list(SCENES)}, 64 samples denoised, {args.keys} keys x {len(pairs)} "
          f"reference pairs per frame and rule, attacker estimate from {args.attacker_keys} keys; wall "
          f"{time.time() - t0:.0f} s\n")
    print(f"| rule | {'case':46s} | trials | accepted | 95 % upper | Q | Q worst half |")
    print(f"|---|{'-' * 48}|---:|---:|---:|---:|---:|")
    for (rule, case), v in rows.items():
        acc = sum(a for a, _, _ in v)
        q = [x for _, x, _ in v]
        qh = [x for _, _, x in v]
        print(f"| {rule} | {case:46s} | {len(v)} | {acc} ({acc / len(v):.1%}) | "
              f"{clopper_pearson_upper(acc, len(v)):.1%} | {min(q):.2f}-{max(q):.2f} | {min(qh):.2f}-{max(qh):.2f} |")
    print(f"\n{CURRENT} (the tile rule of versions 3 and 4):")
    print("\n".join(payoff_rows({case: (len(v), sum(a for a, _, _ in v)) for (rule, case), v in rows.items()
                                 if rule == CURRENT})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
