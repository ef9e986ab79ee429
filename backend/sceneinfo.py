"""Read a scene's metadata with bpy in a child process: ``python -m backend.sceneinfo SCENE`` prints JSON.

A file that bpy cannot open (not a scene, corrupt, a Blender version we cannot read) makes the child fail,
never the server. A hard timeout bounds hostile inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class SceneError(ValueError):
    """The file could not be read as a scene."""


def read_metadata(path: Path, timeout: float = 120.0) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        proc = subprocess.run([sys.executable, "-m", "backend.sceneinfo", str(path)], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        raise SceneError(f"reading the scene took more than {timeout:.0f} s") from None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        reason = (proc.stderr.strip().splitlines() or ["unreadable"])[-1][:300]
        raise SceneError(f"the file could not be opened as a scene: {reason}")
    info = json.loads(lines[-1])
    if "error" in info:
        raise SceneError(info["error"])
    return info


def main(path: str) -> int:
    from oracle.angv.render import open_scene

    try:
        sc = open_scene(path)
    except Exception as exc:  # noqa: BLE001 - reported as JSON to the parent
        print(json.dumps({"error": f"the file could not be opened as a scene: {exc}"[:300]}))
        return 0
    r = sc.render
    print(json.dumps({
        "frame_start": sc.frame_start, "frame_end": sc.frame_end, "fps": r.fps,
        "width": r.resolution_x * r.resolution_percentage // 100,
        "height": r.resolution_y * r.resolution_percentage // 100,
        "camera": sc.camera.name if sc.camera else None, "engine": r.engine,
        "objects": len(sc.objects),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
