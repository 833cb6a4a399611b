"""Settings for every Vitrina service, read once at start.

Environment variables use the prefix ``APP_CONF__`` and ``__`` between levels, so
``APP_CONF__DB__HOST`` sets ``Settings.db.host``. A ``.env`` file in the working
directory is read too, and secrets may come from files in a secrets directory
(``APP_CONF_SECRETS_DIR``, default ``/run/secrets/vitrina``), one file per setting named
exactly like its variable, e.g. ``APP_CONF__BOT__TOKEN`` — the shape a Kubernetes Secret
mounted as a volume takes. Precedence: environment, then ``.env``, then secret files.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from vitrina_common.config_jetstream import JetStreamLimits
from vitrina_common.config_scheduling import SchedulingSettings
from vitrina_common.config_sending import SendingSettings

ENV_PREFIX = "APP_CONF__"
NESTED_DELIMITER = "__"
SECRETS_DIR_ENV = "APP_CONF_SECRETS_DIR"
DEFAULT_SECRETS_DIR = Path("/run/secrets/vitrina")
CONFIG_ERROR_EXIT_CODE = 2

Port = Annotated[int, Field(ge=1, le=65535)]


class DbSettings(BaseModel):
    """Postgres connection; ``dsn`` (e.g. from a Secret) wins over the parts."""

    host: str = "127.0.0.1"
    port: Port = 5432
    user: str = "postgres"
    password: SecretStr = SecretStr("")
    name: str = "vitrina"
    dsn: SecretStr | None = None
    # Connections per process. Beyond them a session waits for a free one (up to
    # ``pool_timeout_s``) rather than opening a connection that is closed again on return:
    # under load that churn cost more than the wait (new backends, statements prepared again).
    pool_size: int = Field(default=10, ge=1, le=100)
    max_overflow: int = Field(default=0, ge=0, le=100)
    pool_timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)

    def sqlalchemy_url(self) -> str:
        """The asyncpg URL SQLAlchemy connects with."""
        if self.dsn is not None:
            raw = self.dsn.get_secret_value()
            for scheme in ("postgresql://", "postgres://"):
                if raw.startswith(scheme):
                    return "postgresql+asyncpg://" + raw.removeprefix(scheme)
            return raw
        password = self.password.get_secret_value()
        auth = f"{self.user}:{password}" if password else self.user
        return f"postgresql+asyncpg://{auth}@{self.host}:{self.port}/{self.name}"


class NatsSettings(JetStreamLimits):
    """NATS servers (comma-separated URLs), optional credentials, and what the streams and
    buckets are given (replicas; ``max_bytes`` each, from ``JetStreamLimits``)."""

    url: str = "nats://127.0.0.1:4222"
    user: str | None = None
    password: SecretStr | None = None
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # One replica per stream on a single node; 3 in a clustered production install.
    stream_replicas: int = Field(default=1, ge=1, le=5)

    @property
    def servers(self) -> list[str]:
        """The server URLs as a list."""
        return [part.strip() for part in self.url.split(",") if part.strip()]


class BotMode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class BotSettings(BaseModel):
    """Telegram side of the bot service."""

    token: SecretStr
    # A local Bot API server (lifts the 20 MB download limit); empty means Telegram's cloud.
    api_url: str | None = None
    # True when api_url is a local Bot API server started with --local: it returns file
    # paths on its own disk instead of download URLs, and has no 20 MB download limit.
    api_is_local: bool = False
    admin_ids: list[int] = Field(default_factory=list)
    # Where previews are uploaded once to get a reusable file_id; default: the uploader.
    storage_chat_id: int | None = None
    health_port: Port = 8080
    # polling: one instance asks Telegram for updates. webhook: Telegram posts them to
    # webhook_url; any number of replicas behind a Service answer.
    mode: BotMode = BotMode.POLLING
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_port: Port = 8443
    webhook_path: str = "/telegram/webhook"
    # Updates per second one user may send before the bot ignores them for a moment.
    throttle_rate: float = Field(default=3.0, gt=0)
    throttle_burst: int = Field(default=10, ge=1)
    # When set, deleting a product or a category asks the admin to type this code (a second
    # step against a slip of the finger or a borrowed phone); unset, a button confirms.
    admin_confirm_code: SecretStr | None = None
    # Where downloads from Telegram are spooled (an import's ZIP, an upload) instead of
    # memory; None: the system's temporary directory. Needs room for the largest ZIP.
    temp_dir: Path | None = None

    @field_validator("admin_confirm_code")
    @classmethod
    def _blank_code_is_no_code(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty variable (APP_CONF__BOT__ADMIN_CONFIRM_CODE=) means "no code", not "".
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> BotSettings:
        if self.mode is BotMode.WEBHOOK and not (self.webhook_url and self.webhook_secret):
            raise ValueError(
                "webhook mode needs APP_CONF__BOT__WEBHOOK_URL and APP_CONF__BOT__WEBHOOK_SECRET"
            )
        return self

    @field_validator("token")
    @classmethod
    def _token_has_bot_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        bot_id, _, secret = token.partition(":")
        # ASCII digits: "²".isdigit() is true, and aiogram's int() of the id would raise.
        if not (bot_id.isascii() and bot_id.isdigit() and secret):
            raise ValueError("must look like 123456:ABC-DEF… (the token @BotFather gave you)")
        return value


class RenderPool(StrEnum):
    THREAD = "thread"
    PROCESS = "process"


class WorkerSettings(BaseModel):
    """Job processing in the worker service."""

    health_port: Port = 8081
    # Renders run off the event loop: in threads (Pillow releases the GIL while decoding,
    # resizing and encoding; no copying of image bytes) or in processes (a decoder crash
    # kills a child, not the worker, at the cost of shipping every image to it).
    render_pool: RenderPool = RenderPool.THREAD
    render_concurrency: int = Field(default=1, ge=1, le=64)
    # Jobs one worker process holds at once (fetched, rendering or storing).
    max_concurrent_jobs: int = Field(default=2, ge=1, le=256)
    # JetStream redelivers a job nobody acked within this time (a killed worker's job).
    ack_wait_s: float = Field(default=60.0, ge=1)
    max_deliver: int = Field(default=5, ge=1, le=100)
    # On SIGTERM, in-flight jobs get this long to finish before the process exits.
    drain_timeout_s: float = Field(default=30.0, gt=0)
    preview_long_side: int = Field(default=1280, ge=64, le=8192)
    preview_jpeg_quality: int = Field(default=85, ge=1, le=95)
    # Images above this many pixels are refused (decompression bombs), 100 MP by default.
    max_pixels: int = Field(default=100_000_000, ge=1)
    max_original_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    # The process's memory limit, which bounds what one render may decode (see the
    # worker's rendering/budget.py). None: the cgroup's limit (a container's
    # resources.limits.memory), or no memory budget at all when there is none.
    memory_limit_bytes: int | None = Field(default=None, ge=64 * 1024 * 1024)
    # What the budget leaves for everything but the decode: the process itself (141 MiB
    # measured) and the originals its render jobs hold (README "Memory limits").
    memory_reserve_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    # Where an import plan spools the ZIP (None: the system's temporary directory).
    temp_dir: Path | None = None


class ImportSettings(BaseModel):
    """Bulk imports (a CSV and a ZIP of images): what one import may ask of bot and worker.

    Each image in the ZIP is held to ``worker.max_original_bytes`` like an upload.
    """

    # Checked by the bot from the size Telegram states, before downloading anything.
    max_csv_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Bot and worker hold the ZIP in memory while reading it: size their memory for it.
    max_zip_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    max_rows: int = Field(default=10_000, ge=1)
    # One line of the CSV; a longer one fails its row before the csv module parses it.
    max_line_chars: int = Field(default=64 * 1024, ge=256)
    # ZIP bombs: files in the ZIP, and all of them uncompressed (stated by the directory,
    # enforced again while reading).
    max_zip_entries: int = Field(default=2_000, ge=1)
    max_zip_total_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=1024)
    # Row jobs one worker process runs at once (short database transactions).
    row_jobs_per_worker: int = Field(default=4, ge=1, le=64)


class CheckoutSettings(BaseModel):
    """Invoices and the copies of limited editions held for shoppers who are paying."""

    # An invoice (its order) can be paid for this long after "Buy".
    order_ttl_s: float = Field(default=900.0, ge=30)
    # A pre-checkout that passed holds one copy of a limited edition this long: Telegram
    # charges and reports the payment within seconds, and a copy held longer than needed
    # only keeps the edition from others. A payment arriving later still gets the copy if
    # one is left, and is refunded automatically if not.
    reservation_s: float = Field(default=300.0, ge=10)


class DeliverySettings(BaseModel):
    """Retries of the update inbox (payments to replay) and of the outbox (sends, refunds,
    publishes): exponential backoff, then a dead state the admins are told about."""

    max_attempts: int = Field(default=10, ge=1, le=100)
    first_retry_s: float = Field(default=1.0, gt=0)
    max_retry_s: float = Field(default=300.0, gt=0)


class RetentionSettings(BaseModel):
    """How long rows that have served their purpose are kept; the worker deletes older
    ones on a schedule. Purchases and paid orders are never deleted (accounting)."""

    # How often retention runs (on one worker replica at a time).
    interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # Inbox rows that are closed or never carried money. Telegram redelivers an update for
    # at most a day; the inbox must remember its id longer to recognise the repeat.
    telegram_updates_days: int = Field(default=7, ge=2)
    # Delivered outbox rows (undelivered ones stay however old). While a row is kept, its
    # dedup key keeps the same intent from being recorded twice.
    outbox_days: int = Field(default=7, ge=1)
    # Rows of imports that finished (done or refused); the import's summary row stays.
    import_rows_days: int = Field(default=30, ge=1)
    # Orders never paid, counted from their expiry.
    unpaid_orders_days: int = Field(default=30, ge=1)
    # Recipients of broadcasts that ended (done or cancelled); the broadcast's row stays.
    broadcast_recipients_days: int = Field(default=30, ge=1)
    # Notifications no longer pending (sent, failed, blocked, skipped), from their creation.
    # Their dedup keys go with them: a key names one event (a reservation, a local date),
    # not repeated that much later.
    notifications_days: int = Field(default=30, ge=1)
    # Dead inbox and outbox rows (given up, the admins told): the evidence of what failed,
    # kept long enough for someone to look.
    dead_days: int = Field(default=90, ge=1)
    # Closed support tickets (their conversation and moves with them), counted from their
    # last change: a year of answered questions to look back on, then they go.
    closed_tickets_days: int = Field(default=365, ge=30)


class ApiSettings(BaseModel):
    """The HTTP API service: where it listens and how much one page may hold."""

    # All interfaces: in a pod the Service and the kubelet reach it from outside loopback.
    host: str = "0.0.0.0"  # noqa: S104
    port: Port = 8082
    health_port: Port = 8083
    # Items per page when a request gives no ``limit``, and the most a ``limit`` may ask.
    page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=200, ge=1, le=1000)
    # last_used_at is written at most this often per token: a busy integration would
    # otherwise turn every read into a write.
    token_touch_interval_s: float = Field(default=60.0, ge=0)

    @model_validator(mode="after")
    def _page_size_within_max(self) -> ApiSettings:
        if self.page_size > self.max_page_size:
            raise ValueError(
                "APP_CONF__API__PAGE_SIZE must not exceed APP_CONF__API__MAX_PAGE_SIZE"
            )
        return self


class TicketSettings(BaseModel):
    """Support tickets."""

    # A ticket waiting this long for the shop's answer (open, or the shopper wrote again)
    # is brought to the admins' attention, once per this many hours while it waits.
    reminder_hours: int = Field(default=4, ge=1, le=7 * 24)


class WaitlistSettings(BaseModel):
    """Limited-edition waitlists."""

    # A freed copy is reserved for the first in line this long; not bought by then, it
    # goes to the next. A day-before reminder needs more than 24 hours, an hour-before one
    # more than 1.
    reservation_hours: float = Field(default=48.0, ge=0.25, le=14 * 24)


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class TelemetrySettings(BaseModel):
    """Logs, traces and metrics."""

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.AUTO
    service_namespace: str = "vitrina"
    # How often the bot reads the backlog and consumer-lag gauges (one pass per process).
    collect_interval_s: float = Field(default=15.0, gt=0, le=300)
    # Errors to Sentry when set (a secret file on Kubernetes); unset: nothing is sent.
    sentry_dsn: SecretStr | None = None
    # Sentry's environment and release tags (e.g. staging, the image tag).
    environment: str = "production"
    release: str = ""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level


class ShopSettings(BaseModel):
    """What shoppers see of the shop."""

    name: str = Field(default="Vitrina", min_length=1, max_length=64)
    # Shown by /paysupport and /terms (Telegram requires a payment support contact).
    support_contact: str = "@support"
    # Where "today" starts for sales summaries, charts and export timestamps (IANA name).
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, e.g. Europe/Moscow or UTC") from None
        return value


class _AppSettings(BaseSettings):
    """Where settings come from; subclasses say which sections they need."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        secrets_nested_delimiter=NESTED_DELIMITER,
        secrets_dir_missing="ok",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003  (pydantic-settings hook signature)
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The nested source maps a file named APP_CONF__BOT__TOKEN onto settings.bot.token.
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            NestedSecretsSettingsSource(file_secret_settings),
        )


