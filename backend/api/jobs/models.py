"""The jobs endpoints' request and response models."""

from __future__ import annotations

from pydantic import BaseModel, Field


class QuoteIn(BaseModel):
    scene_cid: str = Field(..., min_length=1, max_length=100)
    frame_start: int | None = Field(None, ge=0, le=1_000_000)
    frame_end: int | None = Field(None, ge=0, le=1_000_000)
    width: int | None = Field(None, ge=16, le=16384)
    height: int | None = Field(None, ge=16, le=16384)
    samples: int = Field(64, ge=1, le=65536)
    denoise: bool = False
    frames_per_task: int = Field(2, ge=1, le=1000)


class TaskQuoteOut(BaseModel):
    frame_start: int
    frame_end: int
    ibm: str = Field(..., description="work in micro-IBM")


class QuoteOut(BaseModel):
    id: str
    scene_cid: str
    frame_start: int
    frame_end: int
    width: int
    height: int
    samples: int
    denoise: bool
    sampled_frames: list[int]
    ibm_per_frame: float
    tasks: list[TaskQuoteOut]
    price_per_ibm: str = Field(..., description="USD per IBM, 18 decimals: the median asked by available workers")
    max_price_per_ibm: str = Field(..., description="USD per IBM, 18 decimals: suggested job maximum")
    usd_per_ifx: str
    total_ibm: str
    total_usd: str
    total_ifx: str
    budget_ifx: str = Field(..., description="IFX wei to lock: every task reserved at the maximum price")
    workers: int


class PrepareIn(BaseModel):
    quote_id: str = Field(..., pattern=r"^[0-9a-f]{16}$")
    max_price_per_ibm: str | None = Field(None, pattern=r"^[0-9]{1,40}$", description="override, USD 18 decimals")
    budget_ifx: str | None = Field(None, pattern=r"^[0-9]{1,40}$", description="override, IFX wei")


class TransactionOut(BaseModel):
    description: str
    to: str
    data: str
    value: str = "0"
    chain_id: int


class PrepareOut(BaseModel):
    quote_id: str
    manager: str
    output_settings: str
    budget_ifx: str
    max_price_per_ibm: str
    transactions: list[TransactionOut] = Field(..., description="approve, then createJob: sign and send in order")
    permit: dict = Field(..., description="EIP-712 typed data of an EIP-2612 permit, for POST /v1/jobs/permit-transaction")


class PermitIn(PrepareIn):
    deadline: int = Field(..., gt=0)
    signature: str = Field(..., pattern=r"^(0x)?[0-9a-fA-F]{130}$")
