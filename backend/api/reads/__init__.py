"""Indexed read endpoints (/v1/jobs, /v1/tasks, /v1/batches, /v1/workers, /v1/epochs, /v1/proposals, /v1/voters,
/v1/vesting, /v1/licenses) and the live job stream.

Public reads of what the indexer (``backend.indexer``) derived from contract events: no sign-in, and nothing
private (task seeds, uploads, creators' sessions) is ever in these tables. Amounts are uint256 on chain and
are served as decimal strings; block numbers, timestamps, ids and counts as JSON integers.

The handlers query the app's one database connection (``app.state.db``, ``backend.db``: SQLite, or PostgreSQL
that many API processes share) directly on the event loop: each does a few indexed point queries that take
microseconds on SQLite (a round trip each on PostgreSQL), cheaper than a hop to a worker thread. They build the JSON
themselves (orjson when installed) and skip response-model validation; the pydantic models (``models``)
document the responses exactly (OpenAPI), and the tests check real responses against them.

Layout: ``models`` (response models, parameter types), ``common`` (JSON responses, rows), and one module per
resource: ``jobs``, ``tasks``, ``batches`` (the lane), ``nodes`` (workers, epochs, the index's status),
``governance`` (proposals, voters, vesting escrows, node licenses), ``stream`` (server-sent events).
"""

from fastapi import APIRouter

from backend.api.reads import batches, governance, jobs, nodes, stream, tasks

router = APIRouter()
for module in (jobs, tasks, batches, nodes, governance, stream):
    router.include_router(module.router)
