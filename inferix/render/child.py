"""The Blender child: ``python -m inferix.render.child JOBS.json RESULTS.json`` (imports bpy).

Started only by :func:`inferix.render.runner.run_jobs`, inside the sandbox. Runs a list of jobs in one Blender
process; each job is a dict with an ``op``:

* ``make_scene``: name, path, width, height, frames (optional camera path) -- a generated scene (:mod:`inferix.render.scenes`)
* ``scene_info``: scene -- metadata, after the hygiene checks (refused scenes fail with ``refused``)
* ``references``: scene -- every external file the scene refers to (what ``pack`` must bind)
* ``pack``: scene, out -- pack every external file into a copy of the scene, then check it
* ``render``: blend, out, frame, width, height, samples, denoise, seed, fmt, quality, percentage, border,
  remove (object names), also ({fmt: path}: the same render saved in other formats)
* ``render_frames``: blend, out_dir, frames [first, last], order {...}, format -- a task's frames, printing one
  ``progress <done>/<total> <frame> <seconds>`` line per frame (finished frames are kept and not rendered again)
* ``time_frames``: scene, frames, width, height, samples, out_dir, denoise (default off) -- seconds per frame, excluding
  scene loading
* ``devices``: the GPU devices Cycles finds, and Python auto-execution's state

Other ops come from modules registered under the ``inferix.render_ops`` entry-point group (each has an ``OPS``
dict of name -> function(job) -> dict): ANGV's noise insertion registers ``prepare`` and its attack tooling. An
op ``module:function`` calls that function (the tests' hostile scenes).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path


def make_scene(job: dict) -> dict:
    from inferix.render.scenes import make_scene as make

    return {"path": make(job["name"], job["path"], int(job["width"]), int(job["height"]), job.get("frames"))}


def scene_info(job: dict) -> dict:
    from inferix.render import hygiene
    from inferix.render.blend import open_scene

    sc = open_scene(job["scene"], job.get("bundle"))
    r = sc.render
    return {"frame_start": sc.frame_start, "frame_end": sc.frame_end, "fps": r.fps,
            "width": r.resolution_x * r.resolution_percentage // 100,
            "height": r.resolution_y * r.resolution_percentage // 100,
            "camera": sc.camera.name if sc.camera else None, "engine": r.engine, "objects": len(sc.objects),
            "autoexec": hygiene.autoexec_enabled()}


def references(job: dict) -> dict:
    import bpy

    from inferix.render import hygiene

    bpy.ops.wm.open_mainfile(filepath=job["scene"], load_ui=False, use_scripts=False)
    return {"references": [{"kind": k, "name": n, "path": p, "absolute": bpy.path.abspath(p)}
                           for k, n, p in hygiene.external_references(None)]}


def pack(job: dict) -> dict:
    import bpy

    from inferix.render import hygiene

    bpy.ops.wm.open_mainfile(filepath=job["scene"], load_ui=False, use_scripts=False)
    before = len(hygiene.external_references(None))
    if bpy.data.libraries:
        bpy.ops.file.pack_libraries()
    bpy.ops.file.pack_all()
    bpy.ops.wm.save_as_mainfile(filepath=job["out"], compress=True, relative_remap=False)
    bpy.ops.wm.open_mainfile(filepath=job["out"], load_ui=False, use_scripts=False)
    left = hygiene.external_references(None)
    return {"out": job["out"], "packed": before - len(left),
            "left": [{"kind": k, "name": n, "path": p} for k, n, p in left]}


def render(job: dict) -> dict:
    import bpy

    from inferix.render.blend import apply_settings, open_scene, render_to_file, save_render_as

    sc = open_scene(job["blend"])
    removed = []
    for name in job.get("remove", []):
        o = bpy.data.objects.get(name)
        if o is not None:
            bpy.data.objects.remove(o, do_unlink=True)
            removed.append(name)
    apply_settings(sc, job["width"], job["height"], job["samples"], job["denoise"], job.get("seed", 0))
    border = job.get("border")
    out = render_to_file(sc, job["out"], job.get("frame", 1), job.get("fmt", "png"), job.get("quality", 90),
                         tuple(border) if border else None, job.get("percentage", 100))
    for fmt, path in job.get("also", {}).items():
        save_render_as(sc, path, fmt, job.get("quality", 90))
    return {"out": out, "removed": removed}


def render_frames(job: dict) -> dict:
    from inferix.protocol import frame_name
    from inferix.render.blend import apply_settings, open_scene, render_to_file

    order = job["order"]
    fmt = job.get("format", "png")
    sc = open_scene(job["blend"])
    apply_settings(sc, order["width"], order["height"], order["samples"], order["denoise"], order.get("seed", 0))
    first, last = job["frames"]
    out_dir = Path(job["out_dir"])
    total = last - first + 1
    for i, frame in enumerate(range(first, last + 1), start=1):
        target = out_dir / frame_name(frame, fmt)
        started = time.monotonic()
        if not target.exists():
            partial = target.with_name(target.name + ".part")
            render_to_file(sc, str(partial), frame, fmt)
            partial.replace(target)
        print(f"progress {i}/{total} {frame} {time.monotonic() - started:.2f}", flush=True)
    return {"frames": total, "device": sc.cycles.device}


def time_frames(job: dict) -> dict:
    from inferix.render.blend import apply_settings, open_scene, render_to_file

    sc = open_scene(job["scene"])
    apply_settings(sc, job["width"], job["height"], job["samples"], bool(job.get("denoise", False)), 0)
    seconds = []
    for frame in job["frames"]:
        started = time.perf_counter()
        render_to_file(sc, str(Path(job["out_dir"]) / f"{frame}.png"), frame)
        seconds.append(time.perf_counter() - started)
    return {"seconds": seconds}


def devices(job: dict) -> dict:
    from inferix.render import hygiene
    from inferix.render.devices import enumerate_devices

    return {"devices": enumerate_devices(), "autoexec": hygiene.autoexec_enabled()}


OPS = {f.__name__: f for f in (make_scene, scene_info, references, pack, render, render_frames, time_frames,
                               devices)}


def _op(name: str):
    if name in OPS:
        return OPS[name]
    if ":" in name:  # module:function -- the module must be importable in the sandbox (bind it with ``inputs``)
        module, _, function = name.partition(":")
        return getattr(import_module(module), function)
    for ep in entry_points(group="inferix.render_ops"):
        ops = getattr(import_module(ep.value), "OPS", {})
        if name in ops:
            return ops[name]
    raise ValueError(f"unknown op {name!r}")


def main(argv: list[str]) -> int:
    from inferix.render.hygiene import SceneRefusedError
    from inferix.render.runner import RUSAGE_FILE

    jobs = json.loads(Path(argv[1]).read_text())
    results = []
    code = 0
    for job in jobs:
        try:
            results.append({"ok": True, **_op(job["op"])(job)})
        except SceneRefusedError as e:
            results.append({"ok": False, "refused": True, "error": str(e)})
            code = 1
            break
        except Exception as e:  # noqa: BLE001 - reported to the caller, which raises
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()})
            code = 1
            break
    Path(argv[2]).write_text(json.dumps(results))
    # this process's CPU (and its children's): the sandbox's PID namespace hides it from the node's own accounting
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    Path(argv[2]).with_name(RUSAGE_FILE).write_text(json.dumps({"cpu_seconds": cpu}))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
