"""The bot's side of support tickets: reading a comment from a message, showing a
conversation, saying why a use case refused. The rules are in
``vitrina_common.services.tickets``."""
