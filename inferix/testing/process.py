"""The one launcher of the processes the tests, the demo and the benchmarks start (anvil, js-ipfs, node daemons, an
API server): a session of its own, so that a process and its children stop together; output appended to a log file;
started until it answers; stopped with SIGTERM, then SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable


class ServiceError(RuntimeError):
    pass


class Service:
    def __init__(self, name: str, argv: list[str], *, log_path: Path | None = None, env: dict | None = None,
                 cwd: Path | str | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = Path(log_path) if log_path else None
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self, ready: Callable[[], bool] | None = None, timeout: float = 30.0, poll: float = 0.1) -> "Service":
        """Start it; with ``ready``, wait until ``ready()`` is true (an error if it exits or ``timeout`` passes)."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            if log is not subprocess.DEVNULL:
                log.close()  # the child has its own descriptor
        if ready is None:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return self
            if not self.alive():
                raise ServiceError(f"{self.name} exited with {self.process.returncode}: {self.log_tail(800)}")
            time.sleep(poll)
        self.stop()
        raise ServiceError(f"{self.name} did not answer within {timeout:.0f} s: {self.log_tail(800)}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        """SIGTERM to the whole group, without waiting (to stop many in parallel, then :meth:`stop` each)."""
        if self.alive():
            self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the whole group: the harshest stop, no cleanup."""
        if self.alive():
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM to the whole group, SIGKILL after ``grace`` seconds."""
        if self.alive():
            self.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]
