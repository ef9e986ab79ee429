# pragma version ~=0.4.3
"""
@title Mock IFX/USD aggregator for local networks (MOCK)
@custom:contract-name MockAggregator
@license MIT
@notice Stands in for a Chainlink price feed on local chains, where the
        real one cannot exist. Same read interface (`decimals`,
        `latestRoundData`, `getRoundData`); its owner sets the answer, and
        every answer is kept as a round so that `PriceFeedAdapter` can average
        over them. Never deploy it on a public network: point
        `PriceFeedAdapter` at the real feed instead.
"""

from ..interfaces import IAggregatorV3
implements: IAggregatorV3

struct Round:
    answer: int256
    updatedAt: uint256

decimals: public(uint8)
owner: public(address)
roundId: uint80
rounds: HashMap[uint80, Round]

event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256


@deploy
def __init__(decimals_: uint8, answer_: int256):
    """
    @param decimals_ Decimals of the answer (Chainlink USD feeds use 8).
    @param answer_ The initial answer (round 1).
    """
    self.decimals = decimals_
    self.owner = msg.sender
    self._set(answer_, block.timestamp)


@external
def setAnswer(answer_: int256):
    """
    @dev Publishes a new round with the current timestamp.
    @param answer_ The new answer.
    """
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer_, block.timestamp)


@external
def setRound(answer_: int256, updatedAt_: uint256):
    """
    @dev Publishes a round with an explicit timestamp (to test staleness).
    @param answer_ The new answer.
    @param updatedAt_ The round's update time.
    """
    assert msg.sender == self.owner, "aggregator: caller is not the owner"
    self._set(answer_, updatedAt_)


@view
@external
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev Chainlink's `latestRoundData`.
    @return The round id, answer, start time, update time, answered-in round.
    """
    return self._round(self.roundId)


@view
@external
def getRoundData(roundId_: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev Chainlink's `getRoundData`: a past (or the latest) round; reverts
         for a round that was never published, as Chainlink does.
    @param roundId_ The round id (1 for the first round).
    @return The round id, answer, start time, update time, answered-in round.
    """
    assert roundId_ != 0 and roundId_ <= self.roundId, "aggregator: no data"
    return self._round(roundId_)


@view
@internal
def _round(roundId_: uint80) -> (uint80, int256, uint256, uint256, uint80):
    r: Round = self.rounds[roundId_]
    return roundId_, r.answer, r.updatedAt, r.updatedAt, roundId_


@internal
def _set(answer_: int256, updatedAt_: uint256):
    roundId: uint80 = self.roundId + 1
    self.roundId = roundId
    self.rounds[roundId] = Round(answer=answer_, updatedAt=updatedAt_)
    log AnswerUpdated(current=answer_, roundId=convert(roundId, uint256), updatedAt=updatedAt_)
