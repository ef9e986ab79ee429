// Governance: the account's IFX, locked IFX and voting power, lock/unlock and delegation; the Governor's proposals
// with tallies, quorum and votes, voting; the account's vesting escrows and their claims.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { decodeFunctionData, getAddress, isAddress } from "viem";

import { api } from "../lib/api.js";
import { abiOf, addressOf, fmtIfx, nameOf, read, readAll, reads } from "../lib/chain.js";
import { notify, state } from "../lib/state.js";
import { transact } from "../lib/tx.js";
import { Addr, Loading, fmtTime, useAction, useLoad } from "../lib/ui.js";
import { Facts, chainNow, fmtSpan, parseIfx, useRefresh } from "./node.js";

const STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed", "Vetoed"];
const ACTIVE = 1;
const SUPPORT = { against: 0, for: 1, abstain: 2 };
const PROPOSALS_SHOWN = 20;

function same(a, b) {
  return Boolean(a && b) && a.toLowerCase() === b.toLowerCase();
}

/** The first line of a proposal's description (its title, by convention). */
/** A proposal's call in words: "BMWIssuance.setParameter(epochLength, 7200)", decoded with the bundled ABIs. */
function describeCall(target, calldata) {
  const contract = nameOf(target);
  try {
    if (!contract || !abiOf(contract)) throw new Error("unknown target");
    const { functionName, args } = decodeFunctionData({ abi: abiOf(contract), data: calldata });
    const shown = (args || []).map((a) => (typeof a === "bigint" ? a.toString() : Array.isArray(a) ? `[${a.join(", ")}]` : String(a)));
    return `${contract}.${functionName}(${shown.join(", ")})`;
  } catch {
    return `${contract || target}: ${(calldata || "").slice(0, 10)}…`;
  }
}

