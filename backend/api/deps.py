"""Request dependencies shared by the routers: the signed-in address, rate limits, app services."""

from __future__ import annotations

import hashlib
import time

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="A session token from POST /v1/auth/verify")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current_address(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "sign in first: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    row = request.app.state.db.execute("SELECT address, expires_at FROM sessions WHERE token_hash = ?",
                                       (token_hash(credentials.credentials),)).fetchone()
    if row is None or row["expires_at"] < time.time():
        raise HTTPException(401, "session unknown or expired: sign in again", {"WWW-Authenticate": "Bearer"})
    return row["address"]


def rate_limit(request: Request, limiter_name: str, key: str) -> None:
    allowed, retry = request.app.state.limiters[limiter_name].allow(key)
    if not allowed:
        raise HTTPException(429, f"too many requests: retry in {retry:.0f} s", {"Retry-After": str(int(retry) + 1)})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
