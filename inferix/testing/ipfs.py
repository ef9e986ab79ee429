"""Start and stop a local js-ipfs daemon (its own repo, 127.0.0.1 ports) for tests, the demo and dev.

Production nodes point ``INFERIX_IPFS_API`` at a Kubo node instead; nothing else changes, since js-ipfs
serves the same HTTP RPC API and produces the same CIDs for the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from inferix.testing.process import Service, ServiceError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]  # the checkout: test tooling runs from one


class IPFSDaemonError(RuntimeError):
    """The local IPFS daemon could not be started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jsipfs_binary() -> str:
    local = ROOT / "node_modules" / ".bin" / "jsipfs"
    if local.exists():
        return str(local)
    found = shutil.which("jsipfs")
    if not found:
        raise IPFSDaemonError("jsipfs not found: run `npm ci` in the repository root")
    return found


class LocalIPFSNode:
    """A js-ipfs daemon with its own repository directory, listening on 127.0.0.1 only."""

    def __init__(self, repo: Path, api_port: int | None = None, startup_timeout: float = 60.0) -> None:
        self.repo = Path(repo)
        self.api_port = api_port or free_port()
        self.startup_timeout = startup_timeout
        self.service: Service | None = None

    @property
    def api_multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.api_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v0"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "IPFS_PATH": str(self.repo), "NO_UPDATE_NOTIFIER": "1"}

    def _init_repo(self) -> None:
        if not (self.repo / "config").exists():
            self.repo.mkdir(parents=True, exist_ok=True)
            subprocess.run([jsipfs_binary(), "init", "--profile", "test"], env=self._env(), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        config["Addresses"]["API"] = self.api_multiaddr
        config["Addresses"]["Gateway"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        config["Addresses"]["RPC"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        config["Addresses"]["Swarm"] = [f"/ip4/127.0.0.1/tcp/{free_port()}"]
        config["Bootstrap"] = []
        config_path.write_text(json.dumps(config, indent=2))
        # a daemon killed hard leaves its lock and api file behind
        for stale in ("api", "repo.lock"):
            path = self.repo / stale
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()

    def alive(self) -> bool:
        try:
            request = urllib.request.Request(f"{self.api_url}/id", method="POST")
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> "LocalIPFSNode":
        self._init_repo()
        self.service = Service("js-ipfs", [jsipfs_binary(), "daemon"], log_path=self.repo / "daemon.log",
                               env=self._env())
        try:
            self.service.start(ready=self.alive, timeout=self.startup_timeout, poll=0.25)
        except ServiceError as exc:
            raise IPFSDaemonError(str(exc)) from None
        log.info("IPFS daemon up at %s (repo %s)", self.api_multiaddr, self.repo)
        return self

    @property
    def process(self):
        return self.service.process if self.service else None

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop(grace=15)
        self.service = None

    def __enter__(self) -> "LocalIPFSNode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
