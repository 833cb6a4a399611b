"""The ticket queue through the running API: a helpdesk reads, answers and moves tickets;
the shopper hears of each answer through the outbox exactly once; the status table's
refusals come back as 409 problems listing the allowed moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api_service import PROBLEM, RunningApi, api_env, client, issue_token, running_api
from tests.sales_data import SalesHistory
from vitrina_common.db.models import ApiScope, OutboxMessage, Ticket
from vitrina_common.notices import ALERT_ADMINS, NOTIFY_USER
from vitrina_common.services.tickets import Shopper, Tickets

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ANN = 5001
BOB = 5002


@dataclass
class Desk:
    api: RunningApi
    reader: httpx.AsyncClient
    writer: httpx.AsyncClient
    tickets: Tickets
    sessions: async_sessionmaker[AsyncSession]

    async def opened_by(self, telegram_id: int, text: str = "Where is my file?") -> int:
        return (await self.tickets.open_ticket(Shopper(telegram_id), text)).id

    async def outbox(self, kind: str) -> list[OutboxMessage]:
        async with self.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == kind)
            return list((await session.scalars(query.order_by(OutboxMessage.id))).all())


@pytest_asyncio.fixture(loop_scope="session")
async def desk(
    database: str,
    clean_env: dict[str, str],
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Desk]:
    history = SalesHistory(session_factory)
    for telegram_id in (ANN, BOB):
        await history.user(telegram_id, datetime(2026, 11, 1, tzinfo=UTC))
    read_token = await issue_token(session_factory, ApiScope.READ, name="dashboard")
    write_token = await issue_token(session_factory, ApiScope.WRITE, name="helpdesk")
    async with (
        running_api(api_env(clean_env, database), tmp_path) as api,
        client(api, read_token) as reader,
        client(api, write_token) as writer,
    ):
        yield Desk(api, reader, writer, Tickets(session_factory, staff_ids=()), session_factory)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_a_read_token_may_read_tickets_but_not_answer_or_move_them(desk: Desk) -> None:
    ticket = await desk.opened_by(ANN)

    assert (await desk.reader.get(f"/api/v1/tickets/{ticket}")).status_code == 200
    answer = await desk.reader.post(f"/api/v1/tickets/{ticket}/comments", json={"text": "Hi"})
    close = await desk.reader.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": "closed"})
    new = await desk.reader.post("/api/v1/tickets", json={"author_telegram_id": ANN, "text": "x"})

    for refused in (answer, close, new):
        assert problem(refused, 403)["type"] == "/api/problems/insufficient-scope"
    assert await desk.outbox(NOTIFY_USER) == []


async def test_an_answer_through_the_api_notifies_the_shopper_exactly_once(desk: Desk) -> None:
    ticket = await desk.opened_by(ANN)

    first = await desk.writer.post(f"/api/v1/tickets/{ticket}/comments", json={"text": "Sent!"})
    second = await desk.writer.post(
        f"/api/v1/tickets/{ticket}/comments", json={"text": "And again."}
    )

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert first.json()["ticket"]["status"] == "answered"
    assert first.json()["comment"]["author_kind"] == "api_token"
    notices = await desk.outbox(NOTIFY_USER)
    assert [notice.payload["chat_id"] for notice in notices] == [ANN, ANN]
    assert [notice.dedup_key for notice in notices] == [
        f"notice:ticket-comment:{first.json()['comment']['id']}",
        f"notice:ticket-comment:{second.json()['comment']['id']}",
    ]


async def test_an_illegal_move_is_a_409_listing_the_allowed_moves(desk: Desk) -> None:
    ticket = await desk.opened_by(ANN)

    response = await desk.writer.post(
        f"/api/v1/tickets/{ticket}/transitions", json={"to": "awaiting_reply"}
    )

    body = problem(response, 409)
    assert body["type"] == "/api/problems/illegal-transition"
    assert body["current"] == "open"
    assert body["allowed"] == ["answered", "closed"]


async def test_closing_tells_the_shopper_and_a_closed_ticket_takes_no_comment(desk: Desk) -> None:
    ticket = await desk.opened_by(ANN)

    closed = await desk.writer.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": "closed"})
    comment = await desk.writer.post(f"/api/v1/tickets/{ticket}/comments", json={"text": "More"})
    again = await desk.writer.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": "closed"})

    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert problem(comment, 409)["type"] == "/api/problems/ticket-closed"
    assert problem(again, 409)["allowed"] == []
    assert [n.dedup_key for n in await desk.outbox(NOTIFY_USER)] == [
        f"notice:ticket-closed:{ticket}"
    ]


async def test_a_move_expecting_a_status_the_ticket_left_is_refused(desk: Desk) -> None:
    ticket = await desk.opened_by(ANN)
    await desk.writer.post(f"/api/v1/tickets/{ticket}/comments", json={"text": "Done"})

    stale = await desk.writer.post(
        f"/api/v1/tickets/{ticket}/transitions", json={"to": "closed", "expected": "open"}
    )

    body = problem(stale, 409)
    assert body["type"] == "/api/problems/ticket-changed"
    assert body["current"] == "answered"


async def test_an_unknown_ticket_is_404_for_reading_answering_and_moving(desk: Desk) -> None:
    assert problem(await desk.reader.get("/api/v1/tickets/999"), 404)
    answer = await desk.writer.post("/api/v1/tickets/999/comments", json={"text": "Hello"})
    assert problem(answer, 404)
    move = await desk.writer.post("/api/v1/tickets/999/transitions", json={"to": "closed"})
    assert problem(move, 404)


async def test_a_ticket_reads_with_its_comments_and_allowed_moves(desk: Desk) -> None:
    ticket = await desk.opened_by(ANN, "The file is broken")
    await desk.writer.post(f"/api/v1/tickets/{ticket}/comments", json={"text": "Resent it"})

    details = (await desk.reader.get(f"/api/v1/tickets/{ticket}")).json()

    assert details["ticket"]["author_telegram_id"] == ANN
    assert [(c["author_kind"], c["text"]) for c in details["comments"]] == [
        ("author", "The file is broken"),
        ("api_token", "Resent it"),
    ]
    assert details["allowed_moves"] == ["awaiting_reply", "closed"]


async def test_the_list_filters_by_status_author_and_age_and_pages_by_cursor(desk: Desk) -> None:
    ann_old = await desk.opened_by(ANN, "Old one")
    ann_new = await desk.opened_by(ANN, "New one")
    bob = await desk.opened_by(BOB, "Bob's")
    await desk.writer.post(f"/api/v1/tickets/{bob}/comments", json={"text": "Answered"})
    async with desk.sessions() as session, session.begin():
        old = datetime.now(UTC) - timedelta(hours=30)
        await session.execute(update(Ticket).where(Ticket.id == ann_old).values(created_at=old))

    async def ids(**params: Any) -> list[int]:
        response = await desk.reader.get("/api/v1/tickets", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [bob, ann_new, ann_old]
    assert await ids(author=ANN) == [ann_new, ann_old]
    assert await ids(status="answered") == [bob]
    assert await ids(status=["open", "answered"], oldest_first=True) == [ann_old, ann_new, bob]
    assert await ids(older_than_hours=24) == [ann_old]
    first = (await desk.reader.get("/api/v1/tickets", params={"limit": 2})).json()
    rest = (
        await desk.reader.get("/api/v1/tickets", params={"cursor": first["next_cursor"]})
    ).json()
    assert [t["id"] for t in first["items"] + rest["items"]] == [bob, ann_new, ann_old]
    assert rest["next_cursor"] is None


async def test_a_forged_cursor_is_a_422_naming_the_cursor(desk: Desk) -> None:
    body = problem(await desk.reader.get("/api/v1/tickets", params={"cursor": "Zm9yZ2Vk"}), 422)

    assert body["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_helpdesk_opens_a_ticket_for_a_shopper_and_the_admins_hear_of_it(
    desk: Desk,
) -> None:
    opened = await desk.writer.post(
        "/api/v1/tickets",
        json={"author_telegram_id": BOB, "text": "Mailed us: file won't open", "subject": "Mail"},
    )
    unknown = await desk.writer.post(
        "/api/v1/tickets", json={"author_telegram_id": 999999, "text": "Who?"}
    )

    assert opened.status_code == 201, opened.text
    assert opened.json()["status"] == "open"
    assert opened.json()["subject"] == "Mail"
    assert len(await desk.outbox(ALERT_ADMINS)) == 1
    assert problem(unknown, 422)["errors"][0]["loc"] == ["body", "author"]
    async with desk.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


@pytest.mark.parametrize("forged", [True, "7", 7.5])
async def test_an_id_that_is_not_a_json_integer_is_refused(desk: Desk, forged: object) -> None:
    response = await desk.writer.post(
        "/api/v1/tickets", json={"author_telegram_id": forged, "text": "Mailed us"}
    )

    assert problem(response, 422)["errors"][0]["loc"] == ["body", "author_telegram_id"]
    async with desk.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_blank_text_is_refused_before_it_reaches_the_ticket(desk: Desk) -> None:
    ticket = await desk.opened_by(ANN)

    response = await desk.writer.post(f"/api/v1/tickets/{ticket}/comments", json={"text": "  "})

    assert problem(response, 422)["errors"][0]["loc"] == ["body", "text"]


@pytest.mark.parametrize("text", ["Mailed us\x00", "\x00", "a\x00b"])
async def test_text_holding_a_nul_is_a_422_not_a_database_error(desk: Desk, text: str) -> None:
    """Schemathesis found it: Postgres text cannot hold NUL, so the insert failed as a 500."""
    opened = await desk.writer.post(
        "/api/v1/tickets", json={"author_telegram_id": ANN, "text": text}
    )
    ticket = await desk.opened_by(ANN)
    answered = await desk.writer.post(f"/api/v1/tickets/{ticket}/comments", json={"text": text})

    assert problem(opened, 422)["errors"][0]["loc"] == ["body", "text"]
    assert problem(answered, 422)["errors"][0]["loc"] == ["body", "text"]
