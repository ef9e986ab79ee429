# pragma version ~=0.4.3
"""
@title Inferix voting power
@custom:contract-name VotePower
@license MIT
@notice Token holders govern with IFX they lock here; the token itself
        keeps no checkpoints, so transfers and burns cost nothing extra.
        An account's voting units are the IFX it locked here (weight 1),
        plus its bonded stake in Staking (weight 1, pushed by Staking
        through `onStake`), plus, for a vesting escrow registered by a
        wired VestingFactory, half its locked IFX (`VESTING_VOTE_BPS`):
        unvested tokens vote at half weight. Units count for the account
        itself until it delegates them (`delegate`, `delegateBySig`).
        ERC-5805 / ERC-6372 reads in timestamp mode: `getPastVotes` and
        `getPastTotalSupply` read checkpoints strictly before now, so IFX
        locked and unlocked within one timestamp (a flash loan) leaves no
        trace in any past lookup. Staking's veto reads the bonded stake
        per account (undelegated) and in total, also checkpointed.
@custom:security There is no lock period: snapshots are taken in the
        past, so tokens borrowed after a snapshot vote nothing at it.
        Each checkpoint is one storage slot: the value in the upper 208
        bits, the 48-bit timestamp in the lower bits. A write within the
        timestamp of the last checkpoint overwrites it.
"""

from ethereum.ercs import IERC20

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712

initializes: eip712

exports: eip712.eip712Domain

from .interfaces import IVotePower
implements: IVotePower

# @dev Weight of IFX locked by a vesting escrow, in basis points.
VESTING_VOTE_BPS: public(constant(uint256)) = 5_000
BPS: constant(uint256) = 10_000
MAX_FACTORIES: constant(uint256) = 4

# @dev EIP-712 type of `delegateBySig`, as OpenZeppelin's ERC20Votes.
DELEGATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Delegation(address delegatee,uint256 nonce,uint256 expiry)"
)

# @dev Checkpoint packing: value << 48 | timestamp.
KEY_BITS: constant(uint256) = 48
KEY_MASK: constant(uint256) = 2**48 - 1
MAX_VALUE: constant(uint256) = 2**208 - 1

# @dev Checkpoint series ids: tag << 160 | address.
SERIES_VOTES: constant(uint256) = 0  # votes per delegate
SERIES_STAKE: constant(uint256) = 1  # bonded stake per account
SERIES_TOTAL_VOTES: constant(uint256) = 2 << 160
SERIES_TOTAL_STAKE: constant(uint256) = 3 << 160

token: public(immutable(IERC20))
deployer: immutable(address)

# @dev The Staking contract, the only caller of `onStake`.
staking: public(address)
# @dev The VestingFactory contracts allowed to call `registerEscrow`.
isFactory: public(HashMap[address, bool])
# @dev Vesting escrows, whose locked IFX votes at `VESTING_VOTE_BPS`.
isEscrow: public(HashMap[address, bool])
# @dev True once the one-time wiring is done.
wired: public(bool)

# @dev IFX locked by each account (escrows included), and in total.
locked: public(HashMap[address, uint256])
totalLocked: public(uint256)
# @dev Bonded stake of each account, as Staking last pushed it.
stakeOf: public(HashMap[address, uint256])
# @dev EIP-712 nonces of `delegateBySig`, per signer.
nonces: public(HashMap[address, uint256])

_delegatee: HashMap[address, address]
_ckpt: HashMap[uint256, HashMap[uint256, uint256]]
_ckptLen: HashMap[uint256, uint256]


event Wired:
    staking: indexed(address)
    factories: DynArray[address, MAX_FACTORIES]

event EscrowRegistered:
    escrow: indexed(address)
    factory: indexed(address)

event Locked:
    account: indexed(address)
    amount: uint256

event Unlocked:
    account: indexed(address)
    amount: uint256

event StakeChanged:
    account: indexed(address)
    previousBonded: uint256
    newBonded: uint256

event DelegateChanged:
    delegator: indexed(address)
    fromDelegate: indexed(address)
    toDelegate: indexed(address)

