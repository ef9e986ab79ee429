# pragma version ~=0.4.3
"""
@title Inferix governance timelock
@custom:contract-name Timelock
@license MIT
@notice snekmate's `timelock_controller`: every parameter change of the
        protocol contracts is scheduled here and executes only after the
        minimum delay. The contracts themselves bound every parameter.
"""

from snekmate.auth import access_control
from snekmate.governance import timelock_controller

initializes: access_control
initializes: timelock_controller[access_control := access_control]

exports: timelock_controller.__interface__


@deploy
def __init__(minimum_delay_: uint256, proposers_: DynArray[address, 8], executors_: DynArray[address, 8], admin_: address):
    """
    @param minimum_delay_ Seconds between schedule and execute.
    @param proposers_ Accounts that may propose and cancel.
    @param executors_ Accounts that may execute (empty(address) = anyone).
    @param admin_ Optional admin for initial set-up (zero to disable).
    """
    access_control.__init__()
    timelock_controller.__init__(minimum_delay_, proposers_, executors_, admin_)
