// certkey.js: the client a web page uses to reach certkeyd, the certkey daemon on the
// user's computer (docs/web.md). One ES module, no dependencies.
//
// Two paths lead to the daemon, and connect() picks one:
//  - the certkey browser extension, when it is installed: the page talks to its content
//    script, which relays through native messaging. No network permission is involved.
//  - http://127.0.0.1:PORT: Chromium 142+ asks the user for the "loopback-network"
//    permission first (Local Network Access), unless a policy grants it.
// Every failure is a CertkeyError whose `kind` says what the user has to do.

export const DEFAULT_PORT = 18456;
const MAX_MESSAGE = 64 * 1024; // what the daemon and the extension accept (docs/daemon.md)
const REQUEST_HEADER = "X-Certkey-Request";

// kind: "not_running" | "permission_blocked" | "origin_not_allowed" | "native_host_missing"
//       | "token" (the daemon refused or failed: `code` and its messages) | "protocol"
export class CertkeyError extends Error {
  constructor(kind, message, fields = {}) {
    super(message);
    this.name = "CertkeyError";
    this.kind = kind;
    this.code = fields.code ?? kind;
    this.status = fields.status ?? 0;
    this.messageZh = fields.message_zh ?? "";
    this.hint = fields.hint ?? "";
    this.hintZh = fields.hint_zh ?? "";
    this.detail = fields.detail ?? "";
    this.permission = fields.permission ?? null; // the loopback-network permission's state
  }
}

const LOCAL_MESSAGES = {
  not_running: ["certkey is not installed, or it is not running on this computer.",
                "本机未安装 certkey，或 certkey 服务未运行。"],
  permission_blocked: ["The browser blocks this page from reaching certkey on this computer (local network access).",
                       "浏览器阻止了本页面访问本机的 certkey 服务（本地网络访问权限）。"],
  origin_not_allowed: ["certkey on this computer does not allow this web site.",
                       "本机的 certkey 不允许此网站使用。"],
  native_host_missing: ["The certkey extension is installed, but its connection to certkey (the native host) is missing.",
                        "已安装 certkey 扩展，但缺少它与 certkey 的连接组件（本地消息主机）。"],
  protocol: ["certkey answered in a way this page does not understand.", "certkey 的应答无法识别。"],
};

function localError(kind, fields = {}) {
  const [en, zh] = LOCAL_MESSAGES[kind];
  return new CertkeyError(kind, en, { message_zh: zh, ...fields });
}

function daemonError(status, error) {
  if (!error || typeof error.code !== "string") return localError("protocol", { status });
  const kind = { origin_not_allowed: "origin_not_allowed", daemon_unavailable: "not_running",
                 native_host_missing: "native_host_missing" }[error.code] ?? "token";
  return new CertkeyError(kind, error.message ?? error.code, { ...error, status });
}

// The state of Chromium's loopback-network permission for this page: "granted", "denied",
// "prompt", or "unsupported" where the browser has no such permission.
export async function loopbackPermission() {
  try {
    return (await navigator.permissions.query({ name: "loopback-network" })).state;
  } catch {
    return "unsupported";
  }
}

const byteLength = (text) => new TextEncoder().encode(text).length;

// A renewal id goes into a URL path: only the daemon's own form (32 hex digits) may, so
// that no id can name another path ("../pin/unblock").
function renewalId(args) {
  if (typeof args.id !== "string" || !/^[0-9a-f]{32}$/.test(args.id)) throw new TypeError("not a renewal id");
  return args.id;
}

// HTTP method and path of each command (daemon/openapi/certkey-v1.json).
const ROUTES = {
  listTokens: ["GET", () => "/v1/tokens"],
  listRenewals: ["GET", () => "/v1/renewals"],
  getRenewal: ["GET", (a) => `/v1/renewals/${renewalId(a)}`],
  beginRenewal: ["POST", () => "/v1/renewals"],
  completeRenewal: ["POST", (a) => `/v1/renewals/${renewalId(a)}/complete`],
  cancelRenewal: ["POST", (a) => `/v1/renewals/${renewalId(a)}/cancel`],
  changeCertificate: ["POST", () => "/v1/certificates/change"],
  revokeCertificate: ["POST", () => "/v1/certificates/revoke"],
  changePin: ["POST", () => "/v1/pin/change"],
  unblockPin: ["POST", () => "/v1/pin/unblock"],
  beginRemoteUnlock: ["POST", () => "/v1/pin/remote-unlock"],
  completeRemoteUnlock: ["POST", () => "/v1/pin/remote-unlock/response"],
  diagnose: ["GET", () => "/v1/diagnosis"],
  queryCertificates: ["GET", () => "/v1/certificates"],
};

