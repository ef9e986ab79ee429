"""Verifying one submitted task: open the sealed manifest with the revealed seed, check every frame (used by the
oracle daemon, the manager's record of scores and the demo's report).

Outcomes are split by whose fault a problem is. Anything the worker delivered wrong (a missing, malformed,
truncated, oversized or wrong-sized frame; frames that fail ANGV) is a *failing verdict*. Anything that is
not the worker's fault (our IPFS node down, content not reachable in time, a manifest that does not open
with the revealed seed) raises ``VerificationUnavailable`` and the oracle retries or abstains: it never signs
a verdict it could not establish.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from eth_utils import keccak

from inferix.eip712 import MAX_SCORE
from inferix.protocol import PACKAGE_MANIFEST, frame_name
from inferix.sealing import HEAD_BYTES, SealError, manifest_defect, open_manifest_seal
from inferix.sealing import manifest_digest as seal_digest  # open_manifest's parameter has the same name
from inferix.storage import ContentTooLarge, InvalidCID, IPFSStore, StorageError
from inferix.timing import timed
from .frames import FrameError, load_frame
from .manifest import Manifest
from .verify import verify_frame

log = logging.getLogger("inferix.angv")

#: the container every result frame must hold: tasks are ordered as PNG (``frame_name(f, "png")``, the package's
#: ``"format": "png"``); anything else, whatever its name, is refused (decoded by content).
ORDERED_CODEC = "png"


class VerificationUnavailable(RuntimeError):
    """The verdict cannot be established now; not the worker's fault."""


class ResultUnavailable(VerificationUnavailable):
    """The worker's result (its directory or a frame) could not be fetched: after a grace period, the worker's
    fault (a result nobody serves is no result)."""


class BadManifest(VerificationUnavailable):
    """The manager's sealed manifest, the one committed on chain, does not open with the task's seed: provable on
    chain with ``proof`` (the arguments of ``ProofOfRender.proveBadManifest`` after the task id and seed)."""

    def __init__(self, message: str, sealed: bytes):
        super().__init__(message)
        self.proof = (sealed[:HEAD_BYTES], keccak(sealed[HEAD_BYTES:]))


@dataclass
class TaskVerdict:
    passed: bool
    score: int  # basis points: the frames' mean score (FrameResult.score: regions and quality); < 10,000 if not passed
    reason: str
    frames: dict[int, dict] = field(default_factory=dict)


def open_manifest(store: IPFSStore, package_cid: str, seed: bytes, key_commit: bytes,
                  manifest_digest: bytes | None = None) -> Manifest:
    """The task's manifest, opened with the revealed seed; ``manifest_digest`` (the chain's commitment to the sealed
    bytes, when given) must match what the package holds."""
    if keccak(seed) != key_commit:
        raise VerificationUnavailable("the revealed seed does not match the task's key commitment")
    try:
        sealed = _cat_path(store, package_cid)
    except StorageError as exc:
        raise VerificationUnavailable(f"manifest not available: {exc}") from None
    if manifest_digest is not None and seal_digest(sealed) != manifest_digest:
        raise VerificationUnavailable("the package's sealed manifest is not the one committed on chain")
    defect = manifest_defect(sealed, seed)
    if defect:
        raise BadManifest(f"the manager's manifest does not open with the seed: {defect}", sealed)
    try:
        manifest = Manifest.from_json(open_manifest_seal(sealed, seed))
    except SealError as exc:
        raise VerificationUnavailable(f"the manager's manifest does not open with the seed: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationUnavailable(f"malformed manifest: {exc}") from None
    if manifest.seed_commit.removeprefix("0x") != key_commit.hex():
        raise VerificationUnavailable("the manifest was made for another seed")
    return manifest


def _cat_path(store: IPFSStore, package_cid: str) -> bytes:
    for entry in store.ls(package_cid):
        if entry["name"] == PACKAGE_MANIFEST:
            return store.cat(entry["cid"], max_bytes=64 * 1024 * 1024)
    raise VerificationUnavailable(f"the task package {package_cid} has no {PACKAGE_MANIFEST}")


def verify_result(store: IPFSStore, result_cid: str, manifest: Manifest) -> TaskVerdict:
    """ANGV's verdict on the frames of ``result_cid`` (fetched from ``store``) against the opened manifest."""
    with timed("angv verification"):  # its IPFS fetches are counted as IPFS time (inferix.timing)
        return _verify_result(store, result_cid, manifest)


def _verify_result(store: IPFSStore, result_cid: str, manifest: Manifest) -> TaskVerdict:
    order = manifest.order
    expected = (order.width, order.height)
    try:
        entries = {e["name"]: e for e in store.ls(result_cid)}
    except InvalidCID as exc:
        return TaskVerdict(False, 0, f"result CID is not a CID: {exc}")
    except ContentTooLarge as exc:
        return TaskVerdict(False, 0, f"result too large: {exc}")
    except StorageError as exc:
        raise ResultUnavailable(f"result {result_cid} not available: {exc}") from None
    results: dict[int, dict] = {}
    scores: list[float] = []
    failures: list[str] = []
    for frame, fm in sorted(manifest.frames.items()):
        name = frame_name(frame, "png")
        entry = entries.get(name)
        if entry is None:
            failures.append(f"frame {frame}: {name} missing from the result")
            scores.append(0.0)
            continue
        try:
            data = store.cat(entry["cid"], max_bytes=256 * 1024 * 1024)
        except ContentTooLarge as exc:
            failures.append(f"frame {frame}: {exc}")
            scores.append(0.0)
            continue
        except StorageError as exc:
            raise ResultUnavailable(f"frame {frame} not available: {exc}") from None
        try:
            decoded = load_frame(data, expected_size=expected, codec=ORDERED_CODEC)
        except FrameError as exc:
            failures.append(f"frame {frame}: {exc}")
            scores.append(0.0)
            continue
        result = verify_frame(decoded, fm, manifest.params)
        results[frame] = {"accepted": result.accepted, "score": round(result.score, 4),
                          "noise_score": round(result.noise_score, 4),
                          "regions": [round(r.e, 2) for r in result.regions], "quality": round(result.quality, 3),
                          "reason": result.reason}
        scores.append(result.score)
        if not result.accepted:
            failures.append(f"frame {frame}: {result.reason}")
    passed = not failures and bool(scores)
    score = int(round(MAX_SCORE * sum(scores) / len(scores))) if scores else 0
    if not passed:
        score = min(score, MAX_SCORE - 1)  # a failing verdict never reports a full score
    return TaskVerdict(passed, score, "all frames pass" if passed else "; ".join(failures)[:1000], results)
