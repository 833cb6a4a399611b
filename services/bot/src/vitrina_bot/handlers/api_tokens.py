"""/apitoken: an admin makes, lists and revokes the HTTP API's staff tokens (what
``vitrina-ops api-token`` does, from the chat). Non-admins never reach this router.

    /apitoken new <name> [write]    the token is shown once; delete the message after copying
    /apitoken list
    /apitoken revoke <id>
"""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from vitrina_bot.filters import IsAdmin
from vitrina_bot.i18n import Translator
from vitrina_common.db.models import ApiScope
from vitrina_common.ids import parse_id
from vitrina_common.services.api_tokens import (
    CreateApiToken,
    ListApiTokens,
    RevokeApiToken,
    TokenInfo,
)

router = Router(name="api_tokens")
router.message.filter(IsAdmin())


def _line(token: TokenInfo, t: Translator) -> str:
    state = "api_tokens.revoked" if token.revoked_at else "api_tokens.live"
    return t(
        "api_tokens.line",
        id=token.id,
        name=escape(token.name),
        scopes=", ".join(sorted(token.scopes)),
        state=t(state),
    )


@router.message(Command("apitoken"))
async def on_api_token(
    message: Message,
    command: CommandObject,
    create_api_token: CreateApiToken,
    list_api_tokens: ListApiTokens,
    revoke_api_token: RevokeApiToken,
    t: Translator,
) -> None:
    """Dispatch ``new``, ``list`` and ``revoke``; anything else gets the usage."""
    action, *words = (command.args or "").split()
    if action == "new" and words:
        write = words[-1] == "write" and len(words) > 1
        scopes = [ApiScope.WRITE] if write else [ApiScope.READ]
        name = " ".join(words[:-1] if write else words)
        admin = message.from_user.id if message.from_user else None
        issued = await create_api_token(name, scopes, created_by=admin)
        scope_names = ", ".join(sorted(issued.scopes))
        await message.answer(
            t("api_tokens.created", id=issued.id, scopes=scope_names, token=issued.token)
        )
    elif action == "list" and not words:
        tokens = await list_api_tokens()
        lines = [_line(token, t) for token in tokens] or [t("api_tokens.none")]
        await message.answer("\n".join(lines))
    elif action == "revoke" and len(words) == 1 and (token_id := parse_id(words[0])):
        key = "api_tokens.revoked_now" if await revoke_api_token(token_id) else "api_tokens.no_such"
        await message.answer(t(key, id=words[0]))
    else:
        await message.answer(t("api_tokens.usage"))
