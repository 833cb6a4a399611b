"""The fake Bot API of the broadcast benchmark: Telegram's flood limits enforced (429 beyond
them), and the moment each chat was answered, for interactive reply latency."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from aiohttp import web
from nats.js import JetStreamContext

from devstack.ports import LOOPBACK, free_port
from tests.fakes.flood import FloodControl
from tests.fakes.telegram_api import FakeTelegram
from vitrina_common.sending import GlobalBudget


class TimedTelegram(FakeTelegram):
    """Records when each chat received a message and wakes whoever waits for it; keeps no
    call log (10 000 sends and their bodies are not worth holding)."""

    def __init__(self, limit_per_s: float) -> None:
        super().__init__(flood=FloodControl(limit_per_s))
        self.received: dict[int, list[float]] = defaultdict(list)
        self.sent_to: dict[int, int] = defaultdict(int)
        self._waiters: dict[int, asyncio.Event] = {}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        chat = params.get("chat_id")
        if isinstance(chat, int) and method.startswith("send"):
            self.sent_to[chat] += 1
            self.received[chat].append(time.monotonic())
            if (waiter := self._waiters.pop(chat, None)) is not None:
                waiter.set()
        return super()._result(method, params)

    def expect(self, chat: int) -> asyncio.Event:
        """An event set when ``chat`` next receives a message."""
        self._waiters[chat] = asyncio.Event()
        return self._waiters[chat]


async def serve(telegram: FakeTelegram) -> web.AppRunner:
    """Serve ``telegram`` on a free loopback port (its ``url`` set)."""
    runner = web.AppRunner(telegram.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    telegram.url = f"http://{LOOPBACK}:{port}"
    return runner


async def reply_latencies(
    telegram: TimedTelegram, chats: list[int], stop: asyncio.Event, every_s: float = 0.5
) -> list[float]:
    """Send ``/start`` from ``chats`` in turn every ``every_s`` until ``stop``; the seconds
    from each push to the bot's first message back."""
    latencies: list[float] = []
    turn = 0
    while not stop.is_set():
        chat = chats[turn % len(chats)]
        turn += 1
        answered = telegram.expect(chat)
        started = time.monotonic()
        telegram.push_message(chat, "/start", language_code="ru")
        try:
            await asyncio.wait_for(answered.wait(), 10)
            latencies.append(time.monotonic() - started)
        except TimeoutError:
            latencies.append(10.0)
        await asyncio.sleep(every_s)
    return latencies


async def budget_cost(js: JetStreamContext, contenders: int, takes: int) -> tuple[float, float]:
    """What a take of the global budget costs when slots are plenty: ``contenders`` takers
    (as replicas) racing ``takes`` each; (mean milliseconds per take, share of takes that
    lost a compare-and-set race and read again)."""
    budgets = [await GlobalBudget.open(js, 1_000_000.0) for _ in range(contenders)]

    async def taker(budget: GlobalBudget) -> None:
        for _ in range(takes):
            await budget.take()

    started = time.perf_counter()
    await asyncio.gather(*(taker(budget) for budget in budgets))
    per_take_ms = (time.perf_counter() - started) / takes * 1000
    conflicts = sum(budget.stats.conflicts for budget in budgets)
    return per_take_ms, conflicts / (contenders * takes)
