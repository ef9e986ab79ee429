"""Fixtures for contract tests on titanoboa's in-process EVM.

The whole system is deployed once per session and every test runs inside
``boa.env.anchor()``, so each test starts from the same freshly wired state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import boa
import pytest
from eth_account import Account
from eth_abi import encode as abi_encode
from eth_utils import keccak

from inferix.protocol import ESCROW_MARGIN_S
from inferix.sealing import manifest_digest

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def _tolerate_stale_storage_traces() -> None:
    """titanoboa shows a contract's storage when a call reverts, rebuilding mapping keys from every slot ever written
    at the contract's address. Addresses repeat across tests (``boa.env.anchor()`` rewinds the deployer's nonce), so a
    test that deploys a contract where an earlier test had another one finds that other layout's slots, and the
    rebuild raises inside the error report, replacing the revert the test expects with an AttributeError. The report
    keeps every readable variable and marks that one."""
    from boa.contracts.vyper.vyper_contract import StorageVar

    original = StorageVar.get

    def get(self, truncate_limit=None):
        try:
            return original(self, truncate_limit)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            return "<unreadable: slots written by another contract once at this address>"

    StorageVar.get = get


_tolerate_stale_storage_traces()

IFX = 10**18
USD = 10**18
IBM = 10**6
PRICE_8DEC = 50_000_000  # the mock aggregator answers $0.50 per IFX
USD_PER_IFX = USD // 2
WORKER_PRICE = USD // 2  # $0.50 per IBM
MIN_ORACLE_STAKE = 1_000 * IFX
MIN_MANAGER_STAKE = 1_000 * IFX
ECOSYSTEM = 500_000_000 * IFX
EMISSION_RATE = 10 * IFX  # E_p: 10 IFX per verified IBM
EPOCH_CAP = 1_000_000 * IFX
EPOCH = 72 * 3600
WORKER_STAKE = 20_000 * IFX  # above S(n) = 2 * 4320 * 1.0 * $0.50 / $0.50 = 8,640 IFX
BENCHMARK_WORK = 2 * IBM  # the standard benchmark task: 2 IBM
SEED_ESCROW_BYTES = 160  # a time-lock ciphertext of a 32-byte seed (inferix/timelock.py)
# how long past the last render deadline an assignment made at posting could reach the helpers time-lock a seed to:
# a posted task may wait this long for its assignment, as the services' manager does
ESCROW_MARGIN = ESCROW_MARGIN_S



def bogus_manifest(seed: bytes) -> bytes:
    """The "sealed manifest" unit tests commit to: bytes that are no seal at all (the contracts see only its digest,
    until someone proves it bogus with ``ProofOfRender.proveBadManifest``, which then succeeds)."""
    return b"no sealed manifest, for " + seed


def sealed_seed(seed: bytes) -> bytes:
    """A stand-in for the seed's time-lock ciphertext (160 bytes): the escrow checks its length only (a real one,
    from inferix.timelock, costs a pairing per round, and the mock beacon has no key to encrypt to)."""
    return b"".join(keccak(bytes([i]) + seed) for i in range(SEED_ESCROW_BYTES // 32))


_cache: dict[str, boa.contracts.vyper.vyper_contract.VyperDeployer] = {}


def deployer(name: str):
    if name not in _cache:
        path = CONTRACTS / f"{name}.vy"
        if not path.exists():
            path = CONTRACTS / "mocks" / f"{name}.vy"
        _cache[name] = boa.load_partial(str(path))
    return _cache[name]


@dataclass
class Oracle:
    key: bytes
    address: str


@dataclass
class System:
    admin: str
    governance: str
    treasury: str
    arbiter: str
    creator: str
    manager: str
    workers: list[str]
    oracles: list[Oracle]
    token: object
    aggregator: object
    feed: object
    staking: object
    issuance: object
    escrow: object
    por: object
    beacon: object
    lane: object = None
    committee: object = None
    votes: object = None
    licenses: object = None
    vesting: object = None  # a revocable VestingFactory wired in VotePower (owner: admin; empty bucket)
    relay: object = None  # JobRelay, the escrow's trusted forwarder (sponsored creates, closes and withdrawals)
    creator_key: bytes = b""  # the creator's private key: it signs relayed requests and permits
    chain_id: int = 1
    seeds: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)  # task id -> the result CID of its latest submission

    # ------------------------------------------------------------ actions
    def fund(self, account: str, amount: int) -> None:
        with boa.env.prank(self.admin):
            self.token.transfer(account, amount)

    def license(self, account: str, role: int) -> int:
        """A node license for ``role`` (2 oracle, 3 manager) issued to ``account``, which approves Staking to lock it
        at registration: ``staking.register(role, 0, s.license(account, role))``."""
        with boa.env.prank(self.admin):
            token_id = self.licenses.issue(account, {2: 2, 3: 4}[role])
        with boa.env.prank(account):
            self.licenses.approve(self.staking.address, token_id)
        return token_id

    def refresh_price(self, answer: int = PRICE_8DEC) -> None:
        with boa.env.prank(self.admin):
            self.aggregator.setAnswer(answer)

    def create_job(self, budget: int = 1_000 * IFX, max_price: int = USD, manager: str | None = None) -> int:
        self.fund(self.creator, budget)
        with boa.env.prank(self.creator):
            self.token.approve(self.escrow.address, budget)
            return self.escrow.createJob(manager or self.manager, "bafyscene", 1, 10, "640x360@64spp png", max_price, budget)

    # ------------------------------------------------------------ seed escrows
    def escrow_round(self, window: int, margin: int = ESCROW_MARGIN) -> int:
        """The beacon round to time-lock a seed to when posting (or re-keying) a task of render window ``window``
        now: the first round due after ``now + acceptWindow + window + margin`` (the escrow wants it after
        ``now + acceptWindow + window`` and at most ``escrowSlack`` later). ``margin`` is how long the task may
        then wait for an assignment (``assign`` refuses once the escrow is that close)."""
        earliest = boa.env.evm.patch.timestamp + self.escrow.acceptWindow() + window + margin
        return self.beacon.roundAt(earliest) + 1

    def escrow_time(self, task_id: int) -> int:
        """When the task's seed escrow opens: its beacon round's time."""
        return self.beacon.roundTime(self.escrow.tasks(task_id).escrowRound)

    def spec(self, ibm: int = IBM, commit: bytes | None = None, digest: bytes | None = None, start: int = 1,
             end: int = 1, window: int = 3600, cid: str = "bafy", seed: bytes | None = None,
             escrow_round: int | None = None, seed_escrow: bytes | None = None, margin: int = ESCROW_MARGIN) -> tuple:
        """A TaskSpec: (ibm, keyCommit, manifestDigest, escrowRound, seedEscrow, frameStart, frameEnd,
        renderWindow, sceneCid); the key from ``seed`` (random by default), a valid escrow round for ``window``."""
        seed = os.urandom(32) if seed is None else seed
        return (ibm, keccak(seed) if commit is None else commit,
                manifest_digest(bogus_manifest(seed)) if digest is None else digest,
                self.escrow_round(window, margin) if escrow_round is None else escrow_round,
                sealed_seed(seed) if seed_escrow is None else seed_escrow, start, end, window, cid)

    def post(self, job_id: int, ibm: int = 10 * IBM, n: int = 1, window: int = 3600,
             margin: int = ESCROW_MARGIN) -> list[int]:
        specs = []
        for _ in range(n):
            seed = os.urandom(32)
            specs.append(self.spec(ibm, start=1, end=10, window=window, cid="bafynoisedscene", seed=seed,
                                   margin=margin))
            self.seeds[len(self.seeds)] = seed
        with boa.env.prank(self.manager):
            first = self.escrow.postTasks(job_id, specs)
        ids = list(range(first, first + n))
        pending = list(self.seeds.values())[-n:]
        for task_id, seed in zip(ids, pending):
            self.seeds[("task", task_id)] = seed
        return ids

    def seed(self, task_id: int) -> bytes:
        return self.seeds[("task", task_id)]

    def rekey_args(self, task_id: int, seed: bytes | None = None, package: str = "bafyrenoised",
                   margin: int = ESCROW_MARGIN) -> tuple:
        """``rekey``'s arguments after the task id: a fresh (or the given) seed's commitment and manifest digest, a
        valid escrow round for the task's render window, the seed's escrow, the package."""
        seed = os.urandom(32) if seed is None else seed
        window = self.escrow.tasks(task_id).renderWindow
        return (keccak(seed), manifest_digest(bogus_manifest(seed)), self.escrow_round(window, margin),
                sealed_seed(seed), package)

    def rekey(self, task_id: int, package: str = "bafyrenoised", margin: int = ESCROW_MARGIN) -> bytes:
        """The manager's fresh secret (and seed escrow) for an open task: a re-queued task's next attempt, or a
        task whose escrow would open too soon."""
        seed = os.urandom(32)
        with boa.env.prank(self.manager):
            self.escrow.rekey(task_id, *self.rekey_args(task_id, seed, package, margin))
        self.seeds[("task", task_id)] = seed
        return seed

    def assign_accept(self, task_id: int, worker: str) -> None:
        with boa.env.prank(self.manager):
            self.escrow.assign(task_id, worker)
        with boa.env.prank(worker):
            self.escrow.accept(task_id)

    def result_cid(self, task_id: int) -> str:
        """The result CID the current attempt submitted (or will submit): one per (task, attempt), since the
        escrow never accepts a CID twice."""
        return self.results.get(task_id) or f"bafyframes-{task_id}-{self.attempt(task_id)}"

    def submit_reveal(self, task_id: int, worker: str, cid: str | None = None) -> None:
        cid = cid or f"bafyframes-{task_id}-{self.attempt(task_id)}"
        with boa.env.prank(worker):
            self.escrow.submitResult(task_id, cid)
        self.results[task_id] = cid
        self.escrow.revealKey(task_id, self.seed(task_id))

    def attempt(self, task_id: int) -> int:
        return self.escrow.verdictSubject(task_id)[2]

    def challenge(self, task_id: int, who: str) -> int:
        """`who` challenges the task's verdict, funded with exactly the bond it takes."""
        bond = self.escrow.bondFor(task_id)
        self.fund(who, bond)
        with boa.env.prank(who):
            self.token.approve(self.escrow.address, bond)
            self.escrow.challenge(task_id)
        return bond

    def publish_round(self, task_id: int) -> int:
        """The (mock) beacon publishes the round that draws the task's committee; time moves to it if needed."""
        round_ = self.por.drawRound(task_id)
        due = self.beacon.genesisTime() + (round_ - 1) * self.beacon.period()
        now = boa.env.evm.patch.timestamp
        if due > now:
            warp(due - now)
        if self.beacon.randomness(round_) == b"\x00" * 32:
            with boa.env.prank(self.admin):
                self.beacon.setRandomness(round_, keccak(b"round" + round_.to_bytes(8, "big")))
        return round_

    def draw(self, task_id: int) -> list[str]:
        """The committee of the task's current attempt (drawn now if nobody has)."""
        attempt = self.attempt(task_id)
        members = list(self.por.committeeOf(task_id, attempt))
        if not members:
            self.publish_round(task_id)
            self.por.drawCommittee(task_id)
            members = list(self.por.committeeOf(task_id, attempt))
        return members

    def commitment(self, task_id: int, oracle: str, passed: bool, score: int, salt: bytes) -> bytes:
        return self.por.commitmentOf(task_id, self.attempt(task_id), oracle, passed, score, salt)

    def vote(self, task_id: int, votes: dict, score: int = 9_000) -> None:
        """Committee members commit then reveal ``votes`` ({oracle address: passed}); members not in ``votes``
        stay silent (time then moves past both phases and the committee is finalized)."""
        self.draw(task_id)
        key = keccak(abi_encode(["uint256", "uint256"], [task_id, self.attempt(task_id)]))
        salts = {oracle: keccak(oracle.encode() + task_id.to_bytes(32, "big")) for oracle in votes}
        for oracle, passed in votes.items():
            with boa.env.prank(oracle):
                self.por.commitVote(task_id, self.commitment(task_id, oracle, passed, score, salts[oracle]))
        committee = self.por.committees(key)
        if committee.committed < committee.members:
            warp(self.por.commitWindow() + 1)
        for oracle, passed in votes.items():
            with boa.env.prank(oracle):
                self.por.revealVote(task_id, passed, score, salts[oracle])
        if not self.por.committees(key).finalized:
            warp(self.por.voteRevealWindow() + 1)
            self.por.finalize(task_id)

    def verdict(self, task_id: int, passed: bool, oracles: list[Oracle] | None = None, score: int = 9_000) -> None:
        """The committee votes ``passed``: every member by default, or only the members among ``oracles``."""
        members = self.draw(task_id)
        voters = members if oracles is None else [o.address for o in oracles if o.address in members]
        self.vote(task_id, {m: passed for m in voters}, score)


    def run_task(self, task_id: int, worker: str, passed: bool = True) -> None:
        self.assign_accept(task_id, worker)
        self.submit_reveal(task_id, worker)
        self.verdict(task_id, passed)

    def escrow_liabilities(self) -> int:
        """Unreserved budgets + live reservations + claimable + bonds, summed from storage."""
        total = self.escrow.bondsHeld() + self.escrow.laneHeld()
        for job_id in range(1, self.escrow.jobCount() + 1):
            total += self.escrow.jobs(job_id).budget
        for task_id in range(1, self.escrow.taskCount() + 1):
            task = self.escrow.tasks(task_id)
            if task.state in (1, 2, 3, 4, 5, 6, 7):
                total += task.reserved
        for account in {self.creator, self.treasury, *self.workers, *(o.address for o in self.oracles), self.admin}:
            total += self.escrow.claimable(account)
        return total


