"""Process start and stop shared by the services' entry points."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from vitrina_common.config import Settings, exit_on_config_error, load_settings
from vitrina_common.logging import configure_logging, get_logger
from vitrina_common.messaging.reconcile import TopologyConflictError
from vitrina_common.telemetry import Telemetry, setup_telemetry


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM (Kubernetes, the launcher) or SIGINT (Ctrl-C)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def init_observability(settings: Settings, service: str) -> Telemetry:
    """Logging first (so everything after is structured), then traces and metrics."""
    configure_logging(settings.telemetry, service)
    return setup_telemetry(settings.telemetry, service)


async def run_unless_stopped(startup: Awaitable[object], stop: asyncio.Event) -> bool:
    """Run ``startup`` unless ``stop`` is set first; True when startup finished.

    A SIGTERM while the database is still unreachable must end the process promptly,
    not after the retry loop gives up (it never does).
    """
    starting = asyncio.ensure_future(startup)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if starting.done():
        starting.result()
        return True
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    return False


def run_service(
    service: str,
    run: Callable[[Settings], Coroutine[Any, Any, None]],
    config_errors: tuple[type[Exception], ...] = (),
) -> None:
    """The body of a service's ``main``: settings, observability, the loop, the exit code.

    Exit 2 for configuration problems (bad settings, a stream or bucket that cannot take
    the configuration, or ``config_errors`` raised later, such as a token Telegram
    rejects), 1 with one structured log record for a crash.
    """
    settings = load_settings(service, Settings)
    telemetry = init_observability(settings, service)
    try:
        asyncio.run(run(settings))
    except TopologyConflictError as conflict:
        exit_on_config_error(service, conflict.problems)
    except config_errors as error:
        exit_on_config_error(service, [str(error)])
    except Exception:  # noqa: BLE001  (the last line of defence: log it structured, exit 1)
        get_logger(service).exception("service crashed")
        raise SystemExit(1) from None
    finally:
        telemetry.shutdown()
