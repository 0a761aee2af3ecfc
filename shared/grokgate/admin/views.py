"""The console's HTML, rendered on the server: every value passes through :func:`html.escape`,
no page holds an inline script or style, and every link is relative (behind API Gateway the
browser sees the stage prefix, ``/prod/admin/...``, that the app never does)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape

from grokgate.admin.schemas import AccountOut, HealthOut, JobOut
from grokgate.stores.records import ALL_MODES, COMPUTER_USE

NAV = (("pool", "Pool"), ("health", "Health"), ("jobs", "Jobs"), ("playground", "Playground"))
_MODE_LABELS = {COMPUTER_USE: "computer-use"}


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def when(ts: float | None) -> str:
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(ts: float | None, now: float | None = None) -> str:
    if not ts:
        return "never"
    seconds = max(0.0, (now or time.time()) - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def page(title: str, active: str, body: str, csrf: str, scripts: Sequence[str] = ()) -> str:
    current = ' class="active" aria-current="page"'
    links = "".join(
        f'<a href="{href}"{current if href == active else ""}>{label}</a>' for href, label in NAV
    )
    tags = "".join(f'<script src="static/{name}" defer></script>' for name in scripts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{e(csrf)}">
<title>{e(title)} · grokgate console</title>
<link rel="stylesheet" href="static/console.css">
<script src="static/console.js" defer></script>{tags}
</head><body>
<header class="top"><div class="brand"><span class="logo">g</span>grokgate <em>console</em></div>
<nav>{links}</nav>
<form method="post" action="logout" class="logout">
<input type="hidden" name="csrf" value="{e(csrf)}">
<button id="logout" class="ghost" type="submit">Log out</button></form></header>
<main>{body}</main>
<div id="flash" class="toast" role="status" aria-live="polite"></div>
</body></html>"""


def login_page(token: str, error: str | None = None) -> str:
    flash = f'<p class="flash error">{e(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · grokgate console</title>
<link rel="stylesheet" href="static/console.css">
</head><body class="login">
<form method="post" action="login" class="card login-card">
<div class="brand"><span class="logo">g</span>grokgate <em>console</em></div>
<p class="muted">Operate the account pool, check its health and try a model.</p>
{flash}
<label for="key">Admin key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus
 placeholder="GROKGATE_ADMIN_KEY">
<input type="hidden" name="csrf" value="{e(token)}">
<button type="submit" class="primary wide">Sign in</button>
<p class="fine">The key is checked once; the browser keeps only a signed session cookie
(HttpOnly, 30 minutes).</p>
</form></body></html>"""


def _error(text: str | None) -> str:
    return e(text) if text else '<span class="none">—</span>'


def _badge(text: str, tone: str) -> str:
    return f'<span class="badge {tone}">{e(text)}</span>'


_TONES = {"active": "ok", "cooling": "warn", "expired": "bad", "disabled": "off"}


def _quota_cells(account: AccountOut, now: float) -> str:
    ordered = [m for m in ALL_MODES if m in account.quotas]
    ordered += sorted(m for m in account.quotas if m not in ALL_MODES)
    pills = []
    for mode in ordered:
        q = account.quotas[mode]
        low = "low" if q.total and q.remaining_now / q.total < 0.2 else ""
        reset = f"resets {when(q.reset_at)}" if q.reset_at > now else "full window"
        pills.append(
            f'<span class="pill {low}" title="{e(reset)} · {e(q.source)}">'
            f"{e(_MODE_LABELS.get(mode, mode))} <b>{q.remaining_now}</b>/{q.total}</span>"
        )
    return "".join(pills) or '<span class="muted">—</span>'


def _account_row(a: AccountOut, now: float) -> str:
    kind = "xAI key" if a.kind.value == "xai_api_key" else "grok.com"
    tier = "—" if a.kind.value == "xai_api_key" else a.tier.value
    search = " ".join([a.id, kind, tier, a.status.value, a.egress or "direct"]).lower()
    toggle = (
        f'<button class="small" data-action="enable" data-id="{e(a.id)}">Enable</button>'
        if a.status.value in ("disabled", "expired", "cooling")
        else f'<button class="small" data-action="disable" data-id="{e(a.id)}">Disable</button>'
    )
    refresh = (
        ""
        if a.kind.value == "xai_api_key"
        else f'<button class="small" data-action="refresh" data-id="{e(a.id)}">Refresh</button>'
    )
    health = max(0.0, min(1.0, a.health))
    tone = "ok" if health >= 0.7 else "warn" if health >= 0.4 else "bad"
    return f"""<tr data-account="{e(a.id)}" data-status="{e(a.status.value)}"
 data-kind="{e(a.kind.value)}" data-search="{e(search)}">
