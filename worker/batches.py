"""The worker on the batch lane (docs/protocol.md, "Batches in the services"): it polls its managers' offers, signs a
group it can render in time for at least its price, renders the batch once it is posted, submits all its result CIDs
in one call, and challenges a FAIL its own check refutes.

A batch's record in the node's database (``NodeDB`` batch table, keyed by the batch id) moves through

    signed ──posted with our group──▶ rendering ──every task pinned──▶ rendered ──submitResults──▶ submitted
      │   └── posted without us: excluded                                                          │
      └── accept_by passed, never posted: lapsed            (missed: the render deadline passed)   ▼
                                           follow the verdict: challenge a FAIL our own check refutes ──▶ done

Every step looks at the chain before it sends anything, and every result is recorded as it is made, so a restart
(or a crash) at any point resumes without signing, rendering or sending twice. An offer is recorded as ``signed``
*before* its signature leaves the node: a restart counts it against the node's capacity and its stake. A signed
offer stays followed until its ``accept_by`` passes even if its manager refused the signature (a manager that says
409 and posts anyway must not catch the worker without its frames).

Offers are untrusted input: a malformed offer, a manager that does not answer, a refusal, are logged and skipped;
a failing batch step is logged and retried; nothing here stops the node's loop.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from eth_abi import encode
from eth_utils import keccak

from inferix import batches as B
from inferix import lane
from inferix.chain import ChainError
from inferix.protocol import BPS, IBM, PACKAGE_ORDER, PACKAGE_SCENE, JobView, get_job, get_node, task_ifx
from inferix.render import RenderLimitError, SceneRefused
from inferix.service import Waiting
from inferix.storage import StorageError
from oracle.angv.task import VerificationUnavailable, open_manifest, verify_result

if TYPE_CHECKING:  # the agent imports this module
    from worker.agent import WorkerAgent

log = logging.getLogger("inferix.worker.batches")

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
LIVE = ("signed", "rendering", "rendered", "submitted")  # the statuses a step advances
IN_FLIGHT = ("signed", "rendering", "rendered")  # what counts against max_batches: the GPU is promised or busy

# why an offer is refused (the decision's answers, a test names them)
FOREIGN_LEAF = "foreign leaf"
NO_JOB = "job not open to the lane"
ACCEPT_BY_PASSED = "accept_by passed"
ACCEPT_BY_TOO_FAR = "accept_by too far ahead"
OVER_CAPACITY = "over capacity"
PRICE_ABOVE_MAX = "our price is above the job's maximum"
FEE_BELOW_PRICE = "fee below price"
WINDOW_TOO_SHORT = "render window too short"
GROUP_TOO_LARGE = "group too large"
BELOW_MIN_STAKE = "below minimum stake"
FREE_STAKE = "insufficient free stake"

MAX_GROUP = 64  # BatchLane.MAX_GROUP: a worker's results come in one call


# ------------------------------------------------------------------ the decision (pure: chain facts passed in)
@dataclass(frozen=True)
class Standing:
    """What the worker knows about itself when it weighs an offer."""
    now: int  # the chain's time (the latest block's)
    price_per_ibm: int  # our price, USD per IBM (18 decimals)
    minutes_per_ibm: float  # our wall minutes per IBM (1 / IB)
    safety: float  # the estimate × safety must fit the render window
    bonded: int  # stake − unbonding
    locked: int  # collateral locked on chain + pledged by signed offers not posted yet
    min_stake: int  # S(n) at the job's locked rate (Staking.minStake)
    collateral_bps: int  # JobEscrow.collateralBps
    in_flight: int  # batches signed and not yet submitted
    max_batches: int
    max_accept_wait: int  # the longest we let a manager hold our capacity with an unposted signature


def min_fee(ibm: int, price_per_ibm: int, usd_per_ifx: int) -> int:
    """Our price for ``ibm`` micro-IBM at the job's locked rate, rounded as ``BatchLane.postBatch`` rounds the job's
    maximum (``(ibm × price // IBM) × 10**18 // rate``)."""
    return task_ifx(ibm, price_per_ibm, usd_per_ifx)


def group_leaves(offer: B.Offer) -> list[B.Leaf]:
    span = offer.span
    return list(offer.leaves[span.first:span.end])


def collateral(offer: B.Offer, collateral_bps: int) -> int:
    """What the post locks from our stake: ``collateralBps`` of each fee, summed as the lane sums it."""
    return sum(leaf.fee * collateral_bps // BPS for leaf in group_leaves(offer))


def estimate_seconds(offer: B.Offer, minutes_per_ibm: float) -> float:
    """Wall seconds to render our group (as the single path estimates a task: work × minutes per IBM)."""
    return sum(leaf.ibm for leaf in group_leaves(offer)) / IBM * minutes_per_ibm * 60


def refusal(offer: B.Offer, me: str, job: JobView, s: Standing) -> str | None:
    """Why the worker ``me`` must not sign ``offer`` (None: sign it). The first reason found, cheapest first."""
    span = offer.span
    mine = group_leaves(offer)
    if span.worker.lower() != me.lower() or any(leaf.worker.lower() != me.lower() for leaf in mine):
        return FOREIGN_LEAF
    if len(mine) > MAX_GROUP:
        return GROUP_TOO_LARGE
    if job.usd_per_ifx == 0 or job.manager == ZERO_ADDRESS or job.benchmark or job.closed:
        return NO_JOB
    if offer.accept_by <= s.now:
        return ACCEPT_BY_PASSED
    if offer.accept_by > s.now + s.max_accept_wait:
        return ACCEPT_BY_TOO_FAR
    if s.in_flight >= s.max_batches:
        return OVER_CAPACITY
    if s.price_per_ibm > job.max_price_per_ibm:
        return PRICE_ABOVE_MAX
    if any(leaf.fee < min_fee(leaf.ibm, s.price_per_ibm, job.usd_per_ifx) for leaf in mine):
        return FEE_BELOW_PRICE
    if estimate_seconds(offer, s.minutes_per_ibm) * s.safety > offer.render_window:
        return WINDOW_TOO_SHORT
    if s.bonded < s.min_stake:
        return BELOW_MIN_STAKE
    if s.bonded - s.locked < collateral(offer, s.collateral_bps):
        return FREE_STAKE
    return None


# ------------------------------------------------------------------ the offer API (the manager's)
def parse_offers(payload: Any) -> tuple[list[B.Offer], list[str]]:
    """The well-formed offers of a ``GET /v1/offers`` answer, and what was wrong with the others."""
    if not isinstance(payload, dict) or not isinstance(payload.get("offers"), list):
        return [], ["the answer is not {\"offers\": [...]}"]
    offers, errors = [], []
    for k, raw in enumerate(payload["offers"]):
        try:
            if not isinstance(raw, dict):
                raise ValueError("malformed offer: not an object")
            offers.append(B.Offer.from_json(raw))
        except ValueError as exc:  # Offer.from_json names what is wrong
            errors.append(f"offer {k}: {exc}"[:300])
    return offers, errors


class OfferClient:
    """``GET {url}/v1/offers?worker=…`` and ``POST {url}/v1/offers/{batch}/acceptances``, with a short timeout."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    def offers(self, url: str, worker: str) -> tuple[list[B.Offer], list[str]]:
        """Raises ``httpx.HTTPError`` or ``ValueError`` (not JSON) when the manager does not answer usefully."""
        response = httpx.get(f"{url.rstrip('/')}/v1/offers", params={"worker": worker}, timeout=self.timeout)
        response.raise_for_status()
        return parse_offers(response.json())

    def accept(self, url: str, offer: B.Offer, signature: bytes) -> tuple[int, str]:
        """The manager's status and body text (``httpx.HTTPError`` when it does not answer)."""
        response = httpx.post(f"{url.rstrip('/')}/v1/offers/0x{offer.batch_id.hex()}/acceptances",
                              json={"group": offer.group, "accept_by": offer.accept_by,
                                    "signature": "0x" + signature.hex()}, timeout=self.timeout)
        return response.status_code, response.text[:300]


# ------------------------------------------------------------------ the lane's steps
REFUSAL_HOLD = 10.0  # seconds before a refused offer is weighed again (capacity or stake may have freed meanwhile)


class BatchWork:
    """The worker agent's batch lane: offers, then each batch it signed through its steps."""

    def __init__(self, agent: "WorkerAgent", client: OfferClient | None = None) -> None:
        self.agent = agent
        self.client = client or OfferClient(agent.config.offer_timeout)
        self._last_poll = 0.0
        self._said: dict[Any, str] = {}  # what was last logged per manager / offer: a repeat is logged quietly
        # offers refused lately, by (batch, accept_by): weighed again only after REFUSAL_HOLD seconds (each weighing
        # reads the chain; a manager offering many groups would otherwise cost a worker its CPU at every poll)
        self._refused: dict[tuple[bytes, int], float] = {}

    # shorthands
    @property
    def chain(self):
        return self.agent.chain

    @property
    def db(self):
        return self.agent.db

    @property
    def me(self) -> str:
        return self.agent.me

    def _say(self, key: Any, message: str, level: int = logging.WARNING, *args: Any) -> None:
        """Log ``message`` at ``level`` once while it stays the same for ``key`` (a manager polled every second)."""
        text = message % args if args else message
        if len(self._said) > 10_000:  # offers come and go: what was said about the old ones is forgotten
            self._said.clear()
        if self._said.get(key) != text:
            self._said[key] = text
            log.log(level, text)
        else:
            log.debug(text)

    def step(self) -> None:
        self.advance()
        managers = self.agent.config.managers
        if managers and time.monotonic() - self._last_poll >= self.agent.config.offer_poll:
            self._last_poll = time.monotonic()
            for url in managers:
                if self.agent.stop.is_set():
                    return
                self.poll(url)

    # ---------------------------------------------------------- offers
    def poll(self, url: str) -> None:
        """One manager's offers: each weighed, signed and answered, or refused; nothing here raises."""
        try:
            offers, errors = self.client.offers(url, self.me)
        except (httpx.HTTPError, ValueError) as exc:
            self._say(url, "manager %s: no offers (%s: %s)", logging.WARNING, url, exc.__class__.__name__,
                      str(exc)[:200])
            return
        self._said.pop(url, None)
        for error in errors:
            self._say((url, error), "manager %s sent a malformed offer, skipped: %s", logging.WARNING, url, error)
        for offer in offers:
            try:
                self.consider(url, offer)
            except ChainError as exc:
                self._say((url, offer.batch_id, "chain"), "offer of batch 0x%s: chain unavailable, will retry: %s",
                          logging.WARNING, offer.batch_id.hex(), exc)
            except Exception:  # noqa: BLE001 - an offer is untrusted input: it never stops the loop
                log.exception("offer of batch 0x%s from %s failed", offer.batch_id.hex(), url)

    def standing(self, job: JobView, exclude: bytes | None = None) -> Standing:
        config = self.agent.config
        node = get_node(self.chain, self.me)
        now = self.agent._now()
        pledged, in_flight = 0, 0
        for batch_id, status, data in self.db.batches(*IN_FLIGHT):
            if batch_id == exclude:
                continue
            in_flight += 1
            if status == "signed":  # not posted yet: its collateral is not in node.locked
                pledged += int(data.get("collateral", 0))
        min_stake = self.chain.call("Staking", "minStake", self.me, job.usd_per_ifx) if job.usd_per_ifx else 0
        return Standing(now=now, price_per_ibm=config.price_per_ibm, minutes_per_ibm=self.agent._minutes_per_ibm(),
                        safety=config.safety, bonded=node.stake - node.unbonding, locked=node.locked + pledged,
                        min_stake=min_stake, collateral_bps=self.chain.call("JobEscrow", "collateralBps"),
                        in_flight=in_flight, max_batches=config.max_batches,
                        max_accept_wait=config.max_accept_wait)

    def consider(self, url: str, offer: B.Offer) -> None:
        known = self.db.batch(offer.batch_id)
        if known is not None:
            status, data = known
            if status not in ("signed", "lapsed") or data.get("accept_by") == offer.accept_by:
                return  # signed already (the signature is retried by its step), or posted: never twice
            # a re-planned offer of a batch we signed or let lapse (a new accept_by): weighed afresh
        key = (offer.batch_id, offer.accept_by)
        if self._refused.get(key, 0.0) > time.monotonic():
            return
        job = get_job(self.chain, offer.job_id)
        standing = self.standing(job, exclude=offer.batch_id)
        reason = refusal(offer, self.me, job, standing)
        if reason is not None:
            if len(self._refused) > 10_000:
                self._refused = {k: t for k, t in self._refused.items() if t > time.monotonic()}
            self._refused[key] = time.monotonic() + REFUSAL_HOLD
            self._say((url, offer.batch_id, offer.accept_by), "refusing offer of batch 0x%s (group %s, job %s) from "
                      "%s: %s", logging.INFO, offer.batch_id.hex(), offer.group, offer.job_id, url, reason)
            return
        signature = lane.accept_offer(self.chain, offer)
        span = offer.span
        pledge = collateral(offer, standing.collateral_bps)
        if known is not None and known[0] == "signed" and known[1].get("accept_by", 0) > standing.now:
            pledge = max(pledge, int(known[1].get("collateral", 0)))  # the earlier signature may still be posted
        # recorded before the signature leaves the node: a restart counts it against capacity and stake
        self.db.set_batch(offer.batch_id, "signed", manager=url, job=offer.job_id, group=offer.group, first=span.first,
                          end=span.end, accept_by=offer.accept_by, render_window=offer.render_window,
                          collateral=str(pledge), from_block=max(self.chain.block_number() - 1, 0),
                          signature=signature.hex(), delivered=False, refused=None)
        log.info("signed offer of batch 0x%s from %s: group %s, %s tasks of job %s, accept by %s",
                 offer.batch_id.hex(), url, offer.group, span.end - span.first, offer.job_id, offer.accept_by)
        self._deliver(offer.batch_id, url, offer, signature)

    def _deliver(self, batch_id: bytes, url: str, offer: B.Offer | None, signature: bytes,
                 data: dict | None = None) -> None:
        """POST the signature; a refusal (404/409/400) is final, anything else retried by the ``signed`` step."""
        if offer is None:  # a retry: the body is rebuilt from the record
            assert data is not None
            body_offer = _OfferRef(batch_id, data["group"], data["accept_by"])
        else:
            body_offer = offer
        try:
            code, text = self.client.accept(url, body_offer, signature)
        except httpx.HTTPError as exc:
            self._say((url, batch_id, "post"), "batch 0x%s: the signature did not reach %s, will retry: %s",
                      logging.WARNING, batch_id.hex(), url, exc)
            return
        if code == 201:
            self.db.set_batch(batch_id, "signed", delivered=True)
            log.info("batch 0x%s: acceptance delivered to %s", batch_id.hex(), url)
        elif code in (400, 404, 409):
            log.warning("batch 0x%s: %s refused our acceptance (%s): %s", batch_id.hex(), url, code, text)
            self.db.set_batch(batch_id, "signed", refused=f"{code}: {text}"[:300])
        else:
            self._say((url, batch_id, "post"), "batch 0x%s: %s answered %s to our acceptance, will retry: %s",
                      logging.WARNING, batch_id.hex(), url, code, text)

    # ---------------------------------------------------------- the batches we signed
    def steps(self) -> dict:
        return {"signed": self._await_post, "rendering": self._render, "rendered": self._submit,
                "submitted": self._follow}

    def advance(self) -> None:
        steps = self.steps()
        for batch_id, status, data in self.db.batches(*steps):
            if self.agent.stop.is_set():
                return
            try:
                steps[status](batch_id, data)
            except Waiting as exc:
                log.debug("batch 0x%s: %s", batch_id.hex(), exc)
            except Exception as exc:  # noqa: BLE001 - one batch's failure never stops the others or the loop
                self.failed(batch_id, status, data, exc)
            if (self.db.batch(batch_id) or (None,))[0] != status:
                self._refused.clear()  # our capacity or pledged stake may have changed: offers are weighed afresh

    def failed(self, batch_id: bytes, status: str, data: dict, exc: Exception) -> None:
        name = f"batch 0x{batch_id.hex()}"
        if isinstance(exc, (StorageError, ChainError, OSError, RuntimeError)):
            ends = data.get("render_ends")
            if status in ("rendering", "rendered") and ends:
                try:
                    late = self.agent._now() > ends
                except ChainError:
                    late = False
                if late:
                    log.error("%s MISSED its render deadline while %s: %s", name, status, exc)
                    self.db.set_batch(batch_id, "missed", reason=str(exc)[:300])
                    return
            log.warning("%s: %s failed, will retry: %s", name, status, exc)
        else:
            log.error("%s: %s failed, will retry", name, status, exc_info=exc)

    def _await_post(self, batch_id: bytes, data: dict) -> None:
        record = lane.get_batch(self.chain, batch_id)
        if record["stage"] == 0:
            now = self.agent._now()
            if now > data["accept_by"]:  # postBatch needs block.timestamp <= acceptBy: it can no longer come
                log.info("batch 0x%s: not posted by %s, the offer lapsed", batch_id.hex(), data["accept_by"])
                self.db.set_batch(batch_id, "lapsed")
                return
            if not data.get("delivered") and not data.get("refused"):
                self._deliver(batch_id, data["manager"], None, bytes.fromhex(data["signature"]), data)
            raise Waiting("not posted yet")
        leaves = lane.batch_leaves(self.chain, batch_id, data.get("from_block", 0))
        ours = [g for g in B.groups(leaves) if g.worker.lower() == self.me.lower()]
        if not ours:
            log.info("batch 0x%s was posted without us", batch_id.hex())
            self.db.set_batch(batch_id, "excluded", reason="posted without our group")
            return
        g = ours[0]
        group = B.groups(leaves).index(g)
        mine = [B.leaf_to_json(leaf) for leaf in leaves[g.first:g.end]]
        log.info("batch 0x%s posted: our group %s, %s tasks, results due by %s", batch_id.hex(), group,
                 g.end - g.first, record["render_ends"])
        self.db.set_batch(batch_id, "rendering", group=group, first=g.first, end=g.end, leaves=mine,
                          render_ends=record["render_ends"], job=record["job_id"], cids=data.get("cids", {}),
                          unrendered=data.get("unrendered", {}))

    # rendering: the group's tasks in one Blender process, then (a task that failed there, or a group whose run
    # broke a limit) one task per step; each result recorded as it is pinned
    def _render(self, batch_id: bytes, data: dict) -> None:
        cids: dict[str, str] = dict(data.get("cids", {}))
        leaves = [B.leaf_from_json(x) for x in data["leaves"]]
        first = data["first"]
        todo = [(first + k, leaf) for k, leaf in enumerate(leaves) if str(first + k) not in cids]
        if len(todo) > 1 and not data.get("one_by_one"):
            try:
                cids.update(self._render_together(batch_id, todo, data["render_ends"]))
            except (RenderLimitError, SceneRefused) as exc:
                log.warning("batch 0x%s: the group's render in one process stopped (%s): one task at a time",
                            batch_id.hex(), exc)
                self.db.set_batch(batch_id, "rendering", one_by_one=True)
                return
            self.db.set_batch(batch_id, "rendering", cids=cids)
            todo = [(i, leaf) for i, leaf in todo if str(i) not in cids]
        if todo:
            index, leaf = todo[0]
            cid, reason = self._render_task(batch_id, index, leaf, data["render_ends"])
            cids[str(index)] = cid
            extra = {}
            if reason:
                extra["unrendered"] = {**data.get("unrendered", {}), str(index): reason[:300]}
            self.db.set_batch(batch_id, "rendering", cids=cids, **extra)
            if len(todo) > 1:
                return
        self.db.set_batch(batch_id, "rendered")
        self._submit(batch_id, self.db.batch(batch_id)[1])

    def _work_dir(self, batch_id: bytes, index: int) -> Path:
        return Path(self.agent.config.work_dir) / f"batch-{batch_id.hex()[:16]}" / f"task-{index}"

    def _fetch(self, work: Path, leaf: B.Leaf) -> tuple[Path, dict]:
        """The task's package (downloaded once) and its render order; a fresh, empty frames directory."""
        package = work / "package"
        if not (package / PACKAGE_SCENE).exists():
            tmp = work / "download"
            shutil.rmtree(tmp, ignore_errors=True)
            got = self.agent.store.get(leaf.package, tmp)
            shutil.rmtree(package, ignore_errors=True)
            got.replace(package)
        order = json.loads((package / PACKAGE_ORDER).read_text())
        shutil.rmtree(work / "frames", ignore_errors=True)  # a crash mid-render leaves partial frames
        return package, order

    def _render_together(self, batch_id: bytes, todo: list[tuple[int, B.Leaf]], render_ends: int) -> dict[str, str]:
        """Every task of ``todo`` whose package is usable, in one Blender process; the CIDs of those rendered (the
        others are left to the one-task path: its retries and placeholders)."""
        from worker.agent import SUBMIT_MARGIN

        if render_ends - self.agent._now() <= SUBMIT_MARGIN:
            return {}
        ready = []
        for index, leaf in todo:
            work = self._work_dir(batch_id, index)
            try:
                package, order = self._fetch(work, leaf)
            except (StorageError, OSError, ValueError, KeyError):
                continue  # the one-task path retries it or records why it cannot be rendered
            ready.append((index, leaf, work, (package / PACKAGE_SCENE, work / "frames", leaf.frame_start,
                                              leaf.frame_end, order)))
        errors = self.agent._run_blender_many([task for *_, task in ready], render_ends) if ready else []
        done = {}
        for (index, leaf, work, _), error in zip(ready, errors):
            if error is None:
                done[str(index)] = self.agent.store.add_directory(work / "frames")
                log.info("batch 0x%s task %s: %s frames pinned as %s", batch_id.hex(), index,
                         leaf.frame_end - leaf.frame_start + 1, done[str(index)])
        return done

    def _render_task(self, batch_id: bytes, index: int, leaf: B.Leaf, render_ends: int) -> tuple[str, str | None]:
        """Render and pin one task as the single path does; ``(cid, None)``, or a placeholder's CID and why the
        task could not be rendered (the rest of the group is still delivered: only this task fails)."""
        from worker.agent import SUBMIT_MARGIN

        work = self._work_dir(batch_id, index)
        if render_ends - self.agent._now() <= SUBMIT_MARGIN:
            return self._placeholder(work, "no time left before the render deadline")
        try:
            package, order = self._fetch(work, leaf)
            self.agent._run_blender(package / PACKAGE_SCENE, work / "frames", leaf.frame_start, leaf.frame_end, order,
                                    render_ends)
        except (RenderLimitError, SceneRefused) as exc:  # rendering again would break it again
            log.error("batch 0x%s task %s FAILED: %s", batch_id.hex(), index, exc)
            return self._placeholder(work, str(exc))
        except (StorageError, OSError, ValueError, KeyError) as exc:
            if render_ends - self.agent._now() <= SUBMIT_MARGIN:
                return self._placeholder(work, f"not rendered in time: {exc}")
            if isinstance(exc, (ValueError, KeyError)):  # a package without a readable order: not transient
                log.error("batch 0x%s task %s: unusable package %s: %s", batch_id.hex(), index, leaf.package, exc)
                return self._placeholder(work, f"unusable package: {exc}")
            raise
        cid = self.agent.store.add_directory(work / "frames")
        log.info("batch 0x%s task %s: %s frames pinned as %s", batch_id.hex(), index,
                 leaf.frame_end - leaf.frame_start + 1, cid)
        return cid, None

    def _placeholder(self, work: Path, reason: str) -> tuple[str, str]:
        """A pinned directory saying why the task has no frames: the group's other results still count."""
        path = work / "unrendered"
        path.mkdir(parents=True, exist_ok=True)
        (path / "UNRENDERED.txt").write_text(reason[:1000] + "\n")
        return self.agent.store.add_directory(path), reason

    def _submit(self, batch_id: bytes, data: dict) -> None:
        group, first, end = data["group"], data["first"], data["end"]
        if bytes(self.chain.call("BatchLane", "results", batch_id, group)) != ZERO32:  # sent before a crash
            self.db.set_batch(batch_id, "submitted", reason="chain holds our results")
            return
        record = lane.get_batch(self.chain, batch_id)
        if record["stage"] != lane.RENDERING or self.agent._now() > record["render_ends"]:
            log.error("batch 0x%s MISSED: results not submitted by the render deadline", batch_id.hex())
            self.db.set_batch(batch_id, "missed", reason=f"stage {record['stage']}, deadline passed")
            return
        cids = [data["cids"][str(i)] for i in range(first, end)]
        receipt = lane.submit_results(self.chain, batch_id, group, cids)
        log.info("batch 0x%s: %s results submitted (tx %s)", batch_id.hex(), len(cids),
                 receipt["transactionHash"].hex())
        self.db.set_batch(batch_id, "submitted", tx=receipt["transactionHash"].hex())

    # ---------------------------------------------------------- after submission: the verdict
    def _follow(self, batch_id: bytes, data: dict) -> None:
        record = lane.get_batch(self.chain, batch_id)
        first, end = data["first"], data["end"]
        challenged = [int(i) for i in data.get("challenged", [])]
        if record["stage"] == lane.SETTLED:
            pending = [i for i in challenged if record["disputed"] >> i & 1]
            if pending:
                raise Waiting(f"tasks {pending} are with the arbiter")
            log.info("batch 0x%s settled", batch_id.hex())
            self.db.set_batch(batch_id, "done")
            return
        if record["stage"] != lane.REVEALED:
            raise Waiting("the seed is not out yet")
        _, _, _, passes, decided, finalized_at = self.chain.call("BatchCommittee", "outcome", batch_id)
        if finalized_at == 0:
            raise Waiting("no verdict yet")
        handled: dict[str, str] = dict(data.get("handled", {}))
        fails = [i for i in range(first, end) if decided >> i & 1 and not passes >> i & 1 and str(i) not in handled
                 and i not in challenged]
        if not fails:
            raise Waiting("the batch is not settled yet")
        ends = finalized_at + self.chain.call("JobEscrow", "challengeWindow")
        leaves = {first + k: B.leaf_from_json(x) for k, x in enumerate(data["leaves"])}
        now = self.agent._now()
        for i in fails:
            if self.agent.stop.is_set():
                break
            verdict = self._judge(batch_id, i, leaves[i], data, record, now, ends)
            if verdict == "challenged":
                challenged.append(i)
                self.db.set_batch(batch_id, "submitted", challenged=challenged)
            elif verdict is not None:
                handled[str(i)] = verdict
                self.db.set_batch(batch_id, "submitted", handled=handled)

    def _judge(self, batch_id: bytes, index: int, leaf: B.Leaf, data: dict, record: dict, now: int,
               ends: int) -> str | None:
        """What becomes of one task's FAIL: ``"challenged"``, why it is left alone, or None (ask again later)."""
        name = f"batch 0x{batch_id.hex()} task {index}"
        if record["disputed"] >> index & 1:
            challenger = self.chain.call("BatchLane", "disputes", _dispute_key(batch_id, index))[0]
            if challenger.lower() == self.me.lower():  # we challenged before a crash: never twice
                return "challenged"
            return f"FAIL, challenged by {challenger}"
        if record["done_bits"] >> index & 1:
            return "FAIL, closed"
        if not self.agent.config.challenge:
            log.warning("%s: verdict FAIL (challenging is off)", name)
            return "FAIL, challenging is off"
        if now > ends:
            log.warning("%s: verdict FAIL, challenge window closed", name)
            return "FAIL, challenge window closed"
        if str(index) in data.get("unrendered", {}):
            return f"FAIL, not rendered: {data['unrendered'][str(index)]}"[:300]
        seed = B.task_seed(bytes(record["seed"]), batch_id, index)
        try:
            manifest = open_manifest(self.agent.store, leaf.package, seed, keccak(seed), leaf.manifest_digest)
            own = verify_result(self.agent.store, data["cids"][str(index)], manifest)
        except VerificationUnavailable as exc:  # nothing proven: retried until the window closes
            self._say((batch_id, index, "own"), "%s: verdict FAIL, but our frames cannot be checked (%s): not "
                      "challenging yet", logging.WARNING, name, exc)
            return None
        if not own.passed:
            log.warning("%s: verdict FAIL, and our own check fails too (%s): not challenging", name, own.reason)
            return f"FAIL, own check fails: {own.reason}"[:300]
        return self._challenge(batch_id, index, leaf, data, own)

    def _challenge(self, batch_id: bytes, index: int, leaf: B.Leaf, data: dict, own) -> str:
        name = f"batch 0x{batch_id.hex()} task {index}"
        leaves = lane.batch_leaves(self.chain, batch_id, data.get("from_block", 0))
        if leaves[index] != leaf:
            raise ChainError(f"{name}: the posted leaf is not the one we rendered")
        bond, receipt = lane.challenge_task(self.chain, batch_id, index, leaves)
        if receipt is None:
            log.warning("%s: verdict FAIL refuted by our own check, but the %.2f IFX bond exceeds our balance: not "
                        "challenging", name, bond / 1e18)
            return "FAIL, bond exceeds our balance"
        log.warning("%s: challenged the committee's FAIL verdict, bond %.2f IFX (tx %s): our own check passes our "
                    "frames (score %s: %s)", name, bond / 1e18, receipt["transactionHash"].hex(), own.score,
                    own.reason)
        return "challenged"


@dataclass(frozen=True)
class _OfferRef:
    """What an acceptance's body needs of an offer (a retry rebuilds it from the batch's record)."""
    batch_id: bytes
    group: int
    accept_by: int


def _dispute_key(batch_id: bytes, index: int) -> bytes:
    return keccak(encode(["bytes32", "uint256"], [batch_id, index]))


def manager_urls(given: tuple[str, ...] | list[str], env: str | None) -> tuple[str, ...]:
    """``--manager`` URLs (repeatable), else ``INFERIX_MANAGER_URLS`` (comma-separated); duplicates dropped."""
    raw = list(given) or [u for u in (env or "").split(",")]
    out: list[str] = []
    for url in (u.strip().rstrip("/") for u in raw):
        if url and url not in out:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"manager URL {url!r} is not http(s)")
            out.append(url)
    return tuple(out)


__all__ = ["BatchWork", "OfferClient", "Standing", "collateral", "estimate_seconds", "manager_urls", "min_fee",
           "parse_offers", "refusal"]
