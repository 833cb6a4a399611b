"""Helpers for the observability tests: a shop whose bot and worker can be stopped and
started again, Prometheus text read into samples, a purchase through the bot's screens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from devstack.nats import NatsServer
from devstack.ports import LOOPBACK
from devstack.postgres import EmbeddedPostgres
from devstack.processes import ManagedProcess
from tests.fakes.telegram_api import FakeTelegram
from tests.services import start_service, wait_for_status
from tests.storefront import FreshShop, click, fresh_shop, press, screen, stock_shop

ADMIN = 900
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class ObservedShop:
    """A stocked shop with its bot and worker; ``start``/``stop`` each by name."""

    fresh: FreshShop
    logs: Path
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def telegram(self) -> FakeTelegram:
        return self.fresh.telegram

    def health_port(self, service: str) -> int:
        return int(self.fresh.env[f"APP_CONF__{service.upper()}__HEALTH_PORT"])

    async def start(self, service: str) -> None:
        process, port = await start_service(service, self.fresh.env, self.logs)
        await wait_for_status(port, "/readyz", 200, process)
        self.processes[service] = process

    async def stop(self, service: str) -> None:
        await self.processes.pop(service).stop(20)

    async def metrics(self, service: str) -> Samples:
        """Every sample ``service`` serves at /metrics, by name and labels."""
        url = f"http://{LOOPBACK}:{self.health_port(service)}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            body = await response.text()
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }

    async def wait_for_metric(
        self,
        service: str,
        name: str,
        check: Callable[[float], bool],
        timeout_s: float = 20,
        **labels: str,
    ) -> float:
        """Poll /metrics until the sample ``name{labels}`` passes ``check``; its value."""
        value: float | None = None
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    value = sample(await self.metrics(service), name, **labels)
                    if value is not None and check(value):
                        return value
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError(f"{name}{labels} stayed at {value}") from None


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of ``name`` whose labels include ``labels``; None when absent."""
    wanted = set(labels.items())
    values = [value for (key, found), value in samples.items() if key == name and wanted <= found]
    return sum(values) if values else None


@contextlib.asynccontextmanager
async def observed_shop(
    postgres: EmbeddedPostgres,
    template: str,
    nats_server: NatsServer,
    logs: Path,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[ObservedShop]:
    """One product ("View 1", 50 ⭐) in "Landscapes"; bot and worker running; gauges read
    every half second."""
    env = {"APP_CONF__TELEMETRY__COLLECT_INTERVAL_S": "0.5", **(extra_env or {})}
    async with fresh_shop(
        postgres, template, nats_server, admin_ids=[ADMIN], extra_env=env
    ) as fresh:
        await stock_shop(fresh.sessions, "Landscapes", ["View 1"])
        shop = ObservedShop(fresh, logs)
        try:
            await shop.start("bot")
            await shop.start("worker")
            yield shop
        finally:
            for process in shop.processes.values():
                await process.stop(20)


async def purchase(shop: ObservedShop, user: int) -> None:
    """/start → catalog → product → Buy → pre-checkout → payment → the original arrives."""
    telegram = shop.telegram
    telegram.push_message(user, "/start")
    menu = await screen(telegram, user, "Welcome to")
    categories = await click(telegram, user, menu, "Catalog", "Choose a category")
    products = await click(telegram, user, categories, "Landscapes", "1 image")
    card = await click(telegram, user, products, "View 1", "Price: 50 ⭐")
    press(telegram, user, card, telegram.button(card, "Buy for 50"))
    await telegram.wait_for_call("sendInvoice")
    payload = str(telegram.calls_of("sendInvoice")[-1].params["payload"])
    telegram.push_pre_checkout(user, payload, 50)
    await telegram.wait_for_call("answerPreCheckoutQuery")
    telegram.push_update(telegram.successful_payment_update(user, payload, 50))
    await telegram.wait_for_call("sendDocument", timeout_s=20)
