"""A pure-Python reference model of the price feed, escrow, staking, proof-of-render, issuance and batch-lane
contracts (BatchLane, BatchCommittee), and of voting power (VotePower, vesting escrows, the Governor's ballots).

The stateful tests drive the contracts and this model side by side. Each model method mirrors one
contract entry point: it returns the revert reason the contract must give in the current state, or
``None`` after applying the call's effects, so that every expected revert is checked by its reason and
every success is checked against independently computed balances, pools and mints.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from boa.contracts.base_evm_contract import BoaError
from eth_abi import encode as abi_encode
from eth_utils import keccak

from inferix.protocol import BPS, ROLE_MANAGER, ROLE_ORACLE, ROLE_WORKER, TaskState

# how far past the last render deadline an assignment made at posting could reach the tests time-lock each seed
from .conftest import ESCROW_MARGIN

# task states (JobEscrow)
POSTED, ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, VERIFIED, DISPUTED, SETTLED, FAILED, CANCELLED = tuple(TaskState)[1:]
LIVE_STATES = frozenset(range(POSTED, SETTLED))  # their reservation is still held by the escrow

IBM_ONE = 10**6
IB_ONE = 10**6
MIN_IB, MAX_IB = IB_ONE // 100, 1000 * IB_ONE
WAD = 10**18
MAX_SUPPLY = 10**9 * WAD

# contract constants and defaults the model relies on (the tests change the others through governance,
# and the model follows: see the fields of ``Model``)
MAX_ATTEMPTS = 3
ACCEPT_WINDOW = 900
REVEAL_WINDOW = 3_600
VERIFY_WINDOW = 6 * 3_600
CHALLENGE_WINDOW = 3_600
DISPUTE_WINDOW = 3 * 86_400
UNBONDING_PERIOD = 7 * 86_400
STAKE_MULTIPLIER = 2
EPOCH_MINUTES = 4_320
PRICE_MAX_AGE = 86_400
TWAP_MAX_ROUNDS = 32
WORKER_MINT_BPS, ORACLE_MINT_BPS, MANAGER_MINT_BPS, TREASURY_MINT_BPS = 7_500, 1_500, 250, 750
VESTING_VOTE_BPS = 5_000  # VotePower: a vesting escrow's locked IFX votes at half weight
# Governor: support values
VOTE_AGAINST, VOTE_FOR, VOTE_ABSTAIN = 0, 1, 2


def revert_reason(error: BoaError) -> str:
    """The reason string of the innermost failing frame (the contract that actually reverted)."""
    frame = error.stack_trace.last_frame
    if isinstance(frame, str):
        return frame
    return str(frame.pretty_vm_reason)


@contextmanager
def expect(reason: str | None) -> Iterator[None]:
    """Run a call that must succeed (``reason is None``) or revert with exactly ``reason``.

    A revert with any other reason, or a success where a revert was predicted, fails the test.
    """
    if reason is None:
        yield
        return
    try:
        yield
    except BoaError as error:
        actual = revert_reason(error)
        assert actual == reason, f"expected revert {reason!r}, got {actual!r}"
    else:
        raise AssertionError(f"expected revert {reason!r}, but the call succeeded")


@dataclass
class JobM:
    creator: str
    manager: str
    budget: int
    rate: int  # USD per IFX (18 decimals), locked at creation (the feed's TWAP then)
    max_price: int  # USD per IBM (18 decimals)
    benchmark: bool = False
    closed: bool = False
    open_tasks: int = 0


@dataclass
class TaskM:
    job_id: int
    ibm: int  # micro-IBM
    reserved: int
    render_window: int
    state: int = POSTED
    keyed: bool = True  # has a key commitment (a re-queued task has none until ``rekey``)
    attempts: int = 0
    worker: str | None = None
    fee: int = 0
    collateral: int = 0
    deadline: int = 0
    accepted_at: int = 0
    render_time: int = 0
    passed: bool = False
    challenger: str | None = None
    bond: int = 0
    cid: str = ""
    submitted_at: int = 0  # when the current attempt's result was committed (0: none)
    escrow_opens: int = 0  # when the seed escrow of the current key opens (its beacon round's time)
    late: bool = False  # the manager let the reveal window pass: slashed once, no BMW credit for the task


@dataclass
class NodeM:
    role: int = 0
    price: int = 0
    stake: int = 0
    locked: int = 0
    unbonding: int = 0
    unbonding_at: int = 0
    ib: int = 0
    staked_at: int = 0  # the last register, stake, unbond or withdraw (slashes do not move it)


@dataclass
class Vote:
    passed: bool
    slashed: bool = False
    credit_epoch: int | None = None  # the epoch its verdict credit went to, once final


@dataclass
class CommitteeM:
    """One attempt's committee: its members in draw order, its schedule, the votes committed (in
    clear: a commitment is their hash) and the members that revealed."""

    round: int
    members: list[str]
    commit_ends: int
    reveal_ends: int
    quorum: int  # the quorum when it was drawn: later governance changes do not apply
    commitments: dict[str, tuple[bool, int, bytes]] = field(default_factory=dict)
    revealed: list[str] = field(default_factory=list)
    finalized: bool = False


def commitment(task_id: int, attempt: int, oracle: str, passed: bool, score: int, salt: bytes) -> bytes:
    """ProofOfRender.commitmentOf."""
    return keccak(abi_encode(["uint256", "uint256", "address", "bool", "uint16", "bytes32"],
                             [task_id, attempt, oracle, passed, score, salt]))


def committee_key(task_id: int, attempt: int) -> bytes:
    return keccak(abi_encode(["uint256", "uint256"], [task_id, attempt]))


# batch stages (BatchLane)
B_RENDERING, B_REVEALED, B_SETTLED = 1, 2, 3


@dataclass(frozen=True)
class BatchLeafM:
    """What the money of one task of a batch depends on (the rest of its leaf is hashes)."""

    worker: str
    ibm: int
    fee: int


@dataclass
class LaneDisputeM:
    """An open challenge of one task of a batch."""

    challenger: str
    bond: int
    ends: int


@dataclass
class BatchCommitteeM:
    """BatchCommittee's record of a batch's committee: members in seat order, the schedule, the commitments
    (in clear: seat -> (pass bitmap, salt)), the revealed bitmaps (seat -> bitmap) and the verdict."""

    members: list[str]
    quorum: int
    commit_ends: int
    vote_ends: int
    commitments: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    votes: dict[int, int] = field(default_factory=dict)
    pass_bits: int = 0
    decided_bits: int = 0
    finalized_at: int = 0

    @property
    def revealed(self) -> int:
        return sum(1 << seat for seat in self.votes)


@dataclass
class BatchM:
    """BatchLane's record of a batch, with its leaves (calldata on chain) and its committee."""

    job_id: int
    manager: str
    leaves: list[BatchLeafM]
    groups: list[tuple[str, int, int]]  # (worker, first leaf, end)
    fees: int
    collateral_bps: int
    posted_at: int
    render_ends: int
    reveal_by: int
    escrow_opens: int
    stage: int = B_RENDERING
    late: bool = False
    revealed_at: int = 0
    submitted: set[int] = field(default_factory=set)  # worker groups that delivered
    done_bits: int = 0
    disputes: dict[int, LaneDisputeM] = field(default_factory=dict)
    committee: BatchCommitteeM | None = None

    @property
    def count(self) -> int:
        return len(self.leaves)

    @property
    def mask(self) -> int:
        return (1 << self.count) - 1

    @property
    def disputed(self) -> int:
        return sum(1 << i for i in self.disputes)

    def group_of(self, index: int) -> int:
        return next(g for g, (_, first, end) in enumerate(self.groups) if first <= index < end)

    def collateral(self, index: int) -> int:
        return self.leaves[index].fee * self.collateral_bps // BPS


@dataclass
class EpochM:
    start: int
    length: int
    work_ibm: int = 0
    fees: int = 0  # IFX
    burned: int = 0  # IFX burned by the fees settled in the epoch
    verdict_weight: int = 0
    penalty: int = 0
    worker_fees: dict[str, int] = field(default_factory=dict)
    oracle_weights: dict[str, int] = field(default_factory=dict)
    manager_fees: dict[str, int] = field(default_factory=dict)
    forfeited: int = 0  # fees whose manager forfeited its credit (a late reveal)
    # filled at close
    closed: bool = False
    apparent_ibm: int = 0
    usage_cap_bps: int = 0  # in force at close
    usage_pool: int = 0  # T_p = min(W_p x E_p, epochCap, ecosystemRemaining, burned x usageCapBps)
    carried_in: int = 0  # penalties of earlier epochs paid out through this epoch's oracle pool
    oracle_mint: int = 0  # the minted part of the oracle pool
    minted: int = 0
    worker_pool: int = 0
    oracle_pool: int = 0
    manager_pool: int = 0
    to_treasury: int = 0
    claimed: int = 0

    @property
    def pools(self) -> int:
        return self.worker_pool + self.oracle_pool + self.manager_pool

    @property
    def penalties_out(self) -> int:
        """The penalties (not minted IFX) this epoch's oracle pool pays out."""
        return self.oracle_pool - self.oracle_mint


