"""The manager's HTTP API (FastAPI). ``create_app`` wires settings, the database, the chain and IPFS.

Run: ``uvicorn --factory backend.app:app_from_env`` (or ``inferix manager run``).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from backend.db import connect, migrate
from backend.indexer import INDEXER_MIGRATIONS
from backend.ratelimit import RateLimiter
from backend.settings import BackendSettings

log = logging.getLogger("inferix.backend")

def create_app(settings: BackendSettings | None = None, *, chain=None, store=None,
               manager_address: str | None = None) -> FastAPI:
    settings = settings or BackendSettings()
    from backend.api import auth, jobs, reads, scenes
    from backend.state import APP_MIGRATIONS as app_migrations

    conn = connect(settings.database)
    migrate(conn, "app", app_migrations)
    migrate(conn, "indexer", INDEXER_MIGRATIONS)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        conn.close()

    app = FastAPI(title="Inferix manager API", version="1", lifespan=lifespan,
                  description="Sign in with Ethereum, upload scenes, get quotes, prepare the creator's "
                              "transactions and follow jobs. Creator endpoints need `Authorization: Bearer <token>`.")
    app.state.settings = settings
    app.state.db = conn
    app.state.chain = chain
    app.state.store = store
    app.state.manager_address = manager_address
    app.state.limiters = {"signin": RateLimiter(settings.signin_rate), "upload": RateLimiter(settings.upload_rate)}
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        # uploads have their own, larger limit, enforced while streaming
        length = request.headers.get("content-length")
        upload = request.url.path.startswith("/v1/scenes")
        # multipart framing adds a little to the file itself, whose exact limit is checked while streaming
        limit = settings.max_upload_bytes + 64 * 1024 if upload else settings.max_request_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    for module in (auth, scenes, jobs, reads):
        app.include_router(module.router)
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
