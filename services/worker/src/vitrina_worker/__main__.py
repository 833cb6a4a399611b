"""``vitrina-worker``: CPU-bound and bulk jobs from JetStream."""

from __future__ import annotations

import gc

# The imports build ~300 000 long-lived objects and no garbage: collecting while they are
# made is ~15% of the start-up's CPU for nothing. Collection resumes once they are frozen
# (freeze_imported_objects).
gc.disable()

from vitrina_common.lifecycle import run_service  # noqa: E402
from vitrina_worker.app import run_worker  # noqa: E402

SERVICE = "worker"


def main() -> None:
    """Run the worker until SIGTERM; exit 2 on bad settings."""
    run_service(SERVICE, run_worker)


if __name__ == "__main__":
    main()
