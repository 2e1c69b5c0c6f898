// What the browser tests start and ask (tests/browser/run prepares the tokens, the CA and
// the HSM): certkeyd, the reference portal, Chromium with a profile of its own, the
// native-messaging host manifests, the scripted pinentry's answers, and the peer tools that
// check the tokens independently. Every service listens on this network namespace's
// loopback; a service says it listens by writing its port into a FIFO, and reading the FIFO
// is waiting for it.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

export const env = process.env;
export const ROOT = env.CERTKEY_ROOT;
export const BUILD = env.CERTKEY_BUILD;
export const WORK = env.WORK;
export const PIN = "123456";
export const NEW_PIN = "24681357";
// A public name for the portal, resolved to loopback inside Chromium only.
export const PORTAL_HOST = "ca.certkey.test";

const answersFile = path.join(WORK, "answers");
const shownFifo = path.join(WORK, "prompt-shown.fifo");
const promptLog = path.join(WORK, "prompts.log");
let serviceCount = 0;

// A program's standard output, without blocking this process, whose event loop drives the
// browser meanwhile.
function output(program, args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.once("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${program} ${args[0]}: ${code}`))));
  });
}

// The line a service writes into FIFO (its port, or "shown"); the bound only turns a
// service that died into a failure.
function lineFrom(fifo) {
  return output("bash", ["-c", `read -r -t 120 line <> "$1" && echo "$line"`, "_", fifo]);
}

function newFifo(name) {
  const fifo = path.join(WORK, `${name}-${++serviceCount}.port`);
  execFileSync("mkfifo", [fifo]);
  return fifo;
}

async function stopped(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exit;
}

// The scripted pinentry's rules (tests/harness/scripted-pinentry), matched against the
// descriptions of daemon/src/workflows/pin_prompt.cpp. newPin null: the user cancels there.
export function answerPrompts({ pin = PIN, newPin = NEW_PIN } = {}) {
  const chosen = newPin === null ? "cancel" : `pin:${newPin}`;
  fs.writeFileSync(answersFile,
    `asks for the PIN\tpin:${pin}\nchoose a new PIN\t${chosen}\nenter the new PIN\t${chosen}\n`);
}

// Runs `action` with its first PIN prompt held open: `during()` runs while the prompt shows
// (the page's "working" state, for its screenshot), then the PIN is typed and the action ends.
export async function whilePromptOpen(action, during) {
  const typed = path.join(WORK, "typed-pin.fifo");
  if (!fs.existsSync(typed)) execFileSync("mkfifo", [typed]);
  const rules = fs.readFileSync(answersFile, "utf8");
  const pin = /asks for the PIN\tpin:(.*)/.exec(rules)[1];
  fs.writeFileSync(answersFile, rules.replace(/asks for the PIN\tpin:.*/, `asks for the PIN\twait:${typed}`));
  try {
    const shown = lineFrom(shownFifo); // "shown": the prompt is open
    const running = action();
    await shown;
    await during();
    fs.writeFileSync(answersFile, rules); // later prompts (completing the renewal) are answered at once
    execFileSync("bash", ["-c", 'echo "$1" > "$2"', "_", pin, typed]);
    return await running;
  } finally {
    fs.writeFileSync(answersFile, rules);
  }
}

export function prompts() {
  return fs.existsSync(promptLog) ? fs.readFileSync(promptLog, "utf8") : "";
}

export const runtimeDir = path.join(WORK, "run");

