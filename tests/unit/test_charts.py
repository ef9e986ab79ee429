"""The demo report's inline SVG charts (scripts/charts.py): well-formed XML with a text alternative, bars as tall
as their values, segments as long as their phases, and no division by zero on empty data or zeros."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scripts.charts import bar_chart, nice_ticks, tick_label, timeline

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything not well-formed
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    title = root.find("svg:title", NS)
    assert title is not None and title.text and root.get("aria-labelledby") == title.get("id")
    assert root.find("svg:desc", NS) is not None and root.get("aria-describedby") == root.find("svg:desc", NS).get("id")
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]


def segments(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "segment"]


def test_bar_heights_are_proportional_to_the_values():
    values = [[120.5, 96.4, 40.0], [10.0, 0.0, 7.25]]
    root = parse(bar_chart("c", "Fees", ["epoch 0", "epoch 1"], ["fees", "burned", "minted"], values, unit="IFX"))
    drawn = bars(root)
    assert len(drawn) == 6
    scale = float(drawn[0].get("height")) / values[0][0]  # one scale for every bar (coordinates to 0.01)
    for rect in drawn:
        value = values[int(rect.get("data-group"))][int(rect.get("data-series"))]
        assert float(rect.get("data-value")) == value
        assert float(rect.get("height")) == pytest.approx(value * scale, abs=0.01)
    assert float(drawn[5].get("height")) > 0 and float(drawn[4].get("height")) == 0
    # the tallest bar reaches at most the axis's top, and bars of the same value share a baseline
    baselines = {round(float(r.get("y")) + float(r.get("height")), 2) for r in drawn}
    assert len(baselines) == 1
    # one colour per series, named in the legend; every number in the text alternative
    assert len({r.get("fill") for r in drawn}) == 3
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert all(name in text for name in ("fees", "burned", "minted", "epoch 0", "epoch 1", "IFX"))
    desc = root.find("svg:desc", NS).text
    assert "120.50" in desc and "7.25" in desc


@pytest.mark.parametrize("groups, series, values", [
    ([], [], []),  # no data at all
    (["epoch 0"], [], [[]]),  # no series
    (["epoch 0", "epoch 1"], ["fees", "burned"], [[0, 0], [0, 0]]),  # only zeros: the axis still has a top
])
def test_bar_chart_handles_empty_data_and_zeros(groups, series, values):
    root = parse(bar_chart("c", "Fees", groups, series, values))
    assert all(float(r.get("height")) == 0 for r in bars(root))
    assert len(bars(root)) == len(groups) * len(series)


def test_labels_are_escaped():
    parse(bar_chart("c", "<fees> & \"burns\"", ["a <b> & c"], ["x & y"], [[1]], unit="<IFX>"))
    parse(timeline("t", "a & b", [("<row>", [("p & q", 1, 2)], "failed <&>")], ["p & q"]))


def test_timeline_segments_are_as_long_as_their_phases():
    rows = [("frames 1-2 #0 (worker-cheater)", [("rendering", 10, 14), ("verifying", 14, 30)], "failed"),
            ("frames 1-2 #1 (worker-3)", [("rendering", 40, 48), ("verifying", 48, 60), ("challenge", 60, 61)],
             "passed")]
    root = parse(timeline("t", "Timeline", rows, ["rendering", "verifying", "challenge"], axis_label="block"))
    drawn = segments(root)
    assert len(drawn) == 5
    scale = float(drawn[0].get("width")) / 4  # one scale for every segment (coordinates to 0.01)
    for r in drawn:
        assert float(r.get("width")) == pytest.approx((float(r.get("data-end")) - float(r.get("data-start"))) * scale,
                                                      abs=0.01)
    # a segment starts where the previous one of its row ends, in its phase's colour
    by_phase = {}
    for r in drawn:
        by_phase.setdefault(r.get("data-phase"), set()).add(r.get("fill"))
    assert all(len(c) == 1 for c in by_phase.values()) and len({c.pop() for c in by_phase.values()}) == 3
    x = {(r.get("data-start"), r.get("data-end")): float(r.get("x")) for r in drawn}
    assert x[("14", "30")] == pytest.approx(x[("10", "14")] + 4 * scale, abs=0.02)
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "failed" in text and "passed" in text and "frames 1-2 #1 (worker-3)" in text and "block" in text


@pytest.mark.parametrize("rows", [
    [],  # no rows
    [("a", [], "")],  # a row with no segment
    [("a", [("rendering", 5, 5)], "settled")],  # every point the same: a zero span
    [("a", [("rendering", 0, 0), ("verifying", 0, 0)], "")],
])
def test_timeline_handles_empty_data_and_zero_spans(rows):
    root = parse(timeline("t", "Timeline", rows, ["rendering", "verifying"]))
    assert all(float(r.get("width")) >= 1 for r in segments(root))  # a phase within one block still shows


def test_nice_ticks():
    assert nice_ticks(0) == (1.0, 0.2) and nice_ticks(-3) == (1.0, 0.2)
    assert nice_ticks(7) == (8, 2)
    assert nice_ticks(100) == (100, 20)
    top, step = nice_ticks(123_456)
    assert top >= 123_456 and step == 25_000
    assert tick_label(0.5, 0.25) == "0.50" and tick_label(20_000, 5_000) == "20,000"
