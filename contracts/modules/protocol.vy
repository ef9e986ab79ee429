# pragma version ~=0.4.3
"""
@title Shared protocol constants: task states, node roles, units
@custom:contract-name protocol
@license MIT
@notice One home for the numbers every Inferix contract and node agrees
        on (`inferix/protocol.py` mirrors them for the Python side).
"""

# task states
POSTED: constant(uint8) = 1
ASSIGNED: constant(uint8) = 2
ACCEPTED: constant(uint8) = 3
SUBMITTED: constant(uint8) = 4
REVEALED: constant(uint8) = 5
VERIFIED: constant(uint8) = 6
DISPUTED: constant(uint8) = 7
SETTLED: constant(uint8) = 8
FAILED: constant(uint8) = 9
CANCELLED: constant(uint8) = 10

# node roles
ROLE_WORKER: constant(uint8) = 1
ROLE_ORACLE: constant(uint8) = 2
ROLE_MANAGER: constant(uint8) = 3

# units
BPS: constant(uint256) = 10_000
IBM_ONE: constant(uint256) = 10**6
IB_ONE: constant(uint256) = 10**6
