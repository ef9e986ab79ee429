// The wallet: any EIP-1193 provider found through EIP-6963 discovery (MetaMask, Rabby, Coinbase Wallet, ...), the
// right network, and Sign-In with Ethereum (EIP-4361) for the manager's creator endpoints.
import { getAddress, numberToHex } from "viem";
import { createSiweMessage } from "viem/siwe";

import { api, saveSession, savedSession } from "./api.js";
import { set, state } from "./state.js";

/** Listen for wallets announcing themselves, and ask them to. */
export function discover() {
  window.addEventListener("eip6963:announceProvider", (event) => {
    const { info, provider } = event.detail || {};
    if (!info || !provider || state.providers.some((p) => p.info.uuid === info.uuid)) return;
    set({ providers: [...state.providers, { info, provider }] });
    // the wallet chosen last time reconnects without a prompt when it still has our permission
    if (localStorage.getItem("inferix.wallet") === info.rdns && !state.wallet) reconnect({ info, provider });
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
}

/** The words for a wallet failure; `rejected` is true when the user said no in the wallet. */
export function explainWallet(exc) {
  const code = exc && (exc.code ?? (exc.cause && exc.cause.code));
  if (code === 4001 || /rejected|denied/i.test((exc && exc.message) || ""))
    return { rejected: true, text: "You rejected the request in your wallet. Nothing was signed or sent; you can try again." };
  if (code === 4100) return { text: "Your wallet has not authorized this site: connect again." };
  if (code === 4902) return { text: "Your wallet does not know this network yet." };
  if (code === -32002) return { text: "Your wallet already has a request waiting: open it to answer." };
  return { text: (exc && (exc.shortMessage || exc.message)) || String(exc) };
}

function watch(provider) {
  if (!provider.on) return;
  provider.on("accountsChanged", (accounts) => {
    const account = accounts && accounts[0] ? getAddress(accounts[0]) : null;
    set({ account, session: account ? savedSession(account) : null });
  });
  provider.on("chainChanged", (chainId) => set({ chainId: Number(chainId) }));
}

async function reconnect(choice) {
  try {
    const accounts = await choice.provider.request({ method: "eth_accounts" });
    if (accounts && accounts.length) await adopt(choice, accounts);
  } catch {
    /* not permitted any more: the user connects again */
  }
}

async function adopt(choice, accounts) {
  const account = getAddress(accounts[0]);
  const chainId = Number(await choice.provider.request({ method: "eth_chainId" }));
  localStorage.setItem("inferix.wallet", choice.info.rdns);
  set({ wallet: choice, account, chainId, session: savedSession(account) });
  watch(choice.provider);
}

export async function connect(choice) {
  const accounts = await choice.provider.request({ method: "eth_requestAccounts" });
  if (!accounts || !accounts.length) throw new Error("Your wallet shared no account.");
  await adopt(choice, accounts);
}

export function disconnect() {
  localStorage.removeItem("inferix.wallet");
  saveSession(null);
  set({ wallet: null, account: null, chainId: null });
}

export function wrongChain() {
  return Boolean(state.wallet && state.network && state.chainId !== state.network.chain_id);
}

/** Ask the wallet to switch to the app's network (adding it when the wallet does not know it). */
export async function switchChain() {
  const { network } = state;
  const chainId = numberToHex(network.chain_id);
  try {
    await state.wallet.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (exc) {
    if ((exc && exc.code) !== 4902) throw exc;
    await state.wallet.provider.request({
      method: "wallet_addEthereumChain",
      params: [{ chainId, chainName: `Inferix (${network.network})`, rpcUrls: [network.rpc_url],
                 nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 } }],
    });
  }
  set({ chainId: Number(await state.wallet.provider.request({ method: "eth_chainId" })) });
}

/** SIWE: a nonce from the manager, the message signed by the wallet (personal_sign), a session token back. */
export async function signIn() {
  if (wrongChain()) throw new Error("Switch your wallet to this app's network first.");
  const nonce = await api("/v1/auth/nonce", { method: "POST" });
  const now = new Date();
  const message = createSiweMessage({
    domain: nonce.domain, address: state.account, uri: nonce.uri, version: "1", chainId: nonce.chain_id,
    nonce: nonce.nonce, statement: "Sign in to Inferix", issuedAt: now,
    expirationTime: new Date(now.getTime() + 5 * 60 * 1000),
  });
  const signature = await state.wallet.provider.request({ method: "personal_sign", params: [message, state.account] });
  const session = await api("/v1/auth/verify", { method: "POST", body: { message, signature } });
  saveSession(session);
  return session;
}
