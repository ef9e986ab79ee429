# pragma version ~=0.4.3
"""
@title IFX/USD price feed adapter (time-weighted average over rounds)
@custom:contract-name PriceFeedAdapter
@license MIT
@notice Reads a Chainlink-style aggregator (`latestRoundData`,
        `getRoundData`, `decimals`) and returns the USD price of one IFX
        scaled to 18 decimals, averaged over the last `twapWindow` seconds:
        each round's answer weighs the time it was the latest answer inside
        the window, the latest round from its update until now. A latest
        round that is older than `maxAge`, non-positive, or unfinished, or a
        non-positive answer inside the window, makes `price()` revert, which
        blocks new jobs and mints (never refunds or withdrawals, which do not
        read the price).

        Why an average: the price fixes what a job locks and how rewards are
        valued, so a spot read would let one manipulated block (a thin
        market, a single bad report) move both. A new token such as IFX may
        have no Chainlink feed at all; its price then comes from a DEX, whose
        spot price is cheap to push for one block. A DEX time-weighted price
        (e.g. a Uniswap v3 observation wrapper that publishes rounds) can be
        plugged in behind the same `IAggregatorV3` read interface, and this
        adapter averages whatever source stands behind it.

        Gas: with `twapWindow` 0, or one round covering the whole window,
        `price()` costs about what a spot read costs (two external reads and
        one storage read, ~18k gas). Each further round inside the window
        adds one `getRoundData` call, a warm call plus the aggregator's cold
        storage reads: ~6k gas against the local mock, less against a
        Chainlink feed that packs a round in one slot. At most MAX_ROUNDS
        rounds are read, so `price()` never costs more than ~211k gas (mock,
        32 rounds). `spot()` is the single latest answer, for display.
@custom:security Only the governance timelock can change `maxAge`, within
        [MIN_MAX_AGE, MAX_MAX_AGE], and `twapWindow`, within
        [0, MAX_TWAP_WINDOW].
"""

from .interfaces import IAggregatorV3
from .interfaces import IPriceFeed

from .modules import governed

initializes: governed

exports: governed.governance
implements: IPriceFeed

MIN_MAX_AGE: public(constant(uint256)) = 60
MAX_MAX_AGE: public(constant(uint256)) = 2 * 86400
DEFAULT_TWAP_WINDOW: public(constant(uint256)) = 1800
MAX_TWAP_WINDOW: public(constant(uint256)) = 86400
# the most rounds one `price()` reads, the latest included
MAX_ROUNDS: public(constant(uint256)) = 32

aggregator: public(immutable(IAggregatorV3))
maxAge: public(uint256)
twapWindow: public(uint256)

event MaxAgeChanged:
    maxAge: uint256

event TwapWindowChanged:
    twapWindow: uint256


@deploy
def __init__(aggregator_: IAggregatorV3, governance_: address, maxAge_: uint256):
    """
    @param aggregator_ The Chainlink-style IFX/USD aggregator.
    @param governance_ The timelock allowed to change parameters.
    @param maxAge_ The staleness bound in seconds.
    """
    assert maxAge_ >= MIN_MAX_AGE and maxAge_ <= MAX_MAX_AGE, "pricefeed: max age out of bounds"
    aggregator = aggregator_
    governed.__init__(governance_)
    self.maxAge = maxAge_
    self.twapWindow = DEFAULT_TWAP_WINDOW


@view
@external
def price() -> uint256:
    """
    @dev The USD price of 1 IFX, 18 decimals, time-weighted over the last
         `twapWindow` seconds of the aggregator's rounds (the latest answer
         alone when the window is 0). When the history runs out (first
         round, an unknown or unfinished round, or MAX_ROUNDS read) the
         earliest round found covers the rest of the window.
    @return uint256 The averaged price; reverts when the latest round is
            stale, unfinished or invalid, or a round inside the window has a
            non-positive answer.
    """
    roundId: uint80 = 0
    answer: int256 = 0
    updatedAt: uint256 = 0
    roundId, answer, updatedAt = self._latest()
    decimals: uint256 = self._decimals()
    window: uint256 = self.twapWindow
    if window == 0:
        return self._scale(convert(answer, uint256), decimals, 1)

    start: uint256 = 0
    if block.timestamp > window:
        start = block.timestamp - window
    total: uint256 = block.timestamp - start
    # `end`: where the current round stopped being the latest answer
    end: uint256 = block.timestamp
    acc: uint256 = 0
    for i: uint256 in range(MAX_ROUNDS):
        # the round was the latest answer from `updatedAt` (clamped to the
        # window and to its successor's start) until `end`
        begin: uint256 = max(min(updatedAt, end), start)
        if end > begin:
            assert answer > 0, "pricefeed: invalid price"
            acc += convert(answer, uint256) * (end - begin)
            end = begin
        if end == start or i == MAX_ROUNDS - 1 or roundId == 0:
            break
        ok: bool = False
        prevAnswer: int256 = 0
        prevUpdatedAt: uint256 = 0
        ok, prevAnswer, prevUpdatedAt = self._round(roundId - 1)
        if not ok:
            break
        roundId -= 1
        answer = prevAnswer
        updatedAt = prevUpdatedAt
    if end > start:
        # history ran out: the earliest round found covers the rest
        assert answer > 0, "pricefeed: invalid price"
        acc += convert(answer, uint256) * (end - start)
    return self._scale(acc, decimals, total)


