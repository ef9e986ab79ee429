// A minimal EIP-1193 wallet announced through EIP-6963, injected into the page by the browser tests (extensions
// cannot be installed in them). It forwards JSON-RPC to anvil, whose unlocked dev accounts sign personal_sign,
// eth_signTypedData_v4 and eth_sendTransaction themselves: the app's code path is the one a real wallet drives.
// The test steers it through window.__wallet: { account, chainId, reject: Set of methods to refuse once (4001) }.
(({ rpcUrl, account, chainId }) => {
  const listeners = {};
  const control = (window.__wallet = { account, chainId, reject: new Set(), calls: [] });
  const emit = (event, value) => (listeners[event] || []).forEach((fn) => fn(value));
  const toHex = (text) =>
    /^0x[0-9a-fA-F]*$/.test(text) ? text : "0x" + [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");

  async function rpc(method, params) {
    const reply = await fetch(rpcUrl, { method: "POST", headers: { "Content-Type": "application/json" },
                                        body: JSON.stringify({ jsonrpc: "2.0", id: Date.now(), method, params: params || [] }) });
    const body = await reply.json();
    if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data });
    return body.result;
  }

  const provider = {
    async request({ method, params }) {
      control.calls.push(method);
      if (control.reject.has(method)) {
        control.reject.delete(method);
        throw Object.assign(new Error("User rejected the request."), { code: 4001 });
      }
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [control.account];
        case "eth_chainId":
          return control.chainId;
        case "net_version":
          return String(parseInt(control.chainId, 16));
        case "wallet_switchEthereumChain":
          control.chainId = params[0].chainId;
          emit("chainChanged", control.chainId);
          return null;
        case "personal_sign":
          return rpc("personal_sign", [toHex(params[0]), params[1]]);
        default:
          return rpc(method, params);
      }
    },
    on(event, fn) {
      (listeners[event] = listeners[event] || []).push(fn);
    },
    removeListener(event, fn) {
      listeners[event] = (listeners[event] || []).filter((f) => f !== fn);
    },
  };
  const info = { uuid: "6a1c7f0e-3b7e-4c7c-9a61-0f3f1d2b9e11", name: "Test Wallet", rdns: "org.inferix.testwallet",
                 icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/%3E" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})(__CONFIG__);
