# pragma version ~=0.4.3
"""
@title Inferix Burn-Mint-Work issuance
@custom:contract-name BMWIssuance
@license MIT
@notice Counts paid work per epoch (`W_p` in IBM; the fee, in IFX, per
        worker and per manager; the fee value of the final verdicts per
        oracle; the IFX burned). Anyone closes an ended epoch in O(1): it
        mints the usage pool
        `T_p = min(W_p × E_p, epochCap, ecosystemRemaining, burned × usageCapBps / 10000)`
        split 7500/1500/250/750 bps between workers, oracles, managers and
        the treasury, each pool shared pro rata to fee value; the penalty
        pool collected in the epoch goes to its oracles. Nodes claim their
        share per epoch.
@custom:security The usage cap (HIP-10's shape): an epoch never mints more
        than `usageCapBps` (< 100 %) of the IFX its fees burned, so any
        coalition of creator, manager, worker and oracles that pays itself
        burns more than it can mint back. Fee value is counted in IFX at
        settlement, so no price (locked, stale or manipulated) enters the
        comparison. A pool whose denominator is zero is not minted, so
        claims of an epoch never exceed its mint. Only the escrow records
        work; only proof of render credits verdicts; only staking and the
        escrow notify penalties (after transferring them here).
"""

from .interfaces import IIFXToken
from .interfaces import IPriceFeed
from .interfaces import IStaking
from .interfaces import IBMWIssuance
implements: IBMWIssuance

from .modules import protocol
from .modules import governed

initializes: governed

exports: (governed.governance, governed.wired)

BPS: constant(uint256) = protocol.BPS
IBM_ONE: constant(uint256) = protocol.IBM_ONE
MAX_USAGE_CAP_BPS: public(constant(uint256)) = 9500
WORKER_BPS: public(constant(uint256)) = 7500
ORACLE_BPS: public(constant(uint256)) = 1500
MANAGER_BPS: public(constant(uint256)) = 250
TREASURY_BPS: public(constant(uint256)) = 750


struct Epoch:
    start: uint256
    length: uint256
    workIBM: uint256
    fees: uint256
    burned: uint256
    verdictWeight: uint256
    penalty: uint256
    apparentIBM: uint256
    minted: uint256
    workerPool: uint256
    oraclePool: uint256
    managerPool: uint256
    closed: bool


# @dev One step of the Emission Plan: `E_p` becomes `rate` when epoch `epoch` opens.
struct PlanStep:
    epoch: uint256
    rate: uint256


token: public(immutable(IIFXToken))
priceFeed: public(immutable(IPriceFeed))
staking: public(immutable(IStaking))
treasury: public(immutable(address))
escrow: public(address)
proofOfRender: public(address)
# @dev The batch lane: records work, credits verdicts and adds penalties for batches of tasks.
lane: public(address)

epochs: public(HashMap[uint256, Epoch])
currentEpoch: public(uint256)
workerFees: public(HashMap[uint256, HashMap[address, uint256]])
oracleWeights: public(HashMap[uint256, HashMap[address, uint256]])
managerFees: public(HashMap[uint256, HashMap[address, uint256]])
# @dev Fees of an epoch whose manager forfeited its credit (a late seed reveal): their manager share is not minted.
forfeitedFees: public(HashMap[uint256, uint256])
treasuryOwed: public(uint256)
carriedPenalty: public(uint256)

ecosystemRemaining: public(uint256)
emissionRate: public(uint256)
epochCap: public(uint256)
epochLength: public(uint256)
usageCapBps: public(uint256)
# @dev The Emission Plan: governance's schedule of `E_p` by epoch; `planCursor` is the next step to apply.
MAX_PLAN: constant(uint256) = 32
emissionPlan: public(DynArray[PlanStep, MAX_PLAN])
planCursor: public(uint256)


event WorkRecorded:
    epoch: indexed(uint256)
    worker: indexed(address)
    manager: indexed(address)
    ibm: uint256
    fee: uint256
    burned: uint256
    epochFees: uint256
    epochBurned: uint256

event VerdictCredited:
    epoch: indexed(uint256)
    oracle: indexed(address)
    weight: uint256
    oracleWeight: uint256

event VerdictRevoked:
    epoch: indexed(uint256)
    oracle: indexed(address)
    weight: uint256
    oracleWeight: uint256

event PenaltyReceived:
    epoch: indexed(uint256)
    amount: uint256

