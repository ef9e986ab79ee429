"""Manager backend settings, from ``INFERIX_*`` environment variables (see inferix.settings for the
chain/IPFS ones, shared with every node)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from backend.db import parse_url
from inferix.settings import Settings


class BackendSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="INFERIX_", env_file=".env", extra="ignore")

    database: Path = Field(Path(".inferix/backend.sqlite"), description="SQLite file of the index and the app "
                                                                        "(when database_url is not set)")
    database_url: str | None = Field(None, description="the database of the index and the app, overriding database: "
                                                       "a file path or sqlite:///PATH (SQLite), or "
                                                       "postgresql://USER:PASSWORD@HOST:PORT/DBNAME (PostgreSQL)")
    siwe_domain: str = Field("localhost", description="the domain SIWE messages must name")
    siwe_uri: str = Field("http://localhost", description="the URI SIWE messages must name")
    nonce_ttl: int = Field(300, gt=0, description="seconds a sign-in nonce stays valid")
    session_ttl: int = Field(24 * 3600, gt=0, description="seconds a session token stays valid")
    cors_origins: list[str] = Field(default_factory=list, description="frontend origins allowed by CORS")
    max_request_bytes: int = Field(1024 * 1024, gt=0, description="largest non-upload request body")
    signin_rate: str = Field("10/minute", description="sign-in attempts per client address")
    upload_rate: str = Field("20/hour", description="uploads per signed-in address")
    seed_key_file: Path = Field(Path(".inferix/seed.key"), description="32-byte key encrypting task seeds at rest")
    work_dir: Path = Field(Path(".inferix/manager"), description="scratch space for uploads and noise embedding")
    manager_ib: float = Field(1.0, gt=0, description="IB of the machine rendering quote references (1.0 = standard node)")
    benchmark_workers: bool = Field(True, description="post a benchmark task, paid by the manager, to each worker "
                                                       "without an attested IB")
    benchmark_width: int = Field(320, ge=16, le=3840, description="benchmark task resolution, width")
    benchmark_height: int = Field(180, ge=16, le=2160, description="benchmark task resolution, height")
    benchmark_samples: int = Field(32, ge=1, le=4096, description="benchmark task samples per pixel")
    benchmark_frames: int = Field(2, ge=1, le=50, description="benchmark task frames")
    scene_info_timeout: float = Field(120.0, gt=0, description="seconds allowed to open an uploaded scene and read "
                                                                "its metadata (in the sandbox)")
    quote_rate: str = Field("30/hour", description="quotes (each renders reference frames) per signed-in address")
    quote_timeout: float = Field(600.0, gt=0, description="seconds allowed for a quote's reference render")
    quote_render_budget: int = Field(200_000_000, gt=0, description="largest reference render of one quote, in "
                                                                    "frames x pixels x samples")
    max_frame_pixels: int = Field(8192 * 8192, gt=0, description="largest frame (width x height) this manager "
                                                                  "quotes and renders")
    prepare_timeout: float = Field(3600.0, gt=0, description="seconds allowed to embed the noise in one task")
    relay_fee_ifx: Decimal = Field(Decimal("0.5"), ge=0, description="IFX this manager takes for each transaction "
                                                                       "it sends for a creator without ETH (/v1/relay)")
    relay_rate: str = Field("30/hour", description="relayed transactions per signed-in address")
    public_rpc_url: str | None = Field(None, description="the chain's JSON-RPC endpoint browsers use (the web app's "
                                                          "reads before a wallet connects); rpc_url when not set")
    web_dir: Path | None = Field(None, description="the built web app served at /app/ (default: web/dist)")
    manager_account: str | None = Field(None, description="account spec of the manager (ape:/keystore:/keyfile:)")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None:
            parse_url(value)  # a URL the backend cannot open fails here, with the reason; never a fallback
        return value

    @property
    def database_location(self) -> str | Path:
        """What ``backend.db.connect`` opens: ``database_url`` when set, else the ``database`` file."""
        return self.database_url if self.database_url is not None else self.database
