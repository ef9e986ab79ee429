# pragma version ~=0.4.3
"""
@title Inferix randomness beacon: drand rounds verified on-chain
@custom:contract-name RandomnessBeacon
@license MIT
@notice Stores the randomness of drand-style beacon rounds after checking
        their BLS signature on-chain, so that committees (of oracles) can be
        drawn from randomness that no party can predict before a round's
        time nor grind (`block.prevrandao` is not usable on L2s). The scheme
        is drand's `bls-unchained-g1-rfc9380` (the "quicknet" chain): round
        r's signature is sigma_r = sk * H(sha256(uint64_be(r))) in G1, with H
        the RFC 9380 hash_to_curve suite BLS12381G1_XMD:SHA-256_SSWU_RO_
        under the DST "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_", and the
        public key sk * g2 in G2. Anyone may `submit` a round (fetched from
        drand's HTTP API or from `inferix.beacon.serve`); its randomness is
        keccak256 of the 128-byte EIP-2537 signature. Round r is due at
        `genesisTime + (r - 1) * period`. Needs the EIP-2537 BLS12-381
        precompiles (Prague / Pectra) and MODEXP.
@custom:security A BLS signature is unique: the pairing precompile rejects
        points off the curve or outside the prime-order subgroup (so no
        cofactor-torsion twin of a valid signature passes) and EIP-2537's
        encoding is canonical (coordinates below p, zero padding), so each
        round has exactly one accepted byte string and one randomness; the
        submitter can delay a round but never choose its value. The value is
        unpredictable only as long as the key's holders (drand's threshold
        of League of Entropy members) do not collude, and is worthless with
        a publicly known key such as `inferix.beacon.DEV_BEACON_KEY`
        (local networks only). Consumers must fix the round they use BEFORE
        its time (e.g. `roundAt(block.timestamp) + k`), never take "the
        latest submitted" round, and must wait for `randomness(r) != 0`.
        A malformed signature makes the pairing precompile fail, which
        consumes the gas forwarded to it (capped at `PAIRING_GAS_LIMIT`);
        submitters should check a signature off-chain first
        (`inferix.beacon.verify`) or by `eth_call`.
"""

event RoundVerified:
    round: indexed(uint64)
    randomness: bytes32

# Precompiles (addresses as in py-evm's Prague fork and EIP-2537).
MODEXP: constant(address) = 0x0000000000000000000000000000000000000005
BLS12_G1ADD: constant(address) = 0x000000000000000000000000000000000000000b
BLS12_PAIRING_CHECK: constant(address) = 0x000000000000000000000000000000000000000F
BLS12_MAP_FP_TO_G1: constant(address) = 0x0000000000000000000000000000000000000010

# Gas forwarded to the pairing check: EIP-2537 prices two pairs at
# 32600 * 2 + 37700 = 102900; the margin covers a chain that prices it
# higher, and the cap bounds what a malformed point (which makes the
# precompile fail and consume all gas forwarded to it) costs its submitter.
PAIRING_GAS_LIMIT: constant(uint256) = 250_000

# DST_prime = DST || I2OSP(len(DST), 1); len(DST) = 43 = 0x2b = "+".
DST_PRIME: constant(Bytes[44]) = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_+"

# MODEXP header: base length 64, exponent length 1, modulus length 64.
MODEXP_HEADER: constant(Bytes[96]) = x"000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000040"

# The BLS12-381 base field modulus p, as 64 big-endian bytes.
FIELD_MODULUS: constant(Bytes[64]) = x"000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"

# The G1 generator, EIP-2537 encoded.
G1_GENERATOR: constant(Bytes[128]) = x"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb0000000000000000000000000000000008b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1"

# -g2, the negated G2 generator, EIP-2537 encoded (x.c0, x.c1, y.c0, y.c1).
NEG_G2_GENERATOR: constant(Bytes[256]) = x"00000000000000000000000000000000024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb80000000000000000000000000000000013e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e000000000000000000000000000000000d1b3cc2c7027888be51d9ef691d77bcb679afda66c73f17f9ee3837a55024f78c71363275a75d75d86bab79f74782aa0000000000000000000000000000000013fa4d4a0ad8b1ce186ed5061789213d993923066dddaf1040bc3ff59f825c78df74f2d75467e25e0f55f8a00fa030ed"

publicKey: public(immutable(Bytes[256]))
genesisTime: public(immutable(uint256))
period: public(immutable(uint256))

randomness: public(HashMap[uint64, bytes32])


@deploy
def __init__(publicKey_: Bytes[256], genesisTime_: uint256, period_: uint256):
    """
    @dev Checks that `publicKey_` is a G2 point in the prime-order subgroup
         and not the identity: the pairing precompile fails on a malformed
         point and e(g1, pk) == 1 only for pk = O.
    @param publicKey_ The beacon's public key, EIP-2537 uncompressed G2
           (x.c0, x.c1, y.c0, y.c1, 64 bytes each).
    @param genesisTime_ Unix time of round 1.
    @param period_ Seconds between rounds (3 for drand quicknet).
    """
    assert len(publicKey_) == 256, "beacon: bad public key"
    assert period_ > 0, "beacon: zero period"
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(
        BLS12_PAIRING_CHECK,
        concat(G1_GENERATOR, publicKey_),
        max_outsize=32,
        gas=PAIRING_GAS_LIMIT,
        is_static_call=True,
        revert_on_failure=False,
    )
    assert ok and len(out) == 32 and convert(out, uint256) == 0, "beacon: bad public key"
    publicKey = publicKey_
    genesisTime = genesisTime_
    period = period_


