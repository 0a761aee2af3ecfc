// grokgate console: what every page shares. The session cookie is HttpOnly (no script reads
// it); changes carry the page's CSRF token; nothing here stores a key.
"use strict";
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  async function api(method, path, body) {
    const headers = { "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await answer.json(); } catch (_) { data = null; }
    if (!answer.ok) {
      const message = data && data.error ? data.error.message : `HTTP ${answer.status}`;
      if (answer.status === 401) window.location.assign("login");
      throw new Error(message);
    }
    return data;
  }

  function flash(message, tone) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.className = "toast show" + (tone === "error" ? " error" : "");
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => box.classList.remove("show"), 7000);
  }

  // a message that survives the reload that shows a change
  function flashAfterReload(message, tone) {
    sessionStorage.setItem("gg-flash", JSON.stringify([message, tone || ""]));
    window.location.reload();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const pending = sessionStorage.getItem("gg-flash");
    if (pending) {
      sessionStorage.removeItem("gg-flash");
      const [message, tone] = JSON.parse(pending);
      flash(message, tone);
    }
  });

  window.gg = { api, flash, flashAfterReload, csrf };
})();
