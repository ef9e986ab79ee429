"""Every node command answers an operator's configuration mistake with one line and exit code 1 (the traceback
only with -v), run as an operator runs it: ``python -m inferix.cli …``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from inferix.testing.devnet import ROOT
from inferix.testing.ipfs import free_port

NODES = {"worker": ["--price", "0.5", "--stake", "100"], "oracle": ["--stake", "1000"], "manager": []}


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inferix.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def keyfile(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "key.txt"
    path.write_text("0x" + "11" * 32)
    return path


def _mistakes(devnet, keyfile, tmp_path) -> dict[str, tuple[list[str], dict, str]]:
    wrong_chain = tmp_path / "wrong-chain.json"
    wrong_chain.write_text(json.dumps({**json.loads(devnet.deployments_path.read_text()), "chain_id": 1}))
    unreadable = tmp_path / "unreadable.txt"
    unreadable.write_text("not a key")
    good = {"INFERIX_DEPLOYMENTS": str(devnet.deployments_path), "INFERIX_RPC_URL": devnet.anvil.url}
    return {
        "unknown account": (["--account", "ape:nobody-here"], good, "no Ape account named 'nobody-here'"),
        "unreadable key": (["--account", f"keyfile:{unreadable}"], good, "does not hold a valid private key"),
        "missing key file": (["--account", f"keyfile:{tmp_path / 'absent'}"], good, "cannot read key file"),
        "missing deployments": (["--account", f"keyfile:{keyfile}"],
                                {**good, "INFERIX_DEPLOYMENTS": str(tmp_path / "absent.json")},
                                "no deployments file at"),
        "unreachable RPC": (["--account", f"keyfile:{keyfile}"],
                            {**good, "INFERIX_RPC_URL": f"http://127.0.0.1:{free_port()}"}, "unreachable"),
        "wrong chain": (["--account", f"keyfile:{keyfile}"], {**good, "INFERIX_DEPLOYMENTS": str(wrong_chain)},
                        "the deployments file is for 1"),
    }


@pytest.mark.parametrize("node", sorted(NODES))
def test_node_commands_answer_mistakes_in_one_line(devnet, keyfile, tmp_path, node):
    for mistake, (args, env, expected) in _mistakes(devnet, keyfile, tmp_path).items():
        result = run_cli(node, "run", *args, *NODES[node], env=env)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert result.returncode == 1, (mistake, result.stderr[-800:])
        assert len(errors) == 1 and expected in errors[0], (mistake, result.stderr[-800:])
        assert "Traceback" not in result.stderr, mistake
    verbose = run_cli("-v", node, "run", "--account", "ape:nobody-here", *NODES[node])
    assert "Traceback" in verbose.stderr and verbose.returncode != 0


def test_python_m_inferix_cli_knows_every_command():
    result = run_cli("submit", "--help")
    assert result.returncode == 0 and "Upload SCENE" in result.stdout
    listing = run_cli("--help").stdout
    for command in ("submit", "status", "download", "pack", "worker", "oracle", "manager"):
        assert f"  {command} " in listing
