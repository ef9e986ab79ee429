"""GET /v1/tasks/{task_id}: a task with every attempt, committee, verdict, vote and per-frame score."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.api.reads.common import (TASK_SUMMARY_COLUMNS, TASK_SUMMARY_FIELDS, _bool, _db, _json, _not_found,
                                      _raw, _scores, _task_summary, named)
from backend.api.reads.models import INVALID, NOT_FOUND, TaskDetail, TaskId

router = APIRouter(prefix="/v1", tags=["index"])


_DETAIL_FIELDS = ("job_id", "reserved", "collateral", "key_commit", "manifest_digest", "key_revealed", "render_window",
                  "challenger", "slashed", "settled_fee", "burned", "to_treasury", "posted_block")
_TASK_SQL = f"SELECT {TASK_SUMMARY_COLUMNS}, {', '.join(_DETAIL_FIELDS)} FROM tasks WHERE task_id = ?"
_ATTEMPT_FIELDS = ("attempt", "worker", "fee", "collateral", "result_cid", "passed", "outcome", "slashed",
                   "overturned", "manager_slashed", "to_worker", "accepted_block", "ended_block")
_VOTE_FIELDS = ("attempt", "oracle", "passed", "score", "slashed", "block", "tx_hash")
_SCORE_FIELDS = ("attempt", "frame", "frame_cid", "scores_json")
_COMMITTEE_FIELDS = ("attempt", "round", "size", "commit_ends", "committed", "revealed", "pass_votes", "fail_votes",
                     "outcome", "drawn_block", "ended_block")
_MEMBER_FIELDS = ("attempt", "oracle", "seat", "committed_block", "revealed_block", "no_show", "no_show_slashed")


@router.get("/tasks/{task_id}", response_model=TaskDetail, responses={**NOT_FOUND, **INVALID},
            summary="A task: state, committee, verdict with each oracle's vote and score, per-region scores, frame CIDs")
async def get_task(request: Request, task_id: TaskId):
    cur = _raw(_db(request))
    r = cur.execute(_TASK_SQL, (task_id,)).fetchone()
    if r is None:
        return _not_found(f"task {task_id}")
    task = _task_summary(r)
    d = named(_DETAIL_FIELDS, r[len(TASK_SUMMARY_FIELDS):])
    task.update({
        **{k: d[k] for k in ("job_id", "reserved", "collateral", "key_commit", "manifest_digest", "render_window",
                             "challenger", "slashed", "posted_block")},
        "key_revealed": bool(d["key_revealed"]),
        "settlement": ({"fee": d["settled_fee"], "burned": d["burned"], "to_treasury": d["to_treasury"]}
                       if d["settled_fee"] is not None else None),
    })
    attempts: dict[int, dict] = {}

    def attempt(number: int) -> dict:
        if number not in attempts:
            attempts[number] = {"attempt": number, "passed": None, "committee": None, "votes": [], "frames": [],
                                "worker": None,
                                "fee": None, "collateral": None, "result_cid": None, "outcome": None,
                                "slashed": "0", "overturned": None, "manager_slashed": "0", "to_worker": "0",
                                "accepted_block": None, "ended_block": None}
        return attempts[number]

    for row in cur.execute(f"SELECT {', '.join(_ATTEMPT_FIELDS)} FROM task_attempts WHERE task_id = ?", (task_id,)):
        a = named(_ATTEMPT_FIELDS, row)
        attempt(a.pop("attempt")).update({**a, "passed": _bool(a["passed"]), "overturned": _bool(a["overturned"])})
    for row in cur.execute(f"SELECT {', '.join(_COMMITTEE_FIELDS)} FROM committees WHERE task_id = ?", (task_id,)):
        c = named(_COMMITTEE_FIELDS, row)
        attempt(c.pop("attempt"))["committee"] = {**c, "members": []}
    for row in cur.execute(f"SELECT {', '.join(_MEMBER_FIELDS)} FROM committee_members WHERE task_id = ? "
                           "ORDER BY attempt, seat", (task_id,)):
        m = named(_MEMBER_FIELDS, row)
        committee = attempt(m.pop("attempt"))["committee"]
        if committee is not None:
            committee["members"].append({**m, "no_show": bool(m["no_show"])})
    for row in cur.execute(f"SELECT {', '.join(_VOTE_FIELDS)} FROM verdicts WHERE task_id = ? "
                           "ORDER BY block, log_index", (task_id,)):
        v = named(_VOTE_FIELDS, row)
        attempt(v.pop("attempt"))["votes"].append({**v, "passed": bool(v["passed"])})
    for row in cur.execute(f"SELECT {', '.join(_SCORE_FIELDS)} FROM task_scores WHERE task_id = ? "
                           "ORDER BY attempt, frame", (task_id,)):
        f = named(_SCORE_FIELDS, row)
        attempt(f["attempt"])["frames"].append({"frame": f["frame"], "frame_cid": f["frame_cid"],
                                                "scores": _scores(f["scores_json"])})
    history = [attempts[k] for k in sorted(attempts)]
    task["attempt_history"] = history
    if history:
        last = history[-1]
        task["verdict"] = {k: last[k] for k in ("attempt", "passed", "committee", "votes", "frames")}
    else:
        task["verdict"] = None
    return _json(task)
