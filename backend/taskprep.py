"""Task preparation: embed ANGV noise into a copy of the scene with a fresh secret seed, and pin the task
package (noised scene, render order, manifest sealed with the seed) to IPFS.

The seed never leaves the manager until ``revealKey``: the caller stores it (encrypted at rest) and posts
only ``keccak256(seed)``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from inferix.delivery import seal_patches
from inferix.protocol import PACKAGE_MANIFEST, PACKAGE_ORDER, PACKAGE_PATCHES, PACKAGE_SCENE
from inferix.sealing import manifest_digest, seal_manifest
from inferix.storage import IPFSStore
from inferix.render import BlenderJobError, run_jobs

PLACEMENT_ATTEMPTS = 3


@dataclass(frozen=True)
class PreparedTask:
    seed: bytes
    key_commit: bytes
    package_cid: str
    manifest_digest: str  # the digest of the plain manifest's content (ANGV's)
    sealed_digest: bytes  # the sealed manifest's digest (inferix.sealing.manifest_digest), committed on chain
    frames: tuple[int, int]
    order: dict


def prepare_task(store: IPFSStore, scene: Path, work_dir: Path, task_id: int, frames: tuple[int, int],
                 order: dict, seed: bytes | None = None, params: dict | None = None,
                 timeout: float | None = None) -> PreparedTask:
    """``order``: width, height, samples, denoise, seed (the Cycles sampling seed) — what the creator ordered.

    Without a given ``seed``, a placement that fails for one random seed (too few smooth regions for the
    imprints it draws) is retried with a fresh one. ``timeout``: seconds of Blender (sandboxed) per attempt; a
    scene that breaks it or another limit raises :class:`inferix.render.RenderLimitError`.
    """
    if seed is not None:
        return _prepare(store, scene, Path(work_dir), task_id, frames, order, seed, params, timeout)
    for attempt in range(PLACEMENT_ATTEMPTS):
        try:
            return _prepare(store, scene, Path(work_dir), task_id, frames, order, os.urandom(32), params,
                            timeout)
        except BlenderJobError as exc:
            if "PlacementError" not in str(exc) or attempt == PLACEMENT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _job(scene: Path, work_dir: Path, task_id: int, frames: tuple[int, int], order: dict, seed: bytes,
         params: dict | None) -> dict:
    package = work_dir / "package"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    first, last = frames
    return {"op": "prepare", "scene": str(scene), "out_blend": str(package / PACKAGE_SCENE),
            "manifest": str(work_dir / "manifest.json"), "seed": seed.hex(), "task_id": task_id,
            "frames": list(range(first, last + 1)), "order": order, "params": params or {},
            "workdir": str(work_dir / "prep"), "tiles": True, "patches": str(work_dir / "patches.json")}


def _package(store: IPFSStore, work_dir: Path, frames: tuple[int, int], order: dict, seed: bytes,
             result: dict) -> PreparedTask:
    """Seal the manifest and the patches Blender wrote, next to the noised scene and the render order, and pin the
    package."""
    package, manifest_path = work_dir / "package", work_dir / "manifest.json"
    (package / PACKAGE_ORDER).write_text(json.dumps({**order, "frames": list(frames), "format": "png"}))
    sealed = seal_manifest(manifest_path.read_bytes(), seed)
    (package / PACKAGE_MANIFEST).write_bytes(sealed)
    manifest_path.unlink()  # only the sealed copy is kept
    patches_path = work_dir / "patches.json"  # clean delivery's patches, opened by the creator after the reveal
    (package / PACKAGE_PATCHES).write_bytes(seal_patches(patches_path.read_bytes(), seed))
    patches_path.unlink()
    cid = store.add_directory(package)
    return PreparedTask(seed, keccak(seed), cid, result["digest"], manifest_digest(sealed), frames, order)


def _prepare(store: IPFSStore, scene: Path, work_dir: Path, task_id: int, frames: tuple[int, int], order: dict,
             seed: bytes, params: dict | None, timeout: float | None) -> PreparedTask:
    (result,) = run_jobs([_job(scene, work_dir, task_id, frames, order, seed, params)], timeout=timeout)
    return _package(store, work_dir, frames, order, seed, result)


@dataclass(frozen=True)
class TaskSpec:
    """One task of :func:`prepare_tasks`: its scratch directory, the id its noise keys derive from, its frames and
    its seed."""
    work_dir: Path
    task_id: int
    frames: tuple[int, int]
    seed: bytes


def prepare_tasks(store: IPFSStore, scene: Path, specs: list[TaskSpec], order: dict, params: dict | None = None,
                  timeout: float | None = None) -> list[PreparedTask | BlenderJobError]:
    """Several tasks of one scene noised in one Blender process (the start-up and the scene's loading paid once):
    each one's :class:`PreparedTask`, or the :class:`BlenderJobError` of a task that failed on its own (a placement
    for its seed). A limit, a crash or a refused scene raises for all of them. ``timeout``: seconds for all."""
    jobs = [_job(scene, Path(s.work_dir), s.task_id, s.frames, order, s.seed, params) for s in specs]
    results = run_jobs(jobs, timeout=timeout, keep_going=True)
    return [_package(store, Path(s.work_dir), s.frames, order, s.seed, r) if r.get("ok")
            else BlenderJobError(r.get("trace") or r.get("error")) for s, r in zip(specs, results)]
