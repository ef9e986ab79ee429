// The Inferix web app: creators, node operators and token holders, on chain through their own wallet.
import { html, render } from "htm/preact";
import { useEffect, useState } from "preact/hooks";

import { loadNetwork, short } from "./lib/chain.js";
import { notify, state, useAppState } from "./lib/state.js";
import { TxDialog } from "./lib/tx.js";
import { Notices, useAction } from "./lib/ui.js";
import { connect, disconnect, discover, explainWallet, signIn, switchChain, wrongChain } from "./lib/wallet.js";
import { CreatePage, JobPage, JobsPage } from "./pages/creator.js";
import { GovernancePage } from "./pages/governance.js";
import { ExplorerPage, NetworkPage } from "./pages/network.js";
import { NodePage } from "./pages/node.js";

const ROUTES = [
  [/^\/?$/, CreatePage, "New job"],
  [/^\/jobs$/, JobsPage, "My jobs"],
  [/^\/jobs\/(\d+)$/, JobPage, null],
  [/^\/node$/, NodePage, "Node"],
  [/^\/governance$/, GovernancePage, "Governance"],
  [/^\/network$/, NetworkPage, "Network"],
  [/^\/explorer(?:\/(0x[0-9a-fA-F]{64})\/(\d+)|\/task\/(\d+))?$/, ExplorerPage, "Explorer"],
];
const NAV = [["#/", "New job"], ["#/jobs", "My jobs"], ["#/node", "Node"], ["#/governance", "Governance"],
             ["#/network", "Network"], ["#/explorer", "Explorer"]];

function useRoute() {
  const [path, setPath] = useState(location.hash.slice(1) || "/");
  useEffect(() => {
    const change = () => setPath(location.hash.slice(1) || "/");
    addEventListener("hashchange", change);
    return () => removeEventListener("hashchange", change);
  }, []);
  return path;
}

function WalletBar() {
  const [open, setOpen] = useState(false);
  const [doConnect, connecting] = useAction(async (choice) => {
    setOpen(false);
    try {
      await connect(choice);
    } catch (exc) {
      throw new Error(explainWallet(exc).text);
    }
  });
  const [doSwitch, switching] = useAction(async () => {
    try {
      await switchChain();
    } catch (exc) {
      throw new Error(`Could not switch networks: ${explainWallet(exc).text}`);
    }
  });
  const [doSignIn, signingIn] = useAction(async () => {
    try {
      await signIn();
      notify("ok", "Signed in.");
    } catch (exc) {
      throw new Error(explainWallet(exc).text);
    }
  });
  if (!state.account) {
    if (!state.providers.length)
      return html`<div class="wallet"><span class="muted">No wallet found. Install a browser wallet (MetaMask, Rabby, Coinbase Wallet…) and reload.</span></div>`;
    return html`<div class="wallet">
      <button class="primary" aria-haspopup="true" aria-expanded=${open} disabled=${connecting} onClick=${() => setOpen(!open)}>Connect wallet</button>
      ${open && html`<ul class="menu" role="menu">${state.providers.map((p) => html`<li role="none">
        <button role="menuitem" onClick=${() => doConnect(p)}><img src=${p.info.icon} alt="" width="20" height="20" /> ${p.info.name}</button></li>`)}</ul>`}
    </div>`;
  }
  return html`<div class="wallet">
    <code title=${state.account}>${short(state.account)}</code>
    ${wrongChain()
      ? html`<span class="warn" role="alert">Wrong network (chain ${state.chainId}; this app runs on chain ${state.network.chain_id})</span>
             <button class="primary" disabled=${switching} onClick=${doSwitch}>Switch network</button>`
      : state.session
        ? html`<span class="ok">Signed in</span>`
        : html`<button disabled=${signingIn} onClick=${doSignIn}>Sign in</button>`}
    <button onClick=${disconnect}>Disconnect</button>
  </div>`;
}

function App() {
  useAppState();
  const path = useRoute();
  if (state.networkError && !state.network)
    return html`<main class="page"><h1>Inferix</h1><p class="error" role="alert">${state.networkError}</p>
      <button onClick=${() => loadNetwork()}>Try again</button></main>`;
  if (!state.network) return html`<main class="page"><p class="muted" role="status">Loading the network…</p></main>`;
  let page = html`<h1>Not found</h1><p>No page at <code>${path}</code>. <a href="#/">Start a new job</a>.</p>`;
  for (const [pattern, Page] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      page = html`<${Page} params=${match.slice(1)} />`;
      break;
    }
  }
  const here = "#" + path;
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">Inferix</a>
      <nav aria-label="Main"><ul>${NAV.map(([href, label]) => html`<li><a href=${href}
        aria-current=${(href === "#/" ? here === "#/" : here.startsWith(href)) ? "page" : undefined}>${label}</a></li>`)}</ul></nav>
      <${WalletBar} />
    </header>
    <${Notices} />
    <main id="main" class="page" tabindex="-1">${page}</main>
    <${TxDialog} />`;
}

discover();
loadNetwork().then(() => {
  if (window.performance && performance.mark) performance.mark("inferix-network-loaded");
});
const root = document.getElementById("app");
root.textContent = ""; // the static "Loading…" placeholder
render(html`<${App} />`, root);
window.__inferix = { state };
