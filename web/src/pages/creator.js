// Creators: upload a scene, see its metadata and the quote, pay with one permit signature (or approve + create),
// follow the job live (tasks, workers, verdicts, frames as they settle), download the frames, challenge a bad
// result within the window, close the job and withdraw what was not spent.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { parseEventLogs } from "viem";

import { api, upload } from "../lib/api.js";
import { proofFor } from "../lib/batches.js";
import { IFX, abiOf, addressOf, fmtIfx, fmtUsd, read, reads } from "../lib/chain.js";
import { notify, state, useAppState } from "../lib/state.js";
import { TxError, sendPrepared, signTyped, transact } from "../lib/tx.js";
import { Addr, Loading, fmtTime, useAction, useLoad } from "../lib/ui.js";

const MICRO = 10n ** 6n;

/** IFX wei of `ibm` micro-IBM at `price` (USD 18 decimals per IBM) and `usdPerIfx` (18 decimals). */
export function taskIfx(ibm, price, usdPerIfx) {
  return (BigInt(ibm) * BigInt(price) * IFX) / (MICRO * BigInt(usdPerIfx));
}

/** Whether the connected wallet has no ETH for gas, and what the manager's relay offers ({ enabled, fee_ifx, ... }). */
function useGas() {
  const [gas] = useLoad(async () => {
    if (!state.account) return null;
    const [eth, relay] = await Promise.all([reads().getBalance({ address: state.account }), api("/v1/relay").catch(() => ({ enabled: false }))]);
    return { eth, relay };
  }, [state.account]);
  return gas;
}

/**
 * The manager sends it for us (no ETH needed): sign its request and the IFX permit it comes with, after checking
 * that they say what we asked (this network's relay and manager, our amounts): a manager cannot slip in other terms.
 */
async function relayed(prepared, expect, what) {
  const { request, permit } = prepared;
  const relay = addressOf("JobRelay");
  if (request.domain.verifyingContract.toLowerCase() !== relay.toLowerCase()
      || BigInt(request.message.fee) !== BigInt(expect.fee)
      || (expect.budget !== undefined && BigInt(request.message.budget) !== BigInt(expect.budget))
      || (expect.manager && request.message.manager.toLowerCase() !== expect.manager.toLowerCase())
      || (permit && (permit.message.spender.toLowerCase() !== relay.toLowerCase()
                     || BigInt(permit.message.value) !== BigInt(expect.budget ?? 0n) + BigInt(expect.fee))))
    throw new Error("The manager's request does not match what you asked for (relay, manager or amounts): refused, nothing signed.");
  const rows = [["Relayed by", `${request.message.relayer} (pays the gas)`], ["Relayer's fee", fmtIfx(request.message.fee, 4)],
                ["Valid until", fmtTime(request.message.deadline)]];
  const signature = await signTyped(request, what, expect.rows ? [...expect.rows, ...rows] : rows);
  const permitSignature = permit ? await signTyped(permit, "Allow the relay to take that IFX", [
    ["Spender", `JobRelay (${permit.message.spender})`], ["Amount", fmtIfx(permit.message.value, 4)],
    ["Valid until", fmtTime(permit.message.deadline)]]) : null;
  return { signature, permit_signature: permitSignature, deadline: prepared.deadline };
}

function SignInFirst({ what }) {
  if (!state.account) return html`<p class="card">Connect your wallet (top right) to ${what}.</p>`;
  if (!state.session) return html`<p class="card">Sign in (top right) to ${what}: your wallet signs a message; no transaction, no gas.</p>`;
  return null;
}

