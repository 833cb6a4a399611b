"""Process start and stop shared by the services' entry points."""

from __future__ import annotations

import asyncio
import contextlib
import gc
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


def freeze_imported_objects() -> None:
    """Move everything the imports made out of the garbage collector's reach.

    The modules leave ~300 000 long-lived objects (a pydantic model per Bot API type,
    SQLAlchemy mappers, Pillow plugins) and no garbage among them. Frozen, they cost nothing
    in each full collection and, above all, nothing at interpreter exit, whose collections
    over them took 3-5 s on a loaded 2-core machine after the service had already stopped:
    a rolling update waited that long per replica. Call it once, after the imports; it also
    turns collection back on, which the services' ``__main__`` turns off for the imports.
    """
    gc.freeze()
    gc.enable()


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
    freeze_imported_objects()
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
