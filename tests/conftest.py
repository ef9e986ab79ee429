"""Fixtures shared across test packages: real services started by the tests, on 127.0.0.1 only."""

from __future__ import annotations

import pytest

from inferix.ipfs_node import LocalIPFSNode


@pytest.fixture(scope="session")
def ipfs_node(tmp_path_factory):
    """A real js-ipfs daemon with its own repo, stopped at the end of the session."""
    node = LocalIPFSNode(tmp_path_factory.mktemp("ipfs") / "repo")
    node.start()
    yield node
    node.stop()
