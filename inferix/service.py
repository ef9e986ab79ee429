"""The skeleton shared by the long-running nodes: state, a stop flag, and the poll loop that survives an
unreachable chain."""

from __future__ import annotations

import logging
import time
from typing import Any

from inferix.chain import Chain, ChainError
from inferix.nodedb import NodeDB
from inferix.storage import IPFSStore


class PollingNode:
    """Subclasses implement ``ensure_ready``, ``poll_events`` and ``advance``; ``config.poll_interval`` paces."""

    log = logging.getLogger("inferix")

    def __init__(self, chain: Chain, store: IPFSStore, db: NodeDB, config: Any) -> None:
        self.chain = chain
        self.store = store
        self.db = db
        self.config = config
        self.me = chain.address
        self.stopping = False  # set by SIGTERM/SIGINT: the current step finishes, then the loop ends

    def ensure_ready(self) -> None:
        raise NotImplementedError

    def poll_events(self) -> None:
        raise NotImplementedError

    def advance(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        self.ensure_ready()
        while not self.stopping:
            try:
                self.poll_events()
                self.advance()
            except ChainError as exc:
                self.log.warning("chain unavailable, retrying: %s", exc)
            time.sleep(self.config.poll_interval)