<td><code>{e(a.id)}</code><div class="sub">{e(kind)}</div></td>
<td><code class="token">{e(a.token_hint)}</code></td>
<td>{e(tier)}</td>
<td>{_badge(a.display_status, _TONES.get(a.status.value, "off"))}</td>
<td class="quotas">{_quota_cells(a, now)}</td>
<td class="num">{a.inflight}/{a.max_inflight}</td>
<td><meter class="{tone}" min="0" max="1" value="{health:.2f}"></meter>
<span class="sub">{health:.2f}</span></td>
<td class="num uses">{a.use_count}/{a.fail_count}</td>
<td class="error">{_error(a.last_error)}</td>
<td>{e(a.egress or ("—" if a.kind.value == "xai_api_key" else "direct"))}</td>
<td class="actions">{toggle}{refresh}
<button class="small danger" data-action="remove" data-id="{e(a.id)}">Remove</button></td>
</tr>"""


def _stat(label: str, value: object, tone: str = "") -> str:
    return f'<div class="stat {tone}"><span>{e(label)}</span><b>{e(value)}</b></div>'


def pool_page(accounts: list[AccountOut], csrf: str, default_tier: str) -> str:
    now = time.time()
    counts = {s: sum(1 for a in accounts if a.status.value == s) for s in _TONES}
    inflight = sum(a.inflight for a in accounts)
    stats = (
        _stat("Accounts", len(accounts))
        + _stat("Active", counts["active"], "ok")
        + _stat("Cooling", counts["cooling"], "warn")
        + _stat("Expired", counts["expired"], "bad")
        + _stat("Disabled", counts["disabled"], "off")
        + _stat("In flight", inflight)
    )
    rows = "".join(_account_row(a, now) for a in accounts)
    empty = "" if accounts else '<p class="empty">No account yet: paste tokens above.</p>'
    tiers = "".join(
        f'<option value="{t}"{" selected" if t == default_tier else ""}>{t}</option>'
        for t in ("basic", "super", "heavy")
    )
    body = f"""<section class="head"><h1>Pool</h1>
<p class="muted">Every account of the shared pool, as every instance sees it.</p></section>
<section class="stats">{stats}</section>
<section class="card"><h2>Add accounts</h2>
<form id="import-form" class="import">
<textarea id="import-text" rows="4" spellcheck="false" autocomplete="off"
 placeholder="One token per line ([tier:]token), or JSON as for grokgate accounts import">
