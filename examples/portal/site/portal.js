// portal.js: the certkey reference portal for certificate renewal and remote PIN unlock.
//
// The page reaches certkeyd through the certkey JS client (./client/certkey.js) and the CA
// through its own backend on this origin (api/config, api/renewal, api/unlock). Every
// string comes from i18n.js. Token data is untrusted: it only ever goes into textContent
// and attributes, never into markup.
//
// DOM contract (what a CA's page and its tests rely on):
//   #status[data-state]                  the state: see STATES
//   #tokens [data-token="SERIAL"]        a token's card
//     [data-certificate="SERIAL:ID"]     a certificate (slots 01-04 only)
//     button[data-action="renew"]        renews that certificate
//     button[data-action="unlock"]       opens #unlock for that token ("Unlock PIN" when the
//                                        PIN is locked, and "Forgot PIN?" on every token)
//   #unlock (a <dialog>), #ticket, button[data-action="unlock-submit"|"unlock-cancel"]
//   button[data-action="language"|"connect"|"retry"]

import { connect, CertkeyError, DEFAULT_PORT } from "./client/certkey.js";
import { translate, pickLanguage, LANGUAGES } from "./i18n.js";

export const STATES = [
  "connecting", "not_installed", "permission_needed", "permission_blocked", "origin_not_allowed",
  "native_host_missing", "ready", "working", "done", "failed",
];

// The states where the page has no connection to the daemon (the token list is hidden).
const DISCONNECTED = new Set([
  "connecting", "not_installed", "permission_needed", "permission_blocked", "origin_not_allowed",
  "native_host_missing",
]);

const STATE_ICON = {
  connecting: "spinner", not_installed: "download", permission_needed: "shield",
  permission_blocked: "block", origin_not_allowed: "globe", native_host_missing: "plug",
  ready: "check", working: "spinner", done: "check", failed: "alert",
};

const MEDIUM_ICON = { usbkey: "usbkey", sim: "sim", sdkey: "sdkey", smartcard: "card" };

// Slots applications use (PIV 9A, 9C, 9D, 9E). 05-18 are retired slots holding superseded keys.
const SHOWN_SLOTS = ["01", "02", "03", "04"];
const RENEW_WITHIN_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
const RELOAD_EVENTS = new Set(["tokenInserted", "tokenRemoved", "tokenChanged", "tokenReconciled"]);
const TICKET_CODES = new Set(["ticket_missing", "ticket_invalid", "ticket_used", "ticket_expired", "ticket_wrong_token"]);
const SPENT_ANSWER = new Set(["unlock_response_incorrect", "no_unlock_challenge", "unlock_code_invalid", "unlock_blocked",
  "token_removed", "token_not_found"]);
const LANGUAGE_KEY = "certkey-portal.language";
const SVG_NS = "http://www.w3.org/2000/svg";
const MAX_REASON = 300;

const app = {
  lang: "en",
  config: { daemonPort: DEFAULT_PORT, caName: "", downloadUrl: "" },
  client: null,
  subscription: null,
  tokens: null,
  state: "connecting",
  details: {},
  busy: false,
  attempt: 0, // the latest connect(); older ones that finish late are ignored
  reloading: null,
  reloadAgain: false,
  reloadScheduled: false,
  unlockSerial: null,
  unlockAnswer: null, // {serial, response}: the help desk's answer until the new PIN is set
  unlockOpener: null,
  active: null, // what the running action works on: {token, certificate?}
  ticketError: null, // the i18n key of the last ticket refusal, for the dialog
  renewed: null, // "SERIAL:ID" of the certificate just renewed, marked while "done" shows
};

// An answer of the portal's backend (api/renewal, api/unlock) that is not a success, or no
// answer at all. code: the backend's error code, "network", "bad_response" or "http_NNN".
export class PortalError extends Error {
  constructor(code, { reason = "", status = 0 } = {}) {
    super(reason || code);
    this.name = "PortalError";
    this.code = code;
    this.reason = reason;
    this.status = status;
  }
}

// ---------------------------------------------------------------------------------------
// Text

function caName() {
  if (app.lang === "en" && app.config.caName) return app.config.caName;
  return translate(app.lang, "ca.name");
}

function t(key, vars = {}) {
  const common = { phone: translate(app.lang, "helpdesk.phone"), ca: caName() };
  return translate(app.lang, key, { ...common, ...resolveVars(vars) });
}

// Variables that are {date: ISO} are formatted in the current language at render time, so
// a state keeps showing right after the language changes.
function resolveVars(vars) {
  const out = {};
  for (const [name, value] of Object.entries(vars)) {
    out[name] = value && typeof value === "object" && "date" in value ? formatDate(value.date) : value;
  }
  return out;
}

