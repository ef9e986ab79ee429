"""A shortened `make demo`: the same script, every process and check, on a 2-frame tiny scene."""

from __future__ import annotations

import subprocess
import sys

from inferix.testing.devnet import ROOT


def test_short_demo_passes_its_own_checks(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "scripts.demo", "--out", str(out), "--frames", "2",
                             "--width", "192", "--height", "108", "--samples", "8"],
                            cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "DEMO PASSED" in result.stdout
    report = (out / "report.html").read_text()
    assert "frame_0001.png" in report and "frame_0002.png" in report
    assert (out / "noise_regions.png").exists()
    summary = (out / "summary.md").read_text()
    assert "worker-cheater" in summary and "failed" in summary
