// The batch lane's leaves and Merkle proofs, computed here from public data (the same as inferix/batches.py and
// BatchLane.vy): a challenge needs no server's word, and a root that does not match the chain's is refused.
import { encodeAbiParameters, keccak256, toBytes, concat } from "viem";

const LEAF = [{ type: "uint256" }, { type: "tuple", components: [
  { type: "address" }, { type: "uint256" }, { type: "uint256" }, { type: "bytes32" }, { type: "uint32" },
  { type: "uint32" }, { type: "bytes32" }] }];

/** A task of GET /v1/batches/{id} as BatchLane's Leaf struct. */
export function leafOf(task) {
  return { worker: task.worker, ibm: BigInt(task.ibm), fee: BigInt(task.fee), manifestDigest: task.manifest_digest,
           frameStart: task.frame_start, frameEnd: task.frame_end, package: keccak256(toBytes(task.package_cid)) };
}

function tupleOf(leaf) {
  return [leaf.worker, leaf.ibm, leaf.fee, leaf.manifestDigest, leaf.frameStart, leaf.frameEnd, leaf.package];
}

export function leafNode(index, leaf) {
  return keccak256(keccak256(encodeAbiParameters(LEAF, [BigInt(index), tupleOf(leaf)])));
}

function pair(a, b) {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

function up(level) {
  const next = [];
  for (let k = 0; k + 1 < level.length; k += 2) next.push(pair(level[k], level[k + 1]));
  if (level.length % 2) next.push(level[level.length - 1]);
  return next;
}

export function merkleRoot(nodes) {
  let level = [...nodes];
  while (level.length > 1) level = up(level);
  return level[0];
}

export function merkleProof(nodes, index) {
  const proof = [];
  let level = [...nodes];
  let i = index;
  while (level.length > 1) {
    if ((i ^ 1) < level.length) proof.push(level[i ^ 1]);
    level = up(level);
    i = Math.floor(i / 2);
  }
  return proof;
}

/** The leaf and proof of task `index` of a batch read from the index; throws when the leaves do not make the root. */
export function proofFor(batch, index) {
  const leaves = batch.tasks.map(leafOf);
  const nodes = leaves.map((leaf, i) => leafNode(i, leaf));
  if (merkleRoot(nodes).toLowerCase() !== batch.root.toLowerCase())
    throw new Error("The batch's tasks as the index reports them do not make its root on chain: refusing to use them.");
  return { leaf: leaves[index], proof: merkleProof(nodes, index) };
}
