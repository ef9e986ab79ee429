"""GET /v1/tasks/{task_id}: a task with every attempt, verdict, vote and per-frame score."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.api.reads.common import TASK_SUMMARY_COLUMNS, _bool, _db, _json, _not_found, _raw, _scores, _task_summary
from backend.api.reads.models import INVALID, NOT_FOUND, TaskDetail, TaskId

router = APIRouter(prefix="/v1", tags=["index"])


_N_SUMMARY = len(TASK_SUMMARY_COLUMNS.split(","))
_TASK_SQL = (f"SELECT {TASK_SUMMARY_COLUMNS}, job_id, reserved, collateral, key_commit, key_revealed, render_window, "
             "challenger, slashed, settled_fee, burned, to_treasury, posted_block FROM tasks WHERE task_id = ?")


@router.get("/tasks/{task_id}", response_model=TaskDetail, responses={**NOT_FOUND, **INVALID},
            summary="A task: state, verdict with each oracle's vote and score, per-region scores, frame CIDs")
async def get_task(request: Request, task_id: TaskId):
    cur = _raw(_db(request))
    r = cur.execute(_TASK_SQL, (task_id,)).fetchone()
    if r is None:
        return _not_found(f"task {task_id}")
    task = _task_summary(r)
    n = _N_SUMMARY
    task.update({
        "job_id": r[n], "reserved": r[n + 1], "collateral": r[n + 2], "key_commit": r[n + 3],
        "key_revealed": bool(r[n + 4]), "render_window": r[n + 5], "challenger": r[n + 6], "slashed": r[n + 7],
        "settlement": ({"fee": r[n + 8], "burned": r[n + 9], "to_treasury": r[n + 10]}
                       if r[n + 8] is not None else None),
        "posted_block": r[n + 11],
    })
    attempts: dict[int, dict] = {}

    def attempt(number: int) -> dict:
        if number not in attempts:
            attempts[number] = {"attempt": number, "passed": None, "votes": [], "frames": [], "worker": None,
                                "fee": None, "collateral": None, "result_cid": None, "outcome": None,
                                "slashed": "0", "accepted_block": None, "ended_block": None}
        return attempts[number]

    for a in cur.execute("SELECT attempt, worker, fee, collateral, result_cid, passed, outcome, slashed, "
                         "accepted_block, ended_block FROM task_attempts WHERE task_id = ?", (task_id,)):
        attempt(a[0]).update({"worker": a[1], "fee": a[2], "collateral": a[3], "result_cid": a[4],
                              "passed": _bool(a[5]), "outcome": a[6], "slashed": a[7], "accepted_block": a[8],
                              "ended_block": a[9]})
    for v in cur.execute("SELECT attempt, oracle, passed, score, slashed, block, tx_hash FROM verdicts "
                         "WHERE task_id = ? ORDER BY block, log_index", (task_id,)):
        attempt(v[0])["votes"].append({"oracle": v[1], "passed": bool(v[2]), "score": v[3], "slashed": v[4],
                                       "block": v[5], "tx_hash": v[6]})
    for s in cur.execute("SELECT attempt, frame, frame_cid, scores_json FROM task_scores WHERE task_id = ? "
                         "ORDER BY attempt, frame", (task_id,)):
        attempt(s[0])["frames"].append({"frame": s[1], "frame_cid": s[2], "scores": _scores(s[3])})
    history = [attempts[k] for k in sorted(attempts)]
    task["attempt_history"] = history
    if history:
        last = history[-1]
        task["verdict"] = {k: last[k] for k in ("attempt", "passed", "votes", "frames")}
    else:
        task["verdict"] = None
    return _json(task)
