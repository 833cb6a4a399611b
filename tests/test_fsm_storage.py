"""FSM storage in the NATS KV bucket: persistent across restarts, shared by replicas, race-safe."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiogram import Dispatcher
from aiogram.exceptions import DataNotDictLikeError
from aiogram.filters import CommandStart, ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window, setup_dialogs
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent, UnknownState
from aiogram_dialog.test_tools import BotClient, MockMessageManager
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from aiogram_dialog.widgets.kbd import Button, Next
from aiogram_dialog.widgets.text import Const
from nats.aio.client import Client
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyWrongLastSequenceError

from devstack.nats import NatsServer
from tests.pipeline import wait_until
from tests.services import nats_settings
from vitrina_bot.storage import NatsKVStorage, StorageConflictError, decode_key, encode_key
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_target
from vitrina_common.messaging.targets import TargetKind, bucket_target
from vitrina_common.messaging.topology import BucketSpec

pytestmark = pytest.mark.nats

USER = StorageKey(bot_id=1, chat_id=7, user_id=7)
# nats-py's own rule for keys (nats/js/kv.py), restated so the test does not import a private.
KV_KEY = re.compile(r"^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$")


class Checkout(StatesGroup):
    email = State()
    confirm = State()


@pytest_asyncio.fixture(loop_scope="session")
async def storage(nats_client: Client) -> NatsKVStorage:
    """A replica's storage on the test's freshly provisioned ``fsm`` bucket."""
    return await NatsKVStorage.create(nats_client.jetstream())


@pytest_asyncio.fixture(loop_scope="session")
async def other_connection(nats_server: NatsServer, nats_client: Client) -> AsyncIterator[Client]:
    """A second connection, as another replica or a restarted bot would have."""
    del nats_client  # only its ordering matters: the bucket is provisioned first
    client = await connect_nats(nats_settings(nats_server.url, "bot"), name="fsm-other-replica")
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def other_storage(other_connection: Client) -> NatsKVStorage:
    """The storage of another replica (or of the bot after a restart)."""
    return await NatsKVStorage.create(other_connection.jetstream())


def test_keys_keep_parts_readable_and_escape_everything_else() -> None:
    assert (
        encode_key("fsm:1:-100123:42:aiogd:stack:<42>:data")
        == "fsm.1.-100123.42.aiogd.stack.=3C42=3E.data"
    )
    odd = ["a.b:c=d", ":lead", "trail:", "a::b", "ü €>*", "x/y_z-1", "=3C", "="]
    encoded = [encode_key(key) for key in odd]
    assert all(KV_KEY.match(kv_key) for kv_key in encoded), encoded
    assert [decode_key(kv_key) for kv_key in encoded] == odd
    assert len(set(encoded)) == len(odd)


async def test_state_and_data_round_trip(storage: NatsKVStorage) -> None:
    await storage.set_state(USER, Checkout.email)
    await storage.set_data(USER, {"cart": [1, 2], "note": "привет", "n": None})

    assert await storage.get_state(USER) == "Checkout:email"
    assert await storage.get_data(USER) == {"cart": [1, 2], "note": "привет", "n": None}
    assert await storage.get_value(USER, "note") == "привет"
    assert await storage.update_data(USER, {"n": 3}) == {"cart": [1, 2], "note": "привет", "n": 3}


async def test_unknown_key_has_no_state_and_empty_data(storage: NatsKVStorage) -> None:
    assert await storage.get_state(USER) is None
    assert await storage.get_data(USER) == {}


async def test_state_and_data_survive_a_restart(
    storage: NatsKVStorage, other_storage: NatsKVStorage
) -> None:
    await storage.set_state(USER, "Checkout:confirm")
    await storage.update_data(USER, {"email": "a@example.com"})

    # other_storage stands for the restarted bot: a new connection and a new instance.
    assert await other_storage.get_state(USER) == "Checkout:confirm"
    assert await other_storage.get_data(USER) == {"email": "a@example.com"}


async def test_replicas_see_each_others_writes(
    storage: NatsKVStorage, other_storage: NatsKVStorage
) -> None:
    await storage.set_state(USER, Checkout.email)
    assert await other_storage.get_state(USER) == "Checkout:email"

    await other_storage.set_state(USER, Checkout.confirm)
    await other_storage.set_data(USER, {"by": "other"})
    assert await storage.get_state(USER) == "Checkout:confirm"
    assert await storage.get_data(USER) == {"by": "other"}


@pytest.mark.parametrize("before", ["absent", "present", "cleared"])
async def test_concurrent_updates_from_two_replicas_lose_no_field(
    storage: NatsKVStorage, other_storage: NatsKVStorage, before: str
) -> None:
    if before != "absent":
        await storage.set_data(USER, {"seed": True})
    if before == "cleared":
        await storage.set_data(USER, {})
    replicas = (storage, other_storage)

    await asyncio.gather(*(replicas[i % 2].update_data(USER, {f"field{i}": i}) for i in range(20)))

    data = await storage.get_data(USER)
    assert {f"field{i}": i for i in range(20)}.items() <= data.items()
    assert ("seed" in data) is (before == "present")


async def test_chats_threads_connections_and_destinies_do_not_collide(
    storage: NatsKVStorage,
) -> None:
    keys = [
        StorageKey(bot_id=1, chat_id=100123, user_id=5),
        StorageKey(bot_id=1, chat_id=-100123, user_id=5),
        StorageKey(bot_id=1, chat_id=-100123, user_id=5, thread_id=9),
        StorageKey(bot_id=1, chat_id=-100123, user_id=5, thread_id=10),
        StorageKey(bot_id=1, chat_id=5, user_id=5, business_connection_id="Ab-c_d.e:f"),
        StorageKey(bot_id=1, chat_id=5, user_id=5, business_connection_id="Ab-c_d.e:g"),
        StorageKey(bot_id=2, chat_id=5, user_id=5),
        StorageKey(bot_id=1, chat_id=5, user_id=5),
        StorageKey(bot_id=1, chat_id=5, user_id=5, destiny="aiogd:stack:<5>"),
        StorageKey(bot_id=1, chat_id=5, user_id=5, destiny="aiogd:context:Xy.1=z"),
    ]

    for number, key in enumerate(keys):
        await storage.set_state(key, f"S:{number}")
        await storage.set_data(key, {"number": number})

    assert [await storage.get_state(key) for key in keys] == [f"S:{n}" for n in range(len(keys))]
    assert [(await storage.get_data(key))["number"] for key in keys] == list(range(len(keys)))


async def test_clearing_removes_state_and_data_and_later_writes_work(
    storage: NatsKVStorage, other_storage: NatsKVStorage
) -> None:
    context = FSMContext(storage=storage, key=USER)
    await context.set_state(Checkout.email)
    await context.update_data(email="a@example.com")

    await context.clear()

    assert await other_storage.get_state(USER) is None
    assert await other_storage.get_data(USER) == {}
    assert await other_storage.update_data(USER, {"again": 1}) == {"again": 1}
    await other_storage.set_state(USER, Checkout.confirm)
    assert await context.get_state() == "Checkout:confirm"


async def test_update_gives_up_after_losing_every_race(
    storage: NatsKVStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def always_outraced(*_: Any, **__: Any) -> int:
        raise KeyWrongLastSequenceError(description="wrong last sequence")

    monkeypatch.setattr(storage.kv, "update", always_outraced)
    storage.update_attempts = 3

    with pytest.raises(StorageConflictError):
        await storage.update_data(USER, {"x": 1})


async def test_data_must_be_a_dict(storage: NatsKVStorage) -> None:
    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(USER, [("a", 1)])  # type: ignore[arg-type]


class Wizard(StatesGroup):
    first = State()
    second = State()


async def start_wizard(_message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(Wizard.first, mode=StartMode.RESET_STACK)


async def on_finish(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    manager.middleware_data["finished"].append(callback.from_user.id)
    await manager.done()


def wizard_dispatcher(
    storage: NatsKVStorage, messages: MockMessageManager, finished: list[int]
) -> Dispatcher:
    """A fresh bot process: a Dialog router attaches to one dispatcher only, so build anew."""
    dispatcher = Dispatcher(storage=storage, finished=finished)
    dispatcher.message.register(start_wizard, CommandStart())
    dispatcher.include_router(
        Dialog(
            Window(Const("first"), Next(Const("Next")), state=Wizard.first),
            Window(
                Const("second"),
                Button(Const("Finish"), id="finish", on_click=on_finish),
                state=Wizard.second,
            ),
        )
    )
    setup_dialogs(dispatcher, message_manager=messages)
    return dispatcher


async def test_dialog_continues_on_its_second_window_after_a_restart(
    storage: NatsKVStorage, other_storage: NatsKVStorage
) -> None:
    finished: list[int] = []
    before = MockMessageManager()  # type: ignore[no-untyped-call]
    client = BotClient(wizard_dispatcher(storage, before, finished))
    await client.send("/start")
    await client.click(before.one_message(), InlineButtonTextLocator("Next"))
    second = before.last_message()
    assert second.text == "second"

    after = MockMessageManager()  # type: ignore[no-untyped-call]
    restarted = BotClient(wizard_dispatcher(other_storage, after, finished))
    await restarted.click(second, InlineButtonTextLocator("Finish"))

    assert finished == [client.user.id]


async def test_an_expired_conversations_old_button_opens_a_fresh_dialog(
    nats_client: Client,
) -> None:
    js = nats_client.jetstream()
    bucket = BucketSpec("fsm-expiring", "conversations that expire")
    await js.create_key_value(KeyValueConfig(bucket=bucket.name))
    messages = MockMessageManager()  # type: ignore[no-untyped-call]
    finished: list[int] = []
    outdated: list[str] = []
    dispatcher = wizard_dispatcher(await NatsKVStorage.create(js, bucket.name), messages, finished)

    # What the bot's errors router does with a button whose dialog is gone.
    @dispatcher.errors(ExceptionTypeFilter(UnknownIntent, UnknownState, OutdatedIntent))
    async def fresh_dialog(event: ErrorEvent, dialog_manager: DialogManager) -> None:
        outdated.append(type(event.exception).__name__)
        await dialog_manager.start(Wizard.first, mode=StartMode.RESET_STACK)

    client = BotClient(dispatcher)
    await client.send("/start")
    await client.click(messages.one_message(), InlineButtonTextLocator("Next"))
    second = messages.last_message()

    expiring = replace(bucket, ttl=timedelta(seconds=1))
    await provision_target(js, bucket_target(TargetKind.KEY_VALUE, expiring, 1, max_bytes=-1))

    async def expired() -> bool:
        return (await js.stream_info(f"KV_{bucket.name}")).state.messages == 0

    await wait_until(expired, timeout_s=15)
    await client.click(second, InlineButtonTextLocator("Finish"))

    assert finished == []
    assert outdated == ["UnknownIntent"]
    assert messages.last_message().text == "first"


# --- one writer (polling mode): local copies ----------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def single_writer(nats_client: Client) -> NatsKVStorage:
    """The storage of the one polling bot: it may trust its own copies."""
    return await NatsKVStorage.create(nats_client.jetstream(), single_writer=True)


class CountingKV:
    """Counts the bucket round trips a storage makes."""

    def __init__(self, storage: NatsKVStorage, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        for name in ("get", "put", "delete", "update"):
            original = getattr(storage.kv, name)
            monkeypatch.setattr(storage.kv, name, self._counted(name, original))

    def _counted(self, name: str, original: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await original(*args, **kwargs)

        return call


async def test_one_writer_reads_its_own_copy_and_skips_writes_that_change_nothing(
    single_writer: NatsKVStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    kv = CountingKV(single_writer, monkeypatch)

    await single_writer.set_data(USER, {"page": 2})
    await single_writer.set_state(USER, Checkout.email)
    assert await single_writer.get_data(USER) == {"page": 2}
    assert await single_writer.get_state(USER) == "Checkout:email"
    await single_writer.set_data(USER, {"page": 2})
    await single_writer.set_state(USER, Checkout.email)

    assert kv.calls == ["put", "put"]


async def test_one_writers_records_survive_a_restart_and_clearing_works(
    single_writer: NatsKVStorage, other_connection: Client
) -> None:
    await single_writer.set_state(USER, Checkout.confirm)
    await single_writer.set_data(USER, {"email": "a@example.com"})
    restarted = await NatsKVStorage.create(other_connection.jetstream(), single_writer=True)

    assert await restarted.get_state(USER) == "Checkout:confirm"
    assert await restarted.get_data(USER) == {"email": "a@example.com"}
    await restarted.set_state(USER, None)
    await restarted.set_data(USER, {})
    again = await NatsKVStorage.create(other_connection.jetstream(), single_writer=True)
    assert await again.get_state(USER) is None
    assert await again.get_data(USER) == {}
    assert await again.update_data(USER, {"n": 1}) == {"n": 1}
    assert await again.get_data(USER) == {"n": 1}
