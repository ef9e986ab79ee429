"""The node database survives a reopen (a restart) with cursors and task records intact."""

from inferix.nodedb import NodeDB


def test_state_survives_reopen(tmp_path):
    db = NodeDB(tmp_path / "node.sqlite")
    assert db.cursor("escrow", 7) == 7
    db.set_cursor("escrow", 42)
    db.set_task(3, 0, "accepted", cid="bafy", frames=[1, 2])
    db.set_task(3, 0, "submitted", tx="0xabc")
    db.set_task(4, 1, "verified")
    db.put("registered", True)
    db.close()

    db = NodeDB(tmp_path / "node.sqlite")
    assert db.cursor("escrow", 7) == 42
    assert db.task(3, 0) == ("submitted", {"cid": "bafy", "frames": [1, 2], "tx": "0xabc"})
    assert db.task(3, 1) is None
    assert [t[:3] for t in db.tasks("submitted", "verified")] == [(3, 0, "submitted"), (4, 1, "verified")]
    assert db.get("registered") is True
    assert db.get("missing", "default") == "default"
