"""Stateful property tests: random sequences of protocol actions against the accounting invariants.

A hypothesis state machine drives jobs (benchmark jobs included; some created and closed for the creator through
the job relay, ``JobRelay``, from its signed requests and permits, a relayer taking a fee), tasks, re-keys, committee
verdicts
(beacon rounds, committee draws, committed and revealed votes with or against the majority, silent
members and their no-show slashes, finalization with or without a quorum), challenges (by a dissenting
member, the creator, an outsider, an oracle or the task's own worker), disputes the arbiter decides or
leaves to time out, missed reveals (a late manager slashed once, then the seed revealed from its escrow by a
stranger, or, the escrow never opening, slashed again and the task re-queued), seed escrows too close to
assign (re-keyed), settlement, expiry, staking, epochs, claims and governance (committee sizes included),
and batches of the batch lane (``BatchLane``, ``BatchCommittee``: 1-3 keyed workers signing their acceptances of
1-3 tasks each, of mixed work and fees; results from some workers and not others; the batch seed revealed on
time, late, from its escrow by a stranger after an expiry, or never, which voids the batch and pays the
delivering workers from the manager's slash; committees drawn from the beacon that commit to random pass
bitmaps in one relayed, signed call, some members silent or never revealing, whose no-shows the settlement
records; a decided task challenged with its leaf and Merkle proof and resolved by the arbiter either way or by
anyone after the dispute window; a bogus manifest proven with one leaf; settlement, and posts, votes and
settlements out of turn), voting power (``VotePower``: the coalition's accounts lock and unlock IFX and
delegate to each other or to a stranger, and anyone syncs a node's bonded stake), plain IFX transfers between the
accounts (which move no vote: the token keeps no checkpoints), vesting (a revocable ``VestingFactory`` wired in
VotePower vests IFX for the accounts on the rounds' presets or small schedules whose cliffs the runs cross; anyone
claims, the owner revokes, a beneficiary delegates its escrow's half-weight votes) and a ``Governor`` on that
VotePower (proposals above a small threshold, ballots for, against or abstaining) on titanoboa, next to a
pure-Python reference model of the contracts (``_invariant_helpers``), which follows the price feed's
time-weighted average exactly. Each action either succeeds with exactly the effects the model predicts (down to
the rewards a slash pays straight to a challenger or a worker) or reverts with exactly the reason the model
predicts; after every step the invariants below are asserted against chain state:

1. the escrow holds exactly its liabilities (budgets + live reservations + the batches' held fees
   (``laneHeld``) + claimable + bonds), and the batch lane exactly the challenge bonds it holds
   (``bondsHeld``);
2. supply is capped and equals everything minted minus everything burned;
3. each epoch records exactly the work, fees, burns, final-verdict weights and penalties the model saw,
   and a closed epoch minted exactly the model's prediction: the parts (with a denominator) of the usage
   pool ``min(W_p x E_p / 1e6, epochCap, ecosystemRemaining, burned x usageCapBps / 1e4)``; so it never
   mints more than ``usageCapBps`` of what its fees burned (nothing when they burned nothing);
4. staked IFX is fully accounted for, no node's stake drops below ``locked + unbonding``, and no stake
   leaves before its unbonding time; VotePower's total stake is Staking's bonded stake (``totalStaked`` minus
   every unbonding), plus only the collateral slashed at settlement since each node's last push;
5. an epoch's claims never exceed its mint plus the penalties it pays out;
6. the issuance contract holds every unclaimed pool and the treasury's share;
7. the coalition (one owner behind the creator, the manager, the three workers, the three batch workers
   and the four oracles: every account that pays fees or earns BMW rewards here) never gains from the
   mint: measured from its balances, stakes, escrow claims, budgets, reservations, the fees held for its
   batches, the bonds it posted (with the escrow or the lane) and the IFX it locked in VotePower, its net gain
   since the start (less what it was funded) is at most what the closed epochs minted for the nodes plus the
   penalties outsiders paid, minus the fees it burned and paid the treasury; hence, without outsider
   penalties, strictly negative once any fee burned. Its BMW claims never exceed the nodes' minted
   pools plus the penalties paid out;
8. the votes of every account (``getVotes``) are what the model delegated it and sum to ``totalVotes``, the
   model's supply (IFX locked + the stake pushed for every node + half of each vesting escrow's locked IFX);
   VotePower holds exactly the IFX locked; and at an earlier step's timestamp every account's ``getPastVotes``,
   ``getPastTotalSupply`` and ``getPastTotalStake`` are what the model recorded then, the votes adding up to the
   supply; a transfer changes no account's votes and not their total;
9. every vesting escrow has claimed <= vested <= total (vested as its schedule says, frozen at its revocation), holds
   exactly total - claimed - returned locked in VotePower, and the factory's bucket + everything escrowed + everything
   claimed is what the bucket was funded with, to the wei;
10. a proposal's for + against + abstain are its ballots, and equal the sum of its voters' ``getPastVotes`` at its
   snapshot (each weighed as the model predicts); nobody votes twice.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import boa
import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from inferix import batches as B
from inferix.eip712 import sign_acceptance, sign_permit, sign_vote_commitment
from inferix.relay import CLOSE_JOB, CreateJobRequest, ForwardRequest, create_job_args, forward_args, sign_create_job, \
    sign_forward
from inferix.sealing import HEAD_BYTES, manifest_digest

from ._batch_helpers import Batch, Lane
from ._invariant_helpers import (
    ACCEPTED,
    ASSIGNED,
    B_RENDERING,
    B_REVEALED,
    B_SETTLED,
    BPS,
    DISPUTED,
    IBM_ONE,
    LIVE_STATES,
    MANAGER_MINT_BPS,
    MAX_SUPPLY,
    POSTED,
    REVEALED,
    SETTLED,
    SUBMITTED,
    VERIFIED,
    VERIFY_WINDOW,
    VESTING_VOTE_BPS,
    VOTE_ABSTAIN,
    VOTE_AGAINST,
    VOTE_FOR,
    WAD,
    BatchLeafM,
    CommitteeM,
    Model,
    NodeM,
    VestM,
    commitment,
    committee_key,
    expect,
)
from tests.conftest import FAST

from .conftest import (EMISSION_RATE, EPOCH, EPOCH_CAP, IBM, IFX, USD, System, bogus_manifest, deploy_system,
                       deployer, sealed_seed, warp)

T = TypeVar("T")

# titanoboa casts every vesting escrow (a minimal proxy) to its implementation's ABI, and warns that the proxy's code
# is not the implementation's (as intended)
pytestmark = pytest.mark.filterwarnings("ignore:casted bytecode does not match:UserWarning")

# IFX/USD answers (8 decimals) from $0.20 to $2: the cheapest pushes the minimum stake of a
# $0.50/IBM worker (8,640 IFX at $0.50) above the 20,000 IFX it starts with
PRICE_ANSWERS = [20_000_000, 25_000_000, 50_000_000, 100_000_000, 200_000_000]
MAX_PRICES = [USD // 4, USD // 2, USD, 2 * USD]
WORKER_PRICES = [USD // 4, USD // 2, USD]
WARPS = [1, 61, 901, 1_801, 3_601, 6 * 3_600 + 1, 86_400, 3 * 86_400, 7 * 86_400 + 1]

ZERO_ADDRESS = "0x" + "00" * 20
NO_KEY = b"\x00" * 32

budgets = st.one_of(st.integers(1_000, 50_000).map(lambda n: n * IFX), st.integers(1, 50_000 * IFX))
ibms = st.one_of(st.sampled_from([IBM, 10 * IBM, 20 * IBM]), st.integers(1, 50 * IBM))
windows = st.integers(60, 4 * 3_600)
# every invariant check reads every job and task, so runs stay small and many
MAX_JOBS, MAX_TASKS = 4, 8
# how far a driven task goes: escrow task states in lifecycle order, then the close of the epoch that
# recorded its work (with claims)
EPOCH_CLOSED = 100
STAGES = [POSTED, ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, REVEALED, VERIFIED, SETTLED, SETTLED, EPOCH_CLOSED,
          EPOCH_CLOSED]
# the calls out of turn a committee round may add (see ``_committee_vote``)
PROBES = [None] * 4 + ["undrawn", "late stake", "redraw", "outsider commit", "double commit", "early reveal",
                       "early finalize", "late commit", "late reveal", "wrong reveal", "double reveal", "silent reveal"]
# how far a task left REVEALED gets through its committee round (so that the committee rules find
# committees in every phase)
COMMITTEE_PHASES = ["none", "published", "drawn", "committed", "committed", "all committed", "revealed"]
# how a manager misses a reveal (see ``_missed_reveal``)
MISSED_REVEALS = ["late", "escrow", "escrow", "never opens", "waiting"]
# committees governance may set: (size, quorum); with three oracles registered, five seats draw three members
COMMITTEES = [(3, 2), (1, 1), (3, 3), (2, 2), (5, 3)]
# epoch caps small enough to bind (a task's work is worth up to 50 IBM x E_p), or the default; both
# non-zero, so that runs have rewards to claim (governance may still zero them)
caps = st.one_of(st.just(EPOCH_CAP), st.integers(IFX, 2_000 * IFX))
# emission rates both above a fee's burn (the usage cap binds: a $0.50/IBM fee at $0.50 burns < 1 IFX
# per IBM) and below it (the work binds)
rates = st.one_of(st.just(EMISSION_RATE), st.integers(IFX // 10, 100 * IFX), st.integers(IFX // 1_000, IFX // 2))
usage_caps = st.one_of(st.just(9_000), st.integers(0, 9_500))
amounts = st.one_of(st.integers(1, 5_000).map(lambda n: n * IFX), st.integers(1, 10**22))

# batches (BatchLane): at most this many per run (every check reads each of them)
MAX_BATCHES = 3
# how far a driven batch goes (see ``_drive_batch``)
BATCH_STAGES = ["posted", "submitted", "revealed", "voted", "challenged", "settled", "settled", "resolved",
                "resolved"]
# how a batch's seed comes out (see ``_batch_seed``)
SEED_PLANS = ["on time"] * 4 + ["late", "escrow", "escrow", "never", "never"]
# a post out of order now and then, refused as the model predicts
BATCH_PROBES = [None] * 10 + ["fee above max", "bad acceptance", "other window", "expired acceptance",
                              "split worker", "oracle worker", "used id", "early round"]
# how a committee member votes on a batch: the verdict drawn for the round, that verdict with one task flipped, a
# random bitmap, committed but never revealed, or silent (no commitment)
BALLOTS = ["with"] * 4 + ["flip", "random", "mute", "silent"]
# the calls out of turn a batch committee round may add (see ``_batch_round``)
BATCH_VOTE_PROBES = [None] * 6 + ["forged", "own seat", "early reveal", "wrong reveal", "early finalize", "redraw"]

# vesting: at most this many escrows per run (every check reads each of them), from a bucket funded with VEST_BUCKET
MAX_ESCROWS, VEST_BUCKET = 4, 50_000 * IFX
MONTH = 2_629_800
# VestingFactory.createRoundEscrow's presets: round -> (tgeBps, cliff, duration)
ROUND_PRESETS = {0: (0, 6 * MONTH, 12 * MONTH), 1: (0, 6 * MONTH, 12 * MONTH), 2: (1_000, 3 * MONTH, 15 * MONTH),
                 3: (1_000, 3 * MONTH, 4 * MONTH), 4: (0, 12 * MONTH, 24 * MONTH)}
# a schedule: a preset round, or a small custom (tgeBps, cliff, duration) that the machine's time travel crosses
schedules = st.one_of(st.sampled_from(sorted(ROUND_PRESETS)),
                      st.tuples(st.sampled_from([0, 0, 1_000, 2_500, 10_000]),
                                st.sampled_from([0, 3_600, 86_400, 3 * 86_400]),
                                st.sampled_from([0, 86_400, 7 * 86_400, 30 * 86_400])))
# where the schedule starts: now, around the cliff's end or the schedule's end (so that runs cross both), or anywhere
# from 40 months back to a week ahead
STARTS = ["now", "cliff", "cliff", "end", "anywhere"]
# the Governor: at most this many proposals per run; a one-second voting delay, a week's vote, a 1-IFX threshold
MAX_PROPOSALS = 2
GOV_DELAY, GOV_PERIOD, GOV_THRESHOLD = 1, 7 * 86_400, IFX


# One deployment for the whole module, made at import so that no anchor rolls it back (titanoboa's
# pytest plugin anchors every test call and every hypothesis example); each example then runs inside
# its own ``boa.env.anchor()`` and starts from this freshly wired state.
SYSTEM = deploy_system()
# the batch lane's workers: keyed (each signs its acceptance of its leaves), registered and staked at import like
# the machine's three keyless workers, and part of the coalition
_LANE = Lane(SYSTEM)
BATCH_WORKERS: list[str] = _LANE.workers(3)
WORKER_KEYS: dict[str, bytes] = dict(_LANE.keys)
# the coalition's accounts (see ``coalition``): the creator, the manager, three workers, four oracles, the batch workers
COALITION = 9 + len(BATCH_WORKERS)
# ballots: (voter, support) pairs, a voter possibly twice
ballots = st.lists(st.tuples(st.integers(0, COALITION), st.sampled_from([VOTE_FOR, VOTE_AGAINST, VOTE_ABSTAIN])),
                   min_size=1, max_size=3)
# a Governor on the system's VotePower (proposing to a timelock of its own), for proposals and ballots only
with boa.env.prank(SYSTEM.admin):
    TIMELOCK = deployer("Timelock").deploy(2 * 86_400, [], [ZERO_ADDRESS], SYSTEM.admin)
    GOVERNOR = deployer("Governor").deploy(SYSTEM.votes.address, TIMELOCK.address, SYSTEM.staking.address, GOV_DELAY,
                                           GOV_PERIOD, GOV_THRESHOLD, 100, 0, 1_000)


def read_model(s: System) -> Model:
    """A model of the freshly deployed system, read from the chain."""
    latest = s.aggregator.latestRoundData()[0]
    rounds = [tuple(s.aggregator.getRoundData(r)[1:4:2]) for r in range(1, latest + 1)]
    epoch0 = s.issuance.epochs(s.issuance.currentEpoch())
    model = Model(
        treasury=s.treasury,
        rounds=rounds,
        epoch_start=epoch0.start,
        min_oracle_stake=s.staking.minOracleStake(),
        min_manager_stake=s.staking.minManagerStake(),
        ecosystem_remaining=s.issuance.ecosystemRemaining(),
        emission_rate=s.issuance.emissionRate(),
        epoch_cap=s.issuance.epochCap(),
        epoch_length=s.issuance.epochLength(),
        benchmark_work=s.escrow.benchmarkWork(),
        coalition=frozenset(coalition(s)),
        twap_window=s.feed.twapWindow(),
        burn_bps=s.escrow.burnBps(),
        slash_bps=s.escrow.slashBps(),
        collateral_bps=s.escrow.collateralBps(),
        challenge_bond=s.escrow.challengeBond(),
        challenge_bond_bps=s.escrow.challengeBondBps(),
        challenger_reward_bps=s.escrow.challengerRewardBps(),
        manager_slash=s.escrow.managerSlash(),
        manager_slash_bps=s.escrow.managerSlashBps(),
        oracle_slash_bps=s.por.oracleSlashBps(),
        por_reward_bps=s.por.challengerRewardBps(),
        committee_size=s.por.committeeSize(),
        quorum=s.por.quorum(),
        commit_window=s.por.commitWindow(),
        vote_reveal_window=s.por.voteRevealWindow(),
        no_show_limit=s.staking.noShowLimit(),
        no_show_slash_bps=s.staking.noShowSlashBps(),
        challenge_window=s.escrow.challengeWindow(),
        lane=str(s.lane.address),
        escrow_slack=s.escrow.escrowSlack(),
        beacon_genesis=s.beacon.genesisTime(),
        beacon_period=s.beacon.period(),
        oracles=[str(s.staking.oracles(i)) for i in range(s.staking.oracleCount())],
        usage_cap_bps=s.issuance.usageCapBps(),
        minted=s.token.totalMinted(),
        burned=s.token.totalMinted() - s.token.totalSupply(),
        issuance_balance=s.token.balanceOf(s.issuance.address),
    )
    for account in stakers(s):
        n = s.staking.nodes(account)
        model.nodes[str(account)] = NodeM(n.role, n.pricePerIBM, n.stake, n.locked, n.unbonding, n.unbondingAt, n.ib,
                                          n.stakedAt)
    model.total_ib = s.staking.totalIB()
    # voting power: nobody has locked or delegated yet; every node's bonded stake votes for itself
    model.clock = lambda: boa.env.timestamp
    model.vote_stake = {account: model.bonded(account) for account in model.nodes}
    model._checkpoint_votes()
    return model


def stakers(s: System) -> list[str]:
    """Every node account (the ones that stake, earn rewards and get slashed), including the oracle
    that never registers, and the batch lane's keyed workers (last)."""
    return [s.manager, *s.workers, *(o.address for o in s.oracles), *BATCH_WORKERS]


def coalition(s: System) -> list[str]:
    """The accounts one owner controls: the creator, the manager, the workers (batch workers included) and
    the oracles."""
    return [s.creator, *stakers(s)]


