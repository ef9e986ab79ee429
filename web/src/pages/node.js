// The connected account's node: role, stake, collateral, unbonding, IB and its attestation, track record, BMW
// rewards per epoch; stake, unbond, withdraw, claim rewards and close the epoch, through the user's own wallet.
import { html } from "htm/preact";
import { useReducer, useState } from "preact/hooks";
import { parseUnits } from "viem";

import { api } from "../lib/api.js";
import { abiOf, addressOf, fmtIfx, fmtUnits, fmtUsd, read, readAll, reads } from "../lib/chain.js";
import { notify, state } from "../lib/state.js";
import { transact } from "../lib/tx.js";
import { Addr, Loading, fmtTime, useAction, useLoad } from "../lib/ui.js";

const ROLES = ["none", "worker", "oracle", "manager"];
const RECENT_EPOCHS = 12; // epochs in the rewards table at first; "Show earlier epochs" adds more
const POLL_MS = 15000;

/** IFX text ("12.5") to wei; throws a sentence when it is not a positive amount. */
export function parseIfx(text) {
  const clean = String(text || "").trim().replace(/,/g, "");
  if (!/^\d+(\.\d{1,18})?$|^\.\d{1,18}$/.test(clean)) throw new Error("Enter an amount of IFX, like 100 or 2.5.");
  const wei = parseUnits(clean, 18);
  if (wei <= 0n) throw new Error("Enter an amount above zero.");
  return wei;
}

/** The chain's clock (the latest block's timestamp): what the contracts compare deadlines with. */
export async function chainNow() {
  const block = await reads().getBlock();
  return Number(block.timestamp);
}

/** "3 h 20 min", "2 days 4 h", "45 s". */
export function fmtSpan(seconds) {
  let s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  if (d) return `${d} day${d > 1 ? "s" : ""}${h ? ` ${h} h` : ""}`;
  if (h) return `${h} h${m ? ` ${m} min` : ""}`;
  return `${m} min`;
}

async function notFoundIsNull(promise) {
  try {
    return await promise;
  } catch (exc) {
    if (exc && exc.status === 404) return null;
    throw exc;
  }
}

/** The node from the chain (Staking.nodes), the wallet's IFX, and the index's record of it. */
async function loadNode(account) {
  const [node, balance, unbondingPeriod] = await readAll([
    ["Staking", "nodes", [account]], ["IFXToken", "balanceOf", [account]], ["Staking", "unbondingPeriod"]]);
  const [record, now, attestation] = await Promise.all([
    notFoundIsNull(api(`/v1/workers/${account}`)), chainNow(), node.ib > 0n ? loadAttestation(account) : null]);
  return { account, node, balance, unbondingPeriod, record, now, attestation };
}

/** The last IBSet event of the worker: the benchmark settlement that attested its IB (null when not found). */
async function loadAttestation(account) {
  try {
    const fromBlock = BigInt((state.network && state.network.start_block) || 0);
    const logs = await reads().getContractEvents({ address: addressOf("Staking"), abi: abiOf("Staking"),
      eventName: "IBSet", args: { worker: account }, fromBlock });
    if (!logs.length) return null;
    const last = logs[logs.length - 1];
    const block = await reads().getBlock({ blockNumber: last.blockNumber });
    return { block: Number(last.blockNumber), tx: last.transactionHash, at: Number(block.timestamp), ib: last.args.ib };
  } catch {
    return null; // an RPC without log queries over that range: the IB itself is still shown
  }
}

/** The open epoch: its number, start and end, on the chain's clock. */
async function loadEpoch() {
  const current = await read("BMWIssuance", "currentEpoch");
  const [epoch, now] = await Promise.all([read("BMWIssuance", "epochs", [current]), chainNow()]);
  return { current, start: Number(epoch.start), ends: Number(epoch.start + epoch.length), now };
}