export function formatDate(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return translate(app.lang, "date.unknown");
  const options = app.lang === "zh-CN"
    ? { year: "numeric", month: "long", day: "numeric" }
    : { year: "numeric", month: "short", day: "numeric" };
  return new Intl.DateTimeFormat(app.lang, options).format(date);
}

// The attributes of an RFC 2253 / RFC 4514 distinguished name, in the string's order:
// [{type, value}]. Escapes (\, \+ \" \\ and \XX hex pairs of UTF-8) are undone; a value
// written as #hex (BER) is kept as it is.
export function parseDistinguishedName(dn) {
  const attributes = [];
  const text = String(dn ?? "");
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let i = 0;
  while (i < text.length) {
    const equals = text.indexOf("=", i);
    if (equals < 0) break;
    const type = text.slice(i, equals).trim();
    i = equals + 1;
    while (text[i] === " ") i++;
    const bytes = [];
    let raw = "";
    let quoted = false;
    let trailingSpaces = 0; // unescaped spaces at the end, which RFC 4514 drops
    if (text[i] === '"') {
      quoted = true;
      i++;
    }
    for (; i < text.length; i++) {
      const c = text[i];
      if (quoted && c === '"') {
        quoted = false;
        continue;
      }
      if (!quoted && (c === "," || c === "+" || c === ";")) break;
      if (c === "\\" && i + 1 < text.length) {
        const pair = text.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(pair)) {
          bytes.push(parseInt(pair, 16));
          i += 2;
        } else {
          bytes.push(...encoder.encode(text[i + 1]));
          i += 1;
        }
        raw += text.slice(i - 1, i + 1);
        trailingSpaces = 0;
        continue;
      }
      bytes.push(...encoder.encode(c));
      raw += c;
      trailingSpaces = c === " " ? trailingSpaces + 1 : 0;
    }
    if (trailingSpaces) bytes.splice(bytes.length - trailingSpaces, trailingSpaces);
    const value = raw.startsWith("#") ? raw.trim() : decoder.decode(new Uint8Array(bytes));
    attributes.push({ type, value });
    i++; // past the separator
    while (text[i] === " ") i++;
  }
  return attributes;
}

// The CN of a distinguished name; the whole name when it has none (or an unreadable one).
export function commonName(dn) {
  const cn = parseDistinguishedName(dn).find((a) => /^(cn|(oid\.)?2\.5\.4\.3)$/i.test(a.type));
  if (cn && cn.value && !cn.value.startsWith("#")) return cn.value;
  return String(dn ?? "");
}

// Whole days from now to `iso` (negative once past), or null for no date.
export function daysLeft(iso, now = Date.now()) {
  const end = new Date(iso).getTime();
  if (Number.isNaN(end)) return null;
  return Math.floor((end - now) / DAY_MS);
}

function expiryOf(certificate, now = Date.now()) {
  const end = new Date(certificate.not_after).getTime();
  const days = daysLeft(certificate.not_after, now);
  if (days === null) return { kind: "unknown", days: null };
  if (end <= now) return { kind: "expired", days };
  if (days <= RENEW_WITHIN_DAYS) return { kind: "due", days };
  return { kind: "fine", days };
}

function shownCertificates(token) {
  const certificates = Array.isArray(token.certificates) ? token.certificates : [];
  return certificates
    .filter((c) => SHOWN_SLOTS.includes(c.id))
    .sort((a, b) => a.id.localeCompare(b.id));
}

// ---------------------------------------------------------------------------------------
// DOM helpers

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

function setIcon(container, name) {
  const use = container.querySelector("use");
  if (use) use.setAttribute("href", `#i-${name}`);
}

// ---------------------------------------------------------------------------------------
// Language

export function setLanguage(lang) {
  app.lang = LANGUAGES.includes(lang) ? lang : pickLanguage(null, [lang]);
  document.documentElement.lang = app.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  document.title = t("page.title");

  const language = $('button[data-action="language"]');
  if (language) {
    for (const option of language.querySelectorAll("[data-language]")) {
      const active = option.dataset.language === app.lang;
      option.classList.toggle("is-active", active);
      option.setAttribute("aria-hidden", "true");
    }
    let label = language.querySelector(".visually-hidden");
    if (!label) language.append((label = el("span", { class: "visually-hidden" })));
    label.textContent = t("language.switch");
  }
  const step1 = $("#unlock-step1");
  if (step1) step1.textContent = t("unlock.step1");
  renderUnlockToken();
  renderStatus();
  if (app.tokens) renderTokens(app.tokens);
}

function toggleLanguage() {
  const next = app.lang === "zh-CN" ? "en" : "zh-CN";
  try {
    localStorage.setItem(LANGUAGE_KEY, next);
  } catch { /* storage off: the choice lasts for this page only */ }
  setLanguage(next);
}

function initialLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(LANGUAGE_KEY);
  } catch { /* storage off */ }
  const browser = navigator.languages?.length ? navigator.languages : [navigator.language];
  return pickLanguage(saved, browser);
}

// ---------------------------------------------------------------------------------------
// The status banner

// Shows `state` (one of STATES). details, all optional and language-independent, so the
// banner can be drawn again in the other language:
//   title, message, next: i18n keys; vars: their variables ({date: ISO} is formatted);
//   error: a CertkeyError (its own messages and hint are shown) or PortalError;
//   code: shown in small print; actions: [{action, label, serial?, primary?} | {href, label}].
export function setState(state, details = {}) {
  if (!STATES.includes(state)) throw new RangeError(`unknown state ${state}`);
  app.state = state;
  app.details = details;
  renderStatus();
}

function defaultDetails(state) {
  switch (state) {
    case "connecting":
      return { title: "state.connecting.title", message: "state.connecting.message" };
    case "not_installed":
      return {
        title: "state.not_installed.title", message: "state.not_installed.message", next: "state.not_installed.next",
        actions: [
          { href: downloadHref(), label: "state.not_installed.download", primary: true, icon: "download" },
          { action: "retry", label: "action.retry", icon: "refresh" },
        ],
      };
    case "permission_needed":
      return {
        title: "state.permission_needed.title", message: "state.permission_needed.message",
        next: "state.permission_needed.next",
        actions: [{ action: "connect", label: "action.connect", primary: true }],
      };
    case "permission_blocked":
      return {
        title: "state.permission_blocked.title", message: "state.permission_blocked.message",
        next: "state.permission_blocked.next",
        steps: ["state.permission_blocked.step1", "state.permission_blocked.step2", "state.permission_blocked.step3"],
        actions: [{ action: "retry", label: "action.retry", icon: "refresh" }],
      };
    case "origin_not_allowed":
      return {
        title: "state.origin_not_allowed.title", message: "state.origin_not_allowed.message",
        next: "state.origin_not_allowed.next", actions: [{ action: "retry", label: "action.retry", icon: "refresh" }],
      };
    case "native_host_missing":
      return {
        title: "state.native_host_missing.title", message: "state.native_host_missing.message",
        next: "state.native_host_missing.next", actions: [{ action: "retry", label: "action.retry", icon: "refresh" }],
      };
    case "ready":
      return { title: "state.ready.title", ...readySummary() };
    case "working":
      return { title: "state.working.title" };
    case "done":
      return { title: "state.done.title" };
    default:
      return { title: "state.failed.title", next: "state.failed.next" };
  }
}

function readySummary() {
  const tokens = app.tokens ?? [];
  if (tokens.length === 0) return { message: "state.ready.none" };
  const now = Date.now();
  const due = tokens.flatMap(shownCertificates).filter((c) => ["expired", "due"].includes(expiryOf(c, now).kind)).length;
  return due ? { message: "state.ready.due", vars: { due } } : { message: "state.ready.ok", vars: { tokens: tokens.length } };
}

function downloadHref() {
  const url = app.config.downloadUrl;
  if (url) {
    try {
      const parsed = new URL(url, document.baseURI);
      if (parsed.protocol === "https:" || parsed.protocol === "http:") return parsed.href;
    } catch { /* not a URL: the help section instead */ }
  }
  return "#help-install";
}

function renderStatus() {
  const status = $("#status");
  if (!status) return;
  const state = app.state;
  const details = { ...defaultDetails(state), ...app.details };
  const vars = details.vars ?? {};
  status.dataset.state = state;
  setIcon($(".status-icon", status), STATE_ICON[state]);

  const error = details.error;
  let message = details.message ? t(details.message, vars) : "";
  let hint = "";
  let code = details.code ?? "";
  if (error instanceof CertkeyError) {
    const zh = app.lang === "zh-CN";
    message = (zh && error.messageZh) || error.message || message;
    hint = (zh && error.hintZh) || error.hint || "";
    code = error.code;
  }
  let next = details.next ? t(details.next, vars) : "";
  if (hint && state === "failed") next = ""; // the daemon's hint says what to do instead

  $(".status-title", status).textContent = t(details.title, vars);
  $(".status-message", status).textContent = message;
  fill($(".status-hint", status), hint);
  fill($(".status-next", status), next);

  const steps = $(".status-steps", status);
  steps.replaceChildren(...(details.steps ?? []).map((key) => el("li", { text: t(key, vars) })));
  steps.hidden = steps.childElementCount === 0;

  const actions = $(".status-actions", status);
  actions.replaceChildren(...(details.actions ?? []).map(renderAction));
  actions.hidden = actions.childElementCount === 0;

  const meta = [];
  if (code) meta.push(t("state.code", { code }));
  if (state === "ready" && app.client) {
    meta.push(app.client.path === "extension"
      ? t("state.path.extension")
      : t("state.path.localhost", { port: app.config.daemonPort }));
  }
  fill($(".status-meta", status), meta.join(" · "));
  applyBusy();
}

