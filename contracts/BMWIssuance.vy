# pragma version ~=0.4.3
"""
@title Inferix Burn-Mint-Work issuance
@custom:contract-name BMWIssuance
@license MIT
@notice Counts verified work per epoch (`W_p` in IBM, fee value per
        worker, verdicts per oracle, tasks per manager). Anyone closes an
        ended epoch in O(1): it mints
        `T_p = min(W_p × E_p, epochCap, ecosystemRemaining)` split
        7500/1500/250/750 bps between workers, oracles, managers and the
        treasury; the penalty pool collected in the epoch goes to its
        oracles. Nodes claim their pro-rata share per epoch.
@custom:security Minting reads only verified work and parameters, never
        the amount burned. A pool whose denominator is zero is not minted,
        so claims of an epoch never exceed its mint. Only the escrow records
        work; only proof of render records verdicts; only staking and the
        escrow notify penalties (after transferring them here).
"""

from .interfaces import IIFXToken
from .interfaces import IPriceFeed
from .interfaces import IStaking
from .interfaces import IBMWIssuance
implements: IBMWIssuance

BPS: constant(uint256) = 10_000
IBM_ONE: constant(uint256) = 10**6
WORKER_BPS: public(constant(uint256)) = 7500
ORACLE_BPS: public(constant(uint256)) = 1500
MANAGER_BPS: public(constant(uint256)) = 250
TREASURY_BPS: public(constant(uint256)) = 750


struct Epoch:
    start: uint256
    length: uint256
    workIBM: uint256
    feeUsd: uint256
    verdicts: uint256
    tasks: uint256
    penalty: uint256
    apparentIBM: uint256
    minted: uint256
    workerPool: uint256
    oraclePool: uint256
    managerPool: uint256
    closed: bool


token: public(immutable(IIFXToken))
priceFeed: public(immutable(IPriceFeed))
staking: public(immutable(IStaking))
governance: public(immutable(address))
treasury: public(immutable(address))
deployer: immutable(address)
escrow: public(address)
proofOfRender: public(address)

epochs: public(HashMap[uint256, Epoch])
currentEpoch: public(uint256)
workerFees: public(HashMap[uint256, HashMap[address, uint256]])
oracleVerdicts: public(HashMap[uint256, HashMap[address, uint256]])
managerTasks: public(HashMap[uint256, HashMap[address, uint256]])
treasuryOwed: public(uint256)
carriedPenalty: public(uint256)

ecosystemRemaining: public(uint256)
emissionRate: public(uint256)
epochCap: public(uint256)
epochLength: public(uint256)


event WorkRecorded:
    epoch: indexed(uint256)
    worker: indexed(address)
    manager: indexed(address)
    ibm: uint256
    feeUsd: uint256

event VerdictCredited:
    epoch: indexed(uint256)
    oracle: indexed(address)

event VerdictRevoked:
    epoch: indexed(uint256)
    oracle: indexed(address)

event PenaltyReceived:
    epoch: indexed(uint256)
    amount: uint256

event EpochClosed:
    epoch: indexed(uint256)
    workIBM: uint256
    minted: uint256
    workerPool: uint256
    oraclePool: uint256
    managerPool: uint256
    toTreasury: uint256

event Claimed:
    epoch: indexed(uint256)
    account: indexed(address)
    amount: uint256

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
    token = token_
    priceFeed = priceFeed_
    staking = staking_
    governance = governance_
    treasury = treasury_
    deployer = msg.sender
    self.ecosystemRemaining = ecosystemAllocation_
    self.emissionRate = emissionRate_
    self.epochCap = epochCap_
    self.epochLength = 72 * 3600
    self.epochs[0].start = block.timestamp
    self.epochs[0].length = 72 * 3600


@external
def wire(escrow_: address, proofOfRender_: address):
    """
    @dev One-time wiring by the deployer.
    @param escrow_ The job escrow.
    @param proofOfRender_ The proof-of-render contract.
    """
    assert msg.sender == deployer, "bmw: caller is not the deployer"
    assert self.escrow == empty(address), "bmw: already wired"
    assert escrow_ != empty(address) and proofOfRender_ != empty(address), "bmw: zero address"
    self.escrow = escrow_
    self.proofOfRender = proofOfRender_


# ---------------------------------------------------------------- credits


