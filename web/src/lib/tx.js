// Every transaction and signature goes through review(): the page shows what it will do (contract, function,
// amounts) before the wallet asks; a transaction is simulated first, so a revert is explained in the contract's
// own words and never sent; then the app waits for the receipt.
import { html } from "htm/preact";
import { BaseError, ContractFunctionRevertedError, decodeFunctionData, encodeFunctionData } from "viem";

import { abiOf, addressOf, nameOf, reads, walletClient } from "./chain.js";
import { set, state } from "./state.js";
import { explainWallet, wrongChain } from "./wallet.js";

export class TxError extends Error {
  constructor(message, { rejected = false, reverted = false } = {}) {
    super(message);
    this.rejected = rejected;
    this.reverted = reverted;
  }
}

/** The contract's reason string in a viem error, if any. */
export function revertReason(exc) {
  if (!(exc instanceof BaseError)) return null;
  const reverted = exc.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted) return reverted.reason || (reverted.data && reverted.data.errorName) || "reverted without a reason";
  const text = exc.shortMessage || exc.message || "";
  const match = /reverted with reason string '([^']*)'|execution reverted: ?(.*)/.exec(text);
  return match ? match[1] || match[2] : null;
}

/** Show `request` ({ title, rows: [[label, value]], action }) and wait for the user's answer. */
export function review(request) {
  return new Promise((resolve, reject) => set({ pending: { ...request, resolve, reject, stage: "review" } }));
}

function stage(patch) {
  set({ pending: state.pending && { ...state.pending, ...patch } });
}

function describeArgs(abi, functionName, args) {
  const item = abi.find((x) => x.type === "function" && x.name === functionName && x.inputs.length === args.length);
  return (item ? item.inputs : []).map((input, i) => [input.name || `arg${i}`, show(args[i])]);
}

function show(value) {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  if (value && typeof value === "object") return JSON.stringify(value, (k, v) => (typeof v === "bigint" ? v.toString() : v));
  return String(value);
}

/**
 * Review, simulate, send and confirm one contract call. `what` says in words what it does; `rows` add figures
 * (amounts already formatted); `address` calls an instance of `contract`'s ABI the deployment does not name. Resolves
 * with the receipt; rejects with a TxError whose message is for people.
 */
export async function transact({ contract, fn, args = [], what, rows = [], value, address: at }) {
  if (wrongChain()) throw new TxError("Your wallet is on another network: switch to this app's network first.");
  const address = at || addressOf(contract); // `at`: an instance not named in the deployment (a vesting escrow)
  const abi = abiOf(contract);
  await review({
    title: what,
    rows: [["Contract", `${contract} (${address})`], ["Function", fn], ...describeArgs(abi, fn, args), ...rows],
    action: "Confirm in wallet",
  });
  try {
    stage({ stage: "simulating" });
    try {
      await reads().simulateContract({ address, abi, functionName: fn, args, account: state.account, value });
    } catch (exc) {
      const reason = revertReason(exc);
      if (reason !== null)
        throw new TxError(`${contract}.${fn} would be refused by the contract: “${reason}”. Nothing was sent.`, { reverted: true });
      throw exc;
    }
    stage({ stage: "wallet" });
    // a margin over the estimate: a checkpoint or an epoch's close costs more when mined a block later than estimated
    const estimate = await reads().estimateContractGas({ address, abi, functionName: fn, args, account: state.account, value });
    let hash;
    try {
      hash = await walletClient().sendTransaction({ to: address, data: encodeFunctionData({ abi, functionName: fn, args }), value,
                                                    gas: (estimate * 5n) / 4n + 50_000n });
    } catch (exc) {
      const why = explainWallet(exc);
      throw new TxError(why.text, { rejected: why.rejected });
    }
    stage({ stage: "mining", hash });
    const receipt = await reads().waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new TxError(`${contract}.${fn} reverted on chain (transaction ${hash}).`, { reverted: true });
    set({ pending: null });
    return receipt;
  } catch (exc) {
    set({ pending: null });
    if (exc instanceof TxError) throw exc;
    throw new TxError(revertReason(exc) || exc.shortMessage || exc.message);
  }
}

/** A transaction the manager prepared ({ to, data, description }): decoded with our own ABI, then transact(). */
export function sendPrepared(tx, rows = []) {
  const contract = nameOf(tx.to);
  if (!contract) throw new TxError(`The manager asked for a call to ${tx.to}, which is not one of this network's contracts. Refused.`);
  const { functionName, args } = decodeFunctionData({ abi: abiOf(contract), data: tx.data });
  return transact({ contract, fn: functionName, args: args || [], what: tx.description, rows });
}

/** Review, then have the wallet sign EIP-712 typed data (eth_signTypedData_v4). */
export async function signTyped(typedData, what, rows = []) {
  if (wrongChain()) throw new TxError("Your wallet is on another network: switch to this app's network first.");
  await review({ title: what, rows, action: "Sign in wallet" });
  try {
    stage({ stage: "wallet" });
    const data = JSON.stringify(typedData, (k, v) => (typeof v === "bigint" ? v.toString() : v));
    return await state.wallet.provider.request({ method: "eth_signTypedData_v4", params: [state.account, data] });
  } catch (exc) {
    const why = explainWallet(exc);
    throw new TxError(why.text, { rejected: why.rejected });
  } finally {
    set({ pending: null });
  }
}

const STAGES = {
  simulating: "Checking it with the contract…",
  wallet: "Waiting for your wallet…",
  mining: "Sent. Waiting for the receipt…",
};

/** The review dialog (one at a time). */
export function TxDialog() {
  const pending = state.pending;
  if (!pending) return null;
  const cancel = () => {
    set({ pending: null });
    pending.reject(new TxError("Cancelled: nothing was signed or sent.", { rejected: true }));
  };
  return html`<div class="backdrop">
    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="tx-title">
      <h2 id="tx-title">${pending.title}</h2>
      <dl class="facts">${pending.rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
      ${pending.stage === "review"
        ? html`<div class="actions">
            <button class="primary" autofocus onClick=${() => { stage({ stage: "wallet" }); pending.resolve(); }}>${pending.action}</button>
            <button onClick=${cancel}>Cancel</button></div>`
        : html`<p class="progress" role="status">${STAGES[pending.stage]}${pending.hash ? html` <code>${pending.hash}</code>` : ""}</p>`}
    </div></div>`;
}
