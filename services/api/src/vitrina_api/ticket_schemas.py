"""What the ticket routes take and answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vitrina_api.schemas import BodyId
from vitrina_common.db.models import ActorKind, AttachmentKind, TicketStatus
from vitrina_common.text_limits import MAX_TICKET_COMMENT_CHARS, MAX_TICKET_SUBJECT_CHARS

# Something besides whitespace (the use cases refuse text that str.strip() empties, and
# strip() also takes the separators \x1c-\x1f, which regex engines do not count as space),
# and no NUL anywhere: Postgres text cannot hold one, and the insert would fail with a 500.
_TEXT = r"^[^\x00]*[^\s\x1c-\x1f\x00][^\x00]*$"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TicketOut(_Out):
    """A ticket without its conversation."""

    id: int
    subject: str
    status: TicketStatus
    author_telegram_id: int
    purchase_id: int | None
    assignee_telegram_id: int | None
    created_at: datetime
    updated_at: datetime
    waiting_since: datetime | None = Field(description="Since when the shop owes an answer.")


class AttachmentOut(_Out):
    """A photo or document on Telegram, by its file id."""

    kind: AttachmentKind
    file_id: str


class CommentOut(_Out):
    """One comment; ``author_token_id`` is set when an API token wrote it."""

    id: int
    author_kind: ActorKind
    author_telegram_id: int | None
    author_token_id: int | None
    text: str
    attachment: AttachmentOut | None
    created_at: datetime


class TicketDetailsOut(BaseModel):
    """A ticket, its latest comments (oldest first) and the moves it may make."""

    ticket: TicketOut
    product_title: str | None
    comments: list[CommentOut]
    allowed_moves: list[TicketStatus]


class TicketPageOut(BaseModel):
    """A page of tickets; ``next_cursor`` is null on the last page."""

    items: list[TicketOut]
    next_cursor: str | None


class CommentAddedOut(BaseModel):
    """The ticket after the comment (an answer moves it) and the comment."""

    ticket: TicketOut
    comment: CommentOut


class NewTicket(BaseModel):
    """A ticket opened on a shopper's behalf (e.g. from an e-mail to the helpdesk)."""

    model_config = ConfigDict(extra="forbid")

    author_telegram_id: BodyId = Field(description="The shopper; they must have used the bot.")
    text: str = Field(max_length=MAX_TICKET_COMMENT_CHARS, pattern=_TEXT)
    subject: str | None = Field(default=None, max_length=MAX_TICKET_SUBJECT_CHARS, pattern=_TEXT)
    purchase_id: BodyId | None = Field(default=None, description="A purchase of that shopper.")


class NewComment(BaseModel):
    """The shop's answer; the shopper is told in Telegram."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TICKET_COMMENT_CHARS, pattern=_TEXT)


class Transition(BaseModel):
    """A move along the status table; ``expected`` refuses it (409) if someone moved the
    ticket first."""

    model_config = ConfigDict(extra="forbid")

    to: TicketStatus
    expected: TicketStatus | None = None
