"""Error reporting to Sentry, only when ``APP_CONF__TELEMETRY__SENTRY_DSN`` is set.

Sentry's logging integration turns every ERROR record into an event, which covers what
aiogram and FastStream log when a handler raises, and our own ``log.error`` lines; the
asyncio integration reports exceptions of tasks nobody awaited. Traces stay with
OpenTelemetry (Sentry's tracing is off); no personal data is sent by default.
"""

from __future__ import annotations

from importlib.metadata import version

import sentry_sdk
from sentry_sdk.integrations.asyncio import AsyncioIntegration

from vitrina_common.config import TelemetrySettings


def release_of(settings: TelemetrySettings) -> str:
    """The configured release, or ``vitrina@<version of vitrina-common>``."""
    return settings.release or f"vitrina@{version('vitrina-common')}"


def init_error_reporting(settings: TelemetrySettings, service: str) -> bool:
    """Start the Sentry client for ``service``; False (and nothing started) without a DSN."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        release=release_of(settings),
        environment=settings.environment,
        integrations=[AsyncioIntegration()],
        traces_sample_rate=0.0,
        send_default_pii=False,
    )
    sentry_sdk.set_tag("service", service)
    return True
