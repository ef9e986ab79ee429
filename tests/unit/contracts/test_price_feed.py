"""Price feed adapter over a Chainlink-style aggregator, with a staleness bound."""

import boa
import pytest

from .conftest import USD_PER_IFX, deployer, warp


def test_scales_8_decimals_to_18(s):
    assert s.feed.price() == USD_PER_IFX


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


@pytest.mark.parametrize("answer", [0, -1])
def test_invalid_price(s, answer):
    s.refresh_price(answer)
    with boa.reverts("pricefeed: invalid price"):
        s.feed.price()


def test_max_age_governance_and_bounds(s):
    with boa.reverts("pricefeed: caller is not governance"):
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
