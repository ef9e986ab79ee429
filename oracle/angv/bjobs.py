"""Blender job runner: ``python -m oracle.angv.bjobs JOBS.json RESULTS.json`` (imports bpy).

Runs a list of jobs in one Blender process (bpy keeps global state, so callers run it as a subprocess through
:func:`oracle.angv.blender.run_jobs`). Each job is a dict with an ``op``:

* ``make_scene``: name, path, width, height
* ``prepare``: scene, out_blend, manifest, seed (hex), task_id, frames, order {...}, params {...}, workdir, tiles,
  previews ({frame: png} reference renders to reuse)
* ``render``: blend, out, frame, width, height, samples, denoise, seed, fmt, quality, percentage, border, remove, also ({fmt: path}),
  strip_heuristic (remove what the attacker's heuristic finds)
* ``find_carriers``: blend, frames -- the attacker's heuristic (see :mod:`oracle.angv.attacks`)
* ``check_carriers``: blend, names, frames -- re-check the geometric constraints
* ``export_gltf``: blend, out -- write the scene as GLB
"""

from __future__ import annotations

import json
import sys
import traceback


def _run(job: dict) -> dict:
    op = job["op"]
    if op == "make_scene":
        from .scenes import make_scene

        return {"path": make_scene(job["name"], job["path"], int(job["width"]), int(job["height"]))}
    if op == "prepare":
        from .insertion import prepare
        from .manifest import RenderOrder
        from .params import AngvParams

        m, times = prepare(job["scene"], job["out_blend"], bytes.fromhex(job["seed"]), int(job["task_id"]),
                           [int(f) for f in job["frames"]], RenderOrder(**job["order"]),
                           AngvParams.from_dict(job.get("params", {})), job.get("workdir"), job.get("tiles", True),
                           {int(k): v for k, v in job.get("previews", {}).items()} or None)
        m.save(job["manifest"])
        return {"digest": m.digest(), "times": times, "carriers": m.carriers}
    if op == "render":
        import bpy

        from .render import apply_settings, open_scene, render_to_file, save_render_as

        sc = open_scene(job["blend"])
        removed = list(job.get("remove", []))
        if job.get("strip_heuristic"):
            from .attacks import find_carriers

            sc.render.resolution_x, sc.render.resolution_y = job["width"], job["height"]
            removed += find_carriers(sc, [int(job.get("frame", 1))])[0]
        for name in removed:
            o = bpy.data.objects.get(name)
            if o is not None:
                bpy.data.objects.remove(o, do_unlink=True)
        apply_settings(sc, job["width"], job["height"], job["samples"], job["denoise"], job.get("seed", 0))
        border = job.get("border")
        out = render_to_file(sc, job["out"], job.get("frame", 1), job.get("fmt", "png"), job.get("quality", 90),
                             tuple(border) if border else None, job.get("percentage", 100))
        for fmt, path in job.get("also", {}).items():  # the same render saved in other formats
            save_render_as(sc, path, fmt, job.get("quality", 90))
        return {"out": out, "removed": removed}
    if op == "find_carriers":
        from .attacks import find_carriers
        from .render import open_scene

        sc = open_scene(job["blend"])
        if "width" in job:
            sc.render.resolution_x, sc.render.resolution_y = job["width"], job["height"]
            sc.render.resolution_percentage = 100
        names, boxes = find_carriers(sc, [int(f) for f in job["frames"]])
        return {"names": names, "boxes": {str(k): v for k, v in boxes.items()}}
    if op == "check_carriers":
        from .insertion import check_carriers
        from .render import open_scene

        sc = open_scene(job["blend"])
        rows = check_carriers(sc, list(job["names"]), [int(f) for f in job["frames"]])
        return {"frames": {str(k): v for k, v in rows.items()}}
    if op == "export_gltf":
        import bpy

        from .render import open_scene

        open_scene(job["blend"])
        bpy.ops.export_scene.gltf(filepath=job["out"], export_format="GLB", export_cameras=True,
                                  export_lights=True)
        return {"out": job["out"]}
    raise ValueError(f"unknown op {op!r}")


def main(argv: list[str]) -> int:
    jobs = json.loads(open(argv[1]).read())
    results = []
    code = 0
    for job in jobs:
        try:
            results.append({"ok": True, **_run(job)})
        except Exception as e:  # noqa: BLE001 - reported to the caller, which raises
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()})
            code = 1
            break
    with open(argv[2], "w") as f:
        json.dump(results, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