@external
def recordWork(worker: address, manager: address, ibm: uint256, feeUsd: uint256):
    """
    @dev Escrow only: a task passed and settled.
    @param worker The worker credited with the fee value.
    @param manager The job's manager credited with one task.
    @param ibm The task's work in micro-IBM.
    @param feeUsd The fee's USD value (18 decimals).
    """
    assert msg.sender == self.escrow, "bmw: caller is not the escrow"
    e: uint256 = self.currentEpoch
    self.epochs[e].workIBM += ibm
    self.epochs[e].feeUsd += feeUsd
    self.epochs[e].tasks += 1
    self.workerFees[e][worker] += feeUsd
    self.managerTasks[e][manager] += 1
    log WorkRecorded(epoch=e, worker=worker, manager=manager, ibm=ibm, feeUsd=feeUsd)


@external
def creditVerdict(oracle: address) -> uint256:
    """
    @dev Proof of render only: one verdict signed by `oracle`.
    @param oracle The oracle.
    @return uint256 The epoch credited.
    """
    assert msg.sender == self.proofOfRender, "bmw: caller is not proof of render"
    e: uint256 = self.currentEpoch
    self.epochs[e].verdicts += 1
    self.oracleVerdicts[e][oracle] += 1
    log VerdictCredited(epoch=e, oracle=oracle)
    return e


@external
def revokeVerdict(oracle: address, epoch: uint256):
    """
    @dev Proof of render only: takes back a credit for a verdict on the
         losing side of a dispute, if its epoch is still open.
    @param oracle The oracle.
    @param epoch The epoch it was credited in.
    """
    assert msg.sender == self.proofOfRender, "bmw: caller is not proof of render"
    if epoch != self.currentEpoch or self.oracleVerdicts[epoch][oracle] == 0:
        return
    self.epochs[epoch].verdicts -= 1
    self.oracleVerdicts[epoch][oracle] -= 1
    log VerdictRevoked(epoch=epoch, oracle=oracle)


@external
def notifyPenalty(amount: uint256):
    """
    @dev Staking or escrow: `amount` IFX was transferred here as a penalty.
    @param amount IFX wei.
    """
    assert msg.sender == staking.address or msg.sender == self.escrow, "bmw: caller may not add penalties"
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
    total: uint256 = min(min(ep.workIBM * self.emissionRate // IBM_ONE, self.epochCap), self.ecosystemRemaining)
    if ep.feeUsd > 0:
        ep.workerPool = total * WORKER_BPS // BPS
    if ep.verdicts > 0:
        ep.oraclePool = total * ORACLE_BPS // BPS + ep.penalty + self.carriedPenalty
        self.carriedPenalty = 0
    else:
        self.carriedPenalty += ep.penalty
    if ep.tasks > 0:
        ep.managerPool = total * MANAGER_BPS // BPS
    toTreasury: uint256 = 0
    if ep.workIBM > 0:
        toTreasury = total * TREASURY_BPS // BPS
    minted: uint256 = toTreasury
    if ep.feeUsd > 0:
        minted += ep.workerPool
    if ep.verdicts > 0:
        minted += total * ORACLE_BPS // BPS
    minted += ep.managerPool
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
    if minted > 0:
        extcall token.mint(self, minted)
    log EpochClosed(
        epoch=e,
        workIBM=ep.workIBM,
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
    if ep.feeUsd > 0:
        amount += ep.workerPool * self.workerFees[epoch][account] // ep.feeUsd
    if ep.verdicts > 0:
        amount += ep.oraclePool * self.oracleVerdicts[epoch][account] // ep.verdicts
    if ep.tasks > 0:
        amount += ep.managerPool * self.managerTasks[epoch][account] // ep.tasks
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
    self.oracleVerdicts[epoch][msg.sender] = 0
    self.managerTasks[epoch][msg.sender] = 0
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
def setParameter(name: String[32], newValue: uint256):
    """
    @dev Governance: emissionRate (E_p) [0, 1,000,000 IFX per IBM];
         epochCap [0, 100,000,000 IFX]; epochLength [1 h, 30 days]
         (applies from the next epoch).
    @param name The parameter.
    @param newValue The value.
    """
    assert msg.sender == governance, "bmw: caller is not governance"
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
    else:
        raise "bmw: unknown parameter"
    log ParameterChanged(name=name, newValue=newValue)
