"""Generate the ANGV test scenes, and render a scene with pinned settings.

    .venv/bin/python -m scripts.make_scenes scenes --out out/scenes --width 192 --height 108
    .venv/bin/python -m scripts.make_scenes scenes --out out/scenes-1080p --width 1920 --height 1080 --glb
    .venv/bin/python -m scripts.make_scenes render out/scenes/studio.blend out/studio.png --samples 64 --denoise

Scenes (inferix/render/scenes.py): ``studio`` (checker floor, flat wall, diffuse/metal/glass spheres, dark box),
``dark_room`` (dim room, noise-textured floor, glossy strip, glass monkey), ``flyby`` (textured ground, columns,
gradient sky, camera animated over frames 1..3). Rendering uses Cycles on the CPU with a fixed sampling seed,
adaptive sampling and dither off, so renders are pixel-deterministic for one Blender build. Blender runs in a child
process. Called without arguments (e.g. by ``ape run make_scenes``) it writes the tiny scenes to out/scenes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from inferix.render import render_job, run_jobs

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    sc = sub.add_parser("scenes", help="generate the test scenes")
    sc.add_argument("--out", default=str(ROOT / "out" / "scenes"))
    sc.add_argument("--width", type=int, default=192)
    sc.add_argument("--height", type=int, default=108)
    sc.add_argument("--names", default="studio,dark_room,flyby")
    sc.add_argument("--glb", action="store_true", help="also export each scene as GLB")
    rd = sub.add_parser("render", help="render one frame of a scene")
    rd.add_argument("blend")
    rd.add_argument("out")
    rd.add_argument("--frame", type=int, default=1)
    rd.add_argument("--width", type=int, default=192)
    rd.add_argument("--height", type=int, default=108)
    rd.add_argument("--scale", type=int, default=100, help="resolution percentage")
    rd.add_argument("--samples", type=int, default=32)
    rd.add_argument("--denoise", action="store_true")
    rd.add_argument("--seed", type=int, default=0)
    rd.add_argument("--format", choices=["png", "exr", "jpeg"], default="png")
    rd.add_argument("--quality", type=int, default=90)
    args = ap.parse_args(argv if argv is not None else ["scenes"])
    if args.cmd == "render":
        order = {"width": args.width, "height": args.height, "samples": args.samples, "denoise": args.denoise,
                 "seed": args.seed}
        run_jobs([render_job(args.blend, args.out, order, frame=args.frame, fmt=args.format, quality=args.quality,
                             percentage=args.scale)])
        print(args.out)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for name in args.names.split(","):
        path = out / f"{name}.blend"
        jobs.append({"op": "make_scene", "name": name, "path": str(path), "width": args.width, "height": args.height})
        if args.glb:
            jobs.append({"op": "export_gltf", "blend": str(path), "out": str(out / f"{name}.glb")})
    run_jobs(jobs)
    for p in sorted(out.iterdir()):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
