"""What the ticket use cases accept as a subject, a comment and an attachment."""

from __future__ import annotations

from vitrina_common.db.models import AttachmentKind
from vitrina_common.services.tickets.errors import InvalidTicketInput, Problem
from vitrina_common.services.tickets.views import Attachment
from vitrina_common.text_limits import MAX_TICKET_COMMENT_CHARS, MAX_TICKET_SUBJECT_CHARS, clip


def comment_text(text: str, *, required: bool) -> str:
    """``text`` stripped; refused when too long, or empty where ``required``."""
    text = text.strip()
    if len(text) > MAX_TICKET_COMMENT_CHARS:
        raise InvalidTicketInput("text", Problem.TOO_LONG)
    if required and not text:
        raise InvalidTicketInput("text", Problem.EMPTY)
    return text


def subject_of(subject: str | None, text: str, product_title: str | None) -> str:
    """The subject given, else the product's title, else the text's first line."""
    if subject is not None:
        subject = " ".join(subject.split())
        if len(subject) > MAX_TICKET_SUBJECT_CHARS:
            raise InvalidTicketInput("subject", Problem.TOO_LONG)
        if not subject:
            raise InvalidTicketInput("subject", Problem.EMPTY)
        return subject
    first_line = product_title or next((line for line in text.splitlines() if line.strip()), "")
    return clip(" ".join(first_line.split()), MAX_TICKET_SUBJECT_CHARS) or "…"


def as_pair(attachment: Attachment | None) -> tuple[AttachmentKind, str] | None:
    """The attachment as the repository stores it."""
    return None if attachment is None else (attachment.kind, attachment.file_id)
