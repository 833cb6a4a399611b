"""``python -m bench.memory``: peak RSS of the real bot, worker and Job processes per input
class, the table behind the charts' memory limits (README "Memory limits").

Each class runs in a fresh process on an embedded Postgres, ``nats-server -js`` and the fake
Bot API (see ``tests/memory.py`` for how the peak is taken). Prints one line per class and
the limit the README gives that container; ``--only worker`` (a substring of the class)
measures a subset.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from alembic import command

from bench.bot import stock
from bench.servers import bench_servers
from devstack.nats import NatsServer, credentials_env
from devstack.postgres import EmbeddedPostgres
from tests import memory_inputs as inputs
from tests.api_service import api_env, issue_token, running_api
from tests.api_service import client as api_client
from tests.conftest import TEMPLATE_DB, alembic_config, asyncpg_url, service_base_env
from tests.memory import (
    RssWatch,
    module_peak,
    originals_backup,
    service,
    worker_planning,
    worker_rendering,
)
from tests.memory import bot_receiving as bot_takes
from tests.memory_table import container_limits
from tests.storefront import FreshShop, fresh_shop
from vitrina_common.config import TelemetrySettings
from vitrina_common.db.models import ApiScope
from vitrina_common.logging import configure_logging

MIB = 1024 * 1024
Measure = Callable[[FreshShop, Path], Awaitable[int]]


def _production_worker() -> dict[str, str]:
    """The worker's limit from the README, as the chart passes it (its decode budget)."""
    limit = container_limits().get("worker")
    return {} if limit is None else {"APP_CONF__WORKER__MEMORY_LIMIT_BYTES": str(limit)}


def _render(make: Callable[[], bytes]) -> Measure:
    async def measure(fresh: FreshShop, logs: Path) -> int:
        peak, product = await worker_rendering(fresh, logs, make(), _production_worker())
        print(f"    {product.status.value}: {product.failure_reason or 'preview rendered'}")
        return peak

    return measure


async def _idle(name: str, fresh: FreshShop, logs: Path) -> int:
    async with service(name, fresh, logs) as (_, watch):
        await asyncio.sleep(3)
    return watch.peak


async def _api(fresh: FreshShop, logs: Path, clients: int) -> int:
    """The API process, idle or with ``clients`` walking every page of 200 products at once."""
    dsn = fresh.env["APP_CONF__DB__DSN"]
    await stock(dsn, 2000, 4)
    token = await issue_token(fresh.sessions, ApiScope.READ)
    async with (
        running_api(api_env(fresh.env, dsn), logs) as api,
        RssWatch(api.process.pid).watching() as watch,
        api_client(api, token) as http,
    ):

        async def walk() -> None:
            params: dict[str, str | int] = {"limit": 200}
            while True:
                page = (await http.get("/api/v1/products", params=params)).json()
                if not page.get("next_cursor"):
                    return
                params["cursor"] = page["next_cursor"]

        await asyncio.sleep(3)
        for _ in range(5):
            await asyncio.gather(*(walk() for _ in range(clients)))
    return watch.peak


