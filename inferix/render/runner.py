"""The one runner that starts Blender (this module does not import bpy).

:func:`run_jobs` writes a list of jobs, starts ``python -m inferix.render.child`` with the same interpreter in the
sandbox (:mod:`inferix.render.sandbox`), and returns each job's result. bpy holds global state and a hostile scene
can take the process down, so nothing else in the project imports bpy in a long-lived process.

Every path a job names is bound into the sandbox at the same path: the files it reads read-only (``blend``,
``scene``, ``previews``, ``inputs``), the directories it writes to writable (the parents of ``out``, ``out_blend``,
``manifest``, ``path``, ``also``; ``out_dir`` and ``workdir`` themselves; ``outputs``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from inferix.render import sandbox
from inferix.render.sandbox import Limits, SandboxUnavailable
from inferix import timing
from inferix.timing import timed

log = logging.getLogger("inferix.render")

INPUT_FILES = ("blend", "scene")
OUTPUT_FILES = ("out", "out_blend", "manifest", "path", "patches")
OUTPUT_DIRS = ("out_dir", "workdir")
RUSAGE_FILE = "rusage.json"  # the child's CPU seconds, beside its results


class BlenderJobError(RuntimeError):
    """A job failed in Blender (the child's error), or Blender crashed."""


class SceneRefused(BlenderJobError, ValueError):
    """The scene breaks a rule of scene hygiene (an external file, a glTF URI): the message names what."""


class RenderLimitError(BlenderJobError):
    """The run broke a resource limit; ``limit`` names it (``wall-clock``, ``CPU time``, ``address space``,
    ``file size``, ``processes``)."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(f"{limit} limit: {message}")
        self.limit = limit


def _bind_paths(jobs: list[dict], inputs: Iterable[str], outputs: Iterable[str]) -> tuple[list[str], list[str]]:
    ro, rw = [str(p) for p in inputs], [str(p) for p in outputs]
    for job in jobs:
        ro += [str(job[k]) for k in INPUT_FILES if job.get(k)]
        ro += [str(p) for p in (job.get("previews") or {}).values()]
        rw += [str(Path(job[k]).parent) for k in OUTPUT_FILES if job.get(k)]
        rw += [str(Path(p).parent) for p in (job.get("also") or {}).values()]
        rw += [str(job[k]) for k in OUTPUT_DIRS if job.get(k)]
    ro, rw = list(dict.fromkeys(ro)), list(dict.fromkeys(rw))  # many jobs share directories: bind and scan once
    for d in rw:
        Path(d).mkdir(parents=True, exist_ok=True)
    # an input an earlier job of the list writes lies in a writable directory: no bind of its own
    later = [p for p in ro if not os.path.exists(p)]
    missing = [p for p in later if not any(Path(d) in Path(p).parents for d in rw)]
    if missing:
        raise BlenderJobError(f"input not found: {missing[0]}")
    return [p for p in ro if p not in later], rw


MEMORY_SIGNS = ("MemoryError", "failed to map segment", "Cannot allocate memory", "bad_alloc",
                "Memory allocation failed", "out of memory")


def _limit_of(rc: int, stderr: str, limits: Limits, cgroup: sandbox.PidsCgroup, written: list[str],
              failed: bool) -> RenderLimitError | None:
    """The limit a run broke, from its exit status, its errors and what it wrote. A run that succeeded can only
    have broken the file-size limit (Blender ignores the write error and leaves a truncated file)."""
    big = [p for p in written if os.path.getsize(p) >= limits.file_size]
    too_big = RenderLimitError("file size", f"the render tried to write a file larger than {limits.file_size:,} "
                                            f"bytes{f' ({big[0]})' if big else ''}")
    if not failed:
        return too_big if big else None
    sig = -rc if rc < 0 else rc - 128 if rc > 128 else 0
    if sig == signal.SIGXCPU or sig == signal.SIGKILL and "CPU time limit" in stderr:
        return RenderLimitError("CPU time", f"the render used more than its {limits.cpu_seconds} CPU seconds")
    if cgroup.hit() or "Resource temporarily unavailable" in stderr or "can't start new thread" in stderr:
        return RenderLimitError("processes", f"the render tried to run more than {limits.processes} processes "
                                             "or threads")
    if sig == signal.SIGXFSZ or "File too large" in stderr or big:
        return too_big
    if any(sign in stderr for sign in MEMORY_SIGNS):
        return RenderLimitError("address space", f"the render needed more than {limits.address_space / 2**30:.3g} "
                                                 "GiB of address space")
    if sig == signal.SIGKILL:
        return RenderLimitError("memory", "Blender was killed by the system (out of memory?)")
    return None


def _written(dirs: list[str], since: float) -> list[str]:
    """Files in ``dirs`` modified since ``since`` (what the run wrote)."""
    out = []
    for d in dirs:
        for base, _, names in os.walk(d):
            for n in names:
                path = os.path.join(base, n)
                try:
                    if os.stat(path).st_mtime >= since:
                        out.append(path)
                except OSError:
                    pass
    return out


def run_jobs(jobs: list[dict[str, Any]], *, limits: Limits | None = None, timeout: float | None = None,
             inputs: Iterable[str | Path] = (), outputs: Iterable[str | Path] = (), device: str = "CPU",
             on_line: Callable[[str], None] | None = None, keep_going: bool = False) -> list[dict[str, Any]]:
    """Run ``jobs`` in one sandboxed Blender process and return their results, in order.

    ``timeout`` (seconds) overrides ``limits.wall_seconds``. ``device`` other than ``CPU`` passes the GPU device
    nodes into the sandbox. ``on_line`` gets each line the child prints on stdout (progress).
    Raises :class:`RenderLimitError` (a limit, named), :class:`SceneRefused` (scene hygiene),
    :class:`BlenderJobError` (anything else) or :class:`SandboxUnavailable`. With ``keep_going``, a job that failed
    on its own (not a limit, a crash or a refused scene) does not raise: its result is ``{"ok": False, "error"}``
    and the others' results come back.
    """
    kind = "blender " + "+".join(dict.fromkeys(str(job.get("op")) for job in jobs))
    with timed(kind):
        return _run_jobs(jobs, limits, timeout, inputs, outputs, device, on_line, kind, keep_going)


def _run_jobs(jobs: list[dict[str, Any]], limits: Limits | None, timeout: float | None, inputs: Iterable[str | Path],
              outputs: Iterable[str | Path], device: str, on_line: Callable[[str], None] | None,
              kind: str, keep_going: bool = False) -> list[dict[str, Any]]:
    limits = limits or Limits.from_env()
    if timeout is not None:
        limits = dataclasses.replace(limits, wall_seconds=timeout)
    if limits.wall_seconds <= 0:
        raise RenderLimitError("wall-clock", "no time left to render (the deadline has passed)")
    gpu = device.upper() != "CPU"
    if gpu:  # GPU drivers reserve more virtual memory than any address-space limit allows
        limits = dataclasses.replace(limits, address_space=0)
    ro, rw = _bind_paths(jobs, inputs, outputs)
    why = sandbox.probe()
    if why is not None and not sandbox.unsandboxed_allowed():
        raise SandboxUnavailable(f"refusing to open an untrusted scene without a sandbox: {why}. Install "
                                 "bubblewrap, or pass --unsandboxed to run scenes with this node's full rights")
    with tempfile.TemporaryDirectory(prefix="inferix-render-") as ctl:
        Path(ctl, "jobs.json").write_text(json.dumps(jobs))
        argv = [sys.executable, "-m", "inferix.render.child", os.path.join(ctl, "jobs.json"),
                os.path.join(ctl, "results.json")]
        env = {"PYTHONPATH": sandbox.PYTHONPATH, "HOME": "/tmp/home", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "INFERIX_RENDER_DEVICE": device}
        if why is None:
            argv = sandbox.command(argv, inputs=ro, outputs=[*rw, ctl], env=env, gpu=gpu)
        else:
            log.warning("UNSANDBOXED Blender run (--unsandboxed): the scene runs with this node's full rights")
            env = {**os.environ, **env}
        cgroup = sandbox.PidsCgroup(limits.processes)

        def preexec() -> None:
            cgroup.enter()
            sandbox.set_limits(limits, per_user_processes=cgroup.path is None)

        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                                    env=env, cwd=ctl, preexec_fn=preexec, start_new_session=True)
            stderr: list[str] = []
            reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
            reader.start()
            timed_out = threading.Event()

            def stop() -> None:
                timed_out.set()
                _kill(proc)

            timer = threading.Timer(limits.wall_seconds, stop)
            timer.start()
            started = time.time() - 1
            try:
                for line in proc.stdout:
                    if on_line is not None:
                        on_line(line.rstrip("\n"))
                rc = proc.wait()
            finally:
                timer.cancel()
                _kill(proc)
            reader.join(timeout=10)
            err = "".join(stderr)
            if timed_out.is_set():
                raise RenderLimitError("wall-clock", f"the render ran longer than its {limits.wall_seconds:.0f} s "
                                                     "wall-clock limit and was stopped")
            rpath = Path(ctl, "results.json")
            results = json.loads(rpath.read_text()) if rpath.exists() else None
            _count_cpu(Path(ctl, RUSAGE_FILE), kind)
            failed = rc != 0 or results is None or not all(r.get("ok") for r in results)
            limit = _limit_of(rc, err + json.dumps(results or []), limits, cgroup, _written(rw, started), failed)
        finally:
            cgroup.close()
    if limit is not None:
        raise limit
    if results is None:
        raise BlenderJobError(f"Blender crashed (rc={rc}): {err.strip()[-1500:]}")
    for r in results:
        if r.get("refused"):
            raise SceneRefused(r.get("error"))
        if not r.get("ok") and not keep_going:
            raise BlenderJobError(r.get("trace") or r.get("error"))
    return results


def _count_cpu(path: Path, kind: str) -> None:
    """The child's CPU seconds (it writes them last: the sandbox's PID namespace hides them from this process's
    children accounting), counted under ``cpu: <kind>`` (:mod:`inferix.timing`)."""
    try:
        timing.count(f"cpu: {kind}", float(json.loads(path.read_text())["cpu_seconds"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def render_job(blend: str | Path, out: str | Path, order: dict[str, Any], frame: int = 1, fmt: str = "png",
               **kw: Any) -> dict:
    """A ``render`` job dict for :func:`run_jobs`; ``order`` has width, height, samples, denoise, seed."""
    return {"op": "render", "blend": str(blend), "out": str(out), "frame": frame, "fmt": fmt, **order, **kw}


# ---------------------------------------------------------------- typed entry points

def scene_info(scene: str | Path, *, limits: Limits | None = None, timeout: float | None = None) -> dict:
    """A scene's metadata after the hygiene checks (:class:`SceneRefused` names what breaks them)."""
    return run_jobs([{"op": "scene_info", "scene": str(scene)}], limits=limits, timeout=timeout)[0]


