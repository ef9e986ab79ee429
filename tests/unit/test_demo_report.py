"""The demo's report (scripts/demo_report.write_report) on made-up facts: real HTML (well-formed, so xml.etree reads
it whole) with semantic tables, the two inline SVG charts with their numbers also in tables, the web app's link, no
external resource; summary.md as before. And ``scripts.demo --keep`` (make demo KEEP=1) at the unit level: the
option, and the hold that ends on Ctrl-C."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from inferix.protocol import IFX
from scripts.demo_report import PHASES, phases, timeline_rows, write_report

SVG = "{http://www.w3.org/2000/svg}"
CHEATER, HONEST, ORACLE = "0x" + "cc" * 20, "0x" + "33" * 20, "0x" + "66" * 20
BATCH1, BATCH2 = "ab" * 32, "cd" * 32


def attempt(batch: str, worker: str, passed: bool, result: str) -> dict:
    return {"batch": batch, "seed": "00" * 32, "index": 0, "worker": worker, "group": 0, "fee": 2 * IFX, "ibm": 1,
            "frames": (1, 2), "package": "bafypackage" + batch[:8], "digest": "11" * 32, "result": result,
            "decided": True, "pass_bit": passed, "passed": passed}


def batch(batch_id: str, worker: str, passed: bool, first_block: int) -> dict:
    return {"id": batch_id, "count": 1, "stage": 3, "posted_block": first_block, "seed": "00" * 32,
            "tasks": [], "workers": [worker], "committee": [ORACLE], "round": 7, "pass_bits": int(passed),
            "decided_bits": 1, "revealed": 1, "votes": [int(passed)],
            "settlement": {"passed": int(passed), "failed": int(not passed), "burned": 0, "toTreasury": 0,
                           "refund": 0},
            "slashes": [] if passed else [(worker, 500 * IFX)], "gas": {"postBatch": [200_000]}, "gas_total": 200_000,
            "blocks": {"posted": first_block, "results": {0: first_block + 4}, "revealed": first_block + 6,
                       "verified": first_block + 15, "settled": first_block + 16}}


@pytest.fixture
def facts() -> dict:
    return {
        "job_id": 7, "api": "http://127.0.0.1:8123", "noise_frame": None,
        "labels": {CHEATER: "worker-cheater", HONEST: "worker-3", ORACLE: "oracle-6"},
        "batches": [batch(BATCH1, CHEATER, False, 100), batch(BATCH2, HONEST, True, 130)],
        "tasks": [{"frames": (1, 2), "attempts": [attempt(BATCH1, CHEATER, False, "bafyforged"),
                                                  attempt(BATCH2, HONEST, True, "bafyresult")]}],
        "benchmarks": [{"id": 3, "worker": HONEST, "state": "SETTLED", "fee": IFX, "burned": IFX * 8 // 10,
                        "slashed": 0, "ib": 2_500_000,
                        "blocks": {"posted": 90, "accepted": 95, "submitted": 99, "revealed": 101, "verified": 110,
                                   "settled": 112}},
                       {"id": 4, "worker": CHEATER, "state": "FAILED", "fee": IFX, "burned": 0, "slashed": 100 * IFX,
                        "ib": 0, "blocks": {"posted": 91, "accepted": 92, "submitted": 93, "revealed": None,
                                            "verified": 104, "settled": 120}}],
        "gas": {"lane: postBatch": {"gas": [200_000, 210_000], "tasks": 2}, "closeEpoch": {"gas": [90_000],
                                                                                          "tasks": None}},
        "record": {CHEATER: (1, 0), HONEST: (0, 1)},
        "claimed": {"worker-3": 5 * IFX, "oracle-6": IFX, "manager": IFX // 2},
        "fees": 2 * IFX, "burned": 2 * IFX * 8 // 10, "to_treasury": 2 * IFX * 2 // 10,
        "burned_epoch": 24 * IFX // 10, "minted": 2 * IFX,
        "epochs": [{"epoch": 0, "fees": 3 * IFX, "burned": 24 * IFX // 10, "minted": 2 * IFX}],
        "balances": {"JobEscrow": 10 * IFX, "Staking": 20_000 * IFX},
        "downloaded": {"sources": {"the SDK": 2}, "result_cids": ["bafyresult"]},
        "governance": {"id_short": "0x1234567890…", "description": "E_p to 12 IFX per verified IBM", "state": "executed",
                       "for": 900 * IFX, "against": 10 * IFX, "quorum": 100 * IFX, "delay": 14 * 86400,
                       "before": 10 * IFX, "after": 12 * IFX, "votes": [("worker-3", "for", 900 * IFX)]},
        "stages": [("start", 0.0), ("chain up", 12.5), ("job settled", 80.25)],
    }


class Tags(HTMLParser):
    """Every start tag with its attributes, and the external resources referred to."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


