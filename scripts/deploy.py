"""Deploy and wire every Inferix contract, hand governance to the timelock, write the deployments file.

    ape run scripts/deploy.py --network ethereum:local:foundry
    ape run scripts/deploy.py --network ethereum:sepolia:alchemy --account deployer \\
        --aggregator 0x... --treasury 0x... --arbiter 0x...

Order (every ``governance`` is an immutable constructor argument, so the timelock comes first):

1. ``IFXToken`` (the deployer is owner and genesis minter until step 8)
2. ``MockAggregator`` at $0.50 -- local networks (or ``--aggregator mock``); elsewhere the IFX/USD aggregator is given
3. ``Timelock`` (snekmate timelock controller; executor = anyone; the deployer is its admin until step 6)
4. ``PriceFeedAdapter`` -> ``Staking`` -> ``BMWIssuance`` -> ``JobRelay`` (the escrow's trusted forwarder: sponsored
   transactions) -> ``JobEscrow`` -> beacon -> ``ProofOfRender`` -> lane
5. governance: ``VotePower``, ``VestingEscrow`` (the escrows' implementation), ``VestingFactory`` (investors and
   foundation, irrevocable) and ``CommunityFund`` (a revocable ``VestingFactory``), ``NodeLicense``,
   ``LicenseSale``, ``Governor``
6. one-time wiring; the Governor becomes the timelock's proposer and canceller, the deployer renounces the admin
7. genesis: the buckets minted into their contracts (never to the deployer), the foundation's and investors'
   escrows, the airdrop, the first node licenses; the factories handed to the timelock
8. ``token.finishGenesis(issuance)``: BMWIssuance is the only minter, forever, and the token has no owner
9. ``KeyRegistry`` (every node's encryption public key for private jobs; no governance, no wiring): deployed last, so
   the other contracts keep their addresses

See ``docs/deployment.md`` for the options, environment variables and the deployments file.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

if TYPE_CHECKING:
    from inferix.deployments import Deployment
from ape.cli import ConnectedProviderCommand, network_option

IFX = 10**18
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# --- token supply (IFXToken.MAX_SUPPLY = 1,000,000,000 IFX) and the whitepaper's genesis allocation --------
MAX_SUPPLY = 10**9 * IFX
ECOSYSTEM_ALLOCATION = 500_000_000 * IFX  # 50 %: reserved for BMW rewards; minted only by BMWIssuance, per epoch
INVESTORS = 225_000_000 * IFX  # 22.5 %: seed, strategic, KOLs, public sale -- vesting escrows (irrevocable)
FOUNDATION = 125_000_000 * IFX  # 12.5 %: one escrow, 12-month lock then 24 months linear (irrevocable)
COMMUNITY = 144_000_000 * IFX  # 14.4 %: community grants (revocable escrows, by governance), 3 M airdropped at TGE
AIRDROP = 3_000_000 * IFX
LIQUIDITY = 6_000_000 * IFX  # 0.6 %: DEX and CEX liquidity, unlocked at TGE
GENESIS_MINT = INVESTORS + FOUNDATION + COMMUNITY + LIQUIDITY  # 500,000,000 IFX, none of it to the deployer
ROUNDS = {"seed": 0, "strategic": 1, "kol": 2, "public": 3}  # VestingFactory's presets (4: the foundation)
FOUNDATION_ROUND = 4
# node types (NodeLicense's bitmask)
LICENSE_WORKER, LICENSE_VERIFIER, LICENSE_MANAGER = 1, 2, 4
# --- BMW issuance -----------------------------------------------------------------------------------------
EMISSION_RATE = 10 * IFX  # E_p: IFX minted per verified IBM (governance re-sets it from the IBME)
BENCHMARK_WORK = 200_000  # micro-IBM: the standard benchmark task (G, 320x180, 32 spp, 2 frames) = 0.2 IBM
EPOCH_CAP = 1_000_000 * IFX  # at most 1M IFX per 72 h epoch: the allocation lasts >= 500 epochs (~4.1 years)
# --- staking ----------------------------------------------------------------------------------------------
MIN_ORACLE_STAKE = 1_000 * IFX
MIN_MANAGER_STAKE = 1_000 * IFX
# --- prices -----------------------------------------------------------------------------------------------
MOCK_DECIMALS = 8
MOCK_PRICE = 50_000_000  # $0.50 per IFX with 8 decimals, like a Chainlink USD feed
MAX_PRICE_AGE = 86_400  # staleness bound in seconds (Chainlink's 24 h heartbeat); PriceFeedAdapter allows 60 s..2 d
# --- governance -------------------------------------------------------------------------------------------
LOCAL_TIMELOCK_DELAY = 60  # seconds, on local chains (tests time-travel past it)
PUBLIC_TIMELOCK_DELAY = 2 * 86_400  # seconds, on every other network
# the Governor (votingDelay s, votingPeriod s, proposalThreshold, quorumBps, quorumFloor, vetoBps); the execution
# delay is max(the timelock's minimum, Staking's unbonding period: 7 days)
PUBLIC_GOVERNOR = (86_400, 5 * 86_400, 1_000_000 * IFX, 400, 10_000_000 * IFX, 1_000)
LOCAL_GOVERNOR = (60, 3_600, 1_000 * IFX, 400, 0, 1_000)
# --- private jobs -----------------------------------------------------------------------------------------
KEY_ROTATION_GRACE = 7 * 86_400  # KeyRegistry.ROTATION_GRACE: a replaced encryption key stays honoured this long
# the calls whose proposals stakers may veto while queued (besides every call to the Governor or the timelock)
SECURITY_CALLS = (
    ("JobEscrow", "setParameter(string,uint256)"),  # slash rates, windows, bonds
    ("ProofOfRender", "setParameter(string,uint256)"),  # oracle slash rates
    ("ProofOfRender", "setCommittee(uint256,uint256)"),
    ("ProofOfRender", "setArbiter(address)"),
    ("Staking", "setUnbondingPeriod(uint256)"),
    ("Staking", "setNoShow(uint256,uint256)"),
    ("Staking", "setStakeMultiplier(uint256)"),
    ("Staking", "setGuardian(address)"),
    ("NodeLicense", "revoke(uint256)"),
    ("NodeLicense", "setIssuer(address,bool)"),
)

Logger = Callable[[str], None]


class DeployConfigError(ValueError):
    """A deployment setting is unusable; raised before any transaction is sent."""


def _quiet(_: str) -> None:
    pass


def deploy_all(
    deployer,
    *,
    project=None,
    aggregator: str | None = None,
    mock_price: int = MOCK_PRICE,
    timelock_delay: int = LOCAL_TIMELOCK_DELAY,
    proposers: list[str] | None = None,
    treasury: str | None = None,
    arbiter: str | None = None,
    benchmark_work: int = BENCHMARK_WORK,
    beacon: dict | None = None,
    liquidity: str | None = None,
    foundation: str | None = None,
    airdrop: str | None = None,
    investors: list[tuple[str, str, int]] = (),
    licenses: list[tuple[str, int]] = (),
    governor: tuple[int, int, int, int, int, int] | None = None,
    ecosystem_allocation: int = ECOSYSTEM_ALLOCATION,
    emission_rate: int = EMISSION_RATE,
    epoch_cap: int = EPOCH_CAP,
    min_oracle_stake: int = MIN_ORACLE_STAKE,
    min_manager_stake: int = MIN_MANAGER_STAKE,
    max_price_age: int = MAX_PRICE_AGE,
    log: Logger = _quiet,
    receipts: list | None = None,
) -> dict[str, Any]:
    """Deploys and wires the whole system from ``deployer`` (an ape account) on the connected network.

    ``aggregator``: the Chainlink-style IFX/USD aggregator; ``None`` deploys a ``MockAggregator`` answering
    ``mock_price`` (8 decimals) -- only sensible on a local chain. ``treasury`` defaults to the deployer.

    Genesis (the whitepaper's allocation; no IFX ever reaches the deployer): ``liquidity`` receives the 0.6 %
    liquidity bucket, ``foundation`` the beneficiary of the foundation's escrow, ``airdrop`` the community fund's 3 M
    IFX at TGE (all three required); ``investors`` lists ``(round, beneficiary, amount)`` escrows created from the
    investors' bucket (round: seed, strategic, kol, public); what is left of each bucket stays in its
    ``VestingFactory`` under governance. ``licenses``: ``(holder, node types)`` node licenses issued at genesis
    (the first operators; afterwards the sale and governance issue them). ``governor``: its parameters (default
    :data:`LOCAL_GOVERNOR` on a local chain, :data:`PUBLIC_GOVERNOR` elsewhere).

    The Governor is the timelock's proposer and canceller; ``proposers`` adds others (local chains only: tests
    change time windows without a week-long vote). ``arbiter`` (who decides disputes) defaults to the
    timelock, i.e. governance -- never the deployer. ``benchmark_work``: the standard benchmark task's work in
    micro-IBM (governance recalibrates it). ``beacon``: the randomness beacon committees are drawn from,
    ``{"public_key": drand's compressed G2 hex, "genesis_time", "period", "url"}``; ``None`` is drand's quicknet
    (:data:`inferix.beacon.QUICKNET`), except on a local chain, where it is the publicly known development key
    (:data:`inferix.beacon.DEV_BEACON_KEY`, period 1 s, genesis at deployment).

    Returns the contract instances by name (``IFXToken``, ``MockAggregator`` when deployed, ``Timelock``,
    ``PriceFeedAdapter``, ``Staking``, ``BMWIssuance``, ``JobRelay``, ``JobEscrow``, ``ProofOfRender``, ...). Every
    contract's governance is the timelock and the token belongs to it on return. ``receipts``, when given, receives the
    deployment and set-up receipts in order (the first one's block starts the deployment).
    """
    if project is None:
        from ape import project
    from ape import chain

    me = deployer.address
    local = chain.provider.network.is_local
    treasury = treasury or me
    proposers = list(proposers or [])
    governor = governor or (LOCAL_GOVERNOR if local else PUBLIC_GOVERNOR)
    if GENESIS_MINT + ecosystem_allocation > MAX_SUPPLY:
        raise DeployConfigError("genesis allocation + ecosystem allocation exceed the 1,000,000,000 IFX cap")
    if not 60 <= max_price_age <= 2 * 86_400:
        raise DeployConfigError("max price age must be within 60 s .. 2 days (PriceFeedAdapter bounds)")
    if len(proposers) > 7:
        raise DeployConfigError("at most 7 timelock proposers besides the Governor")
    if proposers and not local:
        raise DeployConfigError("outside local networks only the Governor proposes to the timelock")
    for name, value in (("liquidity", liquidity), ("foundation", foundation), ("airdrop", airdrop)):
        if not value:
            raise DeployConfigError(f"the {name} address is required")
        if value.lower() == me.lower():
            raise DeployConfigError(f"the {name} address may not be the deployer: no IFX goes to the deployer")
    for round_name, beneficiary, amount in investors:
        if round_name not in ROUNDS:
            raise DeployConfigError(f"unknown investor round {round_name!r} (one of {', '.join(ROUNDS)})")
        if beneficiary.lower() == me.lower():
            raise DeployConfigError("an investor escrow may not vest to the deployer")
    if sum(amount for _, _, amount in investors) > INVESTORS:
        raise DeployConfigError("the investors' escrows exceed their 22.5 % bucket")
    if aggregator is not None and len(chain.provider.get_code(aggregator)) == 0:
        raise DeployConfigError(f"no contract at the aggregator address {aggregator}")

    if receipts is None:
        receipts = []

    def deploy(name: str, *args):
        container = getattr(project, name)
        instance = deployer.deploy(container, *args)
        receipts.append(chain.get_receipt(instance.txn_hash))
        log(f"  {name:<17} {instance.address}  ({receipts[-1].gas_used:,} gas)")
        return instance

    def send(label: str, method, *args):
        receipt = method(*args, sender=deployer)
        receipts.append(receipt)
        log(f"  {label:<40} ({receipt.gas_used:,} gas)")
        return receipt

    contracts: dict[str, Any] = {}
    token = contracts["IFXToken"] = deploy("IFXToken")
    if aggregator is None:
        contracts["MockAggregator"] = deploy("MockAggregator", MOCK_DECIMALS, mock_price)
        aggregator = contracts["MockAggregator"].address
    # the deployer administers the timelock only until the Governor holds its roles (renounced below)
    timelock = contracts["Timelock"] = deploy("Timelock", timelock_delay, proposers, [ZERO_ADDRESS], me)
    feed = contracts["PriceFeedAdapter"] = deploy("PriceFeedAdapter", aggregator, timelock, max_price_age)
    try:
        log(f"  IFX/USD price now: {feed.price() / 10**18:.6f}")
    except Exception as exc:  # noqa: BLE001 - a stale feed blocks jobs and mints, not the deployment
        log(f"  warning: the price feed reverts now ({exc}); new jobs and mints wait for a fresh price")
    staking = contracts["Staking"] = deploy("Staking", token, timelock, min_oracle_stake, min_manager_stake)
    issuance = contracts["BMWIssuance"] = deploy(
        "BMWIssuance", token, feed, staking, timelock, treasury, ecosystem_allocation, emission_rate, epoch_cap
    )
    # the job relay first: the escrow takes it as its (immutable) trusted forwarder, and the relay is wired to it
    relay = contracts["JobRelay"] = deploy("JobRelay", token)
    escrow = contracts["JobEscrow"] = deploy("JobEscrow", token, staking, feed, issuance, timelock, treasury,
                                             benchmark_work, relay)
    from inferix.beacon import QUICKNET, dev_beacon, g2_from_compressed

    if beacon is None:
        beacon = dev_beacon(chain.blocks.head.timestamp) if chain.provider.network.is_local else QUICKNET
    rng = contracts["RandomnessBeacon"] = deploy("RandomnessBeacon", g2_from_compressed(beacon["public_key"]),
                                                 beacon["genesis_time"], beacon["period"])
    por = contracts["ProofOfRender"] = deploy("ProofOfRender", staking, escrow, issuance, rng, timelock,
                                              arbiter or timelock.address)

    lane = contracts["BatchLane"] = deploy("BatchLane", token, staking, issuance, rng, escrow, por)
    committee = contracts["BatchCommittee"] = deploy("BatchCommittee", lane, staking, rng, por)
    # governance: voting power, vesting, node licenses and their sale, the Governor
    votes = contracts["VotePower"] = deploy("VotePower", token, "Inferix Votes", "1")
    implementation = contracts["VestingEscrow"] = deploy("VestingEscrow")
    allocations = contracts["VestingFactory"] = deploy("VestingFactory", token, votes, implementation, False)
    community = contracts["CommunityFund"] = deploy("VestingFactory", token, votes, implementation, True)
    nodes = contracts["NodeLicense"] = deploy("NodeLicense", timelock)
    sale = contracts["LicenseSale"] = deploy("LicenseSale", nodes, token, feed, treasury, timelock)
    gov = contracts["Governor"] = deploy("Governor", votes, timelock, staking, *governor)

    send("lane.wire(committee)", lane.wire, committee)
    send("staking.wire(escrow, por, issuance, lane, votes, licenses)", staking.wire, escrow, por, issuance, lane,
         votes, nodes)
    send("issuance.wire(escrow, por, lane)", issuance.wire, escrow, por, lane)
    send("escrow.wire(por, lane)", escrow.wire, por, lane)
    send("relay.wire(escrow)", relay.wire, escrow)
    send("votes.wire(staking, factories)", votes.wire, staking, [allocations, community])
    send("licenses.wire(staking)", nodes.wire, staking)
    from eth_utils import function_signature_to_4byte_selector

    security = [(contracts[name].address, function_signature_to_4byte_selector(sig)) for name, sig in SECURITY_CALLS]
    send("governor.wire(security calls)", gov.wire, [t for t, _ in security], [sel for _, sel in security])
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        send(f"timelock.grantRole({role}, governor)", timelock.grantRole, getattr(timelock, role)(), gov)
    send("timelock.renounceRole(admin)", timelock.renounceRole, timelock.DEFAULT_ADMIN_ROLE(), me)

    # genesis: every bucket straight into its contract or holder; the deployer never holds IFX
    send(f"token.mint(VestingFactory, {(INVESTORS + FOUNDATION) // IFX:,} IFX)", token.mint, allocations,
         INVESTORS + FOUNDATION)
    send(f"token.mint(CommunityFund, {COMMUNITY // IFX:,} IFX)", token.mint, community, COMMUNITY)
    send(f"token.mint(liquidity, {LIQUIDITY // IFX:,} IFX)", token.mint, liquidity, LIQUIDITY)
    tge = chain.pending_timestamp
    send("VestingFactory: the foundation's escrow", allocations.createRoundEscrow, FOUNDATION_ROUND, foundation,
         FOUNDATION, tge)
    for round_name, beneficiary, amount in investors:
        send(f"VestingFactory: {round_name} escrow, {amount // IFX:,} IFX", allocations.createRoundEscrow,
             ROUNDS[round_name], beneficiary, amount, tge)
    send(f"CommunityFund.release(airdrop, {AIRDROP // IFX:,} IFX)", community.release, airdrop, AIRDROP)
    send("licenses.setIssuer(sale)", nodes.setIssuer, sale, True)
    for holder, types in licenses:
        send(f"licenses.issue({holder[:10]}..., {types})", nodes.issue, holder, types)
    send("licenses.finishGenesis()", nodes.finishGenesis)
    for factory in (allocations, community):
        send("factory.transfer_ownership(timelock)", factory.transfer_ownership, timelock)
    # issuance becomes the only minter, forever; the token is left without an owner
    send("token.finishGenesis(issuance)", token.finishGenesis, issuance)
    # nodes' encryption keys (private jobs): nothing to wire; last, so that no other address moves
    contracts["KeyRegistry"] = deploy("KeyRegistry")

    check_deployment(contracts, deployer=me, extra_proposers=proposers)
    return contracts


def check_deployment(contracts: dict[str, Any], *, deployer: str | None = None,
                     extra_proposers: list[str] = ()) -> None:
    """Asserts the wiring and the hand-over on chain; raises ``RuntimeError`` naming what is wrong."""
    token, timelock = contracts["IFXToken"], contracts["Timelock"]
    feed, staking, issuance = contracts["PriceFeedAdapter"], contracts["Staking"], contracts["BMWIssuance"]
    escrow, por = contracts["JobEscrow"], contracts["ProofOfRender"]
    expected = {
        "staking.escrow": (staking.escrow(), escrow.address),
        "staking.proofOfRender": (staking.proofOfRender(), por.address),
        "staking.issuance": (staking.issuance(), issuance.address),
        "issuance.escrow": (issuance.escrow(), escrow.address),
        "issuance.proofOfRender": (issuance.proofOfRender(), por.address),
        "escrow.proofOfRender": (escrow.proofOfRender(), por.address),
        "escrow.staking": (escrow.staking(), staking.address),
        "escrow.issuance": (escrow.issuance(), issuance.address),
        "escrow.priceFeed": (escrow.priceFeed(), feed.address),
        "escrow.trustedForwarder": (escrow.trustedForwarder(), contracts["JobRelay"].address),
        "relay.escrow": (contracts["JobRelay"].escrow(), escrow.address),
        "relay.token": (contracts["JobRelay"].token(), token.address),
        "issuance.priceFeed": (issuance.priceFeed(), feed.address),
        "por.escrow": (por.escrow(), escrow.address),
        "por.beacon": (por.beacon(), contracts["RandomnessBeacon"].address),
        "staking.lane": (staking.lane(), contracts["BatchLane"].address),
        "issuance.lane": (issuance.lane(), contracts["BatchLane"].address),
        "escrow.lane": (escrow.lane(), contracts["BatchLane"].address),
        "lane.committee": (contracts["BatchLane"].committee(), contracts["BatchCommittee"].address),
        "lane.escrow": (contracts["BatchLane"].escrow(), escrow.address),
        "lane.proofOfRender": (contracts["BatchLane"].proofOfRender(), por.address),
        "committee.lane": (contracts["BatchCommittee"].lane(), contracts["BatchLane"].address),
        "token.owner": (token.owner(), ZERO_ADDRESS),
        "staking.votes": (staking.votes(), contracts["VotePower"].address),
        "staking.license": (staking.license(), contracts["NodeLicense"].address),
        "votes.staking": (contracts["VotePower"].staking(), staking.address),
        "licenses.staking": (contracts["NodeLicense"].staking(), staking.address),
        "governor.timelock": (contracts["Governor"].timelock(), timelock.address),
        "governor.votes": (contracts["Governor"].votes(), contracts["VotePower"].address),
        "VestingFactory.owner": (contracts["VestingFactory"].owner(), timelock.address),
        "CommunityFund.owner": (contracts["CommunityFund"].owner(), timelock.address),
        "totalMinted": (token.totalMinted(), GENESIS_MINT),
    }
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        if not timelock.hasRole(getattr(timelock, role)(), contracts["Governor"].address):
            expected[f"governor holds {role}"] = (False, True)
    if timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), deployer or ZERO_ADDRESS):
        expected["deployer renounced the timelock's admin role"] = (False, True)
    if deployer is not None:
        expected["deployer's IFX"] = (token.balanceOf(deployer), 0)
        if deployer not in extra_proposers and timelock.hasRole(timelock.PROPOSER_ROLE(), deployer):
            expected["deployer is not a proposer"] = (False, True)
        if contracts["NodeLicense"].canIssue(deployer):
            expected["the deployer issues no license"] = (True, False)
    for name in ("PriceFeedAdapter", "Staking", "BMWIssuance", "JobEscrow", "ProofOfRender", "NodeLicense",
                 "LicenseSale", "Governor"):
        expected[f"{name}.governance"] = (contracts[name].governance(), timelock.address)
    wrong = [f"{k} = {got} (expected {want})" for k, (got, want) in expected.items() if got != want]
    if not token.is_minter(issuance.address):
        wrong.append("issuance is not a minter")
    if deployer is not None and token.is_minter(deployer):
        wrong.append("the deployer is still a minter")
    keys = contracts.get("KeyRegistry")
    if keys is None:
        wrong.append("KeyRegistry is missing")
    elif keys.ROTATION_GRACE() != KEY_ROTATION_GRACE:
        wrong.append(f"keys.ROTATION_GRACE = {keys.ROTATION_GRACE()} (expected {KEY_ROTATION_GRACE})")
    if wrong:
        raise RuntimeError("deployment check failed: " + "; ".join(wrong))


def describe(
    contracts: dict[str, Any], *, deployer: str, network, first_block: int, proposers: list[str] | None = None
) -> "Deployment":
    """The deployments-file record of ``contracts``, its parameters read back from the chain."""
    from inferix.deployments import Deployment

    token, timelock, feed = contracts["IFXToken"], contracts["Timelock"], contracts["PriceFeedAdapter"]
    staking, issuance = contracts["Staking"], contracts["BMWIssuance"]
    escrow, por = contracts["JobEscrow"], contracts["ProofOfRender"]
    mock = contracts.get("MockAggregator")
    wei = str  # amounts in IFX wei are written as decimal strings (JSON numbers lose precision past 2**53)
    parameters: dict[str, Any] = {
        "max_supply_wei": wei(token.MAX_SUPPLY()),
        "genesis_mint_wei": wei(token.totalMinted()),
        "genesis_buckets_wei": {
            "investors_and_foundation_escrows": wei(INVESTORS + FOUNDATION),
            "community_fund": wei(COMMUNITY), "airdrop_at_tge": wei(AIRDROP), "liquidity": wei(LIQUIDITY),
        },
        "vesting_escrows": contracts["VestingFactory"].escrowCount(),
        "governor": {
            "voting_delay_s": contracts["Governor"].votingDelay(),
            "voting_period_s": contracts["Governor"].votingPeriod(),
            "proposal_threshold_wei": wei(contracts["Governor"].proposalThreshold()),
            "quorum_bps": contracts["Governor"].quorumBps(),
            "quorum_floor_wei": wei(contracts["Governor"].quorumFloor()),
            "veto_bps": contracts["Governor"].vetoBps(),
        },
        "ecosystem_allocation_wei": wei(issuance.ecosystemRemaining()),
        "emission_rate_wei_per_ibm": wei(issuance.emissionRate()),
        "epoch_cap_wei": wei(issuance.epochCap()),
        "epoch_length_s": issuance.epochLength(),
        "treasury": issuance.treasury(),
        "arbiter": por.arbiter(),
        "committee_size": por.committeeSize(),
        "quorum": por.quorum(),
        "beacon_genesis_time": contracts["RandomnessBeacon"].genesisTime(),
        "beacon_period_s": contracts["RandomnessBeacon"].period(),
        "oracle_slash_bps": por.oracleSlashBps(),
        "aggregator": feed.aggregator(),
        "aggregator_is_mock": mock is not None,
        "price_max_age_s": feed.maxAge(),
        "timelock_min_delay_s": timelock.get_minimum_delay(),
        "timelock_proposers": [],
        "timelock_executors": "anyone",
        "min_oracle_stake_wei": wei(staking.minOracleStake()),
        "min_manager_stake_wei": wei(staking.minManagerStake()),
        "unbonding_period_s": staking.unbondingPeriod(),
        "stake_multiplier": staking.stakeMultiplier(),
        "epoch_minutes": staking.epochMinutes(),
        "burn_bps": escrow.burnBps(),
        "slash_bps": escrow.slashBps(),
        "collateral_bps": escrow.collateralBps(),
        "max_attempts": escrow.maxAttempts(),
        "accept_window_s": escrow.acceptWindow(),
        "reveal_window_s": escrow.revealWindow(),
        "verify_window_s": escrow.verifyWindow(),
        "challenge_window_s": escrow.challengeWindow(),
        "dispute_window_s": escrow.disputeWindow(),
        "challenge_bond_wei": wei(escrow.challengeBond()),
    }
    if "KeyRegistry" in contracts:
        parameters["key_rotation_grace_s"] = contracts["KeyRegistry"].ROTATION_GRACE()
    if mock is not None:
        parameters["mock_price_8dec"] = mock.latestRoundData()[1]
    from inferix.beacon import QUICKNET

    beacon = contracts["RandomnessBeacon"]
    if beacon.genesisTime() == QUICKNET["genesis_time"] and beacon.period() == QUICKNET["period"]:
        parameters["beacon_url"] = QUICKNET["url"]  # drand's HTTP API: where relayers fetch the rounds
    proposer_role = timelock.PROPOSER_ROLE()
    for candidate in dict.fromkeys([contracts["Governor"].address, deployer, *(proposers or [])]):
        if timelock.hasRole(proposer_role, candidate):
            parameters["timelock_proposers"].append(candidate)
    addresses = {name: c.address for name, c in contracts.items()}
    return Deployment(
        network=network.name,
        ecosystem=network.ecosystem.name,
        chain_id=network.chain_id,
        block_number=first_block,
        deployer=deployer,
        contracts=addresses,
        parameters=parameters,
        deployed_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )


def _resolve_account(alias: str | None, network):
    from ape import accounts

    if not alias:
        if network.is_local:
            return accounts.test_accounts[0]
        raise click.UsageError("--account (or INFERIX_DEPLOYER) is required outside local networks")
    if alias.upper().startswith("TEST::"):
        return accounts.test_accounts[int(alias.split("::", 1)[1])]
    return accounts.load(alias)


@click.command(cls=ConnectedProviderCommand, short_help="Deploy and wire the Inferix contracts")
@network_option()
@click.option("--account", "account_alias", envvar="INFERIX_DEPLOYER", default=None,
              help="Deployer: an ape account alias, or TEST::<i>. Default on local networks: TEST::0.")
@click.option("--aggregator", envvar="INFERIX_AGGREGATOR", default=None,
              help="Chainlink-style IFX/USD aggregator address; 'mock' deploys a MockAggregator ($0.50, owner: "
                   "the deployer). Required outside local networks; default on local networks: mock.")
@click.option("--timelock-delay", envvar="INFERIX_TIMELOCK_DELAY", type=int, default=None,
              help=f"Timelock minimum delay in s (default {LOCAL_TIMELOCK_DELAY} local, "
                   f"{PUBLIC_TIMELOCK_DELAY} elsewhere).")
@click.option("--proposer", "proposers", multiple=True,
              help="Local networks only: a timelock proposer/canceller besides the Governor (repeatable; default on "
                   "local networks: the deployer, so tests can change windows without a vote).")
@click.option("--liquidity", envvar="INFERIX_LIQUIDITY", default=None,
              help="Holder of the 0.6 % liquidity bucket (default on local networks: TEST::9, the local market).")
@click.option("--foundation", envvar="INFERIX_FOUNDATION", default=None,
              help="Beneficiary of the foundation's 12.5 % escrow (default on local networks: TEST::19).")
@click.option("--airdrop", envvar="INFERIX_AIRDROP", default=None,
              help="Receiver of the community fund's 3 M IFX airdrop at TGE (default on local networks: TEST::9).")
@click.option("--investors", "investors_file", envvar="INFERIX_INVESTORS", default=None, type=click.Path(exists=True),
              help="JSON list of investor escrows: [{\"round\": \"seed\", \"beneficiary\": \"0x...\", "
                   "\"amount_ifx\": 1000000}, ...].")
@click.option("--license", "license_specs", multiple=True,
              help="ADDRESS:TYPES, a node license issued at genesis (types: 1 worker, 2 verifier, 4 manager, summed; "
                   "repeatable). Default on local networks: every test account, all types.")
@click.option("--treasury", envvar="INFERIX_TREASURY", default=None, help="Foundation treasury (default: deployer).")
@click.option("--arbiter", envvar="INFERIX_ARBITER", default=None, help="Dispute arbiter, e.g. a multisig (default: the timelock, i.e. governance).")
@click.option("--max-price-age", envvar="INFERIX_MAX_PRICE_AGE", type=int, default=MAX_PRICE_AGE,
              show_default=True, help="Price staleness bound in seconds (60..172800).")
@click.option("--output", envvar="INFERIX_DEPLOYMENTS", default=None,
              help="Deployments file (default: deployments/<network>.json).")
@click.option("--autosign", is_flag=True,
              help="Unlock a keyfile account once (passphrase prompt or APE_ACCOUNTS_<alias>_PASSPHRASE) "
                   "instead of confirming each of the ~14 transactions.")
@click.option("--force", is_flag=True, help="Overwrite an existing deployments file outside local networks.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation outside local networks.")
def cli(network, account_alias, aggregator, timelock_delay, proposers, liquidity, foundation, airdrop, investors_file,
        license_specs, treasury, arbiter, max_price_age, output, autosign, force, yes):
    """Deploys, wires and hands governance to the timelock, then writes the deployments file."""
    import json

    from ape import accounts, chain

    from inferix.deployments import default_path, save

    deployer = _resolve_account(account_alias, network)
    local = network.is_local
    if aggregator is None and not local:
        raise click.UsageError("--aggregator (or INFERIX_AGGREGATOR) is required outside local networks")
    if aggregator is not None and aggregator.lower() == "mock":
        if not local:
            click.secho("warning: a MockAggregator sets the IFX price by hand: for test networks only",
                        fg="yellow", err=True)
        aggregator = None
    if timelock_delay is None:
        timelock_delay = LOCAL_TIMELOCK_DELAY if local else PUBLIC_TIMELOCK_DELAY
    if local:
        test = [a.address for a in accounts.test_accounts]
        liquidity, foundation, airdrop = liquidity or test[9], foundation or test[19], airdrop or test[9]
        proposers = proposers or (deployer.address,)
        license_specs = license_specs or tuple(f"{a}:7" for a in test)
    try:
        licenses = [(spec.split(":")[0], int(spec.split(":")[1])) for spec in license_specs]
    except (IndexError, ValueError):
        raise click.UsageError("--license takes ADDRESS:TYPES, e.g. 0xabc...:6") from None
    investors = []
    if investors_file:
        try:
            investors = [(e["round"], e["beneficiary"], int(e["amount_ifx"]) * IFX)
                         for e in json.loads(Path(investors_file).read_text())]
        except (ValueError, KeyError, TypeError) as exc:
            raise click.UsageError(f"--investors: {exc}") from None
    path = Path(output) if output else default_path(network.name, network.ecosystem.name)
    if not local and path.exists() and not force:
        raise click.UsageError(f"{path} exists: pass --force to overwrite it (keep a copy of the old addresses)")

    where = f"{network.ecosystem.name}:{network.name} (chain {network.chain_id})"
    click.echo(f"Deploying Inferix on {where} from {deployer.address}")
    if not local:
        click.echo(f"  aggregator {aggregator or 'MockAggregator (new)'}\n  treasury   {treasury or deployer.address}\n"
                   f"  arbiter    {arbiter or 'the timelock (governance)'}\n  proposer   the Governor"
                   f"\n  timelock minimum delay {timelock_delay} s\n  deployments file {path}")
        for name, value in (("treasury", treasury),):
            if not value:
                click.secho(f"warning: no --{name} given, the deployer is the {name}", fg="yellow", err=True)
        if not yes:
            click.confirm("Deploy?", abort=True)
    if autosign and hasattr(deployer, "set_autosign"):
        deployer.set_autosign(True)

    receipts: list = []
    try:
        contracts = deploy_all(
            deployer,
            aggregator=aggregator,
            timelock_delay=timelock_delay,
            proposers=list(proposers) or None,
            liquidity=liquidity,
            foundation=foundation,
            airdrop=airdrop,
            investors=investors,
            licenses=licenses,
            treasury=treasury,
            arbiter=arbiter,
            max_price_age=max_price_age,
            log=click.echo,
            receipts=receipts,
        )
    except DeployConfigError as exc:
        raise click.UsageError(str(exc)) from None
    deployment = describe(contracts, deployer=deployer.address, network=network,
                          first_block=receipts[0].block_number, proposers=list(proposers))
    written = save(deployment, path)
    total_gas = sum(r.gas_used for r in receipts)
    click.echo(f"{len(receipts)} transactions, {total_gas:,} gas, blocks {receipts[0].block_number}.."
               f"{chain.blocks.head.number}")
    click.echo(f"Deployments file: {written}")
