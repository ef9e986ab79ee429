"""Follows contract events into the backend's database (SQLite or PostgreSQL, ``backend.db``) for fast reads.

The indexer reads every log of ``JobEscrow``, ``ProofOfRender``, ``Staking``, ``BMWIssuance``, ``BatchLane``,
``BatchCommittee`` and governance's ``Governor``, ``VotePower``, ``VestingFactory``, ``CommunityFund``, ``NodeLicense``
and ``Timelock`` from its
cursor (initially the deployment's first block) up to the chain head (less ``confirmations``), in block and
log order, with one ``eth_getLogs`` call per block range. Each range is applied in ONE transaction: every log
is inserted into ``events`` keyed by ``(block, log_index)`` with ``INSERT … ON CONFLICT DO NOTHING``, the derived
tables are updated only for logs that were newly inserted, and the cursor moves to the end of the range. A crash
mid-range rolls the whole range back; re-reading a range already applied changes nothing. So the index never counts
an event twice, whatever the restarts.

Amounts (IFX wei, USD with 18 decimals, micro-IBM) are uint256 on chain: they are stored as decimal TEXT,
since database integers are 64-bit (SQLite INTEGER, PostgreSQL BIGINT), and the API serves them as decimal
strings. Block numbers, timestamps, frames, counts and ids are INTEGERs. Addresses are stored checksummed, as web3
decodes them.

Layout: ``schema`` (the tables' migrations), ``base`` (reading, applying, the cursor, the loop and the shared
helpers) and one projection module per contract (``escrow``, ``proof_of_render``, ``staking``, ``bmw``), the batch
lane's two in one (``lane``: it also reads the lane's transactions' input, where a batch's tasks and results are),
governance's in one (``governance``: proposals, votes, voters, vesting escrows, node licenses).

The tables (``docs/api-reads.md`` describes each column):

``jobs``           one row per ``JobCreated`` (``benchmark`` jobs included); budget left, refunds, counters and a
                   derived ``status``
``tasks``          one row per ``TaskPosted``; the task's current state, attempt, key commitment, manifest digest and
                   package (a re-queued task gets new ones with ``TaskRekeyed``), as the escrow holds them
``task_attempts``  one row per accepted attempt: worker, fee, result CID, verdict, dispute outcome, outcome, the
                   manager's slash when it let the reveal expire
``committees``     one row per drawn committee (``CommitteeDrawn``): the attempt, beacon round, size, end of the
                   commit phase, votes committed and revealed, pass/fail tally, outcome (passed, failed, no_verdict)
``committee_members`` one row per seat: the member, its commit and reveal blocks, a no-show and its slash
``verdicts``       one row per revealed vote (``VerdictSigned``), for the attempt it was on
``task_scores``    per-frame, per-region ANGV scores and frame CIDs, written by the manager (not by this indexer)
``workers``        every registered node (worker, oracle, manager): price, stake, IB, completed/failed tasks, fees
                   and verdict weight credited in BMW, slashes (missed reveals of managers), committee seats and
                   no-shows (oracles)
``epochs``         BMW epochs: verified work, fees and burns (IFX), verdict weight, penalties, the mint and its pools
                   once closed
``lane_batches``   one row per ``BatchPosted``: job, manager, tasks, stage, times, committee, verdict bitmaps,
                   challenges, the manager's slashes, the settlement's figures
``lane_batch_tasks`` one row per task of a batch (its leaf, from the post's calldata), its result CID, verdict, outcome
``lane_batch_members`` one row per seat of a batch's committee: commit, reveal, its pass bitmap, no-show, slashes
``proposals``      one row per ``ProposalCreated``: actions, voting window, tallies, the voting units at the snapshot
                   (the quorum), queue, execution, cancel, veto; the state is computed when read (``proposal_state``)
``proposal_votes`` one row per ``VoteCast``
``voters``         every account VotePower logged: votes as a delegate, its delegate, IFX locked, bonded stake
``governor_parameters`` the Governor's quorum parameters
``vesting_escrows`` one row per ``EscrowCreated`` (both factories): schedule, claimed, revocation
``node_licenses``  one row per license: holder, node types, the node that locked it in Staking, revocation
``events``         every log of the indexed contracts (args as JSON, uint values as decimal strings), with the
                   job, task or batch it concerns: the job progress stream reads it
``indexer_cursor`` the next block to read, and the timestamp of the last block read (the index's clock)

The revealed task seed (``KeyRevealed.seed``) is public on chain once revealed, but the index does not keep
it: the API never serves seeds.

Give the indexer its own connection (``backend.db.connect``) when it runs beside the API in one process: a
transaction is per connection, and the API must not read half-applied ranges. On PostgreSQL, any number of API
processes read while one indexer writes: each range is one transaction, so readers see a range whole or not at all.
"""

from __future__ import annotations

from backend.indexer.base import (ATTEMPT_OUTCOMES, CONTRACTS, JOB_STATUSES, STATE_NAMES, TASK_STATES, ZERO_ADDRESS,
                                  IndexerBase, job_status)
from backend.indexer.bmw import BMWProjections
from backend.indexer.escrow import EscrowProjections
from backend.indexer.governance import PROPOSAL_STATES, GovernanceProjections
from backend.indexer.lane import STAGES as BATCH_STAGES
from backend.indexer.lane import TASK_OUTCOMES as BATCH_TASK_OUTCOMES
from backend.indexer.lane import LaneProjections
from backend.indexer.proof_of_render import ProofOfRenderProjections
from backend.indexer.schema import INDEXER_MIGRATIONS
from backend.indexer.staking import StakingProjections


class Indexer(EscrowProjections, ProofOfRenderProjections, StakingProjections, BMWProjections, LaneProjections,
              GovernanceProjections, IndexerBase):
    """Indexes the deployment's events (see :class:`IndexerBase`); one projection class per contract."""


__all__ = ["ATTEMPT_OUTCOMES", "BATCH_STAGES", "BATCH_TASK_OUTCOMES", "CONTRACTS", "INDEXER_MIGRATIONS",
           "JOB_STATUSES", "PROPOSAL_STATES", "STATE_NAMES", "TASK_STATES", "ZERO_ADDRESS", "Indexer", "job_status"]
