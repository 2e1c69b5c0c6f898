// background.js: Chromium's service worker and Firefox's background page (docs/extension.md).
// Each tab's content script connects here; this checks what the page sends, adds the page's
// origin as the browser reports it, and relays to certkey-native-host, one relay process per
// tab, so one tab's replies and events can never reach another.
"use strict";

const api = globalThis.browser ?? chrome;

const HOST = "cn.certkey.native_host";
const MAX_REQUEST = 64 * 1024; // bytes of the envelope we send: what the relay and certkeyd accept
const MAX_REPLY = 1024 * 1024; // what the relay passes back; anything larger is dropped
const MAX_ID = 128; // bytes, as certkeyd counts them
const MAX_PARSED = 1024 * 1024; // larger page messages are refused unread, without their id

// What a page may ask for. enrollRenewal is for local programs only: certkeyd refuses it
// to relayed callers too, and it is not offered here at all.
const COMMANDS = new Set([
  "listTokens", "watchEvents", "beginRenewal", "listRenewals", "getRenewal", "completeRenewal",
  "cancelRenewal", "changeCertificate", "revokeCertificate", "changePin", "unblockPin",
  "beginRemoteUnlock", "completeRemoteUnlock", "diagnose", "queryCertificates",
]);

// Plain http is accepted only for a page on this computer (a CA's developer, a local portal).
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

// How the browsers say that the host's manifest is missing, does not allow this extension,
// or names a program that is not there: all mean "run the install command".
const HOST_MISSING = [
  /Specified native messaging host not found/, // Chromium
  /Access to the specified native messaging host is forbidden/, // Chromium
  /Failed to start native messaging host/, // Chromium: the manifest's path is wrong
  /No such native application/, // Firefox
  /does not have permission to use native application/, // Firefox
  /does not exist, or is not executable/, // Firefox: the manifest's path is wrong
];

// The errors this extension adds, in certkeyd's shape (docs/daemon.md, "Errors").
const ERRORS = {
  bad_request: [400, "The request to certkey is malformed.", "发往 certkey 的请求格式错误。",
    "Check the request against the certkey API description.", "请对照 certkey API 说明检查请求。"],
  native_host_missing: [503,
    "The certkey extension is installed, but its native host is missing: run certkey's install command (docs/extension.md).",
    "已安装 certkey 扩展，但缺少本地消息主机：请运行 certkey 的安装命令。",
    "Run web-extension/native-host/install-manifests from certkey, then reload this page.",
    "请运行 certkey 的 web-extension/native-host/install-manifests，然后重新加载本页。"],
  daemon_unavailable: [503, "The certkey service is not running, or it stopped.", "certkey 服务未运行，或已停止。",
    "Start it (systemctl --user start certkeyd) and try again.", "请启动 certkey 服务（systemctl --user start certkeyd）后重试。"],
};

function failure(code, detail) {
  const [status, message, message_zh, hint, hint_zh] = ERRORS[code];
  const error = { code, message, message_zh, hint, hint_zh };
  if (detail) error.detail = detail;
  return { status, error };
}

const utf8Length = (text) => new TextEncoder().encode(text).length;
const isPlainObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

// The origin of the page behind a content-script port, from the browser alone, or null
// when it is not one certkey serves.
function senderOrigin(sender) {
  // A content script of ours in a tab's top frame; never an extension page or a frame.
  if (sender?.id !== api.runtime.id || !sender.tab || sender.frameId !== 0) return null;
  // Only the browser's own word on the frame's origin: the URL of a sandboxed page names a
  // host its opaque origin is not (Firefox gives sender.origin from 126, hence the minimum).
  let url;
  try {
    url = new URL(sender.origin); // absent, or an opaque "null": throws
  } catch {
    return null;
  }
  if (url.protocol === "https:") return url.origin;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return url.origin;
  return null;
}

