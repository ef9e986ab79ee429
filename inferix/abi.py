"""Contract ABIs, compiled from ``contracts/`` with the pinned Vyper and cached under ``.build/abi``."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
CACHE = ROOT / ".build" / "abi"


class ABIError(RuntimeError):
    """A contract's ABI could not be produced."""


@lru_cache(maxsize=None)
def abi(name: str) -> list[dict]:
    source = CONTRACTS / f"{name}.vy"
    if not source.exists():
        raise ABIError(f"no contract named {name!r} in {CONTRACTS}")
    cached = CACHE / f"{name}.json"
    newest_source = max(p.stat().st_mtime for p in CONTRACTS.rglob("*.vy*"))
    if cached.exists() and cached.stat().st_mtime >= newest_source:
        return json.loads(cached.read_text())
    result = subprocess.run([sys.executable, "-m", "vyper", "-f", "abi", "-p", str(CONTRACTS), str(source)],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise ABIError(f"vyper failed on {source.name}: {result.stderr.strip()[-500:]}")
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(result.stdout)
    tmp.replace(cached)
    return json.loads(result.stdout)
