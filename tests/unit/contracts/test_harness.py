"""The contract tests' harness: a revert is reported as the revert even where another contract once lived at the
same address (titanoboa rebuilds storage from every slot ever written there; the conftest tolerates it)."""

import boa

DEEP = """
m: HashMap[uint256, HashMap[uint256, HashMap[uint256, uint256]]]
@external
def w():
    self.m[1][2][3] = 1
"""
SHALLOW = """
n: HashMap[uint256, HashMap[uint256, uint256]]
@external
def w():
    self.n[5][6] = 1
@external
def boom():
    raise "shallow: boom"
"""


def test_a_revert_is_seen_where_another_layout_once_lived():
    with boa.env.anchor():
        with boa.env.anchor():
            deep = boa.loads(DEEP)
            deep.w()
        shallow = boa.loads(SHALLOW)
        assert shallow.address == deep.address  # the rewound nonce gives the same address
        shallow.w()
        with boa.reverts("shallow: boom"):
            shallow.boom()
