"""Request dependencies shared by the routers: the signed-in address, rate limits, app services, and the answer
to a failed Blender run."""

from __future__ import annotations

import hashlib
import time

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inferix.render import RenderLimitError, SandboxUnavailable, SceneRefused

bearer = HTTPBearer(auto_error=False, description="A session token from POST /v1/auth/verify")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


SIGN_IN_FIRST = "sign in first: Authorization: Bearer <token>"
SESSION_EXPIRED = "session unknown or expired: sign in again"


def session_address(db, token: str) -> str | None:
    """The address signed in with ``token``, or None (unknown or expired)."""
    row = db.execute("SELECT address, expires_at FROM sessions WHERE token_hash = ?", (token_hash(token),)).fetchone()
    return None if row is None or row["expires_at"] < time.time() else row["address"]


def current_address(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, SIGN_IN_FIRST, {"WWW-Authenticate": "Bearer"})
    address = session_address(request.app.state.db, credentials.credentials)
    if address is None:
        raise HTTPException(401, SESSION_EXPIRED, {"WWW-Authenticate": "Bearer"})
    return address


def rate_limit(request: Request, limiter_name: str, key: str) -> None:
    allowed, retry = request.app.state.limiters[limiter_name].allow(key)
    if not allowed:
        raise HTTPException(429, f"too many requests: retry in {retry:.0f} s", {"Retry-After": str(int(retry) + 1)})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def render_error(exc: Exception, doing: str, failed: str) -> HTTPException:
    """The answer to a failed Blender run on a creator's scene: the hygiene rule or the limit it broke (422),
    no sandbox (503), or what Blender said (422)."""
    if isinstance(exc, SceneRefused):
        return HTTPException(422, f"scene refused: {exc}")
    if isinstance(exc, RenderLimitError):
        return HTTPException(422, f"{doing} was stopped: {exc}")
    if isinstance(exc, SandboxUnavailable):
        return HTTPException(503, str(exc))
    reason = (str(exc).strip().splitlines() or ["unknown error"])[-1][:300]
    return HTTPException(422, f"{failed}: {reason}")
