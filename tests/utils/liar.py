"""A dishonest oracle for the tests: an oracle daemon that votes the opposite of what ANGV finds, and never
challenges. Test tooling, never part of what a node operator runs:

    python -m tests.utils.liar --account keyfile:KEY --stake 1000 [--poll 0.5]

takes the options of ``inferix oracle run``.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import oracle.daemon


class LyingOracle(oracle.daemon.OracleDaemon):
    def judge(self, result_cid: str, manifest):
        verdict = super().judge(result_cid, manifest)
        return replace(verdict, passed=not verdict.passed, reason=f"lie ({verdict.reason})")


def main(argv: list[str]) -> None:
    from inferix.cli import main as cli

    oracle.daemon.OracleDaemon = LyingOracle  # what `oracle run` builds, in this process only
    cli(["oracle", "run", "--no-challenge", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
