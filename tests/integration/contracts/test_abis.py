"""The ABIs shipped in ``inferix/abis/`` are those of the contracts' sources (rebuild: python -m inferix.abi)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferix.abi import ABIError, abi, build

ROOT = Path(__file__).resolve().parents[3]

def test_shipped_abis_match_the_sources():
    built = build(ROOT / "contracts")
    shipped = {p.stem: json.loads(p.read_text()) for p in (ROOT / "inferix" / "abis").glob("*.json")}
    assert set(shipped) == set(built), "run: python -m inferix.abi"
    for name in built:
        key = lambda item: json.dumps(item, sort_keys=True)  # noqa: E731 - order-insensitive comparison
        assert sorted(shipped[name], key=key) == sorted(built[name], key=key), f"{name}: run python -m inferix.abi"
    assert any(item.get("name") == "createJob" for item in abi("JobEscrow"))
    with pytest.raises(ABIError, match="no ABI shipped"):
        abi("NoSuchContract")
