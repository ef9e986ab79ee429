"""GET /v1/jobs, /v1/jobs/{job_id}."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from typing_extensions import Annotated

from backend.api.reads.batches import job_batches
from backend.api.reads.common import (JOB_COLUMNS, TASK_SUMMARY_COLUMNS, _address, _db, _job, _json, _not_found, _page,
                                      _raw, _task_summary)
from backend.api.reads.models import (ADDRESS_PATTERN, INVALID, JobDetail, JobId, JobPage, JobStatus, Limit, NOT_FOUND,
                                      Offset)

router = APIRouter(prefix="/v1", tags=["index"])


# two point queries (primary key, then the tasks_job index) cost less than one LEFT JOIN that repeats the job's
# columns on every task row
_JOB_SQL = f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?"
_JOB_TASKS_SQL = f"SELECT {TASK_SUMMARY_COLUMNS} FROM tasks WHERE job_id = ? ORDER BY task_id"


# optional parameters are typed without None: absent means "no filter", and the OpenAPI document does not
# invite clients to send a literal null


@router.get("/jobs", response_model=JobPage, responses=INVALID, summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    creator: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="only this creator's jobs (any case)")] = None,
    manager: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="only this manager's jobs (any case)")] = None,
    status: Annotated[JobStatus, Query(description="only jobs in this status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    where, params = [], []
    if creator is not None:
        where.append("creator = ?")
        params.append(_address(creator))
    if manager is not None:
        where.append("manager = ?")
        params.append(_address(manager))
    if status is not None:
        where.append("status = ?")
        params.append(status)
    return _page(request, "jobs", JOB_COLUMNS, where, params, "job_id DESC", limit, offset, _job)


@router.get("/jobs/{job_id}", response_model=JobDetail, responses={**NOT_FOUND, **INVALID},
            summary="A job, its tasks and its batches")
async def get_job(request: Request, job_id: JobId):
    cur = _raw(_db(request))
    row = cur.execute(_JOB_SQL, (job_id,)).fetchone()
    if row is None:
        return _not_found(f"job {job_id}")
    job = _job(row)
    job["tasks"] = [_task_summary(r) for r in cur.execute(_JOB_TASKS_SQL, (job_id,))]
    job["batches"] = job_batches(cur, job_id)
    return _json(job)
