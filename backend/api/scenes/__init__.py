"""Scene uploads (``POST /v1/scenes``, ``GET /v1/scenes/{cid}``): size limit while streaming, content sniffing, the
scene hygiene checks and metadata read in the render layer's sandbox, pinned to IPFS.

Layout: ``models`` (requests and responses), ``routes`` (the handlers)."""

from backend.api.scenes.routes import router

__all__ = ["router"]