def when_batches(*stages: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Enable a rule only while some batch is in one of ``stages``."""
    return precondition(lambda self: any(b.stage in stages for b in self.m.batches.values()))


def when_tasks(*states: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Enable a rule only while some task is in one of ``states``."""
    return precondition(lambda self: any(task.state in states for task in self.m.tasks.values()))


class ProtocolMachine(RuleBasedStateMachine):
    """Random protocol traffic, each step checked against the model and the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.s = SYSTEM
        self._seeds, self._results = dict(self.s.seeds), dict(self.s.results)
        self._anchor = contextlib.ExitStack()
        self._anchor.enter_context(boa.env.anchor())
        # a top-up above the minimums, so that a partial unbond or a few slashes do not stall the
        # manager or the oracles for the rest of the run (a run can still get there)
        top_ups = [(self.s.manager, 5_000 * IFX), *((o.address, 4_000 * IFX) for o in self.s.oracles[:3])]
        for account, extra in top_ups:
            self.s.fund(account, extra)
            with boa.env.prank(account):
                self.s.token.approve(self.s.staking.address, extra)
                self.s.staking.stake(extra)
        self.m = read_model(self.s)
        self.salts = 0
        # anyone may challenge: the creator, an outsider (admin), an oracle, or (added per task) its
        # worker; each is an account whose escrow claims System.escrow_liabilities() counts
        self.challengers = [self.s.creator, self.s.admin, self.s.oracles[2].address]
        # who opens a seed escrow and reveals the seed of a vanished manager: nobody the escrow or staking pays
        self.stranger = boa.env.generate_address("stranger")
        self.escrow_accounts = sorted({self.s.creator, self.s.treasury, self.s.admin, *self.s.workers,
                                       *(o.address for o in self.s.oracles)})
        # the batch lane: the batches posted (their leaves, manifests, seeds and results, which live in calldata
        # and events on chain), the manager's batch nonce, and every account a batch call may pay straight
        # (workers paid from a manager's slash, challengers' bonds and rewards)
        self.batch_data: dict[bytes, Batch] = {}
        self.batch_nonce = 0
        self.oracle_keys = {o.address: o.key for o in self.s.oracles}
        self.lane_payees = sorted({*BATCH_WORKERS, *self.s.workers, *(o.address for o in self.s.oracles),
                                   self.s.creator, self.s.admin, self.s.manager, self.stranger})
        # voting power: the coalition's accounts lock, unlock and delegate (to each other or to the stranger); the
        # timestamps the steps ended at, whose checkpoints later steps look up
        self.voters = [*coalition(self.s), self.stranger]
        self.step_times: list[int] = []
        # vesting: the revocable factory's bucket (the genesis holder funds it; the admin owns the factory), and its
        # escrows' contracts by address
        self.s.fund(self.s.vesting.address, VEST_BUCKET)
        self.m.vest_funded = VEST_BUCKET
        self.escrow_contracts: dict[str, object] = {}
        # the Governor's settings, which the model's proposals follow
        self.m.gov_threshold, self.m.gov_delay, self.m.gov_period = GOV_THRESHOLD, GOV_DELAY, GOV_PERIOD
        self.wealth0 = self.coalition_wealth()

    def teardown(self) -> None:
        self._anchor.close()
        self.s.seeds, self.s.results = self._seeds, self._results

    # ------------------------------------------------------------ choosing and checking
    @property
    def now(self) -> int:
        return boa.env.timestamp

    def warp_to(self, timestamp: int) -> None:
        """Move the clock forward to ``timestamp`` (never back)."""
        if timestamp > self.now:
            warp(timestamp - self.now)

    @staticmethod
    def stray(data: st.DataObject) -> bool:
        """True one time in eight: pick any target, to probe the wrong-state reverts too."""
        return data.draw(st.integers(0, 7), label="stray") == 0

    def pick_task(self, data: st.DataObject, *states: int) -> int:
        """Mostly a task in one of ``states``; now and then any task."""
        matching = [t for t, task in self.m.tasks.items() if task.state in states]
        if matching and not self.stray(data):
            return data.draw(st.sampled_from(matching), label="task")
        return data.draw(st.sampled_from(sorted(self.m.tasks)), label="any task")

    def pick(self, data: st.DataObject, preferred: Sequence[T], everything: Sequence[T], label: str) -> T:
        """Mostly one of ``preferred`` (when there is one); now and then one of ``everything``."""
        if preferred and not self.stray(data):
            return data.draw(st.sampled_from(preferred), label=label)
        return data.draw(st.sampled_from(everything), label=label)

    def fund(self, account: str, amount: int) -> None:
        """Hand ``account`` IFX from the genesis holder (outside money when the coalition gets it)."""
        self.s.fund(account, amount)
        if account in self.m.coalition:
            self.m.funded += amount

    def fresh_cid(self, task_id: int) -> str:
        """The result CID of the task's current attempt (one per attempt: the escrow takes a CID once)."""
        return f"bafyframes-{task_id}-{self.m.tasks[task_id].attempts}"

    def check_task(self, task_id: int) -> None:
        """The chain's copy of a task and of its job agree with the model's, field by field."""
        chain, model = self.s.escrow.tasks(task_id), self.m.tasks[task_id]
        assert (chain.state, chain.attempts, chain.reserved, chain.fee, chain.collateral, chain.deadline,
                chain.renderTime, chain.keyCommit != NO_KEY, chain.manifestDigest != NO_KEY) == (
            model.state, model.attempts, model.reserved, model.fee, model.collateral, model.deadline,
            model.render_time, model.keyed, model.keyed,
        ), f"task {task_id}: chain {chain} != model {model}"
        assert chain.worker.lower() == (model.worker or ZERO_ADDRESS).lower() and chain.passed == model.passed
        assert chain.challenger.lower() == (model.challenger or ZERO_ADDRESS).lower()
        assert chain.late == model.late, f"task {task_id}: late {chain.late} != {model.late}"
        assert self.s.beacon.roundTime(chain.escrowRound) == model.escrow_opens, f"task {task_id}: escrow time"
        assert self.s.escrow.bonds(task_id) == model.bond
        assert self.s.escrow.jobs(model.job_id).budget == self.m.jobs[model.job_id].budget

    def pay(self, fn: Callable[[], object], account: str, predicted: int | str) -> None:
        """A pull payment: reverts as predicted, or moves exactly the predicted amount to ``account``."""
        before = self.s.token.balanceOf(account)
        with expect(predicted if isinstance(predicted, str) else None), boa.env.prank(account):
            fn()
        if not isinstance(predicted, str):
            assert self.s.token.balanceOf(account) - before == predicted

    @contextlib.contextmanager
    def paying(self, *task_ids: int) -> Iterator[None]:
        """Around a call that may slash: the workers and challengers of ``task_ids`` (whom a slash may pay
        straight to: a winning challenger, a worker whose reveal was withheld) receive exactly the
        rewards the model paid them. (A payment to anyone else would leave the issuance contract short
        of the penalties the model expects: invariant 6.)"""
        tasks = [self.m.tasks[t] for t in task_ids]
        accounts = sorted({a for t in tasks for a in (t.worker, t.challenger) if a is not None})
        balances = [self.s.token.balanceOf(a) for a in accounts]
        paid = dict(self.m.paid)
        yield
        for account, before in zip(accounts, balances):
            expected = self.m.paid.get(account, 0) - paid.get(account, 0)
            assert self.s.token.balanceOf(account) - before == expected, f"{account}: reward != {expected}"
        assert all(a in accounts for a, v in self.m.paid.items() if v != paid.get(a, 0)), "paid someone else"

    def coalition_wealth(self) -> int:
        """Everything the coalition owns: balances (read from the chain), stakes, escrow claims, job
        budgets, live reservations, the fees held for its batches and the bonds it posted (with the escrow
        or the batch lane; the model's, equal to the chain's by the other invariants)."""
        s, m = self.s, self.m
        members = coalition(s)
        return (
            sum(s.token.balanceOf(a) for a in members)
            + sum(m.node(a).stake for a in stakers(s))
            + sum(m.claimable.get(a, 0) for a in members)
            + sum(job.budget for job in m.jobs.values())  # the creator's jobs
            + sum(t.reserved for t in m.tasks.values() if t.state in LIVE_STATES)
            + sum(t.bond for t in m.tasks.values() if t.challenger in m.coalition)
            + m.lane_held  # the fees the escrow holds for batches (of the creator's jobs)
            + sum(d.bond for b in m.batches.values() for d in b.disputes.values() if d.challenger in m.coalition)
            + sum(m.vote_locked.get(a, 0) for a in members)  # IFX locked in VotePower to vote
            + sum(v.locked for v in m.vestings.values() if v.beneficiary in m.coalition)  # vesting for it
        )

    # ------------------------------------------------------------ prices and time
    @rule(answer=st.sampled_from(PRICE_ANSWERS))
    def set_price(self, answer: int) -> None:
        """A new aggregator round; the feed's average weighs it from the next second on."""
        self.s.refresh_price(answer)
        self.m.rounds.append((answer, self.now))
        if self.m.price_fresh(self.now):
            assert self.s.feed.price() == self.m.rate(self.now)

    @rule(seconds=st.one_of(st.sampled_from(WARPS), st.integers(1, 8 * 86_400)))
    def time_warp(self, seconds: int) -> None:
        warp(seconds)
        if self.m.price_fresh(self.now):
            assert self.s.feed.price() == self.m.rate(self.now)

    # ------------------------------------------------------------ economics
    @initialize(burn_bps=st.integers(5_000, 10_000), epoch_cap=caps, emission_rate=rates, usage_cap=usage_caps)
    def economics(self, burn_bps: int, epoch_cap: int, emission_rate: int, usage_cap: int) -> None:
        """Every run settles fees at its own burn rate and usage cap, so that a mint that ignored the
        burns would drift from the model, and often under an epoch cap small enough to bind."""
        self._set_escrow("burnBps", burn_bps)
        self._set_issuance("epochCap", epoch_cap)
        self._set_issuance("emissionRate", emission_rate)
        self._set_issuance("usageCapBps", usage_cap)

    @initialize(node=st.integers(1, 6), share=st.integers(1, 10_000))
    def first_unbond(self, node: int, share: int) -> None:
        """Every run has a node unbonding part of its stake: a worker with collateral locked if there is
        one (when the first job's tasks were driven first), else a worker or an oracle."""
        locked = [a for a in stakers(self.s) if self.m.node(a).locked]
        account = locked[node % len(locked)] if locked else stakers(self.s)[node]
        n = self.m.nodes[account]
        self._unbond(account, max(1, (n.stake - n.locked - n.unbonding) * share // 10_000))

    @initialize(no_show_limit=st.sampled_from([1, 1, 2, 3]), no_show_slash_bps=st.sampled_from([100, 100, 1_000]))
    def no_shows(self, no_show_limit: int, no_show_slash_bps: int) -> None:
        """Runs slash no-shows (committee seats not voted, assignments not accepted) every 1-3 misses (the default:
        3), by 1 % of the stake or 10 %."""
        self._set_no_show(no_show_limit, no_show_slash_bps)

    # ------------------------------------------------------------ creator and manager
    @initialize(data=st.data(), budget=st.integers(5_000, 50_000).map(lambda n: n * IFX),
                max_price=st.sampled_from([USD // 2, USD, 2 * USD]), tasks=st.integers(2, 4), ibm=ibms)
    def first_job(self, data: st.DataObject, budget: int, max_price: int, tasks: int, ibm: int) -> None:
        """Every run starts with a job whose tasks stand at random stages of their lifecycle, whichever
        rules the run then leaves out (hypothesis switches random subsets of rules off per run)."""
        self.create_job(budget, max_price, False, tasks, ibm, 3_600, False)
        for task_id in sorted(self.m.tasks):
            self._advance(task_id, data)

    @initialize(data=st.data(), benchmark=st.booleans(), max_price=st.sampled_from([USD // 2, USD]))
    def first_benchmark(self, data: st.DataObject, benchmark: bool, max_price: int) -> None:
        """Half the runs also start with a benchmark job, its one task driven to a random stage (its
        settlement sets the worker's IB, and with it the worker's minimum stake)."""
        if benchmark:
            before = set(self.m.tasks)
            self.create_job(1_000 * IFX, max_price, False, 1, 0, 3_600, True)
            for task_id in sorted(set(self.m.tasks) - before):
                self._advance(task_id, data, [SETTLED, EPOCH_CLOSED, *STAGES])

    @precondition(lambda self: len(self.m.jobs) < MAX_JOBS and len(self.m.tasks) < MAX_TASKS)
    @rule(budget=budgets, max_price=st.sampled_from(MAX_PRICES), refresh=st.booleans(),
          tasks=st.integers(0, 3), ibm=ibms, window=windows, benchmark=st.sampled_from([False] * 4 + [True]))
    def create_job(self, budget: int, max_price: int, refresh: bool, tasks: int, ibm: int, window: int,
                   benchmark: bool) -> None:
        """A job with a random budget and price cap (locking the feed's average price), and possibly its
        first tasks; now and then a benchmark job, whose one task of the standard work measures IB."""
        s = self.s
        if benchmark:
            budget = max(budget, 100 * IFX)  # room for its one task, mostly
        if refresh:
            self.set_price(self.m.rounds[-1][0])
        reason = self.m.create_job(s.creator, s.manager, max_price, budget, self.now, benchmark)
        self.fund(s.creator, budget)
        create = s.escrow.createBenchmarkJob if benchmark else s.escrow.createJob
        with boa.env.prank(s.creator):
            s.token.approve(s.escrow.address, budget)
            with expect(reason):
                job_id = create(s.manager, "bafyscene", 1, 10, "640x360@64spp png", max_price, budget)
        if reason is None:
            assert job_id == len(self.m.jobs)
            assert s.escrow.jobs(job_id).usdPerIfx == self.m.jobs[job_id].rate
            if tasks:
                self._post(job_id, self.m.benchmark_work if benchmark else ibm, 1 if benchmark else tasks, window)

    @precondition(lambda self: self.m.jobs and len(self.m.tasks) < MAX_TASKS)
    @rule(data=st.data(), ibm=ibms, n=st.integers(1, 3), window=windows, standard=st.booleans())
    def post_tasks(self, data: st.DataObject, ibm: int, n: int, window: int, standard: bool) -> None:
        """Tasks for a job; a benchmark job mostly gets its one task of the standard work."""
        open_jobs = [j for j, job in self.m.jobs.items() if not job.closed]
        job_id = self.pick(data, open_jobs, sorted(self.m.jobs), "job")
        if self.m.jobs[job_id].benchmark and standard:
            ibm, n = self.m.benchmark_work, 1
        self._post(job_id, ibm, n, window)

    def _post(self, job_id: int, ibm: int, n: int, window: int) -> None:
        first = len(self.m.tasks) + 1
        reason = self.m.post(job_id, ibm, n, window, self.now)
        with expect(reason):
            ids = self.s.post(job_id, ibm=ibm, n=n, window=window)
        if reason is None:
            assert ids == list(range(first, first + n))

    @precondition(lambda self: self.m.jobs)
    @rule(data=st.data())
    def close_job(self, data: st.DataObject) -> None:
        open_jobs = [j for j, job in self.m.jobs.items() if not job.closed]
        job_id = self.pick(data, open_jobs, sorted(self.m.jobs), "job")
        with expect(self.m.close_job(job_id)), boa.env.prank(self.s.creator):
            self.s.escrow.closeJob(job_id)

    def _relayer(self, by_member: bool, fee: int) -> str:
        """Who relays a sponsored request: the manager (the fee stays in the coalition) or the stranger (the fee
        leaves it: outside money, as for a transfer)."""
        if by_member:
            return self.s.manager
        self.m.funded -= fee
        return self.stranger

    @precondition(lambda self: len(self.m.jobs) < MAX_JOBS)
    @rule(budget=budgets, max_price=st.sampled_from(MAX_PRICES), fee=st.sampled_from([0, 1, IFX, 10 * IFX]),
          by_member=st.booleans())
    def create_job_relayed(self, budget: int, max_price: int, fee: int, by_member: bool) -> None:
        """A relayer creates the creator's job (``JobRelay.createJobFor``): the creator signs the request and a
        permit of budget + fee; the escrow's money is the same as for a direct create, and the relay keeps no IFX."""
        s = self.s
        reason = self.m.create_job(s.creator, s.manager, max_price, budget, self.now)
        self.fund(s.creator, budget + fee)
        before = s.token.balanceOf(s.creator)
        relayer = self._relayer(by_member, fee)
        earned = s.token.balanceOf(relayer)
        request = CreateJobRequest(s.creator, s.manager, "bafyscene", 1, 10, "640x360@64spp png", max_price, budget,
                                   fee, s.relay.nonces(s.creator), self.now + 600, relayer)
        signature = sign_create_job(s.creator_key, s.chain_id, s.relay.address, request)
        permit = sign_permit(s.creator_key, s.chain_id, s.token.address, s.creator, s.relay.address, budget + fee,
                             s.token.nonces(s.creator), request.deadline).signature
        with expect(reason), boa.env.prank(relayer):
            job_id = s.relay.createJobFor(*create_job_args(request, signature, bytes(permit)))
        if reason is None:
            assert job_id == len(self.m.jobs) and s.escrow.jobs(job_id).creator == s.creator
            assert s.token.balanceOf(s.creator) == before - budget - fee
            assert s.token.balanceOf(relayer) == earned + fee
        elif not by_member:
            self.m.funded += fee  # refused: no fee left the coalition

    @precondition(lambda self: self.m.jobs)
    @rule(data=st.data(), by_member=st.booleans())
    def close_job_relayed(self, data: st.DataObject, by_member: bool) -> None:
        """A relayer closes one of the creator's jobs from its signed request (no fee: the creator may hold no IFX)."""
        s = self.s
        open_jobs = [j for j, job in self.m.jobs.items() if not job.closed]
        job_id = self.pick(data, open_jobs, sorted(self.m.jobs), "job")
        relayer = self._relayer(by_member, 0)
        request = ForwardRequest(s.creator, CLOSE_JOB, job_id, 0, s.relay.nonces(s.creator), self.now + 600)
        signature = sign_forward(s.creator_key, s.chain_id, s.relay.address, request)
        with expect(self.m.close_job(job_id)), boa.env.prank(relayer):
            s.relay.forwardFor(*forward_args(request, signature))

    @when_tasks(POSTED)
    @rule(data=st.data(), by_creator=st.booleans())
    def cancel(self, data: st.DataObject, by_creator: bool) -> None:
        task_id = self.pick_task(data, POSTED)
        sender = self.s.creator if by_creator else self.s.manager
        with expect(self.m.cancel(task_id, sender)), boa.env.prank(sender):
            self.s.escrow.cancelTask(task_id)
        self.check_task(task_id)

    @when_tasks(POSTED)
    @rule(data=st.data(), how=st.sampled_from(["fresh"] * 4 + ["reused", "by creator"]))
    def rekey(self, data: st.DataObject, how: str) -> None:
        """The manager gives a re-queued task (or one whose seed escrow is too close to open) a fresh secret and
        escrow; a used commitment, a task that still has its key and a holding escrow, or another sender is
        refused."""
        keyless = [t for t, task in self.m.tasks.items() if task.state == POSTED and self.needs_key(t)]
        self._rekey(self.pick(data, keyless, sorted(self.m.tasks), "task"), how)

    def needs_key(self, task_id: int) -> bool:
        """An open task cannot be assigned before a ``rekey``: its key is spent or its escrow too close."""
        task = self.m.tasks[task_id]
        return not task.keyed or not self.m.escrow_holds(task, self.now)

    def _rekey(self, task_id: int, how: str = "fresh") -> None:
        s = self.s
        if how == "fresh":
            with expect(self.m.rekey(task_id, s.manager, reused=False, now=self.now)):
                s.rekey(task_id)
        else:
            used = sorted(t for t in self.m.tasks if ("task", t) in s.seeds)
            seed = s.seeds[("task", used[task_id % len(used)])] if how == "reused" else os.urandom(32)
            sender = s.manager if how == "reused" else s.creator
            args = s.rekey_args(task_id, seed)
            with expect(self.m.rekey(task_id, sender, reused=how == "reused", now=self.now)), boa.env.prank(sender):
                s.escrow.rekey(task_id, *args)
        self.check_task(task_id)

    @precondition(lambda self: any(self.m.claimable.values()))
    @rule(data=st.data())
    def withdraw_escrow(self, data: st.DataObject) -> None:
        owed = [a for a in self.escrow_accounts if self.m.claimable.get(a, 0) > 0]
        account = self.pick(data, owed, self.escrow_accounts, "account")
        self.pay(self.s.escrow.withdraw, account, self.m.withdraw(account))

    # ------------------------------------------------------------ worker
    @when_tasks(POSTED)
    @rule(data=st.data(), worker=st.sampled_from([0, 1, 2, 0, 1, 2, 3]))
    def assign(self, data: st.DataObject, worker: int) -> None:
        task_id = self.pick_task(data, POSTED)
        # index 3 offers the task to an oracle, which must then fail to accept it
        account = self.s.workers[worker] if worker < 3 else self.s.oracles[0].address
        with expect(self.m.assign(task_id, account, self.now)), boa.env.prank(self.s.manager):
            self.s.escrow.assign(task_id, account)
        self.check_task(task_id)

    @when_tasks(ASSIGNED)
    @rule(data=st.data(), late=st.sampled_from([False, False, False, True]))
    def accept(self, data: st.DataObject, late: bool) -> None:
        """The assigned worker accepts, or (``late``) tries to once the acceptance window has passed."""
        task_id = self.pick_task(data, ASSIGNED)
        worker = self.m.tasks[task_id].worker or self.s.workers[0]
        if late and self.m.tasks[task_id].state == ASSIGNED:
            self.warp_to(self.m.tasks[task_id].deadline + 1)
        with expect(self.m.accept(task_id, self.now)), boa.env.prank(worker):
            self.s.escrow.accept(task_id)
        self.check_task(task_id)

    @when_tasks(ACCEPTED)
    @rule(data=st.data(), reveal=st.booleans(), reuse=st.sampled_from([False, False, False, True]),
          render=st.sampled_from([0, 0, 59, 1_199, 7_201]))
    def submit(self, data: st.DataObject, reveal: bool, reuse: bool, render: int) -> None:
        """The worker submits after ``render`` seconds (and the key is revealed); a result CID used
        before, by any task, is refused."""
        task_id = self.pick_task(data, ACCEPTED)
        worker = self.m.tasks[task_id].worker or self.s.workers[0]
        cid = self.fresh_cid(task_id)
        if reuse and self.m.results_used:
            # a CID used before, by this task (refused) or another one (accepted: copies elsewhere block nothing)
            cid = data.draw(st.sampled_from(sorted({c for _, c in self.m.results_used})), label="used cid")
        if render:
            warp(render)
        reason = self.m.submit(task_id, cid, self.now)
        if reveal and reason is None:
            assert self.m.reveal(task_id, self.now) is None
            self.s.submit_reveal(task_id, worker, cid=cid)
        else:
            with expect(reason), boa.env.prank(worker):
                self.s.escrow.submitResult(task_id, cid)
        self.check_task(task_id)

    @when_tasks(SUBMITTED)
    @rule(data=st.data(), wrong_seed=st.sampled_from([False, False, False, True]),
          by=st.sampled_from(["manager", "manager", "stranger", "worker"]), late=st.sampled_from([False, False, True]))
    def reveal(self, data: st.DataObject, wrong_seed: bool, by: str, late: bool) -> None:
        """Anyone who knows the seed reveals it (the manager, or a stranger or the worker that opened its escrow);
        ``late``: after the reveal window, which slashes the manager once."""
        task_id = self.pick_task(data, SUBMITTED)
        task = self.m.tasks[task_id]
        if late and task.state == SUBMITTED:
            self.warp_to(task.deadline + 1)
        self._reveal_key(task_id, by, wrong_seed)

    def _reveal_key(self, task_id: int, by: str = "manager", wrong_seed: bool = False) -> None:
        sender = {"manager": self.s.manager, "stranger": self.stranger,
                  "worker": self.m.tasks[task_id].worker or self.s.workers[0]}[by]
        seed = self.s.seed(task_id)
        if wrong_seed:
            seed = bytes(b ^ 0xFF for b in seed)
            not_submitted = self.m.tasks[task_id].state != SUBMITTED
            reason = "escrow: task not submitted" if not_submitted else "escrow: seed does not match commitment"
            with expect(reason), boa.env.prank(sender):
                self.s.escrow.revealKey(task_id, seed)
        else:
            # a late reveal slashes the manager, paying nobody
            with self.paying(task_id), expect(self.m.reveal(task_id, self.now)), boa.env.prank(sender):
                self.s.escrow.revealKey(task_id, seed)
        self.check_task(task_id)

    @when_tasks(SUBMITTED)
    @rule(data=st.data(), by=st.sampled_from(["stranger", "stranger", "worker"]))
    def reveal_from_escrow(self, data: st.DataObject, by: str) -> None:
        """The seed escrow of a submitted task (mostly one whose manager is late) opens at its beacon round's time:
        a stranger or the worker decrypts it and reveals the seed (late if the reveal window has passed)."""
        submitted = [t for t, task in self.m.tasks.items() if task.state == SUBMITTED]
        late = [t for t in submitted if self.m.tasks[t].late]
        task_id = self.pick(data, late or submitted, sorted(self.m.tasks), "task")
        self._reveal_from_escrow(task_id, by)

    def _reveal_from_escrow(self, task_id: int, by: str = "stranger") -> None:
        task = self.m.tasks[task_id]
        if task.state == SUBMITTED:
            self.warp_to(task.escrow_opens)
        self._reveal_key(task_id, by)

    @when_tasks(POSTED)
    @rule(data=st.data())
    def advance_task(self, data: st.DataObject) -> None:
        """A posted task through its lifecycle up to a random stage, so that the other rules find tasks
        in every state."""
        self._advance(self.pick_task(data, POSTED), data)

    def _advance(self, task_id: int, data: st.DataObject, stages: list[int] = STAGES) -> None:
        """Re-key (a re-queued task), assign, accept, submit, then reveal or (now and then) a reveal the
        manager misses, a committee round (stopped part-way when the stage is REVEALED; else unanimous,
        with a dissenter, a silent member, or split without a quorum, which the verify deadline re-queues;
        a dissenter or someone else may challenge the verdict, and the arbiter resolves the dispute or
        leaves it to time out), settlement after the challenge window and the close of the epoch, up to a
        random stage or the first refusal."""
        task = self.m.tasks[task_id]
        worker = data.draw(st.sampled_from(self.s.workers), label="worker")
        stage = data.draw(st.sampled_from(stages), label="stage")
        if task.state == POSTED and self.needs_key(task_id):
            self._rekey(task_id)
        if self.m.jobs[task.job_id].benchmark:
            # a benchmark's render time is its measurement: IB = standard work / minutes taken
            # (30 s makes IB 4, a minimum stake above a worker's 20,000 IFX: it stops taking tasks)
            render = data.draw(st.sampled_from([60, 120, 120, 1_200, 3_599, 30]), label="render time")
        else:
            render = 0
        cid = self.fresh_cid(task_id)

        def submit() -> str | None:
            if render and task.state == ACCEPTED:
                warp(render)
            return self.m.submit(task_id, cid, self.now)

        steps: list[tuple[int, Callable[[], str | None], Callable[[], object]]] = [
            (ASSIGNED, lambda: self.m.assign(task_id, worker, self.now),
             lambda: self.s.escrow.assign(task_id, worker, sender=self.s.manager)),
            (ACCEPTED, lambda: self.m.accept(task_id, self.now), lambda: self.s.escrow.accept(task_id, sender=worker)),
            (SUBMITTED, submit, lambda: self.s.escrow.submitResult(task_id, cid, sender=worker)),
            (REVEALED, lambda: self.m.reveal(task_id, self.now),
             lambda: self.s.escrow.revealKey(task_id, self.s.seed(task_id))),
        ]
        for reached, predict, call in steps:
            if stage < reached:
                break
            missed = data.draw(st.sampled_from([None] * 6 + list(MISSED_REVEALS)), label="reveal missed") \
                if reached == REVEALED and task.state == SUBMITTED else None
            if missed is not None:
                self._missed_reveal(task_id, missed)
                if task.state != REVEALED:
                    break
                continue
            reason = predict()
            with expect(reason):
                call()
            if reason is not None:
                break
        if stage == REVEALED and task.state == REVEALED:
            self._partial_round(task_id, data)
        if stage >= VERIFIED and task.state == REVEALED:
            passed = data.draw(st.sampled_from([True, True, False]), label="passed")
            plan = data.draw(st.sampled_from([None] * 4 + ["dissent", "silent", "split", "challenge", "challenge"]),
                             label="plan")
            ballots = {None: ["with"] * 3, "dissent": ["with", "with", "against"], "silent": ["with", "with", "silent"],
                       "split": ["with", "against", "silent"], "challenge": ["with"] * 3}[plan]
            self._committee_vote(task_id, passed, ballots, probe=data.draw(st.sampled_from(PROBES), label="probe"))
            if plan in ("dissent", "challenge") and task.state == VERIFIED:
                dissenters = self.dissenters(task_id)
                by = dissenters[0] if dissenters else data.draw(
                    st.sampled_from([*self.challengers, task.worker]), label="by")
                self._challenge(task_id, by)
            if task.state == DISPUTED:
                if data.draw(st.sampled_from([True, True, True, False]), label="arbiter decides"):
                    self._resolve(task_id, data.draw(st.booleans(), label="passed finally"), self.s.arbiter)
                else:
                    self.warp_to(task.deadline + 1)
                    self._expire(task_id)
            if stage >= SETTLED and task.state == REVEALED:
                # no quorum (or no committee): the verify deadline re-queues the task, no fault of the worker
                self.warp_to(task.deadline + 1)
                self._expire(task_id)
            if stage >= SETTLED and task.state == VERIFIED:
                self.warp_to(task.deadline + 1)
                self._settle([task_id])
        self.check_task(task_id)
        if stage == EPOCH_CLOSED and task.state == SETTLED:
            self.close_epoch(refresh=True, claim_all=data.draw(st.booleans(), label="claim all"))

    def _missed_reveal(self, task_id: int, how: str) -> None:
        """The manager lets the reveal window of a submitted task pass: it reveals late itself ("late"); or the
        task is expired (a late slash) and then a stranger reveals the seed from its escrow ("escrow"), nobody
        can ("never opens": expired again, the manager slashed again and the task re-queued), or the task is left
        waiting for its escrow ("waiting")."""
        task = self.m.tasks[task_id]
        self.warp_to(task.deadline + 1)
        if how == "late":
            self._reveal_key(task_id, "manager")
            return
        self._expire(task_id)
        if how == "escrow":
            self._reveal_from_escrow(task_id)
        elif how == "never opens":
            self.warp_to(task.deadline + 1)
            self._expire(task_id)
        self.check_task(task_id)

    # ------------------------------------------------------------ committees
    def _publish(self, task_id: int) -> None:
        """The beacon publishes the round that draws the task's committee (the clock moves to its time)."""
        round_ = self.m.draw_round(task_id)
        if round_ == 0:
            return  # nothing submitted: no round to wait for
        assert self.s.publish_round(task_id) == round_ == self.s.por.drawRound(task_id)
        self.m.randomness[round_] = bytes(self.s.beacon.randomness(round_))

    def _draw(self, task_id: int) -> None:
        with expect(self.m.draw(task_id, self.now)):
            self.s.por.drawCommittee(task_id)
        self.check_committee(task_id)

    def salt(self, oracle: str, task_id: int) -> bytes:
        self.salts += 1
        return keccak(f"{oracle}/{task_id}/{self.salts}".encode())

    def _commit(self, task_id: int, oracle: str, passed: bool, score: int = 9_000, check: bool = True) -> None:
        """``oracle`` commits to a vote with a fresh salt (drawing the committee if nobody has)."""
        vote = (passed, score, self.salt(oracle, task_id))
        digest = commitment(task_id, self.m.tasks[task_id].attempts, oracle, *vote)
        with expect(self.m.commit_vote(task_id, oracle, vote, self.now)), boa.env.prank(oracle):
            self.s.por.commitVote(task_id, digest)
        if check:
            self.check_committee(task_id)

    def _reveal(self, task_id: int, oracle: str, vote: tuple[bool, int, bytes], check: bool = True) -> None:
        """``oracle`` reveals ``vote``; the last reveal finalizes (and may slash no-shows)."""
        key = (task_id, self.m.tasks[task_id].attempts)
        with self.paying(task_id):
            reason = self.m.reveal_vote(task_id, oracle, vote, self.now)
            with expect(reason), boa.env.prank(oracle):
                self.s.por.revealVote(task_id, *vote)
        finalized = reason is None and self.m.committees[key].finalized
        if check or finalized:
            self.check_committee(task_id, key)
        if finalized:
            self.check_credits()

    def _finalize(self, task_id: int) -> None:
        key = (task_id, self.m.tasks[task_id].attempts)
        with self.paying(task_id):
            reason = self.m.finalize(task_id, self.now)
            with expect(reason):
                self.s.por.finalize(task_id)
        self.check_committee(task_id, key)
        if reason is None:
            self.check_credits()

    def _committee_vote(self, task_id: int, passed: bool, ballots: Sequence[str], score: int = 9_000,
                        probe: str | None = None) -> None:
        """A whole committee round: the round is published, the committee drawn (if nobody has), member i
        votes ``passed`` (ballot "with"), the other way ("against") or stays silent; each commits (unless it
        already has: it then reveals its earlier vote), time moves past the commit phase if someone is
        silent, the votes are revealed, and past the reveal phase to finalize if someone stayed silent.
        ``probe`` adds one call out of turn, each refused as the model predicts: a draw before the beacon
        round, a second draw, a commit by an outsider, a second commit, a reveal before every member
        committed, a reveal of another vote, a second reveal, a reveal without a commitment, a finalize
        during the reveal phase, a commit after the commit phase, or a member that committed but reveals
        only after the reveal phase (a no-show); or ("late stake") one or two oracles add stake after the
        submission, which keeps them out of the draw (two leave fewer than a quorum: no draw)."""
        m = self.m
        if m.committee(task_id) is None:
            if probe == "undrawn":
                self._draw(task_id)
            elif probe == "late stake" and m.tasks[task_id].submitted_at:
                self.warp_to(m.tasks[task_id].submitted_at + 1)
                for i in range(1 + task_id % 2):
                    self.stake(4 + (task_id + i) % 3, IFX)
            self._publish(task_id)
            self._draw(task_id)
        c = m.committee(task_id)
        if c is None or c.finalized or m.tasks[task_id].state != REVEALED:
            self._finalize(task_id)  # refused: there is nothing to decide
            return
        if probe == "redraw":
            self._draw(task_id)
        elif probe == "outsider commit":
            self._commit(task_id, self.s.oracles[3].address, passed, score, check=False)
        ballot = dict(zip(c.members, ballots))
        voting = [member for member in c.members if ballot[member] != "silent"]
        for member in voting:
            if member not in c.commitments:
                self._commit(task_id, member, passed if ballot[member] == "with" else not passed, score, check=False)
            if probe == "double commit" and member in c.commitments:
                self._commit(task_id, member, passed, score, check=False)
                probe = None
            if probe == "early reveal" and member in c.commitments:
                self._reveal(task_id, member, c.commitments[member], check=False)
                probe = None
        if probe == "early finalize":
            self._finalize(task_id)
        if len(c.commitments) < len(c.members):
            self.warp_to(c.commit_ends + 1)
            if probe == "late commit":
                late = [member for member in c.members if member not in c.commitments]
                self._commit(task_id, late[0], passed, score, check=False)
        held = voting[-1] if probe == "late reveal" and voting else None
        for member in voting:
            if member in c.commitments and member != held and not c.finalized:
                vote = c.commitments[member]
                if probe == "wrong reveal":
                    self._reveal(task_id, member, (not vote[0], *vote[1:]), check=False)
                elif probe == "silent reveal":
                    silent = [o.address for o in self.s.oracles if o.address not in c.commitments]
                    self._reveal(task_id, silent[0], (passed, score, b"\x02" * 32), check=False)
                self._reveal(task_id, member, vote, check=False)
                if probe == "double reveal":
                    self._reveal(task_id, member, vote, check=False)
                probe = None
        if not c.finalized:
            self.warp_to(c.reveal_ends + 1)
            if held in c.commitments:
                self._reveal(task_id, held, c.commitments[held], check=False)
            self._finalize(task_id)

    def _partial_round(self, task_id: int, data: st.DataObject) -> None:
        """Part of a committee round, up to a random phase: the round published, the committee drawn, some or
        all members committed, some revealed."""
        phase = data.draw(st.sampled_from(COMMITTEE_PHASES), label="committee phase")
        if phase == "none":
            return
        self._publish(task_id)
        if phase == "published":
            return
        self._draw(task_id)
        c = self.m.committee(task_id)
        if phase == "drawn" or c is None:
            return
        if len(c.members) < 2 and phase in ("committed", "revealed"):
            phase = "all committed"  # a committee of one has no part-way
        committing = c.members if phase != "committed" else c.members[:data.draw(st.integers(1, len(c.members) - 1),
                                                                                 label="committing")]
        for member in committing:
            self._commit(task_id, member, data.draw(st.sampled_from([True, True, False]), label="vote"), check=False)
        if phase == "revealed":
            for member in c.members[:data.draw(st.integers(1, len(c.members) - 1), label="revealing")]:
                if member in c.commitments:
                    self._reveal(task_id, member, c.commitments[member], check=False)
        self.check_committee(task_id)

    def dissenters(self, task_id: int) -> list[str]:
        """The members of the task's current attempt who revealed a vote against its verdict."""
        task = self.m.tasks[task_id]
        votes = self.m.votes.get((task_id, task.attempts), {})
        return [o for o, v in votes.items() if v.passed != task.passed]

    def check_committee(self, task_id: int, key: tuple[int, int] | None = None) -> None:
        """The chain's committee of an attempt (the task's current one by default) is the model's: members
        in draw order, schedule, counts, tallies; and every oracle's no-show count."""
        key = key or (task_id, self.m.tasks[task_id].attempts)
        c: CommitteeM | None = self.m.committees.get(key)
        chain = self.s.por.committees(committee_key(*key))
        if c is None:
            assert chain.round == 0, f"{key}: a committee the model did not draw"
        else:
            assert (chain.round, chain.quorum, chain.commitEnds, chain.revealEnds, chain.members, chain.committed,
                    chain.revealed, chain.finalized) == (
                c.round, c.quorum, c.commit_ends, c.reveal_ends, len(c.members), len(c.commitments), len(c.revealed),
                c.finalized), f"{key}: chain {chain} != model {c}"
            assert [str(a) for a in self.s.por.committeeOf(*key)] == c.members
            assert tuple(self.s.por.tallies(committee_key(*key))) == self.m.tally(key)
        for account in stakers(self.s):  # workers miss assignments, oracles committee seats
            assert self.s.staking.missed(account) == self.m.missed.get(account, 0), f"{account}: missed"

    def check_credits(self) -> None:
        """Each oracle's verdict weight in the open epoch is the model's: the fees of the final verdicts
        it voted for, less those the arbiter overturned."""
        epoch = len(self.m.epochs) - 1
        for oracle in self.s.oracles[:3]:
            weight = self.m.current.oracle_weights.get(oracle.address, 0)
            assert self.s.issuance.oracleWeights(epoch, oracle.address) == weight, f"{oracle.address}: weight"

    def _challenge(self, task_id: int, challenger: str) -> None:
        """A challenge funded with exactly the bond it takes: the fixed bond, or a share of the fee."""
        bond = self.m.bond_for(task_id)
        assert self.s.escrow.bondFor(task_id) == bond
        self.fund(challenger, bond)
        with boa.env.prank(challenger):
            self.s.token.approve(self.s.escrow.address, bond)
        with expect(self.m.challenge(task_id, challenger, self.now)), boa.env.prank(challenger):
            self.s.escrow.challenge(task_id)

    def _resolve(self, task_id: int, passed: bool, sender: str) -> None:
        with self.paying(task_id):
            reason = self.m.resolve(task_id, passed, sender, self.s.arbiter, self.now)
            with expect(reason), boa.env.prank(sender):
                self.s.por.resolveDispute(task_id, passed)
        if reason is None:
            self.check_credits()

    @rule(worker=st.integers(0, 2 + len(BATCH_WORKERS)), price=st.sampled_from(WORKER_PRICES))
    def worker_profile(self, worker: int, price: int) -> None:
        """A worker (3 on: a batch worker) reprices, which moves its minimum stake (its IB only a benchmark
        task moves) and whether it may work for a job's maximum price."""
        account = [*self.s.workers, *BATCH_WORKERS][worker]
        with boa.env.prank(account):
            self.s.staking.setPrice(price)
        self.m.nodes[account].price = price

    # ------------------------------------------------------------ verification and disputes
    def pick_committee_task(self, data: st.DataObject, want: Callable[[CommitteeM | None], bool]) -> int:
        """Mostly a revealed task whose committee (None: not drawn) is as wanted; now and then any task."""
        preferred = [t for t, task in self.m.tasks.items() if task.state == REVEALED and want(self.m.committee(t))]
        return self.pick(data, preferred, sorted(self.m.tasks), "task")

    @when_tasks(REVEALED)
    @rule(data=st.data(), publish=st.sampled_from([True, True, True, False]))
    def draw_committee(self, data: st.DataObject, publish: bool) -> None:
        """Anyone draws a revealed task's committee: refused before its beacon round is published, twice,
        or with fewer than a quorum of oracles whose stake was in place before the submission."""
        task_id = self.pick_committee_task(data, lambda c: c is None)
        if publish:
            self._publish(task_id)
        self._draw(task_id)

    @when_tasks(REVEALED)
    @rule(data=st.data(), who=st.sampled_from(["member"] * 5 + ["outsider", "again"]),
          passed=st.sampled_from([True, True, False]), score=st.integers(0, 10_000),
          late=st.sampled_from([False] * 5 + [True]), publish=st.sampled_from([True, True, True, False]))
    def commit_vote(self, data: st.DataObject, who: str, passed: bool, score: int, late: bool, publish: bool) -> None:
        """A member commits to its vote (the first commit draws the committee); refused for a non-member (the
        oracle that never registered, or one left out of the draw), after the commit phase, or twice."""
        task_id = self.pick_committee_task(data, lambda c: c is None or not c.finalized)
        c = self.m.committee(task_id)
        if c is None and publish:
            self._publish(task_id)
        members = c.members if c else [o.address for o in self.s.oracles[:3]]
        outsiders = [o.address for o in self.s.oracles if o.address not in members]
        if who == "outsider":
            oracle = data.draw(st.sampled_from(outsiders), label="outsider")
        elif who == "again" and c and c.commitments:
            oracle = data.draw(st.sampled_from(sorted(c.commitments)), label="committed")
        else:
            fresh = [m for m in members if not c or m not in c.commitments]
            oracle = self.pick(data, fresh, members, "member")
        if late and c:
            self.warp_to(c.commit_ends + 1)
        self._commit(task_id, oracle, passed, score)

    @when_tasks(REVEALED)
    @rule(data=st.data(), how=st.sampled_from(["honest"] * 5 + ["other vote", "other score", "uncommitted"]),
          wait=st.sampled_from([True, True, True, False]), late=st.sampled_from([False] * 5 + [True]))
    def reveal_vote(self, data: st.DataObject, how: str, wait: bool, late: bool) -> None:
        """A member reveals its committed vote (the last reveal finalizes); refused during the commit phase
        (unless every member has committed), after the reveal phase, twice, without a commitment, or for a
        vote or score other than the committed one."""
        task_id = self.pick_committee_task(data, lambda c: c is not None and not c.finalized and bool(c.commitments))
        c = self.m.committee(task_id)
        if c is None:
            oracle, vote = self.s.oracles[0].address, (True, 9_000, b"\x01" * 32)
        else:
            unrevealed = [m for m in c.commitments if m not in c.revealed]
            if how == "uncommitted":
                oracle = data.draw(st.sampled_from([o.address for o in self.s.oracles]), label="oracle")
            else:
                oracle = self.pick(data, unrevealed, c.members, "member")
            vote = c.commitments.get(oracle, (True, 9_000, b"\x01" * 32))
            if how == "other vote":
                vote = (not vote[0], *vote[1:])
            elif how == "other score":
                vote = (vote[0], (vote[1] + 1) % 10_001, vote[2])
            if wait:
                self.warp_to(c.commit_ends + 1)
            if late:
                self.warp_to(c.reveal_ends + 1)
        self._reveal(task_id, oracle, vote)
        self.check_task(task_id)

    @when_tasks(REVEALED)
    @rule(data=st.data(), wait=st.sampled_from([True, True, True, False]))
    def finalize(self, data: st.DataObject, wait: bool) -> None:
        """Anyone finalizes a committee after its reveal phase (refused before it, or twice): the majority
        decides and its voters are credited; members that did not reveal miss a seat (every
        ``noShowLimit``-th miss is slashed); without a quorum the task waits for its verify deadline."""
        task_id = self.pick_committee_task(data, lambda c: c is not None and not c.finalized)
        c = self.m.committee(task_id)
        if wait and c is not None:
            self.warp_to(c.reveal_ends + 1)
        self._finalize(task_id)
        self.check_task(task_id)

    @when_tasks(REVEALED)
    @rule(data=st.data(), passed=st.booleans(), score=st.integers(0, 10_000),
          ballots=st.lists(st.sampled_from(["with"] * 3 + ["against", "silent"]), min_size=3, max_size=3),
          probe=st.sampled_from(PROBES))
    def committee_vote(self, data: st.DataObject, passed: bool, score: int, ballots: list[str],
                       probe: str | None) -> None:
        """A whole committee round, each member with the majority, against it or silent (with a call out of
        turn now and then)."""
        task_id = self.pick_committee_task(data, lambda c: c is None or not c.finalized)
        self._committee_vote(task_id, passed, ballots, score, probe)
        self.check_task(task_id)

    @when_tasks(VERIFIED)
    @rule(data=st.data())
    def dissent(self, data: st.DataObject) -> None:
        """A member that voted against the final verdict challenges it, bonded like anyone."""
        verified = [t for t, task in self.m.tasks.items() if task.state == VERIFIED and self.dissenters(t)]
        task_id = self.pick(data, verified, sorted(t for t, task in self.m.tasks.items() if task.state == VERIFIED),
                            "task")
        dissenters = self.dissenters(task_id) or [self.s.oracles[0].address]
        self._challenge(task_id, data.draw(st.sampled_from(dissenters), label="dissenter"))
        self.check_task(task_id)

    @when_tasks(VERIFIED)
    @rule(data=st.data(), by=st.integers(0, 3))
    def challenge(self, data: st.DataObject, by: int) -> None:
        """A bonded challenge of a verdict (``by`` 3: by the task's own worker), within its window or
        (refused) after it."""
        task_id = self.pick_task(data, VERIFIED)
        challenger = [*self.challengers, self.m.tasks[task_id].worker or self.s.workers[0]][by]
        self._challenge(task_id, challenger)
        self.check_task(task_id)

    @when_tasks(DISPUTED)
    @rule(data=st.data(), passed=st.booleans(), stray_sender=st.sampled_from([False, False, False, True]))
    def resolve(self, data: st.DataObject, passed: bool, stray_sender: bool) -> None:
        """The arbiter decides: every voter on the losing side is slashed (a winning challenger shares
        the slashes), the winning side credited; anyone else is refused."""
        task_id = self.pick_task(data, DISPUTED)
        self._resolve(task_id, passed, self.s.creator if stray_sender else self.s.arbiter)
        self.check_task(task_id)

    # ------------------------------------------------------------ settlement and expiry
    @when_tasks(VERIFIED)
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        """Settle a batch: refused while a challenge window is open, accepted once it has passed."""
        verified = [t for t, task in self.m.tasks.items() if task.state == VERIFIED]
        pool = sorted(self.m.tasks) if self.stray(data) else verified
        batch = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4), label="batch")
        if self.m.settle_refusal(batch, self.now) == "escrow: challenge window open":
            with expect("escrow: challenge window open"):
                self.s.escrow.settle(batch)
            self.warp_to(max(self.m.tasks[t].deadline for t in batch) + 1)
        self._settle(batch)
        for task_id in set(batch):
            self.check_task(task_id)

    def _settle(self, batch: list[int]) -> None:
        supply, burned = self.s.token.totalSupply(), self.m.burned
        with self.paying(*batch), expect(self.m.settle(batch, self.now)):
            self.s.escrow.settle(batch)
        # the escrow burns exactly the burnBps share of the fees it settles (and the epoch records the
        # model's burns: invariant 3)
        assert supply - self.s.token.totalSupply() == self.m.burned - burned
        if any(self.m.jobs[self.m.tasks[t].job_id].benchmark for t in batch):
            assert self.s.staking.totalIB() == self.m.total_ib

    @when_tasks(ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, DISPUTED)
    @rule(data=st.data(), late=st.sampled_from([False, False, True]))
    def expire(self, data: st.DataObject, late: bool) -> None:
        """A missed deadline, or (``late``) the same once the deadline has passed: a no-show worker is
        slashed, a missed reveal slashes the manager, a challenge left undecided keeps its verdict."""
        task_id = self.pick_task(data, ASSIGNED, ACCEPTED, SUBMITTED, REVEALED, DISPUTED)
        if late:
            self.warp_to(self.m.tasks[task_id].deadline + 1)
        self._expire(task_id)
        self.check_task(task_id)

    def _expire(self, task_id: int) -> None:
        with self.paying(task_id), expect(self.m.expire(task_id, self.now)):
            self.s.escrow.expire(task_id)

    @when_tasks(REVEALED, VERIFIED)
    @rule(data=st.data())
    def prove_bad_manifest(self, data: st.DataObject) -> None:
        """Anyone proves the task's committed manifest bogus (every manifest the machine's manager commits is: see
        ``bogus_manifest``): the manager is slashed, the worker paid its fee from the slash, the task re-queued."""
        from inferix.sealing import HEAD_BYTES

        task_id = self.pick_task(data, REVEALED, VERIFIED)
        blob = bogus_manifest(self.s.seed(task_id))
        with self.paying(task_id), expect(self.m.prove_bad_manifest(task_id)):
            self.s.por.proveBadManifest(task_id, self.s.seed(task_id), blob[:HEAD_BYTES], keccak(blob[HEAD_BYTES:]))
        self.check_task(task_id)

    # ------------------------------------------------------------ the batch lane
    def pick_batch(self, data: st.DataObject, preferred: Sequence[bytes]) -> bytes:
        """Mostly one of ``preferred``; now and then any batch."""
        return self.pick(data, sorted(preferred), sorted(self.m.batches), "batch")

    @contextlib.contextmanager
    def lane_paying(self) -> Iterator[None]:
        """Around a batch call that may pay someone straight (a worker paid from its manager's slash, through the
        lane; a challenger's bond or reward): every account receives exactly what the model paid it, and the
        model paid nobody else. (The lane forwards what the manager's slash paid it at once, and keeps exactly
        the bonds it holds: invariant ``lane_holds_its_bonds``.)"""
        accounts = self.lane_payees
        balances = [self.s.token.balanceOf(a) for a in accounts]
        paid = dict(self.m.paid)
        yield
        for account, before in zip(accounts, balances):
            expected = self.m.paid.get(account, 0) - paid.get(account, 0)
            assert self.s.token.balanceOf(account) - before == expected, f"{account}: paid != {expected}"
        assert all(a in accounts for a, v in self.m.paid.items() if v != paid.get(a, 0)), "paid someone else"

    def check_batch(self, batch_id: bytes) -> None:
        """The chain's record of a batch (groups, results, disputes, committee) and of its job agree with the
        model's, field by field."""
        s, model = self.s, self.m.batches.get(batch_id)
        chain = s.lane.batches(batch_id)
        if model is None:
            assert chain.stage == 0, "a batch the model did not post"
            return
        assert (chain.jobId, str(chain.manager), chain.count, chain.fees, chain.collateralBps, chain.stage, chain.late,
                chain.postedAt, chain.renderEnds, chain.revealBy, chain.revealedAt, chain.workers, chain.submitted,
                chain.doneBits, chain.disputed) == (
            model.job_id, model.manager, model.count, model.fees, model.collateral_bps, model.stage, model.late,
            model.posted_at, model.render_ends, model.reveal_by, model.revealed_at, len(model.groups),
            len(model.submitted), model.done_bits, model.disputed,
        ), f"batch {batch_id.hex()[:8]}: chain {chain} != model {model}"
        assert s.beacon.roundTime(chain.escrowRound) == model.escrow_opens
        for g, (worker, first, _) in enumerate(model.groups):
            assert s.lane.groups(batch_id, g) == (first << 160) | int(worker, 16)
            assert (s.lane.results(batch_id, g) != NO_KEY) == (g in model.submitted)
        for index, d in model.disputes.items():
            chain_d = s.lane.disputes(keccak(abi_encode(["bytes32", "uint256"], [batch_id, index])))
            assert (str(chain_d.challenger), chain_d.bond, chain_d.ends) == (d.challenger, d.bond, d.ends)
        c, chain_c = model.committee, s.committee.committees(batch_id)
        if c is None:
            assert chain_c.quorum == 0, "a batch committee the model did not draw"
        else:
            assert (chain_c.quorum, chain_c.commitEnds, chain_c.voteEnds, chain_c.committed, chain_c.revealed,
                    chain_c.passBits, chain_c.decidedBits, chain_c.finalizedAt) == (
                c.quorum, c.commit_ends, c.vote_ends, len(c.commitments), c.revealed, c.pass_bits, c.decided_bits,
                c.finalized_at), f"batch {batch_id.hex()[:8]}: committee {chain_c} != model {c}"
            assert [str(a) for a in s.committee.committeeOf(batch_id)] == c.members
        job, job_m = s.escrow.jobs(model.job_id), self.m.jobs[model.job_id]
        assert (job.budget, job.openTasks) == (job_m.budget, job_m.open_tasks), f"job {model.job_id}"

    # posting
    @precondition(lambda self: self.m.jobs and len(self.m.batches) < MAX_BATCHES)
    @rule(data=st.data(), window=windows, probe=st.sampled_from(BATCH_PROBES))
    def post_batch(self, data: st.DataObject, window: int, probe: str | None) -> None:
        """The manager posts a batch: 1-3 keyed workers, 1-3 tasks each (mixed work and fees), each worker's
        signed acceptance (of its leaves and the render window); refused (as the model predicts) for a closed or
        benchmark job, a budget too small, a fee above the job's maximum, a worker whose stake, price or role does
        not allow the collateral, a forged or expired acceptance or one of another render window, a worker's
        leaves split in two groups, a used batch id or a seed escrow round too early."""
        jobs = [j for j, job in self.m.jobs.items() if not job.closed and not job.benchmark]
        self._post_batch(self.pick(data, jobs, sorted(self.m.jobs), "job"), data, window, probe)

    def _post_batch(self, job_id: int, data: st.DataObject, window: int, probe: str | None = None) -> bytes | None:
        s, m = self.s, self.m
        job = m.jobs[job_id]
        workers = data.draw(st.permutations(BATCH_WORKERS), label="batch workers")
        plan = [(w, data.draw(st.integers(1, 3), label="tasks")) for w in workers[:data.draw(st.integers(1, 3),
                                                                                               label="workers")]]
        if probe == "split worker" and len(plan) > 1:
            plan.append((plan[0][0], 1))
        elif probe == "oracle worker":
            plan[-1] = (s.oracles[0].address, plan[-1][1])
        if probe == "used id" and self.batch_data:
            nonce = data.draw(st.sampled_from(sorted(b.nonce for b in self.batch_data.values())), label="used nonce")
        else:
            self.batch_nonce += 1
            nonce = self.batch_nonce
        batch_id = B.batch_id(s.manager, nonce)
        seed = keccak(b"batch seed" + batch_id)
        leaves, blobs = [], []
        for worker, n in plan:
            for _ in range(n):
                ibm = data.draw(ibms, label="ibm")
                most = (ibm * job.max_price // IBM_ONE) * WAD // job.rate
                fee = max(1, most * data.draw(st.integers(1, 100), label="fee %") // 100)
                blob = bogus_manifest(keccak(batch_id + len(leaves).to_bytes(32, "big")))
                leaves.append(B.Leaf(worker, ibm, fee, manifest_digest(blob), 1, 10,
                                     f"bafynoised-{nonce}-{len(leaves)}"))
                blobs.append(blob)
        if probe == "fee above max":
            last = leaves[-1]
            most = (last.ibm * job.max_price // IBM_ONE) * WAD // job.rate
            leaves[-1] = B.Leaf(last.worker, last.ibm, most + 1, last.manifest_digest, 1, 10, last.package)
        groups: list[B.Group] = []  # consecutive leaves of one worker (the contract's grouping)
        for i, leaf in enumerate(leaves):
            if groups and groups[-1].worker == leaf.worker:
                groups[-1] = B.Group(leaf.worker, groups[-1].first, i + 1)
            else:
                groups.append(B.Group(leaf.worker, i, i + 1))
        keys = {**WORKER_KEYS, **self.oracle_keys}
        acceptances, accepted = [], []
        for g, group in enumerate(groups):
            accept_by = self.now - 1 if probe == "expired acceptance" and g == 0 else self.now + 600
            signer = group.worker
            if probe == "bad acceptance" and g == len(groups) - 1:
                signer = next(w for w in BATCH_WORKERS if w != group.worker)
            # "other window": the workers accepted twice the render window the manager posts
            accepted_window = 2 * window if probe == "other window" else window
            acceptances.append((accept_by, sign_acceptance(keys[signer], s.chain_id, s.committee.address, batch_id,
                                                           B.acceptance_chain(leaves, group), accepted_window,
                                                           accept_by)))
            accepted.append((signer == group.worker and accepted_window == window, accept_by))
        escrow_round = s.beacon.roundAt(self.now + window) + (0 if probe == "early round" else 1)
        reason = m.post_batch(batch_id, job_id, s.manager, [BatchLeafM(l.worker, l.ibm, l.fee) for l in leaves],
                              accepted, window, m.round_time(escrow_round), self.now)
        with expect(reason), boa.env.prank(s.manager):
            s.lane.postBatch(job_id, nonce, [l.as_tuple() for l in leaves], [l.package for l in leaves],
                             acceptances, keccak(seed), escrow_round, sealed_seed(seed), window)
        if reason is not None:
            return None
        self.batch_data[batch_id] = Batch(batch_id, nonce, job_id, seed, leaves, groups, blobs)
        self.check_batch(batch_id)
        return batch_id

    # results and the seed
    @when_batches(B_RENDERING)
    @rule(data=st.data(), how=st.sampled_from(["worker"] * 5 + ["late", "stranger", "short", "again"]))
    def submit_batch_results(self, data: st.DataObject, how: str) -> None:
        """A worker submits its group's result CIDs before the render deadline; refused late, from another
        worker, with a CID missing, or twice."""
        batch_id = self.pick_batch(data, [i for i, b in self.m.batches.items() if b.stage == B_RENDERING])
        b = self.m.batches[batch_id]
        pending = [g for g in range(len(b.groups)) if g not in b.submitted]
        done = sorted(b.submitted)
        group = self.pick(data, done if how == "again" else pending, list(range(len(b.groups))), "group")
        self._submit_batch(batch_id, group, how)

    def _submit_batch(self, batch_id: bytes, group: int, how: str = "worker") -> None:
        bd, b = self.batch_data[batch_id], self.m.batches[batch_id]
        g = bd.groups[group]
        sender = next(w for w in BATCH_WORKERS if w != g.worker) if how == "stranger" else g.worker
        cids = [f"bafyframes-{batch_id.hex()[:8]}-{i}" for i in range(g.first, g.end)]
        if how == "short":
            cids = cids[:-1]
        if how == "late" and b.stage == B_RENDERING:
            self.warp_to(b.render_ends + 1)
        reason = self.m.submit_results(batch_id, group, sender, len(cids), self.now)
        with expect(reason), boa.env.prank(sender):
            self.s.lane.submitResults(batch_id, group, cids)
        if reason is None:
            bd.cids[group] = cids
        self.check_batch(batch_id)

    @when_batches(B_RENDERING)
    @rule(data=st.data(), how=st.sampled_from([*SEED_PLANS, "early", "wrong seed"]))
    def reveal_batch_seed(self, data: st.DataObject, how: str) -> None:
        """The batch seed comes out: from the manager on time, or late (slashed once, its BMW credit forfeited);
        or the batch is expired and a stranger reveals the seed from its escrow, or nobody can (then settle voids
        it); refused before every worker submitted or the render deadline passed, or for another seed."""
        self._batch_seed(self.pick_batch(data, [i for i, b in self.m.batches.items() if b.stage == B_RENDERING]),
                         how)

    def _batch_seed(self, batch_id: bytes, how: str) -> None:
        b, bd = self.m.batches[batch_id], self.batch_data[batch_id]
        sender = self.s.manager
        if b.stage == B_RENDERING:
            if how == "on time" and len(b.submitted) < len(b.groups):
                self.warp_to(b.render_ends + 1)  # a worker stays silent: the seed after the render deadline
            elif how == "late":
                self.warp_to(b.reveal_by + 1)
            elif how in ("escrow", "never"):
                self.warp_to(b.reveal_by + 1)
                self._expire_batch(batch_id)
                if how == "never":
                    self.warp_to(b.reveal_by + 1)  # the escrow never opened: settle voids the batch
                    return
                self.warp_to(b.escrow_opens)
                sender = self.stranger
        seed = bytes(x ^ 0xFF for x in bd.seed) if how == "wrong seed" else bd.seed
        with self.lane_paying(), expect(self.m.reveal_batch_seed(batch_id, self.now, how != "wrong seed")), \
                boa.env.prank(sender):
            self.s.lane.revealSeed(batch_id, seed)
        self.check_batch(batch_id)

    @when_batches(B_RENDERING)
    @rule(data=st.data(), late=st.sampled_from([False, True, True]))
    def expire_batch(self, data: st.DataObject, late: bool) -> None:
        """Anyone expires a batch whose seed is past due (the manager slashed once); refused before, or twice."""
        batch_id = self.pick_batch(data, [i for i, b in self.m.batches.items() if b.stage == B_RENDERING])
        if late:
            self.warp_to(self.m.batches[batch_id].reveal_by + 1)
        self._expire_batch(batch_id)

    def _expire_batch(self, batch_id: bytes) -> None:
        with self.lane_paying(), expect(self.m.expire_batch(batch_id, self.now)):
            self.s.lane.expire(batch_id)
        self.check_batch(batch_id)

    # the committee
    def _publish_batch(self, batch_id: bytes) -> None:
        """The beacon publishes the round that draws the batch's committee (the clock moves to its time)."""
        round_ = self.m.batch_draw_round(batch_id)
        if round_ == 0:
            return
        self.warp_to(self.m.round_time(round_))
        if round_ not in self.m.randomness:
            randomness = keccak(b"round" + round_.to_bytes(8, "big"))
            with boa.env.prank(self.s.admin):
                self.s.beacon.setRandomness(round_, randomness)
            self.m.randomness[round_] = randomness

    def _draw_batch(self, batch_id: bytes) -> None:
        with expect(self.m.draw_batch(batch_id, self.now)):
            self.s.committee.draw(batch_id)
        self.check_batch(batch_id)

    @when_batches(B_REVEALED)
    @rule(data=st.data(), upto=st.sampled_from(["drawn", "committed", "revealed", "finalized", "finalized"]),
          probe=st.sampled_from(BATCH_VOTE_PROBES))
    def batch_vote(self, data: st.DataObject, upto: str, probe: str | None) -> None:
        """A batch committee round (drawn if nobody has), up to a phase: members commit to random bitmaps (relayed
        in one signed call), some stay silent or never reveal, the rest reveal, and the committee is finalized
        after the reveal phase; with a call out of turn now and then."""
        revealed = [i for i, b in self.m.batches.items()
                    if b.stage == B_REVEALED and (b.committee is None or not b.committee.finalized_at)]
        self._batch_round(self.pick_batch(data, revealed), data, upto, probe)

    def _batch_round(self, batch_id: bytes, data: st.DataObject, upto: str = "finalized",
                     probe: str | None = None) -> None:
        m = self.m
        b = m.batches[batch_id]
        if b.committee is None and b.stage == B_REVEALED:
            self._publish_batch(batch_id)
            self._draw_batch(batch_id)
        elif probe == "redraw":
            self._draw_batch(batch_id)
        c = b.committee
        if c is None or c.finalized_at or upto == "drawn":
            if c is not None and c.finalized_at:
                self._finalize_batch_committee(batch_id)  # refused: decided already
            return
        verdict = data.draw(st.one_of(st.just(b.mask), st.integers(0, b.mask)), label="verdict bits")
        ballots = {seat: data.draw(st.sampled_from(BALLOTS), label="ballot") for seat in range(len(c.members))
                   if seat not in c.commitments}
        votes: dict[int, tuple[int, bytes]] = {}
        for seat, ballot in ballots.items():
            if ballot == "silent":
                continue
            bits = verdict
            if ballot == "flip":
                bits ^= 1 << data.draw(st.integers(0, b.count - 1), label="flipped")
            elif ballot == "random":
                bits = data.draw(st.integers(0, b.mask), label="random bits")
            self.salts += 1
            votes[seat] = (bits, keccak(f"{batch_id.hex()}/{seat}/{self.salts}".encode()))
        if votes:
            if probe == "forged":
                self._commit_batch(batch_id, votes, forged=True)
            if probe == "own seat" and len(votes) == 1:
                self._commit_batch(batch_id, votes, own=True)
            else:
                self._commit_batch(batch_id, votes)
        if probe == "early reveal" and c.commitments:
            seat = min(c.commitments)
            self._reveal_batch(batch_id, {seat: c.commitments[seat]})
        if upto == "committed":
            return
        if len(c.commitments) < len(c.members):
            self.warp_to(c.commit_ends + 1)
        mute = {seat for seat, ballot in ballots.items() if ballot == "mute"}
        revealing = {seat: vote for seat, vote in sorted(c.commitments.items()) if seat not in c.votes
                     and seat not in mute}
        if revealing:
            if probe == "wrong reveal":
                seat = max(revealing)
                self._reveal_batch(batch_id, {**revealing, seat: (revealing[seat][0] ^ 1, revealing[seat][1])})
            self._reveal_batch(batch_id, revealing)
        if upto == "revealed" or c.finalized_at:
            return
        if probe == "early finalize":
            self._finalize_batch_committee(batch_id)
        self.warp_to(c.vote_ends + 1)
        self._finalize_batch_committee(batch_id)

    def _commit_batch(self, batch_id: bytes, votes: dict[int, tuple[int, bytes]], forged: bool = False,
                      own: bool = False) -> None:
        """Members' commitments to ``votes`` (seat -> (bitmap, salt)), each signed by its member and relayed in one
        call by the creator; ``forged``: the last one signed by another oracle (refused); ``own``: one member
        sends its own commitment, unsigned."""
        s, c = self.s, self.m.batches[batch_id].committee
        members = c.members if c is not None else [str(a) for a in s.committee.committeeOf(batch_id)]
        seats, commitments, signatures = [], [], []
        for seat, (bits, salt) in votes.items():
            member = members[seat] if seat < len(members) else s.oracles[0].address
            commitment_ = B.vote_commitment(batch_id, member, bits, salt)
            signer = member
            if forged and seat == list(votes)[-1]:
                signer = next(o.address for o in s.oracles if o.address != member)
            seats.append(seat)
            commitments.append(commitment_)
            signatures.append(b"" if own else sign_vote_commitment(self.oracle_keys[signer], s.chain_id,
                                                                   s.committee.address, batch_id, commitment_))
        relay = members[seats[0]] if own else s.creator
        with expect(self.m.commit_batch_votes(batch_id, votes, not forged, self.now)), boa.env.prank(relay):
            s.committee.commitVotes(batch_id, seats, commitments, signatures)
        self.check_batch(batch_id)

    def _reveal_batch(self, batch_id: bytes, votes: dict[int, tuple[int, bytes]]) -> None:
        """Members' bitmaps revealed, relayed by the creator (the reveal that completes the committee decides)."""
        seats = list(votes)
        with expect(self.m.reveal_batch_votes(batch_id, votes, self.now)), boa.env.prank(self.s.creator):
            self.s.committee.revealVotes(batch_id, seats, [votes[i][0] for i in seats], [votes[i][1] for i in seats])
        self.check_batch(batch_id)

    def _finalize_batch_committee(self, batch_id: bytes) -> None:
        with expect(self.m.finalize_batch(batch_id, self.now)):
            self.s.committee.finalize(batch_id)
        self.check_batch(batch_id)

    # challenges and bogus manifests
    def batch_dissenters(self, batch_id: bytes, index: int) -> list[str]:
        """The members who revealed a vote against a decided task's verdict."""
        c = self.m.batches[batch_id].committee
        if c is None:
            return []
        verdict = c.pass_bits >> index & 1
        return [c.members[seat] for seat, bits in c.votes.items() if bits >> index & 1 != verdict]

    @precondition(lambda self: any(b.stage == B_REVEALED and b.committee is not None and b.committee.finalized_at
                                   for b in self.m.batches.values()))
    @rule(data=st.data(), by=st.sampled_from(["dissenter", "dissenter", "creator", "outsider", "oracle", "worker"]),
          late=st.sampled_from([False, False, False, True]))
    def challenge_batch_task(self, data: st.DataObject, by: str, late: bool) -> None:
        """A bonded challenge of one decided task of a batch (by a dissenting member, the creator, an outsider, an
        oracle or the task's own worker), with its leaf and Merkle proof; refused after the challenge window, for
        an undecided task, or twice."""
        judged = [i for i, b in self.m.batches.items()
                  if b.stage == B_REVEALED and b.committee is not None and b.committee.finalized_at]
        batch_id = self.pick_batch(data, judged)
        b = self.m.batches[batch_id]
        decided = b.committee.decided_bits if b.committee is not None else 0
        open_ = [i for i in range(b.count) if decided >> i & 1 and not (b.done_bits | b.disputed) >> i & 1]
        index = self.pick(data, open_, list(range(b.count)), "task")
        if late and b.committee is not None and b.committee.finalized_at:
            self.warp_to(b.committee.finalized_at + self.m.challenge_window + 1)
        self._challenge_batch(batch_id, index, self._batch_challenger(batch_id, index, by, data))

    def _batch_challenger(self, batch_id: bytes, index: int, by: str, data: st.DataObject) -> str:
        dissenters = self.batch_dissenters(batch_id, index)
        if by == "dissenter" and dissenters:
            return dissenters[0]
        return {"creator": self.s.creator, "outsider": self.s.admin, "oracle": self.s.oracles[2].address,
                "worker": self.m.batches[batch_id].leaves[index].worker}.get(by) or data.draw(
            st.sampled_from(self.challengers), label="challenger")

    def _challenge_batch(self, batch_id: bytes, index: int, challenger: str) -> None:
        """A challenge funded with exactly the bond it takes."""
        s = self.s
        bond = self.m.batch_bond(self.m.batches[batch_id].leaves[index].fee)
        self.fund(challenger, bond)
        bd = self.batch_data[batch_id]
        with boa.env.prank(challenger):
            s.token.approve(s.lane.address, bond)
        with expect(self.m.challenge_batch_task(batch_id, index, challenger, self.now)), boa.env.prank(challenger):
            s.lane.challenge(batch_id, index, bd.leaf(index), bd.proof(index))
        self.check_batch(batch_id)

    @precondition(lambda self: any(b.disputes for b in self.m.batches.values()))
    @rule(data=st.data(), how=st.sampled_from(["arbiter"] * 4 + ["silent", "stranger"]), passed=st.booleans())
    def resolve_batch_task(self, data: st.DataObject, how: str, passed: bool) -> None:
        """The arbiter decides a challenged task (losing voters slashed, a winning challenger rewarded), or stays
        silent and anyone closes it with the committee's verdict after the dispute window; anyone else is
        refused within it."""
        disputed = sorted((i, t) for i, b in self.m.batches.items() for t in b.disputes)
        batch_id, index = data.draw(st.sampled_from(disputed), label="disputed task")
        if how == "silent":
            self.warp_to(self.m.batches[batch_id].disputes[index].ends + 1)
        self._resolve_batch(batch_id, index, passed, self.s.arbiter if how == "arbiter" else self.stranger)

    def _resolve_batch(self, batch_id: bytes, index: int, passed: bool, sender: str) -> None:
        bd = self.batch_data[batch_id]
        supply, burned = self.s.token.totalSupply(), self.m.burned
        with self.lane_paying():
            reason = self.m.resolve_batch_task(batch_id, index, passed, sender, self.s.arbiter, self.now)
            with expect(reason), boa.env.prank(sender):
                self.s.lane.resolve(batch_id, index, bd.group_of(index), bd.leaf(index), bd.proof(index), passed)
        assert supply - self.s.token.totalSupply() == self.m.burned - burned
        self.check_batch(batch_id)
        self.check_credits()

    @when_batches(B_REVEALED)
    @rule(data=st.data())
    def prove_batch_manifest(self, data: st.DataObject) -> None:
        """Anyone proves one task's committed manifest bogus with its leaf and Merkle proof (every manifest the
        machine's manager commits is): the manager slashed, the worker paid its fee from the slash, the fee back
        to the job; refused before the seed is out, for a task closed or challenged, or whose worker delivered
        nothing."""
        batch_id = self.pick_batch(data, [i for i, b in self.m.batches.items() if b.stage == B_REVEALED])
        b = self.m.batches[batch_id]
        open_ = [i for i in range(b.count) if not (b.done_bits | b.disputed) >> i & 1]
        delivered = [i for i in open_ if b.group_of(i) in b.submitted]
        if delivered and data.draw(st.sampled_from([True] * 5 + [False]), label="delivered"):
            open_ = delivered
        self._prove_batch_manifest(batch_id, self.pick(data, open_, list(range(b.count)), "task"))

    def _prove_batch_manifest(self, batch_id: bytes, index: int) -> None:
        bd = self.batch_data[batch_id]
        blob = bd.manifests[index]
        with self.lane_paying(), expect(self.m.prove_bad_batch_manifest(batch_id, index)), \
                boa.env.prank(self.stranger):
            self.s.lane.proveBadManifest(batch_id, index, bd.leaf(index), bd.proof(index), blob[:HEAD_BYTES],
                                         keccak(blob[HEAD_BYTES:]))
        self.check_batch(batch_id)

    # settlement
    @precondition(lambda self: any(b.stage != B_SETTLED for b in self.m.batches.values()))
    @rule(data=st.data(), wrong_leaves=st.sampled_from([False] * 7 + [True]))
    def settle_batch(self, data: st.DataObject, wrong_leaves: bool) -> None:
        """Anyone settles a batch: refused with other leaves, while its seed or verdict is pending or its
        challenge window open, or twice; then, once it may, settled (or voided, its seed never out)."""
        batch_id = self.pick_batch(data, [i for i, b in self.m.batches.items() if b.stage != B_SETTLED])
        if wrong_leaves:
            bd = self.batch_data[batch_id]
            richer = [(*leaf.as_tuple()[:2], leaf.fee + 1, *leaf.as_tuple()[3:]) for leaf in bd.leaves]
            with expect("lane: not the batch's leaves"):
                self.s.lane.settle(batch_id, richer)
        refusal = self.m.settle_batch_refusal(batch_id, self.now)
        if refusal is not None:
            with expect(refusal):
                self.s.lane.settle(batch_id, [leaf.as_tuple() for leaf in self.batch_data[batch_id].leaves])
            self._until_settleable(batch_id)
        self._settle_batch(batch_id)

    def _until_settleable(self, batch_id: bytes) -> None:
        """Time moves (and the committee is finalized) until the batch may settle, where it can."""
        b = self.m.batches[batch_id]
        if b.stage == B_RENDERING and b.late:
            self.warp_to(b.reveal_by + 1)
        elif b.stage == B_REVEALED:
            c = b.committee
            if c is None:
                self.warp_to(b.revealed_at + VERIFY_WINDOW + 1)
            else:
                if not c.finalized_at:
                    self.warp_to(c.vote_ends + 1)
                    self._finalize_batch_committee(batch_id)
                self.warp_to(c.finalized_at + self.m.challenge_window + 1)

    def _settle_batch(self, batch_id: bytes) -> None:
        s = self.s
        supply, burned = s.token.totalSupply(), self.m.burned
        with self.lane_paying(), expect(self.m.settle_batch(batch_id, self.now)):
            s.lane.settle(batch_id, [leaf.as_tuple() for leaf in self.batch_data[batch_id].leaves])
        # the escrow burns exactly the burnBps share of the fees of the tasks that passed
        assert supply - s.token.totalSupply() == self.m.burned - burned
        self.check_batch(batch_id)
        self.check_credits()
        for account in stakers(s):  # the committee's silent seats are no-shows
            assert s.staking.missed(account) == self.m.missed.get(account, 0), f"{account}: missed"

    # a whole batch
    @initialize(data=st.data(), budget=st.integers(5_000, 50_000).map(lambda n: n * IFX),
                max_price=st.sampled_from([USD // 2, USD, 2 * USD]), window=windows)
    def first_batch(self, data: st.DataObject, budget: int, max_price: int, window: int) -> None:
        """Every run starts with a batch (of the first job, or of a job of its own when it comes first) driven
        to a random stage."""
        jobs = [j for j, job in self.m.jobs.items() if not job.closed and not job.benchmark]
        job_id = jobs[0] if jobs else len(self.m.jobs) + 1
        if not jobs:
            self.create_job(budget, max_price, False, 0, IBM, 3_600, False)
        if job_id in self.m.jobs:
            batch_id = self._post_batch(job_id, data, window)
            if batch_id is not None:
                self._drive_batch(batch_id, data)

    @when_batches(B_RENDERING, B_REVEALED)
    @rule(data=st.data())
    def advance_batch(self, data: st.DataObject) -> None:
        """A batch through the rest of its lifecycle up to a random stage."""
        live = [i for i, b in self.m.batches.items() if b.stage != B_SETTLED]
        self._drive_batch(data.draw(st.sampled_from(sorted(live)), label="batch"), data)

    def _drive_batch(self, batch_id: bytes, data: st.DataObject) -> None:
        """Results from some workers (not all, now and then), the seed on time, late, from its escrow or never;
        maybe a bogus manifest proven; a committee round (or none: the batch closes without a verdict after the
        verify window); a challenge of one decided task, resolved by the arbiter (either way) or left to time out,
        before or after the settlement; up to a random stage."""
        m = self.m
        b = m.batches[batch_id]
        reach = BATCH_STAGES.index(data.draw(st.sampled_from(BATCH_STAGES), label="batch stage"))
        if b.stage == B_RENDERING:
            for g in range(len(b.groups)):
                if g not in b.submitted and data.draw(st.sampled_from([True] * 4 + [False]), label="delivers"):
                    self._submit_batch(batch_id, g)
            if reach < BATCH_STAGES.index("revealed"):
                return
            self._batch_seed(batch_id, data.draw(st.sampled_from(SEED_PLANS), label="seed"))
        if b.stage == B_REVEALED:
            open_ = [i for i in range(b.count) if not (b.done_bits | b.disputed) >> i & 1
                     and b.group_of(i) in b.submitted]
            if open_ and data.draw(st.sampled_from([False] * 5 + [True]), label="bogus manifest"):
                self._prove_batch_manifest(batch_id, data.draw(st.sampled_from(open_), label="task"))
            if reach >= BATCH_STAGES.index("voted") and data.draw(st.sampled_from([True] * 7 + [False]),
                                                                   label="committee"):
                self._batch_round(batch_id, data)
        c = b.committee
        if reach >= BATCH_STAGES.index("challenged") and c is not None and c.finalized_at and b.stage == B_REVEALED:
            open_ = [i for i in range(b.count) if c.decided_bits >> i & 1 and not (b.done_bits | b.disputed) >> i & 1]
            if open_ and data.draw(st.sampled_from([True, True, False]), label="challenge"):
                index = data.draw(st.sampled_from(open_), label="challenged task")
                by = data.draw(st.sampled_from(["dissenter", "dissenter", "creator", "outsider", "oracle", "worker"]),
                               label="by")
                self._challenge_batch(batch_id, index, self._batch_challenger(batch_id, index, by, data))
                if b.disputes and data.draw(st.sampled_from([False, False, True]), label="resolved first"):
                    self._drive_disputes(batch_id, data)
        if reach >= BATCH_STAGES.index("settled") and b.stage != B_SETTLED:
            self._until_settleable(batch_id)
            self._settle_batch(batch_id)
        if reach >= BATCH_STAGES.index("resolved"):
            self._drive_disputes(batch_id, data)

    def _drive_disputes(self, batch_id: bytes, data: st.DataObject) -> None:
        b = self.m.batches[batch_id]
        for index in sorted(b.disputes):
            if data.draw(st.sampled_from([True, True, True, False]), label="arbiter decides"):
                self._resolve_batch(batch_id, index, data.draw(st.booleans(), label="passed finally"), self.s.arbiter)
            else:
                self.warp_to(b.disputes[index].ends + 1)
                self._resolve_batch(batch_id, index, False, self.stranger)

    # ------------------------------------------------------------ staking
    @rule(node=st.integers(0, 7 + len(BATCH_WORKERS)), amount=amounts)
    def stake(self, node: int, amount: int) -> None:
        account = stakers(self.s)[node]  # index 7: the oracle that never registered; 8 on: the batch workers
        self.fund(account, amount)
        with boa.env.prank(account):
            self.s.token.approve(self.s.staking.address, amount)
        with expect(self.m.stake(account, amount, self.now)), boa.env.prank(account):
            self.s.staking.stake(amount)

    @rule(data=st.data(), share=st.one_of(st.integers(1, 1_000), st.integers(1, 10_000)))
    def request_unbond(self, data: st.DataObject, share: int) -> None:
        """Unbond a share of the free stake, mostly by a worker with collateral locked (which is not free)."""
        locked = [a for a in stakers(self.s) if self.m.node(a).locked]
        account = self.pick(data, locked, stakers(self.s), "node")
        n = self.m.node(account)
        self._unbond(account, max(1, (n.stake - n.locked - n.unbonding) * share // 10_000))

    def _unbond(self, account: str, amount: int) -> None:
        """Request an unbond (after checking that one wei more than the free stake is refused); once it is
        accepted, look ahead (and roll back) to check that the stake cannot leave one second before
        ``unbondingAt`` and leaves in full at ``unbondingAt``."""
        n = self.m.node(account)
        # one wei more than the free stake (what is neither locked as collateral nor unbonding) is refused
        too_much = n.stake - n.locked - n.unbonding + 1
        assert self.m.request_unbond(account, too_much, self.now) == "staking: amount exceeds free stake"
        with expect("staking: amount exceeds free stake"), boa.env.prank(account):
            self.s.staking.requestUnbond(too_much)
        reason = self.m.request_unbond(account, amount, self.now)
        with expect(reason), boa.env.prank(account):
            self.s.staking.requestUnbond(amount)
        if reason is not None:
            return
        node = self.m.nodes[account]
        with boa.env.anchor():
            self.warp_to(node.unbonding_at - 1)
            with expect("staking: still unbonding"), boa.env.prank(account):
                self.s.staking.withdraw()
            warp(1)
            before = self.s.token.balanceOf(account)
            with boa.env.prank(account):
                self.s.staking.withdraw()
            assert self.s.token.balanceOf(account) - before == node.unbonding

    @precondition(lambda self: any(n.unbonding for n in self.m.nodes.values()))
    @rule(data=st.data())
    def withdraw_stake(self, data: st.DataObject) -> None:
        unbonding = [a for a, n in self.m.nodes.items() if n.unbonding]
        account = self.pick(data, unbonding, stakers(self.s), "node")
        self.pay(self.s.staking.withdraw, account, self.m.withdraw_stake(account, self.now))

    @precondition(lambda self: any(n.unbonding and n.unbonding_at > boa.env.timestamp for n in self.m.nodes.values()))
    @rule(data=st.data())
    def withdraw_at_unbonding_time(self, data: st.DataObject) -> None:
        """One second before ``unbondingAt`` the stake cannot leave; at ``unbondingAt`` it can."""
        pending = sorted(a for a, n in self.m.nodes.items() if n.unbonding and n.unbonding_at > self.now)
        account = data.draw(st.sampled_from(pending), label="node")
        unbonding_at = self.m.nodes[account].unbonding_at
        self.warp_to(unbonding_at - 1)
        assert self.m.withdraw_stake(account, self.now) == "staking: still unbonding"
        with expect("staking: still unbonding"), boa.env.prank(account):
            self.s.staking.withdraw()
        warp(1)
        self.pay(self.s.staking.withdraw, account, self.m.withdraw_stake(account, self.now))

    # ------------------------------------------------------------ voting power
    @rule(who=st.integers(0, COALITION - 1), amount=amounts,
          probe=st.sampled_from([None] * 6 + ["zero", "short allowance", "short balance"]))
    def lock_votes(self, who: int, amount: int, probe: str | None) -> None:
        """A coalition account locks IFX in VotePower (funded for it), now and then refused: nothing, an allowance
        one wei short, a balance one wei short."""
        s, account = self.s, coalition(self.s)[who]
        balance = s.token.balanceOf(account)
        if probe == "zero":
            amount = 0
        elif probe == "short balance":
            amount = balance + 1
        elif balance < amount:
            self.fund(account, amount - balance)
            balance = amount
        allowance = amount - (probe == "short allowance")
        with boa.env.prank(account):
            s.token.approve(s.votes.address, allowance)
        reason = self.m.lock(account, amount, balance, allowance)
        with expect(reason), boa.env.prank(account):
            s.votes.lock(amount)
        if reason is None:
            assert s.token.balanceOf(account) == balance - amount
            assert s.votes.locked(account) == self.m.vote_locked[account]
        with boa.env.prank(account):
            s.token.approve(s.votes.address, 0)

    @rule(data=st.data(), share=st.integers(0, 10_001))
    def unlock_votes(self, data: st.DataObject, share: int) -> None:
        """An account takes back a share of its lock (all of it at 10,000; one wei more at 10,001: refused)."""
        lockers = sorted(a for a, amount in self.m.vote_locked.items() if amount and a not in self.m.vestings)
        account = self.pick(data, lockers, coalition(self.s), "locker")
        locked = self.m.vote_locked.get(account, 0)
        amount = locked + 1 if share > 10_000 else locked * share // 10_000
        self.pay(lambda: self.s.votes.unlock(amount), account, self.m.unlock(account, amount) or amount)

    @rule(data=st.data())
    def sync_votes(self, data: st.DataObject) -> None:
        """Anyone (the stranger) pushes a node's bonded stake to VotePower: mostly one whose collateral was slashed
        since its last push."""
        behind = sorted(a for a, pushed in self.m.vote_stake.items() if pushed != self.m.bonded(a))
        account = self.pick(data, behind, stakers(self.s), "node")
        with boa.env.prank(self.stranger):
            self.s.staking.syncVotes(account)
        self.m.sync_votes(account)
        assert self.s.votes.stakeOf(account) == self.m.bonded(account)

    @rule(who=st.integers(0, COALITION - 1), to=st.integers(0, COALITION + 1))
    def delegate_votes(self, who: int, to: int) -> None:
        """A coalition account delegates its units to another, to itself, to the stranger, or (refused) to nobody."""
        account = coalition(self.s)[who]
        delegatee = ZERO_ADDRESS if to == len(self.voters) else self.voters[to]
        with expect(self.m.delegate(account, delegatee)), boa.env.prank(account):
            self.s.votes.delegate(delegatee)
        assert self.s.votes.delegates(account) == self.m.delegate_of(account)


    # ------------------------------------------------------------ transfers, vesting and the Governor
    def vote_readings(self) -> list[int]:
        """Every voter's votes and the total, read from VotePower."""
        return [*(self.s.votes.getVotes(a) for a in self.voters), self.s.votes.totalVotes()]

    @rule(who=st.integers(0, COALITION), to=st.integers(0, COALITION), share=st.integers(0, 10_001))
    def transfer(self, who: int, to: int, share: int) -> None:
        """An account sends a share of its IFX to another (one wei more than it holds at 10,001: refused); the token
        keeps no checkpoints, so no vote moves. IFX crossing the coalition's edge (to or from the stranger) counts
        as outside money."""
        s, sender, receiver = self.s, self.voters[who], self.voters[to]
        balance = s.token.balanceOf(sender)
        amount = balance + 1 if share > 10_000 else balance * share // 10_000
        before, received = self.vote_readings(), s.token.balanceOf(receiver)
        with expect("erc20: transfer amount exceeds balance" if amount > balance else None), boa.env.prank(sender):
            s.token.transfer(receiver, amount)
        if amount <= balance and sender != receiver:
            assert s.token.balanceOf(receiver) == received + amount
            self.m.funded += amount * ((receiver in self.m.coalition) - (sender in self.m.coalition))
        assert self.vote_readings() == before, "a transfer moved votes"

    def escrow_contract(self, escrow: str) -> object:
        if escrow not in self.escrow_contracts:
            self.escrow_contracts[escrow] = deployer("VestingEscrow").at(escrow)
        return self.escrow_contracts[escrow]

    @precondition(lambda self: len(self.m.vestings) < MAX_ESCROWS)
    @rule(data=st.data(), who=st.integers(0, COALITION), amount=amounts, schedule=schedules,
          start=st.sampled_from(STARTS), probe=st.sampled_from([None] * 8 + ["not owner", "zero", "bucket", "tge"]))
    def create_vesting(self, data: st.DataObject, who: int, amount: int, schedule: int | tuple[int, int, int],
                       start: str, probe: str | None) -> None:
        """The factory's owner vests IFX of its bucket for an account: with a round's preset (``createRoundEscrow``)
        or a small custom schedule, starting now, around its cliff's end or its end, or anywhere; refused for anyone
        but the owner, nothing, more than the bucket holds, or a TGE share above 100 %."""
        s, f, now = self.s, self.s.vesting, self.now
        beneficiary = self.voters[who]
        tge, cliff, duration = ROUND_PRESETS[schedule] if isinstance(schedule, int) else schedule
        shift = data.draw(st.integers(-8 * 86_400, 8 * 86_400), label="shift")
        begins = {"now": now, "cliff": now - cliff + shift, "end": now - cliff - duration + shift,
                  "anywhere": now + data.draw(st.integers(-40 * MONTH, 7 * 86_400), label="offset")}[start]
        bucket = s.token.balanceOf(f.address)
        amount = {"zero": 0, "bucket": bucket + 1}.get(probe, min(amount, bucket))
        if probe == "tge" and not isinstance(schedule, int):
            tge = BPS + 1
        owner = s.admin if probe != "not owner" else self.stranger
        with expect(self.m.create_escrow_refusal(owner == s.admin, amount, tge, bucket)), boa.env.prank(owner):
            if isinstance(schedule, int):
                escrow = f.createRoundEscrow(schedule, beneficiary, amount, begins)
            else:
                escrow = f.createEscrow(beneficiary, amount, begins, tge, cliff, duration)
            self.m.create_escrow(str(escrow), VestM(beneficiary, amount, begins, tge, cliff, duration))
            e = self.escrow_contract(str(escrow))
            assert (e.beneficiary(), e.total(), e.start(), e.tgeBps(), e.cliff(), e.duration()) == (
                beneficiary, amount, begins, tge, cliff, duration)
            assert s.votes.isEscrow(escrow) and s.token.balanceOf(f.address) == bucket - amount

    @initialize(data=st.data(), who=st.integers(0, COALITION), amount=amounts, schedule=schedules,
                start=st.sampled_from(STARTS), proposer=st.integers(0, COALITION))
    def vesting_and_proposal(self, data: st.DataObject, who: int, amount: int, schedule: int | tuple[int, int, int],
                             start: str, proposer: int) -> None:
        """Every run has an escrow vesting for one of its accounts, and a proposal with a first ballot (or a proposer
        refused below the threshold), so that the claims, revocations, escrow delegations and ballots have something
        to act on."""
        self.create_vesting(data, who, amount, schedule, start, None)
        self.propose(proposer)
        if self.m.proposals:
            self.cast_votes(data, data.draw(ballots, label="ballots"), "wait")

    def pick_escrow(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.m.vestings)), label="escrow")

    @precondition(lambda self: self.m.vestings)
    @rule(data=st.data(), by=st.integers(0, COALITION), to_cliff=st.booleans())
    def claim_vesting(self, data: st.DataObject, by: int, to_cliff: bool) -> None:
        """Anyone claims an escrow's vested IFX for its beneficiary (nothing when nothing vested since); now and
        then at its cliff's end, if that comes within a week (one second before it, or at it)."""
        escrow = self.pick_escrow(data)
        v = self.m.vestings[escrow]
        if to_cliff and 0 < v.start + v.cliff - self.now <= 7 * 86_400:
            self.warp_to(v.start + v.cliff - data.draw(st.integers(0, 1), label="early"))
        before = self.s.token.balanceOf(v.beneficiary)
        expected = self.m.claim_escrow(escrow, self.now)
        with boa.env.prank(self.voters[by]):
            assert self.escrow_contract(escrow).claim() == expected
        assert self.s.token.balanceOf(v.beneficiary) == before + expected

    @precondition(lambda self: self.m.vestings)
    @rule(data=st.data(), probe=st.sampled_from([None] * 6 + ["not owner", "unknown"]))
    def revoke_vesting(self, data: st.DataObject, probe: str | None) -> None:
        """The factory's owner revokes an escrow: what vested stays claimable, the rest returns to the bucket;
        refused for anyone but the owner, an address not its escrow, or an escrow revoked already."""
        s = self.s
        escrow = self.stranger if probe == "unknown" else self.pick_escrow(data)
        owner = self.stranger if probe == "not owner" else s.admin
        bucket = s.token.balanceOf(s.vesting.address)
        predicted = self.m.revoke_escrow(escrow, owner == s.admin, self.now)
        with expect(predicted if isinstance(predicted, str) else None), boa.env.prank(owner):
            assert s.vesting.revoke(escrow) == predicted
        if not isinstance(predicted, str):
            assert s.token.balanceOf(s.vesting.address) == bucket + predicted

    @precondition(lambda self: self.m.vestings)
    @rule(data=st.data(), to=st.integers(0, COALITION + 1), impostor=st.sampled_from([False] * 5 + [True]))
    def delegate_vesting(self, data: st.DataObject, to: int, impostor: bool) -> None:
        """An escrow's beneficiary delegates its votes to an account, or (refused) to nobody; refused for anyone
        else."""
        escrow = self.pick_escrow(data)
        beneficiary = self.m.vestings[escrow].beneficiary
        sender = self.stranger if beneficiary != self.stranger else self.s.creator
        sender = sender if impostor else beneficiary
        delegatee = ZERO_ADDRESS if to == len(self.voters) else self.voters[to]
        with expect(self.m.delegate_escrow(escrow, sender, delegatee)), boa.env.prank(sender):
            self.escrow_contract(escrow).delegate(delegatee)
        assert self.s.votes.delegates(escrow) == self.m.delegate_of(escrow)

    @precondition(lambda self: len(self.m.proposals) < MAX_PROPOSALS)
    @rule(who=st.integers(0, COALITION))
    def propose(self, who: int) -> None:
        """An account proposes (a call to the issuance contract, never executed); refused below the threshold of
        votes one second ago."""
        self.warp_to(self.m.vote_history[0][0] + 1)  # the model's history starts with the run
        proposer = self.voters[who]
        args = ([self.s.issuance.address], [0], [b""], f"proposal {len(self.m.proposals)} at {self.now}")
        pid = GOVERNOR.hashProposal(*args[:3], keccak(text=args[3]))
        with expect(self.m.propose(pid, proposer, self.now)), boa.env.prank(proposer):
            assert GOVERNOR.propose(*args) == pid
            assert GOVERNOR.proposals(pid).snapshot == self.m.proposals[pid].snapshot

    @precondition(lambda self: self.m.proposals)
    @rule(data=st.data(), ballots=ballots, how=st.sampled_from(["wait"] * 4 + ["now", "again", "bad support"]))
    def cast_votes(self, data: st.DataObject, ballots: list[tuple[int, int]], how: str) -> None:
        """Accounts vote on a proposal, each with its votes at the snapshot (once the vote opens, or whenever); a
        second ballot of a voter (one that voted before, or twice here) or an unknown support is refused."""
        pid = data.draw(st.sampled_from(sorted(self.m.proposals)), label="proposal")
        p = self.m.proposals[pid]
        if how == "wait":
            self.warp_to(p.snapshot + 1)
        for i, (who, support) in enumerate(ballots):
            voter = self.voters[who]
            if i == 0 and how == "again" and p.ballots:
                voter = data.draw(st.sampled_from(sorted(p.ballots)), label="voter")
            if i == 0 and how == "bad support":
                support = VOTE_ABSTAIN + 1
            predicted = self.m.cast_vote(pid, voter, support, self.now)
            with expect(predicted if isinstance(predicted, str) else None), boa.env.prank(voter):
                assert GOVERNOR.castVote(pid, support) == predicted
        assert [GOVERNOR.hasVoted(pid, a) for a in self.voters] == [a in p.ballots for a in self.voters]

    # ------------------------------------------------------------ issuance
    @rule(refresh=st.sampled_from([True, True, True, False]), claim_all=st.booleans())
    def close_epoch(self, refresh: bool, claim_all: bool) -> None:
        """Close the current epoch: refused before its end, then at its end with a (fresh) price;
        then (``claim_all``) every node with a share, and the treasury, claim."""
        ep = self.m.current
        if self.now < ep.start + ep.length:
            with expect(self.m.close_epoch(self.now)):
                self.s.issuance.closeEpoch()
            self.warp_to(ep.start + ep.length)
        if refresh:
            self.set_price(self.m.rounds[-1][0])
        closing = len(self.m.epochs) - 1
        with expect(self.m.close_epoch(self.now)):
            self.s.issuance.closeEpoch()
        if ep.closed:
            # every account's entitlement is what the model predicts, and fits in the pools just minted
            owed = [self.s.issuance.claimable(closing, a) for a in stakers(self.s)]
            assert owed == [self.m.claimable_reward(closing, a) for a in stakers(self.s)]
            assert sum(owed) <= ep.pools
            if claim_all:
                for account, amount in zip(stakers(self.s), owed):
                    if amount:
                        self._claim(closing, account)
                self._claim(closing, self.s.treasury)

    @precondition(lambda self: len(self.m.epochs) > 1)
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        """A node claims its share of an epoch, or anyone sends the treasury its accumulated mint share."""
        accounts = stakers(self.s)
        owed = [(e, a) for e in range(len(self.m.epochs)) for a in accounts if self.m.claimable_reward(e, a)]
        everything = [(e, a) for e in range(len(self.m.epochs)) for a in [*accounts, self.s.treasury]]
        epoch, account = self.pick(data, owed, everything, "claim")
        self._claim(epoch, account)

    def _claim(self, epoch: int, account: str) -> None:
        """One claim, paid exactly as predicted; a claim that paid cannot be repeated."""
        if account == self.s.treasury:
            claim, predict = self.s.issuance.claimTreasury, self.m.claim_treasury
        else:
            claim, predict = (lambda: self.s.issuance.claim(epoch)), (lambda: self.m.claim(epoch, account))
        predicted = predict()
        self.pay(claim, account, predicted)
        if not isinstance(predicted, str):
            self.pay(claim, account, predict())

    @rule(amount=st.integers(1, 100_000 * IFX))
    def burn(self, amount: int) -> None:
        """Burns outside the escrow change the supply but must never change any epoch's mint."""
        with boa.env.prank(self.s.admin):
            self.s.token.burn(amount)
        self.m.burned += amount

    # ------------------------------------------------------------ governance
    @rule(data=st.data(), param=st.sampled_from([
        "burnBps", "epochCap", "emissionRate", "usageCapBps", "challengeBond", "challengeBondBps",
        "challengerRewardBps", "porChallengerRewardBps", "managerSlash", "managerSlashBps", "twapWindow",
        "noShow", "commitWindow", "voteRevealWindow", "committee",
    ]))
    def govern(self, data: st.DataObject, param: str) -> None:
        """Governance moves the fee split, the emission, the usage cap, the bonds, slashes and rewards,
        and the price averaging window, within their bounds."""
        s = self.s
        if param == "committee":
            size, quorum = data.draw(st.sampled_from(COMMITTEES), label=param)
            with boa.env.prank(s.governance):
                s.por.setCommittee(size, quorum)
            self.m.committee_size, self.m.quorum = size, quorum
        elif param == "noShow":
            self._set_no_show(data.draw(st.integers(1, 4), label="noShowLimit"),
                              data.draw(st.integers(0, 1_000), label="noShowSlashBps"))
        elif param in ("epochCap", "emissionRate"):
            self._set_issuance(param, data.draw(st.one_of(caps if param == "epochCap" else rates, st.just(0)),
                                                label=param))
        elif param == "usageCapBps":
            self._set_issuance(param, data.draw(usage_caps, label=param))
        elif param in self._POR_FIELDS:
            bounds = {
                "porChallengerRewardBps": st.integers(0, BPS),
                "commitWindow": st.sampled_from([60, 1_800, 86_400]),
                "voteRevealWindow": st.sampled_from([60, 1_800, 86_400]),
            }
            self._set_por(param, data.draw(bounds[param], label=param))
        elif param == "twapWindow":
            self.m.twap_window = data.draw(st.sampled_from([0, 60, 1_800, 86_400]), label=param)
            with boa.env.prank(s.governance):
                s.feed.setTwapWindow(self.m.twap_window)
        else:
            bounds = {
                "burnBps": st.integers(5_000, BPS),
                "challengeBond": st.sampled_from([0, 10 * IFX, 100 * IFX]),
                "challengeBondBps": st.integers(0, 5 * BPS),
                "challengerRewardBps": st.integers(0, BPS),
                "managerSlash": st.sampled_from([0, 100 * IFX, 1_000 * IFX]),
                "managerSlashBps": st.integers(BPS, 5 * BPS),
            }
            self._set_escrow(param, data.draw(bounds[param], label=param))

    _POR_FIELDS = {"porChallengerRewardBps": "por_reward_bps", "commitWindow": "commit_window",
                   "voteRevealWindow": "vote_reveal_window"}

    _ESCROW_FIELDS = {"burnBps": "burn_bps", "challengeBond": "challenge_bond",
                      "challengeBondBps": "challenge_bond_bps", "challengerRewardBps": "challenger_reward_bps",
                      "managerSlash": "manager_slash", "managerSlashBps": "manager_slash_bps"}

    def _set_por(self, param: str, value: int) -> None:
        """A proof-of-render parameter; the voting windows must stay shorter (together) than the escrow's verify
        window, or the change is refused."""
        reason = None
        if param in ("commitWindow", "voteRevealWindow"):
            other = self.m.vote_reveal_window if param == "commitWindow" else self.m.commit_window
            if value + other >= VERIFY_WINDOW:
                reason = "por: voting must fit the verify window"
        with expect(reason), boa.env.prank(self.s.governance):
            self.s.por.setParameter("challengerRewardBps" if param == "porChallengerRewardBps" else param, value)
        if reason is None:
            setattr(self.m, self._POR_FIELDS[param], value)

    def _set_no_show(self, limit: int, slash_bps: int) -> None:
        """Staking's no-show rule, for every node: every ``limit``-th miss costs ``slash_bps`` of the stake."""
        with boa.env.prank(self.s.governance):
            self.s.staking.setNoShow(limit, slash_bps)
        self.m.no_show_limit, self.m.no_show_slash_bps = limit, slash_bps

    def _set_escrow(self, param: str, value: int) -> None:
        with boa.env.prank(self.s.governance):
            self.s.escrow.setParameter(param, value)
        setattr(self.m, self._ESCROW_FIELDS[param], value)

    def _set_issuance(self, param: str, value: int) -> None:
        with boa.env.prank(self.s.governance):
            self.s.issuance.setParameter(param, value)
        field_ = {"epochCap": "epoch_cap", "emissionRate": "emission_rate", "usageCapBps": "usage_cap_bps"}[param]
        setattr(self.m, field_, value)

    # ------------------------------------------------------------ invariants
    @invariant()
    def escrow_holds_its_liabilities(self) -> None:
        held = self.s.token.balanceOf(self.s.escrow.address)
        assert held == self.s.escrow_liabilities(), "escrow balance != budgets + reservations + claimable + bonds"
        assert held == self.m.escrow_liabilities()
        assert self.s.escrow.bondsHeld() == self.m.bonds_held

    @invariant()
    def relay_holds_nothing(self) -> None:
        """The job relay passes IFX through within a call: it never keeps IFX nor an allowance to the escrow."""
        s = self.s
        assert s.token.balanceOf(s.relay.address) == 0
        assert s.token.allowance(s.relay.address, s.escrow.address) == 0

    @invariant()
    def lane_holds_its_bonds(self) -> None:
        """The batch lane holds exactly the challenge bonds it owes (it never keeps a slash it forwards), and
        the escrow holds exactly the fees of the batches not yet closed."""
        s = self.s
        assert s.token.balanceOf(s.lane.address) == s.lane.bondsHeld() == self.m.lane_bonds
        assert s.escrow.laneHeld() == self.m.lane_held

    @invariant()
    def supply_is_capped_and_conserved(self) -> None:
        token = self.s.token
        minted, supply = token.totalMinted(), token.totalSupply()
        assert supply <= MAX_SUPPLY and minted <= MAX_SUPPLY
        assert minted == self.m.minted
        assert supply == minted - self.m.burned

    @invariant()
    def epochs_mint_within_the_usage_cap_and_claims_fit(self) -> None:
        s, m = self.s, self.m
        assert s.issuance.currentEpoch() == len(m.epochs) - 1
        assert s.issuance.ecosystemRemaining() == m.ecosystem_remaining
        for e, ep in enumerate(m.epochs):
            chain = s.issuance.epochs(e)
            # the work, fees, burns, final-verdict weight and penalties recorded on chain are what the
            # model saw (open epoch included)
            assert (chain.start, chain.length, chain.workIBM, chain.fees, chain.burned, chain.verdictWeight,
                    chain.penalty, chain.closed) == (ep.start, ep.length, ep.work_ibm, ep.fees, ep.burned,
                                                     ep.verdict_weight, ep.penalty, ep.closed), (
                f"epoch {e}: chain {chain} != model {ep}")
            # work settled after a late reveal earns its manager nothing
            assert s.issuance.forfeitedFees(e) == ep.forfeited
            assert s.issuance.managerFees(e, s.manager) == ep.manager_fees.get(s.manager, 0)
            if not ep.closed:
                continue
            # invariant 3: exactly the model's prediction, within the usage pool, which is itself within
            # usageCapBps of the epoch's burns: nothing minted without burns, never as much as was burned
            assert (chain.minted, chain.apparentIBM) == (ep.minted, ep.apparent_ibm), f"epoch {e}: {chain} != {ep}"
            assert (chain.workerPool, chain.oraclePool, chain.managerPool) == (
                ep.worker_pool, ep.oracle_pool, ep.manager_pool
            )
            assert chain.minted <= ep.usage_pool <= chain.burned * ep.usage_cap_bps // BPS
            assert chain.minted < chain.burned or chain.minted == chain.burned == 0
            if ep.fees and ep.verdict_weight:
                # all four pools minted (less the manager share of forfeited credit): only rounding dust is left
                unminted = ep.usage_pool * MANAGER_MINT_BPS // BPS - ep.manager_pool
                assert ep.usage_pool - unminted - chain.minted <= 3, "only rounding dust is left"
            # invariant 5: what was paid out (measured from balances) never exceeds what the epoch holds,
            # and the epoch holds no more than its mint plus the penalties it pays out
            pools = chain.workerPool + chain.oraclePool + chain.managerPool
            assert ep.claimed <= pools, f"epoch {e}: claimed {ep.claimed} > pools {pools}"
            assert pools <= chain.minted + chain.penalty + ep.carried_in

    @invariant()
    def stake_is_accounted_for(self) -> None:
        s = self.s
        total = unbonding = 0
        for account in stakers(s):
            node, model = s.staking.nodes(account), self.m.node(account)
            assert node.stake >= node.locked + node.unbonding, f"{account}: stake < locked + unbonding"
            assert (node.stake, node.locked, node.unbonding, node.unbondingAt, node.ib) == (
                model.stake, model.locked, model.unbonding, model.unbonding_at, model.ib
            ), f"{account}: chain {node} != model {model}"
            total += node.stake
            unbonding += node.unbonding
        assert s.token.balanceOf(s.staking.address) == s.staking.totalStaked() == total
        # VotePower's total stake is Staking's bonded stake (every stake, unbond and slash of stake pushed to it), but
        # for the collateral slashed since each node's last push (settlement pushes nothing), which ``syncVotes`` ends
        assert s.votes.totalStake() == s.staking.totalStaked() - unbonding + self.m.unsynced == self.m.vote_total_stake
        for account, pushed in self.m.vote_stake.items():
            if pushed != self.m.bonded(account):
                assert s.votes.stakeOf(account) == pushed, f"{account}: synced at a collateral slash"

    @invariant()
    def votes_add_up_to_locks_and_bonded_stake(self) -> None:
        """Every account's votes are what the model delegated it, they sum to VotePower's total, which is the model's
        supply (locks + bonded stake + half of what the vesting escrows hold); VotePower holds exactly the IFX locked
        (the escrows' included); and the checkpoints at an earlier step's timestamp (the previous step's or one
        further back) hold the votes and totals the model recorded then, every delegate's adding up to the total."""
        s, m, now = self.s, self.m, self.now
        votes, delegated = [s.votes.getVotes(a) for a in self.voters], m.delegated_votes()
        assert votes == [delegated.get(a, 0) for a in self.voters], "votes per delegate != model"
        assert sum(votes) == s.votes.totalVotes() == m.vote_supply == m.past_votes(now)[0]
        assert s.token.balanceOf(s.votes.address) == s.votes.totalLocked() == sum(m.vote_locked.values())
        earlier = [t for t in self.step_times if t < now]
        if earlier:
            # the previous step's time on even steps, an older one on odd steps
            steps = len(self.step_times)
            t = earlier[-1] if steps % 2 == 0 else earlier[steps * 7 % len(earlier)]
            supply = s.votes.getPastTotalSupply(t)
            assert (supply, s.votes.getPastTotalStake(t)) == m.past_votes(t), f"at {t}"
            past = [s.votes.getPastVotes(a, t) for a in self.voters]
            assert past == [m.past_votes_of(a, t) for a in self.voters], f"votes per delegate at {t} != model"
            assert sum(past) == supply, f"at {t}: the delegates' votes do not add up to the supply"
        if not self.step_times or self.step_times[-1] != now:
            self.step_times.append(now)


    @invariant()
    def vesting_is_conserved(self) -> None:
        """Every escrow vests by its schedule (frozen at its revocation) and claimed <= vested <= total; it holds
        locked in VotePower exactly total - claimed - returned, delegated as its beneficiary chose; and the bucket,
        everything escrowed and everything claimed add up to what the bucket was funded with, to the wei."""
        s, m, now = self.s, self.m, self.now
        escrowed = claimed = 0
        for escrow, v in m.vestings.items():
            e = self.escrow_contract(escrow)
            chain = (e.claimed(), e.vested(), s.votes.locked(escrow), e.lockedRemaining(), e.revoked(),
                     s.votes.votingUnits(escrow))
            assert chain == (v.claimed, v.vested(now), v.locked, v.locked, v.revoked_at is not None,
                             v.locked * VESTING_VOTE_BPS // BPS), f"{escrow}: chain {chain} != model {v}"
            assert v.claimed <= v.vested(now) <= v.total
            assert v.locked == v.total - v.claimed - v.returned
            escrowed += chain[2]
            claimed += chain[0]
        assert s.token.balanceOf(s.vesting.address) + escrowed + claimed == m.vest_funded

    @invariant()
    def ballots_count_past_votes(self) -> None:
        """Each proposal's for, against and abstain are its voters' ballots, and add up to the sum of their votes at
        the snapshot (getPastVotes)."""
        for pid, p in self.m.proposals.items():
            chain = GOVERNOR.proposals(pid)
            tallies = (chain.forVotes, chain.againstVotes, chain.abstainVotes)
            assert tallies == (p.tally(VOTE_FOR), p.tally(VOTE_AGAINST), p.tally(VOTE_ABSTAIN)), f"{pid}: {tallies}"
            if p.ballots:
                assert sum(tallies) == sum(self.s.votes.getPastVotes(a, p.snapshot) for a in p.ballots)

    @invariant()
    def issuance_holds_unclaimed_rewards(self) -> None:
        s, m = self.s, self.m
        held = s.token.balanceOf(s.issuance.address)
        unclaimed = sum(ep.pools - ep.claimed for ep in m.epochs if ep.closed)
        assert s.issuance.treasuryOwed() == m.treasury_owed
        assert s.issuance.carriedPenalty() == m.carried_penalty
        assert held >= unclaimed + s.issuance.treasuryOwed()
        # exactly: minted + penalties received - claims paid (rounding dust stays here)
        assert held == m.issuance_balance

    @invariant()
    def coalition_burns_more_than_it_mints(self) -> None:
        """Invariant 7: creator, manager, workers and oracles are one owner paying itself; whatever it
        does, the mint it can claim back stays below the fees it burned."""
        m = self.m
        closed = [ep for ep in m.epochs if ep.closed]
        node_mint = sum(ep.minted - ep.to_treasury for ep in closed)
        penalties_out = sum(ep.penalties_out for ep in closed)
        # its BMW claims (measured from balances) came from the nodes' minted pools and the penalties
        assert m.coalition_claimed <= node_mint + penalties_out
        gain = self.coalition_wealth() - self.wealth0 - m.funded
        assert gain <= node_mint + m.outsider_penalties - m.fees_burned - m.treasury_fees, (
            f"coalition gained {gain}: minted {node_mint}, outsider penalties {m.outsider_penalties}, "
            f"burned {m.fees_burned}, treasury fees {m.treasury_fees}")
        if m.fees_burned:
            assert gain - m.outsider_penalties < 0
        else:
            assert gain - m.outsider_penalties <= 0


# Examples (runs of the machine): make test-fast runs a few, shorter; make test 12 (each a fresh random draw, so
# successive CI runs cover different sequences); a soak runs many more, e.g.
# ``INFERIX_INVARIANT_EXAMPLES=500 .venv/bin/python -m pytest tests/unit/contracts/test_invariants.py``.
INVARIANT_EXAMPLES = int(os.environ.get("INFERIX_INVARIANT_EXAMPLES") or (3 if FAST else 12))

TestProtocolInvariants = ProtocolMachine.TestCase
TestProtocolInvariants.settings = settings(
    max_examples=INVARIANT_EXAMPLES,
    stateful_step_count=12 if FAST else 22,  # seven of them the initializers
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# ---------------------------------------------------------------- the usage cap


def _epoch_after_work(
    s: System, burn_bps: int, usage_cap: int, emission_rate: int, ibm_per_task: list[int], failed: list[bool]
) -> tuple[object, int, int]:
    """Runs the same work under the given parameters, one owner behind every role; closes the epoch and
    claims every reward. Returns the closed epoch, the amount its fees burned and the coalition's net
    IFX change (its balances and stakes; nothing is left in the escrow for it)."""
    with boa.env.anchor():
        with boa.env.prank(s.governance):
            s.escrow.setParameter("burnBps", burn_bps)
            s.issuance.setParameter("usageCapBps", usage_cap)
            s.issuance.setParameter("emissionRate", emission_rate)
        members = coalition(s)

        def wealth() -> int:
            return sum(s.token.balanceOf(a) + s.staking.stakeOf(a) for a in members)

        budget = 10_000 * IFX
        before = wealth() + budget  # the creator is funded with the budget below
        supply = s.token.totalSupply()
        job_id = s.create_job(budget=budget)
        task_ids = []
        for i, (ibm, fail) in enumerate(zip(ibm_per_task, failed)):
            (task_id,) = s.post(job_id, ibm=ibm)
            s.run_task(task_id, s.workers[i % 3], passed=not fail)
            task_ids.append(task_id)
        warp(3_601)
        s.escrow.settle(task_ids)
        burned = supply - s.token.totalSupply()
        with boa.env.prank(s.creator):
            s.escrow.closeJob(job_id)
            s.escrow.withdraw()
        for worker in s.workers:  # a failed task's collateral slash is the only thing the workers lose
            assert s.escrow.claimable(worker) == 0
        warp(EPOCH)
        s.refresh_price()
        s.issuance.closeEpoch()
        for account in stakers(s):
            if s.issuance.claimable(0, account):
                s.issuance.claim(0, sender=account)
        return s.issuance.epochs(0), burned, wealth() - before


@settings(max_examples=2 if FAST else 6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    burn_bps=st.integers(5_000, 10_000),
    usage_cap=st.one_of(st.just(9_000), st.integers(0, 9_500)),
    emission_rate=st.one_of(st.just(EMISSION_RATE), st.integers(IFX // 1_000, IFX)),
    tasks=st.lists(st.tuples(st.integers(1, 200 * IBM), st.booleans()), min_size=1, max_size=4),
)
def test_epoch_mint_never_exceeds_the_usage_cap_of_its_burns(
    burn_bps: int, usage_cap: int, emission_rate: int, tasks: list[tuple[int, bool]]
) -> None:
    """The same verified work (some tasks failing) settled under a random burnBps, usage cap and
    emission rate mints exactly ``min(W_p x E_p, epochCap, ecosystemRemaining, burned x usageCapBps)``
    (less rounding dust of its four pools), so never as much as it burned; and a self-dealing coalition
    (creator, manager, workers and oracles one owner) that claims every reward ends poorer than it
    started, by at least what it burned less the usage cap."""
    s = SYSTEM
    seeds, results = dict(s.seeds), dict(s.results)
    ibm_per_task = [ibm for ibm, _ in tasks]
    failed = [fail for _, fail in tasks]
    try:
        ep, burned, gain = _epoch_after_work(s, burn_bps, usage_cap, emission_rate, ibm_per_task, failed)
    finally:
        s.seeds, s.results = seeds, results
    assert ep.workIBM == sum(ibm for ibm, fail in tasks if not fail)
    assert ep.burned == burned
    usage_pool = min(ep.workIBM * emission_rate // IBM, EPOCH_CAP, s.issuance.ecosystemRemaining() + ep.minted,
                     burned * usage_cap // BPS)
    assert ep.minted <= usage_pool <= burned * usage_cap // BPS
    if ep.fees:  # a passed task: all four pools have a denominator (its verdict was final)
        assert usage_pool - ep.minted <= 3
        assert ep.minted < burned
    else:
        assert ep.minted == burned == 0
    # the coalition paid every fee (burned + the treasury's share) and got back at most the nodes'
    # share of the mint and its own slashes (the penalties its oracles claim)
    treasury_fees, treasury_mint = ep.fees - burned, usage_pool * 750 // BPS if ep.fees else 0
    assert gain <= ep.minted - treasury_mint - burned - treasury_fees
    if burned:
        assert gain < 0
