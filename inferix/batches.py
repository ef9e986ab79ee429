"""The batch lane's data, computed exactly as ``contracts/BatchLane.vy`` and ``BatchCommittee.vy`` do.

A batch is a list of leaves (one per task) grouped by worker; its Merkle root and every worker's result root are on
chain, the leaves and the result CIDs in calldata and events. Every node that posts, proves, challenges or settles
a batch needs the same bytes: this module is their one home (the contracts' hashing is checked against it by
``tests/unit/contracts/test_batches.py``).

* leaf node ``keccak256(keccak256(abi.encode(index, leaf)))``; result node the same over ``(index, cid)``;
* tree: pairs hashed sorted (OpenZeppelin's and snekmate's proofs), an odd last node carried up a level;
* a worker's acceptance signs the keccak256 chain of its leaf nodes (``h = keccak256(h ‖ node)`` from zero);
* batch id ``keccak256(abi.encode(manager, nonce))``; task seed ``keccak256(abi.encode(batch seed, batch id, i))``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

LEAF_TYPE = "(address,uint256,uint256,bytes32,uint32,uint32,bytes32)"
MAX_LEAVES = 256
MAX_WORKERS = 32


@dataclass(frozen=True)
class Leaf:
    """One task of a batch: its worker, work (micro-IBM), fee (IFX wei), the digest of its sealed manifest, its
    frames and its noised package's CID (the leaf holds the CID's keccak256)."""
    worker: str
    ibm: int
    fee: int
    manifest_digest: bytes
    frame_start: int
    frame_end: int
    package: str

    def as_tuple(self) -> tuple:
        return (to_checksum_address(self.worker), self.ibm, self.fee, self.manifest_digest, self.frame_start,
                self.frame_end, keccak(text=self.package))


def leaf_to_json(leaf: Leaf) -> dict:
    """A leaf as JSON (an offer's wire format): integers as decimal strings where they may exceed 2**53."""
    return {"worker": to_checksum_address(leaf.worker), "ibm": leaf.ibm, "fee": str(leaf.fee),
            "manifest_digest": "0x" + leaf.manifest_digest.hex(), "frame_start": leaf.frame_start,
            "frame_end": leaf.frame_end, "package": leaf.package}


def leaf_from_json(data: dict) -> Leaf:
    """The leaf of :func:`leaf_to_json`; ``ValueError`` names what is malformed (an offer is untrusted input)."""
    try:
        digest = bytes.fromhex(str(data["manifest_digest"]).removeprefix("0x"))
        leaf = Leaf(to_checksum_address(data["worker"]), int(data["ibm"]), int(data["fee"]), digest,
                    int(data["frame_start"]), int(data["frame_end"]), str(data["package"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed leaf: {exc.__class__.__name__}: {exc}") from None
    if len(digest) != 32 or not (0 < leaf.ibm < 2**256 and 0 < leaf.fee < 2**256) \
            or not 0 <= leaf.frame_start <= leaf.frame_end < 2**32 or not 0 < len(leaf.package) <= 100:
        raise ValueError("malformed leaf: a field is out of range")
    return leaf


@dataclass(frozen=True)
class Offer:
    """A manager's offer of one worker group of a batch (docs/protocol.md, "Batches in the services"): the whole
    batch's leaves (the worker's acceptance signs its own group's), its group, the render window and the time by
    which the batch is posted (``accept_by``, which the signature carries)."""
    batch_id: bytes
    job_id: int
    group: int
    render_window: int
    accept_by: int
    leaves: tuple[Leaf, ...]

    @property
    def span(self) -> Group:
        return groups(list(self.leaves))[self.group]

    def to_json(self) -> dict:
        span = self.span
        return {"batch_id": "0x" + self.batch_id.hex(), "job_id": self.job_id, "group": self.group,
                "first": span.first, "count": span.end - span.first, "worker": to_checksum_address(span.worker),
                "render_window": self.render_window, "accept_by": self.accept_by,
                "leaves": [leaf_to_json(leaf) for leaf in self.leaves]}

    @classmethod
    def from_json(cls, data: dict) -> "Offer":
        """``ValueError`` when malformed: ids, group, leaves (at most 256, each worker's consecutive)."""
        try:
            batch = bytes.fromhex(str(data["batch_id"]).removeprefix("0x"))
            raw = data["leaves"]
            if not isinstance(raw, list) or not 0 < len(raw) <= MAX_LEAVES:
                raise ValueError(f"between 1 and {MAX_LEAVES} leaves")
            offer = cls(batch, int(data["job_id"]), int(data["group"]), int(data["render_window"]),
                        int(data["accept_by"]), tuple(leaf_from_json(leaf) for leaf in raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed offer: {exc}") from None
        if len(batch) != 32:
            raise ValueError("malformed offer: the batch id is not 32 bytes")
        spans = groups(list(offer.leaves))
        if not 0 <= offer.group < len(spans) or len(spans) > MAX_WORKERS:
            raise ValueError("malformed offer: no such group")
        return offer


def leaf_node(index: int, leaf: Leaf) -> bytes:
    return keccak(keccak(encode(["uint256", LEAF_TYPE], [index, leaf.as_tuple()])))


def result_node(index: int, cid: str) -> bytes:
    return keccak(keccak(encode(["uint256", "string"], [index, cid])))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def merkle_root(nodes: list[bytes]) -> bytes:
    if not nodes:
        raise ValueError("an empty tree has no root")
    level = list(nodes)
    while len(level) > 1:
        nxt = [_pair(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_proof(nodes: list[bytes], index: int) -> list[bytes]:
    """The siblings from node ``index`` up to the root (a carried odd node has none at its level)."""
    if not 0 <= index < len(nodes):
        raise IndexError(f"no node {index} among {len(nodes)}")
    proof, level, i = [], list(nodes), index
    while len(level) > 1:
        sibling = i ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        nxt = [_pair(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, i = nxt, i // 2
    return proof


def verify(proof: list[bytes], root: bytes, node: bytes) -> bool:
    h = node
    for p in proof:
        h = _pair(h, p)
    return h == root


def batch_id(manager: str, nonce: int) -> bytes:
    return keccak(encode(["address", "uint256"], [to_checksum_address(manager), nonce]))


def task_seed(batch_seed: bytes, batch: bytes, index: int) -> bytes:
    return keccak(encode(["bytes32", "bytes32", "uint256"], [batch_seed, batch, index]))


def vote_commitment(batch: bytes, oracle: str, pass_bits: int, salt: bytes) -> bytes:
    return keccak(encode(["bytes32", "address", "uint256", "bytes32"],
                         [batch, to_checksum_address(oracle), pass_bits, salt]))


@dataclass(frozen=True)
class Group:
    """A worker's consecutive leaves: ``leaves[first:end]``."""
    worker: str
    first: int
    end: int


def groups(leaves: list[Leaf]) -> list[Group]:
    """The worker groups of a batch, in order; raises when a worker's leaves are not consecutive."""
    out: list[Group] = []
    for i, leaf in enumerate(leaves):
        if out and out[-1].worker.lower() == leaf.worker.lower():
            out[-1] = Group(out[-1].worker, out[-1].first, i + 1)
            continue
        if any(g.worker.lower() == leaf.worker.lower() for g in out):
            raise ValueError(f"worker {leaf.worker}'s leaves are not consecutive")
        out.append(Group(leaf.worker, i, i + 1))
    return out


def acceptance_chain(leaves: list[Leaf], group: Group) -> bytes:
    """What a worker's acceptance signs: the keccak256 chain of its leaf nodes."""
    h = b"\x00" * 32
    for i in range(group.first, group.end):
        h = keccak(h + leaf_node(i, leaves[i]))
    return h


def pass_bits(verdicts: list[bool]) -> int:
    """A member's bitmap: bit i set when task i passes."""
    return sum(1 << i for i, ok in enumerate(verdicts) if ok)


def decode_call(contract: str, data: bytes) -> tuple[str, dict]:
    """A lane or committee call's function name and arguments, decoded from its calldata (the transaction's input):
    the leaves of a post, the result CIDs of a submission, live there and nowhere else on chain."""
    from web3 import Web3

    from inferix.abi import abi

    fn, args = Web3().eth.contract(abi=abi(contract)).decode_function_input(bytes(data))
    return fn.fn_name, dict(args)


def decode_post(data: bytes) -> tuple[list[Leaf], dict]:
    """The leaves (package CIDs included) and the other arguments of a ``BatchLane.postBatch`` call's calldata."""
    name, args = decode_call("BatchLane", data)
    if name != "postBatch":
        raise ValueError(f"not a postBatch call: {name}")
    leaves = []
    for raw, package in zip(args["leaves"], args["packages"]):
        worker, ibm, fee, digest, start, end, package_hash = (raw[k] for k in (
            "worker", "ibm", "fee", "manifestDigest", "frameStart", "frameEnd", "package")) if isinstance(raw, dict) \
            else raw
        leaf = Leaf(worker, ibm, fee, bytes(digest), start, end, package)
        if keccak(text=package) != bytes(package_hash):
            raise ValueError(f"package CID {package!r} does not match its leaf")
        leaves.append(leaf)
    return leaves, args


def decode_results(data: bytes) -> tuple[int, list[str]]:
    """The worker group and its result CIDs, from a ``BatchLane.submitResults`` call's calldata."""
    name, args = decode_call("BatchLane", data)
    if name != "submitResults":
        raise ValueError(f"not a submitResults call: {name}")
    return args["group"], list(args["cids"])