// ---------------------------------------------------------------- new job
export function CreatePage() {
  useAppState();
  const [scene, setScene] = useState(null);
  const [progress, setProgress] = useState(null);
  const [quote, setQuote] = useState(null);
  const gate = SignInFirst({ what: "upload a scene and create a job" });

  const [doUpload, uploading] = useAction(async (file) => {
    setScene(null);
    setQuote(null);
    setProgress(0);
    try {
      setScene(await upload("/v1/scenes", file, setProgress));
    } finally {
      setProgress(null);
    }
  });

  return html`<h1>New render job</h1>
    <p class="muted">Upload a Blender scene, get a price from this network's workers, pay in IFX, and follow every frame as it is rendered and verified.</p>
    ${gate || html`
    <section class="card">
      <h2>1. Scene</h2>
      <label for="scene-file">Scene file (.blend, .glb or .gltf)</label>
      <input id="scene-file" type="file" accept=".blend,.glb,.gltf" disabled=${uploading}
        onChange=${(e) => e.target.files[0] && doUpload(e.target.files[0])} />
      ${progress !== null && html`<div class="progress" role="status">
        <progress max="1" value=${progress} aria-label="Upload progress"></progress> Uploading… ${Math.round(progress * 100)} %</div>`}
      ${scene && html`<dl class="facts" aria-label="Scene">
        <dt>File</dt><dd>${scene.filename} (${(scene.size / 1024).toFixed(0)} KiB, ${scene.kind})</dd>
        <dt>CID</dt><dd><code>${scene.cid}</code></dd>
        <dt>Frames</dt><dd>${scene.frame_start}–${scene.frame_end} at ${scene.fps} fps</dd>
        <dt>Resolution</dt><dd>${scene.width} × ${scene.height}</dd>
        <dt>Camera</dt><dd>${scene.camera || "—"}</dd></dl>`}
    </section>
    ${scene && html`<${QuoteForm} scene=${scene} onQuote=${setQuote} />`}
    ${quote && html`<${Pay} quote=${quote} />`}`}`;
}

function QuoteForm({ scene, onQuote }) {
  const [form, setForm] = useState({ frame_start: scene.frame_start, frame_end: scene.frame_end, width: scene.width,
                                     height: scene.height, samples: 64, frames_per_task: 2 });
  const field = (name, label, attrs = {}) => html`<div class="field">
    <label for=${`q-${name}`}>${label}</label>
    <input id=${`q-${name}`} type="number" min="1" required value=${form[name]} ...${attrs}
      onInput=${(e) => setForm({ ...form, [name]: Number(e.target.value) })} /></div>`;
  const [doQuote, quoting] = useAction(async () => {
    onQuote(null);
    onQuote(await api("/v1/quotes", { method: "POST", auth: true, body: { scene_cid: scene.cid, ...form } }));
  });
  return html`<section class="card">
    <h2>2. Quote</h2>
    <form class="grid" onSubmit=${(e) => { e.preventDefault(); doQuote(); }}>
      ${field("frame_start", "First frame", { min: 0 })}${field("frame_end", "Last frame", { min: 0 })}
      ${field("width", "Width (px)", { min: 16 })}${field("height", "Height (px)", { min: 16 })}
      ${field("samples", "Samples per pixel")}${field("frames_per_task", "Frames per task")}
      <div class="actions"><button class="primary" type="submit" disabled=${quoting}>${quoting ? "Rendering reference frames…" : "Get quote"}</button></div>
    </form></section>`;
}