// Talks HTTP to 127.0.0.1; events over a WebSocket.
class LoopbackTransport {
  constructor(port) {
    this.kind = "localhost";
    this.base = `http://127.0.0.1:${port}`;
  }

  async call(command, args = {}) {
    const route = ROUTES[command];
    if (!route) throw new TypeError(`unknown command ${command}`);
    const [method, path] = route;
    const body = { ...args };
    delete body.id; // a path parameter
    const init = { method, mode: "cors", credentials: "omit", cache: "no-store" };
    if (method !== "GET") {
      init.headers = { "Content-Type": "application/json", [REQUEST_HEADER]: "1" };
      init.body = JSON.stringify(body);
      if (byteLength(init.body) > MAX_MESSAGE) throw new RangeError("request too large");
    }
    const url = this.base + path(args);
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      throw await unreachable();
    }
    let json;
    try {
      json = await response.json();
    } catch {
      json = null;
    }
    if (json === null || typeof json !== "object") throw localError("protocol", { status: response.status });
    if (!response.ok) throw daemonError(response.status, json.error);
    return json;
  }

  watch(onEvent, onClose) {
    const socket = new WebSocket(`ws://127.0.0.1:${this.base.split(":").pop()}/v1/events`);
    socket.onmessage = (m) => {
      try {
        const message = JSON.parse(m.data);
        if (message.event) onEvent(message);
      } catch { /* not JSON: ignored */ }
    };
    socket.onclose = () => onClose?.();
    socket.onopen = () => socket.send(JSON.stringify({ id: 1, command: "watchEvents" }));
    return { close: () => socket.close() };
  }
}

// Whether this page is itself served from loopback, where Local Network Access does not
// apply (a developer's portal, or a page of certkey's own).
function pageOnLoopback() {
  return ["127.0.0.1", "localhost", "[::1]"].includes(globalThis.location?.hostname);
}

// A fetch to loopback that failed outright: the daemon is not listening, or the browser
// stopped the request before it left (Local Network Access), and the page cannot see which.
// Unless the permission is granted (or the browser has none), the browser is the likelier.
async function unreachable() {
  const permission = await loopbackPermission();
  if (pageOnLoopback() || permission === "granted" || permission === "unsupported") {
    return localError("not_running", { permission });
  }
  return localError("permission_blocked", { permission });
}

// Talks to the extension's content script with window messages. The content script marks
// the document with data-certkey-extension before any page script runs. One per page: every
// client of the page shares it, and its ids are unique to it.
class ExtensionTransport {
  static shared = null;

  static get() {
    return (ExtensionTransport.shared ??= new ExtensionTransport());
  }

  constructor() {
    this.kind = "extension";
    this.pending = new Map();
    this.watchers = new Set(); // {onEvent, onClose}
    this.prefix = `page-${crypto.getRandomValues(new Uint32Array(2)).join("")}-`;
    this.next = 1;
    window.addEventListener("message", (e) => this.receive(e));
  }

  static present() {
    return typeof document !== "undefined" && document.documentElement.hasAttribute("data-certkey-extension");
  }

  receive(event) {
    if (event.source !== window || event.data?.certkey !== "from-extension") return;
    const message = event.data.message;
    if (message?.event) {
      for (const watcher of this.watchers) watcher.onEvent(message);
      return;
    }
    if (message?.relay === "closed") {
      // The relay ended, and with it the event subscription: watchers learn it is over.
      const ended = [...this.watchers];
      this.watchers.clear();
      for (const watcher of ended) watcher.onClose?.();
      return;
    }
    const waiting = this.pending.get(message?.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error) waiting.reject(daemonError(message.status, message.error));
    else if (message.status >= 200 && message.status < 300) waiting.resolve(message.result ?? {});
    else waiting.reject(localError("protocol", { status: message.status }));
  }