def _cases(scratch: Path) -> dict[str, tuple[str, Measure]]:
    """Input class → (container, how to measure it)."""

    async def zip_to_bot(fresh: FreshShop, logs: Path) -> int:
        path = inputs.import_zip(scratch / "import.zip", 199 * MIB)
        return await bot_takes(
            fresh, logs, path, file_name="import.zip", mime="application/zip", caption=None
        )

    async def upload_to_bot(fresh: FreshShop, logs: Path) -> int:
        path = inputs.upload_file(scratch / "upload.jpg", 50 * MIB - 1)
        caption = "Large | 10 | Tests"
        return await bot_takes(
            fresh, logs, path, file_name="upload.jpg", mime="image/jpeg", caption=caption
        )

    async def plan(fresh: FreshShop, logs: Path) -> int:
        path = inputs.import_zip(scratch / "plan.zip", 199 * MIB)
        peak, batch = await worker_planning(fresh, logs, path, _production_worker())
        print(f"    {batch.status.value}: {batch.refusal_reason or ''}")
        return peak

    async def backup(fresh: FreshShop, logs: Path) -> int:
        originals = [inputs.upload_file(scratch / f"{n}.jpg", 50 * MIB - 1) for n in range(4)]
        peak, _ = await originals_backup(fresh, logs, originals, fresh.env)
        return peak

    return {
        "api idle": ("api", lambda fresh, logs: _api(fresh, logs, 0)),
        "api: 20 clients paging 2 000 products": ("api", lambda fresh, logs: _api(fresh, logs, 20)),
        "bot idle": ("bot", lambda fresh, logs: _idle("bot", fresh, logs)),
        "bot: 200 MB import ZIP": ("bot", zip_to_bot),
        "bot: 50 MB upload": ("bot", upload_to_bot),
        "worker idle": ("worker", lambda fresh, logs: _idle("worker", fresh, logs)),
        "worker: 12 MP JPEG": ("worker", _render(lambda: inputs.jpeg(inputs.TWELVE_MP))),
        "worker: 100 MP JPEG": ("worker", _render(lambda: inputs.jpeg(inputs.TEN_K))),
        "worker: 100 MP progressive JPEG": (
            "worker",
            _render(lambda: inputs.jpeg(inputs.TEN_K, progressive=True)),
        ),
        "worker: 100 MP palette PNG": ("worker", _render(inputs.palette_png)),
        "worker: 100 MP 16-bit PNG": ("worker", _render(inputs.sixteen_bit_png)),
        "worker: 100 MP RGBA PNG": ("worker", _render(inputs.rgba_png)),
        "worker: 12 MP WebP": ("worker", _render(lambda: inputs.webp(inputs.TWELVE_MP))),
        "worker: 42 MP WebP": ("worker", _render(lambda: inputs.flat_webp((7000, 6000)))),
        "worker: import plan, 200 MB ZIP": ("worker", plan),
        "originals-backup: four 50 MB originals": ("originals-backup", backup),
    }


async def _jobs(
    pg: EmbeddedPostgres, nats: NatsServer, scratch: Path
) -> dict[str, tuple[str, int]]:
    """The Jobs' commands, as the chart runs them, on an empty database and NATS."""
    env = service_base_env()
    await pg.ensure_database("memory_migrate")
    migrate = {**env, "APP_CONF__DB__DSN": pg.dsn("memory_migrate")}
    provision = {
        **env,
        "APP_CONF__NATS__URL": nats.url,
        **credentials_env("provision", nats.passwords),
    }
    alembic = module_peak("alembic", ["upgrade", "head"], migrate, scratch)
    ops = module_peak("vitrina_common.ops", ["provision", "--timeout", "30"], provision, scratch)
    wait = ["wait-for-schema", "--timeout", "30"]
    schema = module_peak("vitrina_common.ops", wait, migrate, scratch)
    return {
        "migrate: alembic upgrade head": ("migrate", alembic),
        "provision: streams and buckets": ("provision", ops),
        "wait-for-schema (init container)": ("wait-for-schema", schema),
    }


async def run(only: str) -> None:
    """Start the servers, measure every class whose name contains ``only``, print."""
    limits = container_limits()
    async with bench_servers("memory") as servers:
        work, pg, nats = servers.work, servers.pg, servers.nats
        await pg.ensure_database(TEMPLATE_DB)
        url = asyncpg_url(pg.dsn(TEMPLATE_DB))
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        print(f"{'input class':<36} {'peak RSS':>10}   limit of the container")
        for name, (container, measure) in _cases(work).items():
            if only not in name:
                continue
            async with fresh_shop(pg, TEMPLATE_DB, nats, admin_ids=[]) as fresh:
                peak = await measure(fresh, work / name.replace(" ", "_"))
            _line(name, peak, limits.get(container))
        for name, (container, peak) in (await _jobs(pg, nats, work)).items():
            if only in name:
                _line(name, peak, limits.get(container))


def _line(name: str, peak: int, limit: int | None) -> None:
    shown = "—" if limit is None else f"{limit / MIB:.0f} MiB"
    print(f"{name:<36} {peak / MIB:>6.0f} MiB   {shown}", flush=True)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--only", default="", help="measure the classes containing this text")
    # Provisioning logs at INFO: keep stdout for the table.
    configure_logging(TelemetrySettings(log_level="WARNING"), "bench", sys.stderr)
    asyncio.run(run(parser.parse_args().only))


if __name__ == "__main__":
    main()
