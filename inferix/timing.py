"""Where a process's wall time goes, cheaply: seconds and calls per kind of work (chain transactions, chain reads,
IPFS calls, sandboxed Blender runs by operation, ANGV verification), kept in memory by every node.

Each kind counts its own time only: the IPFS fetches inside a verification are IPFS time, not verification time
(a per-thread stack subtracts nested spans from the enclosing one), so the kinds of one thread add up to at most
its wall time. Threads add up separately (the manager's API, coordination loop and indexer run side by side).

Measurements taken elsewhere are added with :func:`count`: the CPU seconds of each sandboxed Blender run, which
the child reports (``cpu: blender <op>``; the sandbox's PID namespace hides them from the node's own accounting).

Always on: a pair of ``perf_counter`` calls and a dictionary update per call, nothing written. When
``INFERIX_TIMINGS_DIR`` is set, :func:`flush` (called by every service's poll loop, :func:`inferix.service.run_loop`)
writes the process's totals to ``<dir>/<pid>.json`` at most every :data:`FLUSH_EVERY_S` seconds, atomically, so
that a process killed hard loses only its last seconds. ``benchmarks/pipeline.py`` reads them (:func:`read_dir`)
and knows which service each pid was.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ENV = "INFERIX_TIMINGS_DIR"
FLUSH_EVERY_S = 2.0

_lock = threading.Lock()
_flush_lock = threading.Lock()
_totals: dict[str, list] = {}  # kind -> [seconds, calls]
_local = threading.local()
_last_flush = 0.0


@contextmanager
def timed(kind: str) -> Iterator[None]:
    """Count the enclosed block's wall time, less the time of blocks timed inside it, under ``kind``."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(0.0)  # the time of nested spans, subtracted from this one
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        nested = stack.pop()
        if stack:
            stack[-1] += elapsed
        with _lock:
            entry = _totals.setdefault(kind, [0.0, 0])
            entry[0] += elapsed - nested
            entry[1] += 1


def count(kind: str, seconds: float, calls: int = 1) -> None:
    """Add ``seconds`` measured elsewhere (a child's CPU time, say) under ``kind``."""
    with _lock:
        entry = _totals.setdefault(kind, [0.0, 0])
        entry[0] += seconds
        entry[1] += calls


def snapshot() -> dict[str, dict[str, float]]:
    """``{kind: {"seconds": s, "calls": n}}`` so far in this process."""
    with _lock:
        return {kind: {"seconds": round(s, 6), "calls": n} for kind, (s, n) in _totals.items()}


def flush(force: bool = False) -> None:
    """Write this process's totals under ``$INFERIX_TIMINGS_DIR`` (nothing when unset; at most every
    :data:`FLUSH_EVERY_S` seconds unless ``force``; any thread may call it)."""
    global _last_flush
    directory = os.environ.get(ENV)
    if not directory:
        return
    with _flush_lock:
        now = time.monotonic()
        if not force and now - _last_flush < FLUSH_EVERY_S:
            return
        _last_flush = now
        path = Path(directory) / f"{os.getpid()}.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "kinds": snapshot()}))
            tmp.replace(path)
        except OSError:
            pass  # accounting must never stop a node


def read_dir(directory: Path) -> list[dict]:
    """Every process's last flushed totals in ``directory``: ``[{"pid": …, "kinds": …}]``, one per process."""
    found = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found
