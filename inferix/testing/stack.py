"""The whole network on this machine, each part in its own process as an operator runs it: anvil, js-ipfs, the
contracts deployed by the real deploy command, the local randomness beacon, and the node daemons started with their
own commands (the manager: API + coordination + indexer, ``inferix manager run``; ``inferix oracle run``;
``inferix worker run``). ``make demo`` (scripts/demo.py) and the pipeline benchmark (benchmarks/pipeline.py) drive
it; :meth:`Stack.stop_all` stops every process it started.

Each daemon is a :class:`inferix.testing.process.Service` whose state (SQLite, keys, work directories) lives under
``out``, so :meth:`Stack.restart` (after a ``kill -9``, say) starts the same command on the same state. Local chains
only: the accounts are anvil's publicly known dev keys.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from inferix.chain import Chain
from inferix.deployments import Deployment
from inferix.testing.devnet import ROOT, Anvil, BlockTicker, deploy, dev_account, govern_locally, start_beacon, tool_path
from inferix.testing.ipfs import LocalIPFSNode, free_port
from inferix.testing.process import Service


class StackFailure(RuntimeError):
    """A process of the stack died, or something it was waited for did not happen in time."""


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 (an HTTP API up)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@dataclass
class Stack:
    out: Path
    processes: dict[str, Service] = field(default_factory=dict)
    anvil: Anvil | None = None
    ipfs: LocalIPFSNode | None = None
    deployment: Deployment | None = None
    beacon: Any = None  # the local beacon's HTTP server
    beacon_url: str = ""
    api_url: str = ""  # the manager's API, once started
    ticker: Any = None
    extra_env: dict[str, str] = field(default_factory=dict)  # added to every daemon's environment

    # ------------------------------------------------------------ chain, IPFS, contracts, beacon
    def start(self) -> Deployment:
        """anvil, js-ipfs, the contracts (``ape run scripts/deploy.py``) and the local beacon, in that order."""
        (self.out / "logs").mkdir(parents=True, exist_ok=True)
        self.anvil = Anvil(log_path=self.out / "logs" / "anvil.log").start()
        self.ipfs = LocalIPFSNode(self.out / "ipfs").start()
        self.deployment = deploy(self.anvil.url, self.out / "deployments.json")
        self.beacon, self.beacon_url = start_beacon(self.anvil.url, self.deployment)
        self.ticker = BlockTicker(self.anvil.url)  # the chain's clock moves while nobody transacts
        return self.deployment

    def chain(self, index: int | None = None) -> Chain:
        """The deployment seen by dev account ``index`` (read-only without one)."""
        return Chain(self.anvil.url, self.deployment, dev_account(index) if index is not None else None)

    def fund(self, amounts: dict[int, int]) -> None:
        """IFX wei from the deployer (the genesis holder) to each dev account index."""
        admin = self.chain(0)
        for index, amount in amounts.items():
            admin.transact("IFXToken", "transfer", dev_account(index).address, amount)

    def govern(self, calls: list[tuple[str, str, tuple]]) -> None:
        """Send ``(contract, function, args)`` calls as governance, in order, in one timelock batch
        (:func:`inferix.testing.devnet.govern_locally`)."""
        govern_locally(self.anvil.url, self.deployment, calls)

    # ------------------------------------------------------------ daemons
    def env(self) -> dict[str, str]:
        """What every daemon is configured with (``INFERIX_*``, as an operator sets them)."""
        return {**os.environ, "PATH": tool_path(), "PYTHONPATH": str(ROOT), "NO_UPDATE_NOTIFIER": "1",
                "INFERIX_RPC_URL": self.anvil.url, "INFERIX_DEPLOYMENTS": str(self.out / "deployments.json"),
                "INFERIX_IPFS_API": self.ipfs.api_multiaddr, "INFERIX_DATA_DIR": str(self.out / "nodes"),
                "INFERIX_IPFS_TIMEOUT": "20", "INFERIX_BEACON_URL": self.beacon_url, **self.extra_env}

    def keyfile(self, index: int) -> str:
        """An account spec (``keyfile:PATH``, mode 0600) for dev account ``index``."""
        path = self.out / "keys" / f"{index}.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dev_account(index).key.hex())
        path.chmod(0o600)
        return f"keyfile:{path}"

    def spawn(self, name: str, args: list[str], env: dict | None = None, module: str = "inferix.cli") -> Service:
        """Start ``python -m module *args`` as the daemon ``name`` (log: ``out/logs/<name>.log``)."""
        service = Service(name, [sys.executable, "-m", module, *args], log_path=self.out / "logs" / f"{name}.log",
                          env=env or self.env(), cwd=ROOT)
        self.processes[name] = service.start()
        return service

    def start_manager(self, index: int, *, render_window: int = 1800, poll: float = 0.5, env: dict | None = None,
                      name: str = "manager", args: tuple[str, ...] = ()) -> str:
        """``inferix manager run`` for dev account ``index`` on a free port, its state under ``out/manager``;
        ``env`` adds to its settings, ``args`` to its options (``--single-tasks``, ``--batch-tasks N``, ...). Returns
        the API's URL (not waited for: :meth:`wait_api`); workers started after it follow its offers."""
        port = free_port()
        manager_env = {**self.env(), "INFERIX_DATABASE": str(self.out / "manager" / "backend.sqlite"),
                       "INFERIX_WORK_DIR": str(self.out / "manager" / "work"),
                       "INFERIX_SEED_KEY_FILE": str(self.out / "manager" / "seed.key"),
                       "INFERIX_SIWE_DOMAIN": f"127.0.0.1:{port}", "INFERIX_SIWE_URI": f"http://127.0.0.1:{port}",
                       **(env or {})}
        self.spawn(name, ["manager", "run", "--account", self.keyfile(index), "--port", str(port),
                          "--render-window", str(render_window), "--poll", str(poll), *args], manager_env)
        self.api_url = f"http://127.0.0.1:{port}"
        return self.api_url

    def wait_api(self, timeout: float = 120) -> None:
        self.wait(lambda: answers(f"{self.api_url}/docs"), timeout, "the manager API")

    def start_oracle(self, index: int, poll: float = 0.5, name: str | None = None) -> Service:
        return self.spawn(name or f"oracle-{index}", ["oracle", "run", "--account", self.keyfile(index),
                                                      "--poll", str(poll)])

    def start_worker(self, index: int, *, price: str = "0.5", stake: str = "10000", poll: float = 0.5,
                     name: str | None = None, module: str = "inferix.cli") -> Service:
        """``inferix worker run`` (or another module taking the same options, e.g. test tooling's cheater)."""
        args = ["--account", self.keyfile(index), "--price", price, "--stake", stake, "--poll", str(poll)]
        if self.api_url:  # the batch groups this stack's manager offers
            args += ["--manager", self.api_url]
        return self.spawn(name or f"worker-{index}", ["worker", "run", *args] if module == "inferix.cli" else args,
                          module=module)

    def restart(self, name: str) -> Service:
        """Start daemon ``name`` again with the same command, settings and state (after it was killed)."""
        service = self.processes[name]
        if service.alive():
            raise StackFailure(f"{name} is still running")
        return service.start()

    def restart_ipfs(self) -> None:
        """Start the IPFS daemon again on the same repository and API port (after it was killed)."""
        self.ipfs.start()

    # ------------------------------------------------------------ waiting, stopping
    def check_alive(self, skip: set[str] = frozenset()) -> None:
        for name, service in self.processes.items():
            if name not in skip and not service.alive():
                raise StackFailure(f"{name} exited with {service.returncode}:\n{service.log_tail()}")

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str, poll: float = 1.0,
             check: Callable[[], None] | None = None):
        """``predicate()``'s first true value, checking every ``poll`` s that the daemons are alive (or ``check``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            (check or self.check_alive)()
            time.sleep(poll)
        raise StackFailure(f"timed out after {timeout:.0f} s waiting for {what}")

    def stop_all(self) -> None:
        for service in self.processes.values():  # SIGTERM to all first: they stop in parallel
            service.terminate()
        for service in self.processes.values():
            service.stop()
        if self.ipfs:
            self.ipfs.stop()
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None
        if self.beacon is not None:
            self.beacon.shutdown()
            self.beacon.server_close()
            self.beacon = None
        if self.anvil:
            self.anvil.stop()
