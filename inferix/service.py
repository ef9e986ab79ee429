"""The one poll loop of the long-running services (manager, indexer, oracle, worker), and the skeleton of the
nodes that advance tasks through a table of steps.

:func:`run_loop` runs a step every ``interval`` seconds until a stop event is set; a step's failure is logged and
retried (an unreachable chain as a warning, anything else with its traceback), so no single failure stops a node.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from inferix import timing
from inferix.chain import ChainError
from inferix.nodedb import NodeDB
from inferix.protocol import latest_time
from inferix.storage import IPFSStore


def log_and_retry(log: logging.Logger, name: str) -> Callable[[BaseException], bool]:
    """The default error policy: log (a chain outage as a warning, anything else with its traceback), go on."""
    def handle(exc: BaseException) -> bool:
        if isinstance(exc, ChainError):
            log.warning("%s: chain unavailable, will retry: %s", name, exc)
        else:
            log.error("%s step failed, will retry", name, exc_info=exc)
        return True
    return handle


def run_loop(step: Callable[[], Any], interval: float, stop: threading.Event, log: logging.Logger, name: str,
             on_error: Callable[[BaseException], bool] | None = None) -> None:
    """Call ``step`` every ``interval`` seconds until ``stop`` is set. ``on_error(exc)`` decides whether to go on
    after a failure (default: :func:`log_and_retry`); ``KeyboardInterrupt`` and ``SystemExit`` always stop."""
    handle = on_error or log_and_retry(log, name)
    while not stop.is_set():
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - handed to the error policy
            if not handle(exc):
                return
        timing.flush()  # where the time went, for benchmarks (nothing unless INFERIX_TIMINGS_DIR is set)
        stop.wait(interval)


class Waiting(Exception):
    """A step that cannot run yet (a beacon round not published, no verdict yet): retried quietly, its status
    unchanged."""


class PollingNode:
    """A node that follows chain events and advances its tasks through a table of steps.

    Subclasses implement ``ensure_ready``, ``poll_events``, ``task_steps`` (task status -> step function
    ``(task_id, attempt, data)``) and ``task_failed`` (what a step's failure means for the task); ``config.poll_interval``
    paces the loop. ``stop`` (set by SIGTERM/SIGINT) lets the current step finish, then ends the loop.
    """

    log = logging.getLogger("inferix")

    def __init__(self, chain, store: IPFSStore, db: NodeDB, config: Any) -> None:
        self.chain = chain
        self.store = store
        self.db = db
        self.config = config
        self.me = chain.address
        self.stop = threading.Event()

    def _now(self) -> int:
        return latest_time(self.chain)

    def ensure_ready(self) -> None:
        raise NotImplementedError

    def poll_events(self) -> None:
        raise NotImplementedError

    def task_steps(self) -> dict[str, Callable[[int, int, dict], None]]:
        raise NotImplementedError

    def task_failed(self, task_id: int, attempt: int, status: str, data: dict, exc: Exception) -> bool:
        """Record what ``exc`` raised by the ``status`` step means for the task; False re-raises it."""
        return False

    def advance(self) -> None:
        steps = self.task_steps()
        for task_id, attempt, status, data in self.db.tasks(*steps):
            if self.stop.is_set():
                return
            try:
                steps[status](task_id, attempt, data)
            except Exception as exc:  # noqa: BLE001 - the subclass's table of failures decides
                if not self.task_failed(task_id, attempt, status, data, exc):
                    raise

    def step(self) -> None:
        self.poll_events()
        self.advance()

    def run(self) -> None:
        self.ensure_ready()
        run_loop(self.step, self.config.poll_interval, self.stop, self.log, type(self).__name__)
