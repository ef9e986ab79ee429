"""Fixtures shared across test packages: real services started by the tests, on 127.0.0.1 only.

anvil with the contracts deployed by the real deploy command, a js-ipfs daemon, a PostgreSQL server, and node
processes started as an operator starts them (``python -m inferix.cli oracle run …``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from inferix.chain import Chain
from inferix.deployments import Deployment
from inferix.beacon import DEV_BEACON_KEY
from inferix.testing.devnet import ROOT, Anvil, deploy, dev_account, rpc, start_beacon, tool_path
from inferix.testing.ipfs import LocalIPFSNode
from inferix.testing.postgres import LocalPostgres, PostgresUnavailable, find_bindir
from inferix.testing.process import Service
from inferix.protocol import IFX, ROLE_MANAGER, ROLE_ORACLE, ROLE_WORKER, ensure_staked
from inferix.storage import IPFSStore


# `make test-fast` sets INFERIX_FAST=1: property-based tests draw fewer examples (make test draws them all)
FAST = os.environ.get("INFERIX_FAST") == "1"

# Tests are laid out by what they need (tests/README.md): tests/unit (nothing started: pure Python, titanoboa's
# in-process EVM), tests/integration (anvil, js-ipfs or Blender), tests/e2e (node processes, the demo). The folder
# is the marker; a unit test that asks for a service is a layout error.
NEEDS_SERVICES = {"devnet", "ipfs_node", "store", "node_factory", "hostile", "corpus", "idx_lifecycle", "postgres",
                  "db_backend", "db_url", "new_db_url"}
KINDS = ("unit", "integration", "e2e")


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts
        kind = parts[1] if len(parts) > 2 and parts[0] == "tests" and parts[1] in KINDS else None
        if kind is None:
            raise pytest.UsageError(f"{item.nodeid}: put tests under tests/unit, tests/integration or tests/e2e")
        if kind == "unit" and NEEDS_SERVICES & set(item.fixturenames):
            raise pytest.UsageError(f"{item.nodeid} needs {sorted(NEEDS_SERVICES & set(item.fixturenames))}: "
                                    "move it to tests/integration")
        item.add_marker(getattr(pytest.mark, kind))
        # `make test` runs two processes (pytest-xdist --dist loadgroup): the end-to-end tests stay together in one,
        # first and in file order, on that process's fresh chain, as one process would run them (they share dev
        # accounts and a chain each test leaves behind); every other file goes whole to whichever process is free
        item.add_marker(pytest.mark.xdist_group("e2e" if kind == "e2e" else "/".join(parts[1:])))


@pytest.fixture(scope="session")
def ipfs_node(tmp_path_factory):
    """A real js-ipfs daemon with its own repo, stopped at the end of the session."""
    node = LocalIPFSNode(tmp_path_factory.mktemp("ipfs") / "repo")
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (127.0.0.1, a free port, a temporary directory), stopped and deleted at the end of the
    session; ``postgres.create_database()`` gives a fresh database's URL. Debian's postgresql is installed the way
    ``make test`` installs it (``make system``) when missing; without it the tests that need it fail, never skip."""
    if find_bindir() is None:
        subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "system"], stdin=subprocess.DEVNULL,
                       check=False, timeout=900)
    server, failure = LocalPostgres(), None
    try:
        server.start()
    except PostgresUnavailable as exc:
        failure = str(exc)
    if failure is not None:
        pytest.fail(f"PostgreSQL is needed by these tests and could not be started: {failure}", pytrace=False)
    yield server
    server.stop()


@dataclass
class Devnet:
    anvil: Anvil
    deployment: Deployment
    deployments_path: Path
    beacon_url: str = ""

    def chain(self, index: int | None = None) -> Chain:
        return Chain(self.anvil.url, self.deployment, dev_account(index) if index is not None else None)


@pytest.fixture(scope="session")
def devnet(tmp_path_factory):
    root = tmp_path_factory.mktemp("devnet")
    anvil = Anvil(log_path=root / "anvil.log").start()
    beacon = None
    try:
        path = root / "deployments.json"
        deployment = deploy(anvil.url, path)
        beacon, beacon_url = start_beacon(anvil.url, deployment)
        yield Devnet(anvil, deployment, path, beacon_url)
    finally:
        if beacon is not None:
            beacon.shutdown()
            beacon.server_close()
        anvil.stop()


