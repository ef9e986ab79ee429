// One small store for the whole app: plain state, set() notifies the components that use it.
import { useEffect, useReducer } from "preact/hooks";

export const state = {
  network: null, // GET /v1/network: chain_id, rpc_url, contracts, manager, gateway
  networkError: null,
  providers: [], // EIP-6963 announcements: { info: { uuid, name, icon, rdns }, provider }
  wallet: null, // the chosen EIP-1193 provider's announcement
  account: null, // the connected address (checksummed)
  chainId: null, // the wallet's chain
  session: null, // { token, address, expires_at } after SIWE
  notices: [], // { id, kind: "error" | "info" | "ok", text, action? }
  pending: null, // the transaction or signature under review (tx.js)
};

const listeners = new Set();

export function set(patch) {
  Object.assign(state, patch);
  for (const listener of [...listeners]) listener();
}

export function useAppState() {
  const [, redraw] = useReducer((n) => n + 1, 0);
  useEffect(() => {
    listeners.add(redraw);
    return () => listeners.delete(redraw);
  }, []);
  return state;
}

let noticeId = 0;
/** Show a message at the top of the page (errors stay until dismissed; others fade after 8 s). */
export function notify(kind, text, action) {
  const id = ++noticeId;
  set({ notices: [...state.notices, { id, kind, text, action }] });
  if (kind !== "error") setTimeout(() => dismiss(id), 8000);
  return id;
}

export function dismiss(id) {
  set({ notices: state.notices.filter((n) => n.id !== id) });
}
