"""The sandbox every Blender run goes through (this module does not import bpy).

A creator's scene is hostile input. Blender runs it in a child process wrapped in bubblewrap (``bwrap``, the
sandbox Flatpak uses): new user, PID, IPC, UTS, cgroup and network namespaces (no network at all, not even the
host's loopback), a read-only system (``/usr`` and the Python runtime), the job's inputs read-only, its output
directories writable, a private ``/tmp``, and nothing else of the node: no home, no ``.inferix/``, no keys,
databases or sealed seeds. Resource limits (CPU seconds, address space, file size, process count) are set on the
child before it starts; the wall-clock timeout is enforced by :mod:`inferix.render.runner`.

Where bubblewrap cannot run (not installed, or user namespaces disabled, as on many container GPU hosts), the
node refuses to render untrusted scenes and says why, unless its operator passed ``--unsandboxed``
(``INFERIX_UNSANDBOXED=1``), which is logged loudly on every run. See docs/security.md.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import logging
import os
import resource
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("inferix.render")

CODE_PACKAGES = ("inferix", "oracle")  # what the child imports; the rest of a checkout stays invisible


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # located, not imported
    return Path(spec.origin).resolve().parent if spec is not None and spec.origin else None


CODE_DIRS = [d for d in map(_package_dir, CODE_PACKAGES) if d is not None]
PYTHONPATH = os.pathsep.join(sorted({str(d.parent) for d in CODE_DIRS}))
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "localtime", "nsswitch.conf",
       "passwd", "group")
GPU_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri", "/dev/kfd")
GIB = 1024**3


class SandboxUnavailable(RuntimeError):
    """No usable sandbox on this node, and the operator did not allow unsandboxed runs."""


@dataclass(frozen=True)
class Limits:
    """Per-run limits. A run that breaks one fails with :class:`~inferix.render.runner.RenderLimitError` naming it."""

    wall_seconds: float = 1800.0
    cpu_seconds: int = 4 * 3600  # CPU time of the whole run, all threads together
    address_space: int = 32 * GIB  # virtual memory of each process (Blender reserves much more than it touches);
    # not applied to GPU runs: CUDA, OptiX and HIP reserve virtual address space beyond any such limit
    file_size: int = 4 * GIB  # largest file the run may write
    processes: int = 512  # processes and threads (Cycles starts one per core)

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, overridden by ``INFERIX_RENDER_{WALL_SECONDS,CPU_SECONDS,ADDRESS_SPACE,FILE_SIZE,PROCESSES}``."""
        kw = {}
        for name, cast in (("wall_seconds", float), ("cpu_seconds", int), ("address_space", int),
                           ("file_size", int), ("processes", int)):
            value = os.environ.get(f"INFERIX_RENDER_{name.upper()}")
            if value:
                kw[name] = cast(value)
        return cls(**kw)


def unsandboxed_allowed() -> bool:
    return os.environ.get("INFERIX_UNSANDBOXED", "").lower() in ("1", "true", "yes")


def allow_unsandboxed(reason: str = "--unsandboxed") -> None:
    """The operator's explicit choice (``--unsandboxed``): Blender runs with the node's full rights."""
    os.environ["INFERIX_UNSANDBOXED"] = "1"
    log.warning("!!! %s: scenes will be opened and rendered WITHOUT a sandbox, with this node's full rights. "
                "A hostile scene can read and overwrite this node's files. Use only for scenes you trust. !!!",
                reason)


@functools.lru_cache(maxsize=1)
def probe() -> str | None:
    """``None`` when bubblewrap works here, else why not (cached for the process)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        proc = subprocess.run([bwrap, *_system_binds(), "--unshare-all", "--die-with-parent", "--proc", "/proc",
                               "--dev", "/dev", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if proc.returncode != 0:
        return (f"bubblewrap cannot create namespaces here ({proc.stderr.strip()[:200]}); enable unprivileged user "
                "namespaces (sysctl kernel.unprivileged_userns_clone=1) or run the node where they are available")
    return None


def describe() -> str:
    """One line for the node's status and logs."""
    why = probe()
    if why is None:
        return "bubblewrap (no network, read-only system, job directories only)"
    return f"NONE ({why}; --unsandboxed)" if unsandboxed_allowed() else f"unavailable: {why}"


def _system_binds() -> list[str]:
    args: list[str] = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _code_binds() -> list[str]:
    """The Python runtime (venv and its base interpreter) and the packages the child imports, read-only."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    paths |= {str(d) for d in CODE_DIRS}
    args: list[str] = []
    for p in sorted(paths, key=len):
        if os.path.exists(p) and not p.startswith("/usr/"):
            args += ["--ro-bind", p, p]
    return args


def _gpu_binds() -> list[str]:
    args: list[str] = []
    for pattern in GPU_DEVICES:
        for dev in sorted(glob.glob(pattern)):
            args += ["--dev-bind", dev, dev]
    if args:  # the drivers enumerate devices through sysfs (read-only)
        args += ["--ro-bind", "/sys", "/sys"]
    return args


def command(argv: list[str], *, inputs: list[str], outputs: list[str], env: dict[str, str],
            gpu: bool = False) -> list[str]:
    """``argv`` wrapped in bubblewrap: inputs read-only, outputs writable, at the same paths as outside."""
    # the private /tmp first: the binds below may lie under the host's /tmp (a checkout, a job's directories)
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--tmpfs", "/tmp", "--dir", "/tmp/home",
            *_system_binds(), *_code_binds(), "--proc", "/proc", "--dev", "/dev"]
    if gpu:
        args += _gpu_binds()
    binds = [(os.path.abspath(p), "--ro-bind") for p in inputs] + [(os.path.abspath(p), "--bind") for p in outputs]
    for path, flag in sorted(set(binds), key=lambda b: (len(b[0]), b[1] == "--bind")):
        args += [flag, path, path]
    args += ["--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args + ["--chdir", "/tmp", "--", *argv]


class PidsCgroup:
    """A cgroup (v1 ``pids`` controller) capping the processes and threads of one run.

    ``RLIMIT_NPROC`` is also set, but the kernel does not enforce it for root; where this node may create
    cgroups the cap holds for root too. Without either, the PID namespace and the wall-clock timeout bound a
    fork bomb's damage.
    """

    BASE = Path("/sys/fs/cgroup/pids")

    def __init__(self, limit: int) -> None:
        self.path: Path | None = None
        if os.geteuid() != 0 or not os.access(self.BASE, os.W_OK):
            return
        path = self.BASE / f"inferix-render-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(limit))
            self.path = path
        except OSError:
            if path.exists():
                path.rmdir()

    def enter(self) -> None:
        """In the child, before exec."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def hit(self) -> bool:
        if self.path is None:
            return False
        try:
            events = (self.path / "pids.events").read_text()
        except OSError:
            return False
        return any(line.split()[-1] != "0" for line in events.splitlines() if line.startswith("max"))

    def close(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass


def set_limits(limits: Limits, per_user_processes: bool = True) -> None:
    """In the child, before exec: the rlimits every process of the run inherits. ``RLIMIT_NPROC`` counts every
    process of the node's user, so it is set only where no cgroup caps the run (run nodes as a dedicated user)."""
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    if limits.address_space:
        resource.setrlimit(resource.RLIMIT_AS, (limits.address_space, limits.address_space))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    if per_user_processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
