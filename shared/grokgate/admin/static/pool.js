// Pool page: import (paste or file), enable / disable / refresh / remove, filters.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, flash, flashAfterReload } = window.gg;
  const form = document.getElementById("import-form");
  const text = document.getElementById("import-text");
  const file = document.getElementById("import-file");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("import-submit");
    let source = text.value;
    if (!source.trim() && file.files.length) source = await file.files[0].text();
    if (!source.trim()) { flash("Paste tokens or choose a file first.", "error"); return; }
    button.disabled = true;
    try {
      const report = await api("POST", "api/accounts/import", {
        text: source,
        tier: document.getElementById("import-tier").value,
        kind: document.getElementById("import-kind").value,
        refresh: document.getElementById("import-refresh").checked,
      });
      text.value = "";
      let message = `${report.added} added, ${report.present} already present, ` +
        `${report.rejected.length} rejected`;
      for (const r of report.rejected) message += `\n${r.label}: ${r.reason}`;
      flashAfterReload(message, report.rejected.length ? "error" : "");
    } catch (error) {
      flash(error.message, "error");
      button.disabled = false;
    }
  });

  document.querySelector("table.accounts").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = button.dataset.id;
    const action = button.dataset.action;
    if (action === "remove" && !window.confirm(`Remove ${id} from the pool?`)) return;
    button.disabled = true;
    try {
      if (action === "remove") {
        await api("DELETE", `api/accounts/${encodeURIComponent(id)}`);
        flashAfterReload(`${id} removed`);
      } else if (action === "refresh") {
        const out = await api("POST", `api/accounts/${encodeURIComponent(id)}/refresh`);
        const tier = `${out.tier_before} → ${out.tier_after || "?"}`;
        flashAfterReload(out.error ? `${id}: ${out.error}` : `${id} refreshed (${tier})`,
          out.error ? "error" : "");
      } else {
        await api("POST", `api/accounts/${encodeURIComponent(id)}/${action}`);
        flashAfterReload(`${id} ${action}d`);
      }
    } catch (error) {
      flash(error.message, "error");
      button.disabled = false;
    }
  });

  const filterText = document.getElementById("filter-text");
  const filterStatus = document.getElementById("filter-status");
  const filterKind = document.getElementById("filter-kind");
  function applyFilters() {
    const words = filterText.value.trim().toLowerCase();
    for (const row of document.querySelectorAll("tr[data-account]")) {
      const show = (!words || row.dataset.search.includes(words)) &&
        (!filterStatus.value || row.dataset.status === filterStatus.value) &&
        (!filterKind.value || row.dataset.kind === filterKind.value);
      row.hidden = !show;
    }
  }
  for (const input of [filterText, filterStatus, filterKind]) {
    input.addEventListener("input", applyFilters);
  }
});
