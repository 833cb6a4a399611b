"""Support tickets through their use cases on a real Postgres: the life cycle (every move
of the 16), who may see and touch what, concurrent admins, notices, the database's own
guard. The bot's flows are in ``test_tickets_bot.py``, reminders in
``test_tickets_reminders.py``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.api_service import api_env, client, issue_token, running_api
from tests.tickets_domain import (
    ADMIN,
    ALLOWED_MOVES,
    ANN,
    BOB,
    OTHER_ADMIN,
    Desk,
    Move,
    SessionFactory,
    make_desk,
)
from vitrina_common.db.models import ApiScope, AttachmentKind, TicketStatus
from vitrina_common.services.tickets import (
    ApiClient,
    Attachment,
    IllegalTransition,
    InvalidTicketInput,
    MissingScope,
    NotYourTicket,
    Problem,
    Staff,
    StaffOnly,
    TicketChanged,
    TicketClosed,
    TicketConflict,
    TicketFilter,
    TicketNotFound,
)
from vitrina_common.tickets.status import TRANSITIONS

pytestmark = pytest.mark.postgres

ALL_PAIRS = [(source, target) for source in TicketStatus for target in TicketStatus]


@pytest.fixture
async def desk(session_factory: SessionFactory) -> Desk:
    return await make_desk(session_factory)


def test_the_code_table_is_the_issues_life_cycle() -> None:
    assert set(TRANSITIONS) == ALLOWED_MOVES


async def test_the_database_table_is_the_code_table(desk: Desk) -> None:
    async with desk.sessions() as session:
        rows = await session.execute(text("SELECT from_status, to_status FROM ticket_transitions"))
        stored = {(TicketStatus(a), TicketStatus(b)) for a, b in rows}

    assert stored == set(TRANSITIONS)


async def test_a_new_ticket_is_open_with_its_first_comment_and_the_admins_are_told(
    desk: Desk,
) -> None:
    opened = await desk.tickets.open_ticket(desk.ann, "My download link\nfails with an error")

    details = await desk.tickets.get(desk.ann, opened.id)
    assert details.ticket.status == TicketStatus.OPEN
    assert details.ticket.subject == "My download link"
    assert [c.text for c in details.comments] == ["My download link\nfails with an error"]
    assert details.allowed_moves == {TicketStatus.ANSWERED, TicketStatus.CLOSED}
    assert await desk.moves(opened.id) == [Move("author", ANN, None, TicketStatus.OPEN)]
    [alert] = await desk.alerts()
    assert alert["code"] == "ticket_opened"
    assert alert["arguments"]["ticket"] == opened.id


async def test_a_ticket_about_a_purchase_takes_the_products_title(desk: Desk) -> None:
    opened = await desk.tickets.open_ticket(desk.ann, "It is blurry", purchase_id=desk.ann_purchase)

    details = await desk.tickets.get(desk.admin, opened.id)
    assert details.ticket.purchase_id == desk.ann_purchase
    assert details.product_title == details.ticket.subject == "Blue Lagoon"


async def test_a_ticket_about_someone_elses_purchase_is_refused(desk: Desk) -> None:
    with pytest.raises(InvalidTicketInput) as refused:
        await desk.tickets.open_ticket(desk.bob, "Mine?", purchase_id=desk.ann_purchase)

    assert refused.value.problem == Problem.UNKNOWN_PURCHASE
    assert (await desk.tickets.list_tickets(desk.admin)).items == []


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
async def test_a_move_in_the_table_is_made_and_recorded_any_other_is_refused_and_changes_nothing(
    desk: Desk, source: TicketStatus, target: TicketStatus
) -> None:
    ticket_id = await desk.ticket_in(source)
    before = await desk.moves(ticket_id)

    if (source, target) in ALLOWED_MOVES:
        moved = await desk.tickets.transition(desk.other_admin, ticket_id, target)

        assert moved.status == target
        assert await desk.status(ticket_id) == target
        assert await desk.moves(ticket_id) == [*before, Move("staff", OTHER_ADMIN, source, target)]
        return
    with pytest.raises(TicketConflict) as refused:
        await desk.tickets.transition(desk.other_admin, ticket_id, target)

    if source == TicketStatus.CLOSED:
        assert isinstance(refused.value, TicketClosed)
    else:
        assert isinstance(refused.value, IllegalTransition)
        assert refused.value.allowed == {b for a, b in ALLOWED_MOVES if a == source}
    assert await desk.status(ticket_id) == source
    assert await desk.moves(ticket_id) == before


@pytest.mark.slow
async def test_through_the_api_every_move_in_the_table_is_made_and_any_other_is_a_409(
    desk: Desk, database: str, clean_env: dict[str, str], tmp_path: Path
) -> None:
    token = await issue_token(desk.sessions, ApiScope.READ, ApiScope.WRITE, name="helpdesk")
    outcomes: dict[tuple[TicketStatus, TicketStatus], tuple[int, TicketStatus, int]] = {}
    async with (
        running_api(api_env(clean_env, database), tmp_path) as api,
        client(api, token) as http,
    ):
        for source, target in ALL_PAIRS:
            ticket_id = await desk.ticket_in(source)
            before = len(await desk.moves(ticket_id))
            response = await http.post(
                f"/api/v1/tickets/{ticket_id}/transitions", json={"to": target.value}
            )
            moves = await desk.moves(ticket_id)
            outcomes[source, target] = (
                response.status_code,
                await desk.status(ticket_id),
                len(moves) - before,
            )

    for (source, target), (status_code, status, recorded) in outcomes.items():
        if (source, target) in ALLOWED_MOVES:
            assert (status_code, status, recorded) == (200, target, 1), (source, target)
        else:
            assert (status_code, status, recorded) == (409, source, 0), (source, target)


async def test_a_comment_on_a_closed_ticket_is_refused_by_either_side(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.CLOSED)
    alerts_before = await desk.alerts()

    with pytest.raises(TicketClosed):
        await desk.tickets.add_comment(desk.ann, ticket_id, "Hello?")
    with pytest.raises(TicketClosed):
        await desk.tickets.add_comment(desk.admin, ticket_id, "Reopening")

    details = await desk.tickets.get(desk.ann, ticket_id)
    assert [c.text for c in details.comments] == ["The file does not open"]
    assert await desk.alerts() == alerts_before


async def test_comments_move_the_ticket_between_answered_and_awaiting_reply(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)

    answered = await desk.tickets.add_comment(desk.admin, ticket_id, "Try this link")
    again = await desk.tickets.add_comment(desk.ann, ticket_id, "Still broken")
    still = await desk.tickets.add_comment(desk.ann, ticket_id, "Any news?")
    reanswered = await desk.tickets.add_comment(desk.admin, ticket_id, "Fixed now")

    assert [answered.ticket.status, again.ticket.status, still.ticket.status] == [
        TicketStatus.ANSWERED,
        TicketStatus.AWAITING_REPLY,
        TicketStatus.AWAITING_REPLY,
    ]
    assert reanswered.ticket.status == TicketStatus.ANSWERED
    assert [(m.actor_kind, m.from_status, m.to_status) for m in await desk.moves(ticket_id)] == [
        ("author", None, TicketStatus.OPEN),
        ("staff", TicketStatus.OPEN, TicketStatus.ANSWERED),
        ("author", TicketStatus.ANSWERED, TicketStatus.AWAITING_REPLY),
        ("staff", TicketStatus.AWAITING_REPLY, TicketStatus.ANSWERED),
    ]


async def test_the_shopper_is_notified_once_per_answer_with_its_attachment(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)
    photo = Attachment(AttachmentKind.PHOTO, "photo-file-id")

    await desk.tickets.add_comment(desk.admin, ticket_id, "Here is <the> fix", attachment=photo)
    await desk.tickets.add_comment(desk.other_admin, ticket_id, "And one more thing")

    notices = await desk.notices()
    assert [(n["chat_id"], n["code"], n["arguments"]["text"]) for n in notices] == [
        (ANN, "ticket_answered", "Here is <the> fix"),
        (ANN, "ticket_answered", "And one more thing"),
    ]
    assert notices[0]["attachment"] == {"kind": "photo", "file_id": "photo-file-id"}
    assert "attachment" not in notices[1]


async def test_the_admins_hear_of_every_reply_of_the_author_and_of_a_close(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.ANSWERED)

    await desk.tickets.add_comment(desk.ann, ticket_id, "Thanks, but…")
    await desk.tickets.close(desk.ann, ticket_id)

    codes = [(a["code"], a["arguments"]["ticket"]) for a in await desk.alerts()]
    assert codes[-2:] == [("ticket_reply", ticket_id), ("ticket_closed", ticket_id)]


async def test_two_admins_moving_the_same_open_ticket_at_once_one_wins(desk: Desk) -> None:
    racing = Staff(ADMIN), Staff(OTHER_ADMIN)
    for run in range(50):
        ticket_id = await desk.ticket_in(TicketStatus.OPEN)
        targets = (
            (TicketStatus.ANSWERED, TicketStatus.CLOSED)
            if run % 2
            else (TicketStatus.CLOSED, TicketStatus.ANSWERED)
        )

        outcomes = await asyncio.gather(
            *(
                desk.tickets.transition(admin, ticket_id, target, expected=TicketStatus.OPEN)
                for admin, target in zip(racing, targets, strict=True)
            ),
            return_exceptions=True,
        )

        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1, (run, outcomes)
        assert [type(error) for error in lost] == [TicketChanged], (run, outcomes)
        moves = (await desk.moves(ticket_id))[1:]
        assert [(m.from_status, m.to_status) for m in moves] == [(TicketStatus.OPEN, won[0].status)]
        assert await desk.status(ticket_id) == won[0].status


async def test_two_admins_answering_at_once_record_one_move(desk: Desk) -> None:
    for _ in range(50):
        ticket_id = await desk.ticket_in(TicketStatus.AWAITING_REPLY)

        await asyncio.gather(
            desk.tickets.add_comment(desk.admin, ticket_id, "Answer one"),
            desk.tickets.add_comment(desk.other_admin, ticket_id, "Answer two"),
        )

        moves = await desk.moves(ticket_id)
        assert [(m.from_status, m.to_status) for m in moves[3:]] == [
            (TicketStatus.AWAITING_REPLY, TicketStatus.ANSWERED)
        ]


async def test_a_shopper_cannot_see_or_touch_another_shoppers_ticket(desk: Desk) -> None:
    anns = await desk.ticket_in(TicketStatus.ANSWERED)
    before = await desk.moves(anns)

    with pytest.raises(NotYourTicket):
        await desk.tickets.get(desk.bob, anns)
    with pytest.raises(NotYourTicket):
        await desk.tickets.history(desk.bob, anns)
    with pytest.raises(NotYourTicket):
        await desk.tickets.add_comment(desk.bob, anns, "Let me in")
    with pytest.raises(NotYourTicket):
        await desk.tickets.close(desk.bob, anns)
    listed = await desk.tickets.list_tickets(desk.bob, TicketFilter(author_telegram_id=ANN))

    assert listed.items == []
    assert await desk.moves(anns) == before
    assert [c.text for c in (await desk.tickets.get(desk.ann, anns)).comments] == [
        "The file does not open"
    ]


async def test_a_shopper_may_close_their_ticket_but_not_answer_it(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)

    with pytest.raises(StaffOnly):
        await desk.tickets.transition(desk.ann, ticket_id, TicketStatus.ANSWERED)
    closed = await desk.tickets.close(desk.ann, ticket_id)

    assert closed.status == TicketStatus.CLOSED
    assert (await desk.moves(ticket_id))[-1] == Move(
        "author", ANN, TicketStatus.OPEN, TicketStatus.CLOSED
    )


async def test_someone_not_an_admin_is_refused_staff_actions(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)
    impostor = Staff(BOB)

    with pytest.raises(StaffOnly):
        await desk.tickets.take(impostor, ticket_id)
    with pytest.raises(StaffOnly):
        await desk.tickets.list_tickets(impostor)
    with pytest.raises(StaffOnly):
        await desk.tickets.assign(desk.ann, ticket_id, ADMIN)
    with pytest.raises(StaffOnly):
        await desk.tickets.add_comment(impostor, ticket_id, "I am staff, honest")

    assert (await desk.tickets.get(desk.admin, ticket_id)).ticket.assignee_telegram_id is None


async def test_an_api_token_needs_read_to_read_and_write_to_change(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)
    async with desk.sessions() as session, session.begin():
        token_id = await session.scalar(
            text(
                "INSERT INTO api_tokens (name, token_hash, scopes)"
                " VALUES ('helpdesk', '\\x01', ARRAY['read']) RETURNING id"
            )
        )
    reader = ApiClient(int(token_id), frozenset({ApiScope.READ}))
    writer = ApiClient(int(token_id), frozenset({ApiScope.READ, ApiScope.WRITE}))

    assert (await desk.tickets.get(reader, ticket_id)).ticket.id == ticket_id
    with pytest.raises(MissingScope):
        await desk.tickets.add_comment(reader, ticket_id, "From the helpdesk")
    answered = await desk.tickets.add_comment(writer, ticket_id, "From the helpdesk")

    assert answered.ticket.status == TicketStatus.ANSWERED
    assert (await desk.moves(ticket_id))[-1] == Move(
        "api_token", int(token_id), TicketStatus.OPEN, TicketStatus.ANSWERED
    )
    assert [n["code"] for n in await desk.notices()] == ["ticket_answered"]


async def test_taking_assigns_the_ticket_to_that_admin_only(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)

    taken = await desk.tickets.take(desk.admin, ticket_id)
    with pytest.raises(InvalidTicketInput):
        await desk.tickets.assign(desk.admin, ticket_id, BOB)

    assert taken.assignee_telegram_id == ADMIN
    mine = await desk.tickets.list_tickets(desk.admin, TicketFilter(assignee_telegram_id=ADMIN))
    nobodys = await desk.tickets.list_tickets(desk.admin, TicketFilter(unassigned=True))
    assert [t.id for t in mine.items] == [ticket_id]
    assert nobodys.items == []


async def test_pages_follow_the_cursor_without_gaps_or_repeats(desk: Desk) -> None:
    opened = [await desk.ticket_in(TicketStatus.OPEN) for _ in range(5)]
    closed = await desk.ticket_in(TicketStatus.CLOSED, author=desk.bob)

    seen: list[int] = []
    cursor: str | None = None
    open_only = TicketFilter(statuses=frozenset({TicketStatus.OPEN}))
    for _ in range(3):
        page = await desk.tickets.list_tickets(desk.admin, open_only, cursor=cursor, limit=2)
        seen += [t.id for t in page.items]
        cursor = page.next_cursor
    oldest = await desk.tickets.list_tickets(desk.admin, TicketFilter(oldest_first=True), limit=1)

    assert seen == list(reversed(opened))
    assert cursor is None
    assert [t.id for t in oldest.items] == [opened[0]]
    assert [t.id for t in (await desk.tickets.list_tickets(desk.bob)).items] == [closed]


async def test_a_forged_cursor_and_an_unknown_ticket_are_refused_clearly(desk: Desk) -> None:
    with pytest.raises(InvalidTicketInput):
        await desk.tickets.list_tickets(desk.admin, cursor="not-a-cursor")
    with pytest.raises(TicketNotFound):
        await desk.tickets.get(desk.admin, 424242)


async def test_texts_over_the_limit_are_refused(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)

    with pytest.raises(InvalidTicketInput) as long_text:
        await desk.tickets.add_comment(desk.admin, ticket_id, "x" * 4001)
    with pytest.raises(InvalidTicketInput) as empty:
        await desk.tickets.add_comment(desk.admin, ticket_id, "   ")

    assert (long_text.value.problem, empty.value.problem) == (Problem.TOO_LONG, Problem.EMPTY)
    await desk.tickets.add_comment(desk.admin, ticket_id, "x" * 4000)


async def test_the_database_refuses_a_status_change_outside_the_table(desk: Desk) -> None:
    closed = await desk.ticket_in(TicketStatus.CLOSED)
    answered = await desk.ticket_in(TicketStatus.ANSWERED)

    for ticket_id, status in ((closed, "answered"), (answered, "open")):
        async with desk.sessions() as session:
            with pytest.raises(DBAPIError, match="is not an allowed move"):
                await session.execute(
                    text("UPDATE tickets SET status = :status WHERE id = :id"),
                    {"status": status, "id": ticket_id},
                )
    async with desk.sessions() as session, session.begin():
        await session.execute(
            text("UPDATE tickets SET status = 'awaiting_reply' WHERE id = :id"), {"id": answered}
        )

    assert await desk.status(closed) == TicketStatus.CLOSED
    assert await desk.status(answered) == TicketStatus.AWAITING_REPLY


async def test_the_database_refuses_a_recorded_move_outside_the_table(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.CLOSED)

    async with desk.sessions() as session:
        with pytest.raises(IntegrityError, match="fk_ticket_events_from_status"):
            await session.execute(
                text(
                    "INSERT INTO ticket_events (ticket_id, actor_kind, actor_telegram_id,"
                    " from_status, to_status) VALUES (:id, 'staff', 1, 'closed', 'open')"
                ),
                {"id": ticket_id},
            )


async def test_the_database_refuses_a_ticket_that_does_not_start_open(desk: Desk) -> None:
    async with desk.sessions() as session:
        with pytest.raises(DBAPIError, match="starts open"):
            await session.execute(
                text(
                    "INSERT INTO tickets (author_id, subject, status)"
                    " SELECT id, 'sneaky', 'closed' FROM users LIMIT 1"
                )
            )
