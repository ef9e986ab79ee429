# pragma version ~=0.4.3
"""
@title Inferix vesting factory
@custom:contract-name VestingFactory
@license MIT
@notice Holds a bucket of IFX (one allocation of the token plan) and
        vests it per beneficiary: each `createEscrow` deploys a minimal
        proxy of the VestingEscrow implementation, registers it in
        VotePower (where it votes at half weight), moves the amount into
        it and initializes it; the escrow locks everything in VotePower
        and delegates its votes to the beneficiary. `createRoundEscrow`
        applies the whitepaper's vesting table. `release` moves IFX out
        of the bucket without vesting (e.g. the community airdrop at
        TGE). The owner (the deployer, then the governance timelock)
        alone creates, releases and revokes.
@custom:security Only a factory deployed `revocable` (community grants)
        can revoke an escrow; investor and foundation escrows come from
        an irrevocable one. Revocation freezes the escrow now and brings
        the unvested rest back to the bucket, exactly.
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable

initializes: ownable

exports: (ownable.owner, ownable.transfer_ownership)


interface IVotes:
    def registerEscrow(escrow: address): nonpayable
    def isFactory(account: address) -> bool: view


interface IVestingEscrow:
    def initialize(token_: address, votes_: address, beneficiary_: address, total_: uint256, start_: uint256,
                   tgeBps_: uint256, cliff_: uint256, duration_: uint256): nonpayable
    def revoke() -> uint256: nonpayable


BPS: constant(uint256) = 10_000
# @dev 365.25 days / 12.
MONTH: public(constant(uint256)) = 2_629_800
MAX_PAGE: constant(uint256) = 256

# @dev Rounds of the whitepaper's vesting table (`createRoundEscrow`).
ROUND_SEED: public(constant(uint8)) = 0
ROUND_STRATEGIC: public(constant(uint8)) = 1
ROUND_KOL: public(constant(uint8)) = 2
ROUND_PUBLIC: public(constant(uint8)) = 3
ROUND_FOUNDATION: public(constant(uint8)) = 4

token: public(immutable(IERC20))
votes: public(immutable(address))
implementation: public(immutable(address))
revocable: public(immutable(bool))

# @dev Every escrow created, in order.
escrows: public(HashMap[uint256, address])
escrowCount: public(uint256)
isEscrow: public(HashMap[address, bool])


event EscrowCreated:
    escrow: indexed(address)
    beneficiary: indexed(address)
    amount: uint256
    start: uint256
    tgeBps: uint256
    cliff: uint256
    duration: uint256

event EscrowRevoked:
    escrow: indexed(address)
    returned: uint256

event Released:
    to: indexed(address)
    amount: uint256


@deploy
def __init__(token_: IERC20, votes_: address, implementation_: address, revocable_: bool):
    """
    @param token_ The IFX token.
    @param votes_ VotePower (which must list this factory when wired).
    @param implementation_ The VestingEscrow implementation, deployed once.
    @param revocable_ Whether the owner may revoke this factory's escrows.
    """
    assert token_.address != empty(address), "vesting: zero token"
    assert votes_ != empty(address), "vesting: zero votes"
    assert implementation_ != empty(address), "vesting: zero implementation"
    ownable.__init__()
    token = token_
    votes = votes_
    implementation = implementation_
    revocable = revocable_


@internal
def _create(beneficiary: address, amount: uint256, start: uint256, tgeBps: uint256, cliff: uint256,
            duration: uint256) -> address:
    ownable._check_owner()
    assert beneficiary != empty(address), "vesting: zero beneficiary"
    assert amount > 0, "vesting: zero amount"
    assert tgeBps <= BPS, "vesting: bad tge share"
    assert amount <= staticcall token.balanceOf(self), "vesting: bucket too small"
    assert staticcall IVotes(votes).isFactory(self), "vesting: factory not wired in VotePower"
    escrow: address = create_minimal_proxy_to(implementation)
    self.escrows[self.escrowCount] = escrow
    self.escrowCount += 1
    self.isEscrow[escrow] = True
    extcall IVotes(votes).registerEscrow(escrow)
    assert extcall token.transfer(escrow, amount), "vesting: transfer failed"
    extcall IVestingEscrow(escrow).initialize(token.address, votes, beneficiary, amount, start, tgeBps, cliff, duration)
    log EscrowCreated(escrow=escrow, beneficiary=beneficiary, amount=amount, start=start, tgeBps=tgeBps,
                      cliff=cliff, duration=duration)
    return escrow


@external
def createEscrow(beneficiary: address, amount: uint256, start: uint256, tgeBps: uint256, cliff: uint256,
                 duration: uint256) -> address:
    """
    @dev Owner only: vests `amount` of the bucket for `beneficiary`.
    @param beneficiary Who receives the vested IFX.
    @param amount The amount in wei of IFX.
    @param start When the TGE share vests.
    @param tgeBps The share vested at `start`, in basis points.
    @param cliff Seconds after `start` before the linear part begins.
    @param duration Seconds of the linear part.
    @return address The new escrow.
    """
    return self._create(beneficiary, amount, start, tgeBps, cliff, duration)


@pure
@internal
def _round_schedule(round: uint8) -> (uint256, uint256, uint256):
    if round == ROUND_SEED or round == ROUND_STRATEGIC:
        return 0, 6 * MONTH, 12 * MONTH
    if round == ROUND_KOL:
        return 1_000, 3 * MONTH, 15 * MONTH
    if round == ROUND_PUBLIC:
        return 1_000, 3 * MONTH, 4 * MONTH
    if round == ROUND_FOUNDATION:
        return 0, 12 * MONTH, 24 * MONTH
    raise "vesting: unknown round"


@pure
@external
def roundSchedule(round: uint8) -> (uint256, uint256, uint256):
    """
    @dev The preset of a round: (tgeBps, cliff, duration).
    """
    return self._round_schedule(round)


@external
def createRoundEscrow(round: uint8, beneficiary: address, amount: uint256, start: uint256) -> address:
    """
    @dev Owner only: `createEscrow` with the round's preset: 0 seed and 1
         strategic (no TGE, 6-month cliff, 12 months linear), 2 KOLs
         (10 % at TGE, 3-month cliff, 15 months linear), 3 public sale
         (10 % at TGE, 3-month cliff, 4 months linear), 4 foundation
         (12-month lock, 24 months linear).
    @param round The round.
    @param beneficiary Who receives the vested IFX.
    @param amount The amount in wei of IFX.
    @param start The TGE.
    @return address The new escrow.
    """
    tge_bps: uint256 = 0
    cliff: uint256 = 0
    duration: uint256 = 0
    tge_bps, cliff, duration = self._round_schedule(round)
    return self._create(beneficiary, amount, start, tge_bps, cliff, duration)


@external
def release(to: address, amount: uint256):
    """
    @dev Owner only: sends `amount` of the bucket to `to`, unvested.
    @param to The receiver.
    @param amount The amount in wei of IFX.
    """
    ownable._check_owner()
    assert to != empty(address), "vesting: zero receiver"
    assert amount > 0, "vesting: zero amount"
    assert extcall token.transfer(to, amount), "vesting: transfer failed"
    log Released(to=to, amount=amount)


@external
def revoke(escrow: address) -> uint256:
    """
    @dev Owner only, on a revocable factory: freezes `escrow` now; the
         unvested rest returns to the bucket.
    @param escrow One of this factory's escrows.
    @return uint256 The amount returned.
    """
    ownable._check_owner()
    assert revocable, "vesting: not revocable"
    assert self.isEscrow[escrow], "vesting: unknown escrow"
    returned: uint256 = extcall IVestingEscrow(escrow).revoke()
    log EscrowRevoked(escrow=escrow, returned=returned)
    return returned


@view
@external
def available() -> uint256:
    """
    @dev IFX left in the bucket.
    """
    return staticcall token.balanceOf(self)


@view
@external
def getEscrows(offset: uint256, count: uint256) -> DynArray[address, MAX_PAGE]:
    """
    @dev Up to `count` (at most 256) escrows from position `offset`.
    """
    page: DynArray[address, MAX_PAGE] = []
    n: uint256 = self.escrowCount
    for i: uint256 in range(MAX_PAGE):
        if i >= count or offset + i >= n:
            break
        page.append(self.escrows[offset + i])
    return page
