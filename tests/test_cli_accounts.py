"""``grokgate accounts ...`` driven in-process through ``grokgate.cli.main``, on SQLite and on
DynamoDB (moto), plus the quota refresh against the grok.com simulator."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from grokgate.cli import main
from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.stores.records import account_id_for
from tests.support import ACCOUNTS, Sim, free_port, new_dynamodb_table

TOKEN_A = "eyJhbGciOiJIUzI1NiJ9.cli-test-alpha-0123456789abcdef"
TOKEN_B = "eyJhbGciOiJIUzI1NiJ9.cli-test-bravo-fedcba9876543210"
TOKEN_C = "eyJhbGciOiJIUzI1NiJ9.cli-test-charlie-00aa11bb22cc33"
TOKEN_D = "eyJhbGciOiJIUzI1NiJ9.cli-test-delta-99zz88yy77xx66ww"
UNKNOWN_TO_SIM = "eyJhbGciOiJIUzI1NiJ9.cli-test-unknown-to-the-simulator"
SECRETS = (TOKEN_A, TOKEN_B, TOKEN_C, TOKEN_D, UNKNOWN_TO_SIM, *(t for _, t in ACCOUNTS))
ID_A, ID_B, ID_C, ID_D = (account_id_for(t) for t in (TOKEN_A, TOKEN_B, TOKEN_C, TOKEN_D))


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
        assert secret[-12:] not in text


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_args(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """The options that point the CLI at a fresh, empty pool of each backend."""
    if request.param == "sqlite":
        return ["--data-dir", str(tmp_path / "data")]
    endpoint: str = request.getfixturevalue("moto_endpoint")
    table = new_dynamodb_table(endpoint)
    return ["--store", "dynamodb", "--endpoint-url", endpoint, "--table", table]


@pytest.fixture
def cli(
    store_args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """Run ``grokgate accounts <args> <store options>``; every output is checked for tokens."""
    for name in list(os.environ):
        if name.startswith("GROKGATE_") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)  # no stray .env

    def run(*args: str, stdin: str | None = None, store: bool = True) -> Result:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(["accounts", *args, *(store_args if store else [])])
        out, err = capsys.readouterr()
        assert_no_secret(out + err)
        assert "Traceback" not in err
        return Result(code, out, err)

    return run


def listed(cli: Cli) -> dict[str, dict[str, object]]:
    result = cli("list", "--json")
    assert result.code == 0, result.err
    return {a["id"]: a for a in json.loads(result.out)}


# --- add, list, remove, enable, disable ---------------------------------------------------


def test_add_list_disable_enable_remove_round_trip(cli: Cli) -> None:
    first = cli("add", f"super:{TOKEN_A}", "--max-inflight", "3")
    assert first.code == 0 and first.out.startswith(f"added: {ID_A} (super")
    again = cli("add", TOKEN_A)
    assert again.code == 0 and again.out.startswith(f"already present: {ID_A} (super")
    assert cli("add", TOKEN_B).code == 0

    table = cli("list")
    assert table.code == 0
    header, *rows = table.out.strip().splitlines()
    assert header.split()[:4] == ["ID", "TOKEN", "TIER", "STATUS"]
    row_a = next(r for r in rows if r.startswith(ID_A))
    assert "super" in row_a and "active" in row_a and "fast 140/140" in row_a
    assert "0/3" in row_a and "eyJh…" in row_a
    assert "fast 30/30" in next(r for r in rows if r.startswith(ID_B))

    assert cli("disable", ID_A).out == f"disabled: {ID_A}\n"
    assert listed(cli)[ID_A]["status"] == "disabled"
    assert cli("enable", ID_A).out == f"enabled: {ID_A}\n"
    assert listed(cli)[ID_A]["status"] == "active"
    removed = cli("remove", ID_A, ID_B)
    assert removed.code == 0
    assert removed.out.splitlines() == [f"removed: {ID_A}", f"removed: {ID_B}"]
    assert cli("list").out.strip() == "no accounts"


def test_add_cookie_form_and_default_tier_option(cli: Cli) -> None:
    result = cli("add", f"sso={TOKEN_C}; sso-rw={TOKEN_C}", "--tier", "heavy")
    assert result.code == 0 and f"added: {ID_C} (heavy" in result.out
    assert listed(cli)[ID_C]["tier"] == "heavy"


def test_add_reads_the_token_from_stdin(cli: Cli) -> None:
    result = cli("add", "-", stdin=f"\n  heavy:{TOKEN_D}\n")
    assert result.code == 0 and f"added: {ID_D} (heavy" in result.out
    empty = cli("add", "-", stdin="\n\n")
    assert empty.code == 1 and "no token on stdin" in empty.err


def test_add_rejects_a_malformed_token(cli: Cli) -> None:
    result = cli("add", "two words")
    assert result.code == 1 and result.err.startswith("error: an SSO token or API key must be one")
    assert cli("list").out.strip() == "no accounts"


def test_unknown_ids_are_reported_and_the_others_still_processed(cli: Cli) -> None:
    cli("add", TOKEN_A)
    missing = "acct_000000000000"
    result = cli("disable", missing, ID_A)
    assert result.code == 1
    assert result.out == f"disabled: {ID_A}\n"
    assert f"unknown account id: {missing}" in result.err
    assert cli("enable", missing).code == 1
    # a token pasted where an id belongs is not echoed back
    pasted = cli("remove", TOKEN_A)
    assert pasted.code == 1 and "not an account id" in pasted.err
    assert ID_A in listed(cli)
    assert cli("remove", ID_A).code == 0
    assert cli("remove", ID_A).code == 1


def test_list_json_has_the_fields_and_no_token(cli: Cli) -> None:
    cli("add", f"heavy:{TOKEN_A}")
    accounts = json.loads(cli("list", "--json").out)
    assert len(accounts) == 1
    (account,) = accounts
    assert account["id"] == ID_A and account["tier"] == "heavy"
    assert account["status"] == account["display_status"] == "active"
    assert account["token_hint"] == "eyJh…" and "token" not in account
    assert account["quotas"]["heavy"]["remaining"] == account["quotas"]["heavy"]["total"] == 20
    assert account["inflight"] == 0 and account["last_error"] is None
    assert cli("remove", ID_A).code == 0
    assert json.loads(cli("list", "--json").out) == []


def test_global_options_may_come_before_the_command(
    cli: Cli, store_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts", *store_args, "add", TOKEN_A]) == 0
    assert main(["accounts", *store_args, "list"]) == 0
    out = capsys.readouterr().out
    assert ID_A in out
    assert_no_secret(out)


# --- import --------------------------------------------------------------------------------


def test_import_text_file_with_comments_and_a_bad_line(cli: Cli, tmp_path: Path) -> None:
    cli("add", TOKEN_D)
    path = tmp_path / "tokens.txt"
    path.write_text(
        "# pool of 3\n"
        f"super:{TOKEN_A}\n"
        "\n"
        f"two words {TOKEN_B[-12:]}\n"
        f"sso={TOKEN_B}; path=/\n"
        f"   {TOKEN_D}   \n"
        "heavy:\n"
        f"heavy:{TOKEN_C}\n"
    )
    result = cli("import", str(path))
    assert result.code == 1
    assert result.out.splitlines()[-1] == "3 added, 1 already present, 2 rejected"
    assert "line 4: rejected" in result.err and "line 7: rejected" in result.err
    pool = listed(cli)
    assert {i: pool[i]["tier"] for i in pool} == {
        ID_A: "super",
        ID_B: "basic",
        ID_C: "heavy",
        ID_D: "basic",
    }


def test_import_json_forms(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    path.write_text(
        json.dumps(
            {
                "accounts": [
                    f"super:{TOKEN_A}",
                    {"sso": TOKEN_B, "tier": "heavy", "max_inflight": 2},
                    {"token": TOKEN_C},
                    {"token": TOKEN_D, "tier": "gold"},
                    {"tier": "super"},
                    42,
                ]
            }
        )
    )
    result = cli("import", str(path), "--tier", "super")
    assert result.code == 1
    assert result.out.splitlines()[-1] == "3 added, 0 already present, 3 rejected"
    for n in (4, 5, 6):
        assert f"entry {n}: rejected" in result.err
    pool = listed(cli)
    assert pool[ID_B]["tier"] == "heavy" and pool[ID_B]["max_inflight"] == 2
    assert pool[ID_C]["tier"] == "super" and ID_D not in pool

    plain = tmp_path / "list.json"
    plain.write_text(json.dumps([TOKEN_D]))
    assert cli("import", str(plain)).code == 0
    assert ID_D in listed(cli)


def test_import_from_stdin_and_bad_inputs(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "-", stdin=f"{TOKEN_A}\nheavy:{TOKEN_B}\n")
    assert result.code == 0
    assert result.out.splitlines()[-1] == "2 added, 0 already present, 0 rejected"
    broken = cli("import", "-", stdin=f'["{TOKEN_C}",')
    assert broken.code == 1 and broken.err.startswith("error: invalid JSON at line 1")
    missing = cli("import", str(tmp_path / "nope.txt"))
    assert missing.code == 1 and "cannot read" in missing.err
    shape = cli("import", "-", stdin='{"tokens": []}')
    assert shape.code == 1 and "must be a list" in shape.err
    assert set(listed(cli)) == {ID_A, ID_B}


# --- refresh against the simulator --------------------------------------------------------


@pytest.fixture
def upstream(sim: Sim, monkeypatch: pytest.MonkeyPatch, cli: Cli) -> Sim:
    monkeypatch.setenv("GROKGATE_GROK_BASE_URL", sim.url)
    monkeypatch.setenv("GROKGATE_STATSIG_HEADER_HEX", DEMO_STATSIG_HEADER_HEX)
    monkeypatch.setenv("GROKGATE_STATSIG_SUFFIX", DEMO_STATSIG_SUFFIX)
    return sim


def _sim_token(tier: str) -> str:
    return next(token for t, token in ACCOUNTS if t == tier)


def test_refresh_detects_the_tier_and_reads_quotas(cli: Cli, upstream: Sim) -> None:
    heavy, basic = _sim_token("heavy"), _sim_token("basic")
    heavy_id, basic_id = account_id_for(heavy), account_id_for(basic)
    added = cli("add", f"basic:{heavy}", "--refresh")
    assert added.code == 0, added.err
    assert f"{heavy_id}  basic → heavy" in added.out
    assert "fast 400/400" in added.out and "heavy 20/20" in added.out
    cli("add", f"super:{basic}")

    result = cli("refresh")
    assert result.code == 0, result.err
    assert f"{heavy_id}  heavy → heavy" in result.out
    assert f"{basic_id}  super → basic" in result.out
    pool = listed(cli)
    assert pool[heavy_id]["tier"] == "heavy" and pool[basic_id]["tier"] == "basic"
    basic_quotas = pool[basic_id]["quotas"]
    assert pool[basic_id]["synced_at"] and isinstance(basic_quotas, dict)
    assert set(basic_quotas) == {"fast"}


def test_refresh_of_an_unknown_token_marks_it_expired(cli: Cli, upstream: Sim) -> None:
    known = _sim_token("super")
    cli("add", f"super:{known}")
    cli("add", UNKNOWN_TO_SIM)
    bad_id = account_id_for(UNKNOWN_TO_SIM)
    result = cli("refresh", bad_id, account_id_for(known), "acct_000000000000")
    assert result.code == 1
    line = next(r for r in result.out.splitlines() if r.startswith(bad_id))
    assert "expired" in line and "error:" in line
    assert f"{account_id_for(known)}  super → super" in result.out
    assert "unknown account id: acct_000000000000" in result.err
    assert listed(cli)[bad_id]["status"] == "expired"
    table = cli("list")
    assert re.search(rf"{bad_id}\s+\S+\s+basic\s+expired", table.out)
    # enabling restores it (status active, error cleared)
    assert cli("enable", bad_id).code == 0
    restored = listed(cli)[bad_id]
    assert restored["status"] == "active" and restored["last_error"] is None


def test_refresh_with_an_empty_pool(cli: Cli, upstream: Sim) -> None:
    result = cli("refresh")
    assert result.code == 0 and result.out.strip() == "no accounts"


# --- failures are one line -----------------------------------------------------------------


@pytest.mark.parametrize("store_args", ["sqlite"], indirect=True)
def test_dynamodb_failures_are_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    down = cli("list", "--store", "dynamodb", "--endpoint-url", closed, store=False)
    assert down.code == 1 and down.out == ""
    assert down.err.startswith("error: DynamoDB scan on table 'grokgate-accounts' failed")
    assert len(down.err.strip().splitlines()) == 1

    no_table = cli("list", "--store", "dynamodb", "--endpoint-url", moto_endpoint, store=False)
    assert no_table.code == 1 and "ResourceNotFoundException" in no_table.err

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    no_region = cli("list", "--store", "dynamodb", "--endpoint-url", moto_endpoint, store=False)
    assert no_region.code == 1 and "--region" in no_region.err
    assert len(no_region.err.strip().splitlines()) == 1

    monkeypatch.setitem(sys.modules, "boto3", None)
    no_boto = cli("add", TOKEN_A, "--store", "dynamodb", store=False)
    assert no_boto.code == 1 and "needs boto3" in no_boto.err


@pytest.mark.parametrize("store_args", ["sqlite"], indirect=True)
def test_bad_settings_are_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROKGATE_MAX_INFLIGHT", "zero")
    result = cli("list")
    assert result.code == 1 and result.err.startswith("error: invalid settings: max_inflight")


# --- the console script --------------------------------------------------------------------


def test_console_script_adds_from_stdin_and_lists(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "grokgate"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "grokgate.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
    data = ["--data-dir", str(tmp_path / "data")]

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*command, "accounts", *args, *data],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert_no_secret(done.stdout + done.stderr)
        return done

    empty = run("list")
    assert empty.returncode == 0 and empty.stdout.strip() == "no accounts"
    added = run("add", "-", stdin=f"super:{TOKEN_A}\n")
    assert added.returncode == 0 and ID_A in added.stdout
    listing = run("list")
    assert listing.returncode == 0 and ID_A in listing.stdout and "super" in listing.stdout
