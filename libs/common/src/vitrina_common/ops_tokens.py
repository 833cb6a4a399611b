"""``vitrina-ops api-token create|list|revoke``: staff tokens for the HTTP API.

``create`` prints the token once, on its own last line (so ``| tail -n1`` captures it);
only its sha256 is stored. ``revoke`` takes the id that ``create`` and ``list`` show.
Exit 1 when ``revoke`` finds no live token of that id.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from vitrina_common.config import ApiServiceSettings, load_settings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import ApiScope
from vitrina_common.services.api_tokens import (
    CreateApiToken,
    ListApiTokens,
    RevokeApiToken,
    TokenInfo,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitrina-ops api-token")
    commands = parser.add_subparsers(dest="action", required=True)
    create = commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True, help="who or what uses it, e.g. helpdesk")
    create.add_argument(
        "--scope",
        action="append",
        choices=[scope.value for scope in ApiScope],
        default=[],
        help="read (the default) or write (implies read); repeatable",
    )
    revoke = commands.add_parser("revoke", help="revoke a token: its requests get 401")
    revoke.add_argument("id", type=int)
    commands.add_parser("list", help="every token, without secrets")
    return parser


def _line(token: TokenInfo) -> str:
    state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "live"
    used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
    scopes = ",".join(sorted(token.scopes))
    return f"{token.id:>5}  {token.name:<24}  {scopes:<10}  last used {used:<16}  {state}"


async def _run(settings: ApiServiceSettings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.db)
    sessions = create_session_factory(engine)
    try:
        if args.action == "create":
            issued = await CreateApiToken(sessions)(args.name, [ApiScope(s) for s in args.scope])
            scopes = ", ".join(sorted(issued.scopes))
            print(f"created token {issued.id} {issued.name!r} ({scopes}); it is shown only now:")
            print(issued.token)
            return 0
        if args.action == "revoke":
            if await RevokeApiToken(sessions)(args.id):
                print(f"revoked token {args.id}")
                return 0
            print(f"no live token {args.id}", file=sys.stderr)
            return 1
        for token in await ListApiTokens(sessions)():
            print(_line(token))
        return 0
    finally:
        await engine.dispose()


def main(argv: list[str]) -> None:
    """Run one ``api-token`` action; exits with its code."""
    args = _parser().parse_args(argv)
    settings = load_settings("ops", ApiServiceSettings)
    raise SystemExit(asyncio.run(_run(settings, args)))
