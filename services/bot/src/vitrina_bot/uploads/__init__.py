"""Admin uploads: caption parsing and taking a file from Telegram into the pipeline."""