@dataclass
class VestM:
    """A VestingEscrow: its schedule, what its beneficiary claimed, and (once revoked) when and how much went back to
    the factory."""

    beneficiary: str
    total: int
    start: int
    tge_bps: int
    cliff: int
    duration: int
    claimed: int = 0
    revoked_at: int | None = None
    returned: int = 0

    def vested(self, t: int) -> int:
        """VestingEscrow._vested_at: nothing before ``start``, the TGE share until the cliff's end, then linear
        (all at once for a zero duration); frozen at the revocation."""
        if self.revoked_at is not None:
            t = min(t, self.revoked_at)
        if t < self.start:
            return 0
        tge = self.total * self.tge_bps // BPS
        if t < self.start + self.cliff:
            return tge
        if self.duration == 0:
            return self.total
        return tge + (self.total - tge) * min(t - self.start - self.cliff, self.duration) // self.duration

    @property
    def locked(self) -> int:
        """What the escrow still holds locked in VotePower."""
        return self.total - self.claimed - self.returned


@dataclass
class ProposalM:
    """A Governor proposal: its snapshot, its deadline, and every ballot (voter -> (support, weight))."""

    snapshot: int
    deadline: int
    ballots: dict[str, tuple[int, int]] = field(default_factory=dict)

    def tally(self, support: int) -> int:
        return sum(weight for s, weight in self.ballots.values() if s == support)