def report(facts: dict, tmp_path, files=()) -> tuple[str, ET.Element, Tags]:
    write_report(facts, tmp_path, list(files))
    page = (tmp_path / "report.html").read_text()
    tags = Tags()
    tags.feed(page)
    return page, ET.fromstring(page), tags


def test_the_report_is_html_with_semantic_tables_and_two_charts(facts, tmp_path):
    frames = [tmp_path / "frames" / "frame_0001.png", tmp_path / "frames" / "frame_0002.png"]
    page, root, tags = report(facts, tmp_path, frames)
    assert page.startswith("<!DOCTYPE html>") and root.tag == "html" and root.get("lang") == "en"
    assert any(m.get("name") == "viewport" for m in tags.named("meta"))
    assert root.find("head/style") is not None  # inline: no external stylesheet, script or font
    assert not tags.named("script") and not tags.named("link")
    assert all(not a.get("src", "").startswith(("http:", "https:", "//")) for _, a in tags.tags)
    # tables: each with a caption, column headers and row headers
    tables = list(root.iter("table"))
    assert len(tables) >= 10
    for table in tables:
        assert table.find("caption") is not None and table.find("caption").text
        assert {th.get("scope") for th in table.iter("th")} <= {"col", "row"}
        assert table.find("thead/tr/th").get("scope") == "col"
    captions = {t.find("caption").text for t in tables}
    assert "Job 7: tasks (one attempt per batch; a failed task is noised afresh into a new batch)" in captions
    assert any(c.startswith("Governance: proposal 0x1234567890… \"E_p to 12 IFX per verified IBM\" — executed")
               for c in captions)
    # two charts, inline SVG with a title and description, their numbers also in a table
    charts = {svg.get("id"): svg for svg in root.iter(f"{SVG}svg")}
    assert set(charts) == {"chart-epochs", "chart-timeline"}
    for svg in charts.values():
        assert svg.get("role") == "img" and svg.find(f"{SVG}title").text and svg.find(f"{SVG}desc").text
    bars = [r for r in charts["chart-epochs"].iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert [float(b.get("data-value")) for b in bars] == [3.0, 2.4, 2.0]  # fees, burned, minted of epoch 0
    epochs = root.find(".//table[@id='table-epochs']")
    assert [td.text for td in epochs.find("tbody/tr")] == ["epoch 0", "3.000000", "2.400000", "2.000000", "83.3 %"]
    segments = [r for r in charts["chart-timeline"].iter(f"{SVG}rect") if r.get("class") == "segment"]
    # the cheater's attempt (batch posted at 100): rendering 100-104, awaiting the reveal 104-106, verifying
    # 106-115, the challenge window 115-116; the honest one's likewise from 130; the benchmarks from their posts
    spans = [(s.get("data-phase"), float(s.get("data-start")), float(s.get("data-end"))) for s in segments]
    assert spans[:5] == [(PHASES["posted"], 90, 95), (PHASES["accepted"], 95, 99), (PHASES["submitted"], 99, 101),
                         (PHASES["revealed"], 101, 110), (PHASES["verified"], 110, 112)]
    assert (PHASES["accepted"], 100, 104) in spans and (PHASES["verified"], 145, 146) in spans
    timeline = root.find(".//table[@id='table-timeline']")
    assert len(timeline.findall("tbody/tr")) == 4  # two attempts, two benchmarks
    # frames, and the links to the web app and the API
    assert [a["src"] for a in tags.named("img")] == ["frames/frame_0001.png", "frames/frame_0002.png"]
    hrefs = [a.get("href") for a in tags.named("a")]
    assert "http://127.0.0.1:8123/app/" in hrefs and "http://127.0.0.1:8123/docs" in hrefs
    # the summary (stdout and summary.md) is the markdown it was
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("Job 7: batches (bitmaps: task 0 first;")
    assert "Governance: proposal" in summary and "E_p 10.000000 -> 12.000000 IFX per IBM" in summary
    assert "| 0x" in summary and "worker-cheater" in summary and "| chain up | 12.5 |" in summary


def test_the_report_without_timings_epochs_or_governance(facts, tmp_path):
    """Facts from before the report drew charts (no blocks, no epochs) still give a valid page."""
    for b in facts["batches"]:
        del b["blocks"]
    for b in facts["benchmarks"]:
        del b["blocks"]
    del facts["epochs"], facts["governance"]
    facts["api"] = ""
    _, root, tags = report(facts, tmp_path)
    assert len(list(root.iter(f"{SVG}svg"))) == 2
    assert not [a for a in tags.named("a") if "/app/" in a.get("href", "")]


def test_phases():
    marks = {"posted": 10, "accepted": 12, "submitted": 20, "revealed": None, "verified": 30, "settled": 31}
    assert phases(marks) == [(PHASES["posted"], 10, 12), (PHASES["accepted"], 12, 20), (PHASES["submitted"], 20, 30),
                             (PHASES["verified"], 30, 31)]
    # a batch's task: its worker signed before the post, so it renders from it
    assert phases({"posted": 10, "submitted": 14}, signed=True) == [(PHASES["accepted"], 10, 14)]
    assert phases({}) == [] and phases({"posted": 3}) == []


def test_timeline_rows_follow_the_posts(facts):
    rows = timeline_rows(facts, lambda a: facts["labels"][a])
    assert [r["label"] for r in rows] == ["benchmark 3", "benchmark 4", "frames 1-2 #0", "frames 1-2 #1"]
    assert rows[2]["marks"]["submitted"] == 104 and rows[2]["outcome"] == "failed" and rows[2]["batch"]


def test_keep_option():
    from scripts.demo import parse_args

    assert parse_args([]).keep is False
    assert parse_args(["--keep", "--frames", "2"]).keep is True


def test_keep_up_holds_until_interrupted(capsys):
    """The hold prints where everything is and returns on Ctrl-C (SIGTERM is turned into one); a process that exits
    meanwhile is reported once."""
    from types import SimpleNamespace

    from scripts.demo import keep_up

    dead = SimpleNamespace(alive=lambda: False, returncode=1, log_path="out/logs/oracle-6.log")
    net = SimpleNamespace(api_url="http://127.0.0.1:8123", anvil=SimpleNamespace(url="http://127.0.0.1:8545"),
                          processes={"manager": SimpleNamespace(alive=lambda: True), "oracle-6": dead})
    ticks = []

    def sleep(seconds):
        ticks.append(seconds)
        if len(ticks) == 3:
            raise KeyboardInterrupt

    keep_up(net, sleep=sleep)
    out = capsys.readouterr()
    assert ("stack up: app at http://127.0.0.1:8123/app/, API at http://127.0.0.1:8123, chain RPC at "
            "http://127.0.0.1:8545; Ctrl-C to stop") in out.out
    assert out.err.count("oracle-6 exited with 1") == 1
    assert len(ticks) == 3
