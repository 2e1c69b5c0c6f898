// content.js: the page's door to certkey (docs/extension.md). Runs in the top frame at
// document_start. It marks the document so the page client (web-extension/client/certkey.js)
// knows the extension is here, and carries window messages between the page and the
// background. It decides nothing: the background takes the page's origin from the browser,
// not from anything said here, and checks every message.
"use strict";
{
  const api = globalThis.browser ?? chrome;

  // Set before any page script runs, so the page detects the extension without a race.
  document.documentElement?.setAttribute("data-certkey-extension", api.runtime.getManifest().version);

  let port = null; // to the background; opened at the first message, again after it closes

  function openPort() {
    const opened = api.runtime.connect({ name: "certkey" });
    opened.onMessage.addListener((message) => {
      // Only to this page's own origin: a frame or another window never sees the replies.
      window.postMessage({ certkey: "from-extension", message }, window.location.origin);
    });
    opened.onDisconnect.addListener(() => {
      void api.runtime.lastError; // read, so Chromium does not log it as unchecked
      if (port === opened) port = null;
    });
    return opened;
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
    try {
      (port ??= openPort()).postMessage(text);
    } catch {
      // The port closed before its onDisconnect ran (the background was stopped): once more.
      port = openPort();
      port.postMessage(text);
    }
  });
}
