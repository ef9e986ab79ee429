"""Test and demo tooling, never used by a node: a local anvil with the deployed contracts and the devnet accounts
(:mod:`.devnet`), a local js-ipfs daemon (:mod:`.ipfs`), free ports."""