function Pay({ quote }) {
  const gas = useGas();
  const [choice, setChoice] = useState(null); // "relayed" or "wallet"; by default relayed when the wallet has no ETH
  const mode = choice || (gas && gas.eth === 0n && gas.relay.enabled ? "relayed" : "wallet");
  const [typedData, setTypedData] = useState(true);
  // headroom for retries: a task that fails is rendered again, possibly by a dearer worker; unspent IFX comes back
  const [extra, setExtra] = useState(10);
  const budgetWei = (BigInt(quote.budget_ifx) * BigInt(100 + Math.max(0, Math.floor(extra)))) / 100n;
  const perTask = quote.tasks.map((t) => ({ ...t, ifx: taskIfx(t.ibm, quote.price_per_ibm, quote.usd_per_ifx),
                                            usd: (BigInt(t.ibm) * BigInt(quote.price_per_ibm)) / MICRO }));
  const [doPay, paying] = useAction(async () => {
    const prepared = await api("/v1/jobs/prepare", { method: "POST", auth: true,
                                                     body: { quote_id: quote.id, budget_ifx: budgetWei.toString() } });
    const budget = fmtIfx(prepared.budget_ifx);
    const balance = await read("IFXToken", "balanceOf", [state.account]);
    if (balance < BigInt(prepared.budget_ifx))
      throw new Error(`This job locks ${budget} and your wallet holds ${fmtIfx(balance)}. Get more IFX, or quote fewer frames.`);
    if (mode === "relayed") {
      const fee = BigInt(gas.relay.fee_ifx);
      if (balance < BigInt(prepared.budget_ifx) + fee)
        throw new Error(`This job locks ${budget} and the relayer's fee is ${fmtIfx(fee, 4)}; your wallet holds ${fmtIfx(balance)}.`);
      const body = { quote_id: quote.id, budget_ifx: budgetWei.toString() };
      const toSign = await api("/v1/relay/jobs/prepare", { method: "POST", auth: true, body });
      const signed = await relayed(toSign, { fee, budget: budgetWei, manager: prepared.manager,
                                             rows: [["Manager", prepared.manager], ["Budget locked", budget]] },
                                   "Ask the manager to create your job (it pays the gas)");
      const done = await api("/v1/relay/jobs", { method: "POST", auth: true, body: { ...body, ...signed } });
      notify("ok", `Job ${done.job_id} created (relayed, transaction ${done.tx_hash.slice(0, 10)}…).`);
      location.hash = `#/jobs/${done.job_id}`;
      return;
    }
    let receipt;
    if (typedData) {
      const permit = prepared.permit;
      let signature;
      try {
        signature = await signTyped(permit, "Allow the escrow to take the job's budget", [
          ["Token", `IFX (${permit.domain.verifyingContract})`], ["Spender", `JobEscrow (${permit.message.spender})`],
          ["Amount", budget], ["Valid until", fmtTime(permit.message.deadline)]]);
      } catch (exc) {
        if (exc instanceof TxError && !exc.rejected && /method|support|not implemented|4200|-32601/i.test(exc.message)) {
          setTypedData(false);
          throw new Error("Your wallet cannot sign typed data: pay with two transactions instead (approve, then create).");
        }
        throw exc;
      }
      const tx = await api("/v1/jobs/permit-transaction", { method: "POST", auth: true,
        body: { quote_id: quote.id, budget_ifx: budgetWei.toString(), deadline: Number(permit.message.deadline), signature } });
      receipt = await sendPrepared(tx, [["Budget locked", budget]]);
    } else {
      for (const tx of prepared.transactions) receipt = await sendPrepared(tx, [["Budget", budget]]);
    }
    const [created] = parseEventLogs({ abi: abiOf("JobEscrow"), logs: receipt.logs, eventName: "JobCreated" });
    if (!created) throw new Error("The transaction went through but created no job: see it in your wallet's history.");
    notify("ok", `Job ${created.args.jobId} created.`);
    location.hash = `#/jobs/${created.args.jobId}`;
  });
  return html`<section class="card">
    <h2>3. Price and payment</h2>
    <table class="data"><caption>Quote ${quote.id}: ${quote.tasks.length} tasks, ${quote.workers} workers available</caption>
      <thead><tr><th scope="col">Task frames</th><th scope="col">Work (IBM)</th><th scope="col">IFX</th><th scope="col">USD</th></tr></thead>
      <tbody>${perTask.map((t) => html`<tr><td>${t.frame_start}–${t.frame_end}</td><td>${(Number(t.ibm) / 1e6).toFixed(3)}</td>
        <td>${fmtIfx(t.ifx, 4)}</td><td>${fmtUsd(t.usd, 4)}</td></tr>`)}</tbody>
      <tfoot><tr><th scope="row">Total</th><td>${(Number(quote.total_ibm) / 1e6).toFixed(3)}</td>
        <td>${fmtIfx(quote.total_ifx, 4)}</td><td>${fmtUsd(quote.total_usd, 4)}</td></tr></tfoot></table>
    <dl class="facts">
      <dt>Price</dt><dd>${fmtUsd(quote.price_per_ibm, 4)} per IBM (median of available workers); at most ${fmtUsd(quote.max_price_per_ibm, 4)}</dd>
      <dt>IFX price</dt><dd>${fmtUsd(quote.usd_per_ifx, 4)}</dd>
      <dt>Budget locked</dt><dd>${fmtIfx(budgetWei, 4)}: every task reserved at the maximum price (${fmtIfx(quote.budget_ifx, 4)}) plus ${extra} % for retries; what is not spent comes back when you close the job</dd></dl>
    <div class="field"><label for="extra-budget">Extra budget for retries (%)</label>
      <input id="extra-budget" type="number" min="0" max="500" step="1" value=${extra} onInput=${(e) => setExtra(Number(e.target.value) || 0)} /></div>
    ${gas && gas.relay.enabled && html`<fieldset class="field"><legend>Gas</legend>
      <label><input type="radio" name="gas" checked=${mode === "wallet"} onChange=${() => setChoice("wallet")} />
        My wallet pays the gas (${gas.eth === 0n ? "it holds no ETH" : "in ETH"})</label>
      <label><input type="radio" name="gas" checked=${mode === "relayed"} onChange=${() => setChoice("relayed")} />
        No ETH needed: the manager sends it and takes ${fmtIfx(gas.relay.fee_ifx, 4)}</label></fieldset>`}
    ${mode === "wallet" && html`<div class="field"><label><input type="checkbox" checked=${!typedData} onChange=${(e) => setTypedData(!e.target.checked)} />
      My wallet cannot sign typed data: approve, then create (two transactions)</label></div>`}
    <div class="actions"><button class="primary" disabled=${paying} onClick=${doPay}>${
      mode === "relayed" ? "Pay with signatures only (no gas)" : typedData ? "Pay with one signature" : "Approve and create"}</button></div>
  </section>`;
}

