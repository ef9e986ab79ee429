"""The web app and what it reads from its manager: ``/app/`` (the static build of ``web/``, made by ``make web``),
``GET /v1/network`` (the chain, its public RPC, the contracts' addresses and this manager: everything the app
needs to talk to the chain itself) and ``GET /ipfs/{cid}[/name...]`` (a read-only IPFS gateway for frames and
packages, with the store's size limit). The app never needs the manager for what the chain says: it reads and
writes the chain through the user's wallet and the public RPC, and the manager only for uploads, quotes and the
index."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from inferix.storage import ContentNotFound, ContentTooLarge, InvalidCID, StorageError

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
NOT_BUILT = "the web app is not built here: run `make web` (npm ci, then web/build.mjs)"

router = APIRouter(tags=["web app"])


@router.get("/v1/network", summary="The chain, its public RPC, the contracts and this manager (for the web app)")
def network(request: Request) -> dict:
    state = request.app.state
    chain = state.chain
    if chain is None:
        raise HTTPException(503, "this API has no chain configured")
    deployment = chain.deployments
    return {"chain_id": deployment.chain_id, "network": deployment.network,
            "rpc_url": state.settings.public_rpc_url or state.settings.rpc_url,
            "start_block": deployment.block_number, "contracts": dict(deployment.contracts),
            "manager": state.manager_address, "gateway": "/ipfs/"}


def _resolve(store, path: str) -> str:
    """``cid/name/name`` to the CID of that entry (directories walked with ``ls``)."""
    cid, *names = [part for part in path.split("/") if part]
    for name in names:
        entries = {entry["name"]: entry["cid"] for entry in store.ls(cid)}
        if name not in entries:
            raise ContentNotFound(f"no {name!r} in {cid}")
        cid = entries[name]
    return cid


@router.get("/ipfs/{path:path}", summary="Read-only IPFS gateway (frames, packages, scenes)",
            responses={400: {}, 404: {}, 413: {}, 502: {}})
async def gateway(path: str, request: Request) -> Response:
    store = request.app.state.store
    if store is None:
        raise HTTPException(503, "this API has no IPFS node configured")
    if not path.strip("/"):
        raise HTTPException(400, "give a CID: /ipfs/<cid>[/name]")

    def read() -> bytes:
        return store.cat(_resolve(store, path))

    try:
        data = await run_in_threadpool(read)
    except InvalidCID as exc:
        raise HTTPException(400, str(exc)) from None
    except ContentNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ContentTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except StorageError as exc:
        raise HTTPException(502, f"IPFS: {exc}") from None
    kind = mimetypes.guess_type(path.rsplit("/", 1)[-1])[0] or "application/octet-stream"
    # content-addressed: the same path always holds the same bytes
    return Response(data, media_type=kind, headers={"Cache-Control": "public, max-age=31536000, immutable",
                                                     "X-Content-Type-Options": "nosniff"})


def mount(app: FastAPI, web_dir: Path | None = None) -> None:
    """The API's routes above, and the app itself at ``/app/`` when it is built (else ``/app/`` says how)."""
    app.include_router(router)
    web_dir = Path(web_dir or WEB_DIST)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/app/")

    if (web_dir / "index.html").is_file():
        app.mount("/app", StaticFiles(directory=web_dir, html=True), name="app")
    else:
        @app.get("/app/{rest:path}", include_in_schema=False)
        def not_built(rest: str) -> JSONResponse:
            return JSONResponse({"detail": NOT_BUILT}, status_code=404)
