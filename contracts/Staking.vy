# pragma version ~=0.4.3
"""
@title Inferix staking: workers, oracles and managers
@custom:contract-name Staking
@license MIT
@notice Nodes register with one role and stake IFX. Stake leaves only
        through `requestUnbond` then `withdraw` after `unbondingPeriod`.
        A worker declares its price per IBM (USD, 18 decimals); its
        Inferix Bench `IB` (6 decimals) is set only by the proof-of-render
        contract after an oracle quorum attests it. When a worker accepts a
        task, the escrow locks collateral and this contract checks the
        minimum stake `S(n) = stakeMultiplier × epochMinutes × IB(n) × P(n)`
        (converted to IFX at the job's locked rate). Slashed IFX goes to the
        BMW issuance contract's penalty pool.
        IB is set by the escrow alone, computed from a settled benchmark
        task (a distinct kind of job on the governance-set standard scene).
@custom:security Only the escrow locks, unlocks and slashes collateral,
        slashes managers and sets IB; the escrow and proof of render slash
        stake. A slash may pay a share to the party that proved the fault
        (a winning challenger, a worker left without its reveal). The
        invariant `stake >= locked + unbonding` holds for every node, this
        contract's IFX balance equals `totalStaked`, and `unbondingPeriod`
        always exceeds the escrow's challenge + dispute windows, so a node
        cannot leave before a dispute about its work is decided.
"""

from .modules import protocol
from .modules import governed

initializes: governed

exports: (governed.governance, governed.wired)

from .interfaces import IIFXToken
from .interfaces import IBMWIssuance
from .interfaces import IStaking
from .interfaces import IJobEscrow
from .interfaces import INodeLicense
from .interfaces import IVotePower
implements: IStaking

ROLE_WORKER: public(constant(uint8)) = protocol.ROLE_WORKER
ROLE_ORACLE: public(constant(uint8)) = protocol.ROLE_ORACLE
ROLE_MANAGER: public(constant(uint8)) = protocol.ROLE_MANAGER

# @dev IB is a 6-decimal fixed-point number; a worker with no attested IB
# is treated as the standard node (IB = 1.0) for its minimum stake.
IB_ONE: public(constant(uint256)) = protocol.IB_ONE
MIN_UNBONDING: public(constant(uint256)) = 86400
MAX_UNBONDING: public(constant(uint256)) = 60 * 86400
MAX_STAKE_MULTIPLIER: public(constant(uint256)) = 10
MAX_ORACLES: public(constant(uint256)) = 128
MAX_DRAW: constant(uint256) = 15


struct Node:
    role: uint8
    stake: uint256
    locked: uint256
    unbonding: uint256
    unbondingAt: uint256
    pricePerIBM: uint256
    ib: uint256
    stakedAt: uint256


token: public(immutable(IIFXToken))

escrow: public(address)
proofOfRender: public(address)
# @dev The batch lane: locks, releases and slashes collateral, slashes and counts misses like the escrow.
lane: public(address)
issuance: public(IBMWIssuance)
# @dev Voting power: each node's bonded stake votes there, per staker.
votes: public(IVotePower)
# @dev Node licenses: oracles and managers register with one, held here while they are registered.
license: public(INodeLicense)
# @dev The emergency guardian: it may pause new jobs (JobEscrow reads `pausedUntil`) once, for at most
# PAUSE_LIMIT, and nothing else; governance appoints it again and may lift a pause.
guardian: public(address)
pausedUntil: public(uint256)
PAUSE_LIMIT: public(constant(uint256)) = 7 * 86400
# @dev The license each oracle or manager registered with, and who holds each license here.
licenseOf: public(HashMap[address, uint256])
licensee: public(HashMap[uint256, address])

nodes: public(HashMap[address, Node])
# @dev Every account ever registered as an oracle, in registration order (committees are drawn from it).
oracles: public(DynArray[address, MAX_ORACLES])
totalStaked: public(uint256)
# @dev Sum of attested IB over workers (6 decimals), for the IBME view.
totalIB: public(uint256)

