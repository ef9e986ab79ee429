"""The auth endpoints' request and response models."""

from __future__ import annotations

from datetime import datetime
from pydantic import BaseModel, Field


class NonceOut(BaseModel):
    nonce: str
    expires_at: datetime
    domain: str
    uri: str
    chain_id: int


class VerifyIn(BaseModel):
    message: str = Field(..., max_length=4000, description="the EIP-4361 message the wallet signed")
    signature: str = Field(..., pattern=r"^(0x)?[0-9a-fA-F]{130}$", description="65-byte personal_sign signature")


class SessionOut(BaseModel):
    token: str
    address: str
    expires_at: datetime


class MeOut(BaseModel):
    address: str
