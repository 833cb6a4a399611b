"""``vitrina-api``: the HTTP API (uvicorn) and its probes, until SIGTERM."""

from __future__ import annotations

import gc

# The imports build ~300 000 long-lived objects and no garbage: collecting while they are
# made is ~15% of the start-up's CPU for nothing. Collection resumes once they are frozen
# (freeze_imported_objects).
gc.disable()

import asyncio  # noqa: E402
import contextlib  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import uvicorn  # noqa: E402

from vitrina_api.app import create_app  # noqa: E402
from vitrina_api.runtime import ApiRuntime  # noqa: E402
from vitrina_common.config import ApiServiceSettings, load_settings  # noqa: E402
from vitrina_common.lifecycle import (  # noqa: E402
    freeze_imported_objects,
    run_unless_stopped,
    stop_event_on_signals,
)
from vitrina_common.logging import configure_logging, get_logger  # noqa: E402
from vitrina_common.telemetry import setup_telemetry  # noqa: E402

SERVICE = "api"
# In-flight requests get this long after SIGTERM; the pod's grace period is longer.
GRACEFUL_TIMEOUT_S = 10
log = get_logger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's stop event owns SIGTERM, so
    a signal during start-up (database still away) ends the process too."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: ApiServiceSettings) -> None:
    """Probes, the database, then HTTP until SIGTERM/SIGINT; in-flight requests finish."""
    stop = stop_event_on_signals()
    runtime = ApiRuntime(settings)
    try:
        if not await run_unless_stopped(runtime.start(), stop):
            return
        config = uvicorn.Config(
            create_app(settings.api, runtime.use_cases()),
            host=settings.api.host,
            port=settings.api.port,
            log_config=None,  # records go through our structlog setup
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_TIMEOUT_S,
        )
        server = runtime.server = _Server(config)
        serving = asyncio.ensure_future(server.serve())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopping.cancel()
        await serving
        if not server.started:
            raise RuntimeError(f"could not serve on {settings.api.host}:{settings.api.port}")
    finally:
        log.info("api stopping")
        await runtime.close()


def main() -> None:
    """Run the API until SIGTERM; exit 2 on bad settings, 1 on a crash."""
    settings = load_settings(SERVICE, ApiServiceSettings)
    configure_logging(settings.telemetry, SERVICE)
    telemetry = setup_telemetry(settings.telemetry, SERVICE)
    freeze_imported_objects()
    try:
        asyncio.run(serve(settings))
    except Exception:  # the last line of defence: log it structured, exit 1
        log.exception("service crashed")
        raise SystemExit(1) from None
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    main()