/** claimable(epoch, account) for the `count` latest epochs (newest first), with each epoch's closed flag. */
async function loadEarnings(account, count) {
  const current = Number(await read("BMWIssuance", "currentEpoch"));
  const epochs = [];
  for (let e = current; e >= 0 && epochs.length < count; e--) epochs.push(e);
  const rows = await Promise.all(epochs.map(async (e) => {
    const [info, claimable] = await readAll([["BMWIssuance", "epochs", [BigInt(e)]],
                                              ["BMWIssuance", "claimable", [BigInt(e), account]]]);
    return { epoch: e, closed: info.closed, claimable };
  }));
  return { account, current, rows, oldest: epochs[epochs.length - 1] ?? 0 };
}

/**
 * [version, reload]: every loader of a page lists `version` in its deps; reload() after a transaction reads everything
 * again from the chain and the API, and once more a few seconds later (the index follows the chain with a delay).
 */
export function useRefresh() {
  const [version, bump] = useReducer((n) => n + 1, 0);
  const reload = () => {
    bump();
    setTimeout(bump, 4000);
  };
  return [version, reload];
}

export function Facts({ rows }) {
  return html`<dl class="facts">${rows.filter(Boolean).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

function ib6(value) {
  return fmtUnits(value, 6, 3);
}

function NodeStatus({ data }) {
  const { node, record, balance, attestation, now, unbondingPeriod } = data;
  const role = ROLES[Number(node.role)] || `role ${node.role}`;
  const free = node.stake - node.locked - node.unbonding;
  const unbondingAt = Number(node.unbondingAt);
  let unbonding = "none";
  if (node.unbonding > 0n)
    unbonding = unbondingAt <= now
      ? html`${fmtIfx(node.unbonding)}: <span class="ok">withdrawable now</span>`
      : html`${fmtIfx(node.unbonding)}: withdrawable from ${fmtTime(unbondingAt)} (in ${fmtSpan(unbondingAt - now)})`;
  let attested = html`<span class="muted">not attested yet</span>`;
  if (Number(node.role) === 1 && node.ib === 0n)
    attested = html`<span class="muted">not attested yet: a passed benchmark task sets it (the minimum stake assumes
      the standard node, IB 1.0, until then)</span>`;
  else if (attestation)
    attested = html`set by a passed benchmark task at block ${attestation.block} (${fmtTime(attestation.at)}),
      transaction <code class="hash" title=${attestation.tx}>${attestation.tx.slice(0, 10)}…</code>`;
  else if (node.ib > 0n) attested = "set by a passed benchmark task";
  return html`<section class="card" aria-labelledby="node-status">
    <h2 id="node-status">Your node</h2>
    <${Facts} rows=${[
      ["Account", html`<${Addr} a=${data.account} />`],
      ["Role", html`<span data-role=${role}>${role}</span>`],
      ["Stake", fmtIfx(node.stake)],
      ["Locked collateral", fmtIfx(node.locked)],
      ["Free stake", fmtIfx(free > 0n ? free : 0n)],
      ["Unbonding", unbonding],
      ["Unbonding period", fmtSpan(Number(unbondingPeriod))],
      Number(node.role) === 1 && ["Price per IBM", fmtUsd(node.pricePerIBM, 4)],
      Number(node.role) === 1 && ["IB (Inferix Bench)", node.ib > 0n ? ib6(node.ib) : "—"],
      Number(node.role) === 1 && ["IB attestation", attested],
      ["IFX in wallet", fmtIfx(balance)],
    ]} />
    ${record && record.ib && BigInt(record.ib) !== node.ib && html`<p class="muted">The index still shows IB ${ib6(record.ib)}; the chain's value is shown
      above.</p>`}
  </section>`;
}

function TrackRecord({ record, role }) {
  return html`<section class="card" aria-labelledby="node-record">
    <h2 id="node-record">Track record</h2>
    ${!record
      ? html`<p class="muted">The index has no record of this node yet.</p>`
      : html`<${Facts} rows=${[
          ["Tasks done", record.completed],
          ["Tasks failed", record.failed],
          ["Slashed", fmtIfx(record.slashed)],
          ["No-shows", `${record.no_shows}${record.missed ? ` (${record.missed} since the last no-show slash)` : ""}`],
          role === "worker" && ["Verified work", `${fmtUnits(record.work_ibm, 6, 3)} IBM`],
          role !== "oracle" && ["Fees credited", fmtIfx(record.fees)],
          role === "oracle" && ["Committee seats", record.committee_seats],
          role === "oracle" && ["Verdicts revealed", record.verdicts],
          role === "manager" && ["Reveals missed", record.manager_slashes],
          ["Registered at block", record.registered_block],
        ]} />`}
  </section>`;
}

function StakeSection({ data, reload }) {
  const [amount, setAmount] = useState("");
  const { node, balance, now } = data;
  const registered = Number(node.role) !== 0;
  const free = node.stake - node.locked - node.unbonding;
  const [doStake, staking] = useAction(async () => {
    const wei = parseIfx(amount);
    const balanceNow = await read("IFXToken", "balanceOf", [state.account]);
    if (balanceNow < wei) throw new Error(`You have ${fmtIfx(balanceNow)} in your wallet: not enough to stake ${fmtIfx(wei)}.`);
    const staking_ = addressOf("Staking");
    const allowance = await read("IFXToken", "allowance", [state.account, staking_]);
    if (allowance < wei)
      await transact({ contract: "IFXToken", fn: "approve", args: [staking_, wei],
                       what: `Allow Staking to take ${fmtIfx(wei)} from your wallet`, rows: [["Amount", fmtIfx(wei)]] });
    await transact({ contract: "Staking", fn: "stake", args: [wei], what: `Stake ${fmtIfx(wei)}`,
                     rows: [["Amount", fmtIfx(wei)], ["Stake after", fmtIfx(node.stake + wei)]] });
    setAmount("");
    notify("ok", `Staked ${fmtIfx(wei)}.`);
    reload();
  });
  // no check here of the free stake: the contract's simulation explains a refusal in its own words
  const [doUnbond, unbonding] = useAction(async () => {
    const wei = parseIfx(amount);
    await transact({ contract: "Staking", fn: "requestUnbond", args: [wei], what: `Start unbonding ${fmtIfx(wei)}`,
                     rows: [["Amount", fmtIfx(wei)], ["Free stake now", fmtIfx(free > 0n ? free : 0n)],
                            ["Unbonding after", fmtIfx(node.unbonding + wei)],
                            ["Withdrawable", `${fmtSpan(Number(data.unbondingPeriod))} after this request (the delay restarts for everything unbonding)`]] });
    setAmount("");
    notify("ok", `Unbonding ${fmtIfx(wei)}.`);
    reload();
  });
  const [doWithdraw, withdrawing] = useAction(async () => {
    await transact({ contract: "Staking", fn: "withdraw", what: `Withdraw ${fmtIfx(node.unbonding)} of unbonded stake`,
                     rows: [["Amount", fmtIfx(node.unbonding)]] });
    notify("ok", `Withdrew ${fmtIfx(node.unbonding)} to your wallet.`);
    reload();
  });
  const unbondingAt = Number(node.unbondingAt);
  const canWithdraw = node.unbonding > 0n && now >= unbondingAt;
  const busy = staking || unbonding;
  const empty = !amount.trim();
  return html`<section class="card" aria-labelledby="node-stake">
    <h2 id="node-stake">Stake</h2>
    ${!registered && html`<div class="register">
      <p>This account is not a registered node${node.stake > 0n ? " any more (its stake is still its own: unbond it, then withdraw it)" : ""}.
        Registering a node is done by the node software, from the command line, on the machine that will run it:</p>
      <pre style="white-space:pre-wrap"><code>inferix worker run --account keystore:~/keys/worker.json --price 0.5 --stake 10000</code></pre>
      <p>or, for an oracle (it needs a verifier node license in this wallet):</p>
      <pre style="white-space:pre-wrap"><code>inferix oracle run --account keystore:~/keys/oracle.json --stake 1000</code></pre>
      <p class="muted">Once registered, this page adds stake, unbonds and withdraws it, and claims the node's rewards.</p>
    </div>`}
    <form class="actions" onSubmit=${(e) => { e.preventDefault(); if (registered) doStake(); }}>
      <label for="stake-amount">Amount (IFX)</label>
      <input id="stake-amount" inputmode="decimal" autocomplete="off" placeholder="1000" value=${amount}
        onInput=${(e) => setAmount(e.currentTarget.value)} aria-describedby="stake-help" />
      ${registered && html`<button type="submit" class="primary" disabled=${busy || empty}>${node.stake > 0n ? "Add stake" : "Stake"}</button>`}
      <button type="button" disabled=${busy || empty} onClick=${doUnbond}>Unbond</button>
    </form>
    <p id="stake-help" class="muted">
      ${registered && html`${node.stake > 0n ? "Add stake" : "Stake"} moves this amount from your wallet (${fmtIfx(balance)}) to
        your stake; your wallet is asked for an approval first when Staking may not yet take that much. `}
      Unbond starts unbonding this amount of your free stake (${fmtIfx(free > 0n ? free : 0n)}: neither locked as
      collateral nor unbonding already). Unbonding stake stops counting at once (no new tasks against it, no votes)
      and can be withdrawn ${fmtSpan(Number(data.unbondingPeriod))} after the last request.</p>
    <h3>Withdraw</h3>
    <p>${node.unbonding === 0n
      ? "Nothing is unbonding."
      : canWithdraw
        ? html`${fmtIfx(node.unbonding)} can be withdrawn now.`
        : html`${fmtIfx(node.unbonding)} can be withdrawn from ${fmtTime(unbondingAt)} (in ${fmtSpan(unbondingAt - now)}).`}</p>
    <div class="actions">
      <button disabled=${withdrawing || !canWithdraw} onClick=${doWithdraw}>Withdraw stake</button>
    </div>
  </section>`;
}

function EpochSection({ version, reload }) {
  const [epoch, error] = useLoad(loadEpoch, [version], POLL_MS);
  const [doClose, closing] = useAction(async () => {
    const current = await read("BMWIssuance", "currentEpoch");
    await transact({ contract: "BMWIssuance", fn: "closeEpoch", what: `Close BMW epoch ${current} and mint its issuance`,
                     rows: [["Epoch", String(current)]] });
    notify("ok", `Epoch ${current} closed.`);
    reload();
  });
  if (!epoch) return html`<section class="card" aria-labelledby="node-epoch"><h2 id="node-epoch">Epoch</h2>
    <${Loading} error=${error} what="the epoch" /></section>`;
  const over = epoch.now >= epoch.ends;
  return html`<section class="card" aria-labelledby="node-epoch">
    <h2 id="node-epoch">Epoch</h2>
    <${Facts} rows=${[["Current epoch", String(epoch.current)], ["Started", fmtTime(epoch.start)],
                      ["Ends", fmtTime(epoch.ends)], ["Chain time", fmtTime(epoch.now)]]} />
    <p>${over
      ? html`<span class="ok">Epoch ${String(epoch.current)} is over:</span> anyone may close it, which mints its
        issuance and opens the next epoch.`
      : html`Epoch ${String(epoch.current)} can be closed from ${fmtTime(epoch.ends)} (in ${fmtSpan(epoch.ends - epoch.now)}),
        by anyone.`}</p>
    <div class="actions">
      <button disabled=${closing || !over || !state.account} onClick=${doClose}>Close epoch</button>
      ${!state.account && html`<span class="muted">Connect your wallet to close the epoch.</span>`}
    </div>
  </section>`;
}

function Earnings({ account, version, reload }) {
  const [count, setCount] = useState(RECENT_EPOCHS);
  const [data, error] = useLoad(() => loadEarnings(account, count), [account, count, version]);
  const [progress, setProgress] = useState("");
  const [doClaim, claiming] = useAction(async () => {
    const fresh = await loadEarnings(account, count);
    const due = fresh.rows.filter((r) => r.closed && r.claimable > 0n).reverse(); // oldest first
    if (!due.length) throw new Error("Nothing to claim in the epochs shown.");
    let done = 0;
    try {
      for (const row of due) {
        setProgress(`Claiming epoch ${row.epoch} (${done + 1} of ${due.length})…`);
        await transact({ contract: "BMWIssuance", fn: "claim", args: [BigInt(row.epoch)],
                         what: `Claim your rewards of epoch ${row.epoch}`,
                         rows: [["Epoch", String(row.epoch)], ["Amount", fmtIfx(row.claimable)],
                                ["Transaction", `${done + 1} of ${due.length} (one per epoch)`]] });
        done += 1;
      }
    } finally {
      setProgress("");
      reload();
    }
    notify("ok", `Claimed the rewards of ${done} epoch${done > 1 ? "s" : ""}.`);
  });
  if (!data || data.account !== account)
    return html`<section class="card" aria-labelledby="node-earnings"><h2 id="node-earnings">Earnings</h2>
      <${Loading} error=${error} what="your rewards" /></section>`;
  const due = data.rows.filter((r) => r.closed && r.claimable > 0n);
  const total = due.reduce((sum, r) => sum + r.claimable, 0n);
  return html`<section class="card" aria-labelledby="node-earnings">
    <h2 id="node-earnings">Earnings</h2>
    <p>BMW rewards are minted when an epoch closes and claimed once per epoch.
      ${due.length ? html` Claimable now: <strong>${fmtIfx(total)}</strong> from ${due.length} epoch${due.length > 1 ? "s" : ""}.`
                   : " Nothing to claim in the epochs shown."}</p>
    <table class="data">
      <caption>Rewards by epoch (newest first)</caption>
      <thead><tr><th scope="col">Epoch</th><th scope="col">Status</th><th scope="col">Claimable</th></tr></thead>
      <tbody>${data.rows.map((r) => html`<tr>
        <th scope="row">${r.epoch}</th>
        <td>${r.closed ? "closed" : "open"}</td>
        <td>${r.closed ? fmtIfx(r.claimable) : html`<span class="muted">when it closes</span>`}</td>
      </tr>`)}</tbody>
    </table>
    <div class="actions">
      <button class="primary" disabled=${claiming || !due.length} onClick=${doClaim}>Claim rewards</button>
      ${data.oldest > 0 && html`<button onClick=${() => setCount(count + 24)}>Show earlier epochs</button>`}
      ${progress && html`<span class="progress" role="status">${progress}</span>`}
    </div>
  </section>`;
}

function MyNode({ account, version, reload }) {
  const [data, error] = useLoad(() => loadNode(account), [account, version], POLL_MS);
  if (!data || data.account !== account) return html`<${Loading} error=${error} what="your node" />`;
  const role = ROLES[Number(data.node.role)];
  return html`
    <${NodeStatus} data=${data} />
    <${TrackRecord} record=${data.record} role=${role} />
    <${StakeSection} data=${data} reload=${reload} />
    <${Earnings} account=${account} version=${version} reload=${reload} />`;
}

export function NodePage() {
  const account = state.account;
  const [version, reload] = useRefresh();
  return html`<div class="node">
    <h1>Node</h1>
    ${account
      ? html`<${MyNode} account=${account} version=${version} reload=${reload} />`
      : html`<p>Connect your wallet to see your node (role, stake, collateral, IB, track record and rewards), to stake,
          unbond and withdraw, and to claim rewards.</p>`}
    <${EpochSection} version=${version} reload=${reload} />
  </div>`;
}
