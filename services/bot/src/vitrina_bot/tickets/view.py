"""A ticket as one HTML message: its header and the latest comments that fit.

Everything a shopper or an admin typed is cut, then escaped (``clipped_html``), so a
comment can neither break the markup nor push the message past Telegram's 4096
characters: each comment is cut to ``COMMENT_CHARS`` and older ones are left out once
``BUDGET_CHARS`` is spent (the shopper reads the rest in the notices they got).
"""

from __future__ import annotations

from datetime import UTC

from vitrina_bot.i18n import Translator
from vitrina_common.db.models import ActorKind, AttachmentKind
from vitrina_common.services.tickets import CommentView, TicketDetails, TicketSummary
from vitrina_common.text_limits import MAX_TICKET_SUBJECT_CHARS, clipped_html

# What the comments of one screen may take, in visible characters (the header and the
# labels of up to a dozen comments take well under the rest of 4096).
BUDGET_CHARS = 2800
COMMENT_CHARS = 700
# A subject on a button.
BUTTON_SUBJECT_CHARS = 40


def status_label(summary: TicketSummary, t: Translator) -> str:
    """The status in words, with its emoji."""
    return t(f"tickets.status.{summary.status.value}")


def button_label(summary: TicketSummary, t: Translator) -> str:
    """A list entry: number, status emoji, subject (a button: plain text, no HTML)."""
    emoji = t(f"tickets.emoji.{summary.status.value}")
    subject = summary.subject
    if len(subject) > BUTTON_SUBJECT_CHARS:
        subject = subject[: BUTTON_SUBJECT_CHARS - 1].rstrip() + "…"
    return f"#{summary.id} {emoji} {subject}"


def conversation(details: TicketDetails, t: Translator, *, for_staff: bool) -> str:
    """The ticket's header and its latest comments, oldest of them first."""
    ticket = details.ticket
    lines = [
        t(
            "tickets.header",
            id=ticket.id,
            subject=clipped_html(ticket.subject, MAX_TICKET_SUBJECT_CHARS),
            status=status_label(ticket, t),
        )
    ]
    if details.product_title:
        lines.append(t("tickets.about", title=clipped_html(details.product_title, 128)))
    if for_staff:
        lines.append(_staff_line(ticket, t))
    shown, left_out = _fitting(details.comments)
    if left_out:
        lines.append(t("tickets.earlier", count=left_out))
    lines += [_comment(comment, t, for_staff=for_staff) for comment in shown]
    return "\n".join(lines)


def _staff_line(ticket: TicketSummary, t: Translator) -> str:
    assignee = ticket.assignee_telegram_id
    return t(
        "tickets.staff_line",
        user=ticket.author_telegram_id,
        assignee=assignee if assignee is not None else t("tickets.nobody"),
        opened=f"{ticket.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
    )


def _fitting(comments: list[CommentView]) -> tuple[list[CommentView], int]:
    """The newest comments whose text fits the budget (at least one), and how many not."""
    spent, shown = 0, list[CommentView]()
    for comment in reversed(comments):
        cost = min(len(comment.text), COMMENT_CHARS) + 40
        if shown and spent + cost > BUDGET_CHARS:
            break
        spent += cost
        shown.append(comment)
    return list(reversed(shown)), len(comments) - len(shown)


def _comment(comment: CommentView, t: Translator, *, for_staff: bool) -> str:
    who = _author(comment, t, for_staff=for_staff)
    when = f"{comment.created_at.astimezone(UTC):%Y-%m-%d %H:%M}"
    parts = [f"\n<b>{who}</b> · {when}"]
    if comment.attachment is not None:
        kind = "photo" if comment.attachment.kind == AttachmentKind.PHOTO else "document"
        parts.append(t(f"tickets.attached.{kind}"))
    if comment.text:
        parts.append(clipped_html(comment.text, COMMENT_CHARS))
    return "\n".join(parts)


def _author(comment: CommentView, t: Translator, *, for_staff: bool) -> str:
    if comment.author_kind == ActorKind.AUTHOR:
        return t("tickets.by.shopper") if for_staff else t("tickets.by.you")
    if not for_staff:
        return t("tickets.by.shop")
    if comment.author_kind == ActorKind.API_TOKEN:
        return t("tickets.by.helpdesk")
    return t("tickets.by.admin", id=comment.author_telegram_id or 0)
