"""Projections of ProofOfRender: drawn committees, their committed and revealed votes, no-shows, outcomes and
the oracles' slashes.

Each attempt of a task is judged by a committee drawn from a beacon round (``CommitteeDrawn``, with the attempt);
its members commit to their vote (``VoteCommitted``), then reveal it (``VerdictSigned``, one per revealed vote).
The last reveal, or ``finalize`` after the reveal phase, ends the committee: members that did not reveal are
no-shows (``NoShow``; Staking's ``NoShowRecorded`` counts the node's misses), then ``VerdictFinal`` (a quorum; the
escrow's ``VerdictRecorded`` follows) or ``NoVerdict`` (no quorum; the escrow's deadline re-queues the task).
Events that carry no attempt concern the task's current one (``tasks.attempts``).

One method per event, ``_on_ProofOfRender_<Event>(e, args, block_time)``; they run inside the range's transaction
(:class:`backend.indexer.base.IndexerBase`)."""

from __future__ import annotations

from inferix.chain import Event


class ProofOfRenderProjections:
    def _committee_change(self, task_id: int, attempt: int, changes: dict) -> None:
        sets = ", ".join(f"{column} = ?" for column in changes)
        self.conn.execute(f"UPDATE committees SET {sets} WHERE task_id = ? AND attempt = ?",
                          (*changes.values(), task_id, attempt))

    def _member_change(self, task_id: int, attempt: int, oracle: str, changes: dict) -> None:
        sets = ", ".join(f"{column} = ?" for column in changes)
        self.conn.execute(f"UPDATE committee_members SET {sets} WHERE task_id = ? AND attempt = ? AND oracle = ?",
                          (*changes.values(), task_id, attempt, oracle))

    def _on_ProofOfRender_CommitteeDrawn(self, e: Event, a: dict, t: int) -> None:
        members = list(a["members"])
        self.conn.execute(
            "INSERT INTO committees (task_id, attempt, round, size, commit_ends, drawn_block, tx_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["taskId"], a["attempt"], a["round"], len(members), a["commitEnds"], e.block, e.tx_hash))
        for seat, oracle in enumerate(members):
            self.conn.execute("INSERT INTO committee_members (task_id, attempt, oracle, seat) "
                              "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (a["taskId"], a["attempt"], oracle, seat))

            def drawn(node):
                node["committee_seats"] += 1
            self._node_change(oracle, e, drawn)

    def _on_ProofOfRender_VoteCommitted(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        changes = {"committed": a["committed"]}
        size = self.conn.execute("SELECT size FROM committees WHERE task_id = ? AND attempt = ?",
                                 (a["taskId"], task["attempts"])).fetchone()
        if size is not None and a["committed"] == size[0]:
            changes["commit_ends"] = t  # every member committed: the reveal phase opened at once
        self._committee_change(a["taskId"], task["attempts"], changes)
        self._member_change(a["taskId"], task["attempts"], a["oracle"], {"committed_block": e.block})

    def _on_ProofOfRender_VerdictSigned(self, e: Event, a: dict, t: int) -> None:
        # a member revealed its committed vote
        task = self._task(e, a["taskId"])
        if task is None:
            return
        attempt = task["attempts"]
        self.conn.execute(
            "INSERT INTO verdicts (task_id, attempt, oracle, passed, score, block, log_index, tx_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a["taskId"], attempt, a["oracle"], int(a["passed"]), a["score"], e.block, e.log_index, e.tx_hash))
        tally = "pass_votes" if a["passed"] else "fail_votes"
        self.conn.execute(f"UPDATE committees SET revealed = revealed + 1, {tally} = {tally} + 1 "
                          "WHERE task_id = ? AND attempt = ?", (a["taskId"], attempt))
        self._member_change(a["taskId"], attempt, a["oracle"], {"revealed_block": e.block})

        def oracle(node):
            node["verdicts"] += 1
        self._node_change(a["oracle"], e, oracle)

    def _on_ProofOfRender_NoShow(self, e: Event, a: dict, t: int) -> None:
        # a member that did not reveal (the node's miss counter and any stake slashed for it came with
        # Staking.NoShowRecorded just before)
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self._member_change(a["taskId"], task["attempts"], a["oracle"],
                            {"no_show": 1, "no_show_slashed": str(a["slashed"])})

    def _on_ProofOfRender_BadManifestProven(self, e: Event, a: dict, t: int) -> None:
        # the attempt's sealed manifest did not open with its seed: the escrow's ManagerSlashed and TaskFailed follow
        self._committee_change(a["taskId"], a["attempt"], {"outcome": "bad_manifest"})

    def _on_ProofOfRender_VerdictFinal(self, e: Event, a: dict, t: int) -> None:
        self._committee_change(a["taskId"], a["attempt"], {"outcome": "passed" if a["passed"] else "failed",
                                                           "ended_block": e.block})

    def _on_ProofOfRender_NoVerdict(self, e: Event, a: dict, t: int) -> None:
        self._committee_change(a["taskId"], a["attempt"], {"outcome": "no_verdict", "pass_votes": a["passVotes"],
                                                           "fail_votes": a["failVotes"], "ended_block": e.block})

    def _on_ProofOfRender_OracleSlashed(self, e: Event, a: dict, t: int) -> None:
        task = self._task(e, a["taskId"])
        if task is None:
            return
        self.conn.execute("UPDATE verdicts SET slashed = ? WHERE task_id = ? AND attempt = ? AND oracle = ?",
                          (str(a["amount"]), a["taskId"], task["attempts"], a["oracle"]))
