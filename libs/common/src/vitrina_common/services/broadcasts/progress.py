"""The admin's live progress message (edited at most every few seconds, by one replica at a
time) and the final report with a CSV of the recipients not reached."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config_sending import SendingSettings
from vitrina_common.db.models import Broadcast, BroadcastStatus, Language, RecipientState
from vitrina_common.i18n import Translator, translator_for
from vitrina_common.logging import get_logger
from vitrina_common.repositories.broadcasts import BroadcastRepository
from vitrina_common.repositories.users import UserRepository
from vitrina_common.sending import Sender
from vitrina_common.sending.telegram import SendError

log = get_logger(__name__)
# Telegram's limit per chat, about a message a second: the final edit and the failures CSV
# keep this far from the admin's previous message.
PER_CHAT_INTERVAL_S = 1.1
SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class ProgressSnapshot:
    """How far a broadcast got, and what the admin sees of it."""

    broadcast_id: int
    status: BroadcastStatus
    counts: dict[RecipientState, int]
    total: int
    rate_per_s: float

    @property
    def left(self) -> int:
        return self.counts[RecipientState.PENDING]

    def render(self, translate: Translator) -> str:
        """The progress message's text."""
        lines = [
            translate(f"broadcasts.progress.{self.status.value}", id=self.broadcast_id),
            translate(
                "broadcasts.progress.counts",
                sent=self.counts[RecipientState.SENT],
                failed=self.counts[RecipientState.FAILED],
                blocked=self.counts[RecipientState.BLOCKED],
                left=self.left,
                total=self.total,
            ),
        ]
        if self.status is BroadcastStatus.SENDING and self.rate_per_s > 0:
            eta = timedelta(seconds=round(self.left / self.rate_per_s))
            lines.append(
                translate("broadcasts.progress.rate", rate=f"{self.rate_per_s:.1f}", eta=eta)
            )
        return "\n".join(lines)


class BroadcastProgress:
    """Progress and final reports of broadcasts, sent through the global budget."""

    def __init__(self, sessions: SessionFactory, sender: Sender, settings: SendingSettings) -> None:
        self._sessions = sessions
        self._sender = sender
        self._interval = timedelta(seconds=settings.progress_interval_s)
        # This process asks for a turn at most once a second per broadcast.
        self._asked: dict[int, float] = {}

    async def maybe_report(self, broadcast_id: int) -> None:
        """Edit the progress message if this is the replica whose turn it is."""
        now = time.monotonic()
        if now - self._asked.get(broadcast_id, 0.0) < 1.0:
            return
        self._asked[broadcast_id] = now
        async with self._sessions() as session, session.begin():
            if not await BroadcastRepository(session).take_progress_turn(
                broadcast_id, self._interval
            ):
                return
        await self.report(broadcast_id)

    async def finish_drained(self) -> list[int]:
        """Mark every sending broadcast with nothing pending done, then send the final report
        of each finished (done or cancelled) broadcast not reported yet; the ids reported."""
        async with self._sessions() as session, session.begin():
            broadcasts = BroadcastRepository(session)
            for sending_id in await broadcasts.sending_ids():
                await broadcasts.finish_if_drained(sending_id)
        reported: list[int] = []
        while True:
            # Claimed before sending: a crash between the two loses that report, never
            # doubles it (an admin message, not a shopper's).
            async with self._sessions() as session, session.begin():
                broadcast_id = await BroadcastRepository(session).claim_final_report(self._interval)
            if broadcast_id is None:
                return reported
            await asyncio.sleep(PER_CHAT_INTERVAL_S)  # after the last progress edit
            await self.report(broadcast_id)
            await asyncio.sleep(PER_CHAT_INTERVAL_S)
            await self._send_failures(broadcast_id)
            reported.append(broadcast_id)

    async def report(self, broadcast_id: int) -> None:
        """Send or edit the admin's progress message with the current counts."""
        async with self._sessions() as session:
            broadcasts = BroadcastRepository(session)
            broadcast = await broadcasts.get(broadcast_id)
            if broadcast is None:
                return
            snapshot = _snapshot(broadcast, await broadcasts.counts(broadcast_id))
            translate = await _admin_translator(session, broadcast.admin_chat_id)
            chat, message_id = broadcast.admin_chat_id, broadcast.progress_message_id
        text = snapshot.render(translate)
        params = {"chat_id": chat, "text": text}
        if message_id is not None:
            await self._sender.call("editMessageText", {**params, "message_id": message_id})
            return
        outcome = await self._sender.call("sendMessage", params)
        if outcome.message_id is not None:
            async with self._sessions() as session, session.begin():
                await BroadcastRepository(session).set_progress_message(
                    broadcast_id, outcome.message_id
                )

    async def _send_failures(self, broadcast_id: int) -> None:
        async with self._sessions() as session:
            broadcasts = BroadcastRepository(session)
            broadcast = await broadcasts.get(broadcast_id)
            rows = await broadcasts.unsuccessful(broadcast_id)
            if broadcast is None or not rows:
                return
            translate = await _admin_translator(session, broadcast.admin_chat_id)
            chat = broadcast.admin_chat_id
        data = failures_csv(rows, translate)
        caption = translate("broadcasts.progress.report_caption", id=broadcast_id, count=len(rows))
        await self._sender.budget.take()
        try:
            await self._sender.transport.send_file(
                "sendDocument",
                chat,
                "document",
                f"broadcast-{broadcast_id}-failures.csv",
                data,
                caption,
            )
        except SendError as error:
            log.warning("broadcast report not sent", broadcast=broadcast_id, error=error.reason)


def failures_csv(
    rows: list[tuple[int, RecipientState, str | None]], translate: Translator
) -> bytes:
    """The recipients not reached as CSV (UTF-8 with BOM, so spreadsheets read it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [translate(f"broadcasts.report.{name}") for name in ("chat", "state", "reason")]
    )
    cancelled = translate("broadcasts.report.cancelled")
    writer.writerows(
        [chat, state.value, reason or (cancelled if state is RecipientState.PENDING else "")]
        for chat, state, reason in rows
    )
    return ("\ufeff" + buffer.getvalue()).encode()


def _snapshot(broadcast: Broadcast, counts: dict[RecipientState, int]) -> ProgressSnapshot:
    done = sum(count for state, count in counts.items() if state is not RecipientState.PENDING)
    rate = 0.0
    if broadcast.started_at is not None:
        elapsed = (datetime.now(UTC) - broadcast.started_at).total_seconds()
        rate = done / elapsed if elapsed > 0 else 0.0
    return ProgressSnapshot(
        broadcast.id, broadcast.status, counts, broadcast.recipients_total, rate
    )


async def _admin_translator(session: AsyncSession, chat_id: int) -> Translator:
    user = await UserRepository(session).get_by_telegram_id(chat_id)
    return translator_for(user.language if user is not None else Language.EN)
