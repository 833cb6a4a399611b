"""Getting updates from Telegram without losing the ones that carry money."""
