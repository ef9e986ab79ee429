# pragma version ~=0.4.3
"""
@title IFX/USD price feed adapter
@custom:contract-name PriceFeedAdapter
@license MIT
@notice Reads a Chainlink-style aggregator (`latestRoundData`, `decimals`)
        and returns the USD price of one IFX scaled to 18 decimals. A price
        older than `maxAge`, non-positive, or from an unfinished round makes
        `price()` revert, which blocks new jobs and mints (never refunds or
        withdrawals, which do not read the price).
@custom:security Only the governance timelock can change `maxAge`, within
        [MIN_MAX_AGE, MAX_MAX_AGE].
"""

from .interfaces import IAggregatorV3
from .interfaces import IPriceFeed
implements: IPriceFeed

MIN_MAX_AGE: public(constant(uint256)) = 60
MAX_MAX_AGE: public(constant(uint256)) = 2 * 86400

aggregator: public(immutable(IAggregatorV3))
governance: public(immutable(address))
maxAge: public(uint256)

event MaxAgeChanged:
    maxAge: uint256


@deploy
def __init__(aggregator_: IAggregatorV3, governance_: address, maxAge_: uint256):
    """
    @param aggregator_ The Chainlink-style IFX/USD aggregator.
    @param governance_ The timelock allowed to change parameters.
    @param maxAge_ The staleness bound in seconds.
    """
    assert maxAge_ >= MIN_MAX_AGE and maxAge_ <= MAX_MAX_AGE, "pricefeed: max age out of bounds"
    aggregator = aggregator_
    governance = governance_
    self.maxAge = maxAge_


@view
@external
def price() -> uint256:
    """
    @dev The USD price of 1 IFX, 18 decimals.
    @return uint256 The price; reverts when stale or invalid.
    """
    roundId: uint80 = 0
    answer: int256 = 0
    startedAt: uint256 = 0
    updatedAt: uint256 = 0
    answeredInRound: uint80 = 0
    roundId, answer, startedAt, updatedAt, answeredInRound = staticcall aggregator.latestRoundData()
    assert answer > 0, "pricefeed: invalid price"
    assert updatedAt != 0 and answeredInRound >= roundId, "pricefeed: incomplete round"
    assert updatedAt + self.maxAge >= block.timestamp, "pricefeed: stale price"
    decimals: uint256 = convert(staticcall aggregator.decimals(), uint256)
    assert decimals <= 36, "pricefeed: bad decimals"
    if decimals <= 18:
        return convert(answer, uint256) * 10 ** (18 - decimals)
    return convert(answer, uint256) // 10 ** (decimals - 18)


@external
def setMaxAge(maxAge_: uint256):
    """
    @dev Changes the staleness bound (governance only, bounded).
    @param maxAge_ The new bound in seconds.
    """
    assert msg.sender == governance, "pricefeed: caller is not governance"
    assert maxAge_ >= MIN_MAX_AGE and maxAge_ <= MAX_MAX_AGE, "pricefeed: max age out of bounds"
    self.maxAge = maxAge_
    log MaxAgeChanged(maxAge=maxAge_)
