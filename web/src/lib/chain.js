// The chain: the network the manager names (GET /v1/network), a public client for reads, the wallet's client for
// writes. Contract names are the deployment's (IFXToken, Staking, JobEscrow, ...).
import { createPublicClient, createWalletClient, custom, defineChain, formatUnits, http } from "viem";

import { ABIS, ROLE_CONTRACTS } from "./abis.js";
import { api } from "./api.js";
import { set, state } from "./state.js";

let publicClient = null;

export function chainOf(network) {
  return defineChain({
    id: network.chain_id,
    name: network.network === "local" ? "Inferix local chain" : `Inferix (${network.network})`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [network.rpc_url] } },
  });
}

export async function loadNetwork(attempt = 0) {
  try {
    const network = await api("/v1/network", { timeout: 15000 });
    publicClient = createPublicClient({ chain: chainOf(network), transport: http(network.rpc_url) });
    set({ network, networkError: null });
  } catch (exc) {
    // a busy or restarting manager: say so, and try again by itself (the user may too)
    set({ networkError: `${exc.message} Retrying…` });
    setTimeout(() => !state.network && loadNetwork(attempt + 1), Math.min(2000 * 2 ** attempt, 30000));
  }
}

export function abiOf(name) {
  return ABIS[ROLE_CONTRACTS[name] || name];
}

export function addressOf(name) {
  const address = state.network && state.network.contracts[name];
  if (!address) throw new Error(`This deployment has no ${name} contract.`);
  return address;
}

/** The deployment's name of a contract address (for showing what a transaction calls). */
export function nameOf(address) {
  const contracts = (state.network && state.network.contracts) || {};
  return Object.keys(contracts).find((n) => contracts[n].toLowerCase() === String(address).toLowerCase()) || null;
}

export function reads() {
  if (!publicClient) throw new Error("The network is not loaded yet.");
  return publicClient;
}

export function read(contract, functionName, args = []) {
  return reads().readContract({ address: addressOf(contract), abi: abiOf(contract), functionName, args });
}

/** Several reads at once (one round trip each; anvil has no multicall contract). */
export function readAll(calls) {
  return Promise.all(calls.map(([contract, fn, args]) => read(contract, fn, args || [])));
}

export function walletClient() {
  if (!state.wallet || !state.account) throw new Error("Connect a wallet first.");
  return createWalletClient({ account: state.account, chain: chainOf(state.network), transport: custom(state.wallet.provider) });
}

export const IFX = 10n ** 18n;

/** "1,234.56 IFX" from wei (bigint or decimal string). */
export function fmtIfx(wei, digits = 2) {
  return `${fmtUnits(wei, 18, digits)} IFX`;
}

export function fmtUsd(wei18, digits = 2) {
  return `$${fmtUnits(wei18, 18, digits)}`;
}

export function fmtUnits(value, decimals = 18, digits = 2) {
  const n = Number(formatUnits(BigInt(value ?? 0), decimals));
  // small amounts keep their significant digits (0.0047 IFX, not "0 IFX")
  if (n !== 0 && Math.abs(n) < 1) return n.toLocaleString("en-US", { maximumSignificantDigits: Math.max(digits, 3) });
  return n.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

export function short(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "";
}
