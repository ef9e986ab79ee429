"""The cheating worker of the demo and the tests: a worker agent that returns frames it never rendered
(:func:`tests.utils.forge.forge_frames`). Test tooling, never part of what a node operator runs:

    python -m tests.utils.cheater --account keyfile:KEY --price 0.5 --stake 10000 [--poll 0.5]

takes the options of ``inferix worker run``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import worker.agent
from tests.utils.forge import forge_frames


class CheatingWorker(worker.agent.WorkerAgent):
    def choose_device(self) -> str:
        return "CPU"  # it renders nothing

    def _run_blender(self, blend: Path, out_dir: Path, first: int, last: int, order: dict, deadline) -> None:
        forge_frames(out_dir, first, last, order)

    def _run_blender_many(self, tasks: list, deadline) -> list:
        for blend, out_dir, first, last, order in tasks:
            forge_frames(out_dir, first, last, order)
        return [None] * len(tasks)


def main(argv: list[str]) -> None:
    from inferix.cli import main as cli

    worker.agent.WorkerAgent = CheatingWorker  # what `worker run` builds, in this process only
    cli(["worker", "run", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
