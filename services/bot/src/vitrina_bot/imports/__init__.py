"""Bulk imports on the bot's side: taking the admin's CSV and ZIP, and showing progress."""
