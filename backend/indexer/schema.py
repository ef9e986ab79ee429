"""The index's tables (component ``indexer``): every migration, in order (see the package's docstring)."""

from __future__ import annotations

# A redeployment with changed events: an index of the previous deployment means nothing for the new one (its ids
# restart at 1), so a migration that comes with one empties the index, cursor included, and it is rebuilt from the
# deployments file's first block. The manager's per-region scores of the old tasks go with it.
_EMPTY_INDEX = """
    DELETE FROM events;
    DELETE FROM jobs;
    DELETE FROM tasks;
    DELETE FROM task_attempts;
    DELETE FROM verdicts;
    DELETE FROM task_scores;
    DELETE FROM workers;
    DELETE FROM epochs;
    DELETE FROM indexer_cursor;
"""

INDEXER_MIGRATIONS: list[str] = [
    # 1: the read model
    """
    CREATE TABLE indexer_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        next_block INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE events (
        block INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        contract TEXT NOT NULL,
        name TEXT NOT NULL,
        job_id INTEGER,
        task_id INTEGER,
        block_time INTEGER NOT NULL,
        args TEXT NOT NULL,
        PRIMARY KEY (block, log_index)
    );
    CREATE INDEX events_job ON events (job_id, block, log_index);
    CREATE INDEX events_task ON events (task_id, block, log_index);
    CREATE TABLE jobs (
        job_id INTEGER PRIMARY KEY,
        creator TEXT NOT NULL,
        manager TEXT NOT NULL,
        scene_cid TEXT NOT NULL,
        frame_start INTEGER NOT NULL,
        frame_end INTEGER NOT NULL,
        output_settings TEXT NOT NULL,
        budget TEXT NOT NULL,
        budget_left TEXT NOT NULL,
        refunded TEXT NOT NULL DEFAULT '0',
        fees_paid TEXT NOT NULL DEFAULT '0',
        usd_per_ifx TEXT NOT NULL,
        max_price_per_ibm TEXT NOT NULL,
        open_tasks INTEGER NOT NULL DEFAULT 0,
        tasks_total INTEGER NOT NULL DEFAULT 0,
        tasks_settled INTEGER NOT NULL DEFAULT 0,
        tasks_failed INTEGER NOT NULL DEFAULT 0,
        tasks_cancelled INTEGER NOT NULL DEFAULT 0,
        closed INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        created_block INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX jobs_creator ON jobs (creator, job_id);
    CREATE INDEX jobs_status ON jobs (status, job_id);
    CREATE INDEX jobs_creator_status ON jobs (creator, status, job_id);
    CREATE TABLE tasks (
        task_id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        worker TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        ibm TEXT NOT NULL,
        reserved TEXT NOT NULL,
        fee TEXT NOT NULL DEFAULT '0',
        collateral TEXT NOT NULL DEFAULT '0',
        key_commit TEXT NOT NULL,
        key_revealed INTEGER NOT NULL DEFAULT 0,
        frame_start INTEGER NOT NULL,
        frame_end INTEGER NOT NULL,
        render_window INTEGER NOT NULL,
        package_cid TEXT NOT NULL,
        result_cid TEXT,
        passed INTEGER,
        deadline INTEGER,
        challenger TEXT,
        settled_fee TEXT,
        burned TEXT,
        to_treasury TEXT,
        slashed TEXT NOT NULL DEFAULT '0',
        posted_block INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX tasks_job ON tasks (job_id, task_id);
    CREATE INDEX tasks_worker ON tasks (worker, task_id);
    CREATE TABLE task_attempts (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        worker TEXT NOT NULL,
        fee TEXT NOT NULL,
        collateral TEXT NOT NULL,
        result_cid TEXT,
        passed INTEGER,
        outcome TEXT,
        slashed TEXT NOT NULL DEFAULT '0',
        accepted_block INTEGER NOT NULL,
        ended_block INTEGER,
        PRIMARY KEY (task_id, attempt)
    );
    CREATE TABLE verdicts (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        oracle TEXT NOT NULL,
        passed INTEGER NOT NULL,
        score INTEGER NOT NULL,
        slashed TEXT,
        block INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (task_id, attempt, oracle)
    );
    CREATE TABLE task_scores (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        frame INTEGER NOT NULL,
        scores_json TEXT NOT NULL,
        frame_cid TEXT,
        PRIMARY KEY (task_id, attempt, frame)
    );
    CREATE TABLE workers (
        address TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        price_per_ibm TEXT NOT NULL DEFAULT '0',
        stake TEXT NOT NULL DEFAULT '0',
        locked TEXT NOT NULL DEFAULT '0',
        unbonding TEXT NOT NULL DEFAULT '0',
        unbonding_at INTEGER,
        ib TEXT NOT NULL DEFAULT '0',
        completed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        last_failure_block INTEGER,
        work_ibm TEXT NOT NULL DEFAULT '0',
        fee_usd TEXT NOT NULL DEFAULT '0',
        verdicts INTEGER NOT NULL DEFAULT 0,
        slashed TEXT NOT NULL DEFAULT '0',
        registered_block INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX workers_role ON workers (role, address);
    CREATE TABLE epochs (
        epoch INTEGER PRIMARY KEY,
        work_ibm TEXT NOT NULL DEFAULT '0',
        fee_usd TEXT NOT NULL DEFAULT '0',
        verdicts INTEGER NOT NULL DEFAULT 0,
        tasks INTEGER NOT NULL DEFAULT 0,
        penalty TEXT NOT NULL DEFAULT '0',
        minted TEXT NOT NULL DEFAULT '0',
        worker_pool TEXT NOT NULL DEFAULT '0',
        oracle_pool TEXT NOT NULL DEFAULT '0',
        manager_pool TEXT NOT NULL DEFAULT '0',
        to_treasury TEXT NOT NULL DEFAULT '0',
        closed INTEGER NOT NULL DEFAULT 0,
        started_at INTEGER,
        closed_block INTEGER,
        closed_at INTEGER
    )
    """,
    # 2: protocol v2. The contracts were redeployed with new events (fees in IFX instead of USD, fee-weighted
    # verdict credits, rekeyed attempts, manager slashes, benchmark jobs): an index of the previous deployment
    # means nothing for the new one (its ids restart at 1), so it is emptied, cursor included, and rebuilt from
    # the deployments file's first block. The manager's per-region scores of those old tasks go with it.
    _EMPTY_INDEX + """
    ALTER TABLE jobs ADD COLUMN benchmark INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN manifest_digest TEXT NOT NULL
        DEFAULT '0x0000000000000000000000000000000000000000000000000000000000000000';
    ALTER TABLE task_attempts ADD COLUMN overturned INTEGER;
    ALTER TABLE task_attempts ADD COLUMN manager_slashed TEXT NOT NULL DEFAULT '0';
    ALTER TABLE task_attempts ADD COLUMN to_worker TEXT NOT NULL DEFAULT '0';
    ALTER TABLE workers RENAME COLUMN fee_usd TO fees;
    ALTER TABLE workers ADD COLUMN verdict_weight TEXT NOT NULL DEFAULT '0';
    ALTER TABLE workers ADD COLUMN manager_slashes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE epochs RENAME COLUMN fee_usd TO fees;
    ALTER TABLE epochs ADD COLUMN burned TEXT NOT NULL DEFAULT '0';
    ALTER TABLE epochs ADD COLUMN verdict_weight TEXT NOT NULL DEFAULT '0';
    ALTER TABLE epochs DROP COLUMN verdicts
    """,
    # 3: drawn committees (protocol v3). Every attempt is judged by a committee drawn from a beacon round, whose
    # members commit to their vote and then reveal it (VerdictSigned is now the reveal). The contracts were
    # redeployed (ProofOfRender's events and the escrow's verdict subject changed): as in 2, the index of the
    # previous deployment is emptied, cursor included, and rebuilt from the deployments file's first block.
    # committees: one row per drawn committee (CommitteeDrawn), its phase counters and how it ended.
    # committee_members: one row per seat, with its commit, reveal and no-show. workers: seats drawn, no-shows.
    _EMPTY_INDEX + """
    CREATE TABLE committees (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        round INTEGER NOT NULL,
        size INTEGER NOT NULL,
        commit_ends INTEGER NOT NULL,
        committed INTEGER NOT NULL DEFAULT 0,
        revealed INTEGER NOT NULL DEFAULT 0,
        pass_votes INTEGER NOT NULL DEFAULT 0,
        fail_votes INTEGER NOT NULL DEFAULT 0,
        outcome TEXT,
        drawn_block INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        ended_block INTEGER,
        PRIMARY KEY (task_id, attempt)
    );
    CREATE TABLE committee_members (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        oracle TEXT NOT NULL,
        seat INTEGER NOT NULL,
        committed_block INTEGER,
        revealed_block INTEGER,
        no_show INTEGER NOT NULL DEFAULT 0,
        no_show_slashed TEXT NOT NULL DEFAULT '0',
        PRIMARY KEY (task_id, attempt, oracle)
    );
    CREATE INDEX committee_members_oracle ON committee_members (oracle, task_id);
    ALTER TABLE workers ADD COLUMN committee_seats INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE workers ADD COLUMN no_shows INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE workers ADD COLUMN missed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE workers ADD COLUMN no_show_slashed TEXT NOT NULL DEFAULT '0'
    """,
    # 4: seed escrows (protocol v2, part 3). The contracts were redeployed: TaskPosted and TaskRekeyed carry the
    # seed escrow, KeyRevealed its revealer and lateness, ManagerSlashed whether the manager was late (an attempt may
    # now have two manager slashes, which task_attempts.manager_slashed adds up). The index is emptied, as in 2.
    _EMPTY_INDEX,
    # 5: the batch lane (BatchLane, BatchCommittee). The indexer now follows both contracts; their events from before
    # this migration were never read, so the index is rebuilt from the deployments file's first block (the
    # deployment did not change: unlike 2-4, the manager's per-region scores are kept). lane_batches: one row per
    # BatchPosted, its stage, times, committee, verdict bitmaps and settlement; lane_batch_tasks: one row per leaf
    # (decoded from postBatch's calldata and checked against the root), its result CID (submitResults' calldata),
    # verdict and outcome; lane_batch_members: one row per committee seat with its revealed bitmap. jobs: the batches
    # posted and the frames they cover (a job's status counts them); events: the batch a lane or committee event
    # concerns. The tables are named lane_* because the manager's own batch tables (app migration 7) share the database.
    """
    DELETE FROM events;
    DELETE FROM jobs;
    DELETE FROM tasks;
    DELETE FROM task_attempts;
    DELETE FROM verdicts;
    DELETE FROM committees;
    DELETE FROM committee_members;
    DELETE FROM workers;
    DELETE FROM epochs;
    DELETE FROM indexer_cursor;
    ALTER TABLE events ADD COLUMN batch_id TEXT;
    CREATE INDEX events_batch ON events (batch_id, block, log_index);
    ALTER TABLE jobs ADD COLUMN batches INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN batch_frames INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN batch_frames_passed INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE lane_batches (
        batch_id TEXT PRIMARY KEY,
        job_id INTEGER NOT NULL,
        manager TEXT NOT NULL,
        count INTEGER NOT NULL,
        workers INTEGER NOT NULL DEFAULT 0,
        root TEXT NOT NULL,
        leaves_known INTEGER NOT NULL DEFAULT 0,
        fees TEXT,
        collateral_bps INTEGER,
        stage TEXT NOT NULL,
        late INTEGER NOT NULL DEFAULT 0,
        escrow_round INTEGER NOT NULL,
        posted_block INTEGER NOT NULL,
        posted_log INTEGER NOT NULL,
        posted_at INTEGER NOT NULL,
        post_tx TEXT NOT NULL,
        render_ends INTEGER NOT NULL,
        submitted INTEGER NOT NULL DEFAULT 0,
        revealed_block INTEGER,
        revealed_at INTEGER,
        revealer TEXT,
        committee_round INTEGER,
        committee_size INTEGER,
        commit_ends INTEGER,
        committed INTEGER NOT NULL DEFAULT 0,
        drawn_block INTEGER,
        pass_bits TEXT,
        decided_bits TEXT,
        revealed_seats TEXT,
        verdict_block INTEGER,
        verdict_at INTEGER,
        challenged INTEGER NOT NULL DEFAULT 0,
        done_bits TEXT NOT NULL DEFAULT '0x0',
        manager_slashed TEXT NOT NULL DEFAULT '0',
        to_workers TEXT NOT NULL DEFAULT '0',
        passed INTEGER,
        failed INTEGER,
        burned TEXT,
        to_treasury TEXT,
        refund TEXT,
        settled_block INTEGER,
        settled_at INTEGER,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX lane_batches_job ON lane_batches (job_id, posted_block, posted_log);
    CREATE INDEX lane_batches_manager ON lane_batches (manager, posted_block, posted_log);
    CREATE INDEX lane_batches_posted ON lane_batches (posted_block, posted_log);
    CREATE TABLE lane_batch_tasks (
        batch_id TEXT NOT NULL,
        task_index INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        worker_group INTEGER NOT NULL,
        worker TEXT NOT NULL,
        ibm TEXT NOT NULL,
        fee TEXT NOT NULL,
        collateral TEXT,
        manifest_digest TEXT NOT NULL,
        frame_start INTEGER NOT NULL,
        frame_end INTEGER NOT NULL,
        package_cid TEXT NOT NULL,
        delivered_block INTEGER,
        result_cid TEXT,
        verdict TEXT,
        challenger TEXT,
        challenge_bond TEXT,
        challenged_block INTEGER,
        overturned INTEGER,
        defect TEXT,
        outcome TEXT,
        closed_block INTEGER,
        PRIMARY KEY (batch_id, task_index)
    );
    CREATE INDEX batch_tasks_worker ON lane_batch_tasks (worker, batch_id);
    CREATE INDEX batch_tasks_job ON lane_batch_tasks (job_id, frame_start);
    CREATE TABLE lane_batch_members (
        batch_id TEXT NOT NULL,
        seat INTEGER NOT NULL,
        oracle TEXT NOT NULL,
        committed_block INTEGER,
        revealed_block INTEGER,
        pass_bits TEXT,
        no_show INTEGER NOT NULL DEFAULT 0,
        slashed TEXT NOT NULL DEFAULT '0',
        slashed_tasks INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (batch_id, seat)
    );
    CREATE INDEX batch_members_oracle ON lane_batch_members (oracle, batch_id)
    """,
    # 6: governance (Governor, VotePower, VestingFactory, CommunityFund, NodeLicense, and the Timelock's executions).
    # The indexer now follows these contracts, and Staking's LicenseLocked / LicenseReleased gained a projection:
    # their events from before this migration were never read (or never applied), so the index is rebuilt from the
    # deployments file's first block, as in 5 (the manager's per-region scores are kept). indexer_cursor.block_time:
    # the timestamp of the last block indexed, the clock a proposal's state and an escrow's vested amount are read
    # at. proposals: one row per ProposalCreated, its tallies, the voting units at its snapshot (read from VotePower
    # at its first vote: the quorum), queue, execution, cancel and veto; proposal_votes: one row per VoteCast;
    # voters: every account VotePower logged (votes as a delegate, its delegate, IFX locked, bonded stake);
    # governor_parameters: the Governor's quorum parameters (read once, then ParameterChanged); vesting_escrows: one
    # row per EscrowCreated of either factory, its claims (its lock in VotePower) and revocation; node_licenses: one
    # row per Issued, its holder (Transfer), the node that locked it in Staking, its revocation.
    """
    DELETE FROM events;
    DELETE FROM jobs;
    DELETE FROM tasks;
    DELETE FROM task_attempts;
    DELETE FROM verdicts;
    DELETE FROM committees;
    DELETE FROM committee_members;
    DELETE FROM workers;
    DELETE FROM epochs;
    DELETE FROM lane_batches;
    DELETE FROM lane_batch_tasks;
    DELETE FROM lane_batch_members;
    DELETE FROM indexer_cursor;
    ALTER TABLE indexer_cursor ADD COLUMN block_time INTEGER;
    CREATE TABLE proposals (
        proposal_id TEXT PRIMARY KEY,
        proposer TEXT NOT NULL,
        description TEXT NOT NULL,
        targets TEXT NOT NULL,
        amounts TEXT NOT NULL,
        calldatas TEXT NOT NULL,
        vote_start INTEGER NOT NULL,
        vote_end INTEGER NOT NULL,
        security INTEGER NOT NULL,
        for_votes TEXT NOT NULL DEFAULT '0',
        against_votes TEXT NOT NULL DEFAULT '0',
        abstain_votes TEXT NOT NULL DEFAULT '0',
        voters INTEGER NOT NULL DEFAULT 0,
        snapshot_supply TEXT,
        queued_at INTEGER,
        eta INTEGER,
        operation TEXT,
        executed_block INTEGER,
        executed_at INTEGER,
        canceled INTEGER NOT NULL DEFAULT 0,
        canceled_block INTEGER,
        vetoed INTEGER NOT NULL DEFAULT 0,
        veto_votes TEXT NOT NULL DEFAULT '0',
        veto_needed TEXT,
        vetoes INTEGER NOT NULL DEFAULT 0,
        created_block INTEGER NOT NULL,
        created_log INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX proposals_created ON proposals (created_block, created_log);
    CREATE INDEX proposals_proposer ON proposals (proposer, created_block, created_log);
    CREATE INDEX proposals_operation ON proposals (operation);
    CREATE TABLE proposal_votes (
        proposal_id TEXT NOT NULL,
        voter TEXT NOT NULL,
        support INTEGER NOT NULL,
        weight TEXT NOT NULL,
        reason TEXT NOT NULL,
        block INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        cast_at INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (proposal_id, voter)
    );
    CREATE INDEX proposal_votes_order ON proposal_votes (proposal_id, block, log_index);
    CREATE INDEX proposal_votes_voter ON proposal_votes (voter, block, log_index);
    CREATE TABLE voters (
        address TEXT PRIMARY KEY,
        votes TEXT NOT NULL DEFAULT '0',
        delegate TEXT,
        locked TEXT NOT NULL DEFAULT '0',
        staked TEXT NOT NULL DEFAULT '0',
        escrow INTEGER NOT NULL DEFAULT 0,
        updated_block INTEGER NOT NULL
    );
    CREATE TABLE governor_parameters (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE vesting_escrows (
        escrow TEXT PRIMARY KEY,
        factory TEXT NOT NULL,
        factory_name TEXT NOT NULL,
        revocable INTEGER,
        beneficiary TEXT NOT NULL,
        total TEXT NOT NULL,
        start INTEGER NOT NULL,
        tge_bps INTEGER NOT NULL,
        cliff INTEGER NOT NULL,
        duration INTEGER NOT NULL,
        claimed TEXT NOT NULL DEFAULT '0',
        revoked INTEGER NOT NULL DEFAULT 0,
        revoked_at INTEGER,
        returned TEXT NOT NULL DEFAULT '0',
        created_block INTEGER NOT NULL,
        created_log INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX vesting_escrows_beneficiary ON vesting_escrows (beneficiary, created_block, created_log);
    CREATE TABLE node_licenses (
        license_id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL,
        node_types INTEGER NOT NULL,
        issuer TEXT NOT NULL,
        staked_by TEXT,
        revoked INTEGER NOT NULL DEFAULT 0,
        revoked_block INTEGER,
        issued_block INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    );
    CREATE INDEX node_licenses_owner ON node_licenses (owner, license_id);
    CREATE INDEX node_licenses_staked_by ON node_licenses (staked_by, license_id)
    """,
]
