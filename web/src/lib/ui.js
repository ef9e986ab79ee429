// Small shared pieces of UI.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";

import { short } from "./chain.js";
import { dismiss, notify, state } from "./state.js";

export function Addr({ a }) {
  return a ? html`<code class="addr" title=${a}>${short(a)}</code>` : html`<span class="muted">—</span>`;
}

export function Notices() {
  return html`<div class="notices" aria-live="polite">
    ${state.notices.map((n) => html`<div class=${`notice ${n.kind}`} role=${n.kind === "error" ? "alert" : "status"}>
      <span>${n.text}</span>
      ${n.action && html`<button onClick=${() => { dismiss(n.id); n.action.run(); }}>${n.action.label}</button>`}
      <button class="close" aria-label="Dismiss" onClick=${() => dismiss(n.id)}>×</button>
    </div>`)}
  </div>`;
}

/** Run an async action from a button: busy while it runs, its failure shown as a notice (with a retry). */
export function useAction(fn, { retry = true } = {}) {
  const [busy, setBusy] = useState(false);
  const run = async (...args) => {
    setBusy(true);
    try {
      return await fn(...args);
    } catch (exc) {
      const text = exc.message || String(exc);
      if (!/^Cancelled/.test(text)) notify("error", text, retry ? { label: "Try again", run: () => run(...args) } : undefined);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return [run, busy];
}

/** Load data (again whenever `deps` change, and every `every` ms when given); returns [data, error, reload]. */
export function useLoad(fn, deps = [], every = 0) {
  const [data, setData] = useState(undefined);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    const load = () => fn().then((d) => live && (setData(d), setError(null)), (e) => live && setError(e.message || String(e)));
    load();
    const timer = every ? setInterval(load, every) : null;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, tick]);
  return [data, error, () => setTick((t) => t + 1)];
}

export function Loading({ error, what = "" }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : html`<p class="muted" role="status">Loading ${what}…</p>`;
}

export function fmtTime(unix) {
  return unix ? new Date(Number(unix) * 1000).toLocaleString() : "—";
}
