"""The manager's HTTP API (FastAPI). ``create_app`` wires settings, the database, the chain and IPFS.

Run: ``uvicorn --factory backend.app:app_from_env`` (or ``inferix manager run``).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from backend.api.deps import SIGN_IN_FIRST, session_address
from backend.db import connect, migrate
from backend.indexer import INDEXER_MIGRATIONS
from backend.ratelimit import RateLimiter
from backend.settings import BackendSettings

log = logging.getLogger("inferix.backend")

class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies above the limit (plain ASGI). A declared ``Content-Length`` above it is answered 413
    at once; any other body, chunked ones included, is counted as it streams and answered 413 as soon as it
    passes the limit, before more of it is read or spooled. Uploads get their own, larger limit, and an upload
    without a valid session is answered 401 before its body is read."""

    def __init__(self, app, settings: BackendSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = scope["path"].startswith("/v1/scenes") and scope["method"] == "POST"
        # multipart framing adds a little to the file itself
        limit = self.settings.max_upload_bytes + 64 * 1024 if upload else self.settings.max_request_bytes
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _reply(scope, receive, send, 413, f"request body larger than {limit} bytes")
        if upload:
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or session_address(scope["app"].state.db, token.strip()) is None:
                return await _reply(scope, receive, send, 401, SIGN_IN_FIRST, {"WWW-Authenticate": "Bearer"})
        seen = 0
        exceeded = False
        started = False

        async def counting_receive():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message):
            nonlocal started
            if exceeded:
                return  # the 413 below replaces whatever the app makes of the cut body
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            response = JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413,
                                    headers={"Connection": "close"})
            await response(scope, receive, send)


async def _reply(scope, receive, send, status: int, detail: str, headers: dict | None = None) -> None:
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(scope, receive, send)


def create_app(settings: BackendSettings | None = None, *, chain=None, store=None,
               manager_address: str | None = None, relayer=None) -> FastAPI:
    """``chain`` reads; ``relayer``, the manager's own account, sends the sponsored transactions creators sign
    (``/v1/relay``; without it, this manager does not relay)."""
    settings = settings or BackendSettings()
    from backend.api import auth, jobs, offers, reads, relay, scenes, web
    from backend.state import APP_MIGRATIONS as app_migrations

    conn = connect(settings.database_location)
    migrate(conn, "app", app_migrations)
    migrate(conn, "indexer", INDEXER_MIGRATIONS)

    app = FastAPI(title="Inferix manager API", version="1",
                  description="Sign in with Ethereum, upload scenes, get quotes, prepare the creator's "
                              "transactions and follow jobs. Creator endpoints need `Authorization: Bearer <token>`.")
    app.state.settings = settings
    app.state.db = conn
    app.state.chain = chain
    app.state.store = store
    app.state.manager_address = manager_address
    app.state.relayer = relayer
    app.state.limiters = {"signin": RateLimiter(settings.signin_rate), "upload": RateLimiter(settings.upload_rate),
                          "quote": RateLimiter(settings.quote_rate), "relay": RateLimiter(settings.relay_rate)}
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])

    app.add_middleware(BodyLimit, settings=settings)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    for module in (auth, scenes, jobs, reads, offers, relay):
        app.include_router(module.router)
    web.mount(app, settings.web_dir)
    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory``: everything from ``INFERIX_*`` variables."""
    from inferix.chain import Chain
    from inferix.deployments import load
    from inferix.storage import IPFSStore

    settings = BackendSettings()
    chain = Chain(settings.rpc_url, load(settings.deployments))
    store = IPFSStore(settings.ipfs_api, timeout=settings.ipfs_timeout, max_bytes=settings.max_upload_bytes)
    return create_app(settings, chain=chain, store=store)
