"""The quote's reference render: ``python -m backend.reference JOB.json`` (bpy, in a child process).

Renders a sample of frames at low settings and prints the seconds each took, excluding scene loading.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def reference_times(scene: Path, frames: list[int], width: int, height: int, samples: int,
                    timeout: float = 600.0) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="reference-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"scene": str(scene), "frames": frames, "width": width, "height": height,
                                   "samples": samples, "out": tmp}))
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.run([sys.executable, "-m", "backend.reference", str(job)], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=str(ROOT))
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"reference render failed: {proc.stderr.strip()[-300:]}")
        return json.loads(lines[-1])["seconds"]


def main(path: str) -> int:
    from oracle.angv.render import apply_settings, open_scene, render_to_file

    job = json.loads(Path(path).read_text())
    sc = open_scene(job["scene"])
    apply_settings(sc, job["width"], job["height"], job["samples"], False, 0)
    seconds = []
    for frame in job["frames"]:
        started = time.perf_counter()
        render_to_file(sc, str(Path(job["out"]) / f"{frame}.png"), frame)
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