def time_frames(scene: str | Path, frames: list[int], width: int, height: int, samples: int, *,
                limits: Limits | None = None, timeout: float | None = None) -> list[float]:
    """Seconds each frame takes to render at these settings (scene loading excluded): the quote's reference
    render and the benchmark's ``W_t``."""
    with tempfile.TemporaryDirectory(prefix="reference-") as out:
        (result,) = run_jobs([{"op": "time_frames", "scene": str(scene), "frames": list(frames), "width": width,
                               "height": height, "samples": samples, "out_dir": out}], limits=limits,
                             timeout=timeout)
    return result["seconds"]


def render_frames(blend: str | Path, out_dir: str | Path, first: int, last: int, order: dict, *,
                  device: str = "CPU", timeout: float | None = None, limits: Limits | None = None,
                  on_progress: Callable[[str, str, str], None] | None = None) -> dict:
    """A task's frames ``first..last`` of ``blend`` into ``out_dir`` on ``device``; ``on_progress(done, frame,
    seconds)`` after each frame."""
    def line(text: str) -> None:
        if on_progress is not None and text.startswith("progress "):
            on_progress(*text.split()[1:4])

    return run_jobs([_frames_job(blend, out_dir, first, last, order)], device=device, timeout=timeout, limits=limits,
                    on_line=line)[0]