export async function startDaemon(origins) {
  fs.mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  const toml = path.join(WORK, "certkeyd.toml");
  fs.writeFileSync(toml, [
    `allowed_origins = ${JSON.stringify(origins)}`,
    "[pin]",
    `program = "${ROOT}/tests/harness/scripted-pinentry"`,
    "[trust]",
    `anchors = ["${WORK}/ca/root.pem"]`,
    `intermediates = ["${WORK}/ca/issuing.pem"]`,
    // One origin makes more changes in a minute here than a person would (the default is 10).
    "[limits]",
    "state_changes_per_minute = 1000",
  ].join("\n") + "\n");
  const fifo = newFifo("daemon");
  if (!fs.existsSync(shownFifo)) execFileSync("mkfifo", [shownFifo]);
  const log = fs.openSync(path.join(WORK, "daemon.log"), "a");
  // Port 18456, the default, is free: this network namespace is the test's own.
  const child = spawn(`${BUILD}/daemon/certkeyd`, ["--config", toml, "--port", "18456", "--port-file", fifo,
    "--state-dir", path.join(WORK, "daemon-state"), "--module", env.CERTKEY_MODULE], {
    stdio: ["ignore", log, log],
    env: { ...env, XDG_RUNTIME_DIR: runtimeDir, SCRIPTED_PINENTRY_ANSWERS: answersFile, SCRIPTED_PINENTRY_LOG: promptLog,
      SCRIPTED_PINENTRY_SHOWN: shownFifo },
  });
  const port = Number(await lineFrom(fifo));
  return { port, stop: () => stopped(child) };
}

export async function startPortal(daemonPort) {
  const fifo = newFifo("portal");
  const log = fs.openSync(path.join(WORK, "portal.log"), "a");
  const child = spawn(`${BUILD}/examples/portal/certkey-portal`, ["serve", "--ca-dir", `${WORK}/ca`,
    "--site", `${ROOT}/examples/portal/site`, "--client", `${ROOT}/web-extension/client`,
    "--daemon-port", String(daemonPort), "--hsm-module", env.HSM_MODULE, "--hsm-token", env.HSM_TOKEN,
    "--port-file", fifo, "--host", PORTAL_HOST, "--audit", `${WORK}/portal-audit.jsonl`], {
    stdio: ["pipe", log, log],
  });
  child.stdin.end(`${env.HSM_PIN}\n`);
  const ports = JSON.parse(await lineFrom(fifo));
  return {
    https: ports.https,
    helpdesk: ports.http,
    url: (host = PORTAL_HOST) => `https://${host}:${ports.https}/`,
    origin: (host = PORTAL_HOST) => `https://${host}:${ports.https}`,
    stop: () => stopped(child),
  };
}

// A help-desk ticket for the token, as the help desk gets it after checking the caller.
export async function issueTicket(portal, serial) {
  const r = await fetch(`http://127.0.0.1:${portal.helpdesk}/helpdesk/tickets`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: Number(serial), operator: "help desk test" }),
  });
  if (r.status !== 201) throw new Error(`ticket: ${r.status} ${await r.text()}`);
  return (await r.json()).ticket;
}

// A home of its own for each browser: its NSS database trusts the test CA's root, which
// certifies the portal's HTTPS certificate; `withModule` registers certkey's PKCS#11 module
// there as certkey-register-nss does (docs/pkcs11.md), so the tokens' certificates are the
// browser's client certificates.
export function newHome(name, { withModule = false } = {}) {
  const home = path.join(WORK, `home-${name}`);
  const db = `sql:${home}/.pki/nssdb`;
  fs.mkdirSync(path.join(home, ".pki/nssdb"), { recursive: true });
  execFileSync("certutil", ["-N", "-d", db, "--empty-password"]);
  execFileSync("certutil", ["-A", "-d", db, "-n", "certkey test root", "-t", "C,,", "-i", `${WORK}/ca/root.pem`]);
  if (withModule) {
    execFileSync("modutil", ["-dbdir", db, "-add", "certkey", "-libfile", env.BROWSER_MODULE, "-mechanisms", "FRIENDLY",
      "-force"], { stdio: "ignore" });
  }
  return home;
}

