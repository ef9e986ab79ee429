"""Price feed adapter over a Chainlink-style aggregator: staleness bound, time-weighted average over rounds.

The first tests read the session's adapter (the one the escrow and the issuance use) through the conftest's
aggregator. The time-weighted average tests each deploy their own aggregator and adapter (`fresh`), so that
their expected prices depend on nothing but the rounds they publish: not on the session aggregator's history,
nor on when the session system was deployed relative to the test's clock.
"""

from dataclasses import dataclass

import boa
import pytest

from .conftest import PRICE_8DEC, USD_PER_IFX, deployer, warp


def test_deployed_adapter_reads_the_session_aggregator(s):
    assert s.feed.aggregator() == s.aggregator.address
    assert s.feed.governance() == s.governance
    assert (s.feed.maxAge(), s.feed.twapWindow()) == (86400, 1800)
    assert s.escrow.priceFeed() == s.issuance.priceFeed() == s.feed.address
    assert s.aggregator.decimals() == 8


def test_scales_8_decimals_to_18(s):
    assert s.feed.price() == s.feed.spot() == USD_PER_IFX


def test_refresh_then_warp_makes_the_new_answer_the_price(s):
    """The pattern the other contract tests follow after `s.refresh_price(x)`."""
    s.refresh_price(2 * PRICE_8DEC)
    assert s.feed.spot() == 2 * USD_PER_IFX
    assert s.feed.price() == USD_PER_IFX  # no weight in its own block
    warp(1800)
    assert s.feed.price() == 2 * USD_PER_IFX


@pytest.mark.parametrize("decimals,answer,expected", [(8, 123_456_789, 1_234_567_890_000_000_000), (18, 5, 5), (20, 500, 5)])
def test_scaling(s, decimals, answer, expected):
    agg = deployer("MockAggregator").deploy(decimals, answer)
    feed = deployer("PriceFeedAdapter").deploy(agg.address, s.governance, 3600)
    assert feed.price() == expected


def test_stale_price_blocks(s):
    warp(86400 + 1)
    with boa.reverts("pricefeed: stale price"):
        s.feed.price()
    s.refresh_price()
    assert s.feed.price() == USD_PER_IFX
    warp(86400)
    s.refresh_price(3 * PRICE_8DEC)
    warp(1800)
    assert s.feed.price() == 3 * USD_PER_IFX


@pytest.mark.parametrize("answer", [0, -1])
def test_invalid_price(s, answer):
    s.refresh_price(answer)
    with boa.reverts("pricefeed: invalid price"):
        s.feed.price()


def test_max_age_governance_and_bounds(s):
    with boa.reverts("governed: caller is not governance"):
        s.feed.setMaxAge(600)
    with boa.env.prank(s.governance):
        with boa.reverts("pricefeed: max age out of bounds"):
            s.feed.setMaxAge(59)
        with boa.reverts("pricefeed: max age out of bounds"):
            s.feed.setMaxAge(2 * 86400 + 1)
        s.feed.setMaxAge(600)
    assert s.feed.maxAge() == 600
    warp(601)
    with boa.reverts("pricefeed: stale price"):
        s.feed.price()


def test_constructor_bounds(s):
    with boa.reverts("pricefeed: max age out of bounds"):
        deployer("PriceFeedAdapter").deploy(s.aggregator.address, s.governance, 10)


def test_mock_aggregator_owner_only(s):
    with boa.env.prank(boa.env.generate_address()), boa.reverts("aggregator: caller is not the owner"):
        s.aggregator.setAnswer(1)
    with boa.env.prank(s.admin):
        s.aggregator.setRound(70_000_000, 1)
    with boa.reverts("pricefeed: stale price"):
        s.feed.price()


# ---------------------------------------------------------------- time-weighted average over rounds
WINDOW = 1800  # the default twapWindow
MAX_ROUNDS = 32


def now() -> int:
    return boa.env.evm.patch.timestamp


@dataclass
class Fresh:
    """An aggregator and its adapter deployed by the test itself: round 1 ($0.50) is published now."""

    aggregator: object
    feed: object
    owner: str
    governance: str

    def publish(self, answer: int = PRICE_8DEC) -> None:
        with boa.env.prank(self.owner):
            self.aggregator.setAnswer(answer)

    def set_round(self, answer: int, updated_at: int) -> None:
        with boa.env.prank(self.owner):
            self.aggregator.setRound(answer, updated_at)

    def set_window(self, window: int) -> None:
        with boa.env.prank(self.governance):
            self.feed.setTwapWindow(window)


