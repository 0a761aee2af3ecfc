"""``grokgate`` command line: ``grokgate serve [--host H] [--port P] [--demo|--no-demo]`` and
``grokgate accounts ...`` (:mod:`grokgate.cli_accounts`) and ``grokgate statsig ...``
(:mod:`grokgate.cli_statsig`)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import grokgate
from grokgate import cli_accounts, cli_doctor, cli_statsig
from grokgate.config import Settings
from grokgate.logs import configure_logging


async def _pool_size(settings: Settings) -> int:
    if not settings.db_path.exists():
        return 0
    from grokgate.stores.sqlite import SqliteAccountStore

    store = SqliteAccountStore(settings.db_path)
    try:
        return len(await store.list_accounts())
    finally:
        await store.close()


async def _stored_pair(settings: Settings) -> bool:
    from grokgate.stores.open import open_store
    from grokgate.upstream.grokweb.statsig_live import read_pair

    store = open_store(settings)
    try:
        return await read_pair(store) is not None
    finally:
        await store.close()


def statsig_notice(settings: Settings) -> str | None:
    """A start-up warning when grok.com calls would carry the synthetic x-statsig-id: no
    provider, no pair in the settings and none in the store."""
    if settings.statsig_provider_url or settings.statsig_header_hex:
        return None
    if settings.store == "sqlite" and not settings.db_path.exists():
        stored = False
    else:
        try:
            stored = asyncio.run(_stored_pair(settings))
        except Exception:  # the store is the server's to report; this is only a hint
            return None
    if stored:
        return None
    return (
        "  WARNING: no x-statsig-id pair is configured, so grok.com REST calls carry the "
        "synthetic x1: value, which grok.com may reject (403 code 7). See `grokgate statsig "
        "capture` and `grokgate statsig set`."
    )


def wants_demo(settings: Settings, flag: bool | None) -> bool:
    """Demo mode when asked for, or when no account is configured anywhere."""
    if flag is not None:
        return flag
    if settings.demo is not None:
        return settings.demo
    if settings.store != "sqlite":  # a shared cloud pool is never replaced by the demo
        return False
    configured = settings.sso_tokens or settings.xai_api_keys
    return not configured and asyncio.run(_pool_size(settings)) == 0


def banner(settings: Settings, host: str, port: int, demo: bool) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}/v1"
    auth = "" if not settings.auth_enabled else " -H 'Authorization: Bearer $GROKGATE_KEY'"
    body = (
        '{"model":"grok-4.20-fast","messages":[{"role":"user","content":"Hello, Grok"}],'
        '"stream":true}'
    )
    lines = [f"grokgate {grokgate.__version__} listening on http://{host}:{port}"]
    if demo:
        lines += [
            "DEMO MODE: no account is configured, so answers come from the bundled grok.com",
            "simulator and fake xAI API. Add real accounts with GROKGATE_SSO_TOKENS=super:<sso",
            "cookie> or xAI API keys with GROKGATE_XAI_API_KEYS=xai-...",
        ]
    lines += [
        f"  OpenAI base URL: {base}",
        f"  try: curl -N {base}/chat/completions -H 'Content-Type: application/json'{auth} "
        f"-d '{body}'",
    ]
    if not settings.auth_enabled:
        lines.append(
            "  WARNING: GROKGATE_API_KEYS is empty, so the gateway is OPEN to anyone on this "
            "machine: it answers loopback clients only (set GROKGATE_API_KEYS to serve others)."
        )
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from grokgate.api.app import create_app
    from grokgate.serving import header_timeout_protocol, responsive_loop

    settings = Settings()
    configure_logging(settings.log_level)
    demo = wants_demo(settings, args.demo)
    simulator = None
    if demo:
        from grokgate.demo import start_demo

        settings, simulator = start_demo(settings)
    print(banner(settings, args.host, args.port, demo), flush=True)
    notice = None if demo else statsig_notice(settings)
    if notice:
        print(notice, flush=True)
    app = create_app(settings=settings)
    responsive_loop()
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=5,
            http=header_timeout_protocol(settings.header_timeout),
        )
    finally:
        if simulator is not None:
            simulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grokgate", description=grokgate.__doc__)
    parser.add_argument("--version", action="version", version=grokgate.__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    p_serve = commands.add_parser("serve", help="run the gateway locally")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="force demo mode on or off (default: on when no account is configured)",
    )
    cli_accounts.register(commands)
    cli_statsig.register(commands)
    cli_doctor.register(commands)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "accounts":
        return cli_accounts.run(args)
    if args.command == "statsig":
        return cli_statsig.run(args)
    if args.command == "doctor":
        return cli_doctor.run(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