unbondingPeriod: public(uint256)
stakeMultiplier: public(uint256)
epochMinutes: public(uint256)
minOracleStake: public(uint256)
minManagerStake: public(uint256)
noShowLimit: public(uint256)
noShowSlashBps: public(uint256)
# @dev node => duties missed since its last no-show slash (committee seats not voted, assignments not accepted)
missed: public(HashMap[address, uint256])


event Registered:
    account: indexed(address)
    role: uint8
    pricePerIBM: uint256

event PriceChanged:
    worker: indexed(address)
    pricePerIBM: uint256

event Staked:
    account: indexed(address)
    amount: uint256
    stake: uint256

event UnbondRequested:
    account: indexed(address)
    amount: uint256
    unbondingAt: uint256

event Withdrawn:
    account: indexed(address)
    amount: uint256
    stake: uint256

event CollateralLocked:
    worker: indexed(address)
    amount: uint256

event CollateralUnlocked:
    worker: indexed(address)
    amount: uint256

event Slashed:
    account: indexed(address)
    amount: uint256
    stake: uint256
    rewardTo: indexed(address)
    reward: uint256

event NoShowRecorded:
    account: indexed(address)
    missed: uint256
    slashed: uint256

event LicenseLocked:
    account: indexed(address)
    licenseId: indexed(uint256)

event LicenseReleased:
    account: indexed(address)
    licenseId: indexed(uint256)
    revoked: bool

event Paused:
    guardian: indexed(address)
    until: uint256

event GuardianSet:
    guardian: indexed(address)

event IBSet:
    worker: indexed(address)
    ib: uint256

event ParameterChanged:
    name: String[32]
    newValue: uint256


@deploy
def __init__(token_: IIFXToken, governance_: address, minOracleStake_: uint256, minManagerStake_: uint256):
    """
    @param token_ The IFX token.
    @param governance_ The timelock allowed to change parameters.
    @param minOracleStake_ Minimum stake for an oracle to count in a quorum.
    @param minManagerStake_ Minimum stake for a manager to post tasks.
    """
    governed.__init__(governance_)
    token = token_
    self.unbondingPeriod = 7 * 86400
    self.stakeMultiplier = 2
    self.epochMinutes = 4320
    self.minOracleStake = minOracleStake_
    self.minManagerStake = minManagerStake_
    self.noShowLimit = 3
    self.noShowSlashBps = 100


@external
def wire(escrow_: address, proofOfRender_: address, issuance_: IBMWIssuance, lane_: address, votes_: IVotePower, license_: INodeLicense):
    """
    @dev One-time wiring by the deployer.
    @param escrow_ The job escrow.
    @param proofOfRender_ The proof-of-render contract.
    @param issuance_ The BMW issuance contract (penalty pool).
    @param lane_ The batch lane (an escrow for batches of tasks).
    @param votes_ The voting power contract (bonded stake votes).
    @param license_ The node licenses (oracles and managers need one).
    """
    governed._wire_once()
    assert escrow_ != empty(address) and proofOfRender_ != empty(address) and lane_ != empty(address), "staking: zero address"
    assert votes_.address != empty(address) and license_.address != empty(address), "staking: zero address"
    self.votes = votes_
    self.license = license_
    self.escrow = escrow_
    self.lane = lane_
    self.proofOfRender = proofOfRender_
    self.issuance = issuance_


# ---------------------------------------------------------------- nodes