event DelegateVotesChanged:
    delegate: indexed(address)
    previousVotes: uint256
    newVotes: uint256


@deploy
def __init__(token_: IERC20, name_: String[50], version_: String[20]):
    """
    @param token_ The IFX token.
    @param name_ The EIP-712 domain name ("Inferix Votes").
    @param version_ The EIP-712 domain version ("1").
    """
    assert token_.address != empty(address), "votes: zero token"
    token = token_
    deployer = msg.sender
    eip712.__init__(name_, version_)


@external
def wire(staking_: address, factories_: DynArray[address, MAX_FACTORIES]):
    """
    @dev Deployer only, once: names Staking (the only caller of
         `onStake`) and the vesting factories (allowed to register
         escrows).
    @param staking_ The Staking contract.
    @param factories_ The VestingFactory contracts.
    """
    assert msg.sender == deployer, "votes: caller is not the deployer"
    assert not self.wired, "votes: already wired"
    assert staking_ != empty(address), "votes: zero staking"
    self.wired = True
    self.staking = staking_
    for factory: address in factories_:
        assert factory != empty(address), "votes: zero factory"
        self.isFactory[factory] = True
    log Wired(staking=staking_, factories=factories_)


# ------------------------------------------------------------ locking


@external
@nonreentrant
def lock(amount: uint256):
    """
    @dev Locks `amount` IFX of the caller (allowance needed) to vote.
    @param amount The amount in wei of IFX.
    """
    assert amount > 0, "votes: zero amount"
    assert extcall token.transferFrom(msg.sender, self, amount), "votes: transfer failed"
    before: uint256 = self.locked[msg.sender]
    after: uint256 = before + amount
    self.locked[msg.sender] = after
    self.totalLocked += amount
    self._add_units(msg.sender, self._lock_units(msg.sender, after) - self._lock_units(msg.sender, before))
    log Locked(account=msg.sender, amount=amount)


@external
@nonreentrant
def unlock(amount: uint256):
    """
    @dev Gives `amount` of the caller's locked IFX back to it.
    @param amount The amount in wei of IFX.
    """
    assert amount > 0, "votes: zero amount"
    before: uint256 = self.locked[msg.sender]
    assert before >= amount, "votes: unlock exceeds locked"
    after: uint256 = before - amount
    self.locked[msg.sender] = after
    self.totalLocked -= amount
    self._sub_units(msg.sender, self._lock_units(msg.sender, before) - self._lock_units(msg.sender, after))
    assert extcall token.transfer(msg.sender, amount), "votes: transfer failed"
    log Unlocked(account=msg.sender, amount=amount)


@external
def registerEscrow(escrow: address):
    """
    @dev Wired factories only: `escrow` becomes a vesting escrow, whose
         locked IFX votes at `VESTING_VOTE_BPS`. Before it locks anything.
    @param escrow The new escrow.
    """
    assert self.isFactory[msg.sender], "votes: caller is not a factory"
    assert escrow != empty(address), "votes: zero escrow"
    assert not self.isEscrow[escrow], "votes: already an escrow"
    assert self.locked[escrow] == 0, "votes: escrow holds a lock"
    self.isEscrow[escrow] = True
    log EscrowRegistered(escrow=escrow, factory=msg.sender)


@external
def onStake(account: address, bonded: uint256):
    """
    @dev Staking only: `bonded` is the account's bonded stake now; its
         voting units and the stake series change by the difference.
    @param account The staker.
    @param bonded Its absolute bonded stake.
    """
    assert msg.sender == self.staking, "votes: caller is not staking"
    previous: uint256 = self.stakeOf[account]
    if bonded == previous:
        return
    self.stakeOf[account] = bonded
    self._push(SERIES_STAKE << 160 | convert(account, uint256), bonded)
    total: uint256 = self._latest(SERIES_TOTAL_STAKE)
    if bonded > previous:
        self._push(SERIES_TOTAL_STAKE, total + (bonded - previous))
        self._add_units(account, bonded - previous)
    else:
        self._push(SERIES_TOTAL_STAKE, total - (previous - bonded))
        self._sub_units(account, previous - bonded)
    log StakeChanged(account=account, previousBonded=previous, newBonded=bonded)


