"""inferix.timing: each kind counts its own time (a nested span is its own kind's, not its parent's), counts added
from elsewhere, and the totals written under INFERIX_TIMINGS_DIR for a benchmark to read."""

from __future__ import annotations

import os
import time

from inferix import timing


def test_nested_spans_count_once_and_flush_writes_the_totals(tmp_path, monkeypatch):
    before = timing.snapshot()
    with timing.timed("test outer"):
        time.sleep(0.02)
        with timing.timed("test inner"):
            time.sleep(0.05)
    timing.count("test cpu", 1.5)
    after = timing.snapshot()

    def added(kind: str) -> tuple[float, int]:
        old = before.get(kind, {"seconds": 0.0, "calls": 0})
        return after[kind]["seconds"] - old["seconds"], after[kind]["calls"] - old["calls"]

    outer, inner = added("test outer"), added("test inner")
    assert inner[1] == outer[1] == 1
    assert 0.05 <= inner[0] < 0.2
    assert 0.02 <= outer[0] < 0.05  # the inner span is not counted again in the outer one
    assert added("test cpu") == (1.5, 1)

    timing.flush()  # unset: writes nothing
    monkeypatch.setenv(timing.ENV, str(tmp_path))
    timing.flush(force=True)
    (entry,) = timing.read_dir(tmp_path)
    assert entry["pid"] == os.getpid() and entry["kinds"]["test cpu"]["seconds"] >= 1.5
