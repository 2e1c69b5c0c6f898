// content.js: the page's door to certkey (docs/extension.md). Runs in the top frame at
// document_start. It marks the document so the page client (web-extension/client/certkey.js)
// knows the extension is here, and carries window messages between the page and the
// background. It decides nothing: the background takes the page's origin from the browser,
// not from anything said here, and checks every message.
"use strict";
{
  const api = globalThis.browser ?? chrome;
  const UNAVAILABLE = {
    code: "daemon_unavailable",
    message: "The certkey extension lost its connection. Reload the page.",
    message_zh: "certkey 扩展的连接已中断，请刷新页面。",
    hint: "Reload the page; if it persists, reinstall the certkey extension.",
    hint_zh: "请刷新页面；如仍出现，请重新安装 certkey 扩展。",
  };

  // A sandboxed page (an opaque origin) is no site certkey serves: nothing is offered.
  if (self.origin !== "null") start();

  function start() {
    // Set before any page script runs, so the page detects the extension without a race.
    document.documentElement?.setAttribute("data-certkey-extension", api.runtime.getManifest().version);

    let port = null; // to the background; opened at the first message, again after it closes
    const pending = new Map(); // id -> requests sent and not yet answered, for a port that dies

    const toPage = (message) =>
      // Only to this page's own origin: a frame or another window never sees the replies.
      window.postMessage({ certkey: "from-extension", message }, window.location.origin);

    function openPort() {
      const opened = api.runtime.connect({ name: "certkey" });
      opened.onMessage.addListener((message) => {
        if (message?.id !== undefined) settle(message.id);
        toPage(message);
      });
      opened.onDisconnect.addListener(() => {
        void api.runtime.lastError; // read, so Chromium does not log it as unchecked
        if (port !== opened) return;
        port = null;
        // The background refused the page, was stopped or updated: no request waits for ever.
        for (const [id, count] of pending) {
          for (let i = 0; i < count; i++) toPage({ id, status: 503, error: UNAVAILABLE });
        }
        pending.clear();
        toPage({ relay: "closed" });
      });
      return opened;
    }

    function settle(id) {
      const count = pending.get(id) ?? 0;
      if (count > 1) pending.set(id, count - 1);
      else pending.delete(id);
    }

    window.addEventListener("message", (event) => {
      // Only this window's own scripts: frames and other windows are another source.
      if (event.source !== window || event.data?.certkey !== "to-extension") return;
      // Passed on as JSON text: the background parses and checks exactly what it forwards,
      // and no page object crosses into the extension. What cannot be JSON is sent as null,
      // which the background refuses.
      let text;
      try {
        text = JSON.stringify(event.data.message) ?? "null";
      } catch {
        text = "null";
      }
      const id = event.data.message?.id;
      if (typeof id === "string" || Number.isSafeInteger(id)) pending.set(id, (pending.get(id) ?? 0) + 1);
      try {
        (port ??= openPort()).postMessage(text);
      } catch {
        // The port closed before its onDisconnect ran (the background was stopped): once more;
        // an extension that was updated or removed can no longer connect at all.
        try {
          port = openPort();
          port.postMessage(text);
        } catch {
          port = null;
          if (pending.has(id)) {
            settle(id);
            toPage({ id, status: 503, error: UNAVAILABLE });
          }
        }
      }
    });
  }
}
