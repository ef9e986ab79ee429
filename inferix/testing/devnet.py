"""A throwaway local network for tests and the demo: anvil started and stopped by us, the contracts deployed
with the real deploy command (``ape run scripts/deploy.py``), and anvil's well-known dev accounts.

Never use these accounts anywhere but a local chain: their keys are public.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from inferix.deployments import Deployment, load
from inferix.testing.ipfs import free_port
from inferix.testing.process import Service, ServiceError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]  # the checkout: test tooling runs from one
MNEMONIC = "test test test test test test test test test test test junk"
BIN_DIRS = [str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent), str(ROOT / "node_modules" / ".bin")]


class DevnetError(RuntimeError):
    pass


def tool_path() -> str:
    return os.pathsep.join([*BIN_DIRS, os.environ.get("PATH", "")])


def dev_account(index: int) -> LocalAccount:
    """Anvil's dev account ``index`` (0 is the deployer)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def rpc(url: str, method: str, params: list | None = None):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise DevnetError(f"{method}: {reply['error']}")
    return reply["result"]


class Anvil:
    """An anvil process on 127.0.0.1 with ``accounts`` funded dev accounts."""

    def __init__(self, port: int | None = None, accounts: int = 20, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.accounts = accounts
        self.log_path = log_path
        self.service: Service | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        try:
            rpc(self.url, "eth_chainId")
            return True
        except OSError:
            return False

    def start(self) -> "Anvil":
        binary = shutil.which("anvil", path=tool_path())
        if binary is None:
            raise DevnetError("anvil not found: run `make install` (npm ci installs node_modules/.bin/anvil)")
        self.service = Service("anvil", [binary, "--host", "127.0.0.1", "--port", str(self.port), "--mnemonic",
                                         MNEMONIC, "--accounts", str(self.accounts), "--silent"],
                               log_path=self.log_path)
        try:
            self.service.start(ready=self._answers, timeout=10, poll=0.05)
        except ServiceError as exc:
            raise DevnetError(str(exc)) from None
        return self

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop(grace=10)
        self.service = None

    def time_travel(self, seconds: int) -> None:
        rpc(self.url, "evm_increaseTime", [int(seconds)])
        rpc(self.url, "evm_mine")

    def __enter__(self) -> "Anvil":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def deploy(rpc_url: str, out: Path, timeout: float = 300) -> Deployment:
    """Run the real deploy command against the chain at ``rpc_url``; returns the deployments file it wrote."""
    env = {**os.environ, "PATH": tool_path(), "APE_FOUNDRY_HOST": rpc_url, "INFERIX_DEPLOYMENTS": str(out),
           "NO_UPDATE_NOTIFIER": "1"}
    ape = shutil.which("ape", path=env["PATH"])
    if ape is None:
        raise DevnetError("ape not found: run `make install`")
    result = subprocess.run([ape, "run", "scripts/deploy.py", "--network", "ethereum:local:foundry"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise DevnetError(f"deploy failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    deployment = load(out)
    grant_test_funds(rpc_url, deployment)
    return deployment


TEST_GRANT = 100_000_000 * 10**18  # what dev account 0, the tests' creator and funder, is granted after deployment


def grant_test_funds(rpc_url: str, deployment: Deployment) -> None:
    """Dev account 0 (the deployer, which ends the deployment holding no IFX) receives ``TEST_GRANT`` IFX from the
    community fund, through the timelock as any grant would: the tests fund their actors from it."""
    govern_locally(rpc_url, deployment, [("CommunityFund", "release", (dev_account(0).address, TEST_GRANT))])


def govern_locally(rpc_url: str, deployment: Deployment, calls: list[tuple[str, str, tuple]]) -> None:
    """Send ``(contract, function, args)`` calls as governance, in order, in one timelock batch on a local chain:
    scheduled by the deployer (the local chain's dev proposer), the minimum delay time-travelled past, executed."""
    import time

    from eth_utils import keccak

    from inferix.chain import Chain

    admin = Chain(rpc_url, deployment, dev_account(0))
    targets = [deployment.address(contract) for contract, _, _ in calls]
    payloads = [bytes.fromhex(admin.contract(contract).encode_abi(function, args=list(args))[2:])
                for contract, function, args in calls]
    amounts, predecessor = [0] * len(calls), b"\x00" * 32
    salt = keccak(text=f"govern_locally {time.time_ns()}")
    delay = admin.call("Timelock", "get_minimum_delay")
    admin.transact("Timelock", "schedule_batch", targets, amounts, payloads, predecessor, salt, delay)
    rpc(rpc_url, "evm_increaseTime", [delay + 1])
    rpc(rpc_url, "evm_mine")
    admin.transact("Timelock", "execute_batch", targets, amounts, payloads, predecessor, salt)


class BlockTicker:
    """Mines an empty block whenever ``interval`` seconds pass without one, as a live chain does: anvil mines only
    on transactions, so its clock stops while nobody transacts, and a window that should end in a quiet moment
    (a committee's reveal phase, a challenge window) would never end. Stop it with :meth:`stop`."""

    def __init__(self, rpc_url: str, interval: float = 2.0) -> None:
        import threading

        self.rpc_url, self.interval = rpc_url, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="block-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = None
        while not self._stop.wait(self.interval):
            try:
                number = rpc(self.rpc_url, "eth_blockNumber")
                if number == last:
                    rpc(self.rpc_url, "evm_mine")
                last = number
            except (OSError, DevnetError):
                pass  # anvil stopping or busy: the next tick tries again

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def start_beacon(rpc_url: str, deployment: Deployment):
    """Serve the local deployment's beacon rounds (the publicly known development key, drand's HTTP API shape) on
    127.0.0.1, following the chain's clock (a time-travelled anvil included). Returns ``(server, url)``; stop it
    with ``server.shutdown(); server.server_close()``."""
    import time

    from inferix.beacon import DEV_BEACON_KEY, serve

    seen: dict[int, float] = {}  # block number -> wall time we first saw it

    def clock() -> float:
        """A lower bound of the next block's time: anvil's clock runs with the wall clock from the latest block
        on (time travel included), and we saw that block no earlier than it was mined."""
        block = rpc(rpc_url, "eth_getBlockByNumber", ["latest", False])
        number, stamp = int(block["number"], 16), int(block["timestamp"], 16)
        first_seen = seen.setdefault(number, time.time())
        return stamp + (time.time() - first_seen)

    server = serve(DEV_BEACON_KEY, deployment.parameters["beacon_genesis_time"],
                   deployment.parameters["beacon_period_s"], clock=clock)
    return server, f"http://127.0.0.1:{server.server_address[1]}"
