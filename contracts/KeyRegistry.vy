# pragma version ~=0.4.3
"""
@title Inferix key registry: every node's encryption public key
@custom:contract-name KeyRegistry
@license MIT
@notice Each account publishes one X25519 public key (RFC 7748, 32 bytes)
        that private jobs wrap content keys to (`inferix.crypto`,
        HPKE): the scenes, task packages and frames of a private job are
        readable by its creator, manager, assigned worker and verifying
        committee only. The key is separate from the account's wallet key:
        a node's wallet signs transactions, this key receives envelopes,
        and either can be replaced without the other.

        Rotation without losing tasks in flight: `setKey` makes the new key
        current at once (parties wrap to it from now on) and keeps the key
        it replaces as `previous`, honoured for `ROTATION_GRACE` (7 days,
        inclusive): envelopes wrapped to it for tasks still running keep
        opening (the node keeps the retired private key, see
        `inferix/keys.py`), and readers checking an envelope's recipient
        (`honours`) accept it until then. One previous key only: rotating
        again within the grace drops the older one from this record (the
        node's keystore still holds its private key).

        `revokeKey` is for a compromised key: the current and previous keys
        are cleared at once (readers must stop wrapping to them and must not
        accept them any more) and can never become this account's key again.

        Any account may publish a key; this contract checks nothing about
        who it is (a worker, a manager, an oracle, a creator). Readers
        decide whom they trust (Staking's registrations, a job's parties).
@custom:security Only the encodings of the small-order X25519 points (the
        u-coordinates 0, 1, p - 1, the two of order 8, and the non-canonical
        p and p + 1, each also with its unused top bit set) and the zero key
        are refused here: wrapping to one of them would give a shared secret
        anyone can compute. Whether 32 bytes are a usable key at all is for
        the readers to check off chain before wrapping
        (`inferix.keys.validate_public_key`: the `cryptography` library's
        X25519 loading and an exchange that refuses an all-zero result).
        A key copied from another account registers fine: it only means
        that whoever holds its private key reads what is wrapped to this
        account, which its owner chose.
"""

event KeySet:
    account: indexed(address)
    publicKey: bytes32
    previous: bytes32  # the key it replaces, honoured for ROTATION_GRACE; empty when none

event KeyRevoked:
    account: indexed(address)


# how long a replaced key stays honoured for decryption (tasks in flight)
ROTATION_GRACE: public(constant(uint256)) = 7 * 86_400

# the small-order X25519 u-coordinates' little-endian encodings, top bit clear (libsodium's blocklist)
LOW_ORDER: constant(bytes32[7]) = [
    0x0000000000000000000000000000000000000000000000000000000000000000,  # 0
    0x0100000000000000000000000000000000000000000000000000000000000000,  # 1
    0xe0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800,  # order 8
    0x5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157,  # order 8
    0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,  # p - 1
    0xedffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,  # p (= 0)
    0xeeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f,  # p + 1 (= 1)
]
# X25519 ignores the top bit of the last byte (bit 7 of the lowest byte of the bytes32 read as a uint256)
TOP_BIT_CLEAR: constant(uint256) = max_value(uint256) - 128
TIME_MASK: constant(uint256) = 2**128 - 1


struct Record:
    current: bytes32
    previous: bytes32
    times: uint256  # currentSince | previousUntil << 128: one slot for both


_records: HashMap[address, Record]

# keys an account revoked: never its key again
revoked: public(HashMap[address, HashMap[bytes32, bool]])


@external
def setKey(publicKey: bytes32):
    """
    @notice Publish `publicKey` as the caller's encryption key, current at
            once; the key it replaces stays honoured for ROTATION_GRACE.
    """
    assert publicKey != empty(bytes32), "keys: zero key"
    masked: bytes32 = convert(convert(publicKey, uint256) & TOP_BIT_CLEAR, bytes32)
    assert masked not in LOW_ORDER, "keys: low-order key"
    assert not self.revoked[msg.sender][publicKey], "keys: key revoked"
    previous: bytes32 = self._records[msg.sender].current
    assert publicKey != previous, "keys: already current"
    until: uint256 = 0
    if previous != empty(bytes32):
        until = block.timestamp + ROTATION_GRACE
        self._records[msg.sender].previous = previous
    # with no current key (the first one, or after a revocation) the previous one is empty already
    self._records[msg.sender].current = publicKey
    self._records[msg.sender].times = block.timestamp | (until << 128)
    log KeySet(account=msg.sender, publicKey=publicKey, previous=previous)


@external
def revokeKey():
    """
    @notice The caller's key is compromised: clear its current and previous
            keys at once. Neither can be set again by this account.
    """
    record: Record = self._records[msg.sender]
    assert record.current != empty(bytes32), "keys: no key"
    self.revoked[msg.sender][record.current] = True
    if record.previous != empty(bytes32):
        self.revoked[msg.sender][record.previous] = True
    self._records[msg.sender] = empty(Record)
    log KeyRevoked(account=msg.sender)


@view
@external
def keyOf(account: address) -> bytes32:
    """
    @notice The key to wrap to for `account` now; empty when it has none
            (never set, or revoked).
    """
    return self._records[account].current


@view
@external
def keysOf(account: address) -> (bytes32, uint256, bytes32, uint256):
    """
    @notice (current, currentSince, previous, previousUntil): the previous
            key and the last second it is honoured at, both empty once that
            time has passed (or when there is none).
    """
    record: Record = self._records[account]
    until: uint256 = record.times >> 128
    if block.timestamp > until:
        return record.current, record.times & TIME_MASK, empty(bytes32), 0
    return record.current, record.times & TIME_MASK, record.previous, until


@view
@external
def honours(account: address, publicKey: bytes32) -> bool:
    """
    @notice Whether `publicKey` is `account`'s key now: its current key, or
            its previous one within the grace period.
    """
    if publicKey == empty(bytes32):
        return False
    record: Record = self._records[account]
    if publicKey == record.current:
        return True
    return publicKey == record.previous and block.timestamp <= record.times >> 128