// ---------------------------------------------------------------- my jobs
export function JobsPage() {
  useAppState();
  const [jobs, error] = useLoad(() => (state.account ? api(`/v1/jobs?creator=${state.account}&limit=50`) : Promise.resolve(null)),
                                [state.account]);
  if (!state.account) return html`<h1>My jobs</h1><p class="card">Connect your wallet to see your jobs.</p>`;
  if (!jobs) return html`<h1>My jobs</h1><${Loading} error=${error} what="your jobs" />`;
  return html`<h1>My jobs</h1>
    ${jobs.items.length ? html`<table class="data"><caption>${jobs.total} jobs</caption>
      <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Frames</th><th scope="col">Tasks settled</th><th scope="col">Budget</th></tr></thead>
      <tbody>${jobs.items.map((j) => html`<tr><td><a href=${`#/jobs/${j.job_id}`}>Job ${j.job_id}</a></td><td>${j.status}</td>
        <td>${j.frame_start}–${j.frame_end}</td><td>${j.task_counts.settled}/${j.task_counts.total}</td><td>${fmtIfx(j.budget)}</td></tr>`)}</tbody></table>`
      : html`<p>No jobs yet. <a href="#/">Start one</a>.</p>`}`;
}

// ---------------------------------------------------------------- one job, live
/** Every frame of a job with where it comes from: single-path tasks and the lane's batch tasks. */
function framesOf(job, batches) {
  const out = [];
  const add = (task, source) => {
    if (!task.result_cid) return;
    for (let f = task.frame_start; f <= task.frame_end; f++)
      out.push({ frame: f, cid: task.result_cid, name: `frame_${String(f).padStart(4, "0")}.png`, ...source });
  };
  for (const t of job.tasks) if (t.state === "settled" || t.passed) add(t, { task: t.task_id });
  for (const b of batches) for (const t of b.tasks) if (t.outcome === "passed" || (t.verdict === "passed" && b.stage !== "settled"))
    add(t, { batch: b.batch_id, index: t.index, settled: t.outcome === "passed" });
  return out.sort((a, b) => a.frame - b.frame);
}

export function JobPage({ params }) {
  useAppState();
  const jobId = Number(params[0]);
  const [tick, setTick] = useState(0);
  const [job, error] = useLoad(() => api(`/v1/jobs/${jobId}`), [jobId, tick], 5000);
  const [batches] = useLoad(async () => (job ? Promise.all(job.batches.map((b) => api(`/v1/batches/${b.batch_id}`))) : []),
                            [job && JSON.stringify(job.batches), tick]);
  // the job's events as they happen (server-sent events): each one reloads what it changed
  useEffect(() => {
    const source = new EventSource(`/v1/jobs/${jobId}/events`);
    source.onmessage = () => setTick((t) => t + 1);
    for (const name of ["TaskSettled", "BatchSettled", "BatchVerdict", "ResultsSubmitted", "BatchPosted", "SeedRevealed",
                        "TaskFailed", "JobClosed", "VerdictReached", "TaskChallenged"])
      source.addEventListener(name, () => setTick((t) => t + 1));
    return () => source.close();
  }, [jobId]);
  if (!job) return html`<h1>Job ${jobId}</h1><${Loading} error=${error} what=${`job ${jobId}`} />`;
  const mine = state.account && job.creator.toLowerCase() === state.account.toLowerCase();
  const frames = framesOf(job, batches || []);
  return html`<h1>Job ${jobId}</h1>
    <dl class="facts card" aria-label="Job">
      <dt>Status</dt><dd><strong data-testid="job-status">${job.status}</strong></dd>
      <dt>Creator</dt><dd><${Addr} a=${job.creator} /></dd><dt>Manager</dt><dd><${Addr} a=${job.manager} /></dd>
      <dt>Frames</dt><dd>${job.frame_start}–${job.frame_end}</dd>
      <dt>Budget</dt><dd>${fmtIfx(job.budget)} locked; ${fmtIfx(job.budget_left)} not reserved; ${fmtIfx(job.fees_paid)} paid in fees</dd>
      <dt>Refunded</dt><dd>${fmtIfx(job.refunded)}</dd>
      <dt>Created</dt><dd>${job.created_at}</dd></dl>
    ${(batches || []).map((b) => html`<${BatchCard} batch=${b} mine=${mine} reload=${() => setTick((t) => t + 1)} />`)}
    ${job.tasks.length > 0 && html`<${TaskTable} job=${job} />`}
    <${Frames} frames=${frames} />
    ${mine && html`<${CloseAndWithdraw} job=${job} reload=${() => setTick((t) => t + 1)} />`}`;
}

function BatchCard({ batch, mine, reload }) {
  const verdict = batch.verdict;
  const settledAt = batch.settlement && batch.settlement.at;
  return html`<section class="card">
    <h2>Batch <code>${batch.batch_id.slice(0, 10)}…</code>: ${batch.stage}${batch.late ? " (seed revealed late)" : ""}</h2>
    <p class="muted">Posted ${fmtTime(batch.posted_at)}; render deadline ${fmtTime(batch.render_ends)};
      ${batch.submitted}/${batch.workers} workers delivered${batch.revealed_at ? `; seed revealed ${fmtTime(batch.revealed_at)}` : ""}${verdict ? `; verdict ${fmtTime(verdict.at)}` : ""}${settledAt ? `; settled ${fmtTime(settledAt)}` : ""}.</p>
    ${batch.committee && html`<p>Committee of ${batch.committee.size} (beacon round ${batch.committee.round}):
      ${batch.committee.members.map((m) => html`<span class="chip"><${Addr} a=${m.oracle} /> ${m.revealed_block ? "voted" : m.committed_block ? "committed" : "verifying"}</span>`)}</p>`}
    <table class="data"><caption>Tasks of the batch</caption>
      <thead><tr><th scope="col">#</th><th scope="col">Frames</th><th scope="col">Worker</th><th scope="col">Fee</th><th scope="col">Verdict</th><th scope="col">Outcome</th><th scope="col"></th></tr></thead>
      <tbody>${batch.tasks.map((t) => html`<tr>
        <td>${t.index}</td><td>${t.frame_start}–${t.frame_end}</td><td><${Addr} a=${t.worker} /></td><td>${fmtIfx(t.fee, 4)}</td>
        <td class=${t.verdict === "passed" ? "ok" : t.verdict === "failed" ? "error" : ""}>${t.verdict || (t.result_cid ? "delivered" : "rendering")}</td>
        <td>${t.outcome || "—"}${t.challenger ? " (challenged)" : ""}</td>
        <td><a href=${`#/explorer/${batch.batch_id}/${t.index}`}>Details</a>
          ${mine && batch.stage === "revealed" && verdict && !t.challenger && !t.outcome && html` <${ChallengeButton} batch=${batch} task=${t} reload=${reload} />`}</td></tr>`)}</tbody>
    </table></section>`;
}

function ChallengeButton({ batch, task, reload }) {
  const [doChallenge, busy] = useAction(async () => {
    const [bondMin, bondBps, windowS] = await Promise.all([read("JobEscrow", "challengeBond"), read("JobEscrow", "challengeBondBps"),
                                                          read("JobEscrow", "challengeWindow")]);
    const ends = Number(batch.verdict.at) + Number(windowS);
    if (Date.now() / 1000 > ends) throw new Error(`The challenge window closed at ${fmtTime(ends)}.`);
    const fee = BigInt(task.fee);
    const bond = fee * bondBps / 10000n > bondMin ? fee * bondBps / 10000n : bondMin;
    const { leaf, proof } = proofFor(batch, task.index);
    if (bond > 0n) {
      const allowance = await read("IFXToken", "allowance", [state.account, addressOf("BatchLane")]);
      if (allowance < bond)
        await transact({ contract: "IFXToken", fn: "approve", args: [addressOf("BatchLane"), bond],
                         what: `Allow the lane to take the ${fmtIfx(bond, 4)} challenge bond` });
    }
    await transact({ contract: "BatchLane", fn: "challenge", args: [batch.batch_id, BigInt(task.index), leaf, proof],
                     what: `Claim that task ${task.index}'s verdict (${task.verdict}) is wrong`,
                     rows: [["Bond", `${fmtIfx(bond, 4)} (back to you if the arbiter agrees; lost if not)`], ["Window ends", fmtTime(ends)]] });
    notify("ok", `Task ${task.index} challenged: the arbiter decides.`);
    reload();
  });
  return html`<button disabled=${busy} onClick=${doChallenge}>File a claim</button>`;
}

function TaskTable({ job }) {
  return html`<section class="card"><h2>Tasks</h2><table class="data"><caption>Single-path tasks</caption>
    <thead><tr><th scope="col">Task</th><th scope="col">State</th><th scope="col">Frames</th><th scope="col">Worker</th><th scope="col">Verdict</th></tr></thead>
    <tbody>${job.tasks.map((t) => html`<tr><td><a href=${`#/explorer/task/${t.task_id}`}>${t.task_id}</a></td><td>${t.state}</td>
      <td>${t.frame_start}–${t.frame_end}</td><td><${Addr} a=${t.worker} /></td><td>${t.passed === null ? "—" : t.passed ? "passed" : "failed"}</td></tr>`)}</tbody>
  </table></section>`;
}

function Frames({ frames }) {
  const gateway = state.network.gateway;
  const [doDownload, downloading] = useAction(async () => {
    for (const f of frames) {
      const reply = await fetch(`${gateway}${f.cid}/${f.name}`);
      if (!reply.ok) throw new Error(`Frame ${f.frame} could not be fetched (${reply.status}); try again.`);
      const url = URL.createObjectURL(await reply.blob());
      const link = Object.assign(document.createElement("a"), { href: url, download: f.name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    }
    notify("ok", `${frames.length} frames downloaded.`);
  });
  return html`<section class="card"><h2>Frames</h2>
    ${frames.length === 0 ? html`<p class="muted">Frames appear here as their tasks are verified.</p>` : html`
      <div class="actions"><button class="primary" disabled=${downloading} onClick=${doDownload}>Download all frames (${frames.length})</button></div>
      <ul class="frames">${frames.map((f) => html`<li><figure>
        <a href=${`${gateway}${f.cid}/${f.name}`} download=${f.name}><img src=${`${gateway}${f.cid}/${f.name}`} alt=${`Frame ${f.frame}`} loading="lazy" /></a>
        <figcaption>Frame ${f.frame}${f.settled === false ? " (verified, settling)" : ""}</figcaption></figure></li>`)}</ul>`}</section>`;
}

/** Close or withdraw through the manager's relay (no ETH): sign, and it sends. */
async function forward(call, jobId, fee, what) {
  const body = { call, job_id: jobId };
  const toSign = await api("/v1/relay/forward/prepare", { method: "POST", auth: true, body });
  const signed = await relayed(toSign, { fee }, what);
  return api("/v1/relay/forward", { method: "POST", auth: true, body: { ...body, ...signed } });
}

function CloseAndWithdraw({ job, reload }) {
  const gas = useGas();
  const relay = gas && gas.eth === 0n && gas.relay.enabled ? BigInt(gas.relay.fee_ifx) : null; // no ETH: relayed
  const [owed, , reloadOwed] = useLoad(() => read("JobEscrow", "claimable", [state.account]), [job.closed, job.refunded]);
  const [doClose, closing] = useAction(async () => {
    if (relay !== null) await forward("close", job.job_id, relay, `Close job ${job.job_id} (relayed: the manager pays the gas)`);
    else await transact({ contract: "JobEscrow", fn: "closeJob", args: [BigInt(job.job_id)], what: `Close job ${job.job_id}`,
                     rows: [["Comes back", `${fmtIfx(job.budget_left)} now, and every reservation released later`]] });
    notify("ok", `Job ${job.job_id} closed.`);
    reload();
    reloadOwed();
  });
  const [doWithdraw, withdrawing] = useAction(async () => {
    if (relay !== null) {
      await forward("withdraw", 0, relay, "Withdraw what the escrow owes you (relayed: the manager pays the gas)");
      notify("ok", "Withdrawn.");
    } else {
      const receipt = await transact({ contract: "JobEscrow", fn: "withdraw", what: "Withdraw what the escrow owes you",
                                       rows: [["Amount", fmtIfx(owed ?? 0n)]] });
      notify("ok", `Withdrawn (block ${receipt.blockNumber}).`);
    }
    reloadOwed();
    reload();
  });
  return html`<section class="card"><h2>Budget</h2>
    <p>${job.closed ? "The job is closed: its unspent budget is yours to withdraw." : "Closing the job stops new tasks and returns the budget not reserved by tasks."}</p>
    <p>Owed to you by the escrow: <strong data-testid="owed">${owed === undefined ? "…" : fmtIfx(owed, 4)}</strong></p>
    <div class="actions">
      ${!job.closed && html`<button disabled=${closing} onClick=${doClose}>Close job</button>`}
      <button class="primary" disabled=${withdrawing || !owed} onClick=${doWithdraw}>Withdraw refund</button></div>
  </section>`;
}