class NodeProcess(Service):
    """One node daemon in its own process, logs in ``log_path``; restartable with the same state dir."""

    def __init__(self, kind: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        # the cheating worker and the lying oracle are test tooling (tests/utils/); the others are the real commands
        tooling = {"cheater": ["tests.utils.cheater"], "liar": ["tests.utils.liar"]}
        command = tooling.get(kind, ["inferix.cli", kind, "run"])
        super().__init__(kind, [sys.executable, "-m", *command, *args], log_path=log_path, env=env, cwd=ROOT)
        self.kind = kind

    def log(self) -> str:
        return self.log_tail(10**9)


@pytest.fixture
def node_factory(devnet, ipfs_node, tmp_path):
    started: list[NodeProcess] = []
    keys = tmp_path / "keys"
    keys.mkdir()

    def make(kind: str, index: int, *args: str, env: dict[str, str] | None = None) -> NodeProcess:
        key = keys / f"{index}.key"
        key.write_text(dev_account(index).key.hex())
        key.chmod(0o600)
        env = {**os.environ, "PATH": tool_path(), "PYTHONPATH": str(ROOT),
               "INFERIX_RPC_URL": devnet.anvil.url, "INFERIX_DEPLOYMENTS": str(devnet.deployments_path),
               "INFERIX_IPFS_API": ipfs_node.api_multiaddr, "INFERIX_IPFS_TIMEOUT": "10",
               "INFERIX_DATA_DIR": str(tmp_path / "data"), "INFERIX_BEACON_URL": devnet.beacon_url, **(env or {})}
        node = NodeProcess(kind, ["--account", f"keyfile:{key}", "--poll", "0.5", *args], env,
                           tmp_path / f"{kind}-{index}.log")
        started.append(node)
        return node.start()

    yield make
    for node in started:
        node.stop()


@pytest.fixture
def store(ipfs_node):
    client = IPFSStore(ipfs_node.api_multiaddr, timeout=10)
    yield client
    client.close()


def fund(devnet: Devnet, to: str, amount: int) -> None:
    devnet.chain(0).transact("IFXToken", "transfer", to, amount)


def wait(predicate, timeout: float, what: str, nodes: list[NodeProcess] = ()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for node in nodes:
            if not node.alive():
                raise AssertionError(f"{node.kind} died:\n{node.log()[-3000:]}")
        time.sleep(0.5)
    logs = "\n".join(f"--- {n.kind} ---\n{n.log()[-2500:]}" for n in nodes)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


@pytest.fixture
def reverted(devnet):
    """The shared devnet, reverted after the test (``evm_snapshot``): what a test stakes, posts or pays here never
    reaches another test (its oracles never sit in their committees)."""
    snapshot = rpc(devnet.anvil.url, "evm_snapshot")
    yield devnet
    rpc(devnet.anvil.url, "evm_revert", [snapshot])


def fresh_account(devnet: Devnet, ifx: int = 30_000 * IFX) -> Chain:
    """A new account (never a dev account another test registered), with gas money, ``ifx`` IFX wei and a node
    license of every type (issued by governance, as the timelock)."""
    account = Account.create()
    rpc(devnet.anvil.url, "anvil_setBalance", [account.address, hex(10**20)])
    fund(devnet, account.address, ifx)
    speak_as(devnet, devnet.chain(), devnet.deployment.address("Timelock"), "NodeLicense", "issue", account.address, 7)
    return Chain(devnet.anvil.url, devnet.deployment, account)


def speak_as(devnet: Devnet, chain: Chain, sender: str, contract: str, function: str, *args) -> None:
    """Send ``contract.function(*args)`` from ``sender`` (a contract or governance address: anvil lets the test
    speak for it) and assert it succeeded."""
    rpc(devnet.anvil.url, "anvil_impersonateAccount", [sender])
    rpc(devnet.anvil.url, "anvil_setBalance", [sender, hex(10**20)])
    try:
        tx = getattr(chain.contract(contract).functions, function)(*args).transact({"from": sender})
        assert chain.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    finally:
        rpc(devnet.anvil.url, "anvil_stopImpersonatingAccount", [sender])


def lane_job(devnet: Devnet, boss: Chain, creator: Chain, scene: str, last_frame: int
             ) -> tuple[list[Chain], dict[str, Chain], int]:
    """The actors of a batch: two fresh workers (at $0.50/IBM) and three fresh oracles, staked, and a job of
    ``creator``'s for ``boss`` (frames 1..``last_frame``, a $1/IBM maximum, 500 IFX). Returns (workers, oracles by
    address, job id)."""
    workers = [fresh_account(devnet) for _ in range(2)]
    for w in workers:
        ensure_staked(w, ROLE_WORKER, 20_000 * IFX, 10**18 // 2)
    oracles = {o.address: o for o in (fresh_account(devnet) for _ in range(3))}
    for o in oracles.values():
        ensure_staked(o, ROLE_ORACLE, 1_000 * IFX)
    creator.transact("IFXToken", "approve", creator.deployments.address("JobEscrow"), 500 * IFX)
    creator.transact("JobEscrow", "createJob", boss.address, scene, 1, last_frame, "16x16@4spp png", 10**18, 500 * IFX)
    return workers, oracles, creator.call("JobEscrow", "jobCount")


def draw_batch_committee(devnet: Devnet, batch_id: bytes) -> list[str]:
    """Post the beacon round a revealed batch's draw needs (the dev beacon key signs it, once its time is reached on
    chain), draw the committee and return its members."""
    from inferix import lane

    chain = devnet.chain(0)
    record = lane.get_batch(chain, batch_id)
    round_ = chain.call("RandomnessBeacon", "roundAt", record["revealed_at"]) + 1
    due = chain.call("RandomnessBeacon", "roundTime", round_)
    now = chain.w3.eth.get_block("latest")["timestamp"]
    if due > now:
        devnet.anvil.time_travel(due - now)
    if chain.call("RandomnessBeacon", "randomness", round_) == b"\x00" * 32:
        chain.transact("RandomnessBeacon", "submit", round_, DEV_BEACON_KEY.sign(round_))
    chain.transact("BatchCommittee", "draw", batch_id)
    return lane.committee(chain, batch_id)


def batch_verdict(devnet: Devnet, batch_id: bytes, pass_bits: int, oracles: dict[str, Chain] | None = None,
                  unrevealed: int = 0) -> list[str]:
    """Draw a revealed batch's committee and have every member commit (one member relays the signed commitments)
    and reveal ``pass_bits``: the verdict is final, unless the last ``unrevealed`` members never reveal (then it
    waits for ``finalize`` after the reveal phase). ``oracles`` are the members' chains by address; a member not
    in it is another test's dev-account oracle. Returns the members."""
    import os as _os

    from inferix import lane

    members = draw_batch_committee(devnet, batch_id)
    chains = {m: (oracles or {}).get(m) or devnet.chain(dev_index(devnet, m)) for m in members}
    salts = [_os.urandom(32) for _ in members]
    signed = [lane.commitment(chains[m], batch_id, pass_bits, salt) for m, salt in zip(members, salts)]
    relay = chains[members[0]]
    seats = list(range(len(members)))
    relay.transact("BatchCommittee", "commitVotes", batch_id, seats, [c for c, _ in signed], [s for _, s in signed])
    shown = seats[:len(seats) - unrevealed]
    relay.transact("BatchCommittee", "revealVotes", batch_id, shown, [pass_bits] * len(shown), salts[:len(shown)])
    return members


def manager(devnet: Devnet, index: int = 1) -> Chain:
    chain = devnet.chain(index)
    if chain.call("Staking", "nodes", chain.address)[0] == 0:
        fund(devnet, chain.address, 5_000 * IFX)
        ensure_staked(chain, ROLE_MANAGER, 1_000 * IFX)
    return chain


from tests.integration.render.fixtures import hostile  # noqa: E402,F401 - the hostile scenes, one build per session


def post_beacon_round(devnet, task_id: int) -> int:
    """Post the beacon round that draws the task's committee (the dev beacon key signs it), once its time is
    reached on chain; returns the round."""
    chain = devnet.chain(0)
    round_ = chain.call("ProofOfRender", "drawRound", task_id)
    if chain.call("RandomnessBeacon", "randomness", round_) == b"\x00" * 32:
        due = chain.call("RandomnessBeacon", "roundTime", round_)
        now = chain.w3.eth.get_block("latest")["timestamp"]
        if due > now:
            devnet.anvil.time_travel(due - now)
        chain.transact("RandomnessBeacon", "submit", round_, DEV_BEACON_KEY.sign(round_))
    return round_


_DEV_INDEX: dict[str, int] = {}


def dev_index(devnet, address: str) -> int:
    """The dev account index of ``address`` (a committee member: every oracle of the test session is one)."""
    if not _DEV_INDEX:
        _DEV_INDEX.update({dev_account(i).address: i for i in range(devnet.anvil.accounts)})
    if address not in _DEV_INDEX:
        raise LookupError(f"committee member {address} is not a dev account: its vote cannot be cast")
    return _DEV_INDEX[address]
