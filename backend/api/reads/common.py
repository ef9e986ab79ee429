"""What the read handlers share: JSON responses, the database, row conversions."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from eth_utils import to_checksum_address
from fastapi import Request
from fastapi.responses import Response


try:  # optional: a faster encoder
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)
except ImportError:  # pragma: no cover - depends on the environment
    _encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def _dumps(value: Any) -> bytes:
        return _encode(value).encode()


def _json(value: Any, status: int = 200) -> Response:
    return Response(_dumps(value), status_code=status, media_type="application/json")


def _db(request: Request) -> sqlite3.Connection:
    return request.app.state.db


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _address(value: str) -> str:
    return to_checksum_address(value)  # the index stores addresses checksummed


def _not_found(what: str) -> Response:
    return _json({"detail": f"{what} not found"}, 404)


JOB_COLUMNS = ("job_id, creator, manager, scene_cid, frame_start, frame_end, output_settings, budget, budget_left, "
               "refunded, fees_paid, usd_per_ifx, max_price_per_ibm, closed, status, created_block, created_at, "
               "updated_block, tasks_total, open_tasks, tasks_settled, tasks_failed, tasks_cancelled")
TASK_SUMMARY_COLUMNS = ("task_id, state, frame_start, frame_end, attempts, worker, ibm, fee, passed, package_cid, "
                        "result_cid, deadline, updated_block")


def _job(r: tuple) -> dict:
    return {
        "job_id": r[0], "creator": r[1], "manager": r[2], "scene_cid": r[3], "frame_start": r[4],
        "frame_end": r[5], "output_settings": r[6], "budget": r[7], "budget_left": r[8], "refunded": r[9],
        "fees_paid": r[10], "usd_per_ifx": r[11], "max_price_per_ibm": r[12], "closed": bool(r[13]),
        "status": r[14], "created_block": r[15], "created_at": _iso(r[16]), "updated_block": r[17],
        "task_counts": {"total": r[18], "open": r[19], "settled": r[20], "failed": r[21], "cancelled": r[22]},
    }


def _task_summary(r: tuple) -> dict:
    return {
        "task_id": r[0], "state": r[1], "frame_start": r[2], "frame_end": r[3], "attempts": r[4], "worker": r[5],
        "ibm": r[6], "fee": r[7], "passed": _bool(r[8]), "package_cid": r[9], "result_cid": r[10],
        "deadline": r[11], "updated_block": r[12],
    }


def _raw(conn: sqlite3.Connection) -> sqlite3.Cursor:
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: positional access, no Row objects
    return cur


def _scores(text: str) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, (list, dict)) else None