@external
def register(role: uint8, pricePerIBM: uint256, licenseId: uint256 = 0):
    """
    @dev Registers the caller as a worker, oracle or manager. Workers need
         no license; an oracle or manager locks here a node license of its
         type (verifier 2, manager 4 in the license's bitmask; approve this
         contract first) until `releaseLicense`.
    @param role 1 worker, 2 oracle, 3 manager.
    @param pricePerIBM Workers: USD per IBM (18 decimals); others: 0.
    @param licenseId Oracles and managers: the license (0 for workers).
    """
    assert role >= protocol.ROLE_WORKER and role <= protocol.ROLE_MANAGER, "staking: unknown role"
    assert self.nodes[msg.sender].role == 0, "staking: already registered"
    if role == protocol.ROLE_WORKER:
        assert pricePerIBM > 0, "staking: zero price"
        assert licenseId == 0, "staking: workers need no license"
    else:
        assert pricePerIBM == 0, "staking: price is for workers"
        bit: uint8 = 2
        if role == protocol.ROLE_MANAGER:
            bit = 4
        license_: INodeLicense = self.license
        assert licenseId != 0 and staticcall license_.ownerOf(licenseId) == msg.sender, "staking: not the license's owner"
        assert staticcall license_.nodeTypes(licenseId) & bit != 0, "staking: license is not for this role"
        extcall license_.transferFrom(msg.sender, self, licenseId)
        self.licenseOf[msg.sender] = licenseId
        self.licensee[licenseId] = msg.sender
        log LicenseLocked(account=msg.sender, licenseId=licenseId)
    if role == protocol.ROLE_ORACLE:
        assert len(self.oracles) < MAX_ORACLES, "staking: oracle set full"
        self.oracles.append(msg.sender)
    self.nodes[msg.sender].role = role
    self.nodes[msg.sender].pricePerIBM = pricePerIBM
    self.nodes[msg.sender].stakedAt = block.timestamp
    log Registered(account=msg.sender, role=role, pricePerIBM=pricePerIBM)


@external
def setPrice(pricePerIBM: uint256):
    """
    @dev A worker changes its price per IBM; tasks already accepted keep theirs.
    @param pricePerIBM USD per IBM (18 decimals).
    """
    assert self.nodes[msg.sender].role == protocol.ROLE_WORKER, "staking: not a worker"
    assert pricePerIBM > 0, "staking: zero price"
    self.nodes[msg.sender].pricePerIBM = pricePerIBM
    log PriceChanged(worker=msg.sender, pricePerIBM=pricePerIBM)


@external
def stake(amount: uint256):
    """
    @dev Adds `amount` IFX to the caller's stake (needs an allowance).
    @param amount IFX wei.
    """
    assert self.nodes[msg.sender].role != 0, "staking: not registered"
    assert amount > 0, "staking: zero amount"
    assert extcall token.transferFrom(msg.sender, self, amount), "staking: transfer failed"
    self.nodes[msg.sender].stake += amount
    self.nodes[msg.sender].stakedAt = block.timestamp
    self.totalStaked += amount
    self._syncVotes(msg.sender)
    log Staked(account=msg.sender, amount=amount, stake=self.nodes[msg.sender].stake)


@external
def requestUnbond(amount: uint256):
    """
    @dev Starts unbonding `amount` of free stake; restarts the delay for
         the whole pending amount.
    @param amount IFX wei.
    """
    node: Node = self.nodes[msg.sender]
    assert amount > 0, "staking: zero amount"
    assert node.stake >= node.locked + node.unbonding + amount, "staking: amount exceeds free stake"
    unlockAt: uint256 = block.timestamp + self.unbondingPeriod
    self.nodes[msg.sender].unbonding = node.unbonding + amount
    self.nodes[msg.sender].unbondingAt = unlockAt
    self.nodes[msg.sender].stakedAt = block.timestamp
    self._syncVotes(msg.sender)
    log UnbondRequested(account=msg.sender, amount=amount, unbondingAt=unlockAt)


@external
def withdraw():
    """
    @dev Pays out the pending unbonding amount once its delay has passed.
    """
    node: Node = self.nodes[msg.sender]
    assert node.unbonding > 0, "staking: nothing unbonding"
    assert block.timestamp >= node.unbondingAt, "staking: still unbonding"
    amount: uint256 = node.unbonding
    self.nodes[msg.sender].stake = node.stake - amount
    self.nodes[msg.sender].unbonding = 0
    self.nodes[msg.sender].stakedAt = block.timestamp
    self.totalStaked -= amount
    assert extcall token.transfer(msg.sender, amount), "staking: transfer failed"
    log Withdrawn(account=msg.sender, amount=amount, stake=node.stake - amount)


