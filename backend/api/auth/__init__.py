"""Sign-In with Ethereum (EIP-4361): a single-use, expiring nonce, then a session token.

Layout: ``models`` (requests and responses), ``routes`` (the handlers)."""

from backend.api.auth.routes import router

__all__ = ["router"]
