// The CA's page and the user's token through every real part (docs/portal.md): Debian's
// Chromium, the reference portal (examples/portal) over HTTPS, the JS client, the MV3
// extension and its native host, certkeyd with the scripted pinentry, pcscd and the
// simulated tokens. The tests run in order and share the services; each launches its own
// browser. tests/browser/run prepares the tokens.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as h from "./harness.mjs";

const usb = h.env.USB_SERIAL;
const sim = h.env.SIM_SERIAL;
let portal, daemon;
let renewalPost; // a body the page posted to /api/renewal, replayed with faults below
let renewalAnswer; // and what the portal answered

before(async () => {
  h.answerPrompts();
  portal = await h.startPortal(18456);
});

after(async () => {
  await daemon?.stop();
  await portal?.stop();
});

async function openPortal(context, { host } = {}) {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => m.type() === "error" && console.error(`page console: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await page.goto(portal.url(host));
  return page;
}

// The state the page settles in: waits for the status to leave "connecting" or "working".
async function settled(page, states) {
  const status = page.locator("#status");
  try {
    await page.waitForFunction((wanted) => wanted.includes(document.querySelector("#status")?.dataset.state),
      states, { timeout: 60_000 });
  } catch (e) {
    await h.screenshot(page, `timed-out-${Date.now()}`);
    throw new Error(`the page stayed "${await status.getAttribute("data-state")}": ${await status.innerText()}`);
  }
  return status.getAttribute("data-state");
}

async function connectIfAsked(page) {
  if ((await settled(page, ["ready", "permission_needed", "not_installed", "failed"])) === "permission_needed") {
    await page.click('button[data-action="connect"]');
  }
  assert.equal(await settled(page, ["ready", "not_installed", "failed", "permission_blocked"]), "ready",
    await page.locator("#status").innerText());
}

function certificateRow(page, serial) {
  return page.locator(`[data-certificate="${serial}:01"]`);
}

// Clicks renew on the token's 01 certificate and waits for the end; returns the final state.
async function renew(page, serial) {
  await certificateRow(page, serial).locator('button[data-action="renew"]').click();
  return settled(page, ["done", "failed"]);
}

test("with certkeyd not running, the page says certkey is not running, in both languages", async () => {
  const context = await h.launch({ home: h.newHome("not-running") });
  try {
    const page = await openPortal(context, { host: "127.0.0.1" });
    assert.equal(await settled(page, ["not_installed", "ready", "failed"]), "not_installed");
    await h.screenshots(page, "not-running");
    await page.click('button[data-action="language"]');
    assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  } finally {
    await context.close();
  }
});

test("certkeyd starts, allowing the portal's origins", async () => {
  daemon = await h.startDaemon([portal.origin(), portal.origin("127.0.0.1")]);
});

test("renewal over localhost: listed, PIN from the prompt, issued after the JWS check, current on the token", async () => {
  const before = h.certificateIn01(usb);
  const context = await h.launch({ home: h.newHome("localhost") });
  try {
    const page = await openPortal(context);
    page.on("request", (r) => {
      if (r.url().endsWith("/api/renewal")) renewalPost = r.postData();
    });
    page.on("response", async (r) => {
      if (r.url().endsWith("/api/renewal")) renewalAnswer = await r.json();
    });
    await connectIfAsked(page);
    await certificateRow(page, usb).waitFor();
    await certificateRow(page, sim).waitFor();
    await h.screenshots(page, "tokens");
    // While the prompt is open the page says where the PIN goes.
    const ended = await h.whilePromptOpen(() => renew(page, usb), async () => {
      assert.equal(await page.getAttribute("#status", "data-state"), "working");
      await h.screenshots(page, "renewing");
    });
    assert.equal(ended, "done", await page.locator("#status").innerText());
    await h.screenshots(page, "renewed");
    const now = h.certificateIn01(usb);
    assert.notEqual(now, before, "a new certificate in 01");
    assert.match(now, /issuer=.*certkey test issuing CA/i);
    // The page shows the new certificate: its serial number is on the row.
    const serialHex = /serial=([0-9A-F]+)/.exec(now)[1].toLowerCase().replace(/^0+/, "");
    await page.waitForFunction(([s, want]) => document.querySelector(`[data-certificate="${s}:01"]`)?.textContent
      .toLowerCase().replace(/[^0-9a-f]/g, "").includes(want), [usb, serialHex.slice(-8)]);
    assert.match(h.prompts(), /asks for the PIN of your USB KEY/);
  } finally {
    await context.close();
  }
  assert.ok(renewalPost, "the page posted the renewal to its backend");
});

test("the client's reads and events: diagnosis, certificate status, a token pulled out and put back", async () => {
  const context = await h.launch({ home: h.newHome("client-reads") });
  try {
    const page = await openPortal(context, { host: "127.0.0.1" });
    await settled(page, ["ready"]);
    const reads = await page.evaluate(async () => {
      const { connect } = await import("/client/certkey.js");
      const client = await connect({ port: 18456 });
      window.events = [];
      client.watch((message) => window.events.push(message));
      return { findings: await client.diagnose(), certificates: await client.queryCertificates() };
    });
    assert.ok(reads.findings.length > 0, JSON.stringify(reads));
    assert.ok(reads.certificates.some((c) => String(c.token) === usb && c.chain === "valid"), JSON.stringify(reads));
    const announced = (event) => page.waitForFunction(([e, serial]) => window.events.some((m) => m.event === e &&
      String(m.data.token.serial) === serial), [event, sim]);
    h.simulator("remove", "token2");
    await announced("tokenRemoved");
    h.simulator("insert", "token2");
    await announced("tokenInserted");
  } finally {
    await context.close();
  }
});

test("the backend refuses a bad JWS, another request, another site and a revoked signer; a replay gets no second certificate", async () => {
  const context = await h.launch({ home: h.newHome("bad-jws") });
  const post = (page, b) => page.evaluate(async (body) => {
    const r = await fetch("/api/renewal", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) });
    return [r.status, await r.json()];
  }, b);
  try {
    const page = await openPortal(context); // the origin the renewal was begun on
    const body = JSON.parse(renewalPost);
    const [header, payload, signature] = body.authorization.split(".");
    const forged = { ...body, authorization: `${header}.${payload}.${signature.slice(0, -4)}AAAA` };
    const other = { ...body, csr: body.csr.replace(/A/, "B") };
    const answers = [await post(page, forged), await post(page, other)];
    for (const [status, reply] of answers) {
      assert.equal(status, 400, JSON.stringify(reply));
      assert.ok(["renewal_refused", "bad_request"].includes(reply.error.code), JSON.stringify(reply));
    }
    assert.match(answers[0][1].error.message, /signature/);
    // The same authorization again: no second certificate, the one already issued.
    const [again, replayed] = await post(page, body);
    assert.equal(again, 200, JSON.stringify(replayed));
    assert.equal(replayed.certificate, renewalAnswer.certificate);
    // Posted by a page of another origin (the portal's other name): not that site's renewal.
    const elsewhere = await context.newPage();
    await elsewhere.goto(portal.url("127.0.0.1"));
    const [refused, foreign] = await post(elsewhere, body);
    assert.equal(refused, 400, JSON.stringify(foreign));
    assert.match(foreign.error.message, /another site/);
    // The certificate that signed it revoked (a lost token): its authorization is worth nothing.
    h.revoke(JSON.parse(Buffer.from(header, "base64url")).x5c[0]);
    const [status, reply] = await post(page, body);
    assert.equal(status, 400, JSON.stringify(reply));
    assert.match(reply.error.message, /revoked/);
  } finally {
    await context.close();
  }
});

test("Local Network Access: a public page with the loopback permission denied is told so, and certkeyd sees nothing", async () => {
  const audited = h.audit().length;
  const context = await h.launch({ home: h.newHome("lna-denied"), publicPort: portal.https });
  try {
    const page = await openPortal(context);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Browser.setPermission", { permission: { name: "loopback-network" }, setting: "denied",
      origin: portal.origin() });
    await page.reload();
    assert.equal(await settled(page, ["permission_blocked", "permission_needed", "ready", "not_installed"]),
      "permission_blocked");
    assert.equal(await page.evaluate(async () => (await navigator.permissions.query({ name: "loopback-network" })).state),
      "denied");
    await h.screenshots(page, "permission-blocked");
  } finally {
    await context.close();
  }
  assert.equal(h.audit().length, audited, "no audit entry");
});

test("Local Network Access: granted by the LoopbackNetworkAllowedForUrls policy, a public page renews", async () => {
  h.setPolicy({ LoopbackNetworkAllowedForUrls: [portal.origin()] });
  const before = h.certificateIn01(sim);
  const context = await h.launch({ home: h.newHome("lna-policy"), publicPort: portal.https, locale: "zh-CN" });
  try {
    const page = await openPortal(context);
    await connectIfAsked(page);
    assert.equal(await page.getAttribute("html", "lang"), "zh-CN", "the browser's language");
    assert.equal(await renew(page, sim), "done", await page.locator("#status").innerText());
  } finally {
    await context.close();
    h.setPolicy(null);
  }
  assert.notEqual(h.certificateIn01(sim), before);
});

test("a page on an origin certkeyd does not allow is told so, and nothing changes", async () => {
  const audited = h.audit().length;
  const context = await h.launch({ home: h.newHome("not-allowed") });
  try {
    const page = await openPortal(context, { host: "localhost" });
    assert.equal(await settled(page, ["origin_not_allowed", "not_installed", "ready", "failed"]), "origin_not_allowed");
    await h.screenshots(page, "origin-not-allowed");
  } finally {
    await context.close();
  }
  assert.equal(h.audit().length, audited);
});

test("through the extension: the native host installed by the install command, the renewal works", async () => {
  const home = h.newHome("extension");
  h.installNativeHost(home);
  const before = h.certificateIn01(usb);
  const context = await h.launch({ home, extension: h.packageExtension(), publicPort: portal.https });
  try {
    const page = await openPortal(context);
    await connectIfAsked(page);
    assert.equal(await renew(page, usb), "done", await page.locator("#status").innerText());
  } finally {
    await context.close();
  }
  assert.notEqual(h.certificateIn01(usb), before);
  assert.ok(h.audit().some((line) => line.startsWith(`completeRenewal|${portal.origin()}|`)), h.audit().join("\n"));
});

test("through the extension: a forged origin is not used, and a second tab never sees the first tab's answers", async () => {
  const home = h.newHome("extension-tabs");
  h.installNativeHost(home);
  const context = await h.launch({ home, extension: h.packageExtension() });
  try {
    const first = await openPortal(context);
    await first.waitForSelector("[data-token]");  // the forged request names the page's token
    const second = await context.newPage();
    await second.goto(portal.url());
    await second.evaluate(() => {
      window.seen = [];
      window.addEventListener("message", (e) => e.data?.certkey === "from-extension" && window.seen.push(e.data.message));
    });
    // The first tab asks with a forged origin: the daemon answers as to its own.
    const reply = await first.evaluate(() => new Promise((resolve) => {
      window.addEventListener("message", (e) => {
        if (e.data?.certkey === "from-extension" && e.data.message.id === "forged") resolve(e.data.message);
      });
      window.postMessage({ certkey: "to-extension", message: { id: "forged", command: "beginRenewal",
        args: { token: Number(document.querySelector("[data-token]")?.dataset.token ?? 0), certificate: "01" },
        origin: "https://evil.example" } }, location.origin);
    }));
    assert.equal(reply.status, 201, JSON.stringify(reply));
    assert.equal(reply.result.renewal.origin, portal.origin());
    // The second tab's own request, answered after the first's: it saw its answer only.
    const own = await second.evaluate(() => new Promise((resolve) => {
      window.addEventListener("message", (e) => {
        if (e.data?.certkey === "from-extension" && e.data.message.id === "second") resolve(e.data.message);
      });
      window.postMessage({ certkey: "to-extension", message: { id: "second", command: "listRenewals" } }, location.origin);
    }));
    assert.equal(own.status, 200);
    // It saw its own answers (the portal's page-N requests, and "second"), none of the first's.
    const seen = (await second.evaluate(() => window.seen)).map((m) => m.id);
    assert.ok(seen.includes("second"), seen.join());
    assert.ok(!seen.includes("forged"), seen.join());
    await first.evaluate((id) => new Promise((resolve) => {
      window.addEventListener("message", (e) => e.data?.message?.id === "cancel" && resolve());
      window.postMessage({ certkey: "to-extension", message: { id: "cancel", command: "cancelRenewal", args: { id } } },
        location.origin);
    }), reply.result.renewal.id);
  } finally {
    await context.close();
  }
  assert.ok(h.audit().every((line) => !line.includes("evil.example")), h.audit().join("\n"));
});

test("with the extension but no native host installed, the page says the native host is missing", async () => {
  const context = await h.launch({ home: h.newHome("no-host"), extension: h.packageExtension() });
  try {
    const page = await openPortal(context);
    assert.equal(await settled(page, ["native_host_missing", "ready", "not_installed", "failed"]), "native_host_missing");
    await h.screenshots(page, "native-host-missing");
  } finally {
    await context.close();
  }
});

test("unlock from the portal: refused without a ticket; with one, the new PIN from the prompt, and the token signs", async () => {
  h.blockPin(usb);
  assert.equal(h.signsWith(usb, h.PIN), false);
  const context = await h.launch({ home: h.newHome("unlock") });
  try {
    const page = await openPortal(context);
    await connectIfAsked(page);
    const card = page.locator(`[data-token="${usb}"]`);
    await card.locator('button[data-action="unlock"]').first().click();
    await page.locator("#unlock").waitFor();
    await h.screenshot(page, "unlock-en");
    await page.click('button[data-action="unlock-cancel"]');
    await page.click('button[data-action="language"]');
    await card.locator('button[data-action="unlock"]').first().click();
    await h.screenshot(page, "unlock-zh");
    await page.click('button[data-action="unlock-submit"]');
    assert.equal(await settled(page, ["failed", "done"]), "failed", "no ticket");
    assert.match(await page.locator("#status").innerText(), /ticket_missing/);
    await page.click('button[data-action="language"]');

    // The user closes the new-PIN window: the help desk's answer is kept, and the next try
    // needs no new ticket (the token's challenge is still pending).
    const ticket = await h.issueTicket(portal, usb);
    h.answerPrompts({ newPin: null });
    await card.locator('button[data-action="unlock"]').first().click();
    await page.fill("#ticket", ticket);
    await page.click('button[data-action="unlock-submit"]');
    assert.equal(await settled(page, ["failed", "done"]), "failed", "the new PIN cancelled");
    assert.match(await page.locator("#status").innerText(), /pin_cancelled/);
    h.answerPrompts();
    await card.locator('button[data-action="unlock"]').first().click();
    await page.fill("#ticket", "");
    await page.click('button[data-action="unlock-submit"]');
    assert.equal(await settled(page, ["failed", "done"]), "done", await page.locator("#status").innerText());
    await h.screenshots(page, "unlocked");
    assert.equal(h.signsWith(usb, h.NEW_PIN), true, "the token signs with the new PIN");
    assert.match(h.prompts(), /choose a new PIN/);

    // The ticket was for one unlock.
    await card.locator('button[data-action="unlock"]').first().click();
    await page.fill("#ticket", ticket);
    await page.click('button[data-action="unlock-submit"]');
    assert.equal(await settled(page, ["failed", "done"]), "failed", "a used ticket");
    assert.match(await page.locator("#status").innerText(), /ticket_used/);
    await h.screenshots(page, "unlock-refused");
  } finally {
    await context.close();
  }
  h.answerPrompts({ pin: h.NEW_PIN });
});

test("TLS client authentication in Chromium with the token's 9E key, through NSS and certkey's module", async () => {
  const server = await h.startTlsServer(44330);
  // The tokens hold other certificates of the same CA, whose keys need the PIN: the policy
  // picks the card authentication certificate by its subject.
  const filter = { SUBJECT: { CN: `card auth ${usb}` } };
  h.setPolicy({ AutoSelectCertificateForUrls: [JSON.stringify({ pattern: "https://127.0.0.1:44330", filter })] });
  const context = await h.launch({ home: h.newHome("tls-client", { withModule: true }) });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url);
    // gnutls-serv describes the certificate the client authenticated with.
    assert.match(await page.content(), new RegExp(`card auth ${usb}`));
  } finally {
    await context.close();
    h.setPolicy(null);
    await server.stop();
  }
});

test("TLS client authentication with the PIN-protected 9A key: Chromium's own PIN dialog, answered on an X display", async () => {
  const server = await h.startTlsServer(44331);
  const x = await h.startXvfb();
  // The SIM's certificate in 01 (PIV 9A), whose key needs the PIN (123456 on the SIM).
  const filter = { SUBJECT: { CN: "Li Si" } };
  h.setPolicy({ AutoSelectCertificateForUrls: [JSON.stringify({ pattern: "https://127.0.0.1:44331", filter })] });
  const context = await h.launch({ home: h.newHome("tls-client-pin", { withModule: true }), display: x.display });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const loaded = page.goto(server.url);
    await h.answerPinDialog(x.display, h.PIN);
    await loaded;
    assert.match(await page.content(), /Li Si/);
  } finally {
    await context.close();
    h.setPolicy(null);
    await x.stop();
    await server.stop();
  }
});
