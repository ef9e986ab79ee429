"""The manager's step reads only the tasks still open: a task it has seen settled, failed or cancelled is never read
from the chain again (a manager that has run thousands of tasks must not read every one of them twice a second).
The chain is a stub answering ``JobEscrow.tasks``."""

from __future__ import annotations

from types import SimpleNamespace

from backend.db import connect, migrate
from backend.manager import Manager, ManagerConfig
from backend.state import APP_MIGRATIONS
from inferix.protocol import TaskState, _field_names

NOW = 1_800_000_000


class StubChain:
    """``JobEscrow.tasks(id)`` from a dict of states; counts the reads per task; refuses any transaction."""

    def __init__(self, states: dict[int, TaskState]) -> None:
        self.states = states
        self.reads: dict[int, int] = {}
        self.address = "0x" + "11" * 20
        self.w3 = SimpleNamespace(eth=SimpleNamespace(get_block=lambda _: {"timestamp": NOW}))

    def call(self, contract: str, function: str, *args):
        assert (contract, function) == ("JobEscrow", "tasks"), (contract, function)
        task_id = args[0]
        self.reads[task_id] = self.reads.get(task_id, 0) + 1
        fields = {name: 0 for name in _field_names("JobEscrow", "tasks")}
        fields.update(job_id=1, state=int(self.states[task_id]), worker="0x" + "22" * 20, key_commit=b"\x01" * 32,
                      manifest_digest=b"\x02" * 32, result_hash=b"\x00" * 32, challenger="0x" + "00" * 20,
                      deadline=NOW + 600, passed=True, late=False)
        return tuple(fields[name] for name in _field_names("JobEscrow", "tasks"))

    def transact(self, *args, **kwargs):
        raise AssertionError(f"unexpected transaction {args}")


def test_a_task_seen_final_is_never_read_again(tmp_path):
    conn = connect(tmp_path / "manager.sqlite")
    migrate(conn, "app", APP_MIGRATIONS)
    states = {1: TaskState.SETTLED, 2: TaskState.FAILED, 3: TaskState.CANCELLED, 4: TaskState.ACCEPTED}
    for task_id in states:
        conn.execute("INSERT INTO seeds (key_commit, job_id, task_index, task_id, sealed_seed, package_cid, ibm, "
                     "frame_start, frame_end) VALUES (?, 1, ?, ?, ?, 'bafy', 1000, 1, 1)",
                     (f"{task_id:064x}", task_id, task_id, b"sealed"))
    chain = StubChain(states)
    manager = Manager(chain, None, conn, ManagerConfig(stake=0, seed_key=b"k" * 32, work_dir=tmp_path))

    for _ in range(3):
        manager.step_tasks()

    assert chain.reads == {1: 1, 2: 1, 3: 1, 4: 3}  # the open task is followed at every step, the others once
    ended = dict(conn.execute("SELECT task_id, ended FROM seeds").fetchall())
    assert ended == {1: 1, 2: 1, 3: 1, 4: 0}