@view
@external
def spot() -> uint256:
    """
    @dev The latest answer alone, 18 decimals, with the same checks as
         `price()` (for display; contracts value IFX with `price()`).
    @return uint256 The latest price; reverts when stale or invalid.
    """
    roundId: uint80 = 0
    answer: int256 = 0
    updatedAt: uint256 = 0
    roundId, answer, updatedAt = self._latest()
    return self._scale(convert(answer, uint256), self._decimals(), 1)


@external
def setMaxAge(maxAge_: uint256):
    """
    @dev Changes the staleness bound (governance only, bounded).
    @param maxAge_ The new bound in seconds.
    """
    governed._check_governance()
    assert maxAge_ >= MIN_MAX_AGE and maxAge_ <= MAX_MAX_AGE, "pricefeed: max age out of bounds"
    self.maxAge = maxAge_
    log MaxAgeChanged(maxAge=maxAge_)


@external
def setTwapWindow(twapWindow_: uint256):
    """
    @dev Changes the averaging window (governance only, at most
         MAX_TWAP_WINDOW; 0 makes `price()` the latest answer alone).
    @param twapWindow_ The new window in seconds.
    """
    governed._check_governance()
    assert twapWindow_ <= MAX_TWAP_WINDOW, "pricefeed: twap window out of bounds"
    self.twapWindow = twapWindow_
    log TwapWindowChanged(twapWindow=twapWindow_)


@view
@internal
def _latest() -> (uint80, int256, uint256):
    roundId: uint80 = 0
    answer: int256 = 0
    startedAt: uint256 = 0
    updatedAt: uint256 = 0
    answeredInRound: uint80 = 0
    roundId, answer, startedAt, updatedAt, answeredInRound = staticcall aggregator.latestRoundData()
    assert answer > 0, "pricefeed: invalid price"
    assert updatedAt != 0 and answeredInRound >= roundId, "pricefeed: incomplete round"
    assert updatedAt + self.maxAge >= block.timestamp, "pricefeed: stale price"
    return roundId, answer, updatedAt


@view
@internal
def _round(roundId: uint80) -> (bool, int256, uint256):
    # a past round, or (False, 0, 0) when the aggregator has none: the call
    # reverts (Chainlink: unknown round), answers short, or the round is
    # unfinished (updatedAt 0)
    ok: bool = False
    response: Bytes[160] = b""
    ok, response = raw_call(
        aggregator.address,
        abi_encode(roundId, method_id=method_id("getRoundData(uint80)")),
        max_outsize=160,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(response) < 160:
        return False, 0, 0
    rid: uint80 = 0
    answer: int256 = 0
    startedAt: uint256 = 0
    updatedAt: uint256 = 0
    answeredInRound: uint80 = 0
    rid, answer, startedAt, updatedAt, answeredInRound = abi_decode(
        response, (uint80, int256, uint256, uint256, uint80)
    )
    if updatedAt == 0:
        return False, 0, 0
    return True, answer, updatedAt


@view
@internal
def _decimals() -> uint256:
    decimals: uint256 = convert(staticcall aggregator.decimals(), uint256)
    assert decimals <= 36, "pricefeed: bad decimals"
    return decimals


@pure
@internal
def _scale(amount: uint256, decimals: uint256, divisor: uint256) -> uint256:
    # amount / divisor in 18 decimals, scaling before dividing
    if decimals <= 18:
        return amount * 10 ** (18 - decimals) // divisor
    return amount // (divisor * 10 ** (decimals - 18))