@external
def releaseLicense():
    """
    @dev An oracle or manager that withdrew all its stake takes its license
         back and is no longer registered (it may register again).
    """
    licenseId: uint256 = self.licenseOf[msg.sender]
    assert licenseId != 0, "staking: no license held"
    assert self.nodes[msg.sender].stake == 0, "staking: withdraw the stake first"
    self._deregister(msg.sender, licenseId)
    extcall self.license.transferFrom(self, msg.sender, licenseId)
    log LicenseReleased(account=msg.sender, licenseId=licenseId, revoked=False)


@external
def onLicenseRevoked(licenseId: uint256):
    """
    @dev License contract only, when governance revokes a license held
         here: its node stops being an oracle or manager at once (out of
         every future committee draw); its stake stays its own, to
         unbond and withdraw.
    @param licenseId The revoked license.
    """
    assert msg.sender == self.license.address, "staking: caller is not the license"
    account: address = self.licensee[licenseId]
    if account == empty(address):
        return  # sent here without registering: nothing runs on it, the revocation burns it
    self._deregister(account, licenseId)
    log LicenseReleased(account=account, licenseId=licenseId, revoked=True)


@internal
def _deregister(account: address, licenseId: uint256):
    if self.nodes[account].role == protocol.ROLE_ORACLE:
        n: uint256 = len(self.oracles)
        for i: uint256 in range(MAX_ORACLES):
            if i == n:
                break
            if self.oracles[i] == account:
                self.oracles[i] = self.oracles[n - 1]
                self.oracles.pop()
                break
    self.nodes[account].role = 0
    self.licenseOf[account] = 0
    self.licensee[licenseId] = empty(address)


@external
def syncVotes(account: address):
    """
    @dev Anyone: brings `account`'s voting power to its bonded stake now.
         Stake, unbonding and slashes of stake sync it at once; a task's
         collateral slashed at settlement does not (settlement pays no
         checkpoint gas), until the worker's next stake change or this call.
    @param account The node.
    """
    self._syncVotes(account)


@internal
def _syncVotes(account: address):
    node: Node = self.nodes[account]
    extcall self.votes.onStake(account, node.stake - node.unbonding)


# ---------------------------------------------------------------- views


@view
@internal
def _minStakeOf(ib: uint256, pricePerIBM: uint256, usdPerIfx: uint256) -> uint256:
    attested: uint256 = ib
    if attested == 0:
        attested = IB_ONE
    usd: uint256 = self.stakeMultiplier * self.epochMinutes * attested * pricePerIBM // IB_ONE
    return usd * 10**18 // usdPerIfx


@view
@external
def minStake(worker: address, usdPerIfx: uint256) -> uint256:
    """
    @dev The worker's minimum stake in IFX at a given IFX price.
    @param worker The worker.
    @param usdPerIfx USD per IFX, 18 decimals.
    @return uint256 IFX wei.
    """
    assert usdPerIfx > 0, "staking: zero rate"
    return self._minStakeOf(self.nodes[worker].ib, self.nodes[worker].pricePerIBM, usdPerIfx)


@view
@external
def isActive(account: address, role: uint8) -> bool:
    """
    @dev Whether `account` has `role` and enough bonded (not unbonding)
         stake for it: oracles and managers their minimum, workers any.
    @param account The node.
    @param role The role asked for.
    @return bool True when active.
    """
    if self.nodes[account].role != role:
        return False
    bonded: uint256 = self.nodes[account].stake - self.nodes[account].unbonding
    if role == protocol.ROLE_ORACLE:
        return bonded >= self.minOracleStake and bonded > 0
    if role == protocol.ROLE_MANAGER:
        return bonded >= self.minManagerStake and bonded > 0
    return bonded > 0


@view
@external
def oracleCount() -> uint256:
    """
    @dev How many oracles are registered (a released or revoked license takes its oracle out).
    @return uint256 The length of `oracles`.
    """
    return len(self.oracles)


