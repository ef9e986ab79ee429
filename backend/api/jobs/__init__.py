"""Quotes and job preparation (``POST /v1/quotes``, ``/v1/jobs/prepare``, ``/v1/jobs/permit-transaction``): the
backend never holds a creator's key; it returns the exact transactions for the creator's wallet to sign.

Layout: ``models`` (requests and responses), ``routes`` (the handlers)."""

from backend.api.jobs.routes import router

__all__ = ["router"]
