"""``vitrina-bot``: the Telegram-facing service."""

from __future__ import annotations

from vitrina_bot.app import run_bot
from vitrina_bot.telegram import TelegramRejectedTokenError
from vitrina_common.lifecycle import run_service

SERVICE = "bot"


def main() -> None:
    """Run the bot until SIGTERM; exit 2 on bad settings or a token Telegram rejects."""
    run_service(SERVICE, run_bot, config_errors=(TelegramRejectedTokenError,))


if __name__ == "__main__":
    main()
