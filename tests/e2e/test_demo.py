"""A shortened `make demo`: the same script, every process and check, on a 2-frame tiny scene."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

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
    # the web app's and the API's URLs printed at the end
    api = re.search(r"^API: (http://127\.0\.0\.1:\d+)$", result.stdout, re.M)
    assert api and f"web app: {api[1]}/app/" in result.stdout
    report = (out / "report.html").read_text()
    check_html_report(report, api[1])
    assert "frame_0001.png" in report and "frame_0002.png" in report
    assert (out / "noise_regions.png").exists() and (out / "footprint.png").exists()
    assert "footprint.png" in report
    summary = (out / "summary.md").read_text()
    assert "worker-cheater" in summary and "failed" in summary
    # one governance proposal went through the Governor and the timelock: E_p changed from 10 to 12 IFX per IBM
    assert "Governance: proposal" in summary and "executed" in summary and "E_p 10.000000 -> 12.000000 IFX per IBM" in summary


SVG = "{http://www.w3.org/2000/svg}"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def check_html_report(report: str, api: str) -> None:
    """report.html is HTML (read by html.parser, and whole by xml.etree: it is well-formed) with semantic tables and
    the two inline SVG charts (fees, burned and minted per epoch; the timeline of the job's tasks and the
    benchmarks), no external resource, and links to the web app the manager serves."""
    tags = Tags()
    tags.feed(report)
    names = [t for t, _ in tags.tags]
    assert report.startswith("<!DOCTYPE html>") and names.count("table") >= 10
    assert names.count("caption") == names.count("table") and "script" not in names and "link" not in names
    assert {a.get("scope") for t, a in tags.tags if t == "th"} == {"col", "row"}
    assert any(t == "a" and a.get("href") == f"{api}/app/" for t, a in tags.tags)
    root = ET.fromstring(report)
    charts = {svg.get("id"): svg for svg in root.iter(f"{SVG}svg")}
    assert {"chart-epochs", "chart-timeline"} <= set(charts)
    for svg in charts.values():
        assert svg.get("role") == "img" and svg.find(f"{SVG}title").text and svg.find(f"{SVG}desc").text
    # the epoch's fees, burns and mint: bars of the values in the table beside them, none of them zero
    bars = [float(r.get("data-value")) for r in charts["chart-epochs"].iter(f"{SVG}rect") if r.get("class") == "bar"]
    epochs = root.find(".//table[@id='table-epochs']/tbody")
    table = [float(td.text.replace(",", "")) for tr in epochs for td in list(tr)[1:4]]
    assert bars and all(v > 0 for v in bars[-3:]) and bars == pytest.approx(table, abs=1e-6)
    # the timeline: a row per attempt of the task (the cheater's, then the honest one's) and per benchmark (3), each
    # with its phases, the job's last one ending settled
    rows = charts["chart-timeline"].findall(f"{SVG}g[@class='row']")
    timeline = root.find(".//table[@id='table-timeline']/tbody")
    assert len(rows) == len(timeline) >= 5
    assert all(len([r for r in row if r.get("class") == "segment"]) >= 3 for row in rows)
    attempts = [tr for tr in timeline if tr[0].text.startswith("frames")]
    assert len(attempts) >= 2 and attempts[0][1].text == "worker-cheater" and attempts[0][-1].text == "failed"
    assert attempts[-1][-1].text == "passed" and attempts[-1][-2].text != "-"  # settled, in a block
