"""Contract ABIs, shipped with the package (``inferix/abis/*.json``): a node needs no compiler and no checkout.

They are built from ``contracts/`` with the pinned Vyper by ``python -m inferix.abi`` (run from the checkout, after a
contract changes); ``tests/integration/contracts/test_abis.py`` fails while a shipped ABI differs from its source.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path


class ABIError(RuntimeError):
    """A contract's ABI could not be found or produced."""


# deployments name some contracts by their role; their ABI is their contract's
ROLE_CONTRACTS = {"CommunityFund": "VestingFactory"}


@lru_cache(maxsize=None)
def abi(name: str) -> list[dict]:
    name = ROLE_CONTRACTS.get(name, name)
    path = resources.files("inferix") / "abis" / f"{name}.json"
    if not path.is_file():
        raise ABIError(f"no ABI shipped for a contract named {name!r}")
    return json.loads(path.read_text())


def build(contracts: Path) -> dict[str, list[dict]]:
    """The ABI of every contract in ``contracts``: the top level and ``mocks/`` (``modules/`` and interfaces are not
    deployed on their own)."""
    sources = sorted([*Path(contracts).glob("*.vy"), *Path(contracts).glob("mocks/*.vy")])

    def one(source: Path) -> list[dict]:
        result = subprocess.run([sys.executable, "-m", "vyper", "-f", "abi", "-p", str(contracts), str(source)],
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise ABIError(f"vyper failed on {source.name}: {result.stderr.strip()[-500:]}")
        return json.loads(result.stdout)

    # one compiler process per contract, as many at once as there are cores
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip((source.stem for source in sources), pool.map(one, sources)))


def main(argv: list[str]) -> int:
    contracts = Path(argv[0] if argv else "contracts")
    target = Path(__file__).with_name("abis")
    target.mkdir(exist_ok=True)
    for name, data in build(contracts).items():
        (target / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(target / f"{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
