"""Typed views of on-chain state and the constants the services share (states, units, file layout)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import IntEnum

from inferix.abi import abi
from inferix.chain import Chain

IFX = 10**18
USD = 10**18
IBM = 10**6  # work is counted in micro-IBM
IB_ONE = 10**6
BPS = 10_000  # basis points: 100 %
COLLATERAL_BPS = 20_000  # JobEscrow's initial collateralBps (governance may change it: read it on chain)
SLASH_BPS = 1_000  # JobEscrow's initial slashBps: the share of a task's collateral a failed verdict takes

ROLE_WORKER, ROLE_ORACLE, ROLE_MANAGER = 1, 2, 3
ROLE_NAMES = {ROLE_WORKER: "worker", ROLE_ORACLE: "oracle", ROLE_MANAGER: "manager"}

# the task package the manager pins (its CID is the task's sceneCid) and the result layout
PACKAGE_SCENE = "scene.blend"
PACKAGE_ORDER = "order.json"
PACKAGE_MANIFEST = "manifest.sealed"
PACKAGE_PATCHES = "patches.sealed"  # clean delivery's patches, sealed with the task's seed (inferix.delivery)


def task_ifx(ibm: int, price_per_ibm: int, usd_per_ifx: int) -> int:
    """IFX wei for ``ibm`` micro-IBM at ``price_per_ibm`` USD (18 decimals), rounded down as the escrow rounds a
    task's fee and its reservation."""
    return ibm * price_per_ibm // IBM * 10**18 // usd_per_ifx


def frame_name(frame: int, fmt: str = "png") -> str:
    return f"frame_{frame:04d}.{ 'jpg' if fmt == 'jpeg' else fmt }"


class TaskState(IntEnum):
    NONE = 0
    POSTED = 1
    ASSIGNED = 2
    ACCEPTED = 3
    SUBMITTED = 4
    REVEALED = 5
    VERIFIED = 6
    DISPUTED = 7
    SETTLED = 8
    FAILED = 9
    CANCELLED = 10

    @property
    def label(self) -> str:
        """The state's name as the API and the index write it (``posted``, ``settled``, …)."""
        return self.name.lower()


# the escrow's task states (contracts/JobEscrow.vy), value -> label
TASK_STATE_NAMES = {state.value: state.label for state in TaskState if state is not TaskState.NONE}


@dataclass(frozen=True)
class TaskView:
    task_id: int
    job_id: int
    worker: str
    state: TaskState
    attempts: int
    ibm: int
    reserved: int
    fee: int
    collateral: int
    key_commit: bytes
    manifest_digest: bytes
    result_hash: bytes
    deadline: int
    render_window: int
    render_time: int
    submitted_at: int  # when the result was committed: the committee is drawn from the beacon round after it
    passed: bool
    challenger: str
    escrow_round: int  # the beacon round the attempt's seed is time-locked to (docs/protocol.md, "Seed escrow")
    late: bool  # the manager let the reveal window pass: slashed, no BMW credit for the task

    @property
    def needs_key(self) -> bool:
        """Re-queued and waiting for the manager's fresh secret (``rekey``) before it can be assigned."""
        return self.state == TaskState.POSTED and self.key_commit == b"\x00" * 32


@dataclass(frozen=True)
class JobView:
    job_id: int
    creator: str
    manager: str
    budget: int
    usd_per_ifx: int
    max_price_per_ibm: int
    open_tasks: int
    closed: bool
    benchmark: bool


@dataclass(frozen=True)
class NodeView:
    role: int
    stake: int
    locked: int
    unbonding: int
    unbonding_at: int
    price_per_ibm: int
    ib: int
    staked_at: int  # last change of stake (register, stake, unbond, withdraw): committees ignore later stake