function titleOf(description) {
  const line = (description || "").split("\n").find((l) => l.trim()) || "(no description)";
  return line.replace(/^#+\s*/, "").slice(0, 140);
}

async function loadBalances(account) {
  const [balance, locked, votes, delegate, units] = await readAll([
    ["IFXToken", "balanceOf", [account]], ["VotePower", "locked", [account]], ["VotePower", "getVotes", [account]],
    ["VotePower", "delegates", [account]], ["VotePower", "votingUnits", [account]]]);
  return { account, balance, locked, votes, delegate, units };
}

/** The index's proposals, each with the chain's state, tallies and (for the account) ballot and votes at the snapshot. */
async function loadProposals(account) {
  const page = await api(`/v1/proposals?limit=${PROPOSALS_SHOWN}`);
  const now = await chainNow();
  const items = await Promise.all(page.items.map(async (p) => {
    const id = BigInt(p.proposal_id);
    const out = { ...p, chainState: null, live: null, voted: null, power: null };
    try {
      const [stateNo, live] = await readAll([["Governor", "state", [id]], ["Governor", "proposals", [id]]]);
      out.chainState = Number(stateNo);
      out.live = live;
    } catch {
      /* the chain's view is unavailable: the index's is shown */
    }
    const snapshot = out.live ? Number(out.live.snapshot) : p.vote_start;
    if (out.quorum === null && snapshot < now)
      try {
        out.quorum = String(await read("Governor", "quorum", [BigInt(snapshot)]));
      } catch {
        /* left unknown */
      }
    if (account) {
      try {
        out.voted = await read("Governor", "hasVoted", [id, account]);
        if (snapshot < now) out.power = await read("VotePower", "getPastVotes", [account, BigInt(snapshot)]);
      } catch {
        /* unknown: the contract's simulation explains a refused vote */
      }
    }
    return out;
  }));
  return { account, now, total: page.total, items };
}

async function loadVesting(account) {
  const vesting = await api(`/v1/vesting/${account}`);
  const abi = abiOf("VestingEscrow");
  const escrows = await Promise.all(vesting.escrows.map(async (e) => {
    try {
      const claimable = await reads().readContract({ address: e.escrow, abi, functionName: "claimable" });
      return { ...e, claimableNow: claimable };
    } catch {
      return { ...e, claimableNow: BigInt(e.claimable) };
    }
  }));
  return { account, escrows };
}

function Balances({ data }) {
  const delegated = same(data.delegate, data.account) ? "yourself" : html`<${Addr} a=${data.delegate} />`;
  return html`<section class="card" aria-labelledby="gov-balances">
    <h2 id="gov-balances">Your voting power</h2>
    <${Facts} rows=${[
      ["IFX in wallet", fmtIfx(data.balance)],
      ["Locked in VotePower", fmtIfx(data.locked)],
      ["Your voting units", fmtIfx(data.units)],
      ["Delegated to", delegated],
      ["Voting power (votes delegated to you)", fmtIfx(data.votes)],
    ]} />
    <p class="muted">Your voting units are the IFX you locked, your bonded stake and half of what your vesting escrows
      hold. They count for your delegate; a proposal counts the votes delegated to you at its snapshot, so lock or
      delegate before a proposal's voting starts.</p>
  </section>`;
}

function LockSection({ data, reload }) {
  const [amount, setAmount] = useState("");
  const [doLock, locking] = useAction(async () => {
    const wei = parseIfx(amount);
    const balance = await read("IFXToken", "balanceOf", [state.account]);
    if (balance < wei) throw new Error(`You have ${fmtIfx(balance)} in your wallet: not enough to lock ${fmtIfx(wei)}.`);
    const votePower = addressOf("VotePower");
    const allowance = await read("IFXToken", "allowance", [state.account, votePower]);
    if (allowance < wei)
      await transact({ contract: "IFXToken", fn: "approve", args: [votePower, wei],
                       what: `Allow VotePower to take ${fmtIfx(wei)} from your wallet`, rows: [["Amount", fmtIfx(wei)]] });
    await transact({ contract: "VotePower", fn: "lock", args: [wei], what: `Lock ${fmtIfx(wei)} to vote with it`,
                     rows: [["Amount", fmtIfx(wei)], ["Locked after", fmtIfx(data.locked + wei)]] });
    setAmount("");
    notify("ok", `Locked ${fmtIfx(wei)}.`);
    reload();
  });
  // no check of the locked amount here: the contract's simulation explains a refusal in its own words
  const [doUnlock, unlocking] = useAction(async () => {
    const wei = parseIfx(amount);
    await transact({ contract: "VotePower", fn: "unlock", args: [wei], what: `Unlock ${fmtIfx(wei)} back to your wallet`,
                     rows: [["Amount", fmtIfx(wei)], ["Locked now", fmtIfx(data.locked)]] });
    setAmount("");
    notify("ok", `Unlocked ${fmtIfx(wei)}.`);
    reload();
  });
  const busy = locking || unlocking;
  const empty = !amount.trim();
  return html`<section class="card" aria-labelledby="gov-lock">
    <h2 id="gov-lock">Lock IFX</h2>
    <form class="actions" onSubmit=${(e) => { e.preventDefault(); doLock(); }}>
      <label for="lock-amount">Amount (IFX)</label>
      <input id="lock-amount" inputmode="decimal" autocomplete="off" placeholder="1000" value=${amount}
        onInput=${(e) => setAmount(e.currentTarget.value)} aria-describedby="lock-help" />
      <button type="submit" class="primary" disabled=${busy || empty}>Lock</button>
      ${data.locked > 0n && html`<button type="button" disabled=${busy || empty} onClick=${doUnlock}>Unlock</button>`}
    </form>
    <p id="lock-help" class="muted">Lock moves this amount from your wallet (${fmtIfx(data.balance)}) into VotePower, where
      it votes at full weight; your wallet is asked for an approval first when VotePower may not yet take that much.
      There is no lock period: Unlock gives locked IFX (${fmtIfx(data.locked)}) back at any time.</p>
  </section>`;
}

function DelegateSection({ data, reload }) {
  const [to, setTo] = useState(data.account);
  const [doDelegate, delegating] = useAction(async () => {
    const text = to.trim() || data.account;
    if (!isAddress(text, { strict: false })) throw new Error("Enter an address (0x and 40 hex digits) to delegate to.");
    const delegatee = getAddress(text);
    const self = same(delegatee, data.account);
    await transact({ contract: "VotePower", fn: "delegate", args: [delegatee],
                     what: self ? "Vote with your own units (delegate to yourself)" : `Delegate your votes to ${delegatee}`,
                     rows: [["Delegate", self ? `${delegatee} (you)` : delegatee], ["Your units", fmtIfx(data.units)]] });
    notify("ok", self ? "Your units now count for you." : `Your units now count for ${delegatee}.`);
    reload();
  });
  return html`<section class="card" aria-labelledby="gov-delegate">
    <h2 id="gov-delegate">Delegate</h2>
    <form class="actions" onSubmit=${(e) => { e.preventDefault(); doDelegate(); }}>
      <label for="delegate-to">Delegate to</label>
      <input id="delegate-to" autocomplete="off" spellcheck="false" placeholder="0x…" value=${to}
        onInput=${(e) => setTo(e.currentTarget.value)} aria-describedby="delegate-help" />
      <button type="submit" disabled=${delegating}>Delegate</button>
    </form>
    <p id="delegate-help" class="muted">Your own address (the default) votes with your units yourself; any other
      address votes with them in your place until you delegate again.</p>
  </section>`;
}

function ProposalVotes({ id, version }) {
  const [detail, error] = useLoad(() => api(`/v1/proposals/${id}`), [id, version], 10000);
  if (!detail) return html`<${Loading} error=${error} what="the votes" />`;
  if (!detail.votes.length) return html`<p class="muted">No votes yet.</p>`;
  return html`<table class="data">
    <caption>Votes on this proposal</caption>
    <thead><tr><th scope="col">Voter</th><th scope="col">Vote</th><th scope="col">Weight</th>
      <th scope="col">Reason</th><th scope="col">Cast</th></tr></thead>
    <tbody>${detail.votes.map((v) => html`<tr>
      <th scope="row"><${Addr} a=${v.voter} /></th><td>${v.support}</td><td>${fmtIfx(v.weight)}</td>
      <td>${v.reason || html`<span class="muted">—</span>`}</td><td>${fmtTime(v.cast_at)}</td></tr>`)}</tbody>
  </table>`;
}

function Tally({ label, value, total }) {
  const pct = total > 0n ? Number((value * 10000n) / total) / 100 : 0;
  return html`<div class="tally">
    <span>${label}: ${fmtIfx(value)} (${pct.toFixed(1)} %)</span>
    <span class="progress"><progress max="100" value=${pct} aria-label=${`${label}: ${pct.toFixed(1)} % of the votes`}></progress></span>
  </div>`;
}

function ProposalCard({ p, now, version, reload }) {
  const [reason, setReason] = useState("");
  const [showVotes, setShowVotes] = useState(false);
  const id = p.proposal_id;
  const stateNo = p.chainState ?? STATES.findIndex((s) => s.toLowerCase() === p.state);
  const stateName = STATES[stateNo] || p.state;
  const forVotes = p.live ? p.live.forVotes : BigInt(p.for_votes);
  const againstVotes = p.live ? p.live.againstVotes : BigInt(p.against_votes);
  const abstainVotes = p.live ? p.live.abstainVotes : BigInt(p.abstain_votes);
  const total = forVotes + againstVotes + abstainVotes;
  const start = p.live ? Number(p.live.snapshot) : p.vote_start;
  const end = p.live ? Number(p.live.deadline) : p.vote_end;
  const quorum = p.quorum === null || p.quorum === undefined ? null : BigInt(p.quorum);
  const active = stateNo === ACTIVE;
  const canVote = Boolean(state.account) && active && p.voted === false && p.power !== null && p.power > 0n;
  const [doVote, voting] = useAction(async (word) => {
    const support = SUPPORT[word];
    const why = reason.trim();
    const rows = [["Proposal", titleOf(p.description)], ["Vote", word], ["Your votes at the snapshot", fmtIfx(p.power ?? 0n)]];
    if (why) rows.push(["Reason", why]);
    await transact(why
      ? { contract: "Governor", fn: "castVoteWithReason", args: [BigInt(id), support, why], what: `Vote ${word} the proposal`, rows }
      : { contract: "Governor", fn: "castVote", args: [BigInt(id), support], what: `Vote ${word} the proposal`, rows });
    setReason("");
    notify("ok", `Your vote (${word}) is counted.`);
    reload();
  });
  let why = null;
  if (!state.account) why = "Connect your wallet to vote.";
  else if (stateNo === 0) why = `Voting opens after ${fmtTime(start)} (in ${fmtSpan(start - now)}).`;
  else if (!active) why = `Voting is closed (${stateName.toLowerCase()}).`;
  else if (p.voted) why = "You voted on this proposal.";
  else if (p.power === 0n) why = "You had no voting power at this proposal's snapshot, so you cannot vote on it (lock IFX or stake, and delegate to yourself, before the next proposal's snapshot).";
  else if (p.power === null) why = "Your voting power at the snapshot could not be read.";
  const headingId = `proposal-${id}-title`;
  const reasonId = `proposal-${id}-reason`;
  return html`<article class="card proposal" id=${`proposal-${id}`} aria-labelledby=${headingId} data-state=${stateName.toLowerCase()}>
    <h3 id=${headingId}>${titleOf(p.description)}</h3>
    <${Facts} rows=${[
      ["State", html`<strong class="state">${stateName}</strong>${p.security ? " (security proposal: stakers may veto it while queued)" : ""}`],
      ["Proposal id", html`<code title=${id}>${id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id}</code>`],
      ["Proposer", html`<${Addr} a=${p.proposer} />`],
      ["Voting", stateNo === 0 ? `opens ${fmtTime(start)}, ends ${fmtTime(end)}` : `ends ${fmtTime(end)}${active ? ` (in ${fmtSpan(end - now)})` : ""}`],
      ["Quorum (for + abstain)", quorum === null ? "known at the first vote" : html`${fmtIfx(quorum)}${forVotes + abstainVotes >= quorum ? html` <span class="ok">reached</span>` : ""}`],
      ["Voters", String(p.voters)],
      p.eta && ["Executable from", fmtTime(p.eta)],
      p.executed_at && ["Executed", fmtTime(p.executed_at)],
    ]} />
    <div class="tallies" role="group" aria-label="Tallies">
      <${Tally} label="For" value=${forVotes} total=${total} />
      <${Tally} label="Against" value=${againstVotes} total=${total} />
      <${Tally} label="Abstain" value=${abstainVotes} total=${total} />
    </div>
    ${p.description && p.description.includes("\n") && html`<details><summary>Description</summary>
      <pre class="description" style="white-space:pre-wrap">${p.description}</pre></details>`}
    <details><summary>Actions (${p.targets.length})</summary>
      <ol>${p.targets.map((t, i) => html`<li><code title=${`${t} ${p.calldatas[i]}`}>${describeCall(t, p.calldatas[i])}</code>${
        p.values[i] && p.values[i] !== "0" ? ` with ${p.values[i]} wei` : ""}</li>`)}</ol>
    </details>
    ${canVote && html`<div>
      <label for=${reasonId}>Reason (optional)</label>
      <input id=${reasonId} maxlength="256" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
    </div>`}
    <div class="actions" role="group" aria-label="Your vote">
      <button class="primary" disabled=${!canVote || voting} onClick=${() => doVote("for")}>Vote for</button>
      <button disabled=${!canVote || voting} onClick=${() => doVote("against")}>Vote against</button>
      <button disabled=${!canVote || voting} onClick=${() => doVote("abstain")}>Abstain</button>
    </div>
    ${canVote ? html`<p class="muted">You vote with ${fmtIfx(p.power)} (your votes at the snapshot).</p>`
              : why && html`<p class="muted">${why}</p>`}
    <button aria-expanded=${showVotes} onClick=${() => setShowVotes(!showVotes)}>${showVotes ? "Hide votes" : "Show votes"}</button>
    ${showVotes && html`<${ProposalVotes} id=${id} version=${version} />`}
  </article>`;
}

function Proposals({ version, reload }) {
  const account = state.account;
  const [data, error] = useLoad(() => loadProposals(account), [account, version], 30000);
  return html`<section aria-labelledby="gov-proposals">
    <h2 id="gov-proposals">Proposals</h2>
    ${!data || data.account !== account
      ? html`<${Loading} error=${error} what="the proposals" />`
      : !data.items.length
        ? html`<p class="muted">No proposals yet. Proposals are made with <code>inferix gov propose …</code> or
            any Governor client, by an account holding at least the proposal threshold of votes.</p>`
        : html`
          <table class="data">
            <caption>Proposals, newest first${data.total > data.items.length ? ` (the ${data.items.length} latest of ${data.total})` : ""}</caption>
            <thead><tr><th scope="col">Proposal</th><th scope="col">State</th><th scope="col">For</th>
              <th scope="col">Against</th><th scope="col">Abstain</th><th scope="col">Quorum</th><th scope="col">Voting ends</th></tr></thead>
            <tbody>${data.items.map((p) => html`<tr>
              <th scope="row"><a href=${`#/governance`} onClick=${(e) => { e.preventDefault(); focusProposal(p.proposal_id); }}>${titleOf(p.description)}</a></th>
              <td>${STATES[p.chainState] || p.state}</td>
              <td>${fmtIfx(p.live ? p.live.forVotes : p.for_votes)}</td>
              <td>${fmtIfx(p.live ? p.live.againstVotes : p.against_votes)}</td>
              <td>${fmtIfx(p.live ? p.live.abstainVotes : p.abstain_votes)}</td>
              <td>${p.quorum === null || p.quorum === undefined ? "—" : fmtIfx(p.quorum)}</td>
              <td>${fmtTime(p.live ? Number(p.live.deadline) : p.vote_end)}</td></tr>`)}</tbody>
          </table>
          ${data.items.map((p) => html`<${ProposalCard} key=${p.proposal_id} p=${p} now=${data.now} version=${version} reload=${reload} />`)}`}
  </section>`;
}

function focusProposal(id) {
  const card = document.getElementById(`proposal-${id}`);
  if (!card) return;
  card.scrollIntoView({ block: "start" });
  const heading = card.querySelector("h3");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

function Escrow({ e, reload }) {
  const [doClaim, claiming] = useAction(async () => {
    const claimable = await reads().readContract({ address: e.escrow, abi: abiOf("VestingEscrow"), functionName: "claimable" });
    if (claimable === 0n) throw new Error("Nothing has vested since the last claim.");
    await transact({ contract: "VestingEscrow", fn: "claim", address: e.escrow,
                     what: `Claim ${fmtIfx(claimable)} of vested IFX`,
                     rows: [["Escrow", e.escrow], ["Amount", `${fmtIfx(claimable)} (what has vested by the transaction's block)`],
                            ["Sent to", e.beneficiary]] });
    notify("ok", `Claimed ${fmtIfx(claimable)} from the vesting escrow.`);
    reload();
  });
  const s = e.schedule;
  const pct = BigInt(e.total) > 0n ? Number((BigInt(e.vested) * 10000n) / BigInt(e.total)) / 100 : 0;
  return html`<article class="card escrow" aria-labelledby=${`escrow-${e.escrow}`}>
    <h3 id=${`escrow-${e.escrow}`}>Escrow <${Addr} a=${e.escrow} /> (${e.factory_name === "CommunityFund" ? "community grant" : "vesting"})</h3>
    <${Facts} rows=${[
      ["Total", fmtIfx(e.total)],
      ["Vested", html`${fmtIfx(e.vested)} (${pct.toFixed(1)} %)`],
      ["Claimed", fmtIfx(e.claimed)],
      ["Claimable now", fmtIfx(e.claimableNow)],
      ["Schedule", `${s.tge_bps / 100} % at ${fmtTime(s.start)}; the rest linearly from ${fmtTime(s.cliff_ends)} to ${fmtTime(s.ends)}`],
      ["Revocable", e.revocable ? "yes, by governance" : "no"],
      e.revoked && ["Revoked", `${fmtTime(e.revoked_at)}; ${fmtIfx(e.returned)} returned to the fund`],
    ]} />
    <div class="progress"><progress max="100" value=${pct} aria-label=${`${pct.toFixed(1)} % vested`}></progress></div>
    <div class="actions">
      <button class="primary" disabled=${claiming || e.claimableNow === 0n} onClick=${doClaim}>Claim vested</button>
    </div>
  </article>`;
}

