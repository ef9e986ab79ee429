"""Quotes: the work ``W_t`` of each task in IBM from a low-settings reference render of a sample of frames,
priced at what the available workers ask.

How the standard node's time is obtained: the manager's machine is calibrated once as ``manager_ib``
(its IB, default 1.0 = the standard node). A reference frame rendered here at ``1/4`` of the ordered
resolution and ``min(8, samples)`` samples is scaled to the ordered settings by pixel count × samples
(Cycles' cost is close to linear in both), and converted to standard-node minutes by ``× manager_ib``.
The sample is ``max(1, ceil(1 %))`` of the frames, evenly spaced (the whitepaper's frame sampling).
"""

from __future__ import annotations

import json

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from inferix.chain import Chain
from inferix.protocol import IBM, ROLE_WORKER, get_node, task_ifx

if TYPE_CHECKING:
    from backend.db import Connection

LOW_SCALE = 4
LOW_SAMPLES = 8
MIN_TASK_IBM = 1_000  # 0.001 IBM


@dataclass
class TaskQuote:
    frame_start: int
    frame_end: int
    ibm: int  # micro-IBM


@dataclass
class Quote:
    scene_cid: str
    frame_start: int
    frame_end: int
    width: int
    height: int
    samples: int
    denoise: bool
    frames_per_task: int
    sampled_frames: list[int]
    seconds_per_frame_low: float
    ibm_per_frame: float
    tasks: list[TaskQuote] = field(default_factory=list)
    price_per_ibm: int = 0  # USD, 18 decimals: the median asked by active workers
    max_price_per_ibm: int = 0  # suggested job maximum: the highest asked
    usd_per_ifx: int = 0
    total_ibm: int = 0
    total_usd: int = 0
    total_ifx: int = 0
    budget_ifx: int = 0  # what the escrow reserves at the maximum price: the budget to lock
    workers: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def sample_frames(first: int, last: int) -> list[int]:
    count = last - first + 1
    n = max(1, math.ceil(count / 100))
    step = count / n
    return sorted({first + int(step * i + step / 2) for i in range(n)})


def worker_prices(chain: Chain, db: "Connection | None" = None) -> list[int]:
    """Prices of workers registered and bonded now. From the index (``db``) once the indexer has run: no chain
    scan, at most the indexer's poll behind; otherwise from Staking's ``Registered`` events and each worker's
    current state."""
    if db is not None and db.execute("SELECT 1 FROM indexer_cursor").fetchone():
        rows = db.execute("SELECT price_per_ibm, stake, unbonding FROM workers WHERE role = 'worker'").fetchall()
        return [int(price) for price, stake, unbonding in rows if int(stake) - int(unbonding) > 0]
    head = chain.block_number()
    events = chain.events("Staking", ["Registered"], chain.deployments.block_number, head)
    prices = []
    for ev in events:
        if ev.args["role"] != ROLE_WORKER:
            continue
        node = get_node(chain, ev.args["account"])
        if node.stake - node.unbonding > 0:  # bonded stake
            prices.append(node.price_per_ibm)
    return prices


def build_quote(scene_cid: str, first: int, last: int, width: int, height: int, samples: int, denoise: bool,
                frames_per_task: int, seconds_low: list[float], manager_ib: float, prices: list[int],
                usd_per_ifx: int) -> Quote:
    if not prices:
        raise LookupError("no worker is available to price the job")
    low_w, low_h = max(1, width // LOW_SCALE), max(1, height // LOW_SCALE)
    low_samples = min(LOW_SAMPLES, samples)
    per_frame_low = statistics.fmean(seconds_low)
    scale = (width * height) / (low_w * low_h) * samples / low_samples
    ibm_per_frame = per_frame_low * scale / 60 * manager_ib
    quote = Quote(scene_cid, first, last, width, height, samples, denoise, frames_per_task,
                  sample_frames(first, last), per_frame_low, ibm_per_frame)
    for start in range(first, last + 1, frames_per_task):
        end = min(start + frames_per_task - 1, last)
        ibm = max(MIN_TASK_IBM, math.ceil(ibm_per_frame * (end - start + 1) * IBM))
        quote.tasks.append(TaskQuote(start, end, ibm))
    quote.price_per_ibm = int(statistics.median(prices))
    quote.max_price_per_ibm = max(prices)
    quote.usd_per_ifx = usd_per_ifx
    quote.total_ibm = sum(t.ibm for t in quote.tasks)
    quote.total_usd = quote.total_ibm * quote.price_per_ibm // IBM
    quote.total_ifx = quote.total_usd * 10**18 // usd_per_ifx
    # the escrow reserves each task at the job's maximum price (rounded per task, as the contract does)
    quote.budget_ifx = sum(task_ifx(t.ibm, quote.max_price_per_ibm, usd_per_ifx) for t in quote.tasks)
    quote.workers = len(prices)
    return quote


def output_settings(quote_id: str, q: dict) -> str:
    """The job's ``outputSettings``: the quote and its order; ``benchmark`` marks the manager's benchmark tasks
    for readers (what counts is the on-chain kind: the job is created with ``createBenchmarkJob``)."""
    settings = {"q": quote_id, "w": q["width"], "h": q["height"], "spp": q["samples"], "dn": int(q["denoise"]),
                "fpt": q["frames_per_task"], **({"benchmark": True} if q.get("benchmark") else {})}
    return json.dumps(settings, separators=(",", ":"))