def deploy_system() -> System:
    admin = boa.env.eoa
    governance = boa.env.generate_address("governance")
    treasury = boa.env.generate_address("treasury")
    arbiter = boa.env.generate_address("arbiter")
    # a keyed creator: it signs the job relay's requests and IFX permits
    creator_key = keccak(b"inferix unit-test creator")
    creator = Account.from_key(creator_key).address
    manager = boa.env.generate_address("manager")
    workers = [boa.env.generate_address(f"worker{i}") for i in range(3)]
    oracles = []
    for i in range(4):
        acct = Account.from_key(bytes([i + 1]) * 32)
        oracles.append(Oracle(bytes(acct.key), acct.address))

    with boa.env.prank(admin):
        token = deployer("IFXToken").deploy()
        aggregator = deployer("MockAggregator").deploy(8, PRICE_8DEC)
        feed = deployer("PriceFeedAdapter").deploy(aggregator.address, governance, 86400)
        staking = deployer("Staking").deploy(token.address, governance, MIN_ORACLE_STAKE, MIN_MANAGER_STAKE)
        issuance = deployer("BMWIssuance").deploy(
            token.address, feed.address, staking.address, governance, treasury, ECOSYSTEM, EMISSION_RATE, EPOCH_CAP
        )
        relay = deployer("JobRelay").deploy(token.address)
        escrow = deployer("JobEscrow").deploy(
            token.address, staking.address, feed.address, issuance.address, governance, treasury, BENCHMARK_WORK,
            relay.address,
        )
        relay.wire(escrow.address)
        beacon = deployer("MockBeacon").deploy(boa.env.evm.patch.timestamp, 1)
        por = deployer("ProofOfRender").deploy(staking.address, escrow.address, issuance.address, beacon.address,
                                               governance, arbiter)
        lane = deployer("BatchLane").deploy(token.address, staking.address, issuance.address, beacon.address,
                                            escrow.address, por.address)
        committee = deployer("BatchCommittee").deploy(lane.address, staking.address, beacon.address, por.address)
        lane.wire(committee.address)
        votes = deployer("VotePower").deploy(token.address, "Inferix Votes", "1")
        licenses = deployer("NodeLicense").deploy(governance)
        # a revocable vesting factory (community grants), its bucket empty: tests fund it from the genesis holder
        vesting = deployer("VestingFactory").deploy(token.address, votes.address,
                                                    deployer("VestingEscrow").deploy().address, True)
        staking.wire(escrow.address, por.address, issuance.address, lane.address, votes.address, licenses.address)
        votes.wire(staking.address, [vesting.address])
        licenses.wire(staking.address)
        issuance.wire(escrow.address, por.address, lane.address)
        escrow.wire(por.address, lane.address)
        token.mint(admin, 100_000_000 * IFX)  # genesis allocation used to fund the actors
        token.finishGenesis(issuance.address)

    system = System(admin, governance, treasury, arbiter, creator, manager, workers, oracles,
                    token, aggregator, feed, staking, issuance, escrow, por, beacon, lane, committee,
                    votes=votes, licenses=licenses, vesting=vesting, chain_id=boa.env.evm.patch.chain_id,
                    relay=relay, creator_key=creator_key)

    def join(account: str, role: int, price: int, amount: int) -> None:
        system.fund(account, amount)
        license_id = system.license(account, role) if role != 1 else 0
        with boa.env.prank(account):
            staking.register(role, price, license_id)
            token.approve(staking.address, amount)
            staking.stake(amount)

    join(manager, 3, 0, MIN_MANAGER_STAKE)
    for w in workers:
        join(w, 1, WORKER_PRICE, WORKER_STAKE)
    for o in oracles[:3]:
        join(o.address, 2, 0, MIN_ORACLE_STAKE)
    # oracles[3] is never registered: it is never drawn
    return system


_system: System | None = None


@pytest.fixture(scope="session")
def deployed() -> System:
    global _system
    if _system is None:
        _system = deploy_system()
    return _system


@pytest.fixture
def s(deployed: System):
    """The deployed system, rolled back after each test."""
    with boa.env.anchor():
        seeds, results = dict(deployed.seeds), dict(deployed.results)
        yield deployed
        deployed.seeds, deployed.results = seeds, results


def warp(seconds: int) -> None:
    boa.env.time_travel(seconds=seconds)