@external
def submit(round: uint64, signature: Bytes[128]) -> bytes32:
    """
    @notice Verify round `round`'s beacon signature and store its randomness.
    @dev Reverts "beacon: round already set" for a stored round (check
         `randomness(round) != 0` first), "beacon: round not reached" for a
         round whose time is still ahead (or round 0), and "beacon: bad
         signature" for anything but the round's unique valid signature.
    @param round The beacon round (from 1).
    @param signature The round's signature, EIP-2537 uncompressed G1 (x, y,
           64 bytes each); drand's 48-byte compressed form must be
           decompressed off-chain (`inferix.beacon.g1_from_compressed`).
    @return The round's randomness, keccak256(signature).
    """
    assert self.randomness[round] == empty(bytes32), "beacon: round already set"
    assert round != 0 and convert(round, uint256) <= self._round_at(block.timestamp), "beacon: round not reached"
    assert len(signature) == 128, "beacon: bad signature"

    # e(sigma, -g2) * e(H(m), pk) == 1
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(
        BLS12_PAIRING_CHECK,
        concat(signature, NEG_G2_GENERATOR, self._hash_to_g1(round), publicKey),
        max_outsize=32,
        gas=PAIRING_GAS_LIMIT,
        is_static_call=True,
        revert_on_failure=False,
    )
    assert ok and len(out) == 32 and convert(out, uint256) == 1, "beacon: bad signature"

    result: bytes32 = keccak256(signature)
    self.randomness[round] = result
    log RoundVerified(round=round, randomness=result)
    return result


@view
@external
def roundAt(timestamp: uint256) -> uint64:
    """
    @notice The latest round whose time is at or before `timestamp`.
    @param timestamp A Unix time.
    @return The round (0 before genesis).
    """
    return convert(self._round_at(timestamp), uint64)


@view
@external
def roundTime(round: uint64) -> uint256:
    """
    @notice The time at which round `round` is due.
    @dev Reverts "beacon: no round 0" for round 0.
    @param round The beacon round (from 1).
    @return genesisTime + (round - 1) * period.
    """
    assert round != 0, "beacon: no round 0"
    return genesisTime + (convert(round, uint256) - 1) * period


@view
@internal
def _round_at(timestamp: uint256) -> uint256:
    if timestamp < genesisTime:
        return 0
    return (timestamp - genesisTime) // period + 1


@view
@internal
def _hash_to_g1(round: uint64) -> Bytes[128]:
    """
    @dev RFC 9380 hash_to_curve(sha256(uint64_be(round))) for the suite
         BLS12381G1_XMD:SHA-256_SSWU_RO_: expand_message_xmd to 128 bytes,
         two field elements (64-byte chunks mod p), each mapped by
         MAP_FP_TO_G1 (which clears the cofactor; clearing is linear, so
         the sum equals clear_cofactor(Q0 + Q1)) and added with G1ADD.
    """
    message: bytes32 = sha256(slice(convert(convert(round, uint256), bytes32), 24, 8))
    # b0 = H(Z_pad || message || I2OSP(128, 2) || I2OSP(0, 1) || DST_prime)
    b0: bytes32 = sha256(concat(empty(bytes32), empty(bytes32), message, x"008000", DST_PRIME))
    b1: bytes32 = sha256(concat(b0, x"01", DST_PRIME))
    b2: bytes32 = sha256(concat(self._xor(b0, b1), x"02", DST_PRIME))
    b3: bytes32 = sha256(concat(self._xor(b0, b2), x"03", DST_PRIME))
    b4: bytes32 = sha256(concat(self._xor(b0, b3), x"04", DST_PRIME))
    q0: Bytes[128] = self._map_to_g1(self._mod_p(concat(b1, b2)))
    q1: Bytes[128] = self._map_to_g1(self._mod_p(concat(b3, b4)))
    return raw_call(BLS12_G1ADD, concat(q0, q1), max_outsize=128, is_static_call=True)


@pure
@internal
def _xor(a: bytes32, b: bytes32) -> bytes32:
    return convert(convert(a, uint256) ^ convert(b, uint256), bytes32)


@view
@internal
def _mod_p(element: Bytes[64]) -> Bytes[64]:
    # element^1 mod p; the 64-byte result (16 zero bytes + 48) is MAP_FP_TO_G1's input format.
    return raw_call(
        MODEXP,
        concat(MODEXP_HEADER, element, x"01", FIELD_MODULUS),
        max_outsize=64,
        is_static_call=True,
    )


@view
@internal
def _map_to_g1(element: Bytes[64]) -> Bytes[128]:
    return raw_call(BLS12_MAP_FP_TO_G1, element, max_outsize=128, is_static_call=True)