// A TLS server on loopback that requires a client certificate from the test CA: GnuTLS's
// gnutls-serv, whose HTTP answer describes the session and the client's certificate.
export async function startTlsServer(port) {
  // Line-buffered, so that its "listening" line arrives when it is printed.
  const child = spawn("stdbuf", ["-oL", "-eL", "gnutls-serv", "--http", "--x509certfile", `${WORK}/tls-server-chain.pem`, "--x509keyfile",
    `${WORK}/tls-server.key`, "--x509cafile", `${WORK}/client-cas.pem`, "--require-client-cert",
    "--verify-client-cert", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"], env: { ...env, LD_PRELOAD: "" } });
  let output = "";
  await new Promise((resolve, reject) => {
    const take = (d) => {
      output += d;
      if (/IPv4 .*done/.test(output)) resolve();
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.once("exit", () => reject(new Error(`gnutls-serv ended: ${output}`)));
    setTimeout(() => reject(new Error(`gnutls-serv did not listen: ${output}`)), 60_000).unref();
  });
  return { url: `https://127.0.0.1:${port}/`, output: () => output, stop: () => stopped(child) };
}

// The native-messaging host manifests, by the install command, into `home`.
export function installNativeHost(home) {
  execFileSync(`${ROOT}/web-extension/native-host/install-manifests`, ["--user", "--relay",
    `${BUILD}/web-extension/native-host/certkey-native-host`], { env: { ...env, HOME: home } });
}

export function packageExtension() {
  const dir = path.join(WORK, "extension");
  execFileSync(`${ROOT}/web-extension/package-extension`, ["--browser", "chromium", dir]);
  return dir;
}

export function setPolicy(policy) {
  const file = "/etc/chromium/policies/managed/certkey-test.json";
  if (policy) fs.writeFileSync(file, JSON.stringify(policy));
  else fs.rmSync(file, { force: true });
}

// An X server of the test's own, for a headful Chromium (its PIN dialog). Xvfb writes its
// display number once it accepts connections.
export async function startXvfb() {
  const child = spawn("Xvfb", ["-displayfd", "1", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
    { stdio: ["ignore", "pipe", "ignore"] });
  const display = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(`:${out.trim()}`);
    });
    child.once("exit", () => reject(new Error("Xvfb ended")));
  });
  return { display, stop: () => stopped(child) };
}

// Answers Chromium's own PIN dialog ("Unlock Security Device", which NSS asks it to show
// before a token key signs) on `display`, as a person types: waits for the window, focuses
// its PIN field and types.
export async function answerPinDialog(display, pin) {
  const xdotool = (args) => output("xdotool", args, { DISPLAY: display });
  // The bound only turns a dialog that never comes into a failure.
  const appeared = xdotool(["search", "--sync", "--onlyvisible", "--name", "^Unlock Security Device$"]);
  const bound = new Promise((_, reject) => setTimeout(() => reject(new Error("no PIN dialog")), 60_000).unref());
  const window = (await Promise.race([appeared, bound])).split("\n")[0];
  await xdotool(["windowfocus", "--sync", window]);
  await xdotool(["type", "--delay", "20", pin]);
  await xdotool(["key", "Return"]);
}

// Chromium as a person's browser: the profile is HOME/.config/chromium, where the install
// command put the native-host manifests. `publicPort` makes pages on 127.0.0.1:PORT count
// as public (Local Network Access); `extension` loads the unpacked extension; `display` runs
// it headful on that X display.
export async function launch({ home, publicPort, extension, locale = "en-US", display }) {
  const args = [...(display ? [] : ["--headless=new"]), "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--host-resolver-rules=MAP ${PORTAL_HOST} 127.0.0.1`,
    `--lang=${locale}`];
  if (publicPort) args.push(`--ip-address-space-overrides=127.0.0.1:${publicPort}=public`);
  if (extension) args.push(`--disable-extensions-except=${extension}`, `--load-extension=${extension}`);
  const profile = path.join(home, ".config/chromium");
  fs.mkdirSync(profile, { recursive: true });
  return chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: !display,
    args,
    locale,
    viewport: { width: 1280, height: 860 },
    env: { ...env, HOME: home, XDG_RUNTIME_DIR: runtimeDir, LD_PRELOAD: "", ...(display ? { DISPLAY: display } : {}) },
  });
}

