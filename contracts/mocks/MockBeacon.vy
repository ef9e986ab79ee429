# pragma version ~=0.4.3
"""
@title Mock randomness beacon for contract unit tests (MOCK)
@custom:contract-name MockBeacon
@license MIT
@notice Same read interface as `RandomnessBeacon` (`roundAt`,
        `randomness`), but its owner sets each round's randomness instead
        of proving it with a BLS signature. It exists because verifying a
        BLS round costs seconds in the in-process EVM the unit tests use;
        the real beacon has its own tests, and every test on anvil and the
        demo use it. Never deploy it on a public network.
"""

owner: public(address)
genesisTime: public(uint256)
period: public(uint256)
randomness: public(HashMap[uint64, bytes32])


@deploy
def __init__(genesisTime_: uint256, period_: uint256):
    """
    @param genesisTime_ The time of round 1.
    @param period_ Seconds between rounds.
    """
    assert period_ > 0, "beacon: zero period"
    self.owner = msg.sender
    self.genesisTime = genesisTime_
    self.period = period_


@view
@external
def roundAt(timestamp: uint256) -> uint64:
    """
    @dev The latest round whose time is at most `timestamp` (0 before genesis).
    @param timestamp A time.
    @return uint64 The round.
    """
    if timestamp < self.genesisTime:
        return 0
    return convert((timestamp - self.genesisTime) // self.period + 1, uint64)


@view
@external
def roundTime(round: uint64) -> uint256:
    """
    @dev The time at which `round` is due.
    @param round A round (from 1).
    @return uint256 Its time.
    """
    assert round != 0, "beacon: no round 0"
    return self.genesisTime + (convert(round, uint256) - 1) * self.period


@external
def setRandomness(round: uint64, randomness_: bytes32):
    """
    @dev Owner only: publishes a round's randomness (once; not before its time).
    @param round The round.
    @param randomness_ Its randomness (non-zero).
    """
    assert msg.sender == self.owner, "beacon: caller is not the owner"
    assert randomness_ != empty(bytes32), "beacon: zero randomness"
    assert self.randomness[round] == empty(bytes32), "beacon: round already set"
    assert self.genesisTime + (convert(round, uint256) - 1) * self.period <= block.timestamp, "beacon: round not reached"
    self.randomness[round] = randomness_
