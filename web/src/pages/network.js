// The network: per-epoch fees, burns, mint and IBME (charts and the same numbers in tables), the nodes and the
// index's progress. The explorer: recent batches, one task of a batch or one single-path task with its leaf,
// committee, verdict, settlement and frames, the command that re-verifies it, and a re-verification by a verifier
// the user chooses (never the manager by default), its noise regions drawn over the frames.
import { html } from "htm/preact";
import { useRef, useState } from "preact/hooks";
import { formatUnits } from "viem";

import { api } from "../lib/api.js";
import { proofFor } from "../lib/batches.js";
import { fmtIfx, fmtUnits, fmtUsd, read, readAll, reads } from "../lib/chain.js";
import { state } from "../lib/state.js";
import { Addr, Loading, fmtTime, useLoad } from "../lib/ui.js";
import { Facts, fmtSpan } from "./node.js";

const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]; // Okabe–Ito: distinguishable with colour blindness
const EPOCHS_SHOWN = 24;
const NODE_PAGES = 5; // up to 500 nodes listed
const FRAMES_SHOWN = 24;
const VERIFIER_KEY = "inferix.verifier";

// ------------------------------------------------------------------------------------------------ helpers

function ifxNumber(wei) {
  return Number(formatUnits(BigInt(wei ?? 0), 18));
}

function fmtNum(v, digits = 2) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const abs = Math.abs(v);
  if (abs >= 1e6) return v.toLocaleString("en-US", { notation: "compact", maximumFractionDigits: 1 });
  return v.toLocaleString("en-US", { maximumFractionDigits: abs && abs < 1 ? Math.max(digits, 3) : digits });
}

