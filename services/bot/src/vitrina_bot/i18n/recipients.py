"""The translator for someone the bot writes to outside an update (events, deliveries)."""

from __future__ import annotations

from vitrina_bot.i18n.catalog import Translator, translator_for
from vitrina_common.db.models import Language
from vitrina_common.services.profile import Profiles


async def translator_for_chat(profiles: Profiles, chat_id: int | None) -> Translator:
    """The language the user chose, English for chats the shop does not know."""
    context = await profiles.context(chat_id) if chat_id is not None else None
    return translator_for(context.language if context is not None else Language.EN)