  call(command, args = {}) {
    const id = `${this.prefix}${this.next++}`;
    const message = { id, command, args };
    let text;
    try {
      text = JSON.stringify(message);
    } catch {
      return Promise.reject(new TypeError("the arguments are not JSON"));
    }
    if (byteLength(text) > MAX_MESSAGE) return Promise.reject(new RangeError("request too large"));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      window.postMessage({ certkey: "to-extension", message: JSON.parse(text) }, window.location.origin);
    });
  }

  watch(onEvent, onClose) {
    const watcher = { onEvent, onClose };
    this.watchers.add(watcher);
    this.call("watchEvents").catch(() => {
      this.watchers.delete(watcher);
      onClose?.();
    });
    return { close: () => this.watchers.delete(watcher) };
  }
}

export class CertkeyClient {
  constructor(transport) {
    this.transport = transport;
  }

  // "extension" or "localhost"
  get path() {
    return this.transport.kind;
  }

  call(command, args) {
    return this.transport.call(command, args);
  }

  async listTokens() {
    return (await this.call("listTokens")).tokens;
  }
  async listRenewals() {
    return (await this.call("listRenewals")).renewals;
  }
  async getRenewal(id) {
    return (await this.call("getRenewal", { id })).renewal;
  }
  async beginRenewal(token, certificate, algorithm) {
    const args = { token, certificate };
    if (algorithm) args.algorithm = algorithm;
    return (await this.call("beginRenewal", args)).renewal;
  }
  async completeRenewal(id, certificate, chain) {
    const args = { id, certificate };
    if (chain) args.chain = chain;
    return (await this.call("completeRenewal", args)).renewal;
  }
  async cancelRenewal(id) {
    return (await this.call("cancelRenewal", { id })).renewal;
  }

  // The whole renewal: begin (the token makes a new key, a request and an authorization
  // signed by the current key; the user's PIN goes to the daemon's own prompt), then
  // `issue(renewal)` asks the CA, then complete with what it issued ({certificate, chain}).
  async renew(token, certificate, issue) {
    const begun = await this.beginRenewal(token, certificate);
    const issued = await issue(begun);
    return this.completeRenewal(begun.id, issued.certificate, issued.chain);
  }

  changePin(token) {
    return this.call("changePin", { token });
  }
  // With the PUK, which the daemon's prompt asks for.
  unblockPin(token) {
    return this.call("unblockPin", { token });
  }
  beginRemoteUnlock(token) {
    return this.call("beginRemoteUnlock", { token });
  }
  completeRemoteUnlock(token, response) {
    return this.call("completeRemoteUnlock", { token, response });
  }
  // The whole remote unlock: the token's challenge goes to `respond({token, challenge})`
  // (the help desk, or a CA backend that checks a ticket), and its answer back to the
  // token; the new PIN goes to the daemon's own prompt.
  async remoteUnlock(token, respond) {
    const { challenge } = await this.beginRemoteUnlock(token);
    return this.completeRemoteUnlock(token, await respond({ token, challenge }));
  }

  async diagnose() {
    return (await this.call("diagnose")).findings;
  }
  async queryCertificates() {
    return (await this.call("queryCertificates")).certificates;
  }

  // Calls onEvent({event, data}) for each event (tokenInserted, tokenRemoved, tokenChanged,
  // tokenReconciled, certificateExpiring). Returns {close()}.
  watch(onEvent, onClose) {
    return this.transport.watch(onEvent, onClose);
  }
}

// Finds the daemon: through the extension when it is installed (unless preferExtension is
// false), else on loopback. Resolves to a client that has listed the tokens once, so every
// failure that a page must explain shows here. While the loopback permission is "prompt",
// call it from a user gesture (a click): Chromium asks the user only then.
export async function connect({ port = DEFAULT_PORT, preferExtension = true } = {}) {
  if (preferExtension && ExtensionTransport.present()) {
    const client = new CertkeyClient(ExtensionTransport.get());
    await client.listTokens();
    return client;
  }
  const permission = await loopbackPermission();
  if (!pageOnLoopback()) {
    // Denied: no request leaves. Prompt: Chromium asks only during a user gesture.
    if (permission === "denied") throw localError("permission_blocked", { permission });
    if (permission === "prompt" && !globalThis.navigator?.userActivation?.isActive) {
      throw localError("permission_blocked", { permission, hint: "needs a user gesture" });
    }
  }
  const client = new CertkeyClient(new LoopbackTransport(port));
  await client.listTokens();
  return client;
}