# ------------------------------------------------------------ delegation


@external
def delegate(delegatee: address):
    """
    @dev The caller's voting units count for `delegatee` from now on.
    @param delegatee The new delegate (the caller itself to take them back).
    """
    self._delegate(msg.sender, delegatee)


@external
def delegateBySig(delegatee: address, nonce: uint256, expiry: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @dev The signer of the EIP-712 `Delegation(delegatee, nonce, expiry)`
         delegates to `delegatee`; relayed by anyone. A signature is used
         once (its nonce) and refused after `expiry`.
    @param delegatee The new delegate.
    @param nonce The signer's current nonce.
    @param expiry The last timestamp the signature is valid at.
    @param v The secp256k1 signature parameter `v`.
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s`.
    """
    assert block.timestamp <= expiry, "votes: signature expired"
    digest: bytes32 = eip712._hash_typed_data_v4(keccak256(abi_encode(DELEGATION_TYPEHASH, delegatee, nonce, expiry)))
    signer: address = ecdsa._recover_vrs(digest, convert(v, uint256), convert(r, uint256), convert(s, uint256))
    assert nonce == self.nonces[signer], "votes: invalid nonce"
    self.nonces[signer] = nonce + 1
    self._delegate(signer, delegatee)


@view
@external
def delegates(account: address) -> address:
    """
    @dev The delegate of `account`'s units: the account itself until it delegates.
    """
    return self._delegates(account)


@view
@external
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @dev The EIP-712 domain separator of `delegateBySig`.
    """
    return eip712._domain_separator_v4()


# ------------------------------------------------------------ reads


@view
@external
def clock() -> uint48:
    """
    @dev ERC-6372: the clock is the block timestamp.
    """
    return convert(block.timestamp, uint48)


@view
@external
def CLOCK_MODE() -> String[32]:
    """
    @dev ERC-6372 clock mode.
    """
    return "mode=timestamp"


@view
@external
def getVotes(account: address) -> uint256:
    """
    @dev The votes delegated to `account` now.
    """
    return self._latest(SERIES_VOTES << 160 | convert(account, uint256))


@view
@external
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    """
    @dev The votes delegated to `account` at the end of `timepoint` (< now).
    """
    self._check_past(timepoint)
    return self._lookup(SERIES_VOTES << 160 | convert(account, uint256), timepoint)


@view
@external
def getPastTotalSupply(timepoint: uint256) -> uint256:
    """
    @dev All voting units at the end of `timepoint` (< now), delegated or not.
    """
    self._check_past(timepoint)
    return self._lookup(SERIES_TOTAL_VOTES, timepoint)


@view
@external
def getPastStake(account: address, timepoint: uint256) -> uint256:
    """
    @dev The bonded stake of `account` (never delegated) at the end of `timepoint` (< now).
    """
    self._check_past(timepoint)
    return self._lookup(SERIES_STAKE << 160 | convert(account, uint256), timepoint)


@view
@external
def getPastTotalStake(timepoint: uint256) -> uint256:
    """
    @dev The total bonded stake at the end of `timepoint` (< now).
    """
    self._check_past(timepoint)
    return self._lookup(SERIES_TOTAL_STAKE, timepoint)


@view
@external
def totalVotes() -> uint256:
    """
    @dev All voting units now.
    """
    return self._latest(SERIES_TOTAL_VOTES)


@view
@external
def totalStake() -> uint256:
    """
    @dev The total bonded stake now.
    """
    return self._latest(SERIES_TOTAL_STAKE)


@view
@external
def votingUnits(account: address) -> uint256:
    """
    @dev The units `account` holds (whoever they are delegated to).
    """
    return self._units(account)


@view
@external
def numCheckpoints(account: address) -> uint256:
    """
    @dev How many vote checkpoints `account` has as a delegate.
    """
    return self._ckptLen[SERIES_VOTES << 160 | convert(account, uint256)]


@view
@external
def checkpoints(account: address, pos: uint256) -> (uint48, uint208):
    """
    @dev The vote checkpoint `pos` of `account`: (timestamp, votes).
    """
    series: uint256 = SERIES_VOTES << 160 | convert(account, uint256)
    assert pos < self._ckptLen[series], "votes: no such checkpoint"
    packed: uint256 = self._ckpt[series][pos]
    return convert(packed & KEY_MASK, uint48), convert(packed >> KEY_BITS, uint208)


# ------------------------------------------------------------ internals


@view
@internal
def _delegates(account: address) -> address:
    delegatee: address = self._delegatee[account]
    if delegatee == empty(address):
        return account
    return delegatee


@view
@internal
def _lock_units(account: address, amount: uint256) -> uint256:
    if self.isEscrow[account]:
        return amount * VESTING_VOTE_BPS // BPS
    return amount


@view
@internal
def _units(account: address) -> uint256:
    return self._lock_units(account, self.locked[account]) + self.stakeOf[account]


@internal
def _delegate(account: address, delegatee: address):
    assert delegatee != empty(address), "votes: zero delegatee"
    previous: address = self._delegates(account)
    self._delegatee[account] = delegatee
    log DelegateChanged(delegator=account, fromDelegate=previous, toDelegate=delegatee)
    self._move_votes(previous, delegatee, self._units(account))


@internal
def _add_units(account: address, amount: uint256):
    if amount == 0:
        return
    self._push(SERIES_TOTAL_VOTES, self._latest(SERIES_TOTAL_VOTES) + amount)
    self._move_votes(empty(address), self._delegates(account), amount)


@internal
def _sub_units(account: address, amount: uint256):
    if amount == 0:
        return
    self._push(SERIES_TOTAL_VOTES, self._latest(SERIES_TOTAL_VOTES) - amount)
    self._move_votes(self._delegates(account), empty(address), amount)


@internal
def _move_votes(src: address, dst: address, amount: uint256):
    if src == dst or amount == 0:
        return
    if src != empty(address):
        series: uint256 = SERIES_VOTES << 160 | convert(src, uint256)
        previous: uint256 = self._latest(series)
        self._push(series, previous - amount)
        log DelegateVotesChanged(delegate=src, previousVotes=previous, newVotes=previous - amount)
    if dst != empty(address):
        series: uint256 = SERIES_VOTES << 160 | convert(dst, uint256)
        previous: uint256 = self._latest(series)
        self._push(series, previous + amount)
        log DelegateVotesChanged(delegate=dst, previousVotes=previous, newVotes=previous + amount)


@internal
def _push(series: uint256, amount: uint256):
    assert amount <= MAX_VALUE, "votes: value overflow"
    assert block.timestamp <= KEY_MASK, "votes: clock overflow"
    packed: uint256 = amount << KEY_BITS | block.timestamp
    n: uint256 = self._ckptLen[series]
    if n > 0 and self._ckpt[series][n - 1] & KEY_MASK == block.timestamp:
        self._ckpt[series][n - 1] = packed
        return
    self._ckpt[series][n] = packed
    self._ckptLen[series] = n + 1


@view
@internal
def _latest(series: uint256) -> uint256:
    n: uint256 = self._ckptLen[series]
    if n == 0:
        return 0
    return self._ckpt[series][n - 1] >> KEY_BITS


@view
@internal
def _lookup(series: uint256, timepoint: uint256) -> uint256:
    """
    @dev The value of the last checkpoint at or before `timepoint` (0 if none).
    """
    high: uint256 = self._ckptLen[series]
    if high == 0:
        return 0
    last: uint256 = self._ckpt[series][high - 1]
    if last & KEY_MASK <= timepoint:
        return last >> KEY_BITS
    # the first checkpoint after `timepoint` lies in [low, high)
    low: uint256 = 0
    high -= 1
    for _: uint256 in range(64):
        if low >= high:
            break
        mid: uint256 = (low + high) // 2
        if self._ckpt[series][mid] & KEY_MASK > timepoint:
            high = mid
        else:
            low = mid + 1
    if high == 0:
        return 0
    return self._ckpt[series][high - 1] >> KEY_BITS


@view
@internal
def _check_past(timepoint: uint256):
    assert timepoint < block.timestamp, "votes: future lookup"