event EpochClosed:
    epoch: indexed(uint256)
    workIBM: uint256
    burned: uint256
    minted: uint256
    workerPool: uint256
    oraclePool: uint256
    managerPool: uint256
    toTreasury: uint256

event Claimed:
    epoch: indexed(uint256)
    account: indexed(address)
    amount: uint256

event EmissionPlanSet:
    steps: uint256
    firstEpoch: uint256

event ParameterChanged:
    name: String[32]
    newValue: uint256


@deploy
def __init__(
    token_: IIFXToken,
    priceFeed_: IPriceFeed,
    staking_: IStaking,
    governance_: address,
    treasury_: address,
    ecosystemAllocation_: uint256,
    emissionRate_: uint256,
    epochCap_: uint256,
):
    """
    @param token_ The IFX token (this contract must hold its minter role).
    @param priceFeed_ The IFX/USD adapter (a stale price blocks minting).
    @param staking_ Staking (total IB for the IBME view).
    @param governance_ The timelock allowed to change parameters.
    @param treasury_ The foundation treasury.
    @param ecosystemAllocation_ IFX reserved for BMW rewards, ever.
    @param emissionRate_ `E_p`: IFX wei minted per verified IBM.
    @param epochCap_ The most IFX one epoch may mint.
    """
    assert treasury_ != empty(address), "bmw: zero treasury"
    governed.__init__(governance_)
    token = token_
    priceFeed = priceFeed_
    staking = staking_
    treasury = treasury_
    self.usageCapBps = 9000
    self.ecosystemRemaining = ecosystemAllocation_
    self.emissionRate = emissionRate_
    self.epochCap = epochCap_
    self.epochLength = 72 * 3600
    self.epochs[0].start = block.timestamp
    self.epochs[0].length = 72 * 3600


@external
def wire(escrow_: address, proofOfRender_: address, lane_: address):
    """
    @dev One-time wiring by the deployer.
    @param escrow_ The job escrow.
    @param proofOfRender_ The proof-of-render contract.
    @param lane_ The batch lane.
    """
    governed._wire_once()
    assert escrow_ != empty(address) and proofOfRender_ != empty(address) and lane_ != empty(address), "bmw: zero address"
    self.escrow = escrow_
    self.lane = lane_
    self.proofOfRender = proofOfRender_


# ---------------------------------------------------------------- credits


@external
def recordWork(worker: address, manager: address, ibm: uint256, fee: uint256, burned: uint256):
    """
    @dev Escrow only: a task passed and settled.
    @param worker The worker credited with the fee.
    @param manager The job's manager credited with the fee (empty: the
           manager forfeited its credit, and its share is not minted).
    @param ibm The task's work in micro-IBM.
    @param fee The fee paid, IFX wei.
    @param burned The part of the fee burned, IFX wei.
    """
    assert msg.sender == self.escrow or msg.sender == self.lane, "bmw: caller is not the escrow"
    e: uint256 = self.currentEpoch
    fees: uint256 = self.epochs[e].fees + fee
    burnedTotal: uint256 = self.epochs[e].burned + burned
    self.epochs[e].workIBM += ibm
    self.epochs[e].fees = fees
    self.epochs[e].burned = burnedTotal
    self.workerFees[e][worker] += fee
    if manager == empty(address):
        self.forfeitedFees[e] += fee
    else:
        self.managerFees[e][manager] += fee
    log WorkRecorded(epoch=e, worker=worker, manager=manager, ibm=ibm, fee=fee, burned=burned, epochFees=fees,
                     epochBurned=burnedTotal)


@external
def creditVerdict(oracle: address, weight: uint256) -> uint256:
    """
    @dev Proof of render only: `oracle` voted for a verdict that became
         final; `weight` is the task's fee value.
    @param oracle The oracle.
    @param weight The fee value, IFX wei.
    @return uint256 The epoch credited.
    """
    assert msg.sender == self.proofOfRender or msg.sender == self.lane, "bmw: caller is not proof of render"
    e: uint256 = self.currentEpoch
    self.epochs[e].verdictWeight += weight
    total: uint256 = self.oracleWeights[e][oracle] + weight
    self.oracleWeights[e][oracle] = total
    log VerdictCredited(epoch=e, oracle=oracle, weight=weight, oracleWeight=total)
    return e


