"""Indexed read endpoints (/v1/jobs, /v1/tasks, /v1/workers, /v1/epochs) and the live job stream."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["index"])