@pytest.fixture
def fresh(s) -> Fresh:
    owner = boa.env.generate_address("aggregator owner")
    with boa.env.prank(owner):
        aggregator = deployer("MockAggregator").deploy(8, PRICE_8DEC)
    feed = deployer("PriceFeedAdapter").deploy(aggregator.address, s.governance, 86400)
    assert aggregator.latestRoundData() == (1, PRICE_8DEC, now(), now(), 1)
    return Fresh(aggregator, feed, owner, s.governance)


def twap_model(rounds: list[tuple[int, int]], t: int, window: int, max_rounds: int = MAX_ROUNDS) -> int:
    """The adapter's rule in Python, 8-decimal answers: ``rounds`` is every (answer, updatedAt), oldest first."""
    start = max(t - window, 0)
    end, acc, answer = t, 0, None
    for answer, updated in list(reversed(rounds))[:max_rounds]:
        begin = max(min(updated, end), start)
        acc += answer * (end - begin)
        end = begin
        if end == start:
            break
    acc += answer * (end - start)
    return acc * 10**10 // (t - start)


def test_twap_defaults(s):
    assert s.feed.twapWindow() == WINDOW == s.feed.DEFAULT_TWAP_WINDOW()
    assert s.feed.MAX_TWAP_WINDOW() == 86400
    assert s.feed.MAX_ROUNDS() == MAX_ROUNDS


def test_spike_in_the_last_block_barely_moves_the_price(fresh):
    warp(3600)
    fresh.publish()  # $0.50 from here on
    warp(WINDOW - 12)
    fresh.publish(2 * PRICE_8DEC)  # a one-block spike to $1.00
    # in the spike's own block it has not been the answer for any time yet
    assert fresh.feed.price() == USD_PER_IFX
    assert fresh.feed.spot() == 2 * USD_PER_IFX
    warp(12)  # one block later
    expected = (PRICE_8DEC * (WINDOW - 12) + 2 * PRICE_8DEC * 12) * 10**10 // WINDOW
    assert fresh.feed.price() == expected == 503_333_333_333_333_333  # $0.5033, not $1.00
    assert fresh.feed.spot() == 2 * USD_PER_IFX


