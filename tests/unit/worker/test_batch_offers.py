"""The worker's decision on a batch offer (worker/batches.py, docs/protocol.md "Batches in the services"): it signs
only a group that is all its own, pays at least its price at the job's locked rate, fits the render window with the
safety factor, can still be posted, fits its capacity and its free stake; a malformed offer is skipped with a
reason. Each refusal is shown against an offer that is accepted when only that one thing is changed."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from inferix import batches as B
from inferix.protocol import IBM, IFX, USD, JobView
from worker.batches import (ACCEPT_BY_PASSED, ACCEPT_BY_TOO_FAR, BELOW_MIN_STAKE, FEE_BELOW_PRICE, FOREIGN_LEAF,
                            FREE_STAKE, NO_JOB, OVER_CAPACITY, PRICE_ABOVE_MAX, WINDOW_TOO_SHORT, Standing,
                            collateral, manager_urls, min_fee, parse_offers, refusal)

ME = Account.create().address
OTHER = Account.create().address
RATE = 2 * USD  # the job's locked rate: 2 USD per IFX
PRICE = USD // 2  # our price: 0.5 USD per IBM
NOW = 1_000_000


def leaf(worker: str, ibm: int = 10 * IBM, fee: int | None = None, n: int = 0) -> B.Leaf:
    fee = min_fee(ibm, PRICE, RATE) if fee is None else fee
    return B.Leaf(worker, ibm, fee, bytes([n + 1]) * 32, 1 + 10 * n, 10 + 10 * n, f"bafypackage{n}")


def offer(leaves=None, group: int = 1, render_window: int = 3600, accept_by: int = NOW + 60) -> B.Offer:
    # a batch of two groups: another worker's first, ours second
    leaves = leaves or [leaf(OTHER, n=0), leaf(ME, n=1), leaf(ME, n=2)]
    return B.Offer(b"\x07" * 32, 3, group, render_window, accept_by, tuple(leaves))


JOB = JobView(job_id=3, creator=OTHER, manager=OTHER, budget=1000 * IFX, usd_per_ifx=RATE, max_price_per_ibm=USD,
              open_tasks=0, closed=False, benchmark=False)
STANDING = Standing(now=NOW, price_per_ibm=PRICE, minutes_per_ibm=1.0, safety=2.0, bonded=1000 * IFX,
                    locked=0, min_stake=500 * IFX, collateral_bps=20_000, in_flight=0, max_batches=1,
                    max_accept_wait=3600)


def test_a_fair_offer_is_signed():
    assert refusal(offer(), ME, JOB, STANDING) is None
    # the fee is the worker's price at the job's rate: 10 IBM × 0.5 USD / 2 USD per IFX = 2.5 IFX, rounded down
    assert min_fee(10 * IBM, PRICE, RATE) == 25 * IFX // 10


def test_a_group_with_a_foreign_leaf_is_refused():
    assert refusal(offer(group=0), ME, JOB, STANDING) == FOREIGN_LEAF  # another worker's group
    # our address, but a group is a run of one worker's leaves: an offer naming someone else's group as ours
    stolen = offer([leaf(OTHER, n=0), leaf(OTHER, n=1)], group=0)
    assert refusal(stolen, ME, JOB, STANDING) == FOREIGN_LEAF


def test_a_fee_below_our_price_is_refused_and_equality_is_accepted():
    exact = min_fee(10 * IBM, PRICE, RATE)
    assert refusal(offer([leaf(OTHER), leaf(ME, fee=exact, n=1), leaf(ME, fee=exact, n=2)]), ME, JOB,
                   STANDING) is None
    cheap = offer([leaf(OTHER), leaf(ME, fee=exact, n=1), leaf(ME, fee=exact - 1, n=2)])  # one wei short, one leaf
    assert refusal(cheap, ME, JOB, STANDING) == FEE_BELOW_PRICE
    # the rate is the job's: at a cheaper IFX the same fee no longer covers our USD price
    assert refusal(offer(), ME, dataclasses.replace(JOB, usd_per_ifx=RATE // 2), STANDING) == FEE_BELOW_PRICE


def test_our_price_above_the_jobs_maximum_is_refused():
    assert refusal(offer(), ME, dataclasses.replace(JOB, max_price_per_ibm=PRICE - 1), STANDING) == PRICE_ABOVE_MAX


def test_a_render_window_too_short_is_refused():
    # our group: 20 IBM at 1 minute per IBM = 1,200 s, × 2 safety = 2,400 s
    assert refusal(offer(render_window=2400), ME, JOB, STANDING) is None
    assert refusal(offer(render_window=2399), ME, JOB, STANDING) == WINDOW_TOO_SHORT
    slow = dataclasses.replace(STANDING, minutes_per_ibm=1.5)
    assert refusal(offer(render_window=3000), ME, JOB, slow) == WINDOW_TOO_SHORT


def test_an_accept_by_in_the_past_or_now_is_refused():
    assert refusal(offer(accept_by=NOW - 1), ME, JOB, STANDING) == ACCEPT_BY_PASSED
    assert refusal(offer(accept_by=NOW), ME, JOB, STANDING) == ACCEPT_BY_PASSED
    assert refusal(offer(accept_by=NOW + 1), ME, JOB, STANDING) is None


def test_an_accept_by_holding_our_capacity_too_long_is_refused():
    assert refusal(offer(accept_by=NOW + 3601), ME, JOB, STANDING) == ACCEPT_BY_TOO_FAR


def test_over_capacity_is_refused():
    assert refusal(offer(), ME, JOB, dataclasses.replace(STANDING, in_flight=1)) == OVER_CAPACITY
    assert refusal(offer(), ME, JOB, dataclasses.replace(STANDING, in_flight=1, max_batches=2)) is None


def test_insufficient_free_stake_is_refused():
    need = collateral(offer(), STANDING.collateral_bps)
    assert need == 2 * 2 * (25 * IFX // 10)  # collateralBps (200 %) of both our fees
    free = dataclasses.replace(STANDING, locked=STANDING.bonded - need)
    assert refusal(offer(), ME, JOB, free) is None
    assert refusal(offer(), ME, JOB, dataclasses.replace(free, locked=free.locked + 1)) == FREE_STAKE
    # collateral pledged to an offer signed but not posted yet counts as locked (the caller adds it)


def test_below_the_minimum_stake_is_refused():
    assert refusal(offer(), ME, JOB, dataclasses.replace(STANDING, min_stake=STANDING.bonded + 1)) == BELOW_MIN_STAKE


@pytest.mark.parametrize("change", [{"benchmark": True}, {"closed": True}, {"usd_per_ifx": 0},
                                    {"manager": "0x" + "00" * 20}])
def test_a_job_not_open_to_the_lane_is_refused(change):
    assert refusal(offer(), ME, dataclasses.replace(JOB, **change), STANDING) == NO_JOB


def test_malformed_offers_are_skipped_with_a_reason_and_good_ones_kept():
    good = offer().to_json()
    bad_leaf = {**good, "leaves": [{**good["leaves"][0], "fee": "-1"}, *good["leaves"][1:]]}
    split = {**good, "leaves": [good["leaves"][1], good["leaves"][0], good["leaves"][2]]}  # our leaves not consecutive
    offers, errors = parse_offers({"offers": [good, {"batch_id": "0x12"}, bad_leaf, split, {**good, "group": 5},
                                              "not an offer", {**good, "batch_id": "0x" + "ab" * 16}]})
    assert offers == [offer()]
    assert [e.split(":")[0] for e in errors] == [f"offer {k}" for k in range(1, 7)]
    assert "not consecutive" in errors[2] and "no such group" in errors[3] and "32 bytes" in errors[5]
    assert parse_offers([good]) == ([], ['the answer is not {"offers": [...]}'])
    assert parse_offers({"offers": "x"})[0] == []


def test_manager_urls_from_the_options_or_the_environment():
    assert manager_urls(("http://a:1/", "http://b:2"), "http://ignored") == ("http://a:1", "http://b:2")
    assert manager_urls((), " http://a:1, http://b:2 ,,http://a:1") == ("http://a:1", "http://b:2")
    assert manager_urls((), None) == ()
    with pytest.raises(ValueError):
        manager_urls(("ftp://a",), None)
