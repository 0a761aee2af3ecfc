"""``grokgate doctor`` against the simulator: every step OK when healthy, and each usual fault
named by the step it breaks, with its fix."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grokgate.cli import main
from grokgate.doctor import Report, diagnose
from grokgate.runtime import Runtime
from grokgate.simulator.edge import CHROME_146, EdgeThread
from grokgate.simulator.proxies import ConnectProxy, ProxyThread
from grokgate.simulator.statsig import StatsigConstants
from tests.conftest import gateway_settings
from tests.support import API_KEY, GatewayFactory, Sim

AUTH = {"Authorization": f"Bearer {API_KEY}"}

TOKEN = "sso-doctor-1-eyJhbGciOiJIUzI1NiJ9"
STEPS = ["egress", "fingerprint", "cloudflare", "cookie", "statsig", "quotas", "gateway"]


@pytest.fixture
def doctor_sim(sim: Sim) -> Iterator[Sim]:
    sim.state.add_account(TOKEN, "super")
    yield sim
    sim.state.accounts[TOKEN].blocked = False


def run(sim: Sim, tmp_path: Path, **overrides: object) -> Report:
    overrides.setdefault("sso_tokens", f"super:{TOKEN}")
    settings = gateway_settings(sim.url, tmp_path / "data", **overrides)

    async def go() -> Report:
        runtime = Runtime(settings)
        try:
            return await diagnose(runtime)
        finally:
            await runtime.aclose()

    return asyncio.run(go())


def cli_env(monkeypatch: pytest.MonkeyPatch, sim: Sim, **more: str) -> None:
    """The settings a ``grokgate doctor`` process would read: the simulator and its pair."""
    settings = gateway_settings(sim.url, Path("."))
    monkeypatch.setenv("GROKGATE_GROK_BASE_URL", sim.url)
    monkeypatch.setenv("GROKGATE_STATSIG_HEADER_HEX", settings.statsig_header_hex or "")
    monkeypatch.setenv("GROKGATE_STATSIG_SUFFIX", settings.statsig_suffix or "")
    for key, value in more.items():
        monkeypatch.setenv(f"GROKGATE_{key.upper()}", value)


def failing(report: Report) -> list[str]:
    return [c.step for c in report.checks if not c.ok and not c.skipped]


def step(report: Report, name: str) -> str:
    (check,) = [c for c in report.checks if c.step == name]
    return f"{check.detail} | fix: {check.fix}"


def test_a_healthy_chain_is_all_ok_and_exits_0(
    doctor_sim: Sim,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = run(doctor_sim, tmp_path)
    assert [c.step for c in report.checks] == STEPS
    assert report.ok, [c.line() for c in report.checks]
    assert "user " in step(report, "cookie") and "fast 140/140" in step(report, "quotas")
    cli_env(monkeypatch, doctor_sim)
    data = tmp_path / "data"
    assert main(["doctor", "--data-dir", str(data)]) == 0  # the same pool, through the CLI
    out = capsys.readouterr().out
    assert out.count("OK  ") == len(STEPS) and "FAIL" not in out


def test_through_cloudflare_the_egress_address_and_the_challenge(
    doctor_sim: Sim, tmp_path: Path
) -> None:
    with EdgeThread(doctor_sim.url, mode="cloudflare") as edge:
        front = {"grok_base_url": edge.url, "grok_ca_file": edge.ca_file}
        challenged = run(doctor_sim, tmp_path, **front)
        assert failing(challenged) == ["cloudflare"]
        assert "grok.com sees 127.0.0.1" in step(challenged, "egress")
        said = step(challenged, "cloudflare")
        assert "challenge through egress direct" in said and "GROKGATE_FLARESOLVERR_URL" in said
        clearance = edge.mint_clearance("127.0.0.1", challenged_ua(tmp_path, doctor_sim))
        cleared = run(doctor_sim, tmp_path, **front, cf_cookies=f"cf_clearance={clearance}")
        assert cleared.ok, [c.line() for c in cleared.checks]


def challenged_ua(tmp_path: Path, sim: Sim) -> str:
    return gateway_settings(sim.url, tmp_path).fingerprint.user_agent


def test_a_refused_fingerprint_is_a_cloudflare_block(doctor_sim: Sim, tmp_path: Path) -> None:
    with EdgeThread(doctor_sim.url, mode="cloudflare", profiles=(CHROME_146,)) as edge:
        report = run(doctor_sim, tmp_path, grok_base_url=edge.url, grok_ca_file=edge.ca_file)
    assert failing(report) == ["cloudflare"]
    said = step(report, "cloudflare")
    assert "blocked the connection" in said and "residential" in said


@pytest.mark.parametrize(
    ("fault", "step_name", "says"),
    [
        ("statsig", "statsig", "grokgate statsig set"),
        ("expired", "cookie", "log in again"),
        ("blocked", "cookie", "accounts remove"),
        ("spent", "quotas", "spent: fast reopens"),
        ("gateway", "gateway", "GROKGATE_WEB_CHAT_TRANSPORT"),
    ],
)
def test_each_fault_is_named_with_its_fix(
    doctor_sim: Sim, tmp_path: Path, fault: str, step_name: str, says: str
) -> None:
    state = doctor_sim.state
    overrides: dict[str, object] = {}
    if fault == "statsig":
        state.statsig = StatsigConstants(bytes.fromhex("00" + "11" * 48), "rotated")
    elif fault == "expired":
        overrides["sso_tokens"] = "super:sso-doctor-unknown-eyJhbGciOiJIUzI1NiJ9"
    elif fault == "blocked":
        state.accounts[TOKEN].blocked = True
    elif fault == "spent":
        state.set_remaining(TOKEN, "fast", 0)
    else:
        state.gateway_refuse = 404
    report = run(doctor_sim, tmp_path, **overrides)
    assert failing(report) == [step_name], [c.line() for c in report.checks]
    assert says in step(report, step_name)
    assert not report.ok


def test_a_dead_proxy_fails_the_egress_and_skips_the_rest(
    doctor_sim: Sim,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ProxyThread(ConnectProxy(username="u", password="doctor-pa55")) as proxy:
        url = proxy.url
    report = run(doctor_sim, tmp_path, proxies=url)
    assert failing(report) == ["egress"]
    assert "refused the connection" in step(report, "egress")
    assert all(c.skipped for c in report.checks[1:])
    cli_env(monkeypatch, doctor_sim, proxies=url)
    data = tmp_path / "data"
    assert main(["doctor", "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    assert "FAIL egress" in out and "refused the connection" in out
    assert "doctor-pa55" not in out


ADMIN = "admin-key-0123456789abcdef"


def test_the_admin_doctor_endpoint_needs_the_admin_key(make_gateway: GatewayFactory) -> None:
    closed = make_gateway()  # no admin key: no admin endpoint at all
    assert httpx.get(f"{closed.url}/admin/doctor", headers=AUTH).status_code == 404
    gw = make_gateway(admin_key=ADMIN)
    assert httpx.get(f"{gw.url}/admin/doctor", headers=AUTH).status_code == 401  # a client key
    answer = httpx.get(
        f"{gw.url}/admin/doctor", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    )
    assert answer.status_code == 200
    report = answer.json()
    assert report["ok"] is True and [c["step"] for c in report["checks"]] == STEPS
    with pytest.raises(ValueError, match="at least 16"):
        gateway_settings("http://x", Path("."), admin_key="short")
