"""GET /v1/jobs/{job_id}/events: the job's events as a server-sent event stream (resumable)."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse
from typing_extensions import Annotated

from backend.api.reads.common import _db, _dumps, _not_found, _raw, named
from backend.api.reads.models import (EVENT_ID_PATTERN, INVALID, JobId, NOT_FOUND, STREAM_BATCH, STREAM_POLL_S,
                                      StreamEvent)

router = APIRouter(prefix="/v1", tags=["index"])


# one SSE message, as OpenAPI 3.1 tools read an event stream's schema (OpenAPI 3.2 calls it itemSchema)
SSE_MESSAGE_SCHEMA = {
    "type": "object",
    "required": ["event", "id", "data"],
    "properties": {
        "event": {"type": "string", "description": "the chain event's name"},
        "id": {"type": "string", "pattern": EVENT_ID_PATTERN, "description": "block:log_index"},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": StreamEvent.model_json_schema()},
    },
}

# the stream's field names for the selected columns (block_time -> time; args is JSON text)
_EVENT_FIELDS = ("block", "log_index", "tx_hash", "contract", "name", "task_id", "time", "args_json")
_EVENTS_SQL = ("SELECT block, log_index, tx_hash, contract, name, task_id, block_time, args FROM events "
               "WHERE job_id = ? AND (block > ? OR (block = ? AND log_index > ?)) "
               "ORDER BY block, log_index LIMIT ?")


def _parse_event_id(value: str) -> tuple[int, int]:
    block, index = value.split(":")
    return int(block), int(index)


@router.get(
    "/jobs/{job_id}/events",
    summary="Server-Sent Events: the job's chain events as they are indexed",
    description="First the job's past events, then each new one as the indexer applies it, until the client "
                "disconnects (or, with `once=true`, right after the past events). Each SSE message has `event` "
                "= the event name (JobCreated, TaskPosted, TaskAccepted, VerdictSigned, TaskSettled, ...), "
                "`id` = `block:log_index` and `data` = a JSON `StreamEvent`. Resume with the `Last-Event-ID` "
                "header or `after`.",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"schema": SSE_MESSAGE_SCHEMA}},
                     "description": "an event stream; the schema describes one message, its `data` a JSON "
                                    "StreamEvent"},
               **NOT_FOUND, **INVALID},
)
async def job_events(
    request: Request,
    job_id: JobId,
    once: Annotated[bool, Query(description="end the stream after the past events")] = False,
    after: Annotated[str, Query(pattern=EVENT_ID_PATTERN,
                                       description="only events after this id (block:log_index)")] = None,
    last_event_id: Annotated[str, Header(pattern=EVENT_ID_PATTERN,
                                                description="standard SSE resume header (block:log_index)")] = None,
):
    conn = _db(request)
    if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is None:
        return _not_found(f"job {job_id}")
    position = (-1, -1)
    if after is not None:
        position = _parse_event_id(after)
    elif last_event_id is not None:
        position = _parse_event_id(last_event_id)
    interval = getattr(request.app.state, "stream_poll_s", STREAM_POLL_S)

    async def stream():
        block, index = position
        while True:
            rows = _raw(conn).execute(_EVENTS_SQL, (job_id, block, block, index, STREAM_BATCH)).fetchall()
            for r in rows:
                data = named(_EVENT_FIELDS, r)
                block, index = data["block"], data["log_index"]
                data["args"] = json.loads(data.pop("args_json"))
                yield {"event": data["name"], "id": f"{block}:{index}", "data": _dumps(data).decode()}
            if len(rows) == STREAM_BATCH:
                continue
            if once:
                return
            # a client that goes away cancels this generator (sse-starlette watches for the disconnect)
            await asyncio.sleep(interval)

    return EventSourceResponse(stream(), ping=15)
