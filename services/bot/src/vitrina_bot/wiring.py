"""Building the bot's dependencies and dispatcher from a started ServiceRuntime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram_dialog import setup_dialogs
from nats.js import JetStreamContext

from vitrina_bot.delivery import send_original_handler
from vitrina_bot.dialogs import build_dialogs_router, intent_ids
from vitrina_bot.dialogs.admin import build_admin_router
from vitrina_bot.downloads import Downloads
from vitrina_bot.files import FileSender
from vitrina_bot.handlers import build_root_router
from vitrina_bot.handlers.fallback import router as fallback_router
from vitrina_bot.imports.intake import ImportIntake, IntakeLimits
from vitrina_bot.middlewares.catalog_counts import CountAgainAfterAdmins
from vitrina_bot.middlewares.chat_locks import KvChatLocks
from vitrina_bot.middlewares.context import UserContextMiddleware
from vitrina_bot.middlewares.ordering import ChatOrderingMiddleware
from vitrina_bot.middlewares.telemetry import install_update_telemetry
from vitrina_bot.middlewares.throttling import ThrottlingMiddleware
from vitrina_bot.notices import alert_admins_handler, notify_user_handler
from vitrina_bot.refunds import StarRefunds, refund_charge_handler
from vitrina_bot.storage import NatsKVStorage
from vitrina_bot.storage.chat_copies import ChatCopies
from vitrina_bot.uploads.intake import UploadIntake, UploadLimits
from vitrina_common.clock import SystemClock
from vitrina_common.config import BotMode, Settings
from vitrina_common.notices import ALERT_ADMINS, NOTIFY_USER
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.retry import RetryPolicy
from vitrina_common.runtime import ServiceRuntime
from vitrina_common.services.admin_categories import AdminCategories
from vitrina_common.services.admin_products import AdminProducts
from vitrina_common.services.admin_products_lifecycle import ProductLifecycle
from vitrina_common.services.admin_users import AdminUsers
from vitrina_common.services.api_tokens import CreateApiToken, ListApiTokens, RevokeApiToken
from vitrina_common.services.broadcasts import ComposeBroadcasts, ControlBroadcasts
from vitrina_common.services.browse import Browse, CategoryCounts
from vitrina_common.services.catalog import RegisterUpload
from vitrina_common.services.checkout import (
    REFUND_CHARGE,
    SEND_ORIGINAL,
    CheckPreCheckout,
    DeliveryQueries,
    PurchaseQueries,
    RecordRefundedPayment,
    RecordSuccessfulPayment,
    RefundPurchase,
    RefundRefusedCharge,
    ReleaseReservation,
    StartCheckout,
)
from vitrina_common.services.imports import StartImport, import_limits
from vitrina_common.services.notifications.preferences import (
    CategoryFollows,
    NotificationPreferences,
)
from vitrina_common.services.profile import Profiles
from vitrina_common.services.reports import ReportQueries, RequestReports
from vitrina_common.services.tickets import Tickets
from vitrina_common.services.users import RegisterUser
from vitrina_common.services.waitlist.admin import AdminWaitlist
from vitrina_common.services.waitlist.handout import HandOutCopies, ReservationPolicy
from vitrina_common.services.waitlist.shopper import Waitlist
from vitrina_common.services.wishlist import Wishlist
from vitrina_common.storage.capacity import StorageRoom
from vitrina_common.storage.import_files import ImportFiles
from vitrina_common.storage.objects import ImageStore
from vitrina_common.storage.spool import Spool

# Product counts (categories screen, number of pages) may lag this much behind the
# catalog: one recount per interval per process instead of one per tap (see CategoryCounts).
CATALOG_COUNTS_TTL_S = 3.0


def build_dependencies(runtime: ServiceRuntime, bot: Bot) -> dict[str, Any]:
    """Every use case and service a handler may ask for by name, plus the outbox relay."""
    settings, sessions = runtime.settings, runtime.session_factory
    checkout = settings.checkout
    # Autocommit sessions for the read-only queries of every tap (catalog, cards, owns).
    reads = runtime.read_session_factory
    js = runtime.nats.jetstream()
    store = ImageStore(js)
    profiles = Profiles(sessions, reads)
    catalog_counts = CategoryCounts(reads, ttl_s=CATALOG_COUNTS_TTL_S)
    delivery_queries = DeliveryQueries(sessions)
    # Downloads from Telegram and files sent to it pass through here, not through memory.
    spool = Spool(settings.bot.temp_dir, "bot")
    spool.prepare()
    file_sender = FileSender(bot, store, delivery_queries, spool)
    admin_ids = frozenset(settings.bot.admin_ids)
    clock = SystemClock()
    # Refunds and a larger edition hand freed copies to the waitlist in their own commit.
    hand_out = HandOutCopies(clock, ReservationPolicy.from_settings(settings.waitlist))
    relay = OutboxRelay(
        sessions,
        {
            NATS_PUBLISH: nats_publish_handler(js),
            SEND_ORIGINAL: send_original_handler(delivery_queries, file_sender, profiles),
            REFUND_CHARGE: refund_charge_handler(bot, RefundRefusedCharge(sessions)),
            NOTIFY_USER: notify_user_handler(bot, profiles),
            ALERT_ADMINS: alert_admins_handler(bot, admin_ids, profiles),
        },
        policy=RetryPolicy.from_settings(settings.delivery),
    )
    room = StorageRoom(js, settings.nats.originals_full_percent)
    downloads = Downloads(bot, spool)
    upload_intake = UploadIntake(
        downloads,
        store,
        RegisterUpload(sessions),
        relay,
        UploadLimits(
            max_bytes=settings.worker.max_original_bytes, cloud_api=not settings.bot.api_is_local
        ),
        room,
    )
    import_intake = ImportIntake(
        bot,
        ImportFiles(js),
        StartImport(sessions),
        relay,
        IntakeLimits(
            parsing=import_limits(settings),
            max_zip_bytes=settings.imports.max_zip_bytes,
            cloud_api=not settings.bot.api_is_local,
        ),
        previews_to_admin=settings.bot.storage_chat_id is None,
        room=room,
        downloads=downloads,
    )
    return {
        "shop_name": settings.shop.name,
        "support_contact": settings.shop.support_contact,
        "admin_ids": admin_ids,
        "register_user": RegisterUser(sessions),
        "profiles": profiles,
        "notification_preferences": NotificationPreferences(sessions, clock),
        "category_follows": CategoryFollows(sessions, clock, reads),
        "browse": Browse(reads, catalog_counts),
        "catalog_counts": catalog_counts,
        "start_checkout": StartCheckout(sessions, timedelta(seconds=checkout.order_ttl_s)),
        "check_pre_checkout": CheckPreCheckout(sessions, timedelta(seconds=checkout.reservation_s)),
        "release_reservation": ReleaseReservation(sessions),
        "record_payment": RecordSuccessfulPayment(sessions),
        "record_refunded_payment": RecordRefundedPayment(sessions, hand_out),
        "purchase_queries": PurchaseQueries(reads),
        "file_sender": file_sender,
        "spool": spool,
        "upload_intake": upload_intake,
        "outbox_relay": relay,
        "admin_users": AdminUsers(sessions),
        "star_refunds": StarRefunds(bot, RefundPurchase(sessions, hand_out), profiles),
        "create_api_token": CreateApiToken(sessions),
        "list_api_tokens": ListApiTokens(sessions),
        "revoke_api_token": RevokeApiToken(sessions),
        "report_queries": ReportQueries(sessions, settings.shop.timezone),
        "report_requests": RequestReports(sessions),
        "admin_products": AdminProducts(sessions, clock),
        "product_lifecycle": ProductLifecycle(sessions, clock),
        "waitlist": Waitlist(sessions, hand_out),
        "wishlist": Wishlist(sessions, reads),
        "admin_waitlist": AdminWaitlist(sessions, admin_ids, hand_out),
        "admin_categories": AdminCategories(sessions),
        "compose_broadcasts": ComposeBroadcasts(sessions),
        "control_broadcasts": ControlBroadcasts(sessions),
        "admin_confirm_code": settings.bot.admin_confirm_code,
        "import_intake": import_intake,
        "tickets": Tickets(sessions, admin_ids),
    }


def build_dispatcher(
    dependencies: dict[str, Any],
    storage: BaseStorage,
    throttle_rate: float,
    throttle_burst: int,
    chat_locks: KvChatLocks | None = None,
    telemetry_key: bytes = b"",
    chat_copies: ChatCopies | None = None,
) -> Dispatcher:
    """Routers in the order they see updates, middlewares, and aiogram-dialog.

    ``chat_locks``: the cross-replica per-chat locks webhook replicas need (polling runs one
    process, where the in-process ones suffice); ``chat_copies``: the storage's copies those
    locks prove current. ``telemetry_key``: keys the user hash on update spans.
    """
    # aiogram's FSM middleware reads the state: registered after the per-chat ordering, that
    # read happens inside the chat's lock (served from the chat's copies where proven).
    dispatcher = Dispatcher(storage=storage, disable_fsm=True, **dependencies)
    install_update_telemetry(dispatcher, telemetry_key)
    dispatcher.update.outer_middleware(ChatOrderingMiddleware(chat_locks, chat_copies))
    dispatcher.update.outer_middleware(dispatcher.fsm)
    dispatcher.update.outer_middleware(
        UserContextMiddleware(dependencies["profiles"], dependencies["admin_ids"])
    )
    dispatcher.update.outer_middleware(
        CountAgainAfterAdmins(dependencies["catalog_counts"], dependencies["admin_ids"])
    )
    dispatcher.update.outer_middleware(
        ThrottlingMiddleware(throttle_rate, throttle_burst, exempt=dependencies["admin_ids"])
    )
    dispatcher.include_router(build_root_router())
    dispatcher.include_router(build_admin_router())
    dispatcher.include_router(build_dialogs_router())
    dispatcher.include_router(fallback_router)
    setup_dialogs(dispatcher)
    intent_ids.install()
    return dispatcher


@dataclass(frozen=True)
class UpdateDispatch:
    """What handles updates: the dispatcher, and the FSM storage and chat locks under it
    (``tests/bot_costs.py`` counts their operations)."""

    dispatcher: Dispatcher
    storage: NatsKVStorage
    chat_locks: KvChatLocks | None


async def build_update_dispatch(
    settings: Settings, js: JetStreamContext, dependencies: dict[str, Any]
) -> UpdateDispatch:
    """The dispatcher for ``settings.bot.mode``, on its storage and locks.

    Polling runs as exactly one process (Telegram allows one poller per token): the storage
    may then keep local copies. Webhook replicas share records, take a chat's lock across
    replicas, and keep only the copies that lock proves current.
    """
    webhook = settings.bot.mode is BotMode.WEBHOOK
    chat_copies = ChatCopies() if webhook else None
    storage = await NatsKVStorage.create(js, single_writer=not webhook, chat_copies=chat_copies)
    chat_locks = await KvChatLocks.create(js) if webhook else None
    dispatcher = build_dispatcher(
        dependencies,
        storage,
        settings.bot.throttle_rate,
        settings.bot.throttle_burst,
        chat_locks,
        telemetry_key=settings.bot.token.get_secret_value().encode(),
        chat_copies=chat_copies,
    )
    return UpdateDispatch(dispatcher, storage, chat_locks)