def test_old_price_then_new_one_weights_by_time(fresh):
    warp(5000)  # round 1 ($0.50) is older than the window: it covers the window up to round 2
    fresh.publish(2 * PRICE_8DEC)  # $1.00
    warp(600)
    # 1200 s at $0.50, 600 s at $1.00
    assert fresh.feed.price() == (PRICE_8DEC * 1200 + 2 * PRICE_8DEC * 600) * 10**10 // WINDOW == 666_666_666_666_666_666
    warp(WINDOW - 600)  # round 2 now fills the whole window
    assert fresh.feed.price() == 2 * USD_PER_IFX
    fresh.publish(PRICE_8DEC // 2)  # $0.25
    warp(900)
    assert fresh.feed.price() == (2 * PRICE_8DEC * 900 + PRICE_8DEC // 2 * 900) * 10**10 // WINDOW == 625_000_000_000_000_000


def test_three_rounds_match_the_model(fresh):
    rounds = [(PRICE_8DEC, now())]
    for gap, answer in [(2500, 80_000_000), (700, 30_000_000), (400, 120_000_000)]:
        warp(gap)
        fresh.publish(answer)
        rounds.append((answer, now()))
    warp(300)
    # window [t-1800, t]: 300 s at $1.20, 400 s at $0.30, 700 s at $0.80, the first 400 s at $0.50
    expected = (120_000_000 * 300 + 30_000_000 * 400 + 80_000_000 * 700 + PRICE_8DEC * 400) * 10**10 // WINDOW
    assert expected == 688_888_888_888_888_888
    assert fresh.feed.price() == twap_model(rounds, now(), WINDOW) == expected


def test_history_runs_out_at_the_first_round(fresh):
    # round 1 is only 200 s old, yet it covers the rest of the window: there is nothing before it
    warp(100)
    fresh.publish(2 * PRICE_8DEC)
    warp(100)
    assert fresh.feed.price() == (PRICE_8DEC * (WINDOW - 100) + 2 * PRICE_8DEC * 100) * 10**10 // WINDOW


def test_window_zero_is_the_spot_price(fresh):
    fresh.set_window(0)
    warp(WINDOW - 12)
    fresh.publish(2 * PRICE_8DEC)
    assert fresh.feed.price() == fresh.feed.spot() == 2 * USD_PER_IFX
    warp(12)
    assert fresh.feed.price() == fresh.feed.spot() == 2 * USD_PER_IFX


def test_twap_window_governance_and_bounds(fresh):
    with boa.reverts("governed: caller is not governance"):
        fresh.feed.setTwapWindow(600)
    with boa.env.prank(fresh.owner), boa.reverts("governed: caller is not governance"):
        fresh.feed.setTwapWindow(600)
    with boa.env.prank(fresh.governance):
        with boa.reverts("pricefeed: twap window out of bounds"):
            fresh.feed.setTwapWindow(86400 + 1)
        fresh.feed.setTwapWindow(86400)
        assert fresh.feed.twapWindow() == 86400
        fresh.feed.setTwapWindow(0)
        assert fresh.feed.twapWindow() == 0
        fresh.feed.setTwapWindow(600)
        logs = fresh.feed.get_logs()
    assert len(logs) == 1 and type(logs[0]).__name__ == "TwapWindowChanged" and logs[0].twapWindow == 600
    assert fresh.feed.twapWindow() == 600
    # the new window is the one used
    warp(5000)
    fresh.publish(2 * PRICE_8DEC)
    warp(300)
    assert fresh.feed.price() == (PRICE_8DEC * 300 + 2 * PRICE_8DEC * 300) * 10**10 // 600


@pytest.mark.parametrize("answer", [0, -1])
def test_invalid_round_inside_the_window_reverts(fresh, answer):
    warp(600)
    fresh.publish(answer)
    warp(60)
    fresh.publish()  # the latest round is valid ...
    warp(60)
    assert fresh.feed.spot() == USD_PER_IFX
    with boa.reverts("pricefeed: invalid price"):  # ... but the window holds a bad one
        fresh.feed.price()
    warp(WINDOW - 60)  # the bad round leaves the window
    assert fresh.feed.price() == USD_PER_IFX


def test_invalid_round_replaced_in_its_own_block_never_counts(fresh):
    warp(600)
    fresh.publish(0)
    fresh.publish()  # the same block: the zero was the latest answer for no time at all
    warp(60)
    assert fresh.feed.price() == USD_PER_IFX


def test_more_than_max_rounds_in_the_window_is_bounded(fresh):
    rounds = [(PRICE_8DEC, now())]
    for k in range(1, 3 * MAX_ROUNDS):
        warp(10)
        answer = PRICE_8DEC + k * 1_000_000
        fresh.publish(answer)
        rounds.append((answer, now()))
    warp(10)
    expected = twap_model(rounds, now(), WINDOW)
    # the latest 32 rounds are read (10 s each); the 32nd covers the rest of the window
    last = [a for a, _ in rounds[-MAX_ROUNDS:]]
    assert expected == (sum(last[1:]) * 10 + last[0] * (WINDOW - 10 * (MAX_ROUNDS - 1))) * 10**10 // WINDOW
    assert expected != twap_model(rounds, now(), WINDOW, max_rounds=len(rounds))  # the bound is what decides
    before = boa.env.get_gas_used()
    assert fresh.feed.price() == expected
    assert boa.env.get_gas_used() - before < 400_000


def test_aggregator_without_round_history(s):
    # a source whose getRoundData always reverts: the latest answer covers the window
    agg = boa.loads("""
@external
@view
def decimals() -> uint8:
    return 8

@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    return 7, 50_000_000, block.timestamp - 10, block.timestamp - 10, 7

@external
@view
def getRoundData(roundId: uint80) -> (uint80, int256, uint256, uint256, uint80):
    raise "no data"
""")
    feed = deployer("PriceFeedAdapter").deploy(agg.address, s.governance, 3600)
    assert feed.price() == USD_PER_IFX


def test_unfinished_previous_round_ends_the_history(fresh):
    warp(5000)
    fresh.set_round(10 * PRICE_8DEC, 0)  # round 2: never finished (updatedAt 0)
    fresh.publish(2 * PRICE_8DEC)  # round 3
    warp(600)
    # round 3 covers its 600 s, then history stops at round 2: round 3 covers the rest too
    assert fresh.feed.price() == 2 * USD_PER_IFX


def test_spot_checks(fresh):
    assert fresh.feed.spot() == USD_PER_IFX
    fresh.publish(0)
    with boa.reverts("pricefeed: invalid price"):
        fresh.feed.spot()
    fresh.publish(3 * PRICE_8DEC)
    assert fresh.feed.spot() == 3 * USD_PER_IFX
    warp(86400 + 1)
    with boa.reverts("pricefeed: stale price"):
        fresh.feed.spot()
    with boa.reverts("pricefeed: stale price"):
        fresh.feed.price()


def test_mock_aggregator_round_history(fresh):
    first = now()
    warp(60)
    fresh.publish(2 * PRICE_8DEC)
    assert fresh.aggregator.latestRoundData() == (2, 2 * PRICE_8DEC, first + 60, first + 60, 2)
    assert fresh.aggregator.getRoundData(1) == (1, PRICE_8DEC, first, first, 1)
    assert fresh.aggregator.getRoundData(2) == fresh.aggregator.latestRoundData()
    for missing in (0, 3):
        with boa.reverts("aggregator: no data"):
            fresh.aggregator.getRoundData(missing)
