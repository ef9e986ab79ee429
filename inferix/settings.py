"""Settings shared by the nodes, read from ``INFERIX_*`` environment variables (or a ``.env`` file).

A production deployment changes only these: the chain's RPC (an L2 or a testnet), the deployments
file written by ``scripts/deploy.py``, and the IPFS HTTP RPC address (a Kubo node or an IPFS cluster
proxy works unchanged).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INFERIX_", env_file=".env", extra="ignore")

    ipfs_api: str = Field("/ip4/127.0.0.1/tcp/5001", description="multiaddr of the IPFS HTTP RPC API")
    ipfs_timeout: float = Field(30.0, gt=0, description="seconds allowed for one IPFS call")
    max_upload_bytes: int = Field(512 * 1024 * 1024, gt=0, description="largest scene or result accepted")
    rpc_url: str = Field("http://127.0.0.1:8545", description="JSON-RPC endpoint of the chain")
    deployments: Path = Field(Path("deployments/local.json"), description="deployments file")
    data_dir: Path = Field(Path(".inferix"), description="state of a node (cursor, SQLite)")
