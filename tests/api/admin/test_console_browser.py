"""The console in real headless Chromium (Debian's ``chromium`` driven by Playwright through
``executable_path``; no browser download) against ``grokgate serve`` in front of the simulator:
log in (a wrong key refused), import two accounts by paste, see them masked, disable one and see
the pool skip it on the next chat, stream a chat in the playground and see it arrive in pieces,
generate an image into the gallery. Screenshots of every page go to ``$GROKGATE_ARTIFACTS`` (or
the test's tmp dir), never into the repository.

Locally a machine without chromium or playwright skips this test; under CI (``CI=true``) it
fails instead: ``.ci/run`` installs chromium.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.simulator.app import create_app as create_simulator
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import SimState
from grokgate.stores.records import account_id_for
from tests.api.admin.admin_support import ADMIN, ADMIN_KEY
from tests.support import ACCOUNTS, API_KEY, Sim, serve_process

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
(_, TOKEN_A), (_, TOKEN_B) = ACCOUNTS[0], ACCOUNTS[3]
ID_A, ID_B = account_id_for(TOKEN_A), account_id_for(TOKEN_B)
MODEL = "grok-4.20-0309-non-reasoning"


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing: .ci/run installs it")
    pytest.skip(f"{what} is not installed here")


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _missing("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (the test extra)")
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1360, "height": 900},
        )
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    where = Path(os.environ.get("GROKGATE_ARTIFACTS") or tmp_path / "artifacts") / "console"
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    """A simulator of its own that paces its tokens (50 ms apart), so the stream is seen to
    arrive in pieces as a person would see it."""
    state = SimState()
    for tier, token in ACCOUNTS:
        state.add_account(token, tier)
    with ServerThread(create_simulator(state, token_delay=0.05)) as server:
        yield Sim(state, server.url)


@pytest.fixture
def served(sim: Sim, tmp_path: Path) -> Iterator[str]:
    env = {
        "GROKGATE_GROK_BASE_URL": sim.url,
        "GROKGATE_GROK_ASSETS_URL": f"{sim.url}/assets",
        "GROKGATE_DATA_DIR": str(tmp_path / "data"),
        "GROKGATE_STATSIG_HEADER_HEX": DEMO_STATSIG_HEADER_HEX,
        "GROKGATE_STATSIG_SUFFIX": DEMO_STATSIG_SUFFIX,
        "GROKGATE_API_KEYS": API_KEY,
        "GROKGATE_ADMIN_KEY": ADMIN_KEY,
        "GROKGATE_WEB_CHAT_TRANSPORT": "rest",
    }
    proc, base = serve_process(env)
    try:
        yield base
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
        for secret in (TOKEN_A, TOKEN_B, ADMIN_KEY, API_KEY):
            assert secret not in out, "a secret reached the server's log"


def shoot(page: Any, artifacts: Path, name: str) -> None:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_the_console_in_chromium(browser_page: Any, served: str, sim: Sim, artifacts: Path) -> None:
    page = browser_page
    sim.state.media.video_step_delay = 0.01
    page.goto(f"{served}/admin")
    assert page.url.endswith("/admin/login")
    shoot(page, artifacts, "0-login")

    page.fill("#key", "not-the-admin-key-0000")
    page.click("button[type=submit]")
    page.wait_for_selector(".flash.error")
    assert "wrong" in page.inner_text(".flash.error").lower()
    page.fill("#key", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/pool")
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: no script sees it
    storage = page.evaluate("() => JSON.stringify([localStorage, sessionStorage])")
    assert ADMIN_KEY not in storage

    # import two accounts by paste
    page.fill("#import-text", f"super:{TOKEN_A}\nbasic:{TOKEN_B}\n")
    page.click("#import-submit")
    page.wait_for_selector(f"tr[data-account='{ID_B}']")
    assert "2 added" in page.inner_text("#flash")
    rows = page.locator("tr[data-account]")
    assert rows.count() == 2
    hints = page.locator("tr[data-account] .token").all_inner_texts()
    assert hints == [TOKEN_A[:4] + "…", TOKEN_B[:4] + "…"]
    html = page.content()
    assert TOKEN_A not in html and TOKEN_B not in html and ADMIN_KEY not in html

    # disable A: the pool skips it
    page.click(f"tr[data-account='{ID_A}'] button[data-action='disable']")
    page.wait_for_selector(f"tr[data-account='{ID_A}'][data-status='disabled']")
    shoot(page, artifacts, "1-pool")

    # the playground: a streamed chat, in pieces, served by B
    page.click("nav a[href='playground']")
    page.wait_for_url("**/admin/playground")
    page.fill("#client-key", API_KEY)
    page.select_option("#chat-model", MODEL)
    page.fill("#chat-input", "Tell me about the sea in a few sentences.")
    page.evaluate(
        """() => {
            window.__seen = [];
            const answer = document.querySelector('#chat-answer');
            new MutationObserver(() => window.__seen.push(answer.textContent))
              .observe(answer, {childList: true, subtree: true, characterData: true});
        }"""
    )
    page.click("#chat-send")
    page.wait_for_selector("#chat-status[data-state='done']")
    seen = [s for s in page.evaluate("() => window.__seen") if s]
    final = page.inner_text("#chat-answer")
    assert final and len(set(seen)) >= 3, seen
    assert all(final.startswith(s) for s in seen)  # grown piece by piece
    assert sim.state.chat_requests(TOKEN_A) == []
    assert len(sim.state.chat_requests(TOKEN_B)) == 1

    # a tool call, shown apart from the answer
    page.check("#chat-tool")
    page.fill("#chat-input", 'call get_weather {"city": "Paris"}')
    page.click("#chat-send")
    page.wait_for_selector("#chat-status[data-state='done']")
    assert page.inner_text("#chat-tools") == 'get_weather({"city":"Paris"})'
    assert "1 tool call" in page.inner_text("#chat-status")
    page.uncheck("#chat-tool")

    # an image into the gallery
    page.fill("#image-prompt", "a lighthouse at dusk")
    page.click("#image-generate")
    page.wait_for_selector("#gallery figure img")
    loaded = page.evaluate(
        "() => [...document.querySelectorAll('#gallery img')]"
        ".map(i => i.complete && i.naturalWidth)"
    )
    assert loaded and all(loaded)
    assert API_KEY not in page.evaluate("() => JSON.stringify(localStorage)")
    shoot(page, artifacts, "2-playground")

    # a video job, seen on the jobs page
    video = httpx.post(
        f"{served}/v1/videos",
        json={"prompt": "waves"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    assert video.status_code == 200, video.text
    job_id = video.json()["id"]
    deadline = time.monotonic() + 30
    while httpx.get(f"{served}/admin/api/jobs", headers=ADMIN).json()["data"][0]["status"] not in (
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline, "the video job never finished"
        time.sleep(0.1)
    page.click("nav a[href='jobs']")
    page.wait_for_url("**/admin/jobs")
    link = page.locator(f"tr[data-job='{job_id}'] a", has_text="Open video")
    result = page.request.get(f"{served}/admin/{link.get_attribute('href')}")
    assert result.ok and result.headers["content-type"] == "video/mp4"  # the session's cookie
    shoot(page, artifacts, "3-jobs")

    page.click("nav a[href='health']")
    page.wait_for_url("**/admin/health")
    page.click("#doctor-run")
    page.wait_for_selector("#doctor-result li")
    shoot(page, artifacts, "4-health")

    page.click("nav a[href='pool']")
    page.wait_for_selector(f"tr[data-account='{ID_B}']")
    assert page.inner_text(f"tr[data-account='{ID_A}'] .uses").startswith("0")  # skipped
    assert not page.inner_text(f"tr[data-account='{ID_B}'] .uses").startswith("0")
    page.click("#logout")
    page.wait_for_url("**/admin/login")
    page.goto(f"{served}/admin/pool")
    assert page.url.endswith("/admin/login")