function Vesting({ account, version, reload }) {
  const [data, error] = useLoad(() => loadVesting(account), [account, version]);
  return html`<section aria-labelledby="gov-vesting">
    <h2 id="gov-vesting">Vesting</h2>
    ${!data || data.account !== account
      ? html`<${Loading} error=${error} what="your vesting" />`
      : !data.escrows.length
        ? html`<p class="muted">No vesting escrow names this account as its beneficiary.</p>`
        : html`<p class="muted">Half of what an escrow holds votes for you (or your delegate); claimed IFX comes to your
            wallet and votes at full weight once locked or staked.</p>
          ${data.escrows.map((e) => html`<${Escrow} key=${e.escrow} e=${e} reload=${reload} />`)}`}
  </section>`;
}

function Mine({ account, version, reload }) {
  const [data, error] = useLoad(() => loadBalances(account), [account, version]);
  if (!data || data.account !== account) return html`<${Loading} error=${error} what="your balances" />`;
  return html`
    <${Balances} data=${data} />
    <${LockSection} data=${data} reload=${reload} />
    <${DelegateSection} key=${account} data=${data} reload=${reload} />`;
}

export function GovernancePage() {
  const account = state.account;
  const [version, reload] = useRefresh();
  return html`<div class="governance">
    <h1>Governance</h1>
    ${account
      ? html`<${Mine} account=${account} version=${version} reload=${reload} />`
      : html`<p>Connect your wallet to see your voting power, lock IFX, delegate, vote and claim vested IFX.</p>`}
    <${Proposals} version=${version} reload=${reload} />
    ${account && html`<${Vesting} account=${account} version=${version} reload=${reload} />`}
  </div>`;
}
