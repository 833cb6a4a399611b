"""``vitrina-worker``: CPU-bound and bulk jobs from JetStream."""

from __future__ import annotations

import asyncio

from vitrina_common.config import Settings, load_settings
from vitrina_common.lifecycle import init_observability
from vitrina_worker.app import run_worker

SERVICE = "worker"


def main() -> None:
    """Read settings (exit 2 on a bad one), set up observability, run until SIGTERM."""
    settings = load_settings(SERVICE, Settings)
    telemetry = init_observability(settings, SERVICE)
    try:
        asyncio.run(run_worker(settings))
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    main()
