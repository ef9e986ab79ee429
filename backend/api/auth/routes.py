"""Sign-In with Ethereum (EIP-4361): a single-use, expiring nonce, then a session token."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Request
from siwe import SiweMessage, generate_nonce
from siwe.siwe import (DomainMismatch, ExpiredMessage, InvalidSignature, MalformedSession, NonceMismatch,
                       NotYetValidMessage, VerificationError)

from backend.api.deps import client_ip, current_address, rate_limit, token_hash
from backend.api.auth.models import MeOut, NonceOut, SessionOut, VerifyIn

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


def _chain_id(request: Request) -> int:
    chain = request.app.state.chain
    return chain.deployments.chain_id if chain is not None else 31337


@router.post("/nonce", response_model=NonceOut, summary="Get a single-use sign-in nonce")
def nonce(request: Request) -> NonceOut:
    rate_limit(request, "signin", client_ip(request))
    settings = request.app.state.settings
    value = generate_nonce()
    expires = time.time() + settings.nonce_ttl
    db = request.app.state.db
    db.execute("DELETE FROM nonces WHERE expires_at < ?", (time.time() - 3600,))
    db.execute("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", (value, expires))
    return NonceOut(nonce=value, expires_at=datetime.fromtimestamp(expires, timezone.utc),
                    domain=settings.siwe_domain, uri=settings.siwe_uri, chain_id=_chain_id(request))


@router.post("/verify", response_model=SessionOut, summary="Exchange a signed SIWE message for a session token",
             responses={401: {"description": "bad signature, unknown/used/expired nonce, wrong domain or chain"}})
def verify(body: VerifyIn, request: Request) -> SessionOut:
    rate_limit(request, "signin", client_ip(request))
    settings = request.app.state.settings
    db = request.app.state.db
    try:
        message = SiweMessage.from_message(body.message)
    except (ValueError, TypeError) as exc:
        raise HTTPException(422, f"not an EIP-4361 message: {str(exc)[:200]}") from None
    if message.uri != settings.siwe_uri:
        raise HTTPException(401, "the message names another URI")
    if int(message.chain_id) != _chain_id(request):
        raise HTTPException(401, f"the message is for chain {message.chain_id}, this network is {_chain_id(request)}")
    # consume the nonce first and atomically: a replayed message finds it used
    row = db.execute("UPDATE nonces SET used = 1 WHERE nonce = ? AND used = 0 AND expires_at >= ? RETURNING nonce",
                     (message.nonce, time.time())).fetchone()
    if row is None:
        raise HTTPException(401, "unknown, used or expired nonce: get a new one")
    signature = body.signature if body.signature.startswith("0x") else "0x" + body.signature
    try:
        message.verify(signature, domain=settings.siwe_domain, nonce=message.nonce)
    except DomainMismatch:
        raise HTTPException(401, "the message names another domain") from None
    except ExpiredMessage:
        raise HTTPException(401, "the message has expired") from None
    except NotYetValidMessage:
        raise HTTPException(401, "the message is not valid yet") from None
    except (InvalidSignature, NonceMismatch, MalformedSession, VerificationError, ValueError):
        raise HTTPException(401, "the signature does not match the message's address") from None
    token = secrets.token_urlsafe(32)
    expires = time.time() + settings.session_ttl
    db.execute("INSERT INTO sessions (token_hash, address, expires_at) VALUES (?, ?, ?)",
               (token_hash(token), message.address, expires))
    return SessionOut(token=token, address=message.address, expires_at=datetime.fromtimestamp(expires, timezone.utc))


@router.get("/me", response_model=MeOut, summary="The signed-in address")
def me(address: str = Depends(current_address)) -> MeOut:
    return MeOut(address=address)
