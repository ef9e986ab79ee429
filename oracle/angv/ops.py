"""ANGV's Blender ops, run by the render layer's child (registered under the ``inferix.render_ops``
entry-point group; see :mod:`inferix.render.child`). Start them with :func:`inferix.render.run_jobs`:

* ``prepare``: scene, out_blend, manifest, seed (hex), task_id, frames, order {...}, params {...}, workdir, tiles,
  previews ({frame: png} reference renders to reuse), tile_refs ("auto", "crops", "full"), patches (a path: clean
  delivery's patches are written there, unsealed), patch_context (px; default insertion.PATCH_CONTEXT) -- noise
  insertion
* ``render_stripped``: a ``render`` job after removing what the attacker's heuristic finds
* ``find_carriers``: blend, frames -- the attacker's heuristic (see :mod:`oracle.angv.attacks`)
* ``check_carriers``: blend, names, frames -- re-check the geometric constraints
* ``export_gltf``: blend, out -- write the scene as GLB
"""

from __future__ import annotations


def prepare(job: dict) -> dict:
    from .insertion import prepare as insert
    from .manifest import RenderOrder
    from .params import AngvParams

    order = RenderOrder(**job["order"])
    m, times, patches = insert(job["scene"], job["out_blend"], bytes.fromhex(job["seed"]), int(job["task_id"]),
                               [int(f) for f in job["frames"]], order, AngvParams.from_dict(job.get("params", {})),
                               job.get("workdir"), job.get("tiles", True),
                               {int(k): v for k, v in job.get("previews", {}).items()} or None,
                               job.get("tile_refs", "auto"), bool(job.get("patches")), job.get("patch_context"))
    m.save(job["manifest"])
    if job.get("patches"):  # clean delivery's patches, unsealed (the manager seals them with the task's seed)
        from pathlib import Path

        from inferix.delivery import Patch, encode_patches

        Path(job["patches"]).write_bytes(encode_patches(
            {f: [Patch(x0, y0, px) for x0, y0, px in items] for f, items in patches.items()}, order.width,
            order.height))
    return {"digest": m.digest(), "times": times, "carriers": m.carriers}


def render_stripped(job: dict) -> dict:
    from inferix.render.blend import open_scene
    from inferix.render.child import render

    from .attacks import find_carriers

    sc = open_scene(job["blend"])
    sc.render.resolution_x, sc.render.resolution_y = job["width"], job["height"]
    found = find_carriers(sc, [int(job.get("frame", 1))])[0]
    return render({**job, "remove": list(job.get("remove", [])) + found})


def find_carriers(job: dict) -> dict:
    from inferix.render.blend import open_scene

    from .attacks import find_carriers as find

    sc = open_scene(job["blend"])
    if "width" in job:
        sc.render.resolution_x, sc.render.resolution_y = job["width"], job["height"]
        sc.render.resolution_percentage = 100
    names, boxes = find(sc, [int(f) for f in job["frames"]])
    return {"names": names, "boxes": {str(k): v for k, v in boxes.items()}}


def check_carriers(job: dict) -> dict:
    from inferix.render.blend import open_scene

    from .insertion import check_carriers as check

    sc = open_scene(job["blend"])
    rows = check(sc, list(job["names"]), [int(f) for f in job["frames"]])
    return {"frames": {str(k): v for k, v in rows.items()}}


def export_gltf(job: dict) -> dict:
    import bpy

    from inferix.render.blend import open_scene

    open_scene(job["blend"])
    bpy.ops.export_scene.gltf(filepath=job["out"], export_format="GLB", export_cameras=True, export_lights=True)
    return {"out": job["out"]}


OPS = {f.__name__: f for f in (prepare, render_stripped, find_carriers, check_carriers, export_gltf)}
