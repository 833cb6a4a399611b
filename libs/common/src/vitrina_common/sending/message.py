"""What a non-interactive send carries, and the Bot API call that sends it.

One definition for the broadcast itself, its preview in the admin's chat and later
notifications: what the admin previews is the very call recipients get.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

# Telegram's limits on what the reader sees (HTML tags do not count; checked by the composer).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


class Button(BaseModel):
    """An inline button: a link, or a callback the bot handles (a product card)."""

    text: str = Field(min_length=1, max_length=64)
    url: str | None = None
    callback_data: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_action(self) -> Button:
        if (self.url is None) == (self.callback_data is None):
            raise ValueError("a button has either a url or a callback")
        return self


class OutgoingMessage(BaseModel):
    """HTML text, optionally as the caption of a photo or a document (by ``file_id``), with
    optional rows of inline buttons."""

    text: str = Field(min_length=1)
    photo: str | None = None
    document: str | None = None
    buttons: list[list[Button]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_attachment(self) -> OutgoingMessage:
        if self.photo is not None and self.document is not None:
            raise ValueError("a message carries a photo or a document, not both")
        return self

    def bot_api_call(self, chat_id: int) -> tuple[str, dict[str, Any]]:
        """The Bot API method and its JSON parameters that send this to ``chat_id``."""
        params: dict[str, Any] = {"chat_id": chat_id, "parse_mode": "HTML"}
        if self.buttons:
            params["reply_markup"] = {
                "inline_keyboard": [
                    [button.model_dump(exclude_none=True) for button in row] for row in self.buttons
                ]
            }
        if self.photo is not None:
            return "sendPhoto", {**params, "photo": self.photo, "caption": self.text}
        if self.document is not None:
            return "sendDocument", {**params, "document": self.document, "caption": self.text}
        return "sendMessage", {**params, "text": self.text}


# The callback of a button that opens a product card from a message outside any dialog
# (a broadcast, a notification); the bot's ``handlers.product_links`` answers it.
PRODUCT_LINK_PREFIX = "product"


def product_button(text: str, product_id: int) -> Button:
    """A button that opens the card of ``product_id`` in the recipient's chat."""
    return Button(text=text[:64], callback_data=f"{PRODUCT_LINK_PREFIX}:{product_id}")