</textarea>
<div class="row">
<label>Kind <select id="import-kind"><option value="grok_web">grok.com SSO tokens</option>
<option value="xai_api_key">xAI API keys</option></select></label>
<label>Tier without prefix <select id="import-tier">{tiers}</select></label>
<label class="file">Or a file
<input id="import-file" type="file" accept=".txt,.json,text/plain,application/json"></label>
<label class="check"><input id="import-refresh" type="checkbox"> read quotas now</label>
<button id="import-submit" class="primary" type="submit">Import</button>
</div></form></section>
<section class="card"><div class="bar"><h2>Accounts</h2>
<input id="filter-text" type="search" placeholder="Filter by id, tier, egress…">
<select id="filter-status"><option value="">any status</option>
<option>active</option><option>cooling</option><option>expired</option>
<option>disabled</option></select>
<select id="filter-kind"><option value="">any kind</option>
<option value="grok_web">grok.com</option>
<option value="xai_api_key">xAI key</option></select></div>
<div class="scroll"><table class="accounts"><thead><tr><th>Account</th><th>Token</th><th>Tier</th>
<th>Status</th><th>Quota left</th><th>In flight</th><th>Health</th><th>Uses/fails</th>
<th>Last error</th><th>Egress</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>
{empty}</section>"""
    return page("Pool", "pool", body, csrf, ["pool.js"])


def health_page(health: HealthOut, accounts: Iterable[AccountOut], csrf: str) -> str:
    st = health.statsig
    pool = health.pool
    statsig = (
        f"<dl><dt>Signer</dt><dd>{_badge(st.kind, 'ok' if st.kind != 'synthetic' else 'warn')}</dd>"
        f"<dt>Pair</dt><dd><code>{e(st.header_hint or '—')}</code></dd>"
        f"<dt>Source</dt><dd>{e(st.source or '—')}</dd>"
        f"<dt>Set</dt><dd>{e(ago(st.set_at) if st.set_at else '—')}</dd></dl>"
    )
    by_status = ", ".join(f"{k} {v}" for k, v in sorted(pool.by_status.items())) or "—"
    summary = (
        f"<dl><dt>Accounts</dt><dd>{pool.accounts}</dd><dt>Serving now</dt>"
        f"<dd>{pool.serving}</dd><dt>By status</dt><dd>{e(by_status)}</dd>"
        f"<dt>In flight</dt><dd>{pool.inflight}</dd><dt>With an error</dt>"
        f"<dd>{pool.with_errors}</dd></dl>"
    )
    tones = {"live": "ok", "resting": "warn", "dead": "bad"}
    proxies = "".join(
        f"<tr><td><code>{e(p.key)}</code></td><td>{_badge(p.state, tones[p.state])}</td>"
        f'<td class="num">{p.failures}</td><td class="error">{_error(p.last_error)}</td></tr>'
        for p in health.proxies
    )
    counters = "".join(
        f"<tr><td>{e(c.name)}</td><td>"
        + (" ".join(f'<span class="pill">{e(k)}={e(v)}</span>' for k, v in c.dimensions.items()))
        + f'</td><td class="num">{c.count}</td></tr>'
        for c in health.counters
    )
    if not counters:
        counters = (
            '<tr><td colspan="3" class="empty">No fallback or rejection counted by this '
            "instance since it started.</td></tr>"
        )
    options = "".join(f'<option value="{e(a.id)}">{e(a.id)}</option>' for a in accounts)
    body = f"""<section class="head"><h1>Health</h1>
<p class="muted">The chain to grok.com, the signing pair and what this instance has seen.</p>
</section>
<div class="grid two"><section class="card"><h2>Pool</h2>{summary}</section>
<section class="card"><h2>x-statsig-id</h2>{statsig}</section></div>
<section class="card"><div class="bar"><h2>Doctor</h2>
<select id="doctor-account"><option value="">first active account</option>{options}</select>
<button id="doctor-run" class="primary">Run the checks</button></div>
<p class="muted">One cheap call per link: egress, fingerprint, Cloudflare, cookie, statsig,
quotas, WebSocket gateway.</p><ul id="doctor-result" class="checks"></ul></section>
<div class="grid two"><section class="card"><h2>Egress proxies</h2>
<table><thead><tr><th>Egress</th><th>State</th><th>Failures</th><th>Last error</th></tr></thead>
<tbody>{proxies}</tbody></table></section>
<section class="card"><h2>Fallbacks and rejections</h2>
<table><thead><tr><th>Counter</th><th>Labels</th><th>Count</th></tr></thead>
<tbody>{counters}</tbody></table></section></div>"""
    return page("Health", "health", body, csrf, ["health.js"])


_JOB_TONES = {"completed": "ok", "in_progress": "warn", "queued": "off", "failed": "bad"}


def _result_link(job: JobOut) -> str:
    if not job.result_url:
        return "—"
    return (
        f'<a class="button small" href="{e(job.result_url)}" target="_blank" '
        'rel="noopener">Open video</a>'
    )


def jobs_page(jobs: list[JobOut], has_more: bool, csrf: str) -> str:
    rows = "".join(
        f"""<tr data-job="{e(j.id)}">