@view
@external
def drawOracles(seed: bytes32, count: uint256, before: uint256) -> DynArray[address, MAX_DRAW]:
    """
    @dev Draws a committee of up to `count` distinct oracles, weighted by
         bonded stake, among the oracles that are active and whose stake
         last changed (register, stake, unbond, withdraw) before `before`
         (a task's submission): stake moved after the randomness could be
         known never counts. Seat i goes to the not yet drawn oracle whose
         cumulative weight interval holds `keccak256(seed, i) mod` the
         weight left.
    @param seed The draw's randomness.
    @param count Members to draw (at most 15).
    @param before Only stake in place before this time counts.
    @return The members, in draw order (fewer than `count` when fewer are eligible).
    """
    assert count <= MAX_DRAW, "staking: too many seats"
    weights: DynArray[uint256, MAX_ORACLES] = []
    total: uint256 = 0
    minimum: uint256 = self.minOracleStake
    for oracle: address in self.oracles:
        weight: uint256 = 0
        if self.nodes[oracle].role == protocol.ROLE_ORACLE and self.nodes[oracle].stakedAt <= before:
            bonded: uint256 = self.nodes[oracle].stake - self.nodes[oracle].unbonding
            if bonded >= minimum:
                weight = bonded
        weights.append(weight)
        total += weight
    out: DynArray[address, MAX_DRAW] = []
    for i: uint256 in range(MAX_DRAW):
        if i == count or total == 0:
            break
        target: uint256 = convert(keccak256(abi_encode(seed, i)), uint256) % total
        acc: uint256 = 0
        for j: uint256 in range(MAX_ORACLES):
            if j == len(weights):
                break
            acc += weights[j]
            if target < acc:
                out.append(self.oracles[j])
                total -= weights[j]
                weights[j] = 0
                break
    return out


@view
@external
def pricePerIBM(worker: address) -> uint256:
    """
    @dev The worker's declared price.
    @param worker The worker.
    @return uint256 USD per IBM, 18 decimals.
    """
    return self.nodes[worker].pricePerIBM


@view
@external
def stakeOf(account: address) -> uint256:
    """
    @dev Total stake (including locked and unbonding).
    @param account The node.
    @return uint256 IFX wei.
    """
    return self.nodes[account].stake


# ---------------------------------------------------------------- protocol hooks


@external
def lockCollateral(worker: address, amount: uint256, usdPerIfx: uint256, maxPricePerIBM: uint256):
    """
    @dev Escrow only: locks task collateral after checking the worker's
         role, price and minimum stake at the job's rate.
    @param worker The accepting worker.
    @param amount Collateral in IFX wei.
    @param usdPerIfx The job's locked IFX price.
    @param maxPricePerIBM The job's maximum price per IBM.
    """
    assert msg.sender == self.escrow or msg.sender == self.lane, "staking: caller is not the escrow"
    assert self.nodes[worker].role == protocol.ROLE_WORKER, "staking: not a worker"
    price: uint256 = self.nodes[worker].pricePerIBM
    assert price <= maxPricePerIBM, "staking: price above job maximum"
    bonded: uint256 = self.nodes[worker].stake - self.nodes[worker].unbonding
    assert bonded >= self._minStakeOf(self.nodes[worker].ib, price, usdPerIfx), "staking: below minimum stake"
    locked: uint256 = self.nodes[worker].locked + amount
    assert bonded >= locked, "staking: insufficient free stake"
    self.nodes[worker].locked = locked
    log CollateralLocked(worker=worker, amount=amount)


@external
def unlockCollateral(worker: address, amount: uint256):
    """
    @dev Escrow only: releases collateral of a finished task.
    @param worker The worker.
    @param amount IFX wei.
    """
    assert msg.sender == self.escrow or msg.sender == self.lane, "staking: caller is not the escrow"
    self.nodes[worker].locked -= amount
    log CollateralUnlocked(worker=worker, amount=amount)


