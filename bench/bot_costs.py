"""The per-update cost table of ``python -m bench.bot``: what each catalog screen costs our
bot in database round trips, NATS KV operations, Bot API calls and CPU time, in polling mode
(one process, the chart's default) and in webhook mode (replicas). See ``tests.bot_costs``
for how each is counted; the counts do not depend on load, CPU time does a little.

``python -m bench.bot_costs <polling|webhook> <dsn> <nats url>`` walks the catalog in a
process of its own (the bot's routers attach to one dispatcher per process) as the NATS user
``APP_CONF__NATS__USER``/``…PASSWORD`` name, and prints the warm costs as JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.nats import credentials_env
from tests.bot_costs import Costs, fake_api_in_a_thread, in_process_bot, walk
from vitrina_common.config import BotMode, NatsSettings, TelemetrySettings
from vitrina_common.logging import configure_logging
from vitrina_common.telemetry import setup_telemetry

# The first walk prepares statements, registers the user and fills caches: not counted.
WARM_WALKS = 5
COST_USER = 4_200_001
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ScreenCost:
    """A screen's counts (the same on every warm walk) and its median CPU time."""

    name: str
    costs: Costs


async def walk_costs(dsn: str, nats: NatsSettings, mode: BotMode) -> list[ScreenCost]:
    """Walk the catalog once cold and ``WARM_WALKS`` times warm; the warm costs per screen
    (counts of the last walk, CPU time the median of all warm ones)."""
    with fake_api_in_a_thread() as telegram:
        async with in_process_bot(dsn, nats, telegram, mode) as shop:
            user = COST_USER + list(BotMode).index(mode)
            await walk(shop, user)
            walks = [await walk(shop, user) for _ in range(WARM_WALKS)]
    table = []
    for index, (name, last) in enumerate(walks[-1]):
        cpu = statistics.median(steps[index][1].cpu_ms for steps in walks)
        table.append(ScreenCost(name, Costs(last.db, last.kv, last.bot_api, cpu)))
    return table


async def screen_costs(
    dsn: str, nats_url: str, mode: BotMode, passwords: Mapping[str, str]
) -> list[ScreenCost]:
    """``walk_costs`` in a process of its own, as the bot's NATS user."""
    env = {
        **os.environ,
        **credentials_env("bot", dict(passwords)),
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bot_costs", mode.value, dsn, nats_url,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"cost walk ({mode.value}) failed:\n{err.decode()[-3000:]}")
    rows = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return [ScreenCost(row.pop("name"), Costs(**row)) for row in rows]


def print_costs(tables: dict[BotMode, list[ScreenCost]]) -> None:
    """Side by side per mode: DB round trips, KV operations, Bot API calls, CPU ms."""
    modes = list(tables)
    print("Per update, warm (statements prepared, user known, tapped within the 3 s the")
    print("user's context is cached): DB round trips / NATS KV operations / Bot API calls /")
    print(f"CPU ms of the bot's thread (median of {WARM_WALKS} walks)")
    print(f"{'screen':<22}" + "".join(f" {mode.value:>29}" for mode in modes))
    for row, name in enumerate(screen.name for screen in tables[modes[0]]):
        cells = []
        for mode in modes:
            costs = tables[mode][row].costs
            cells.append(
                f" {costs.db:5d} db {costs.kv:3d} kv {costs.bot_api:2d} api {costs.cpu_ms:5.1f} ms"
            )
        print(f"{name:<22}" + "".join(cells))


def main() -> None:
    """``<mode> <dsn> <nats url>``: the warm costs, one JSON object per screen."""
    mode, dsn, nats_url = BotMode(sys.argv[1]), sys.argv[2], sys.argv[3]
    # As the bot process runs by default: INFO logs (to stderr here: stdout is the table)
    # and the tracer and meter providers, whose spans and metrics every update feeds.
    telemetry = TelemetrySettings()
    configure_logging(telemetry, "bot", sys.stderr)
    setup_telemetry(telemetry, "bot")
    nats = NatsSettings.model_validate(
        {
            "url": nats_url,
            "user": os.environ.get("APP_CONF__NATS__USER"),
            "password": os.environ.get("APP_CONF__NATS__PASSWORD"),
        }
    )
    for screen in asyncio.run(walk_costs(dsn, nats, mode)):
        print(json.dumps({"name": screen.name, **asdict(screen.costs)}))


if __name__ == "__main__":
    main()
