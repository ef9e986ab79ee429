"""Run Blender jobs in a child process (this module does not import bpy).

bpy holds global state and a render can take the process down, so tests, benchmarks and the worker run jobs
through :func:`run_jobs`, which starts ``python -m oracle.angv.bjobs`` with the same interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class BlenderJobError(RuntimeError):
    pass


def run_jobs(jobs: list[dict[str, Any]], timeout: float = 1800.0) -> list[dict[str, Any]]:
    """Run ``jobs`` in one Blender process; raise :class:`BlenderJobError` with the child's error on failure."""
    with tempfile.TemporaryDirectory(prefix="angv-jobs-") as d:
        jpath, rpath = os.path.join(d, "jobs.json"), os.path.join(d, "results.json")
        Path(jpath).write_text(json.dumps(jobs))
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.run([sys.executable, "-m", "oracle.angv.bjobs", jpath, rpath], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=str(ROOT))
        if not os.path.exists(rpath):
            raise BlenderJobError(f"blender jobs crashed (rc={proc.returncode}): {proc.stderr[-2000:]}")
        results = json.loads(Path(rpath).read_text())
    for r in results:
        if not r.get("ok"):
            raise BlenderJobError(r.get("trace") or r.get("error"))
    return results


def render_job(blend: str, out: str, order: dict[str, Any], frame: int = 1, fmt: str = "png", **kw: Any) -> dict:
    """A ``render`` job dict for :func:`run_jobs`; ``order`` has width, height, samples, denoise, seed."""
    return {"op": "render", "blend": str(blend), "out": str(out), "frame": frame, "fmt": fmt, **order, **kw}