// The page's message (JSON text from content.js) as the envelope for the relay, or the
// refusal to send back. `origin` is ours; the page cannot set it, since the only members
// taken are id, command and args. The envelope members a page has no say in (origin, and a
// terminal for the prompt) are dropped, not refused: the request goes on as the page's own.
const DROPPED = new Set(["origin", "tty", "term"]);
function envelopeFor(text, origin) {
  const unread = (detail) => ({ refusal: { id: null, ...failure("bad_request", detail) } });
  if (typeof text !== "string") return unread("the message is not JSON text");
  if (text.length > MAX_PARSED) return unread("the message is larger than 64 KiB");
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    message = undefined;
  }
  if (!isPlainObject(message)) return unread("the message is not a JSON object");

  const { id, command, args } = message;
  const idUsable = Number.isSafeInteger(id) || (typeof id === "string" && utf8Length(id) <= MAX_ID);
  const refuse = (detail) => ({ refusal: { id: idUsable ? id : null, ...failure("bad_request", detail) } });
  if (!idUsable) return refuse('"id" is an integer or a string of at most 128 bytes');
  const unknown = Object.keys(message).find((key) => !["id", "command", "args"].includes(key) && !DROPPED.has(key));
  if (unknown !== undefined) return refuse(`unknown member "${unknown.slice(0, 64)}"`);
  if (typeof command !== "string" || !COMMANDS.has(command)) return refuse('"command" is not one a web page may use');
  if (args !== undefined && !isPlainObject(args)) return refuse('"args" is an object');

  const envelope = { id, command, args: args ?? {}, origin };
  if (utf8Length(JSON.stringify(envelope)) > MAX_REQUEST) return refuse("the message is larger than 64 KiB");
  return { envelope };
}

// One tab's connection: its content-script port, and the relay that serves it alone.
class TabSession {
  constructor(page, origin) {
    this.page = page;
    this.origin = origin;
    this.native = null; // opened at the first message; a new one after it ends
    this.pending = new Map(); // id -> requests sent under it and not yet answered
    this.lastWord = null; // an error the relay reported without an id before it ended
    page.onMessage.addListener((text) => this.fromPage(text));
    page.onDisconnect.addListener(() => this.close());
  }

  fromPage(text) {
    const { envelope, refusal } = envelopeFor(text, this.origin);
    if (refusal) {
      this.toPage(refusal);
      return;
    }
    this.pending.set(envelope.id, (this.pending.get(envelope.id) ?? 0) + 1);
    try {
      this.nativePort().postMessage(envelope);
    } catch (e) {
      // connectNative or postMessage threw (a port already closed, the permission refused):
      // answered like a relay that ended.
      this.nativeEnded(this.native, e?.message ?? "");
    }
  }

  nativePort() {
    if (!this.native) {
      const port = api.runtime.connectNative(HOST);
      port.onMessage.addListener((message) => this.fromNative(port, message));
      port.onDisconnect.addListener((p) => this.nativeEnded(port, p.error?.message ?? api.runtime.lastError?.message ?? ""));
      this.native = port;
      this.lastWord = null;
    }
    return this.native;
  }

  // Relay replies and events already have the page's shape; they pass as they are.
  fromNative(port, message) {
    if (port !== this.native || !isPlainObject(message)) return;
    // The relay and the browser both bound replies at 1 MiB; this only keeps the promise. A
    // reply too large to pass on is still answered, so that its page does not wait for ever.
    if (utf8Length(JSON.stringify(message)) > MAX_REPLY) {
      if (message.id === undefined || message.id === null) return;
      message = { id: message.id, ...failure("payload_too_large", "the answer is larger than 1 MiB") };
    }
    if (message.id !== undefined && message.id !== null) {
      const count = this.pending.get(message.id) ?? 0;
      if (count > 1) this.pending.set(message.id, count - 1);
      else this.pending.delete(message.id);
    } else if (isPlainObject(message.error)) {
      // The relay's own word on why it is about to end (certkeyd gone, a message too large).
      this.lastWord = { status: message.status, error: message.error };
    }
    this.toPage(message);
  }

  // The relay is gone: whatever it had not answered is answered here, so no page waits.
  nativeEnded(port, reason) {
    if (port !== this.native) return; // an earlier relay of this tab, already accounted for
    this.native = null;
    try {
      port?.disconnect();
    } catch { /* already closed */ }
    const answer = HOST_MISSING.some((pattern) => pattern.test(reason))
      ? failure("native_host_missing", reason)
      : (this.lastWord ?? failure("daemon_unavailable", reason));
    for (const [id, count] of this.pending) {
      for (let i = 0; i < count; i++) this.toPage({ id, ...answer });
    }
    this.pending.clear();
    // Events came over this relay: the page's client closes its subscription (certkey.js).
    this.toPage({ relay: "closed" });
  }

  toPage(message) {
    try {
      this.page.postMessage(message);
    } catch { /* the tab went away; close() follows */ }
  }

  // The tab navigated or closed: its relay ends with it.
  close() {
    void api.runtime.lastError;
    this.pending.clear();
    const native = this.native;
    this.native = null;
    try {
      native?.disconnect();
    } catch { /* already closed */ }
  }
}

api.runtime.onConnect.addListener((page) => {
  const origin = page.name === "certkey" ? senderOrigin(page.sender) : null;
  if (!origin) {
    page.disconnect();
    return;
  }
  new TabSession(page, origin);
});
