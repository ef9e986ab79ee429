"""Scene uploads: size limit while streaming, a content check, the scene hygiene checks and its metadata (read
in the render layer's sandbox), pinned to IPFS. A scene that breaks a hygiene rule is refused here, before
anyone pays for it, with the offending path named (docs/security.md)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from backend.api.deps import current_address, rate_limit, render_error
from backend.api.scenes.models import SceneOut
from backend.state import scene_path
from inferix.render import BlenderJobError, SandboxUnavailable, scene_info
from inferix.render.hygiene import SceneRefusedError, check_gltf
from inferix.storage import ContentTooLarge, StorageError

router = APIRouter(prefix="/v1/scenes", tags=["scenes"])

CHUNK = 1024 * 1024
BLEND_MAGICS = (b"BLENDER", b"\x28\xb5\x2f\xfd", b"\x1f\x8b")  # plain, zstd- and gzip-compressed .blend


def sniff(head: bytes, filename: str) -> str:
    """``blend``, ``glb`` or ``gltf`` from the first bytes; the extension must agree."""
    name = filename.lower()
    if name.endswith(".blend") and head.startswith(BLEND_MAGICS):
        return "blend"
    if name.endswith(".glb") and head.startswith(b"glTF"):
        return "glb"
    if name.endswith(".gltf") and head.lstrip()[:1] == b"{" and b'"asset"' in head:
        return "gltf"
    raise HTTPException(415, "not a Blender (.blend) or glTF (.glb/.gltf) scene")


def _out(row) -> SceneOut:
    meta = json.loads(row["metadata"])
    return SceneOut(cid=row["cid"], filename=row["filename"], size=row["size"], kind=row["kind"],
                    frame_start=meta["frame_start"], frame_end=meta["frame_end"], width=meta["width"],
                    height=meta["height"], fps=meta["fps"], camera=meta["camera"])


@router.post("", response_model=SceneOut, status_code=201, summary="Upload a scene",
             responses={413: {"description": "too large"}, 415: {"description": "not a scene file"},
                        422: {"description": "the file could not be opened as a scene"},
                        503: {"description": "IPFS unavailable"}})
async def upload(request: Request, file: UploadFile, address: str = Depends(current_address)) -> SceneOut:
    rate_limit(request, "upload", address)
    settings = request.app.state.settings
    filename = Path(file.filename or "scene").name[:200]
    work = Path(tempfile.mkdtemp(prefix="upload-", dir=_scratch(settings)))
    try:
        suffix = Path(filename).suffix.lower()
        target = work / f"scene{suffix}"
        size = 0
        with open(target, "wb") as out:
            while chunk := await file.read(CHUNK):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
                out.write(chunk)
        if size == 0:
            raise HTTPException(422, "empty file")
        with open(target, "rb") as f:
            kind = sniff(f.read(4096), filename)
        if kind in ("glb", "gltf"):
            try:
                check_gltf(target)
            except SceneRefusedError as exc:
                raise HTTPException(422, f"scene refused: {exc}") from None
        meta = await run_in_threadpool(read_scene, target, settings.scene_info_timeout)
        try:
            cid = await run_in_threadpool(request.app.state.store.add_file, target)
        except ContentTooLarge as exc:
            raise HTTPException(413, str(exc)) from None
        except StorageError as exc:
            raise HTTPException(503, f"storage unavailable: {exc}") from None
        cached = scene_path(settings.work_dir, cid, kind)
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, cached)
        db = request.app.state.db
        db.execute("INSERT INTO scenes (cid, owner, filename, size, kind, metadata, created_at) VALUES (?,?,?,?,?,?,?) "
                   "ON CONFLICT(cid, owner) DO UPDATE SET filename = excluded.filename",
                   (cid, address, filename, size, kind, json.dumps(meta), time.time()))
        return _out(db.execute("SELECT * FROM scenes WHERE cid = ? AND owner = ?", (cid, address)).fetchone())
    finally:
        shutil.rmtree(work, ignore_errors=True)


@router.get("/{cid}", response_model=SceneOut, summary="One of your scenes")
def get_scene(cid: str, request: Request, address: str = Depends(current_address)) -> SceneOut:
    row = request.app.state.db.execute("SELECT * FROM scenes WHERE cid = ? AND owner = ?", (cid, address)).fetchone()
    if row is None:
        raise HTTPException(404, "no such scene among yours")
    return _out(row)


def read_scene(path: Path, timeout: float) -> dict:
    """The scene's metadata, or the HTTP error a creator should read."""
    try:
        return scene_info(path, timeout=timeout)
    except (BlenderJobError, SandboxUnavailable) as exc:
        raise render_error(exc, "reading the scene", "the file could not be opened as a scene") from None


def _scratch(settings) -> Path:
    path = Path(settings.work_dir) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path