@external
def slashCollateral(worker: address, locked: uint256, penalty: uint256, rewardTo: address, reward: uint256):
    """
    @dev Escrow only: releases a failed task's collateral and slashes
         `penalty` of it: `reward` to `rewardTo` (a winning challenger),
         the rest into the penalty pool.
    @param worker The worker.
    @param locked The task's collateral.
    @param penalty The part slashed (<= locked).
    @param rewardTo Who proved the fault (or empty).
    @param reward The part of `penalty` paid to `rewardTo`.
    """
    assert msg.sender == self.escrow or msg.sender == self.lane, "staking: caller is not the escrow"
    assert penalty <= locked, "staking: penalty exceeds collateral"
    self.nodes[worker].locked -= locked
    # settlement pays no checkpoint gas: the worker's voting power follows at its next stake change or `syncVotes`
    self._take(worker, penalty, rewardTo, min(reward, penalty), False)


@external
def slash(account: address, amount: uint256, rewardTo: address, reward: uint256) -> uint256:
    """
    @dev Escrow (managers) or proof of render (oracles): slashes up to
         `amount` of the free stake; pays `reward` of what was taken (at
         most all of it) to `rewardTo`, the rest to the penalty pool.
    @param account The node.
    @param amount IFX wei asked for.
    @param rewardTo Who proved the fault or suffered it (or empty).
    @param reward IFX wei asked for `rewardTo`.
    @return uint256 The amount actually slashed.
    """
    assert msg.sender == self.proofOfRender or msg.sender == self.escrow or msg.sender == self.lane, "staking: caller may not slash"
    node: Node = self.nodes[account]
    taken: uint256 = min(amount, node.stake - node.locked)
    self._take(account, taken, rewardTo, min(reward, taken), True)
    return taken