@functools.lru_cache(maxsize=None)
def _field_names(contract: str, function: str) -> tuple[str, ...]:
    """The snake_case names of a view's returned struct members, from the contract's ABI (``pricePerIBM`` ->
    ``price_per_ibm``)."""
    outputs = next(f for f in abi(contract) if f.get("type") == "function" and f.get("name") == function)["outputs"]
    members = outputs[0]["components"] if len(outputs) == 1 and outputs[0].get("components") else outputs
    return tuple(re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", m["name"]).lower() for m in members)


def read_struct(chain: Chain, contract: str, function: str, *args) -> dict:
    """A view returning a struct, as a dict of its members by name (never by position)."""
    return dict(zip(_field_names(contract, function), chain.call(contract, function, *args)))


def get_task(chain: Chain, task_id: int) -> TaskView:
    t = read_struct(chain, "JobEscrow", "tasks", task_id)
    return TaskView(task_id=task_id, **{**t, "state": TaskState(t["state"]), "key_commit": bytes(t["key_commit"]),
                                        "manifest_digest": bytes(t["manifest_digest"]),
                                        "result_hash": bytes(t["result_hash"])})


def get_job(chain: Chain, job_id: int) -> JobView:
    return JobView(job_id=job_id, **read_struct(chain, "JobEscrow", "jobs", job_id))


def get_node(chain: Chain, account: str) -> NodeView:
    return NodeView(**read_struct(chain, "Staking", "nodes", account))


@dataclass(frozen=True)
class Beacon:
    """The deployment's randomness beacon: its public key (EIP-2537 G2) and its round schedule."""

    public_key: bytes
    genesis: int
    period: int

    def round_time(self, round: int) -> int:
        from inferix.beacon import round_time

        return round_time(self.genesis, self.period, round)

    def round_after(self, t: int) -> int:
        """The first round due strictly after time ``t``."""
        from inferix.beacon import round_at

        return round_at(self.genesis, self.period, t) + 1


def get_beacon(chain: Chain) -> Beacon:
    """The deployment's beacon (three reads: a fresh devnet may reuse an address with another genesis)."""
    return Beacon(bytes(chain.call("RandomnessBeacon", "publicKey")), chain.call("RandomnessBeacon", "genesisTime"),
                  chain.call("RandomnessBeacon", "period"))


# how long a posted task may wait for an assignment before its seed escrow is too close to opening (then it is
# re-noised with a fresh seed): also the longest a worker whose manager vanished waits beyond the task's windows
ESCROW_MARGIN_S = 4 * 3600


@dataclass(frozen=True)
class EscrowClock:
    """What placing and checking seed escrows needs (the beacon and the escrow's ``acceptWindow``), read once for
    a batch of tasks or a step over them (:func:`escrow_clock`)."""

    beacon: Beacon
    accept_window: int

    def round_for(self, now: int, render_window: int, margin: int = ESCROW_MARGIN_S) -> int:
        """The beacon round to time-lock a task's seed to when posting it at ``now``: the first round after the last
        render deadline an assignment made within ``margin`` seconds can reach (``acceptWindow + renderWindow``
        later), as ``JobEscrow`` requires."""
        return self.beacon.round_after(now + self.accept_window + render_window + margin)

    def lock(self, seed: bytes, now: int, render_window: int, margin: int = ESCROW_MARGIN_S) -> tuple[int, bytes]:
        """``(round, ciphertext)``: ``seed`` time-locked to :meth:`round_for` under the beacon's key."""
        from inferix.timelock import encrypt

        round_ = self.round_for(now, render_window, margin)
        return round_, encrypt(self.beacon.public_key, round_, seed)

    def holds(self, task: TaskView, now: int) -> bool:
        """Whether an open task can still be assigned at ``now``: its seed escrow opens after every deadline such an
        assignment could reach (otherwise the manager re-noises it with a fresh seed: ``rekey``)."""
        return now + self.accept_window + task.render_window < self.beacon.round_time(task.escrow_round)


def escrow_clock(chain: Chain) -> EscrowClock:
    return EscrowClock(get_beacon(chain), chain.call("JobEscrow", "acceptWindow"))


def latest_time(chain: Chain) -> int:
    """The latest block's timestamp: the chain's now."""
    return chain.w3.eth.get_block("latest")["timestamp"]


def escrow_round(chain: Chain, render_window: int, margin: int = ESCROW_MARGIN_S) -> int:
    """:meth:`EscrowClock.round_for` at the latest block's time."""
    return escrow_clock(chain).round_for(latest_time(chain), render_window, margin)


def seed_escrow(chain: Chain, seed: bytes, render_window: int, margin: int = ESCROW_MARGIN_S) -> tuple[int, bytes]:
    """:meth:`EscrowClock.lock` at the latest block's time."""
    return escrow_clock(chain).lock(seed, latest_time(chain), render_window, margin)


# the node type an oracle's or a manager's license must carry (NodeLicense's bitmask)
LICENSE_TYPE = {2: 2, 3: 4}


class NoLicense(RuntimeError):
    """An oracle or manager owns no node license of its type."""


def find_license(chain: Chain, owner: str, role: int) -> int | None:
    """The first node license ``owner`` holds that allows ``role`` (2 oracle, 3 manager), or None."""
    wanted = LICENSE_TYPE[role]
    for index in range(chain.call("NodeLicense", "balanceOf", owner)):
        token_id = chain.call("NodeLicense", "tokenOfOwnerByIndex", owner, index)
        if chain.call("NodeLicense", "nodeTypes", token_id) & wanted:
            return token_id
    return None


def ensure_staked(chain: Chain, role: int, amount: int, price_per_ibm: int = 0) -> NodeView:
    """Register with ``role`` if needed and top the bonded stake up to ``amount`` IFX wei. An oracle or manager
    registers with a node license of its type that it holds (locked in Staking while it is registered)."""
    node = get_node(chain, chain.address)
    if node.role == 0:
        if role in LICENSE_TYPE:
            token_id = find_license(chain, chain.address, role)
            if token_id is None:
                kind = "verifier" if role == 2 else "manager"
                raise NoLicense(f"{chain.address} holds no {kind} node license: buy one (LicenseSale) or ask "
                                f"governance to issue one")
            chain.transact("NodeLicense", "approve", chain.deployments.address("Staking"), token_id)
            chain.transact("Staking", "register", role, price_per_ibm, token_id)
        else:
            chain.transact("Staking", "register", role, price_per_ibm)
    elif node.role != role:
        raise RuntimeError(f"{chain.address} is registered with role {node.role}, not {role}")
    node = get_node(chain, chain.address)
    missing = amount - (node.stake - node.unbonding)
    if missing > 0:
        staking = chain.deployments.address("Staking")
        if chain.call("IFXToken", "allowance", chain.address, staking) < missing:
            chain.transact("IFXToken", "approve", staking, missing)
        chain.transact("Staking", "stake", missing)
    return get_node(chain, chain.address)


def challenge_verdict(chain: Chain, task_id: int) -> tuple[int, dict | None]:
    """Challenge the task's verdict (``JobEscrow.challenge``), approving the escrow for the bond it takes first if
    needed. Returns ``(bond, receipt)``; the receipt is None (nothing sent) when the balance cannot cover the bond."""
    bond = chain.call("JobEscrow", "bondFor", task_id)
    if chain.call("IFXToken", "balanceOf", chain.address) < bond:
        return bond, None
    escrow = chain.deployments.address("JobEscrow")
    if chain.call("IFXToken", "allowance", chain.address, escrow) < bond:
        chain.transact("IFXToken", "approve", escrow, bond)
    return bond, chain.transact("JobEscrow", "challenge", task_id)