function fill(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

function renderAction(action) {
  const className = `button ${action.primary ? "button-primary" : "button-secondary"}`;
  const label = [action.icon ? icon(action.icon) : null, el("span", { text: t(action.label) })];
  if (action.href) return el("a", { class: className, href: action.href }, label);
  return el("button", {
    type: "button", class: className, "data-action": action.action, "data-serial": action.serial,
  }, label);
}

function focusStatus() {
  const status = $("#status");
  status.focus({ preventScroll: true });
  status.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------------------------------
// Tokens

// Draws the token list (Token[] of the daemon). Keeps keyboard focus on the same control
// when the list is drawn again.
export function renderTokens(tokens) {
  app.tokens = Array.isArray(tokens) ? tokens : [];
  const list = $("#tokens");
  const section = list.closest(".tokens-section");
  const focus = focusKey(list);

  section.hidden = false;
  const count = $("#tokens-count");
  count.textContent = app.tokens.length ? t("tokens.count", { count: app.tokens.length }) : "";

  if (app.tokens.length === 0) {
    list.replaceChildren(el("div", { class: "tokens-empty" }, [
      el("span", { class: "empty-art", "aria-hidden": "true" }, [icon("usbkey", "empty-icon")]),
      el("h3", { text: t("tokens.empty.title") }),
      el("p", { text: t("tokens.empty.text") }),
    ]));
  } else {
    const now = Date.now();
    list.replaceChildren(...app.tokens.map((token) => renderToken(token, now)));
  }
  restoreFocus(list, focus);
  if (app.state === "ready") renderStatus();
  applyBusy();
}

function hideTokens() {
  const list = $("#tokens");
  list.replaceChildren();
  list.closest(".tokens-section").hidden = true;
  app.tokens = null;
}

function renderToken(token, now) {
  const serial = String(token.serial);
  const medium = MEDIUM_ICON[token.medium] ? token.medium : "smartcard";
  const locked = token.pin_state === "locked";
  const nameId = `token-${serial}-name`;
  const card = el("article", {
    class: "token", "data-token": serial, "data-medium": medium, "data-pin": token.pin_state,
    "aria-labelledby": nameId,
  });

  const mediumName = t(`medium.${medium}`);
  card.append(el("header", { class: "token-head" }, [
    el("span", { class: "token-icon", "aria-hidden": "true" }, [icon(MEDIUM_ICON[medium])]),
    el("div", { class: "token-id" }, [
      el("p", { class: "token-medium", text: mediumName }),
      el("h3", { class: "token-name", id: nameId, text: token.label || t("token.unnamed") }),
      el("p", { class: "token-serial", text: t("token.serial", { serial }) }),
    ]),
    renderPinState(token),
  ]));

  if (locked) {
    card.append(el("div", { class: "token-alert", role: "note" }, [
      icon("lock"),
      el("p", { text: t("token.locked_notice") }),
      el("button", { type: "button", class: "button button-primary", "data-action": "unlock" }, [
        el("span", { text: t("action.unlock") }),
      ]),
    ]));
  }

  const certificates = shownCertificates(token);
  if (certificates.length === 0) {
    card.append(el("p", { class: "token-none", text: t("token.no_certificates") }));
  } else {
    card.append(el("ul", { class: "certificates" }, certificates.map((c) => renderCertificate(serial, c, locked, now))));
  }

  card.append(el("footer", { class: "token-foot" }, [
    el("button", { type: "button", class: "link-button", "data-action": "unlock" }, [
      icon("lock"), el("span", { text: t("action.forgot") }),
    ]),
  ]));
  return card;
}

function renderPinState(token) {
  const state = ["ok", "count_low", "final_try", "locked"].includes(token.pin_state) ? token.pin_state : "ok";
  return el("span", { class: `pin-state pin-${state}` }, [
    icon(state === "ok" ? "check" : state === "locked" ? "lock" : "alert"),
    el("span", { text: t(`pin.${state}`, { tries: token.pin_tries_left }) }),
  ]);
}

function renderCertificate(serial, certificate, locked, now) {
  const name = commonName(certificate.subject) || t("date.unknown");
  const expiry = expiryOf(certificate, now);
  const badgeText = {
    expired: t("certificate.expired"),
    due: t("certificate.due", { days: expiry.days }),
    fine: t("certificate.fine", { days: expiry.days }),
    unknown: t("date.unknown"),
  }[expiry.kind];
  const urgent = expiry.kind === "expired" || expiry.kind === "due";

  const renew = el("button", {
    type: "button",
    class: `button ${urgent ? "button-primary" : "button-secondary"}`,
    "data-action": "renew",
    "aria-label": t("certificate.renew_label", { name }),
    "data-blocked": locked,
    title: locked ? t("certificate.locked_hint") : null,
  }, [el("span", { text: t("action.renew") })]);

  return el("li", { class: "certificate", "data-certificate": `${serial}:${certificate.id}`, "data-expiry": expiry.kind }, [
    el("span", { class: "cert-icon", "aria-hidden": "true" }, [icon("cert")]),
    el("div", { class: "cert-main" }, [
      el("p", { class: "cert-title" }, [
        el("span", { class: "cert-name", text: name }),
        el("span", { class: "cert-slot", text: t(`slot.${certificate.id}`) }),
      ]),
      el("p", { class: "cert-issuer", text: t("certificate.issuer", { issuer: commonName(certificate.issuer) || t("date.unknown") }) }),
      el("p", { class: "cert-serial", text: t("certificate.serial", { serial: String(certificate.serial_number ?? "").toUpperCase() }) }),
    ]),
    el("div", { class: "cert-validity" }, [
      el("span", { class: "cert-label", text: t("certificate.valid_until") }),
      el("time", { class: "cert-date", datetime: certificate.not_after, text: formatDate(certificate.not_after) }),
      el("span", { class: `badge badge-${expiry.kind}`, text: badgeText }),
    ]),
    el("div", { class: "cert-action" }, [renew]),
  ]);
}

function focusKey(list) {
  const active = document.activeElement;
  if (!active || !list.contains(active) || !active.dataset.action) return null;
  const owner = active.closest("[data-certificate]") ?? active.closest("[data-token]");
  if (!owner) return null;
  const attribute = owner.hasAttribute("data-certificate") ? "data-certificate" : "data-token";
  return { attribute, value: owner.getAttribute(attribute), action: active.dataset.action, className: active.className };
}

function restoreFocus(list, key) {
  if (!key) return;
  for (const owner of list.querySelectorAll(`[${key.attribute}]`)) {
    if (owner.getAttribute(key.attribute) !== key.value) continue;
    const same = [...owner.querySelectorAll(`[data-action="${key.action}"]`)];
    (same.find((b) => b.className === key.className) ?? same[0])?.focus({ preventScroll: true });
    return;
  }
}

function findToken(serial) {
  return (app.tokens ?? []).find((token) => String(token.serial) === String(serial)) ?? null;
}

function findCertificate(serial, id) {
  return findToken(serial)?.certificates?.find((c) => c.id === id) ?? null;
}

// Buttons are disabled while a renewal or unlock runs; a renew button of a token whose PIN
// is locked stays disabled (data-blocked).
function setBusy(busy) {
  app.busy = busy;
  applyBusy();
}

function applyBusy() {
  for (const button of document.querySelectorAll("#tokens button, #status button")) {
    button.disabled = app.busy || button.hasAttribute("data-blocked");
  }
  document.body.toggleAttribute("data-busy", app.busy);
  const active = app.busy ? app.active : null;
  for (const card of document.querySelectorAll("#tokens [data-token]")) {
    card.classList.toggle("is-working", Boolean(active && !active.certificate && active.token === card.dataset.token));
  }
  for (const row of document.querySelectorAll("#tokens [data-certificate]")) {
    const key = row.dataset.certificate;
    const working = Boolean(active?.certificate && `${active.token}:${active.certificate}` === key);
    row.classList.toggle("is-working", working);
    row.toggleAttribute("aria-busy", working);
    row.classList.toggle("is-renewed", app.state === "done" && app.renewed === key);
  }
}

// ---------------------------------------------------------------------------------------
// Connecting

async function loadConfig() {
  const config = { daemonPort: DEFAULT_PORT, caName: "", downloadUrl: "" };
  try {
    const response = await fetch(new URL("api/config", document.baseURI), { cache: "no-store", credentials: "same-origin" });
    const json = response.ok ? await response.json() : {};
    if (Number.isInteger(json.daemonPort) && json.daemonPort > 0 && json.daemonPort < 65536) config.daemonPort = json.daemonPort;
    if (typeof json.caName === "string") config.caName = json.caName.slice(0, 128);
    if (typeof json.downloadUrl === "string") config.downloadUrl = json.downloadUrl;
  } catch { /* the defaults */ }
  return config;
}

// Connects to the daemon. Call it straight from a click while the loopback permission is
// "prompt": connect() checks for the user's gesture before anything else is awaited.
// quiet: look again without showing "connecting", and change the page only on success.
async function doConnect({ quiet = false } = {}) {
  const attempt = ++app.attempt;
  if (!quiet) {
    dropClient();
    hideTokens();
    setState("connecting");
  }
  try {
    const client = await connect({ port: app.config.daemonPort });
    if (attempt !== app.attempt) return;
    const tokens = await client.listTokens();
    if (attempt !== app.attempt) return;
    app.client = client;
    subscribe(client);
    renderTokens(tokens);
    setState("ready");
  } catch (error) {
    if (attempt !== app.attempt || quiet) return;
    showError(error, "connect");
  }
}

// Back on the page (after installing or starting certkey, say): look again by itself where
// that needs no click from the user.
const RECHECK_STATES = new Set(["not_installed", "native_host_missing", "origin_not_allowed"]);
function recheck() {
  if (document.visibilityState !== "visible" || app.busy || app.client || !RECHECK_STATES.has(app.state)) return;
  doConnect({ quiet: true });
}

function dropClient() {
  const subscription = app.subscription;
  app.subscription = null;
  app.client = null;
  try {
    subscription?.close();
  } catch { /* already closed */ }
}

function subscribe(client) {
  try {
    const subscription = client.watch(
      (message) => {
        if (RELOAD_EVENTS.has(message?.event)) scheduleReload();
      },
      () => {
        // The event stream ended: certkeyd stopped, or the connection broke. A reload tells.
        if (app.subscription !== subscription) return;
        app.subscription = null;
        scheduleReload();
      },
    );
    app.subscription = subscription;
  } catch { /* no events: the list still reloads after each action */ }
}

// Several events in a row reload once, on the next frame; reloads never overlap, and the
// last one always reads the daemon after the last event.
function scheduleReload() {
  if (app.reloadScheduled || !app.client) return;
  app.reloadScheduled = true;
  requestAnimationFrame(() => {
    app.reloadScheduled = false;
    reloadTokens().catch(reloadFailed);
  });
}

function reloadTokens() {
  if (app.reloading) {
    app.reloadAgain = true;
    return app.reloading;
  }
  const client = app.client;
  if (!client) return Promise.resolve();
  app.reloading = (async () => {
    try {
      do {
        app.reloadAgain = false;
        const tokens = await client.listTokens();
        if (client !== app.client) return;
        renderTokens(tokens);
      } while (app.reloadAgain);
    } finally {
      app.reloading = null;
    }
  })();
  return app.reloading;
}

function reloadFailed(error) {
  if (app.busy) return; // the running action reports what went wrong
  showError(error, "connect");
}

async function watchPermission() {
  try {
    const status = await navigator.permissions.query({ name: "loopback-network" });
    status.addEventListener("change", () => {
      if (app.client || app.busy) return;
      if (status.state === "granted") doConnect();
      else if (status.state === "denied") setState("permission_blocked");
    });
  } catch { /* no such permission in this browser */ }
}

// ---------------------------------------------------------------------------------------
// Errors

// The state and details that explain `error`. context: "connect", "renew" or "unlock".
export function describeError(error, context = "connect", extra = {}) {
  const failedTitle = context === "connect" ? "connect.failed.title" : `${context}.failed.title`;
  const retry = context === "connect" ? [{ action: "retry", label: "action.retry", icon: "refresh" }] : [];
  const again = context === "unlock" && extra.serial !== undefined
    ? [{ action: "unlock", label: "action.ticket_again", serial: String(extra.serial), primary: true }]
    : [];

  if (error instanceof CertkeyError) {
    switch (error.kind) {
      case "not_running": return { state: "not_installed", details: {} };
      case "permission_blocked":
        // "prompt": the browser will ask once the user clicks Connect.
        return { state: error.permission === "prompt" ? "permission_needed" : "permission_blocked", details: {} };
      case "origin_not_allowed": return { state: "origin_not_allowed", details: {} };
      case "native_host_missing": return { state: "native_host_missing", details: {} };
      default:
        return { state: "failed", details: { title: failedTitle, error, next: "state.failed.next", actions: [...again, ...retry] } };
    }
  }
  if (error instanceof PortalError) {
    let message;
    let next = "state.failed.next";
    if (TICKET_CODES.has(error.code)) {
      message = `ticket.${error.code}`;
      next = null; // the message says what to do
    }
    else if (error.code === "network" || error.code === "bad_response") message = `backend.${error.code}`;
    else message = `${context}.refused`;
    return {
      state: "failed",
      details: {
        title: failedTitle, message, vars: { reason: error.reason.slice(0, MAX_REASON) || error.code },
        next, code: error.code, actions: again,
      },
    };
  }
  return {
    state: "failed",
    details: { title: failedTitle, message: "error.unexpected", next: "state.failed.next", code: error?.name ?? "", actions: retry },
  };
}

function showError(error, context, extra) {
  const { state, details } = describeError(error, context, extra);
  if (DISCONNECTED.has(state) || context === "connect") {
    dropClient();
    hideTokens();
  }
  setState(state, details);
}

// ---------------------------------------------------------------------------------------
// The portal's backend

async function postBackend(path, body) {
  let response;
  try {
    response = await fetch(new URL(path, document.baseURI), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new PortalError("network");
  }
  let json = null;
  try {
    json = await response.json();
  } catch { /* not JSON */ }
  if (!response.ok) {
    const error = json && typeof json === "object" ? json.error : null;
    const code = typeof error?.code === "string" && error.code ? error.code : `http_${response.status}`;
    const reason = typeof error?.message === "string" && error.message ? error.message : `HTTP ${response.status}`;
    throw new PortalError(code, { reason, status: response.status });
  }
  if (!json || typeof json !== "object") throw new PortalError("bad_response", { status: response.status });
  return json;
}

// ---------------------------------------------------------------------------------------
// Renewal

async function renew(serial, id) {
  const client = app.client;
  if (app.busy || !client) return;
  const title = "renew.working.title";
  app.active = { token: String(serial), certificate: id };
  app.renewed = null;
  setBusy(true);
  setState("working", { title, message: "renew.working.pin" });
  focusStatus();
  try {
    // Asks the CA for the certificate of a begun renewal (the new key's request and its
    // authorization signed by the current key).
    const issue = async (begun) => {
      setState("working", { title, message: "renew.working.ca" });
      let issued;
      try {
        issued = await postBackend("api/renewal", { csr: begun.csr, authorization: begun.authorization });
        if (typeof issued.certificate !== "string" || !issued.certificate) throw new PortalError("bad_response");
      } catch (error) {
        // The CA issued nothing: give the new key's slot back, so the next try can begin.
        await client.cancelRenewal(begun.id).catch(() => {});
        throw error;
      }
      setState("working", { title, message: "renew.working.writing" });
      const result = { certificate: issued.certificate };
      if (typeof issued.chain === "string" && issued.chain) result.chain = issued.chain;
      return result;
    };
    let renewal;
    try {
      renewal = await client.renew(Number(serial), id, issue);
    } catch (error) {
      // A renewal this site began earlier still waits for its certificate (the page was
      // closed halfway, say): cancel it and begin again, once.
      if (!(error instanceof CertkeyError && error.code === "renewal_in_progress")) throw error;
      if (!(await cancelWaitingRenewal(client, Number(serial), id))) throw error;
      setState("working", { title, message: "renew.working.pin" });
      renewal = await client.renew(Number(serial), id, issue);
    }
    let renewed = null;
    try {
      await reloadTokens();
      renewed = findCertificate(serial, renewal?.certificate ?? id);
    } catch { /* the list reloads with the next event */ }
    app.renewed = renewed ? `${serial}:${renewed.id}` : null;
    setState("done", renewed
      ? {
        title: "renew.done.title", message: "renew.done.message", next: "renew.done.next",
        vars: { name: commonName(renewed.subject), from: { date: renewed.not_before }, until: { date: renewed.not_after } },
      }
      : { title: "renew.done.title", message: "renew.done.message_plain", next: "renew.done.next" });
  } catch (error) {
    showError(error, "renew");
    if (app.client) reloadTokens().catch(() => {});
  } finally {
    setBusy(false);
  }
}

// Cancels the renewal of that certificate that this origin began and that waits for the CA.
// Renewals further on (writing or making the certificate current) are left to the daemon.
async function cancelWaitingRenewal(client, token, certificate) {
  try {
    const waiting = (await client.listRenewals() ?? []).find((r) => r.token === token
      && r.certificate === certificate && r.state === "awaiting_certificate" && r.origin === location.origin);
    if (!waiting) return false;
    await client.cancelRenewal(waiting.id);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Remote unlock

function openUnlock(serial, opener) {
  const dialog = $("#unlock");
  if (app.busy || !app.client || dialog.open) return;
  const ticket = $("#ticket");
  if (app.unlockSerial !== serial) {
    ticket.value = "";
    app.ticketError = null;
  }
  app.unlockSerial = serial;
  app.unlockOpener = opener ?? null;
  // An answer the help desk already gave, whose new PIN was not set: no new ticket needed.
  const hint = $("#ticket-hint");
  hint.dataset.i18n = app.unlockAnswer?.serial === String(serial) ? "unlock.ticket_kept" : "unlock.ticket_hint";
  hint.textContent = t(hint.dataset.i18n);
  renderUnlockToken();
  showTicketError(app.ticketError ?? "");
  dialog.showModal();
  ticket.focus();
  ticket.select();
}

function renderUnlockToken() {
  const line = $("#unlock-token");
  if (!line || app.unlockSerial === null) return;
  const token = findToken(app.unlockSerial);
  const medium = token && MEDIUM_ICON[token.medium] ? token.medium : "smartcard";
  line.textContent = t("unlock.for", { medium: t(`medium.${medium}`), serial: app.unlockSerial });
}

function showTicketError(key) {
  const error = $("#ticket-error");
  const ticket = $("#ticket");
  error.textContent = key ? t(key) : "";
  error.hidden = !key;
  if (key) ticket.setAttribute("aria-invalid", "true");
  else ticket.removeAttribute("aria-invalid");
}

// Focus goes back where it was when the dialog opened, or to the status banner when that
// control is gone or disabled (the list was drawn again, or an action runs).
function unlockClosed() {
  let opener = app.unlockOpener;
  app.unlockOpener = null;
  if (opener && !opener.isConnected) {
    // The list was drawn again meanwhile: the same button of the same token.
    const card = [...document.querySelectorAll("#tokens [data-token]")].find((c) => c.dataset.token === app.unlockSerial);
    opener = [...(card?.querySelectorAll('button[data-action="unlock"]') ?? [])].find((b) => b.className === opener.className);
  }
  if (opener && opener.isConnected && !opener.disabled) opener.focus();
  else focusStatus();
}

// An empty ticket goes to the backend too: its refusal (ticket_missing) is the answer.
async function submitUnlock() {
  const ticket = $("#ticket").value.trim();
  const client = app.client;
  const serial = app.unlockSerial;
  if (app.busy || !client || serial === null) return;
  const title = "unlock.working.title";
  app.active = { token: String(serial) };
  app.renewed = null;
  setBusy(true);
  setState("working", { title, message: "unlock.working.challenge" });
  app.unlockOpener = null;
  $("#unlock").close(); // focus moves to the status banner
  const kept = app.unlockAnswer?.serial === String(serial) ? app.unlockAnswer.response : null;
  try {
    if (kept) {
      // The token's challenge is still pending (only a sent response ends it): answer it again.
      setState("working", { title, message: "unlock.working.pin" });
      await client.completeRemoteUnlock(Number(serial), kept);
    } else {
      await client.remoteUnlock(Number(serial), async ({ token, challenge }) => {
        setState("working", { title, message: "unlock.working.ca" });
        const answer = await postBackend("api/unlock", { token, challenge, ticket });
        if (typeof answer.response !== "string" || !answer.response) throw new PortalError("bad_response");
        // Kept until the new PIN is set: cancelling the PIN window must not cost a ticket.
        app.unlockAnswer = { serial: String(serial), response: answer.response };
        setState("working", { title, message: "unlock.working.pin" });
        return answer.response;
      });
    }
    app.unlockAnswer = null;
    $("#ticket").value = "";
    app.ticketError = null;
    await reloadTokens().catch(() => {});
    setState("done", { title: "unlock.done.title", message: "unlock.done.message", next: "unlock.done.next" });
  } catch (error) {
    // Shown again in the dialog when the user opens it to type the ticket again.
    app.ticketError = error instanceof PortalError && TICKET_CODES.has(error.code) ? `ticket.${error.code}` : null;
    // A kept answer the token refused, or whose challenge is gone, is no good any more.
    if (error instanceof CertkeyError && SPENT_ANSWER.has(error.code)) app.unlockAnswer = null;
    showError(error, "unlock", { serial });
    if (app.client) reloadTokens().catch(() => {});
  } finally {
    setBusy(false);
  }
}

// ---------------------------------------------------------------------------------------
// Start

function onClick(event) {
  const target = event.target.closest("button[data-action]");
  if (!target || target.disabled) return;
  const serial = target.dataset.serial ?? target.closest("[data-token]")?.dataset.token;
  switch (target.dataset.action) {
    case "language":
      toggleLanguage();
      break;
    case "connect":
    case "retry":
      doConnect(); // synchronously within the click: the user's gesture lets Chromium ask
      break;
    case "renew": {
      const id = target.closest("[data-certificate]")?.dataset.certificate.split(":")[1];
      if (serial !== undefined && id) renew(serial, id);
      break;
    }
    case "unlock":
      if (serial !== undefined) openUnlock(serial, target);
      break;
    case "unlock-cancel":
      $("#unlock").close();
      break;
    default:
      break;
  }
}

export async function start() {
  setLanguage(initialLanguage());
  setState("connecting");
  document.addEventListener("click", onClick);
  const dialog = $("#unlock");
  dialog.addEventListener("close", unlockClosed);
  dialog.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitUnlock();
  });
  $("#ticket").addEventListener("input", () => {
    app.ticketError = null;
    showTicketError("");
  });
  window.addEventListener("focus", recheck);
  document.addEventListener("visibilitychange", recheck);

  app.config = await loadConfig();
  setLanguage(app.lang); // the CA's name may have come with the configuration

  // The client decides whether it may try without a click (Local Network Access); when it
  // may not, its error says so and the page offers the Connect button.
  watchPermission();
  return doConnect();
}

start();
