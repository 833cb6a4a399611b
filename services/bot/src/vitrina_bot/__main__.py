"""``vitrina-bot``: the Telegram-facing service."""

from __future__ import annotations

import gc

# The imports build ~300 000 long-lived objects and no garbage: collecting while they are
# made is ~15% of the start-up's CPU for nothing. Collection resumes once they are frozen
# (freeze_imported_objects).
gc.disable()

from vitrina_bot.app import run_bot  # noqa: E402
from vitrina_bot.telegram import TelegramRejectedTokenError  # noqa: E402
from vitrina_common.lifecycle import run_service  # noqa: E402

SERVICE = "bot"


def main() -> None:
    """Run the bot until SIGTERM; exit 2 on bad settings or a token Telegram rejects."""
    run_service(SERVICE, run_bot, config_errors=(TelegramRejectedTokenError,))


if __name__ == "__main__":
    main()