<td><code>{e(j.id)}</code><div class="sub">{e(j.model)}</div></td>
<td>{_badge(j.status.value.replace("_", " "), _JOB_TONES[j.status.value])}</td>
<td><progress max="100" value="{j.progress}"></progress><span class="sub">{j.progress}%</span></td>
<td class="prompt">{e(j.prompt)}</td><td><code>{e(j.owner)}</code></td>
<td>{e(j.seconds or "—")} s · {e(j.size or "—")}</td>
<td>{e(when(j.created_at))}<div class="sub">{e(ago(j.updated_at))}</div></td>
<td class="error">{_error(j.error_message)}</td>
<td>{_result_link(j)}</td></tr>"""
        for j in jobs
    )
    empty = "" if jobs else '<p class="empty">No video job yet.</p>'
    more = (
        f'<a class="button" href="jobs?after={e(jobs[-1].id)}">Older jobs →</a>' if has_more else ""
    )
    body = f"""<section class="head"><h1>Jobs</h1>
<p class="muted">Video generations of every client key, newest first.</p></section>
<section class="card"><div class="scroll"><table><thead><tr><th>Job</th><th>Status</th>
<th>Progress</th><th>Prompt</th><th>Key</th><th>Length</th><th>Created</th><th>Error</th>
<th>Result</th></tr></thead><tbody>{rows}</tbody></table></div>{empty}
<div class="pager">{more}</div></section>"""
    return page("Jobs", "jobs", body, csrf)


def playground_page(chat_models: list[str], image_models: list[str], csrf: str) -> str:
    chats = "".join(f'<option value="{e(m)}">{e(m)}</option>' for m in chat_models)
    images = "".join(f'<option value="{e(m)}">{e(m)}</option>' for m in image_models)
    body = f"""<section class="head"><h1>Playground</h1>
<p class="muted">Calls the public API, as a client would, with a client key you type here: it stays
in this tab (never the admin key).</p></section>
<section class="card keybar"><label for="client-key">Client API key</label>
<input id="client-key" type="password" autocomplete="off" placeholder="sk-… (GROKGATE_API_KEYS)">
<label class="check"><input id="client-key-keep" type="checkbox"> keep for this tab</label>
</section>
<div class="grid two"><section class="card"><h2>Chat</h2>
<div class="row"><label>Model <select id="chat-model">{chats}</select></label>
<label class="check"><input id="chat-tool" type="checkbox"> offer a tool (get_weather)</label></div>
<textarea id="chat-input" rows="3" placeholder="Ask something…"></textarea>
<div class="row"><button id="chat-send" class="primary">Send</button>
<span id="chat-status" class="muted" data-state="idle"></span></div>
<details id="chat-reasoning-box" class="reasoning" hidden><summary>Reasoning</summary>
<pre id="chat-reasoning"></pre></details>
<div id="chat-answer" class="answer"></div>
<pre id="chat-tools" class="tools" hidden></pre></section>
<section class="card"><h2>Images</h2>
<div class="row"><label>Model <select id="image-model">{images}</select></label>
<label>Count <select id="image-n"><option>1</option><option>2</option><option>4</option>
</select></label></div>
<input id="image-prompt" type="text" placeholder="Describe a picture…">
<div class="row"><button id="image-generate" class="primary">Generate</button>
<span id="image-status" class="muted"></span></div>
<div id="gallery" class="gallery"></div></section></div>"""
    return page("Playground", "playground", body, csrf, ["playground.js"])
