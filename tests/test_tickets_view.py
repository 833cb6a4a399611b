"""A ticket on screen and in a notice always fits one Telegram message, whatever its
subject and comments hold, and never breaks the HTML markup."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest

from tests.fakes.telegram_api import html_entities_problem, visible_chars
from vitrina_bot.i18n import translator_for
from vitrina_bot.tickets.view import conversation
from vitrina_common.db.models import ActorKind, AttachmentKind, Language, TicketStatus
from vitrina_common.services.tickets import (
    Attachment,
    CommentView,
    TicketDetails,
    TicketSummary,
)
from vitrina_common.text_limits import (
    MAX_TICKET_COMMENT_CHARS,
    MAX_TICKET_SUBJECT_CHARS,
    TELEGRAM_TEXT_CHARS,
    TICKET_QUOTE_CHARS,
    clip,
)

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
# Markup-looking text in every field a person typed.
NASTY = "<b>&amp; <i>{unclosed} "


def _comment(number: int, *, staff: bool) -> CommentView:
    text = (NASTY * 1000)[:MAX_TICKET_COMMENT_CHARS]
    return CommentView(
        id=number,
        author_kind=ActorKind.STAFF if staff else ActorKind.AUTHOR,
        author_telegram_id=9000 + number,
        author_token_id=None,
        text=text,
        attachment=Attachment(AttachmentKind.DOCUMENT, "doc") if number % 3 == 0 else None,
        created_at=NOW,
    )


def _details(comments: int) -> TicketDetails:
    summary = TicketSummary(
        id=123456,
        subject=(NASTY * 50)[:MAX_TICKET_SUBJECT_CHARS],
        status=TicketStatus.AWAITING_REPLY,
        author_telegram_id=7001,
        purchase_id=1,
        assignee_telegram_id=9001,
        created_at=NOW,
        updated_at=NOW,
        waiting_since=NOW,
    )
    return TicketDetails(
        ticket=summary,
        product_title=(NASTY * 50)[:128],
        comments=[_comment(n, staff=n % 2 == 0) for n in range(comments)],
        allowed_moves=frozenset({TicketStatus.ANSWERED, TicketStatus.CLOSED}),
    )


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("for_staff", [True, False])
@pytest.mark.parametrize("comments", [1, 4, 40])
def test_a_conversation_fits_one_message_and_keeps_valid_markup(
    language: Language, for_staff: bool, comments: int
) -> None:
    text = conversation(_details(comments), translator_for(language), for_staff=for_staff)

    assert visible_chars(text) <= TELEGRAM_TEXT_CHARS
    assert html_entities_problem({"text": text, "parse_mode": "HTML"}) is None
    assert "&lt;b&gt;&amp;amp;" in text


def test_the_newest_comments_are_shown_and_the_rest_counted() -> None:
    text = conversation(_details(40), translator_for(Language.EN), for_staff=False)

    assert "earlier messages" in text
    assert text.count("<b>You</b>") + text.count("<b>Shop</b>") < 40
    assert text.rstrip().endswith("…")  # the newest comment, cut, comes last


@pytest.mark.parametrize("language", list(Language))
def test_a_notice_quoting_the_longest_answer_fits_one_message(language: Language) -> None:
    t = translator_for(language)
    quoted = clip((NASTY * 1000)[:MAX_TICKET_COMMENT_CHARS], TICKET_QUOTE_CHARS)
    arguments = {
        "ticket": 123456,
        "subject": html.escape((NASTY * 50)[:MAX_TICKET_SUBJECT_CHARS]),
        "text": html.escape(quoted),
        "user": 7001,
    }

    for key in ("notices.ticket_answered", "alerts.ticket_opened", "alerts.ticket_reply"):
        text = t(key, **arguments)
        assert visible_chars(text) <= TELEGRAM_TEXT_CHARS, key
        assert html_entities_problem({"text": text, "parse_mode": "HTML"}) is None, key