class Settings(_AppSettings):
    """All settings of a Vitrina service process."""

    db: DbSettings = Field(default_factory=DbSettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    bot: BotSettings
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    shop: ShopSettings = Field(default_factory=ShopSettings)
    imports: ImportSettings = Field(default_factory=ImportSettings)
    checkout: CheckoutSettings = Field(default_factory=CheckoutSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    waitlist: WaitlistSettings = Field(default_factory=WaitlistSettings)
    sending: SendingSettings = Field(default_factory=SendingSettings)
    scheduling: SchedulingSettings = Field(default_factory=SchedulingSettings)


class DatabaseSettings(_AppSettings):
    """Only the database section: migrations must run without a bot token."""

    db: DbSettings = Field(default_factory=DbSettings)


class InfrastructureSettings(DatabaseSettings):
    """Database and NATS: what provisioning and readiness gates need, no Telegram."""

    nats: NatsSettings = Field(default_factory=NatsSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)


class ApiServiceSettings(DatabaseSettings):
    """The API service: Postgres only (what reaches Telegram goes through the outbox)."""

    api: ApiSettings = Field(default_factory=ApiSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)


SettingsT = TypeVar("SettingsT", bound=_AppSettings)


def _secrets_dir() -> Path | None:
    configured = os.environ.get(SECRETS_DIR_ENV)
    path = Path(configured) if configured else DEFAULT_SECRETS_DIR
    return path if path.is_dir() else None


def _required_leaves(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Env names of the required fields under ``loc`` (a whole missing section names its leaves)."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return [_env_name(loc)]
        model = annotation
    return [
        _env_name((*loc, name)) for name, field in model.model_fields.items() if field.is_required()
    ]


def _env_name(loc: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part) for part in loc).upper()


def describe_errors(error: ValidationError, settings_type: type[BaseModel]) -> list[str]:
    """One human line per invalid setting, naming the environment variable."""
    lines = []
    for item in error.errors():
        if item["type"] == "missing":
            lines += [f"{name} is not set" for name in _required_leaves(settings_type, item["loc"])]
        else:
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"{_env_name(item['loc'])} is invalid: {message}")
    return lines


def load_settings(service: str, settings_type: type[SettingsT]) -> SettingsT:
    """Read the settings, or stop the process with exit code 2 and one line per problem.

    A traceback helps nobody fix an environment variable, so none is printed.
    """
    try:
        return settings_type(_secrets_dir=_secrets_dir())
    except ValidationError as error:
        exit_on_config_error(service, describe_errors(error, settings_type))


def exit_on_config_error(service: str, problems: list[str]) -> NoReturn:
    """Print the problems as ``<service>: config error: …`` lines on stderr and exit 2."""
    for problem in problems:
        print(f"{service}: config error: {problem}", file=sys.stderr)  # noqa: T201
    raise SystemExit(CONFIG_ERROR_EXIT_CODE)
