# pragma version ~=0.4.3
"""
@title Governance check and one-shot wiring guard
@custom:contract-name governed
@license MIT
@notice Every protocol contract has a `governance` address (the timelock)
        that alone changes its parameters, and a one-time `wire` call by
        its deployer that connects it to the contracts deployed after it.
        Both checks live here, once.
"""

# @dev The timelock allowed to change parameters.
governance: public(immutable(address))
deployer: immutable(address)
# @dev True once the one-time wiring is done.
wired: public(bool)


@deploy
def __init__(governance_: address):
    """
    @param governance_ The governance timelock.
    """
    assert governance_ != empty(address), "governed: zero governance"
    governance = governance_
    deployer = msg.sender


@internal
def _check_governance():
    assert msg.sender == governance, "governed: caller is not governance"


@internal
def _wire_once():
    assert msg.sender == deployer, "governed: caller is not the deployer"
    assert not self.wired, "governed: already wired"
    self.wired = True