@external
def recordNoShow(account: address) -> uint256:
    """
    @dev Escrow or proof of render: `account` missed a duty (a worker did
         not accept its assignment, an oracle did not vote its committee
         seat). A miss costs the rewards of the duty; every `noShowLimit`-th
         miss also costs `noShowSlashBps` of the stake, and the count
         starts over.
    @param account The node.
    @return uint256 The amount slashed (0 below the limit).
    """
    assert msg.sender == self.proofOfRender or msg.sender == self.escrow or msg.sender == self.lane, "staking: caller may not slash"
    missed: uint256 = self.missed[account] + 1
    slashed: uint256 = 0
    if missed >= self.noShowLimit:
        node: Node = self.nodes[account]
        slashed = min(node.stake * self.noShowSlashBps // protocol.BPS, node.stake - node.locked)
        self._take(account, slashed, empty(address), 0, True)
        missed = 0
    self.missed[account] = missed
    log NoShowRecorded(account=account, missed=missed, slashed=slashed)
    return slashed


@external
def setIB(worker: address, ib: uint256):
    """
    @dev Escrow only: the IB measured by a settled benchmark task.
    @param worker The worker.
    @param ib IB with 6 decimals.
    """
    assert msg.sender == self.escrow, "staking: caller is not the escrow"
    assert self.nodes[worker].role == protocol.ROLE_WORKER, "staking: not a worker"
    assert ib > 0, "staking: zero IB"
    self.totalIB = self.totalIB - self.nodes[worker].ib + ib
    self.nodes[worker].ib = ib
    log IBSet(worker=worker, ib=ib)


@internal
def _take(account: address, amount: uint256, rewardTo: address, reward: uint256, sync: bool):
    if amount == 0:
        return
    node: Node = self.nodes[account]
    newStake: uint256 = node.stake - amount
    # keep stake >= locked + unbonding: shrink the pending unbonding first
    if newStake < node.locked + node.unbonding:
        self.nodes[account].unbonding = newStake - node.locked
    self.nodes[account].stake = newStake
    self.totalStaked -= amount
    if sync:
        self._syncVotes(account)
    paid: uint256 = 0
    if rewardTo != empty(address) and reward > 0:
        paid = reward
        assert extcall token.transfer(rewardTo, paid), "staking: transfer failed"
    if amount > paid:
        issuance: IBMWIssuance = self.issuance
        assert extcall token.transfer(issuance.address, amount - paid), "staking: transfer failed"
        extcall issuance.notifyPenalty(amount - paid)
    log Slashed(account=account, amount=amount, stake=newStake, rewardTo=rewardTo, reward=paid)


# ---------------------------------------------------------------- emergency


@external
def pause():
    """
    @dev The guardian, in an emergency: no new job for PAUSE_LIMIT. Jobs
         under way, stakes, claims and every fund movement go on; the
         guardian's role is spent (governance appoints it again).
    """
    assert msg.sender == self.guardian and msg.sender != empty(address), "staking: caller is not the guardian"
    self.guardian = empty(address)
    self.pausedUntil = block.timestamp + PAUSE_LIMIT
    log Paused(guardian=msg.sender, until=block.timestamp + PAUSE_LIMIT)


@external
def setGuardian(guardian_: address):
    """
    @dev Governance: who may pause new jobs once (empty: nobody).
    """
    governed._check_governance()
    self.guardian = guardian_
    log GuardianSet(guardian=guardian_)


@external
def unpause():
    """
    @dev Governance: new jobs again, at once.
    """
    governed._check_governance()
    self.pausedUntil = 0
    log Paused(guardian=msg.sender, until=0)


# ---------------------------------------------------------------- governance


@external
def setUnbondingPeriod(newValue: uint256):
    """
    @dev Governance: unbonding delay, within [1 day, 60 days] and longer
         than the escrow's challenge + dispute windows.
    @param newValue Seconds.
    """
    governed._check_governance()
    assert newValue >= MIN_UNBONDING and newValue <= MAX_UNBONDING, "staking: out of bounds"
    if self.escrow != empty(address):
        escrow_: IJobEscrow = IJobEscrow(self.escrow)
        windows: uint256 = (staticcall escrow_.challengeWindow()) + (staticcall escrow_.disputeWindow())
        assert newValue > windows, "staking: unbonding must exceed challenge + dispute windows"
    self.unbondingPeriod = newValue
    log ParameterChanged(name="unbondingPeriod", newValue=newValue)


@external
def setStakeMultiplier(newValue: uint256):
    """
    @dev Governance: the `2` of `S(n)`, within [1, 10].
    @param newValue The multiplier.
    """
    governed._check_governance()
    assert newValue >= 1 and newValue <= MAX_STAKE_MULTIPLIER, "staking: out of bounds"
    self.stakeMultiplier = newValue
    log ParameterChanged(name="stakeMultiplier", newValue=newValue)


@external
def setMinOracleStake(newValue: uint256):
    """
    @dev Governance: minimum oracle stake (at most 10,000,000 IFX).
    @param newValue IFX wei.
    """
    governed._check_governance()
    assert newValue <= 10**7 * 10**18, "staking: out of bounds"
    self.minOracleStake = newValue
    log ParameterChanged(name="minOracleStake", newValue=newValue)


@external
def setMinManagerStake(newValue: uint256):
    """
    @dev Governance: minimum manager stake (at most 10,000,000 IFX).
    @param newValue IFX wei.
    """
    governed._check_governance()
    assert newValue <= 10**7 * 10**18, "staking: out of bounds"
    self.minManagerStake = newValue
    log ParameterChanged(name="minManagerStake", newValue=newValue)


@external
def setNoShow(limit: uint256, slashBps: uint256):
    """
    @dev Governance: how many missed duties cost stake [1, 100], and how
         much of it [0, 1000] bps.
    @param limit Misses per slash.
    @param slashBps Share of the stake slashed.
    """
    governed._check_governance()
    assert limit >= 1 and limit <= 100 and slashBps <= 1000, "staking: out of bounds"
    self.noShowLimit = limit
    self.noShowSlashBps = slashBps
    log ParameterChanged(name="noShowLimit", newValue=limit)
    log ParameterChanged(name="noShowSlashBps", newValue=slashBps)