// The daemon's audit log, one "command origin result" line per entry.
export function audit() {
  const db = path.join(WORK, "daemon-state", "certkeyd.db");
  if (!fs.existsSync(db)) return [];
  const out = execFileSync("sqlite3", ["-readonly", db, "SELECT command, origin, result FROM audit ORDER BY id"]);
  return out.toString().split("\n").filter(Boolean);
}

// The peer tools load the module, which in the sanitizer build needs the ASan runtime first.
function pkcs11Tool(args) {
  return execFileSync("pkcs11-tool", ["--module", env.CERTKEY_MODULE, ...args], {
    env: { ...env, LD_PRELOAD: env.ASAN_PRELOAD ?? "" }, stdio: ["ignore", "pipe", "pipe"],
  });
}

function slotOf(serial) {
  return ["--token-label", `certkey ${serial}`];
}

// The certificate applications find in 01 (PIV 9A), read by OpenSC's pkcs11-tool: PEM text.
export function certificateIn01(serial) {
  const der = pkcs11Tool([...slotOf(serial), "--read-object", "--type", "cert", "--id", "01"]);
  return execFileSync("openssl", ["x509", "-inform", "DER", "-noout", "-serial", "-issuer", "-enddate"], { input: der })
    .toString();
}

// Whether the token's 01 key signs after a login with `pin`.
export function signsWith(serial, pin) {
  const data = path.join(WORK, "to-sign.txt");
  fs.writeFileSync(data, "certkey browser test\n");
  try {
    pkcs11Tool([...slotOf(serial), "--login", "--pin", pin, "--sign", "--id", "01", "-m", "ECDSA-SHA256", "-i", data,
      "-o", path.join(WORK, "signature.bin")]);
    return true;
  } catch {
    return false;
  }
}

// Revokes a certificate (base64 DER) at the test CA, as its operator would for a lost token.
export function revoke(der64) {
  const pem = path.join(WORK, "to-revoke.pem");
  fs.writeFileSync(pem, `-----BEGIN CERTIFICATE-----\n${der64.match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`);
  execFileSync(`${BUILD}/examples/ca/certkey-test-ca`, ["revoke", "--ca-dir", `${WORK}/ca`, pem]);
}

// Pulls a simulated token out, or puts it back (docs/simulator.md).
export function simulator(action, token) {
  execFileSync(`${BUILD}/agent/sim/certkey-sim`, ["ctl", "--control", env.CERTKEY_SIM_CONTROL, action, token]);
}

// Spends every PIN try with a wrong PIN.
export function blockPin(serial) {
  for (let i = 0; i < 16; ++i) {
    try {
      pkcs11Tool([...slotOf(serial), "--login", "--pin", "00000000", "--list-objects"]);
    } catch (e) {
      if (String(e.stderr).includes("CKR_PIN_LOCKED")) return;
    }
  }
  throw new Error("the PIN did not lock");
}

// What a person sees of the page (the browser's window, 1280x860), as docs/portal.md shows it.
export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(env.CERTKEY_SCREENSHOTS, `${name}.jpg`), type: "jpeg", quality: 82 });
}

// The page as it is, in both languages (NAME-en.jpg, NAME-zh.jpg): its language switch
// redraws the state in place. It ends in the language it started in.
export async function screenshots(page, name) {
  const language = () => page.getAttribute("html", "lang");
  const first = await language();
  await screenshot(page, `${name}-${first.startsWith("zh") ? "zh" : "en"}`);
  await page.click('button[data-action="language"]');
  const second = await language();
  await screenshot(page, `${name}-${second.startsWith("zh") ? "zh" : "en"}`);
  await page.click('button[data-action="language"]');
}
