"""A shortened `make demo`: the same script, every process and check, on a 2-frame tiny scene."""

from __future__ import annotations

import os
import subprocess
import sys

from inferix.testing.devnet import ROOT

# The manager's benchmark task for each of the 3 workers at the job's own tiny size instead of the default 320x180
# at 32 samples (backend/settings.py): each benchmark's preparation ~25 → ~7 s, its render ~12 → ~2.5 s on 2 cores.
# The checks (one benchmark per worker; the honest ones settled with an IB, the cheater's failed and slashed) hold
# at any size.
TINY_BENCHMARKS = {"INFERIX_BENCHMARK_WIDTH": "192", "INFERIX_BENCHMARK_HEIGHT": "108",
                   "INFERIX_BENCHMARK_SAMPLES": "8"}


def test_short_demo_passes_its_own_checks(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "scripts.demo", "--out", str(out), "--frames", "2",
                             "--width", "192", "--height", "108", "--samples", "8",
                             "--deadline", "600"],
                            cwd=ROOT, env={**os.environ, **TINY_BENCHMARKS}, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-20000:]
    assert "DEMO PASSED" in result.stdout
    report = (out / "report.html").read_text()
    assert "frame_0001.png" in report and "frame_0002.png" in report
    assert (out / "noise_regions.png").exists() and (out / "footprint.png").exists()
    assert "footprint.png" in report
    summary = (out / "summary.md").read_text()
    assert "worker-cheater" in summary and "failed" in summary
    # one governance proposal went through the Governor and the timelock: E_p changed from 10 to 12 IFX per IBM
    assert "Governance: proposal" in summary and "executed" in summary and "E_p 10.000000 -> 12.000000 IFX per IBM" in summary