@external
def revokeVerdict(oracle: address, epoch: uint256, weight: uint256):
    """
    @dev Proof of render only: takes back a credit for a verdict the
         arbiter overturned, if its epoch is still open.
    @param oracle The oracle.
    @param epoch The epoch it was credited in.
    @param weight The weight credited then.
    """
    assert msg.sender == self.proofOfRender, "bmw: caller is not proof of render"
    if epoch != self.currentEpoch:
        return
    taken: uint256 = min(weight, self.oracleWeights[epoch][oracle])
    self.epochs[epoch].verdictWeight -= taken
    self.oracleWeights[epoch][oracle] -= taken
    log VerdictRevoked(epoch=epoch, oracle=oracle, weight=taken, oracleWeight=self.oracleWeights[epoch][oracle])


@external
def notifyPenalty(amount: uint256):
    """
    @dev Staking or escrow: `amount` IFX was transferred here as a penalty.
    @param amount IFX wei.
    """
    assert msg.sender == staking.address or msg.sender == self.escrow or msg.sender == self.lane, "bmw: caller may not add penalties"
    e: uint256 = self.currentEpoch
    self.epochs[e].penalty += amount
    log PenaltyReceived(epoch=e, amount=amount)


# ---------------------------------------------------------------- epochs


@external
def closeEpoch():
    """
    @dev Closes the current epoch once its length has passed and mints its
         issuance (permissionless, O(1)). Reverts on a stale price.
    """
    e: uint256 = self.currentEpoch
    ep: Epoch = self.epochs[e]
    assert block.timestamp >= ep.start + ep.length, "bmw: epoch not over"
    # a stale or missing price blocks minting
    rate: uint256 = staticcall priceFeed.price()
    # the usage pool: what the work asks for, never more than the cap, the reserve, or a share of the burns
    total: uint256 = min(min(ep.workIBM * self.emissionRate // IBM_ONE, self.epochCap), self.ecosystemRemaining)
    total = min(total, ep.burned * self.usageCapBps // BPS)
    if ep.fees > 0:
        ep.workerPool = total * WORKER_BPS // BPS
        # the shares of managers who forfeited their credit stay in the reserve
        ep.managerPool = total * MANAGER_BPS // BPS * (ep.fees - self.forfeitedFees[e]) // ep.fees
    if ep.verdictWeight > 0:
        ep.oraclePool = total * ORACLE_BPS // BPS + ep.penalty + self.carriedPenalty
        self.carriedPenalty = 0
    else:
        self.carriedPenalty += ep.penalty
    toTreasury: uint256 = 0
    if ep.fees > 0:
        toTreasury = total * TREASURY_BPS // BPS
    minted: uint256 = toTreasury + ep.workerPool + ep.managerPool
    if ep.verdictWeight > 0:
        minted += total * ORACLE_BPS // BPS
    ep.minted = minted
    duration: uint256 = block.timestamp - ep.start
    ep.apparentIBM = (staticcall staking.totalIB()) * (duration // 60)
    ep.closed = True
    self.epochs[e] = ep
    self.ecosystemRemaining -= minted
    self.treasuryOwed += toTreasury
    self.currentEpoch = e + 1
    self.epochs[e + 1].start = block.timestamp
    self.epochs[e + 1].length = self.epochLength
    # the Emission Plan: E_p of the epoch that opens, when a step says so
    cursor: uint256 = self.planCursor
    if cursor < len(self.emissionPlan) and self.emissionPlan[cursor].epoch <= e + 1:
        self.emissionRate = self.emissionPlan[cursor].rate
        self.planCursor = cursor + 1
        log ParameterChanged(name="emissionRate", newValue=self.emissionPlan[cursor].rate)
    if minted > 0:
        extcall token.mint(self, minted)
    log EpochClosed(
        epoch=e,
        workIBM=ep.workIBM,
        burned=ep.burned,
        minted=minted,
        workerPool=ep.workerPool,
        oraclePool=ep.oraclePool,
        managerPool=ep.managerPool,
        toTreasury=toTreasury,
    )


@view
@internal
def _claimable(epoch: uint256, account: address) -> uint256:
    ep: Epoch = self.epochs[epoch]
    if not ep.closed:
        return 0
    amount: uint256 = 0
    if ep.fees > 0:
        amount += ep.workerPool * self.workerFees[epoch][account] // ep.fees
        managed: uint256 = ep.fees - self.forfeitedFees[epoch]  # fees whose manager kept its credit
        if managed > 0:
            amount += ep.managerPool * self.managerFees[epoch][account] // managed
    if ep.verdictWeight > 0:
        amount += ep.oraclePool * self.oracleWeights[epoch][account] // ep.verdictWeight
    return amount


@view
@external
def claimable(epoch: uint256, account: address) -> uint256:
    """
    @dev What `account` can claim from a closed epoch.
    @param epoch The epoch.
    @param account The node.
    @return uint256 IFX wei.
    """
    return self._claimable(epoch, account)


@external
def claim(epoch: uint256) -> uint256:
    """
    @dev Pays the caller's share of a closed epoch (worker, oracle with
         penalties, manager), once.
    @param epoch The epoch.
    @return uint256 IFX wei paid.
    """
    assert self.epochs[epoch].closed, "bmw: epoch not closed"
    amount: uint256 = self._claimable(epoch, msg.sender)
    assert amount > 0, "bmw: nothing to claim"
    self.workerFees[epoch][msg.sender] = 0
    self.oracleWeights[epoch][msg.sender] = 0
    self.managerFees[epoch][msg.sender] = 0
    assert extcall token.transfer(msg.sender, amount), "bmw: transfer failed"
    log Claimed(epoch=epoch, account=msg.sender, amount=amount)
    return amount


@external
def claimTreasury() -> uint256:
    """
    @dev Sends the treasury its accumulated mint share (anyone may call).
    @return uint256 IFX wei paid.
    """
    amount: uint256 = self.treasuryOwed
    assert amount > 0, "bmw: nothing to claim"
    self.treasuryOwed = 0
    assert extcall token.transfer(treasury, amount), "bmw: transfer failed"
    log Claimed(epoch=self.currentEpoch, account=treasury, amount=amount)
    return amount


@view
@external
def ibme(epoch: uint256) -> uint256:
    """
    @dev IBME = paid IBM / apparent IBM (18 decimals); apparent IBM is the
         total attested IB × the epoch's minutes (for the open epoch, so far).
    @param epoch The epoch.
    @return uint256 The ratio, 0 when nothing was apparent.
    """
    ep: Epoch = self.epochs[epoch]
    apparent: uint256 = ep.apparentIBM
    if not ep.closed:
        apparent = (staticcall staking.totalIB()) * ((block.timestamp - ep.start) // 60)
    if apparent == 0:
        return 0
    return ep.workIBM * 10**18 // apparent


# ---------------------------------------------------------------- governance


@external
def setEmissionPlan(steps: DynArray[PlanStep, MAX_PLAN]):
    """
    @dev Governance: the Emission Plan, `E_p` by epoch (replaces the plan
         not yet applied). Each step's epoch is later than the open epoch
         and than the step before; each rate within emissionRate's bound.
         A step applies when its epoch opens (at `closeEpoch`).
    @param steps (epoch, IFX wei per IBM), in epoch order.
    """
    governed._check_governance()
    last: uint256 = self.currentEpoch
    for step: PlanStep in steps:
        assert step.epoch > last, "bmw: plan epochs must increase past the open epoch"
        assert step.rate <= 10**6 * 10**18, "bmw: out of bounds"
        last = step.epoch
    self.emissionPlan = steps
    self.planCursor = 0
    log EmissionPlanSet(steps=len(steps), firstEpoch=steps[0].epoch if len(steps) > 0 else 0)


@external
def setParameter(name: String[32], newValue: uint256):
    """
    @dev Governance: emissionRate (E_p) [0, 1,000,000 IFX per IBM];
         epochCap [0, 100,000,000 IFX]; epochLength [1 h, 30 days]
         (applies from the next epoch); usageCapBps [0, 9500].
    @param name The parameter.
    @param newValue The value.
    """
    governed._check_governance()
    h: bytes32 = keccak256(name)
    if h == keccak256("emissionRate"):
        assert newValue <= 10**6 * 10**18, "bmw: out of bounds"
        self.emissionRate = newValue
    elif h == keccak256("epochCap"):
        assert newValue <= 10**8 * 10**18, "bmw: out of bounds"
        self.epochCap = newValue
    elif h == keccak256("epochLength"):
        assert newValue >= 3600 and newValue <= 30 * 86400, "bmw: out of bounds"
        self.epochLength = newValue
    elif h == keccak256("usageCapBps"):
        assert newValue <= MAX_USAGE_CAP_BPS, "bmw: out of bounds"
        self.usageCapBps = newValue
    else:
        raise "bmw: unknown parameter"
    log ParameterChanged(name=name, newValue=newValue)
