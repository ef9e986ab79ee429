# pragma version ~=0.4.3
"""
@title Inferix vesting escrow (one beneficiary)
@custom:contract-name VestingEscrow
@license MIT
@notice Holds one beneficiary's vesting IFX, all of it locked in
        VotePower (where a registered escrow votes at half weight) and
        delegated to the beneficiary. Deployed by a VestingFactory as a
        minimal proxy of one implementation, then initialized once. The
        schedule (Curve's and Yearn's VestingEscrow): nothing before
        `start`; `total * tgeBps / 10000` at `start` until
        `start + cliff`; then the rest linearly over `duration` seconds
        (all at once when `duration` is 0). Anyone may `claim`: the
        vested, unclaimed IFX leaves VotePower for the beneficiary.
@custom:security The implementation is initialized in its constructor,
        so it can never be used. Only the factory revokes, and only a
        revocable one: the escrow freezes at that moment (what vested
        stays claimable) and the unvested rest returns to the factory.
"""

from ethereum.ercs import IERC20


interface IVotes:
    def lock(amount: uint256): nonpayable
    def unlock(amount: uint256): nonpayable
    def delegate(delegatee: address): nonpayable


interface IFactory:
    def revocable() -> bool: view


BPS: constant(uint256) = 10_000

token: public(IERC20)
votes: public(IVotes)
# @dev The factory that created and initialized this escrow.
factory: public(address)
beneficiary: public(address)
total: public(uint256)
start: public(uint256)
tgeBps: public(uint256)
cliff: public(uint256)
duration: public(uint256)
# @dev IFX already claimed by (sent to) the beneficiary.
claimed: public(uint256)
# @dev Revocation: the schedule stops at `revokedAt`.
revoked: public(bool)
revokedAt: public(uint256)
initialized: public(bool)


event Initialized:
    beneficiary: indexed(address)
    factory: indexed(address)
    total: uint256
    start: uint256
    tgeBps: uint256
    cliff: uint256
    duration: uint256

event Claimed:
    beneficiary: indexed(address)
    amount: uint256

event Revoked:
    at: uint256
    vested: uint256
    returned: uint256


@deploy
def __init__():
    """
    @dev The implementation itself is never usable: it is initialized
         (with nothing) here; proxies have their own, empty storage.
    """
    self.initialized = True


@external
def initialize(token_: IERC20, votes_: IVotes, beneficiary_: address, total_: uint256, start_: uint256,
               tgeBps_: uint256, cliff_: uint256, duration_: uint256):
    """
    @dev Once, by the factory that holds `total_` IFX sent here: locks
         it all in VotePower and delegates its votes to the beneficiary.
    @param token_ The IFX token.
    @param votes_ VotePower (where the factory registered this escrow).
    @param beneficiary_ Who receives the vested IFX.
    @param total_ The amount to vest.
    @param start_ When the TGE share vests.
    @param tgeBps_ The share vested at `start_`, in basis points.
    @param cliff_ Seconds after `start_` before the linear part begins.
    @param duration_ Seconds of the linear part.
    """
    assert not self.initialized, "escrow: already initialized"
    assert beneficiary_ != empty(address), "escrow: zero beneficiary"
    assert total_ > 0, "escrow: zero amount"
    assert tgeBps_ <= BPS, "escrow: bad tge share"
    self.initialized = True
    self.token = token_
    self.votes = votes_
    self.factory = msg.sender
    self.beneficiary = beneficiary_
    self.total = total_
    self.start = start_
    self.tgeBps = tgeBps_
    self.cliff = cliff_
    self.duration = duration_
    assert extcall token_.approve(votes_.address, total_), "escrow: approve failed"
    extcall votes_.lock(total_)
    extcall votes_.delegate(beneficiary_)
    log Initialized(beneficiary=beneficiary_, factory=msg.sender, total=total_, start=start_, tgeBps=tgeBps_,
                    cliff=cliff_, duration=duration_)


@view
@internal
def _vested_at(t: uint256) -> uint256:
    at: uint256 = t
    if self.revoked:
        at = min(at, self.revokedAt)
    start_: uint256 = self.start
    if at < start_:
        return 0
    total_: uint256 = self.total
    tge: uint256 = total_ * self.tgeBps // BPS
    linear_start: uint256 = start_ + self.cliff
    if at < linear_start:
        return tge
    duration_: uint256 = self.duration
    if duration_ == 0:
        return total_
    return tge + (total_ - tge) * min(at - linear_start, duration_) // duration_


@view
@external
def vestedAt(t: uint256) -> uint256:
    """
    @dev What has vested by time `t` (frozen at the revocation if any).
    """
    return self._vested_at(t)


@view
@external
def vested() -> uint256:
    """
    @dev What has vested by now.
    """
    return self._vested_at(block.timestamp)


@view
@external
def claimable() -> uint256:
    """
    @dev What the beneficiary may claim now.
    """
    return self._vested_at(block.timestamp) - self.claimed


@view
@external
def lockedRemaining() -> uint256:
    """
    @dev IFX this escrow still holds locked in VotePower.
    """
    if self.revoked:
        return self._vested_at(self.revokedAt) - self.claimed
    return self.total - self.claimed


@external
def claim() -> uint256:
    """
    @dev Anyone may call it: sends the claimable IFX to the beneficiary.
    @return uint256 The amount sent (0 when nothing is claimable).
    """
    assert self.initialized and self.factory != empty(address), "escrow: not initialized"
    amount: uint256 = self._vested_at(block.timestamp) - self.claimed
    if amount == 0:
        return 0
    self.claimed += amount
    extcall self.votes.unlock(amount)
    assert extcall self.token.transfer(self.beneficiary, amount), "escrow: transfer failed"
    log Claimed(beneficiary=self.beneficiary, amount=amount)
    return amount


@external
def delegate(delegatee: address):
    """
    @dev Beneficiary only: delegates this escrow's votes.
    @param delegatee The new delegate.
    """
    assert msg.sender == self.beneficiary, "escrow: caller is not the beneficiary"
    extcall self.votes.delegate(delegatee)


@external
def revoke() -> uint256:
    """
    @dev The factory only (it checks its owner and that it is
         revocable): the schedule freezes now; what vested so far stays
         claimable, the unvested rest leaves VotePower for the factory.
    @return uint256 The amount returned to the factory.
    """
    assert msg.sender == self.factory and msg.sender != empty(address), "escrow: caller is not the factory"
    assert staticcall IFactory(msg.sender).revocable(), "escrow: not revocable"
    assert not self.revoked, "escrow: already revoked"
    vested_: uint256 = self._vested_at(block.timestamp)
    self.revoked = True
    self.revokedAt = block.timestamp
    returned: uint256 = self.total - vested_
    if returned > 0:
        extcall self.votes.unlock(returned)
        assert extcall self.token.transfer(msg.sender, returned), "escrow: transfer failed"
    log Revoked(at=block.timestamp, vested=vested_, returned=returned)
    return returned
