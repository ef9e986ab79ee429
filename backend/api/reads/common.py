"""What the read handlers share: JSON responses, the database, row conversions."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from eth_utils import to_checksum_address
from fastapi import Request
from fastapi.responses import Response

from backend.db import Connection


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


def _db(request: Request) -> Connection:
    return request.app.state.db


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _address(value: str) -> str:
    return to_checksum_address(value)  # the index stores addresses checksummed


def _not_found(what: str) -> Response:
    return _json({"detail": f"{what} not found"}, 404)


JOB_FIELDS = ("job_id", "creator", "manager", "scene_cid", "frame_start", "frame_end", "output_settings", "budget",
              "budget_left", "refunded", "fees_paid", "usd_per_ifx", "max_price_per_ibm", "benchmark", "closed",
              "status", "created_block", "created_at", "updated_block", "tasks_total", "open_tasks", "tasks_settled",
              "tasks_failed", "tasks_cancelled")
TASK_SUMMARY_FIELDS = ("task_id", "state", "frame_start", "frame_end", "attempts", "worker", "ibm", "fee", "passed",
                       "package_cid", "result_cid", "deadline", "updated_block")
JOB_COLUMNS = ", ".join(JOB_FIELDS)
TASK_SUMMARY_COLUMNS = ", ".join(TASK_SUMMARY_FIELDS)


def named(fields: tuple[str, ...], row: tuple) -> dict:
    """A raw row (the handlers read tuples, the fastest way) as a dict of its columns by name."""
    return dict(zip(fields, row))


def _job(r: tuple) -> dict:
    j = named(JOB_FIELDS, r)
    return {
        **{k: j[k] for k in JOB_FIELDS[:13]}, "benchmark": bool(j["benchmark"]), "closed": bool(j["closed"]),
        "status": j["status"], "created_block": j["created_block"], "created_at": _iso(j["created_at"]),
        "updated_block": j["updated_block"],
        "task_counts": {"total": j["tasks_total"], "open": j["open_tasks"], "settled": j["tasks_settled"],
                        "failed": j["tasks_failed"], "cancelled": j["tasks_cancelled"]},
    }


def _task_summary(r: tuple) -> dict:
    t = named(TASK_SUMMARY_FIELDS, r[:len(TASK_SUMMARY_FIELDS)])
    return {**t, "passed": _bool(t["passed"])}


def _raw(conn: Connection):
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: positional access, no Row objects
    return cur


def _page(request: Request, table: str, columns: str, where: list[str], params: list, order: str, limit: int,
          offset: int, item: Callable[[tuple], dict]) -> Response:
    """A page of a list endpoint: ``{"items", "total", "limit", "offset"}`` of the rows of ``table`` matching every
    condition of ``where`` (``?`` placeholders, ``params``), in ``order``."""
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur = _raw(_db(request))
    total = cur.execute(f"SELECT COUNT(*) FROM {table}{clause}", params).fetchone()[0]
    rows = cur.execute(f"SELECT {columns} FROM {table}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                       (*params, limit, offset)).fetchall()
    return _json({"items": [item(r) for r in rows], "total": total, "limit": limit, "offset": offset})


def _scores(text: str) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, (list, dict)) else None