@dataclass
class Model:
    """Mirror of the contracts' storage, updated by the same rules the contracts document."""

    treasury: str
    rounds: list[tuple[int, int]]  # the aggregator's rounds (8-decimal answer, updatedAt), round id = index + 1
    epoch_start: int
    min_oracle_stake: int
    min_manager_stake: int
    ecosystem_remaining: int
    emission_rate: int
    epoch_cap: int
    epoch_length: int
    benchmark_work: int
    coalition: frozenset[str]  # one owner behind the creator, the manager, the workers and the oracles
    twap_window: int = 1_800
    # escrow parameters
    burn_bps: int = 8_000
    slash_bps: int = 1_000
    collateral_bps: int = 20_000
    challenge_bond: int = 100 * WAD
    challenge_bond_bps: int = 10_000
    challenger_reward_bps: int = 5_000  # the escrow's: share of a worker's collateral slash
    manager_slash: int = 100 * WAD
    manager_slash_bps: int = 20_000
    # proof of render parameters
    oracle_slash_bps: int = 1_000
    por_reward_bps: int = 5_000  # proof of render's: share of each oracle slash
    committee_size: int = 3
    quorum: int = 2
    commit_window: int = 1_800
    vote_reveal_window: int = 1_800
    no_show_limit: int = 3
    no_show_slash_bps: int = 100
    challenge_window: int = CHALLENGE_WINDOW
    # the beacon (genesis, period) and the rounds published so far (round -> randomness)
    beacon_genesis: int = 0
    beacon_period: int = 1
    randomness: dict[int, bytes] = field(default_factory=dict)
    oracles: list[str] = field(default_factory=list)  # staking's oracle set, in registration order
    # issuance parameters
    usage_cap_bps: int = 9_000
    # escrow
    jobs: dict[int, JobM] = field(default_factory=dict)
    tasks: dict[int, TaskM] = field(default_factory=dict)
    claimable: dict[str, int] = field(default_factory=dict)
    bonds_held: int = 0
    results_used: set[tuple[int, str]] = field(default_factory=set)  # (task, CID): once per task
    # staking
    nodes: dict[str, NodeM] = field(default_factory=dict)
    total_ib: int = 0
    # IFX staking paid straight to an account out of a slash (challenger and worker rewards), cumulative
    paid: dict[str, int] = field(default_factory=dict)
    # proof of render: (task, attempt) -> its committee, the revealed votes (oracle -> vote, in reveal
    # order), and the weight credited; oracle -> seats missed since its last no-show slash
    committees: dict[tuple[int, int], CommitteeM] = field(default_factory=dict)
    votes: dict[tuple[int, int], dict[str, Vote]] = field(default_factory=dict)
    weights: dict[tuple[int, int], int] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    # issuance
    epochs: list[EpochM] = field(default_factory=list)
    treasury_owed: int = 0
    carried_penalty: int = 0
    issuance_balance: int = 0
    # the batch lane: its address (the manager's slash pays it the workers' dues, which it forwards at once), the
    # escrow's slack for seed-escrow rounds, the fees the escrow holds for batches, the challenge bonds the lane
    # holds, and the batches by id
    lane: str = ""
    escrow_slack: int = 86_400
    lane_held: int = 0
    lane_bonds: int = 0
    batches: dict[bytes, BatchM] = field(default_factory=dict)
    # token
    burned: int = 0
    minted: int = 0
    # coalition bookkeeping: IFX handed to its accounts from outside, penalties paid by outsiders (which
    # the coalition's oracles may claim), the fee share the treasury got, and what its claims paid it
    funded: int = 0
    outsider_penalties: int = 0
    treasury_fees: int = 0
    coalition_claimed: int = 0
    # voting power (VotePower): the IFX each account locked there, the bonded stake Staking last pushed there for
    # each account (a collateral slash pushes nothing: it waits for the node's next stake change or a
    # ``syncVotes``), whom each account delegated to (absent: itself), and after every change of the total voting
    # units (locks + pushed stake) or of the total pushed stake, a checkpoint (timestamp, total votes, total
    # stake), the last one of a timestamp overwriting the earlier ones; ``clock`` tells the time of a change (the
    # chain's: a slash reaches ``_take`` without one)
    vote_locked: dict[str, int] = field(default_factory=dict)
    vote_stake: dict[str, int] = field(default_factory=dict)
    delegates: dict[str, str] = field(default_factory=dict)
    vote_log: list[tuple[int, int, int]] = field(default_factory=list)
    clock: Callable[[], int] = field(default=lambda: 0)
    # and after every change of the units or of a delegation, the votes of every delegate (timestamp, {delegate:
    # votes}), the last one of a timestamp overwriting the earlier ones (getPastVotes)
    vote_history: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    # vesting (a revocable VestingFactory wired in VotePower): its escrows (address -> schedule and claims; each
    # escrow's IFX locked in VotePower sits in ``vote_locked`` too, at VESTING_VOTE_BPS), and all the IFX its bucket
    # was ever funded with
    vestings: dict[str, VestM] = field(default_factory=dict)
    vest_funded: int = 0
    # the Governor: its proposals (id -> proposal), its proposal threshold, voting delay and voting period
    proposals: dict[int, ProposalM] = field(default_factory=dict)
    gov_threshold: int = WAD
    gov_delay: int = 1
    gov_period: int = 7 * 86_400

    def __post_init__(self) -> None:
        self.epochs.append(EpochM(self.epoch_start, self.epoch_length))

    # ------------------------------------------------------------ views
    @property
    def current(self) -> EpochM:
        return self.epochs[-1]

    def rate(self, now: int) -> int:
        """PriceFeedAdapter.price(): the aggregator's answers averaged over the last ``twap_window``
        seconds, each round weighted by the time it was the latest answer (18 decimals)."""
        round_id = len(self.rounds)
        answer, updated_at = self.rounds[-1]
        if self.twap_window == 0:
            return answer * 10**10
        start = now - self.twap_window if now > self.twap_window else 0
        total, end, acc = now - start, now, 0
        for i in range(TWAP_MAX_ROUNDS):
            begin = max(min(updated_at, end), start)
            if end > begin:
                acc += answer * (end - begin)
                end = begin
            # round 0 does not exist: the aggregator reverts and the history runs out
            if end == start or i == TWAP_MAX_ROUNDS - 1 or round_id <= 1:
                break
            round_id -= 1
            answer, updated_at = self.rounds[round_id - 1]
        if end > start:
            acc += answer * (end - start)
        return acc * 10**10 // total

    def price_fresh(self, now: int) -> bool:
        return self.rounds[-1][1] + PRICE_MAX_AGE >= now

    def node(self, account: str) -> NodeM:
        return self.nodes.setdefault(account, NodeM())

    def is_active(self, account: str, role: int) -> bool:
        node = self.nodes.get(account)
        if node is None or node.role != role:
            return False
        bonded = node.stake - node.unbonding
        if role == ROLE_ORACLE:
            return bonded >= self.min_oracle_stake and bonded > 0
        if role == ROLE_MANAGER:
            return bonded >= self.min_manager_stake and bonded > 0
        return bonded > 0

    def round_time(self, round_: int) -> int:
        """The beacon's roundTime."""
        return self.beacon_genesis + (round_ - 1) * self.beacon_period

    def escrow_opens_at(self, now: int, window: int, margin: int = ESCROW_MARGIN) -> int:
        """When the seed escrow the tests post (or re-key) now opens: the time of the first beacon round due after
        ``now + acceptWindow + window + margin`` (System.escrow_round)."""
        return self.round_time(self.round_at(now + ACCEPT_WINDOW + window + margin) + 1)

    def escrow_holds(self, task: TaskM, now: int) -> bool:
        """JobEscrow._escrowHolds: the seed stays locked past every deadline an assignment made now can reach."""
        return now + ACCEPT_WINDOW + task.render_window < task.escrow_opens

    def lock_refusal(self, node: NodeM, job, collateral: int) -> str | None:
        """Why ``Staking.lockCollateral`` refuses ``collateral`` of ``node`` at ``job``'s rate and maximum price (the
        single path's accept and the lane's post both lock), or None."""
        if node.role != ROLE_WORKER:
            return "staking: not a worker"
        if node.price > job.max_price:
            return "staking: price above job maximum"
        bonded = node.stake - node.unbonding
        if bonded < self.min_stake(node, job.rate):
            return "staking: below minimum stake"
        if bonded < node.locked + collateral:
            return "staking: insufficient free stake"
        return None

    def min_stake(self, node: NodeM, rate: int) -> int:
        ib = node.ib or IB_ONE
        usd = STAKE_MULTIPLIER * EPOCH_MINUTES * ib * node.price // IB_ONE
        return usd * WAD // rate

    def escrow_liabilities(self) -> int:
        return (
            sum(job.budget for job in self.jobs.values())
            + sum(task.reserved for task in self.tasks.values() if task.state in LIVE_STATES)
            + sum(self.claimable.values())
            + self.bonds_held
            + self.lane_held
        )

    @staticmethod
    def ifx(usd: int, rate: int) -> int:
        return usd * WAD // rate

    def bond_for(self, task_id: int) -> int:
        return max(self.challenge_bond, self.tasks[task_id].fee * self.challenge_bond_bps // BPS)

    def claimable_reward(self, epoch: int, account: str) -> int:
        ep = self.epochs[epoch]
        if not ep.closed:
            return 0
        amount = 0
        if ep.fees > 0:
            amount += ep.worker_pool * ep.worker_fees.get(account, 0) // ep.fees
        if ep.fees > ep.forfeited:  # the pool was scaled to the fees whose manager kept its credit
            amount += ep.manager_pool * ep.manager_fees.get(account, 0) // (ep.fees - ep.forfeited)
        if ep.verdict_weight > 0:
            amount += ep.oracle_pool * ep.oracle_weights.get(account, 0) // ep.verdict_weight
        return amount

    @property
    def fees_burned(self) -> int:
        """IFX burned by settled fees, every epoch (the open one included)."""
        return sum(ep.burned for ep in self.epochs)

    # ------------------------------------------------------------ internal effects
    def _add_claimable(self, account: str, amount: int) -> None:
        self.claimable[account] = self.claimable.get(account, 0) + amount

    def _penalty(self, amount: int) -> None:
        self.current.penalty += amount
        self.issuance_balance += amount

    def _pay(self, account: str, amount: int) -> None:
        self.paid[account] = self.paid.get(account, 0) + amount

    def _take(self, account: str, amount: int, reward_to: str | None = None, reward: int = 0,
              sync: bool = True) -> None:
        """Staking._take: slash ``amount``, keeping stake >= locked + unbonding; ``reward`` of it goes
        straight to ``reward_to``, the rest into the penalty pool; the new bonded stake is pushed to VotePower
        unless ``sync`` is False (a task's collateral slashed at settlement: ``slashCollateral``)."""
        if amount == 0:
            return
        node = self.nodes[account]
        new_stake = node.stake - amount
        if new_stake < node.locked + node.unbonding:
            node.unbonding = new_stake - node.locked
        node.stake = new_stake
        if sync:
            self.sync_votes(account)
        paid = reward if reward_to is not None and reward > 0 else 0
        if paid:
            self._pay(reward_to, paid)  # type: ignore[arg-type]
        if amount > paid:
            self._penalty(amount - paid)

    def slash(self, account: str, amount: int, reward_to: str | None, reward: int) -> int:
        """Staking.slash: up to ``amount`` of the free (not locked) stake; returns what was taken."""
        node = self.nodes[account]
        taken = min(amount, node.stake - node.locked)
        self._take(account, taken, reward_to, min(reward, taken))
        return taken

    def _release(self, job_id: int, amount: int) -> None:
        job = self.jobs[job_id]
        job.open_tasks -= 1
        if amount == 0:
            return
        if job.closed:
            self._add_claimable(job.creator, amount)
        else:
            job.budget += amount

    def _return_bond(self, task: TaskM, to_challenger: bool) -> None:
        bond = task.bond
        if bond == 0:
            return
        assert task.challenger is not None
        task.bond = 0
        self.bonds_held -= bond
        if to_challenger:
            self._add_claimable(task.challenger, bond)
        else:
            if task.challenger not in self.coalition:
                self.outsider_penalties += bond
            self._penalty(bond)

    def _fail(self, task: TaskM, worker_fault: bool) -> None:
        assert task.worker is not None
        node = self.nodes[task.worker]
        node.locked -= task.collateral
        if worker_fault:
            slashed = task.collateral * self.slash_bps // BPS
            # a challenger who overturned a PASS shares the worker's slash
            reward = slashed * self.challenger_reward_bps // BPS if task.challenger is not None else 0
            self._take(task.worker, slashed, task.challenger, reward, sync=False)
        task.attempts += 1
        requeued = task.attempts < MAX_ATTEMPTS and not self.jobs[task.job_id].closed
        task.worker, task.fee, task.collateral, task.cid = None, 0, 0, ""
        task.passed, task.challenger, task.deadline, task.render_time = False, None, 0, 0
        task.submitted_at = 0
        task.late = False
        task.keyed = False  # the attempt's secret is spent: the next attempt waits for ``rekey``
        if requeued:
            task.state = POSTED
        else:
            task.state = FAILED
            self._release(task.job_id, task.reserved)

    def _dispute(self, task: TaskM, challenger: str | None, now: int) -> None:
        task.state = DISPUTED
        task.challenger = challenger
        task.deadline = now + DISPUTE_WINDOW

    # ------------------------------------------------------------ escrow
    def create_job(self, creator: str, manager: str, max_price: int, budget: int, now: int,
                   benchmark: bool = False) -> str | None:
        if budget == 0:
            return "escrow: zero budget"
        if not self.is_active(manager, ROLE_MANAGER):
            return "escrow: manager not active"
        if not self.price_fresh(now):
            return "pricefeed: stale price"
        job_id = len(self.jobs) + 1
        self.jobs[job_id] = JobM(creator, manager, budget, self.rate(now), max_price, benchmark)
        return None

    def post(self, job_id: int, ibm: int, n: int, window: int, now: int) -> str | None:
        job = self.jobs[job_id]
        if job.closed:
            return "escrow: job closed"
        if not self.is_active(job.manager, ROLE_MANAGER):
            return "escrow: manager not active"
        if job.benchmark:
            if n != 1 or job.open_tasks != 0:
                return "escrow: one task per benchmark job"
            if ibm != self.benchmark_work:
                return "escrow: benchmark work is the standard's"
        reserved = self.ifx(ibm * job.max_price // IBM_ONE, job.rate)
        if reserved * n > job.budget:
            return "escrow: budget exceeded"
        first = len(self.tasks) + 1
        for task_id in range(first, first + n):
            self.tasks[task_id] = TaskM(job_id, ibm, reserved, window, escrow_opens=self.escrow_opens_at(now, window))
        job.budget -= reserved * n
        job.open_tasks += n
        return None

    def rekey(self, task_id: int, sender: str, reused: bool, now: int) -> str | None:
        """``reused``: the key commitment offered was already used (by any task, any attempt). A task keeps its key
        while its seed escrow holds; a new key comes with a new escrow."""
        task = self.tasks[task_id]
        if task.state != POSTED:
            return "escrow: task not open"
        if task.keyed and self.escrow_holds(task, now):
            return "escrow: task already has a key"
        if sender != self.jobs[task.job_id].manager:
            return "escrow: caller is not the job's manager"
        if reused:
            return "escrow: key commitment already used"
        task.keyed = True
        task.escrow_opens = self.escrow_opens_at(now, task.render_window)
        return None

    def assign(self, task_id: int, worker: str, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != POSTED:
            return "escrow: task not open"
        if not task.keyed:
            return "escrow: task needs a fresh key (rekey)"
        if not self.escrow_holds(task, now):
            return "escrow: seed escrow opens too soon (rekey)"
        task.worker, task.state, task.deadline = worker, ASSIGNED, now + ACCEPT_WINDOW
        return None

    def cancel(self, task_id: int, sender: str) -> str | None:
        task = self.tasks[task_id]
        if task.state != POSTED:
            return "escrow: task not open"
        job = self.jobs[task.job_id]
        if not (sender == job.manager or (sender == job.creator and job.closed)):
            return "escrow: caller may not cancel"
        task.state = CANCELLED
        self._release(task.job_id, task.reserved)
        return None

    def accept(self, task_id: int, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != ASSIGNED:
            return "escrow: task not assigned"
        if now > task.deadline:
            return "escrow: acceptance deadline passed"
        assert task.worker is not None
        job = self.jobs[task.job_id]
        node = self.node(task.worker)
        fee = self.ifx(task.ibm * node.price // IBM_ONE, job.rate)
        if fee > task.reserved:
            return "escrow: price above job maximum"
        collateral = fee * self.collateral_bps // BPS
        refused = self.lock_refusal(node, job, collateral)
        if refused:
            return refused
        node.locked += collateral
        task.state, task.fee, task.collateral = ACCEPTED, fee, collateral
        task.accepted_at, task.deadline = now, now + task.render_window
        return None

    def submit(self, task_id: int, cid: str, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != ACCEPTED:
            return "escrow: task not accepted"
        if now > task.deadline:
            return "escrow: render deadline passed"
        if (task_id, cid) in self.results_used:
            return "escrow: result CID already submitted"
        self.results_used.add((task_id, cid))
        task.state, task.cid, task.deadline = SUBMITTED, cid, now + REVEAL_WINDOW
        task.submitted_at = now
        task.render_time = now - task.accepted_at
        return None

    def reveal(self, task_id: int, now: int) -> str | None:
        """Anyone reveals the right seed (the manager, or whoever opened the seed escrow); past the reveal window
        the manager is slashed for lateness, once."""
        task = self.tasks[task_id]
        if task.state != SUBMITTED:
            return "escrow: task not submitted"
        if now > task.deadline and not task.late:
            self._slash_late(task)
        task.state, task.deadline = REVEALED, now + VERIFY_WINDOW
        return None

    def _slash_late(self, task: TaskM) -> None:
        """A reveal left past its window: a fixed slash (at least managerSlashBps of the fee), paid to nobody, and
        no BMW credit for the task."""
        manager = self.jobs[task.job_id].manager
        task.late = True
        self.slash(manager, max(self.manager_slash, task.fee * self.manager_slash_bps // BPS), None, 0)

    def challenge(self, task_id: int, challenger: str, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state != VERIFIED:
            return "escrow: task not verified"
        if now > task.deadline:
            return "escrow: challenge window closed"
        bond = self.bond_for(task_id)
        self.bonds_held += bond
        task.bond = bond
        self._dispute(task, challenger, now)
        return None

    def settle_refusal(self, task_ids: list[int], now: int) -> str | None:
        """Why ``settle(task_ids)`` would revert now, if it would; changes nothing."""
        seen: set[int] = set()
        for task_id in task_ids:
            task = self.tasks[task_id]
            # a task met earlier in the batch is no longer VERIFIED when met again
            if task_id in seen or task.state != VERIFIED:
                return "escrow: task not verified"
            if now <= task.deadline:
                return "escrow: challenge window open"
            seen.add(task_id)
        return None

    def settle(self, task_ids: list[int], now: int) -> str | None:
        if reason := self.settle_refusal(task_ids, now):
            return reason
        burn_bps = self.burn_bps
        burn_total = treasury_total = 0
        for task_id in task_ids:
            task = self.tasks[task_id]
            if not task.passed:
                self._fail(task, worker_fault=True)
                continue
            assert task.worker is not None
            job = self.jobs[task.job_id]
            burned = task.fee * burn_bps // BPS
            burn_total += burned
            treasury_total += task.fee - burned
            task.state = SETTLED
            self.nodes[task.worker].locked -= task.collateral
            # a late reveal forfeits the manager's credit
            self.record_work(task.worker, None if task.late else job.manager, task.ibm, task.fee, burned)
            if job.benchmark:
                ib = task.ibm * 60 // max(task.render_time, 1)
                self.set_ib(task.worker, min(max(ib, MIN_IB), MAX_IB))
            self._release(task.job_id, task.reserved - task.fee)
        self.burned += burn_total
        self.treasury_fees += treasury_total
        if treasury_total:
            self._add_claimable(self.treasury, treasury_total)
        return None

    def expire(self, task_id: int, now: int) -> str | None:
        task = self.tasks[task_id]
        if task.state not in (ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, DISPUTED):
            return "escrow: nothing to expire"
        if now <= task.deadline:
            return "escrow: deadline not passed"
        if task.state == ASSIGNED:
            self._no_show(task.worker)  # an assignment left unaccepted: the worker's no-show
            task.state, task.worker, task.deadline = POSTED, None, 0
        elif task.state == ACCEPTED:
            self._fail(task, worker_fault=True)
        elif task.state == DISPUTED and task.challenger is not None:
            # the arbiter's silence keeps the challenged verdict; the bond goes back
            self._return_bond(task, to_challenger=True)
            task.challenger, task.state, task.deadline = None, VERIFIED, now - 1
        elif task.state == SUBMITTED and not task.late:
            # a reveal the manager let expire: slashed for lateness; the task waits for its seed escrow to open,
            # and a reveal window after that
            self._slash_late(task)
            task.deadline = max(now, task.escrow_opens) + REVEAL_WINDOW
        else:
            if task.state == SUBMITTED:
                # the escrow never opened either: the manager's stake pays again, the worker gets its fee from it
                self._slash_manager_for_worker(task)
            self._fail(task, worker_fault=False)
        return None

    def close_job(self, job_id: int) -> str | None:
        job = self.jobs[job_id]
        if job.closed:
            return "escrow: job closed"
        job.closed = True
        self._add_claimable(job.creator, job.budget)
        job.budget = 0
        return None

    def withdraw(self, account: str) -> int | str:
        """The amount paid, or the revert reason."""
        amount = self.claimable.get(account, 0)
        if amount == 0:
            return "escrow: nothing to withdraw"
        self.claimable[account] = 0
        return amount

    # ------------------------------------------------------------ proof of render
    def round_at(self, timestamp: int) -> int:
        """The beacon's roundAt."""
        if timestamp < self.beacon_genesis:
            return 0
        return (timestamp - self.beacon_genesis) // self.beacon_period + 1

    def draw_round(self, task_id: int) -> int:
        """ProofOfRender.drawRound: the first beacon round after the submission (0 before one)."""
        submitted_at = self.tasks[task_id].submitted_at
        return self.round_at(submitted_at) + 1 if submitted_at else 0

    def committee(self, task_id: int) -> CommitteeM | None:
        """The committee of the task's current attempt, once drawn."""
        return self.committees.get((task_id, self.tasks[task_id].attempts))

    def draw_oracles(self, seed: bytes, count: int, before: int) -> list[str]:
        """Staking.drawOracles: ``count`` distinct oracles weighted by bonded stake, among those active whose
        stake last moved no later than ``before``."""
        weights = []
        for oracle in self.oracles:
            node = self.nodes.get(oracle)
            weight = 0
            if node is not None and node.role == ROLE_ORACLE and node.staked_at <= before:
                bonded = node.stake - node.unbonding
                if bonded >= self.min_oracle_stake:
                    weight = bonded
            weights.append(weight)
        total, out = sum(weights), []
        for i in range(count):
            if total == 0:
                break
            target = int.from_bytes(keccak(abi_encode(["bytes32", "uint256"], [seed, i])), "big") % total
            acc = 0
            for j, weight in enumerate(weights):
                acc += weight
                if target < acc:
                    out.append(self.oracles[j])
                    total -= weight
                    weights[j] = 0
                    break
        return out

    def _new_committee(self, task_id: int, now: int) -> CommitteeM | str:
        """The committee a draw now would give the task's current attempt, or the draw's revert reason."""
        task = self.tasks[task_id]
        if task.state != REVEALED:
            return "por: task not awaiting a verdict"
        if (task_id, task.attempts) in self.committees:
            return "por: committee already drawn"
        round_ = self.round_at(task.submitted_at) + 1
        randomness = self.randomness.get(round_)
        if randomness is None:
            return "por: beacon round not available yet"
        seed = keccak(abi_encode(["bytes32", "uint256", "uint256"], [randomness, task_id, task.attempts]))
        members = self.draw_oracles(seed, self.committee_size, task.submitted_at)
        if len(members) < self.quorum:
            return "por: not enough eligible oracles"
        commit_ends = now + self.commit_window
        return CommitteeM(round_, members, commit_ends, commit_ends + self.vote_reveal_window, self.quorum)

    def draw(self, task_id: int, now: int) -> str | None:
        drawn = self._new_committee(task_id, now)
        if isinstance(drawn, str):
            return drawn
        self.committees[(task_id, self.tasks[task_id].attempts)] = drawn
        return None

    def commit_vote(self, task_id: int, oracle: str, vote: tuple[bool, int, bytes], now: int) -> str | None:
        """A member commits to ``vote`` (passed, score, salt), drawing the committee first if nobody has."""
        task = self.tasks[task_id]
        key = (task_id, task.attempts)
        c = self.committees.get(key)
        if c is None:
            drawn = self._new_committee(task_id, now)
            if isinstance(drawn, str):
                return drawn
            c = drawn
        if task.state != REVEALED or c.finalized:
            return "por: task not awaiting a verdict"
        if oracle not in c.members:
            return "por: not a committee member"
        if now > c.commit_ends:
            return "por: commit phase over"
        if oracle in c.commitments:
            return "por: already committed"
        self.committees[key] = c  # a draw on the way sticks only with the commit
        c.commitments[oracle] = vote
        if len(c.commitments) == len(c.members):
            # every vote is fixed: the reveal phase opens now
            c.commit_ends, c.reveal_ends = now, now + self.vote_reveal_window
        return None

    def reveal_vote(self, task_id: int, oracle: str, vote: tuple[bool, int, bytes], now: int) -> str | None:
        """A member reveals (passed, score, salt); the last reveal finalizes."""
        task = self.tasks[task_id]
        key = (task_id, task.attempts)
        c = self.committees.get(key)
        if task.state != REVEALED or c is None or c.finalized:
            return "por: task not awaiting a verdict"
        if now <= c.commit_ends and len(c.commitments) < len(c.members):
            return "por: commit phase not over"
        if now > c.reveal_ends:
            return "por: reveal phase over"
        if oracle in self.votes.get(key, {}):
            return "por: oracle already voted"
        if oracle not in c.commitments:
            return "por: no commitment"
        if c.commitments[oracle] != vote:
            return "por: vote does not match commitment"
        self.votes.setdefault(key, {})[oracle] = Vote(vote[0])
        c.revealed.append(oracle)
        if len(c.revealed) == len(c.members):
            self._finalize(task_id, now)
        return None

    def finalize(self, task_id: int, now: int) -> str | None:
        task = self.tasks[task_id]
        c = self.committees.get((task_id, task.attempts))
        if task.state != REVEALED or c is None or c.finalized:
            return "por: task not awaiting a verdict"
        if now <= c.reveal_ends:
            return "por: reveal phase not over"
        self._finalize(task_id, now)
        return None

    def tally(self, key: tuple[int, int]) -> tuple[int, int]:
        votes = self.votes.get(key, {}).values()
        pass_votes = sum(v.passed for v in votes)
        return pass_votes, len(votes) - pass_votes

    def _finalize(self, task_id: int, now: int) -> None:
        task = self.tasks[task_id]
        key = (task_id, task.attempts)
        c = self.committees[key]
        c.finalized = True
        votes = self.votes.setdefault(key, {})
        for oracle in c.members:
            if oracle not in votes:
                self._no_show(oracle)
        pass_votes, fail_votes = self.tally(key)
        if pass_votes >= c.quorum or fail_votes >= c.quorum:
            # the majority decides: each of its voters is credited the task's fee, the dissenters nothing
            passed = pass_votes >= c.quorum
            self.weights[key] = task.fee
            self._credit(key, passed, task.fee)
            task.state, task.passed, task.deadline = VERIFIED, passed, now + self.challenge_window
        # no quorum: no verdict; the escrow's verify deadline re-queues the task (no fault)

    def _slash_manager_for_worker(self, task) -> None:
        """JobEscrow._slashManager(taskId, False): max(managerSlash, managerSlashBps of the fee), the worker paid
        its fee from it."""
        manager = self.jobs[task.job_id].manager
        amount = max(self.manager_slash, task.fee * self.manager_slash_bps // BPS)
        self.slash(manager, amount, task.worker, task.fee)

    def prove_bad_manifest(self, task_id: int) -> str | None:
        """ProofOfRender.proveBadManifest: the committed manifest does not open with the revealed seed."""
        task = self.tasks[task_id]
        if task.state not in (REVEALED, VERIFIED):
            return "por: task not being verified"
        self._slash_manager_for_worker(task)
        self._fail(task, worker_fault=False)
        return None

    def _no_show(self, oracle: str) -> None:
        missed = self.missed.get(oracle, 0) + 1
        if missed >= self.no_show_limit:
            self.slash(oracle, self.nodes[oracle].stake * self.no_show_slash_bps // BPS, None, 0)
            missed = 0
        self.missed[oracle] = missed

    def _credit(self, key: tuple[int, int], side: bool, weight: int) -> None:
        for oracle, vote in self.votes[key].items():
            if vote.passed == side and vote.credit_epoch is None:
                vote.credit_epoch = self.credit_verdict(oracle, weight)

    def resolve(self, task_id: int, passed: bool, sender: str, arbiter: str, now: int) -> str | None:
        if sender != arbiter:
            return "por: caller is not the arbiter"
        task = self.tasks[task_id]
        if task.state != DISPUTED:
            return "por: task not disputed"
        overturned = task.challenger is not None and passed != task.passed
        rewarded = task.challenger if overturned else None
        key = (task_id, task.attempts)
        credited = self.weights.get(key, 0)
        for oracle, vote in self.votes.get(key, {}).items():
            if vote.passed != passed and not vote.slashed:
                vote.slashed = True
                amount = self.nodes[oracle].stake * self.oracle_slash_bps // BPS
                reward = amount * self.por_reward_bps // BPS if rewarded is not None else 0
                self.slash(oracle, amount, rewarded, reward)
                if vote.credit_epoch is not None:
                    self.revoke_verdict(oracle, vote.credit_epoch, credited)
        self.weights[key] = task.fee
        if key in self.votes:
            self._credit(key, passed, task.fee)
        # escrow.onDisputeResolved
        if task.challenger is not None:
            self._return_bond(task, to_challenger=overturned)
            if not overturned:
                task.challenger = None  # only a winning challenger stays, to share the worker's slash
        task.state, task.passed, task.deadline = VERIFIED, passed, now - 1  # final: no re-challenge
        return None

    # ------------------------------------------------------------ staking
    def stake(self, account: str, amount: int, now: int) -> str | None:
        node = self.node(account)
        if node.role == 0:
            return "staking: not registered"
        if amount == 0:
            return "staking: zero amount"
        node.stake += amount
        node.staked_at = now
        self.sync_votes(account)
        return None

    def request_unbond(self, account: str, amount: int, now: int) -> str | None:
        node = self.node(account)
        if amount == 0:
            return "staking: zero amount"
        if node.stake < node.locked + node.unbonding + amount:
            return "staking: amount exceeds free stake"
        node.unbonding += amount
        node.unbonding_at = now + UNBONDING_PERIOD
        node.staked_at = now
        self.sync_votes(account)
        return None

    def withdraw_stake(self, account: str, now: int) -> int | str:
        """The amount paid, or the revert reason."""
        node = self.node(account)
        if node.unbonding == 0:
            return "staking: nothing unbonding"
        if now < node.unbonding_at:
            return "staking: still unbonding"
        amount = node.unbonding
        node.stake -= amount
        node.unbonding = 0
        node.staked_at = now
        return amount

    # ------------------------------------------------------------ voting power
    def bonded(self, account: str) -> int:
        """The bonded stake Staking pushes to VotePower: stake - unbonding (locked collateral included)."""
        node = self.nodes.get(account)
        return 0 if node is None else node.stake - node.unbonding

    @property
    def vote_total_stake(self) -> int:
        """VotePower's total stake: the bonded stake pushed for every account."""
        return sum(self.vote_stake.values())

    @property
    def unsynced(self) -> int:
        """How much more stake votes than is bonded: the collateral slashed since each node's last push."""
        return sum(pushed - self.bonded(account) for account, pushed in self.vote_stake.items())

    def lock_units(self, account: str) -> int:
        """VotePower._lock_units: a vesting escrow's locked IFX votes at half weight, anyone else's at weight 1."""
        amount = self.vote_locked.get(account, 0)
        return amount * VESTING_VOTE_BPS // BPS if account in self.vestings else amount

    @property
    def vote_supply(self) -> int:
        """Every voting unit: the IFX locked (an escrow's at half weight) plus every pushed stake."""
        return sum(self.lock_units(a) for a in self.vote_locked) + self.vote_total_stake

    def delegate_of(self, account: str) -> str:
        return self.delegates.get(account, account)

    def delegated_votes(self) -> dict[str, int]:
        """Every delegate's votes: the units of every account whose delegate it is."""
        votes: dict[str, int] = {}
        for a in set(self.vote_stake) | set(self.vote_locked):
            units = self.lock_units(a) + self.vote_stake.get(a, 0)
            if units:
                d = self.delegate_of(a)
                votes[d] = votes.get(d, 0) + units
        return votes

    def votes_of(self, delegate: str) -> int:
        """The votes delegated to ``delegate``: the units of every account whose delegate it is."""
        return self.delegated_votes().get(delegate, 0)

    def sync_votes(self, account: str) -> None:
        """Staking._syncVotes (and the permissionless ``syncVotes``): push the account's bonded stake now."""
        if self.vote_stake.get(account, 0) != self.bonded(account):
            self.vote_stake[account] = self.bonded(account)
            self._checkpoint_votes()

    def _checkpoint_votes(self) -> None:
        entry = (self.clock(), self.vote_supply, self.vote_total_stake)
        if self.vote_log and self.vote_log[-1][0] == entry[0]:
            self.vote_log[-1] = entry
        else:
            self.vote_log.append(entry)
        self._record_delegates()

    def _record_delegates(self) -> None:
        entry = (self.clock(), self.delegated_votes())
        if self.vote_history and self.vote_history[-1][0] == entry[0]:
            self.vote_history[-1] = entry
        else:
            self.vote_history.append(entry)

    def past_votes(self, timestamp: int) -> tuple[int, int]:
        """(total votes, total stake) at the end of ``timestamp``, as checkpointed (0, 0 before the first)."""
        i = bisect_right(self.vote_log, timestamp, key=lambda entry: entry[0])
        return self.vote_log[i - 1][1:] if i else (0, 0)

    def past_votes_of(self, delegate: str, timestamp: int) -> int:
        """getPastVotes: the votes of ``delegate`` at the end of ``timestamp``."""
        i = bisect_right(self.vote_history, timestamp, key=lambda entry: entry[0])
        return self.vote_history[i - 1][1].get(delegate, 0) if i else 0

    def lock(self, account: str, amount: int, balance: int, allowance: int) -> str | None:
        """VotePower.lock, by ``account`` holding ``balance`` IFX and allowing VotePower ``allowance``."""
        if amount == 0:
            return "votes: zero amount"
        if allowance < amount:
            return "erc20: insufficient allowance"
        if balance < amount:
            return "erc20: transfer amount exceeds balance"
        self.vote_locked[account] = self.vote_locked.get(account, 0) + amount
        self._checkpoint_votes()
        return None

    def unlock(self, account: str, amount: int) -> str | None:
        if amount == 0:
            return "votes: zero amount"
        if self.vote_locked.get(account, 0) < amount:
            return "votes: unlock exceeds locked"
        self.vote_locked[account] -= amount
        self._checkpoint_votes()
        return None

    def delegate(self, account: str, delegatee: str) -> str | None:
        if int(delegatee, 16) == 0:
            return "votes: zero delegatee"
        self.delegates[account] = delegatee
        self._record_delegates()
        return None

    # ------------------------------------------------------------ vesting
    def create_escrow_refusal(self, owner: bool, amount: int, tge_bps: int, bucket: int) -> str | None:
        """Why VestingFactory.createEscrow (createRoundEscrow) would revert; changes nothing."""
        if not owner:
            return "ownable: caller is not the owner"
        if amount == 0:
            return "vesting: zero amount"
        if tge_bps > BPS:
            return "vesting: bad tge share"
        if amount > bucket:
            return "vesting: bucket too small"
        return None

    def create_escrow(self, escrow: str, vest: VestM) -> None:
        """VestingFactory._create: registered in VotePower, the amount moved in, all of it locked there and
        delegated to the beneficiary (IFX a coalition account will own: outside money)."""
        self.vestings[escrow] = vest
        self.vote_locked[escrow] = vest.total
        self.delegates[escrow] = vest.beneficiary
        if vest.beneficiary in self.coalition:
            self.funded += vest.total
        self._checkpoint_votes()

    def claim_escrow(self, escrow: str, now: int) -> int:
        """VestingEscrow.claim (anyone): the vested, unclaimed IFX leaves VotePower for the beneficiary."""
        v = self.vestings[escrow]
        amount = v.vested(now) - v.claimed
        if amount:
            v.claimed += amount
            self.vote_locked[escrow] -= amount
            self._checkpoint_votes()
        return amount

    def revoke_escrow(self, escrow: str, owner: bool, now: int) -> str | int:
        """VestingFactory.revoke: the schedule freezes now, the unvested rest returns to the bucket."""
        if not owner:
            return "ownable: caller is not the owner"
        v = self.vestings.get(escrow)
        if v is None:
            return "vesting: unknown escrow"
        if v.revoked_at is not None:
            return "escrow: already revoked"
        returned = v.total - v.vested(now)
        v.revoked_at, v.returned = now, returned
        if returned:
            self.vote_locked[escrow] -= returned
            if v.beneficiary in self.coalition:
                self.funded -= returned
            self._checkpoint_votes()
        return returned

    def delegate_escrow(self, escrow: str, sender: str, delegatee: str) -> str | None:
        """VestingEscrow.delegate: the beneficiary alone moves the escrow's votes."""
        if sender != self.vestings[escrow].beneficiary:
            return "escrow: caller is not the beneficiary"
        return self.delegate(escrow, delegatee)

    # ------------------------------------------------------------ the Governor
    def propose(self, proposal_id: int, proposer: str, now: int) -> str | None:
        """Governor.propose: the proposer needs the threshold in votes one second ago."""
        if self.past_votes_of(proposer, now - 1) < self.gov_threshold:
            return "governor: proposer votes below threshold"
        snapshot = now + self.gov_delay
        self.proposals[proposal_id] = ProposalM(snapshot, snapshot + self.gov_period)
        return None

    def cast_vote(self, proposal_id: int, voter: str, support: int, now: int) -> str | int:
        """Governor.castVote: once per voter, while active, with its votes at the snapshot."""
        p = self.proposals[proposal_id]
        if not p.snapshot < now <= p.deadline:
            return "governor: vote not active"
        if support > VOTE_ABSTAIN:
            return "governor: invalid support"
        if voter in p.ballots:
            return "governor: already voted"
        weight = self.past_votes_of(voter, p.snapshot)
        p.ballots[voter] = (support, weight)
        return weight

    def set_ib(self, worker: str, ib: int) -> None:
        node = self.nodes[worker]
        self.total_ib += ib - node.ib
        node.ib = ib

    # ------------------------------------------------------------ issuance
    def record_work(self, worker: str, manager: str | None, ibm: int, fee: int, burned: int) -> None:
        """``manager`` None: the manager forfeited its credit (the fee counts, its manager share is not minted)."""
        ep = self.current
        ep.work_ibm += ibm
        ep.fees += fee
        ep.burned += burned
        ep.worker_fees[worker] = ep.worker_fees.get(worker, 0) + fee
        if manager is None:
            ep.forfeited += fee
        else:
            ep.manager_fees[manager] = ep.manager_fees.get(manager, 0) + fee

    def credit_verdict(self, oracle: str, weight: int) -> int:
        ep = self.current
        ep.verdict_weight += weight
        ep.oracle_weights[oracle] = ep.oracle_weights.get(oracle, 0) + weight
        return len(self.epochs) - 1

    def revoke_verdict(self, oracle: str, epoch: int, weight: int) -> None:
        if epoch != len(self.epochs) - 1:
            return  # its epoch closed: the credit stays
        ep = self.epochs[epoch]
        taken = min(weight, ep.oracle_weights.get(oracle, 0))
        ep.verdict_weight -= taken
        ep.oracle_weights[oracle] = ep.oracle_weights.get(oracle, 0) - taken

    def close_epoch(self, now: int) -> str | None:
        ep = self.current
        if now < ep.start + ep.length:
            return "bmw: epoch not over"
        if not self.price_fresh(now):
            return "pricefeed: stale price"
        # the usage pool: what the work asks for, capped, and never more than a share of the burns
        ep.usage_cap_bps = self.usage_cap_bps
        ep.usage_pool = min(ep.work_ibm * self.emission_rate // IBM_ONE, self.epoch_cap, self.ecosystem_remaining,
                            ep.burned * self.usage_cap_bps // BPS)
        total = ep.usage_pool
        if ep.fees > 0:
            ep.worker_pool = total * WORKER_MINT_BPS // BPS
            # the forfeited managers' share is not minted
            ep.manager_pool = total * MANAGER_MINT_BPS // BPS * (ep.fees - ep.forfeited) // ep.fees
            ep.to_treasury = total * TREASURY_MINT_BPS // BPS
        if ep.verdict_weight > 0:
            ep.oracle_mint = total * ORACLE_MINT_BPS // BPS
            ep.carried_in = self.carried_penalty
            ep.oracle_pool = ep.oracle_mint + ep.penalty + self.carried_penalty
            self.carried_penalty = 0
        else:
            self.carried_penalty += ep.penalty
        ep.minted = ep.to_treasury + ep.worker_pool + ep.manager_pool + ep.oracle_mint
        ep.apparent_ibm = self.total_ib * ((now - ep.start) // 60)
        ep.closed = True
        self.ecosystem_remaining -= ep.minted
        self.treasury_owed += ep.to_treasury
        self.minted += ep.minted
        self.issuance_balance += ep.minted
        self.epochs.append(EpochM(now, self.epoch_length))
        return None

    def claim(self, epoch: int, account: str) -> int | str:
        """The amount paid, or the revert reason."""
        ep = self.epochs[epoch]
        if not ep.closed:
            return "bmw: epoch not closed"
        amount = self.claimable_reward(epoch, account)
        if amount == 0:
            return "bmw: nothing to claim"
        ep.worker_fees[account] = ep.oracle_weights[account] = ep.manager_fees[account] = 0
        ep.claimed += amount
        self.issuance_balance -= amount
        if account in self.coalition:
            self.coalition_claimed += amount
        return amount

    def claim_treasury(self) -> int | str:
        amount = self.treasury_owed
        if amount == 0:
            return "bmw: nothing to claim"
        self.treasury_owed = 0
        self.issuance_balance -= amount
        return amount

    # ------------------------------------------------------------ the batch lane (BatchLane, BatchCommittee)
    def post_batch(self, batch_id: bytes, job_id: int, sender: str, leaves: list[BatchLeafM],
                   acceptances: list[tuple[bool, int]], render_window: int, escrow_opens: int, now: int) -> str | None:
        """BatchLane.postBatch: ``acceptances`` one (signed by the group's worker for this batch, its leaves and
        this render window?, acceptBy) per acceptance sent; every leaf's digest, frames and package are sound.
        The fees are reserved from the job, each worker's collateral locked, all or nothing."""
        if batch_id in self.batches:
            return "lane: batch id used"
        if not leaves:
            return "lane: no tasks or packages"
        if not 60 <= render_window <= 7 * 86_400:
            return "lane: bad render window"
        if not self.is_active(sender, ROLE_MANAGER):
            return "lane: manager not active"
        render_ends = now + render_window
        if escrow_opens <= render_ends:
            return "lane: seed escrow round too early"
        if escrow_opens > render_ends + self.escrow_slack:
            return "lane: seed escrow round too late"
        fees = sum(leaf.fee for leaf in leaves)
        job = self.jobs.get(job_id)
        if job is None or sender != job.manager or job.closed or job.benchmark:
            return "escrow: not the manager's open job"
        if fees > job.budget:
            return "escrow: budget exceeded"
        cbps = self.collateral_bps
        groups: list[tuple[str, int, int]] = []
        locks: list[tuple[str, int]] = []
        collateral = 0
        for index, leaf in enumerate(leaves):
            if leaf.ibm == 0 or leaf.fee == 0:
                return "lane: zero work or fee"
            if leaf.fee > (leaf.ibm * job.max_price // IBM_ONE) * WAD // job.rate:
                return "lane: fee above job maximum"
            if index == 0 or leaves[index - 1].worker != leaf.worker:
                if any(g[0] == leaf.worker for g in groups):
                    return "lane: worker in two groups"
                groups.append((leaf.worker, index, index))
                collateral = 0
            collateral += leaf.fee * cbps // BPS
            if index + 1 == len(leaves) or leaves[index + 1].worker != leaf.worker:
                group = len(groups) - 1
                groups[group] = (leaf.worker, groups[group][1], index + 1)
                if index + 1 - groups[group][1] > 64:
                    return "lane: over 64 tasks for one worker"
                if group >= len(acceptances):
                    return "lane: one acceptance each"
                signed, accept_by = acceptances[group]
                if now > accept_by:
                    return "lane: acceptance expired"
                if not signed:
                    return "lane: bad acceptance"
                # Staking.lockCollateral at the job's rate and maximum price
                refused = self.lock_refusal(self.node(leaf.worker), job, collateral)
                if refused:
                    return refused
                locks.append((leaf.worker, collateral))
        if len(groups) != len(acceptances):
            return "lane: one acceptance each"
        job.budget -= fees
        job.open_tasks += 1
        self.lane_held += fees
        for worker, amount in locks:
            self.nodes[worker].locked += amount
        self.batches[batch_id] = BatchM(job_id, sender, list(leaves), groups, fees, cbps, now, render_ends,
                                        render_ends + REVEAL_WINDOW, escrow_opens)
        return None

    def submit_results(self, batch_id: bytes, group: int, sender: str, cids: int, now: int) -> str | None:
        """BatchLane.submitResults: ``cids`` result CIDs (none empty) for the group's leaves."""
        b = self.batches.get(batch_id)
        if b is None or b.stage != B_RENDERING:
            return "lane: not rendering"
        if now > b.render_ends:
            return "lane: render deadline passed"
        if group >= len(b.groups):
            return "lane: no such worker group"
        worker, first, end = b.groups[group]
        if sender != worker:
            return "lane: not the group's worker"
        if group in b.submitted:
            return "lane: results already submitted"
        if cids != end - first:
            return "lane: one result per task"
        b.submitted.add(group)
        if len(b.submitted) == len(b.groups):
            b.reveal_by = min(b.reveal_by, now + REVEAL_WINDOW)
        return None

    def reveal_batch_seed(self, batch_id: bytes, now: int, right_seed: bool = True) -> str | None:
        """BatchLane.revealSeed (anyone): past ``revealBy`` the manager is slashed for lateness, once."""
        b = self.batches.get(batch_id)
        if b is None or b.stage != B_RENDERING:
            return "lane: not rendering"
        if len(b.submitted) != len(b.groups) and now <= b.render_ends:
            return "lane: results still due"
        if not right_seed:
            return "lane: seed not committed"
        if now > b.reveal_by and not b.late:
            self._slash_batch_manager(b, late=True)
        b.stage, b.revealed_at = B_REVEALED, now
        return None

    def expire_batch(self, batch_id: bytes, now: int) -> str | None:
        """BatchLane.expire: the seed not revealed by ``revealBy``: a late slash (once), and the reveal waits
        for the seed escrow, until a reveal window after its round."""
        b = self.batches.get(batch_id)
        if b is None or b.stage != B_RENDERING or now <= b.reveal_by or b.late:
            return "lane: nothing to expire"
        self._slash_batch_manager(b, late=True)
        b.reveal_by = max(now, b.escrow_opens) + REVEAL_WINDOW
        return None

    def _slash_batch_manager(self, b: BatchM, late: bool) -> None:
        """BatchLane._slashManager: max(managerSlash, managerSlashBps of the batch's fees) of the manager's free
        stake. Late: paid to nobody, and the batch's manager credit is forfeited. Not late (a void batch): the
        lane is paid what the delivering workers are due (their fees) and forwards it, in group order while it
        lasts."""
        amount = max(self.manager_slash, b.fees * self.manager_slash_bps // BPS)
        dues: list[tuple[str, int]] = []
        if late:
            b.late = True
        else:
            for g, (worker, first, end) in enumerate(b.groups):
                if g in b.submitted:
                    dues.append((worker, sum(leaf.fee for leaf in b.leaves[first:end])))
        owed = sum(due for _, due in dues)
        taken = self.slash(b.manager, amount, self.lane if owed else None, owed)
        paid = min(taken, owed)
        if paid:
            self.paid[self.lane] -= paid  # forwarded at once
        for payee, due in dues:
            part = min(due, paid)
            paid -= part
            if part:
                self._pay(payee, part)

    def batch_draw_round(self, batch_id: bytes) -> int:
        """The beacon round that draws a revealed batch's committee (0 before the reveal)."""
        b = self.batches[batch_id]
        return self.round_at(b.revealed_at) + 1 if b.revealed_at else 0

    def draw_batch(self, batch_id: bytes, now: int) -> str | None:
        """BatchCommittee.draw (anyone, once, within the verify window after the reveal)."""
        b = self.batches.get(batch_id)
        if b is None or b.stage != B_REVEALED or now > b.revealed_at + VERIFY_WINDOW:
            return "committee: batch not awaiting a verdict"
        if b.committee is not None:
            return "committee: already drawn"
        randomness = self.randomness.get(self.batch_draw_round(batch_id))
        if randomness is None:
            return "committee: beacon round not available yet"
        members = self.draw_oracles(keccak(abi_encode(["bytes32", "bytes32"], [randomness, batch_id])),
                                    self.committee_size, b.posted_at)
        if len(members) < self.quorum:
            return "committee: not enough eligible oracles"
        commit_ends = now + self.commit_window
        b.committee = BatchCommitteeM(members, self.quorum, commit_ends, commit_ends + self.vote_reveal_window)
        return None

    def commit_batch_votes(self, batch_id: bytes, votes: dict[int, tuple[int, bytes]], signed: bool,
                           now: int) -> str | None:
        """BatchCommittee.commitVotes: seat -> (bitmap, salt), each commitment signed by its member (``signed``
        False: the last one signed by another member)."""
        b = self.batches.get(batch_id)
        c = b.committee if b is not None else None
        if c is None or c.finalized_at or now > c.commit_ends:
            return "committee: commit phase over"
        for seat in votes:
            if seat in c.commitments:
                return "committee: already committed"
        if not signed:
            return "committee: bad commitment signature"
        c.commitments.update(votes)
        if len(c.commitments) == len(c.members):
            c.commit_ends, c.vote_ends = now, now + self.vote_reveal_window
        return None

    def reveal_batch_votes(self, batch_id: bytes, votes: dict[int, tuple[int, bytes]], now: int) -> str | None:
        """BatchCommittee.revealVotes: seat -> (bitmap, salt); the reveal that completes the committee decides."""
        b = self.batches.get(batch_id)
        c = b.committee if b is not None else None
        if c is None or c.finalized_at:
            return "committee: not voting"
        if now <= c.commit_ends and len(c.commitments) != len(c.members):
            return "committee: commit phase not over"
        if now > c.vote_ends:
            return "committee: reveal phase over"
        for seat, vote in votes.items():
            if seat in c.votes:
                return "committee: already revealed"
            if seat not in c.commitments:
                return "committee: no commitment"
            if c.commitments[seat] != vote:
                return "committee: vote does not match commitment"
        for seat, (bits, _) in votes.items():
            c.votes[seat] = bits
        if len(c.votes) == len(c.members):
            self._finalize_batch(b, now)
        return None

    def finalize_batch(self, batch_id: bytes, now: int) -> str | None:
        b = self.batches.get(batch_id)
        c = b.committee if b is not None else None
        if c is None or c.finalized_at:
            return "committee: not voting"
        if now <= c.vote_ends:
            return "committee: reveal phase not over"
        self._finalize_batch(b, now)
        return None

    @staticmethod
    def _finalize_batch(b: BatchM, now: int) -> None:
        """Per task: passes with ``quorum`` pass votes, fails with ``quorum`` fail votes, else undecided."""
        c = b.committee
        assert c is not None
        revealed = [c.votes[seat] for seat in sorted(c.votes)]
        pass_bits = decided = 0
        for i in range(b.count):
            yes = sum(1 for vote in revealed if vote >> i & 1)
            if yes >= c.quorum:
                pass_bits |= 1 << i
                decided |= 1 << i
            elif len(revealed) - yes >= c.quorum:
                decided |= 1 << i
        c.pass_bits, c.decided_bits, c.finalized_at = pass_bits, decided, now

    def _lane_release(self, b: BatchM, bits: int, burned: int, to_treasury: int, refund: int) -> None:
        """BatchLane._release + JobEscrow.releaseFor: tasks closed; the batch holds its job open until its last."""
        b.done_bits |= bits
        last = b.stage == B_SETTLED and b.done_bits == b.mask
        self.lane_held -= burned + to_treasury + refund
        self.burned += burned
        self.treasury_fees += to_treasury
        self._add_claimable(self.treasury, to_treasury)
        if not last:
            self.jobs[b.job_id].open_tasks += 1
        self._release(b.job_id, refund)

    def settle_batch_refusal(self, batch_id: bytes, now: int) -> str | None:
        """Why ``settle`` (with the batch's own leaves) would revert now, if it would; changes nothing."""
        b = self.batches.get(batch_id)
        if b is None:
            return "lane: not the batch's leaves"
        if b.stage == B_RENDERING:
            if not (b.late and now > b.reveal_by):
                return "lane: seed not revealed"
            return None
        if b.stage != B_REVEALED:
            return "lane: batch settled"
        c = b.committee
        if c is None or not c.finalized_at:
            if c is not None or now <= b.revealed_at + VERIFY_WINDOW:
                return "lane: verdict pending"
        elif now <= c.finalized_at + self.challenge_window:
            return "lane: challenge window open"
        return None

    def settle_batch(self, batch_id: bytes, now: int) -> str | None:
        """BatchLane.settle: every task not closed on its own; or a void batch (its seed never came out)."""
        if reason := self.settle_batch_refusal(batch_id, now):
            return reason
        b = self.batches[batch_id]
        void = b.stage == B_RENDERING
        c = b.committee
        members = c.members if c is not None else []
        revealed = c.revealed if c is not None else 0
        pass_bits = c.pass_bits if c is not None else 0
        decided = c.decided_bits if c is not None else 0
        if void:
            self._slash_batch_manager(b, late=False)
        for seat, member in enumerate(members):
            if not revealed >> seat & 1:
                self._no_show(member)  # a seat that did not reveal: a miss
        skip = b.done_bits | b.disputed
        manager = None if b.late else b.manager
        weights = [0] * len(members)
        t_burned = t_treasury = t_refund = 0
        for g, (worker, first, end) in enumerate(b.groups):
            delivered = g in b.submitted
            locked = penalty = ibm = fees = burned = 0
            for i in range(first, end):
                if skip >> i & 1:
                    continue
                leaf = b.leaves[i]
                collateral = b.collateral(i)
                locked += collateral
                if void:
                    t_refund += leaf.fee
                    continue
                # frames never delivered fail whatever the votes: only the members who failed them are credited
                passes = bool(pass_bits >> i & 1) and delivered
                if decided >> i & 1:
                    for seat in range(len(members)):
                        if seat in c.votes and bool(c.votes[seat] >> i & 1) == passes:  # type: ignore[union-attr]
                            weights[seat] += leaf.fee
                if passes:
                    burned += leaf.fee * self.burn_bps // BPS
                    fees += leaf.fee
                    ibm += leaf.ibm
                else:
                    if not delivered or decided >> i & 1:
                        penalty += collateral * self.slash_bps // BPS
                    t_refund += leaf.fee
            self.nodes[worker].locked -= locked
            if penalty:
                self._take(worker, penalty, sync=False)
            if fees:
                self.record_work(worker, manager, ibm, fees, burned)
                t_burned += burned
                t_treasury += fees - burned
        for seat, member in enumerate(members):
            if weights[seat]:
                self.credit_verdict(member, weights[seat])
        b.stage = B_SETTLED
        self._lane_release(b, b.mask & ~skip, t_burned, t_treasury, t_refund)
        return None

    def batch_bond(self, fee: int) -> int:
        return max(self.challenge_bond, fee * self.challenge_bond_bps // BPS)

    def challenge_batch_task(self, batch_id: bytes, index: int, challenger: str, now: int) -> str | None:
        """BatchLane.challenge: a bonded challenge of one decided task within the challenge window."""
        b = self.batches[batch_id]
        if index >= b.count:
            return "lane: no such task"
        c = b.committee
        finalized_at = c.finalized_at if c is not None else 0
        if b.stage != B_REVEALED or not finalized_at or now > finalized_at + self.challenge_window:
            return "lane: challenge window closed"
        assert c is not None
        if not c.decided_bits >> index & 1:
            return "lane: task has no verdict"
        if (b.disputed | b.done_bits) >> index & 1:
            return "lane: task challenged or closed"
        bond = self.batch_bond(b.leaves[index].fee)
        self.lane_bonds += bond
        b.disputes[index] = LaneDisputeM(challenger, bond, now + DISPUTE_WINDOW)
        return None

    def resolve_batch_task(self, batch_id: bytes, index: int, decision: bool, sender: str, arbiter: str,
                           now: int) -> str | None:
        """BatchLane.resolve: the arbiter decides within the dispute window (losing voters slashed, a winning
        challenger rewarded from every slash it caused, a losing one's bond to the penalty pool); after it
        anyone closes the task with the committee's verdict and the bond goes back; frames never delivered fail
        either way. The task settles at once."""
        b = self.batches[batch_id]
        d = b.disputes.get(index)
        if d is None:
            return "lane: task not disputed"
        judged = now <= d.ends
        if judged and sender != arbiter:
            return "lane: caller is not the arbiter"
        del b.disputes[index]
        c = b.committee
        assert c is not None
        verdict = bool(c.pass_bits >> index & 1)
        # frames never delivered fail whatever the votes or the decision (as at settle)
        passed = (decision if judged else verdict) and b.group_of(index) in b.submitted
        overturned = passed != verdict
        reward_bps = self.challenger_reward_bps
        challenger = d.challenger if overturned else None
        leaf = b.leaves[index]
        if d.bond:
            self.lane_bonds -= d.bond
            if overturned or not judged:
                self._pay(d.challenger, d.bond)
            else:
                if d.challenger not in self.coalition:
                    self.outsider_penalties += d.bond
                self._penalty(d.bond)
        for seat, member in enumerate(c.members):
            if seat not in c.votes:
                continue
            if bool(c.votes[seat] >> index & 1) == passed:
                self.credit_verdict(member, leaf.fee)
            elif judged:
                amount = self.nodes[member].stake * self.oracle_slash_bps // BPS
                self.slash(member, amount, challenger, amount * self.por_reward_bps // BPS)
        collateral = b.collateral(index)
        burned = to_treasury = refund = 0
        if passed:
            burned = leaf.fee * self.burn_bps // BPS
            to_treasury = leaf.fee - burned
            self.nodes[leaf.worker].locked -= collateral
            self.record_work(leaf.worker, None if b.late else b.manager, leaf.ibm, leaf.fee, burned)
        else:
            penalty = collateral * self.slash_bps // BPS
            self.nodes[leaf.worker].locked -= collateral
            self._take(leaf.worker, penalty, challenger, penalty * reward_bps // BPS, sync=False)
            refund = leaf.fee
        self._lane_release(b, 1 << index, burned, to_treasury, refund)
        return None

    def prove_bad_batch_manifest(self, batch_id: bytes, index: int) -> str | None:
        """BatchLane.proveBadManifest (every manifest the tests commit is bogus): once the worker has delivered, the
        manager slashed, the worker paid its fee from the slash and its collateral released, the fee back to the
        job."""
        b = self.batches[batch_id]
        if index >= b.count:
            return "lane: no such task"
        if b.stage == B_RENDERING:
            return "lane: seed not revealed"
        if (b.done_bits | b.disputed) >> index & 1:
            return "lane: task closed or disputed"
        if b.group_of(index) not in b.submitted:
            return "lane: no frames delivered"
        leaf = b.leaves[index]
        self.slash(b.manager, max(self.manager_slash, leaf.fee * self.manager_slash_bps // BPS), leaf.worker, leaf.fee)
        self.nodes[leaf.worker].locked -= b.collateral(index)
        self._lane_release(b, 1 << index, 0, 0, leaf.fee)
        return None
