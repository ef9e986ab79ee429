"""The deployments file: where the contracts of one network live.

``scripts/deploy.py`` writes it after deploying and wiring the contracts; the manager, oracle and worker
services read it to find the contracts. It is plain JSON::

    {
      "format": 1,
      "network": "local",                # ape network choice "ethereum:local:foundry" -> "local"
      "ecosystem": "ethereum",
      "chain_id": 31337,
      "block_number": 1,                 # block of the first deployment transaction (indexers start here)
      "deployed_at": "2026-11-25T16:40:00+00:00",
      "deployer": "0xf39F...",
      "contracts": {"IFXToken": "0x...", "Timelock": "0x...", ...},
      "parameters": {"timelock_min_delay": 60, "quorum": 2, ...}
    }

The file lives at ``deployments/<network>.json`` under the repository root (``<ecosystem>-<network>.json``
for ecosystems other than Ethereum); the environment variable ``INFERIX_DEPLOYMENTS`` overrides the path,
both for writing and for reading.

This module imports nothing of ape or web3: services can read the file without the chain stack.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "INFERIX_DEPLOYMENTS"
FORMAT = 1


def _default_dir() -> Path:
    # ./deployments, where `ape run scripts/deploy.py` writes (run from the project's directory)
    return Path.cwd() / "deployments"

# every contract a complete deployment has (MockAggregator only on local networks)
CONTRACTS = (
    "IFXToken",
    "Timelock",
    "PriceFeedAdapter",
    "Staking",
    "BMWIssuance",
    "JobEscrow",
    "ProofOfRender",
    "RandomnessBeacon",
    "BatchLane",
    "BatchCommittee",
    "VotePower",
    "VestingEscrow",
    "VestingFactory",
    "CommunityFund",
    "NodeLicense",
    "LicenseSale",
    "Governor",
)


class DeploymentError(ValueError):
    """The deployments file is missing, unreadable or incomplete."""


def file_stem(network: str, ecosystem: str = "ethereum") -> str:
    """``local`` for ethereum:local, ``sepolia`` for ethereum:sepolia, ``arbitrum-sepolia`` for arbitrum:sepolia."""
    if not network:
        raise DeploymentError("network name is empty")
    name = network if ecosystem in ("", "ethereum") else f"{ecosystem}-{network}"
    if any(c in name for c in "/\\") or name.startswith("."):
        raise DeploymentError(f"unusable network name for a file: {name!r}")
    return name


def default_path(network: str = "local", ecosystem: str = "ethereum") -> Path:
    """The deployments file of ``network``: ``$INFERIX_DEPLOYMENTS`` if set, else ``deployments/<network>.json``."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    return _default_dir() / f"{file_stem(network, ecosystem)}.json"


def _checksum_like(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 42:
        raise DeploymentError(f"{what} is not a 20-byte hex address: {value!r}")
    try:
        int(value, 16)
    except ValueError as exc:
        raise DeploymentError(f"{what} is not a 20-byte hex address: {value!r}") from exc
    return value


@dataclass
class Deployment:
    """One network's deployment: chain, first block, deployer, contract addresses and key parameters."""

    network: str
    chain_id: int
    block_number: int
    deployer: str
    contracts: dict[str, str]
    parameters: dict[str, Any] = field(default_factory=dict)
    ecosystem: str = "ethereum"
    deployed_at: str = ""
    format: int = FORMAT

    def address(self, name: str) -> str:
        """The address of contract ``name`` (e.g. ``"JobEscrow"``)."""
        try:
            return self.contracts[name]
        except KeyError:
            raise DeploymentError(
                f"no {name} in the {self.network} deployment (has: {', '.join(sorted(self.contracts))})"
            ) from None

    def __getitem__(self, name: str) -> str:
        return self.address(name)

    @property
    def is_local(self) -> bool:
        """A throwaway chain: the local network, or any deployment that uses the mock price feed."""
        return self.network == "local" or "MockAggregator" in self.contracts

    def validate(self) -> "Deployment":
        if self.format != FORMAT:
            raise DeploymentError(f"unsupported deployments file format {self.format} (expected {FORMAT})")
        if not isinstance(self.chain_id, int) or self.chain_id <= 0:
            raise DeploymentError(f"bad chain id {self.chain_id!r}")
        if not isinstance(self.block_number, int) or self.block_number < 0:
            raise DeploymentError(f"bad block number {self.block_number!r}")
        _checksum_like(self.deployer, "deployer")
        missing = [name for name in CONTRACTS if name not in self.contracts]
        if missing:
            raise DeploymentError(f"deployment of {self.network} lacks {', '.join(missing)}")
        for name, address in self.contracts.items():
            _checksum_like(address, name)
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # stable, readable key order
        order = ("format", "network", "ecosystem", "chain_id", "block_number", "deployed_at", "deployer",
                 "contracts", "parameters")
        return {key: data[key] for key in order}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Deployment":
        if not isinstance(data, dict):
            raise DeploymentError("deployments file is not a JSON object")
        try:
            deployment = cls(
                network=data["network"],
                chain_id=data["chain_id"],
                block_number=data["block_number"],
                deployer=data["deployer"],
                contracts=dict(data["contracts"]),
                parameters=dict(data.get("parameters", {})),
                ecosystem=data.get("ecosystem", "ethereum"),
                deployed_at=data.get("deployed_at", ""),
                format=data.get("format", FORMAT),
            )
        except KeyError as exc:
            raise DeploymentError(f"deployments file lacks {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise DeploymentError(f"malformed deployments file: {exc}") from None
        return deployment.validate()


def save(deployment: Deployment, path: str | Path | None = None) -> Path:
    """Writes ``deployment`` (atomically: a temporary file renamed into place) and returns the path."""
    deployment.validate()
    target = Path(path) if path is not None else default_path(deployment.network, deployment.ecosystem)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(deployment.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def load(path: str | Path | None = None, *, network: str = "local", ecosystem: str = "ethereum") -> Deployment:
    """Reads a deployments file: ``path``, else ``$INFERIX_DEPLOYMENTS``, else ``deployments/<network>.json``."""
    source = Path(path) if path is not None else default_path(network, ecosystem)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeploymentError(
            f"no deployments file at {source}: run `ape run scripts/deploy.py --network ...` first "
            f"or set {ENV_VAR}"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeploymentError(f"{source} is not valid JSON: {exc}") from None
    return Deployment.from_dict(data)
