# pragma version ~=0.4.3
"""
@title The manifest seal, opened on chain
@custom:contract-name seal
@license MIT
@notice A task's manifest is sealed with a keccak256 keystream under its
        seed (`inferix/sealing.py`): MAGIC (8) | header (96) | body, the
        header opening to HEADER_MAGIC, the seed commitment and the
        body's integrity tag. Proof of render and the batch lane open the
        header the same way, here, to prove a bogus manifest.
"""

SEAL_MAGIC: constant(bytes8) = 0x4946585345414c32  # "IFXSEAL2"
SEAL_HEAD: constant(uint256) = 104
HEADER_MAGIC: constant(bytes32) = 0x696e6665726978206d616e696665737420763200000000000000000000000000  # "inferix manifest v2"


@pure
@internal
def defect(seed: bytes32, head: Bytes[SEAL_HEAD], bodyHash: bytes32, keyCommit: bytes32) -> String[32]:
    # inferix/sealing.py manifest_defect: "" for a sound seal
    if len(head) < SEAL_HEAD or convert(slice(head, 0, 8), bytes8) != SEAL_MAGIC:
        return "not a sealed manifest"
    key: bytes32 = keccak256(concat(seed, b"inferix-seal-v2|enc"))
    words: bytes32[3] = empty(bytes32[3])
    for i: uint256 in range(3):
        sealed: uint256 = convert(extract32(head, 8 + 32 * i), uint256)
        words[i] = convert(sealed ^ convert(keccak256(concat(key, convert(i, bytes32))), uint256), bytes32)
    if words[0] != HEADER_MAGIC:
        return "header does not open"
    if words[1] != keyCommit:
        return "sealed for another seed"
    if words[2] != keccak256(concat(keccak256(concat(seed, b"inferix-seal-v2|mac")), bodyHash)):
        return "body does not match its tag"
    return ""
