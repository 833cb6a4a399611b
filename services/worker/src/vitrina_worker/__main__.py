"""``vitrina-worker``: CPU-bound and bulk jobs from JetStream."""

from __future__ import annotations

from vitrina_common.lifecycle import run_service
from vitrina_worker.app import run_worker

SERVICE = "worker"


def main() -> None:
    """Run the worker until SIGTERM; exit 2 on bad settings."""
    run_service(SERVICE, run_worker)


if __name__ == "__main__":
    main()
