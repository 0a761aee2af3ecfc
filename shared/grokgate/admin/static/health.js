// Health page: run the doctor on demand (it calls grok.com, so never on page load).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, flash } = window.gg;
  const run = document.getElementById("doctor-run");
  const list = document.getElementById("doctor-result");
  run.addEventListener("click", async () => {
    const account = document.getElementById("doctor-account").value;
    run.disabled = true;
    list.replaceChildren();
    try {
      const query = account ? `?account=${encodeURIComponent(account)}` : "";
      const report = await api("GET", `api/doctor${query}`);
      for (const check of report.checks) {
        const item = document.createElement("li");
        item.className = check.skipped ? "skip" : check.ok ? "ok" : "fail";
        const mark = document.createElement("b");
        mark.textContent = check.skipped ? "SKIP" : check.ok ? "OK" : "FAIL";
        const step = document.createElement("span");
        step.textContent = check.step;
        const detail = document.createElement("span");
        detail.textContent = check.detail;
        item.append(mark, step, detail);
        if (check.fix) {
          const fix = document.createElement("span");
          fix.className = "fix";
          fix.textContent = `fix: ${check.fix}`;
          item.append(fix);
        }
        list.append(item);
      }
      flash(report.ok ? `All checks passed (${report.account})` : "Some checks failed",
        report.ok ? "" : "error");
    } catch (error) {
      flash(error.message, "error");
    } finally {
      run.disabled = false;
    }
  });
});
