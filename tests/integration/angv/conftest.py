"""Session fixtures: tiny scenes, prepared tasks and renders, built once in three Blender child processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

W, H = 192, 108
SEED = bytes(range(32))
OTHER_SEED = bytes(range(100, 132))
TASK = 7
ORDERS = {
    "studio": {"width": W, "height": H, "samples": 32, "denoise": False, "seed": 3},
    "dark_room": {"width": W, "height": H, "samples": 32, "denoise": False, "seed": 3},
    "flyby": {"width": W, "height": H, "samples": 16, "denoise": False, "seed": 3},
}
FRAMES = {"studio": [1], "dark_room": [1], "flyby": [1, 3]}
#: an order with the denoiser on, where 1/8 of the samples is hardest to tell from the ordered count
DENOISED = {"width": W, "height": H, "samples": 32, "denoise": True, "seed": 3}


@dataclass
class Corpus:
    root: Path
    renders: dict[str, Path] = field(default_factory=dict)
    manifests: dict[str, Path] = field(default_factory=dict)
    found: dict = field(default_factory=dict)
    geometry: dict = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)

    def manifest(self, name: str):
        from oracle.angv import Manifest

        return Manifest.load(self.manifests[name])

    def frame(self, name: str, expected=(W, H)):
        from oracle.angv import load_frame

        return load_frame(self.renders[name], expected)


def _prepare(scene: Path, root: Path, tag: str, seed: bytes, task: int, frames, order, tiles=True,
             params: dict | None = None) -> dict:
    return {"op": "prepare", "scene": str(scene), "out_blend": str(root / f"{tag}.blend"),
            "manifest": str(root / f"{tag}.json"), "seed": seed.hex(), "task_id": task, "frames": frames,
            "order": order, "workdir": str(root / f"{tag}_work"), "tiles": tiles, "params": params or {}}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    from inferix.render import render_job, run_jobs

    root = tmp_path_factory.mktemp("angv")
    c = Corpus(root)
    run_jobs([{"op": "make_scene", "name": n, "path": str(root / f"{n}.blend"), "width": W, "height": H}
              for n in ORDERS]
             + [{"op": "export_gltf", "blend": str(root / "studio.blend"), "out": str(root / "studio.glb")}])

    prep = [_prepare(root / f"{n}.blend", root, f"{n}_t7", SEED, TASK, FRAMES[n], ORDERS[n]) for n in ORDERS]
    prep += [
        _prepare(root / "studio.blend", root, "studio_other", OTHER_SEED, TASK + 1, [1], ORDERS["studio"]),
        _prepare(root / "studio.blend", root, "studio_again", SEED, TASK, [1], ORDERS["studio"]),
        _prepare(root / "studio.glb", root, "glb_t7", SEED, TASK, [1], ORDERS["studio"], tiles=False),
        _prepare(root / "studio.blend", root, "studio_dn", SEED, TASK, [1], DENOISED),
    ]
    res = run_jobs(prep)
    for job, r in zip(prep, res):
        tag = Path(job["manifest"]).stem
        c.manifests[tag] = Path(job["manifest"])
        c.digests[tag] = r["digest"]

    jobs, names = [], []

    def add(name: str, blend: str, order: dict, frame: int = 1, fmt: str = "png", **kw) -> None:
        ext = {"png": "png", "jpeg": "jpg", "exr": "exr"}[fmt]
        out = root / f"r_{name}.{ext}"
        jobs.append(render_job(str(root / blend), str(out), order, frame=frame, fmt=fmt, **kw))
        names.append(name)
        c.renders[name] = out

    st = ORDERS["studio"]
    add("studio_honest", "studio_t7.blend", st)
    add("studio_jpeg", "studio_t7.blend", st, fmt="jpeg", quality=90)
    add("studio_exr", "studio_t7.blend", st, fmt="exr")
    add("studio_otherseed", "studio_t7.blend", {**st, "seed": 99})
    add("studio_clean", "studio.blend", st)
    add("studio_quarter", "studio_t7.blend", st, percentage=50)
    add("studio_eighth", "studio_t7.blend", {**st, "samples": st["samples"] // 8})
    add("studio_stripped", "studio_t7.blend", st, op="render_stripped")
    add("studio_other_honest", "studio_other.blend", st)
    add("glb_honest", "glb_t7.blend", st)
    add("studio_dn_otherseed", "studio_dn.blend", {**DENOISED, "seed": 99})
    add("studio_dn_eighth", "studio_dn.blend", {**DENOISED, "samples": DENOISED["samples"] // 8, "seed": 99})
    dk = ORDERS["dark_room"]
    add("dark_room_honest", "dark_room_t7.blend", dk)
    add("dark_room_quarter", "dark_room_t7.blend", dk, percentage=50)
    add("dark_room_stripped", "dark_room_t7.blend", dk, op="render_stripped")
    fb = ORDERS["flyby"]
    for f in FRAMES["flyby"]:
        add(f"flyby_honest_{f}", "flyby_t7.blend", fb, frame=f)
    add("flyby_stripped_3", "flyby_t7.blend", fb, frame=3, op="render_stripped")
    add("flyby_eighth_1", "flyby_t7.blend", {**fb, "samples": 2})
    jobs.append({"op": "find_carriers", "blend": str(root / "studio_t7.blend"), "frames": [1]})
    jobs.append({"op": "check_carriers", "blend": str(root / "flyby_t7.blend"),
                 "names": c.manifest("flyby_t7").carriers, "frames": FRAMES["flyby"]})
    res = run_jobs(jobs)
    for name, r in zip(names, res):
        c.removed[name] = r.get("removed", [])
    c.found = res[-2]
    c.geometry = {int(k): v for k, v in res[-1]["frames"].items()}
    return c