function fmtPct(ratio) {
  return ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toLocaleString("en-US", { maximumFractionDigits: 1 })} %`;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  const f = v / exp;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * exp;
}

/** fn() as a promise, also when it throws before returning one (a contract this deployment lacks). */
function later(fn) {
  return Promise.resolve().then(fn);
}

function frameName(frame) {
  return `frame_${String(frame).padStart(4, "0")}.png`; // inferix/protocol.py frame_name (results are PNG)
}

function gatewayUrl(path) {
  return `${(state.network && state.network.gateway) || "/ipfs/"}${path}`;
}

function bit(hex, i) {
  if (hex === null || hex === undefined) return null;
  return ((BigInt(hex) >> BigInt(i)) & 1n) === 1n;
}

function shortHex(hex, head = 10, tail = 6) {
  return hex && hex.length > head + tail + 1 ? `${hex.slice(0, head)}…${hex.slice(-tail)}` : hex || "";
}

function Hex({ value }) {
  return value ? html`<code class="hash" title=${value}>${shortHex(value)}</code>` : html`<span class="muted">—</span>`;
}

function ago(unix, now = Date.now() / 1000) {
  return unix ? `${fmtTime(unix)} (${fmtSpan(Math.abs(now - unix))} ${now >= unix ? "ago" : "from now"})` : "—";
}

// ------------------------------------------------------------------------------------------------ the chart

/**
 * A chart drawn as inline SVG: grouped bars or lines over `labels` (the x axis), one colour per series, a y axis with
 * gridlines and its unit, a legend, and a <title>/<desc> text alternative (the page also shows the numbers in a table).
 * series: [{ name, values: (number|null)[] }]; format: a y value to text.
 */
export function Chart({ id, title, labels, series, kind = "bars", unit = "", format = fmtNum, xTitle = "" }) {
  const W = 640, H = 300;
  const m = { l: 70, r: 16, t: 44, b: 48 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined && Number.isFinite(v)));
  const top = niceMax(Math.max(0, ...all));
  const y = (v) => m.t + ph - (Math.max(0, v) / top) * ph;
  const n = Math.max(labels.length, 1);
  const band = pw / n;
  const every = Math.ceil(labels.length / 12); // at most about 12 labels on the x axis
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  const cx = (i) => m.l + band * i + band / 2;
  const summary = series.map((s) => {
    const vals = s.values.map((v, i) => [v, labels[i]]).filter(([v]) => v !== null && v !== undefined);
    if (!vals.length) return `${s.name}: no data.`;
    const [maxV, maxL] = vals.reduce((a, b) => (b[0] > a[0] ? b : a));
    const [lastV, lastL] = vals[vals.length - 1];
    return `${s.name}: highest ${format(maxV)}${unit ? ` ${unit}` : ""} (${xTitle} ${maxL}), latest ${format(lastV)}${unit ? ` ${unit}` : ""} (${xTitle} ${lastL}).`;
  }).join(" ");
  const desc = labels.length
    ? `${kind === "bars" ? "Bar" : "Line"} chart over ${xTitle || "x"} ${labels[0]} to ${labels[labels.length - 1]}. ${summary}`
    : "No data yet.";
  let marks;
  if (kind === "bars") {
    const inner = band * 0.8;
    const w = inner / series.length;
    marks = series.map((s, k) => html`<g fill=${PALETTE[k % PALETTE.length]}>${s.values.map((v, i) =>
      v === null || v === undefined ? null : html`<rect x=${m.l + band * i + band * 0.1 + w * k} y=${y(v)}
        width=${Math.max(w - 1, 1)} height=${Math.max(m.t + ph - y(v), v > 0 ? 1 : 0)}>
        <title>${s.name}, ${xTitle} ${labels[i]}: ${format(v)}${unit ? ` ${unit}` : ""}</title></rect>`)}</g>`);
  } else {
    marks = series.map((s, k) => {
      const color = PALETTE[k % PALETTE.length];
      const pts = s.values.map((v, i) => (v === null || v === undefined ? null : [cx(i), y(v), v, i])).filter(Boolean);
      return html`<g>
        <polyline fill="none" stroke=${color} stroke-width="2" points=${pts.map(([a, b]) => `${a},${b}`).join(" ")} />
        ${pts.map(([a, b, v, i]) => html`<circle cx=${a} cy=${b} r="3.5" fill=${color}>
          <title>${s.name}, ${xTitle} ${labels[i]}: ${format(v)}${unit ? ` ${unit}` : ""}</title></circle>`)}
      </g>`;
    });
  }
  return html`<figure class="chart" id=${id} style="margin:0 0 1rem">
    <svg viewBox=${`0 0 ${W} ${H}`} width="100%" role="img" aria-labelledby=${`${id}-title ${id}-desc`}
      style="max-width:100%;height:auto;display:block" font-size="12" font-family="inherit">
      <title id=${`${id}-title`}>${title}</title>
      <desc id=${`${id}-desc`}>${desc}</desc>
      <g class="legend" aria-hidden="true">${series.map((s, k) => html`<g transform=${`translate(${m.l + k * 160}, 12)`}>
        ${kind === "bars"
          ? html`<rect width="12" height="12" fill=${PALETTE[k % PALETTE.length]} />`
          : html`<line x1="0" x2="14" y1="6" y2="6" stroke=${PALETTE[k % PALETTE.length]} stroke-width="3" />`}
        <text x="20" y="10" fill="currentColor">${s.name}</text></g>`)}</g>
      <g class="axis y" aria-hidden="true">
        ${ticks.map((t) => html`<g>
          <line x1=${m.l} x2=${W - m.r} y1=${y(t)} y2=${y(t)} stroke="currentColor" stroke-opacity=${t ? 0.15 : 0.6} />
          <text x=${m.l - 6} y=${y(t) + 4} text-anchor="end" fill="currentColor">${format(t)}</text></g>`)}
        ${unit && html`<text transform=${`translate(14, ${m.t + ph / 2}) rotate(-90)`} text-anchor="middle" fill="currentColor">${unit}</text>`}
      </g>
      <g class="axis x" aria-hidden="true">
        ${labels.map((l, i) => (i % every === 0 || i === labels.length - 1) && html`<text x=${cx(i)} y=${m.t + ph + 16}
          text-anchor="middle" fill="currentColor">${l}</text>`)}
        ${xTitle && html`<text x=${m.l + pw / 2} y=${H - 8} text-anchor="middle" fill="currentColor">${xTitle}</text>`}
      </g>
      ${labels.length && all.length ? marks : html`<text x=${m.l + pw / 2} y=${m.t + ph / 2} text-anchor="middle" fill="currentColor">No data yet</text>`}
    </svg>
    <figcaption>${title}</figcaption>
  </figure>`;
}

// ------------------------------------------------------------------------------------------------ network

async function loadEpochs() {
  const page = await api(`/v1/epochs?limit=${EPOCHS_SHOWN}`);
  const items = [...page.items].reverse(); // oldest first, for the charts
  const ibme = await Promise.all(items.map((e) => later(() => read("BMWIssuance", "ibme", [BigInt(e.epoch)])).then(
    (v) => Number(formatUnits(v, 18)), () => null)));
  return { total: page.total, items: items.map((e, i) => ({ ...e, ibme: ibme[i] })) };
}

function EpochCharts() {
  const [data, error] = useLoad(loadEpochs, [], 30000);
  if (!data) return html`<section class="card" aria-labelledby="net-epochs"><h2 id="net-epochs">Epochs</h2>
    <${Loading} error=${error} what="the epochs" /></section>`;
  const items = data.items;
  const labels = items.map((e) => String(e.epoch));
  return html`<section class="card" aria-labelledby="net-epochs">
    <h2 id="net-epochs">Epochs</h2>
    ${!items.length
      ? html`<p class="muted">The index has no epoch yet.</p>`
      : html`
        <p class="muted">The ${items.length} latest BMW epochs${data.total > items.length ? ` of ${data.total}` : ""}. Fees are
          paid by creators for settled tasks; part of them is burned; the mint at each epoch's close never exceeds
          a share of the burns. IBME is the verified work paid for over the work the nodes' attested IB could have
          done (the open epoch: so far).</p>
        <div class="charts">
          <${Chart} id="chart-fees" title="Fees, burned and minted IFX per epoch" labels=${labels} xTitle="epoch" unit="IFX"
            series=${[{ name: "Fees", values: items.map((e) => ifxNumber(e.fees)) },
                      { name: "Burned", values: items.map((e) => ifxNumber(e.burned)) },
                      { name: "Minted", values: items.map((e) => (e.closed ? ifxNumber(e.minted) : null)) }]} />
          <${Chart} id="chart-ibme" kind="lines" title="IBME per epoch" labels=${labels} xTitle="epoch" unit="%"
            format=${(v) => fmtNum(v, 1)}
            series=${[{ name: "IBME", values: items.map((e) => (e.ibme === null ? null : e.ibme * 100)) }]} />
        </div>
        <table class="data">
          <caption>Per-epoch figures (the charts' numbers), newest first</caption>
          <thead><tr><th scope="col">Epoch</th><th scope="col">Status</th><th scope="col">Tasks</th>
            <th scope="col">Fees</th><th scope="col">Burned</th><th scope="col">Minted</th><th scope="col">IBME</th>
            <th scope="col">Closed</th></tr></thead>
          <tbody>${[...items].reverse().map((e) => html`<tr>
            <th scope="row">${e.epoch}</th><td>${e.closed ? "closed" : "open"}</td><td>${e.tasks}</td>
            <td>${fmtIfx(e.fees)}</td><td>${fmtIfx(e.burned)}</td><td>${e.closed ? fmtIfx(e.minted) : "—"}</td>
            <td>${fmtPct(e.ibme)}</td><td>${e.closed_at ? fmtTime(e.closed_at) : "—"}</td></tr>`)}</tbody>
        </table>`}
  </section>`;
}

async function loadNodes() {
  const first = await api("/v1/workers?limit=100");
  let items = first.items;
  for (let page = 1; page < NODE_PAGES && items.length < first.total; page++)
    items = items.concat((await api(`/v1/workers?limit=100&offset=${page * 100}`)).items);
  const [oracleCount, minOracleStake, minManagerStake, totalStaked, totalIB] = await later(() => readAll([
    ["Staking", "oracleCount"], ["Staking", "minOracleStake"], ["Staking", "minManagerStake"], ["Staking", "totalStaked"],
    ["Staking", "totalIB"]])).catch(() => [null, null, null, null, null]);
  const active = (n) => {
    const bonded = BigInt(n.stake) - BigInt(n.unbonding);
    if (bonded <= 0n) return false;
    if (n.role === "oracle") return minOracleStake === null || bonded >= minOracleStake;
    if (n.role === "manager") return minManagerStake === null || bonded >= minManagerStake;
    return true;
  };
  const counts = {};
  for (const role of ["worker", "oracle", "manager"]) {
    const of = items.filter((n) => n.role === role);
    counts[role] = { registered: of.length, active: of.filter(active).length };
  }
  return { total: first.total, items: items.map((n) => ({ ...n, active: active(n) })), counts, oracleCount,
           totalStaked, totalIB };
}

function Nodes() {
  const [data, error] = useLoad(loadNodes, [], 30000);
  if (!data) return html`<section class="card" aria-labelledby="net-nodes"><h2 id="net-nodes">Nodes</h2>
    <${Loading} error=${error} what="the nodes" /></section>`;
  const { counts } = data;
  return html`<section class="card" aria-labelledby="net-nodes">
    <h2 id="net-nodes">Nodes</h2>
    <${Facts} rows=${[
      ["Active workers", `${counts.worker.active} (of ${counts.worker.registered} registered)`],
      ["Active oracles", `${counts.oracle.active} (of ${counts.oracle.registered} registered${data.oracleCount !== null ? `; ${data.oracleCount} in Staking's oracle set` : ""})`],
      ["Active managers", `${counts.manager.active} (of ${counts.manager.registered} registered)`],
      data.totalStaked !== null && ["Total staked", fmtIfx(data.totalStaked)],
      data.totalIB !== null && ["Total attested IB", fmtUnits(data.totalIB, 6, 2)],
    ]} />
    <p class="muted">Active: bonded stake (not unbonding) above zero for workers, at least the minimum stake for oracles
      and managers.</p>
    ${data.items.length
      ? html`<table class="data">
          <caption>Registered nodes${data.total > data.items.length ? ` (the first ${data.items.length} of ${data.total})` : ""}</caption>
          <thead><tr><th scope="col">Node</th><th scope="col">Role</th><th scope="col">Active</th><th scope="col">Stake</th>
            <th scope="col">IB</th><th scope="col">Price per IBM</th><th scope="col">Tasks done</th>
            <th scope="col">Failed</th><th scope="col">Verdicts</th><th scope="col">Slashed</th></tr></thead>
          <tbody>${data.items.map((n) => html`<tr>
            <th scope="row"><${Addr} a=${n.address} /></th><td>${n.role}</td><td>${n.active ? "yes" : "no"}</td>
            <td>${fmtIfx(n.stake)}</td><td>${n.role === "worker" && n.ib !== "0" ? fmtUnits(n.ib, 6, 3) : "—"}</td>
            <td>${n.role === "worker" ? fmtUsd(n.price_per_ibm, 4) : "—"}</td><td>${n.completed}</td><td>${n.failed}</td>
            <td>${n.role === "oracle" ? n.verdicts : "—"}</td><td>${fmtIfx(n.slashed)}</td></tr>`)}</tbody>
        </table>`
      : html`<p class="muted">No node has registered yet.</p>`}
  </section>`;
}

async function loadIndex() {
  const [index, head] = await Promise.all([api("/v1/index"), reads().getBlockNumber().then(Number, () => null)]);
  return { ...index, head };
}

function IndexStatus() {
  const [data, error] = useLoad(loadIndex, [], 10000);
  const net = state.network;
  if (!data) return html`<section class="card" aria-labelledby="net-index"><h2 id="net-index">Index</h2>
    <${Loading} error=${error} what="the index status" /></section>`;
  const indexed = data.next_block === null ? null : data.next_block - 1;
  const lag = indexed !== null && data.head !== null ? Math.max(0, data.head - indexed) : null;
  return html`<section class="card" aria-labelledby="net-index">
    <h2 id="net-index">Index</h2>
    <${Facts} rows=${[
      ["Indexed up to block", indexed === null ? "not started" : String(indexed)],
      ["Chain head", data.head === null ? "unknown (the RPC did not answer)" : String(data.head)],
      ["Behind the chain", lag === null ? "—" : lag <= 1 ? html`<span class="ok">up to date</span>` : html`<span class="warn">${lag} blocks</span>`],
      ["Last update", ago(data.updated_at)],
      ["Chain id", String(net.chain_id)],
      ["Public RPC", html`<code>${net.rpc_url}</code>`],
      net.manager && ["Manager", html`<${Addr} a=${net.manager} />`],
    ]} />
    <p class="muted">The lists on these pages come from this manager's index of the chain; balances, stakes, states and
      everything you sign are read from the chain itself.</p>
    <details><summary>Contracts (${Object.keys(net.contracts).length})</summary>
      <table class="data"><caption>This deployment's contracts</caption>
        <thead><tr><th scope="col">Contract</th><th scope="col">Address</th></tr></thead>
        <tbody>${Object.entries(net.contracts).map(([name, a]) => html`<tr><th scope="row">${name}</th><td><code>${a}</code></td></tr>`)}</tbody>
      </table></details>
  </section>`;
}

export function NetworkPage() {
  return html`<div class="network">
    <h1>Network</h1>
    <${EpochCharts} />
    <${Nodes} />
    <${IndexStatus} />
  </div>`;
}

// ------------------------------------------------------------------------------------------------ explorer

function OpenForm() {
  const [task, setTask] = useState("");
  const [batch, setBatch] = useState("");
  const [index, setIndex] = useState("0");
  const [error, setError] = useState("");
  const openTask = (e) => {
    e.preventDefault();
    if (!/^\d+$/.test(task.trim()) || Number(task) < 1) return setError("A task id is a whole number from 1.");
    setError("");
    location.hash = `#/explorer/task/${task.trim()}`;
  };
  const openBatch = (e) => {
    e.preventDefault();
    if (!/^0x[0-9a-fA-F]{64}$/.test(batch.trim())) return setError("A batch id is 0x and 64 hex digits.");
    if (!/^\d+$/.test(index.trim())) return setError("A task's index in its batch is a whole number from 0.");
    setError("");
    location.hash = `#/explorer/${batch.trim().toLowerCase()}/${index.trim()}`;
  };
  return html`<section class="card" aria-labelledby="ex-open">
    <h2 id="ex-open">Open a task</h2>
    <form class="actions" onSubmit=${openTask}>
      <label for="ex-task">Task id</label>
      <input id="ex-task" inputmode="numeric" autocomplete="off" value=${task} onInput=${(e) => setTask(e.currentTarget.value)} />
      <button type="submit">Open task</button>
    </form>
    <form class="actions" onSubmit=${openBatch}>
      <label for="ex-batch">Batch id</label>
      <input id="ex-batch" autocomplete="off" spellcheck="false" placeholder="0x…" value=${batch} onInput=${(e) => setBatch(e.currentTarget.value)} />
      <label for="ex-index">Index in the batch</label>
      <input id="ex-index" inputmode="numeric" autocomplete="off" size="4" value=${index} onInput=${(e) => setIndex(e.currentTarget.value)} />
      <button type="submit">Open batch task</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

function RecentBatches() {
  const [data, error] = useLoad(() => api("/v1/batches?limit=20"), [], 15000);
  return html`<section class="card" aria-labelledby="ex-batches">
    <h2 id="ex-batches">Recent batches</h2>
    ${!data
      ? html`<${Loading} error=${error} what="the batches" />`
      : !data.items.length
        ? html`<p class="muted">No batch has been posted yet.</p>`
        : html`<table class="data">
            <caption>Batches of the lane, newest first${data.total > data.items.length ? ` (${data.items.length} of ${data.total})` : ""}</caption>
            <thead><tr><th scope="col">Batch</th><th scope="col">Job</th><th scope="col">Stage</th><th scope="col">Posted</th>
              <th scope="col">Settlement</th><th scope="col">Tasks</th></tr></thead>
            <tbody>${data.items.map((b) => html`<tr>
              <th scope="row"><${Hex} value=${b.batch_id} /></th>
              <td><a href=${`#/jobs/${b.job_id}`}>${b.job_id}</a></td>
              <td>${b.stage}${b.late ? " (late reveal)" : ""}${b.challenged ? `, ${b.challenged} challenged` : ""}</td>
              <td>${fmtTime(b.posted_at)}</td>
              <td>${b.settlement ? `${b.settlement.passed} passed, ${b.settlement.failed} failed` : "—"}</td>
              <td><ul class="inline" aria-label=${`Tasks of batch ${shortHex(b.batch_id)}`}>${Array.from({ length: Math.min(b.count, 32) }, (_, i) =>
                html`<li><a href=${`#/explorer/${b.batch_id}/${i}`} aria-label=${`Task ${i} of batch ${shortHex(b.batch_id)}`}>${i}</a></li>`)}
                ${b.count > 32 ? html`<li class="muted">… ${b.count} tasks</li>` : null}</ul></td>
            </tr>`)}</tbody>
          </table>`}
  </section>`;
}

/** The one-line command to re-verify a task, with a Copy button. */
function Command({ command }) {
  const ref = useRef(null);
  const [copied, setCopied] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied("Copied.");
    } catch {
      const range = document.createRange();
      range.selectNodeContents(ref.current);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      setCopied("Selected: press Ctrl+C (or ⌘C) to copy.");
    }
  };
  return html`<div class="command">
    <pre style="white-space:pre-wrap;overflow-wrap:anywhere"><code ref=${ref} class="verify-command">${command}</code></pre>
    <div class="actions"><button onClick=${copy}>Copy</button><span role="status" class="muted">${copied}</span></div>
  </div>`;
}

function normalVerdict(v) {
  if (v === true) return "passed";
  if (v === false) return "failed";
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "object") return normalVerdict(v.verdict ?? v.passed ?? v.outcome ?? null);
  const word = String(v).toLowerCase();
  if (["pass", "passed", "true", "ok"].includes(word)) return "passed";
  if (["fail", "failed", "false"].includes(word)) return "failed";
  return word;
}

function num(...candidates) {
  for (const c of candidates) if (c !== null && c !== undefined && Number.isFinite(Number(c))) return Number(c);
  return null;
}

function detailOf(v) {
  if (!v || typeof v !== "object") return {};
  return { score: num(v.score), reason: typeof v.reason === "string" ? v.reason : null,
           decidedBy: typeof v.decided_by === "string" ? v.decided_by : null };
}

/**
 * The verifier's answer (`inferix verify --json`: { computed: {passed, score, reason}, chain: {passed, decided_by, …},
 * agree, width, height, frames: [{frame, accepted, score, reason, regions: [{x, y, width, height, …}]}] }) in one
 * shape, whatever it omits or names otherwise: { computed, chain, agree, details, frames: { [frame]: {...} }, raw }.
 */
export function normalizeVerification(json) {
  const j = json && typeof json === "object" ? json : {};
  const computedRaw = j.computed ?? j.verdict ?? j.computed_verdict ?? j.local ?? j.passed;
  const chainRaw = j.chain ?? j.chain_verdict ?? j.onchain_verdict ?? j.on_chain;
  const computed = normalVerdict(computedRaw);
  const chain = normalVerdict(chainRaw);
  let agree = j.agree ?? j.agreement ?? j.agrees ?? j.match ?? j.matches;
  if (typeof agree !== "boolean") agree = computed && chain ? computed === chain : null;
  let list = j.frames ?? [];
  if (list && !Array.isArray(list) && typeof list === "object")
    list = Object.entries(list).map(([frame, f]) => (Array.isArray(f) ? { frame, regions: f } : { frame, ...f }));
  const frames = {};
  for (const f of Array.isArray(list) ? list : []) {
    if (!f || typeof f !== "object") continue;
    const frame = num(f.frame, f.number);
    if (frame === null) continue;
    const regions = (Array.isArray(f.regions) ? f.regions : []).map((r) => ({
      x: num(r.x, r.x0, r.left), y: num(r.y, r.y0, r.top), width: num(r.width, r.w), height: num(r.height, r.h),
      passed: typeof r.passed === "boolean" ? r.passed : typeof r.ok === "boolean" ? r.ok : null,
      score: num(r.score, r.e, r.whitepaper_e),
    })).filter((r) => r.x !== null && r.y !== null && r.width !== null && r.height !== null);
    frames[frame] = { frame, regions, passed: normalVerdict(f.accepted ?? f.passed ?? f.verdict),
                      score: num(f.score), reason: typeof f.reason === "string" ? f.reason : null,
                      width: num(f.width, j.width), height: num(f.height, j.height) };
  }
  return { computed, chain, agree, details: { computed: detailOf(computedRaw), chain: detailOf(chainRaw) }, frames, raw: j };
}

const REGION_COLOURS = { true: "#009E73", false: "#D55E00", null: "#F0E442" };

/** A frame with the verifier's noise regions outlined over it (an SVG in the image's natural pixel space). */
function FrameView({ frame, src, checked }) {
  const [size, setSize] = useState(null);
  const [failed, setFailed] = useState(false);
  const regions = (checked && checked.regions) || [];
  const w = (size && size[0]) || (checked && checked.width);
  const h = (size && size[1]) || (checked && checked.height);
  const passedCount = regions.filter((r) => r.passed === true).length;
  const failedCount = regions.filter((r) => r.passed === false).length;
  let note = "";
  if (checked) {
    note = `: ${regions.length} noise region${regions.length === 1 ? "" : "s"} outlined`;
    if (passedCount || failedCount) note += ` (${passedCount} passed, ${failedCount} failed)`;
    if (checked.passed) note += `; the verifier ${checked.passed === "passed" ? "accepts" : checked.passed === "failed" ? "rejects" : "judges"} this frame`;
    if (checked.score !== null) note += ` (score ${fmtNum(checked.score, 4)})`;
    if (checked.passed === "failed" && checked.reason) note += `: ${checked.reason}`;
  }
  return html`<figure class="frame" data-frame=${frame} data-regions=${regions.length} style="margin:0">
    <div class="overlay" style="position:relative;display:block;line-height:0">
      ${failed
        ? html`<p class="error" style="line-height:normal">Frame ${frame} could not be loaded from the gateway.</p>`
        : html`<img src=${src} alt=${`Frame ${frame}`} loading="lazy" style="display:block;max-width:100%;height:auto"
            onLoad=${(e) => setSize([e.currentTarget.naturalWidth, e.currentTarget.naturalHeight])}
            onError=${() => setFailed(true)} />`}
      ${!failed && w && h && regions.length > 0 && html`<svg class="regions" viewBox=${`0 0 ${w} ${h}`} preserveAspectRatio="none"
          aria-hidden="true" style="position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none">
        ${regions.map((r, i) => html`<g class="region" data-passed=${String(r.passed)}>
          <rect x=${r.x} y=${r.y} width=${r.width} height=${r.height} fill="none" stroke="#000" stroke-opacity="0.7"
            stroke-width="4" vector-effect="non-scaling-stroke" />
          <rect x=${r.x} y=${r.y} width=${r.width} height=${r.height} fill="none" stroke=${REGION_COLOURS[r.passed]}
            stroke-width="2" vector-effect="non-scaling-stroke">
            <title>Region ${i}: x ${r.x}, y ${r.y}, ${r.width} × ${r.height} px${r.passed === null ? "" : r.passed ? ", passed" : ", failed"}${r.score !== null ? `, score ${fmtNum(r.score, 4)}` : ""}</title></rect>
        </g>`)}
      </svg>`}
    </div>
    <figcaption>Frame ${frame}${note}. <a href=${src} target="_blank" rel="noopener">Open full size</a></figcaption>
  </figure>`;
}

function Frames({ cid, start, end, verification, frameCids }) {
  if (!cid && !(frameCids && Object.keys(frameCids).length))
    return html`<p class="muted">No frames delivered yet.</p>`;
  const frames = [];
  for (let f = start; f <= end && frames.length < FRAMES_SHOWN; f++) frames.push(f);
  return html`<div class="frames">
    ${frames.map((f) => html`<${FrameView} key=${f} frame=${f}
      src=${cid ? gatewayUrl(`${cid}/${frameName(f)}`) : gatewayUrl(frameCids[f] || "")}
      checked=${verification ? verification.frames[f] : null} />`)}
    ${end - start + 1 > frames.length && html`<p class="muted">The first ${frames.length} of ${end - start + 1} frames.</p>`}
  </div>`;
}

function savedVerifier() {
  try {
    return localStorage.getItem(VERIFIER_KEY) || "";
  } catch {
    return "";
  }
}

/** Re-verification by a verifier the user names (remembered here, none by default): `${url}/verify?${query}`. */
function Reverify({ query, chainVerdict, result, setResult }) {
  const [url, setUrl] = useState(savedVerifier);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState("");
  const abort = useRef(null);
  const run = async (e) => {
    e.preventDefault();
    let base = url.trim().replace(/\/+$/, "");
    if (!base) return setError("Enter the address of a verifier (run one anywhere with `inferix verify serve`).");
    if (!/^https?:\/\//i.test(base)) base = `http://${base}`;
    try {
      new URL(base);
    } catch {
      return setError("That is not a web address: use something like http://localhost:8100.");
    }
    try {
      localStorage.setItem(VERIFIER_KEY, base);
    } catch {
      /* private mode: not remembered */
    }
    setUrl(base);
    setError("");
    setResult(null);
    setRunning(true);
    abort.current = new AbortController();
    try {
      let reply;
      try {
        reply = await fetch(`${base}/verify?${query}`, { signal: abort.current.signal });
      } catch (exc) {
        if (exc.name === "AbortError") throw new Error("Cancelled.");
        throw new Error(`Cannot reach the verifier at ${base} (${exc.message}). Is it running (\`inferix verify serve\`), and reachable from this browser?`);
      }
      const text = await reply.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error(`The verifier answered ${reply.status} with something that is not JSON: ${text.slice(0, 200)}`);
      }
      if (!reply.ok) throw new Error(`The verifier answered ${reply.status}: ${json.detail || json.error || JSON.stringify(json).slice(0, 200)}`);
      setResult(normalizeVerification(json));
    } catch (exc) {
      setError(exc.message);
    } finally {
      setRunning(false);
      abort.current = null;
    }
  };
  const chain = (result && result.chain) || chainVerdict;
  const agree = result ? (typeof result.agree === "boolean" ? result.agree : result.computed && chain ? result.computed === chain : null) : null;
  return html`<section class="card" aria-labelledby="ex-reverify">
    <h2 id="ex-reverify">Re-verify</h2>
    <p>Ask a verifier of your choice (yours, run with <code>inferix verify serve</code>, or anyone's you trust) to
      verify the frames again from public data, and compare its verdict with the chain's.</p>
    <form class="actions" onSubmit=${run}>
      <label for="verifier-url">Verifier URL</label>
      <input id="verifier-url" type="url" autocomplete="url" spellcheck="false" placeholder="http://localhost:8100"
        value=${url} onInput=${(e) => setUrl(e.currentTarget.value)} />
      <button type="submit" class="primary" disabled=${running}>Re-verify</button>
      ${running && html`<button type="button" onClick=${() => abort.current && abort.current.abort()}>Cancel</button>`}
    </form>
    ${running && html`<p class="progress" role="status">Verifying… a verifier re-checks every noise region, which can take a while.</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${result && html`<div class="verification" role="status">
      <${Facts} rows=${[
        ["Verifier's verdict", html`<strong data-verdict=${result.computed || "unknown"}>${result.computed || "not given"}</strong>${
          result.details.computed.score !== null ? ` (score ${fmtNum(result.details.computed.score, 4)})` : ""}${
          result.details.computed.reason ? `: ${result.details.computed.reason}` : ""}`],
        ["Chain's verdict", html`<span data-verdict=${chain || "unknown"}>${chain || "not known yet"}</span>${
          result.details.chain.decidedBy ? ` (decided by the ${result.details.chain.decidedBy})` : ""}`],
        ["Agreement", agree === null ? "—" : agree
          ? html`<span class="ok">The verifier agrees with the chain.</span>`
          : html`<span class="error">The verifier disagrees with the chain.</span>`],
        ["Frames with regions", String(Object.keys(result.frames).length)],
      ]} />
      <p class="muted">The noise regions the verifier checked are outlined on the frames below (yellow; green or
        orange when it reports each region's pass or fail).</p>
      <details><summary>The verifier's full answer</summary><pre>${JSON.stringify(result.raw, null, 1)}</pre></details>
    </div>`}
  </section>`;
}

async function loadBatchTask(batchId, index) {
  const batch = await api(`/v1/batches/${batchId}`);
  const task = batch.tasks.find((t) => t.index === index) || null;
  let leafCheck = null;
  let chainRoot = null;
  let chainCommittee = null;
  try {
    chainRoot = (await read("BatchLane", "batches", [batchId])).root;
  } catch {
    /* the lane is not in this deployment, or the RPC did not answer */
  }
  if (task && batch.leaves_known)
    try {
      proofFor(batch, index);
      leafCheck = chainRoot === null ? "index" : chainRoot.toLowerCase() === batch.root.toLowerCase() ? "chain" : "mismatch";
    } catch (exc) {
      leafCheck = exc.message;
    }
  try {
    const c = await read("BatchCommittee", "committees", [batchId]);
    if (c.quorum > 0n) chainCommittee = c;
  } catch {
    /* not drawn or not readable */
  }
  return { batchId, index, batch, task, leafCheck, chainRoot, chainCommittee };
}

function chainBatchVerdict(c, index) {
  if (!c || c.finalizedAt === 0n) return null;
  if (!bit(c.decidedBits, index)) return "undecided";
  return bit(c.passBits, index) ? "passed" : "failed";
}

function BatchTaskView({ batchId, index }) {
  const [verification, setVerification] = useState(null);
  const [data, error] = useLoad(() => loadBatchTask(batchId, index), [batchId, index], 15000);
  if (!data || data.batchId !== batchId || data.index !== index)
    return html`<${Loading} error=${error} what="the batch" />`;
  const { batch, task, chainCommittee } = data;
  if (!task)
    return html`<p class="error" role="alert">Batch ${shortHex(batchId)} has no task ${index} in the index
      (${batch.leaves_known ? `it has ${batch.tasks.length}` : "its tasks were posted through another contract and are not indexed"}).</p>`;
  const chainVerdict = chainBatchVerdict(chainCommittee, index) || task.verdict;
  const members = (batch.committee && batch.committee.members) || [];
  const s = batch.settlement;
  const leafText = {
    chain: html`<span class="ok">checked: its leaf and Merkle proof make the batch's root on chain</span>`,
    index: "its leaf and proof make the root the index reports (the chain's root could not be read)",
    mismatch: html`<span class="error">the index's root differs from the chain's</span>`,
  }[data.leafCheck] || (data.leafCheck ? html`<span class="error">${data.leafCheck}</span>` : "not checked (leaves not indexed)");
  return html`
    <p><a href="#/explorer">All batches</a> · <a href=${`#/jobs/${batch.job_id}`}>Job ${batch.job_id}</a></p>
    <section class="card" aria-labelledby="ex-leaf">
      <h2 id="ex-leaf">Task ${index} of batch <${Hex} value=${batch.batch_id} /></h2>
      <${Facts} rows=${[
        ["Batch", html`<code class="hash">${batch.batch_id}</code>`],
        ["Batch stage", `${batch.stage}${batch.late ? " (the seed was revealed late)" : ""}`],
        ["Worker", html`<${Addr} a=${task.worker} />`],
        ["Frames", `${task.frame_start} to ${task.frame_end}`],
        ["Work", `${fmtUnits(task.ibm, 6, 3)} IBM`],
        ["Fee", fmtIfx(task.fee)],
        ["Collateral", task.collateral ? fmtIfx(task.collateral) : "—"],
        ["Manifest digest", html`<${Hex} value=${task.manifest_digest} />`],
        ["Package", html`<code>${task.package_cid}</code>`],
        ["Result", task.result_cid ? html`<code>${task.result_cid}</code>` : "not delivered"],
        ["Leaf", leafText],
        ["Posted", fmtTime(batch.posted_at)],
        ["Render deadline", fmtTime(batch.render_ends)],
      ]} />
    </section>
    <section class="card" aria-labelledby="ex-committee">
      <h2 id="ex-committee">Committee</h2>
      ${!batch.committee
        ? html`<p class="muted">No committee drawn yet (it is drawn after the batch's seed is revealed).</p>`
        : html`<p>Drawn by beacon round ${batch.committee.round}; ${batch.committee.committed} of ${batch.committee.size} committed${batch.committee.commit_ends ? `; commit phase ends ${fmtTime(batch.committee.commit_ends)}` : ""}.</p>
          <table class="data">
            <caption>Committee members and their votes on task ${index}</caption>
            <thead><tr><th scope="col">Seat</th><th scope="col">Oracle</th><th scope="col">Committed</th>
              <th scope="col">Revealed</th><th scope="col">Vote on this task</th><th scope="col">Slashed</th></tr></thead>
            <tbody>${members.map((m) => {
              const vote = m.pass_bits === null ? null : bit(m.pass_bits, index);
              return html`<tr><th scope="row">${m.seat}</th><td><${Addr} a=${m.oracle} /></td>
                <td>${m.committed_block ? `block ${m.committed_block}` : "—"}</td>
                <td>${m.revealed_block ? `block ${m.revealed_block}` : m.no_show ? "no-show" : "—"}</td>
                <td>${vote === null ? html`<span class="muted">not revealed</span>` : vote ? "pass" : "fail"}</td>
                <td>${m.slashed && m.slashed !== "0" ? fmtIfx(m.slashed) : "—"}</td></tr>`;
            })}</tbody>
          </table>`}
    </section>
    <section class="card" aria-labelledby="ex-verdict">
      <h2 id="ex-verdict">Verdict and settlement</h2>
      <${Facts} rows=${[
        ["Committee's verdict", task.verdict || (chainVerdict ? chainVerdict : "not yet")],
        chainCommittee && ["On chain", chainVerdict === null ? "voting" : chainVerdict],
        ["Outcome", task.outcome || "open"],
        task.challenger && ["Challenged by", html`<${Addr} a=${task.challenger} /> (bond ${fmtIfx(task.challenge_bond)})`],
        task.challenger && ["Challenge", task.overturned === null ? "not resolved yet" : task.overturned ? "the verdict was overturned" : "the verdict stood"],
        task.defect && ["Manifest defect", task.defect],
        ["Batch settlement", s ? `${s.passed} passed, ${s.failed} failed; ${fmtIfx(s.burned)} burned, ${fmtIfx(s.to_treasury)} to the treasury, ${fmtIfx(s.refund)} back to the job (${fmtTime(s.at)})`
                                : "not settled yet"],
      ]} />
    </section>
    <section class="card" aria-labelledby="ex-command">
      <h2 id="ex-command">Verify it yourself</h2>
      <p>Anyone can re-check this task on their own machine, from public data only:</p>
      <${Command} command=${`inferix verify --batch ${batch.batch_id} --index ${index}`} />
    </section>
    <${Reverify} query=${`batch=${batch.batch_id}&index=${index}`} chainVerdict=${chainVerdict}
      result=${verification} setResult=${setVerification} />
    <section class="card" aria-labelledby="ex-frames">
      <h2 id="ex-frames">Frames</h2>
      <${Frames} cid=${task.result_cid} start=${task.frame_start} end=${task.frame_end} verification=${verification} />
    </section>`;
}

function taskVerdictWord(task) {
  const v = task.verdict;
  if (v && v.committee && v.committee.outcome) return v.committee.outcome.replace("_", " ");
  if (task.passed === true || (v && v.passed === true)) return "passed";
  if (task.passed === false || (v && v.passed === false)) return "failed";
  return null;
}

function TaskView({ taskId }) {
  const [verification, setVerification] = useState(null);
  const [task, error] = useLoad(() => api(`/v1/tasks/${taskId}`), [taskId], 15000);
  if (!task || String(task.task_id) !== String(taskId)) return html`<${Loading} error=${error} what=${`task ${taskId}`} />`;
  const v = task.verdict;
  const committee = v && v.committee;
  const votes = new Map(((v && v.votes) || []).map((x) => [x.oracle.toLowerCase(), x]));
  const verdict = taskVerdictWord(task);
  const frameCids = {};
  for (const f of (v && v.frames) || []) if (f.frame_cid) frameCids[f.frame] = f.frame_cid;
  const s = task.settlement;
  return html`
    <p><a href="#/explorer">All batches</a> · <a href=${`#/jobs/${task.job_id}`}>Job ${task.job_id}</a></p>
    <section class="card" aria-labelledby="ex-leaf">
      <h2 id="ex-leaf">Task ${task.task_id}</h2>
      <${Facts} rows=${[
        ["State", task.state],
        ["Worker", html`<${Addr} a=${task.worker} />`],
        ["Frames", `${task.frame_start} to ${task.frame_end}`],
        ["Work", `${fmtUnits(task.ibm, 6, 3)} IBM`],
        ["Fee", task.fee !== "0" ? fmtIfx(task.fee) : "not accepted yet"],
        ["Collateral", fmtIfx(task.collateral)],
        ["Attempt", String(task.attempts + 1)],
        ["Key commitment", html`<${Hex} value=${task.key_commit} />`],
        ["Manifest digest", html`<${Hex} value=${task.manifest_digest} />`],
        ["Package", html`<code>${task.package_cid}</code>`],
        ["Result", task.result_cid ? html`<code>${task.result_cid}</code>` : "not delivered"],
        ["Seed revealed", task.key_revealed ? "yes" : "no"],
      ]} />
    </section>
    <section class="card" aria-labelledby="ex-committee">
      <h2 id="ex-committee">Committee</h2>
      ${!committee
        ? html`<p class="muted">No committee drawn yet for this attempt.</p>`
        : html`<p>${`Drawn by beacon round ${committee.round}; ${committee.committed} of ${committee.size} committed, ` +
                   `${committee.revealed} revealed: ${committee.pass_votes} pass, ${committee.fail_votes} fail.`}</p>
          <table class="data">
            <caption>Committee members and their votes</caption>
            <thead><tr><th scope="col">Seat</th><th scope="col">Oracle</th><th scope="col">Committed</th>
              <th scope="col">Vote</th><th scope="col">Score</th><th scope="col">Slashed</th></tr></thead>
            <tbody>${committee.members.map((m) => {
              const vote = votes.get(m.oracle.toLowerCase());
              return html`<tr><th scope="row">${m.seat}</th><td><${Addr} a=${m.oracle} /></td>
                <td>${m.committed_block ? `block ${m.committed_block}` : "—"}</td>
                <td>${vote ? (vote.passed ? "pass" : "fail") : m.no_show ? "no-show" : html`<span class="muted">not revealed</span>`}</td>
                <td>${vote ? `${(vote.score / 100).toFixed(2)} %` : "—"}</td>
                <td>${vote && vote.slashed && vote.slashed !== "0" ? fmtIfx(vote.slashed)
                      : m.no_show_slashed && m.no_show_slashed !== "0" ? fmtIfx(m.no_show_slashed) : "—"}</td></tr>`;
            })}</tbody>
          </table>`}
    </section>
    <section class="card" aria-labelledby="ex-verdict">
      <h2 id="ex-verdict">Verdict and settlement</h2>
      <${Facts} rows=${[
        ["Verdict", verdict || "not yet"],
        task.challenger && ["Challenged by", html`<${Addr} a=${task.challenger} />`],
        ["Slashed from the worker", fmtIfx(task.slashed)],
        ["Settlement", s ? `${fmtIfx(s.fee)} paid; ${fmtIfx(s.burned)} burned, ${fmtIfx(s.to_treasury)} to the treasury` : "not settled"],
        ["Failed attempts before this one", String(task.attempts)],
      ]} />
    </section>
    <section class="card" aria-labelledby="ex-command">
      <h2 id="ex-command">Verify it yourself</h2>
      <p>Anyone can re-check this task on their own machine, from public data only:</p>
      <${Command} command=${`inferix verify --task ${task.task_id}`} />
    </section>
    <${Reverify} query=${`task=${task.task_id}`} chainVerdict=${verdict} result=${verification} setResult=${setVerification} />
    <section class="card" aria-labelledby="ex-frames">
      <h2 id="ex-frames">Frames</h2>
      <${Frames} cid=${task.result_cid} start=${task.frame_start} end=${task.frame_end} verification=${verification}
        frameCids=${frameCids} />
    </section>`;
}

export function ExplorerPage({ params = [] }) {
  const [batchId, index, taskId] = params;
  let body;
  if (batchId && index !== undefined)
    body = html`<${BatchTaskView} key=${`${batchId}/${index}`} batchId=${batchId.toLowerCase()} index=${Number(index)} />`;
  else if (taskId) body = html`<${TaskView} key=${taskId} taskId=${taskId} />`;
  else body = html`<${RecentBatches} /><${OpenForm} />`;
  return html`<div class="explorer">
    <h1>Explorer</h1>
    ${body}
  </div>`;
}