def _frames_job(blend: str | Path, out_dir: str | Path, first: int, last: int, order: dict) -> dict:
    return {"op": "render_frames", "blend": str(blend), "out_dir": str(out_dir), "frames": [first, last],
            "order": order, "format": order.get("format", "png")}


def render_many(tasks: list[tuple[str | Path, str | Path, int, int, dict]], *, device: str = "CPU",
                timeout: float | None = None, limits: Limits | None = None,
                on_progress: Callable[[str, str, str], None] | None = None) -> list[str | None]:
    """Several tasks ``(blend, out_dir, first, last, order)`` in one Blender process (its start-up paid once): for
    each, None when its frames are rendered or the error of its own failure. A limit, a crash or a refused scene
    raises for all (as :func:`render_frames`)."""
    def line(text: str) -> None:
        if on_progress is not None and text.startswith("progress "):
            on_progress(*text.split()[1:4])

    results = run_jobs([_frames_job(*task) for task in tasks], device=device, timeout=timeout, limits=limits,
                       on_line=line, keep_going=True)
    return [None if r.get("ok") else (r.get("error") or "render failed") for r in results]


def find_devices(timeout: float = 120.0) -> dict[str, list[str]]:
    """The GPU devices Cycles finds on this machine (type -> names), enumerated in the sandbox with the GPU
    device nodes passed through."""
    return run_jobs([{"op": "devices"}], device="GPU", timeout=timeout)[0]["devices"]
