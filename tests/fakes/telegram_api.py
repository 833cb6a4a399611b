"""A fake Telegram Bot API *HTTP server*: the real aiogram client talks to it over HTTP.

It serves ``/bot<token>/<method>`` like api.telegram.org: ``getUpdates`` long-polls a queue
the test fills with ``push_update``, ``getMe`` names the bot, and every other call is
recorded in ``calls`` and answered with a plausible result.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from devstack.ports import LOOPBACK, free_port
from tests.fakes.flood import FloodControl

BOT_ID = 424242
TOKEN = f"{BOT_ID}:TEST-token-for-the-fake-api"


@dataclass
class RecordedCall:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    # When it arrived (``time.monotonic``, the clock of the flood control's timeline).
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded, with the call's chat and caption."""

    method: str
    chat_id: int
    filename: str | None
    data: bytes
    caption: str | None


def _decode(value: str) -> Any:
    # aiogram sends nested objects (reply_markup, prices…) as JSON strings in form fields.
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class ScriptedError:
    """An error the fake answers one call of a method with, as Telegram would."""

    error_code: int
    description: str
    retry_after: int | None = None

    def response(self) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.error_code)


STALE_FILE_ID = ScriptedError(400, "Bad Request: wrong file identifier/HTTP URL specified")
ALREADY_REFUNDED = ScriptedError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
BLOCKED_BY_USER = ScriptedError(403, "Forbidden: bot was blocked by the user")
USER_DEACTIVATED = ScriptedError(403, "Forbidden: user is deactivated")


@dataclass
class FakeTelegram:
    """State of the fake server; ``url`` is what ``APP_CONF__BOT__API_URL`` gets."""

    url: str = ""
    calls: list[RecordedCall] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _new_call: asyncio.Event = field(default_factory=asyncio.Event)
    confirmed_offset: int = 0
    # Messages the bot sent or edited, by (chat, message id): callbacks carry them back.
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _charges: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # file_id → bytes, served by getFile and /file/bot<token>/<path> like the real API.
    files: dict[str, bytes] = field(default_factory=dict)
    # file_id → a file on this machine's disk, served as a local Bot API server (--local)
    # does: getFile names its absolute path, which the bot reads itself.
    local_files: dict[str, Path] = field(default_factory=dict)
    _file_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Files the bot uploaded (sendDocument, sendPhoto … with bytes), oldest first.
    uploads: list[Upload] = field(default_factory=list)
    # Errors the next calls of a method get, in order (``fail_next``).
    _scripted: dict[str, list[ScriptedError]] = field(default_factory=dict)
    # file_ids Telegram does not know (another bot's, expired): sending one is refused.
    unknown_file_ids: set[str] = field(default_factory=set)
    # Seconds each call of a method takes before it is answered (``slow_down``).
    delays: dict[str, float] = field(default_factory=dict)
    # Charges refunded so far: a second refundStarPayment is CHARGE_ALREADY_REFUNDED.
    refunded_charges: set[str] = field(default_factory=set)
    # Telegram's flood control, when a test sets it: calls beyond its limits get 429.
    flood: FloodControl | None = None
    # Chats that refuse every message (BLOCKED_BY_USER, USER_DEACTIVATED).
    gone_chats: dict[int, ScriptedError] = field(default_factory=dict)

    def fail_next(self, method: str, error: ScriptedError, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``error`` (recorded as
        ``<method>:failed``)."""
        self._scripted.setdefault(method, []).extend([error] * times)

    def slow_down(self, method: str, seconds: float) -> None:
        """Make every call of ``method`` take ``seconds`` (recorded when it arrives)."""
        self.delays[method] = seconds

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update (its ``update_id`` is assigned here) and return the id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._new_update.set()
        return update_id

    def push_message(self, user_id: int, text: str, language_code: str = "en") -> int:
        """Queue a private text message from ``user_id``."""
        sender = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        sender["language_code"] = language_code
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": sender,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.push_update({"message": message})

    def add_file(self, data: bytes) -> str:
        """Make ``data`` downloadable; returns its file_id."""
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = data
        return file_id

    def push_document(
        self,
        user_id: int,
        data: bytes,
        caption: str | None,
        *,
        file_name: str = "original.jpg",
        mime_type: str = "image/jpeg",
        claimed_size: int | None = None,
    ) -> int:
        """Queue a private message carrying ``data`` as a document (a file, not a photo)."""
        file_id = self.add_file(data)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": claimed_size if claimed_size is not None else len(data),
        }
        return self._push_media(user_id, {"document": document}, caption)

    def push_local_document(
        self, user_id: int, path: Path, caption: str | None, *, file_name: str, mime_type: str
    ) -> int:
        """Queue a document whose bytes stay in ``path``, as a local Bot API server keeps
        them: for bots with ``APP_CONF__BOT__API_IS_LOCAL=true`` and files of hundreds of MB."""
        file_id = f"local-{next(self._file_ids)}"
        self.local_files[file_id] = path
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": path.stat().st_size,
        }
        return self._push_media(user_id, {"document": document}, caption)

    def push_photo(self, user_id: int, data: bytes, caption: str | None) -> int:
        """Queue a private message carrying ``data`` as a (recompressed) photo."""
        file_id = self.add_file(data)
        sizes = [
            {"file_id": f"{file_id}-thumb", "file_unique_id": "t", "width": 90, "height": 60},
            {"file_id": file_id, "file_unique_id": "p", "width": 1280, "height": 853,
             "file_size": len(data)},
        ]  # fmt: skip
        return self._push_media(user_id, {"photo": sizes}, caption)

    def _push_media(self, user_id: int, media: dict[str, Any], caption: str | None) -> int:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
            **media,
        }
        if caption is not None:
            message["caption"] = caption
        return self.push_update({"message": message})

    def _user(self, user_id: int, language_code: str = "en") -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": language_code,
        }

    def push_callback(self, user_id: int, message: dict[str, Any], data: str) -> int:
        """Queue a button press on ``message`` (one the bot sent) with callback ``data``."""
        query = {
            "id": f"cb-{next(self._update_ids)}",
            "from": self._user(user_id),
            "chat_instance": str(user_id),
            "message": message,
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def push_pre_checkout(
        self, user_id: int, payload: str, total_amount: int, currency: str = "XTR"
    ) -> int:
        """Queue the pre_checkout_query Telegram sends when the user confirms an invoice."""
        return self.push_update(self.pre_checkout_update(user_id, payload, total_amount, currency))

    def pre_checkout_update(
        self,
        user_id: int,
        payload: str,
        total_amount: int,
        currency: str = "XTR",
        query_id: str | None = None,
    ) -> dict[str, Any]:
        """A pre_checkout_query update (not queued)."""
        query = {
            "id": query_id or f"pcq-{next(self._update_ids)}",
            "from": self._user(user_id),
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": payload,
        }
        return {"pre_checkout_query": query}

    def refunded_payment_update(
        self, user_id: int, payload: str, total_amount: int, charge_id: str
    ) -> dict[str, Any]:
        """The refunded_payment service message Telegram sends after a refund (not queued)."""
        refund = {
            "currency": "XTR",
            "total_amount": total_amount,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
        }
        return {
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": self._user(user_id),
                "refunded_payment": refund,
            }
        }

    def successful_payment_update(
        self, user_id: int, payload: str, total_amount: int, charge_id: str | None = None
    ) -> dict[str, Any]:
        """A successful_payment message update (not queued: tests may send it twice)."""
        payment = {
            "currency": "XTR",
            "total_amount": total_amount,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id or f"charge-{next(self._charges)}",
            "provider_payment_charge_id": "",
        }
        return {
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": self._user(user_id),
                "successful_payment": payment,
            }
        }

    def last_message_to(self, chat_id: int, with_keyboard: bool = True) -> dict[str, Any]:
        """The newest message the bot sent or edited in ``chat_id`` (with buttons, by default)."""
        candidates = [
            message
            for (chat, _), message in self.messages.items()
            if chat == chat_id and (not with_keyboard or message.get("reply_markup"))
        ]
        if not candidates:
            raise LookupError(f"no message to {chat_id}")
        return max(candidates, key=lambda message: message["_seq"])

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message the bot sent to ``chat_id`` (as last edited), oldest first."""
        found = [message for (chat, _), message in self.messages.items() if chat == chat_id]
        return sorted(found, key=lambda message: message["_seq"])

    @staticmethod
    def button(message: dict[str, Any], text_part: str) -> str:
        """The callback data of the button on ``message`` whose text contains ``text_part``."""
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if text_part in button["text"]:
                    return str(button["callback_data"])
        raise LookupError(f"no button with {text_part!r}: {message['reply_markup']}")

    def calls_of(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one method, oldest first."""
        return [call for call in self.calls if call.method == method]

    async def wait_for_call(self, method: str, count: int = 1, timeout_s: float = 10) -> None:
        """Wait until ``method`` was called at least ``count`` times."""
        async with asyncio.timeout(timeout_s):
            while len(self.calls_of(method)) < count:
                self._new_call.clear()
                await self._new_call.wait()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        # Like Telegram: asking for offset N confirms (forgets) every update below N.
        self.confirmed_offset = max(self.confirmed_offset, offset)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._new_update.clear()
            # Short long-poll keeps shutdown of the bot under test quick.
            timeout = min(float(params.get("timeout", 0)), 1.0)
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                return []
        return list(self._updates)

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = int(params.get("message_id") or next(self._message_ids))
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Vitrina"},
            **content,
        }
        markup = params.get("reply_markup")
        # Telegram's Message carries inline keyboards only; a reply keyboard (a "send my
        # location" button) is kept here for the tests but not echoed back.
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        stored = {**message, "_seq": next(self._message_ids)}
        if markup:
            stored["reply_markup"] = markup
        self.messages[(chat_id, message_id)] = stored
        return message

    def _result(self, method: str, params: dict[str, Any]) -> Any:  # noqa: PLR0911  (one per method)
        if method in ("sendMessage", "editMessageText"):
            return self._message(params, text=params.get("text", ""))
        if method == "sendDocument":
            document = params.get("document")
            file_id = document if isinstance(document, str) else self.add_file(b"uploaded")
            return self._message(
                params, document={"file_id": file_id, "file_unique_id": f"u{file_id}"}
            )
        if method == "sendInvoice":
            invoice = {
                "title": params["title"],
                "description": params["description"],
                "start_parameter": "",
                "currency": params["currency"],
                "total_amount": sum(int(p["amount"]) for p in params["prices"]),
            }
            return self._message(params, invoice=invoice)
        if method == "editMessageMedia":
            media = params.get("media") or {}
            caption = media.get("caption", "") if isinstance(media, dict) else ""
            return self._message(params, caption=caption)
        if method in ("editMessageCaption", "editMessageReplyMarkup"):
            return self._message(params, caption=params.get("caption", ""))
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Vitrina",
                "username": "vitrina_bot",
            }
        if method == "getFile":
            file_id = str(params["file_id"])
            if file_id in self.local_files:
                path = self.local_files[file_id]
                return {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_size": path.stat().st_size,
                    "file_path": str(path.resolve()),
                }
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}",
            }
        if method == "sendPhoto":
            photo = params.get("photo")
            file_id = photo if isinstance(photo, str) else self.add_file(b"uploaded")
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "photo": [
                    {"file_id": file_id, "file_unique_id": "x", "width": 1280, "height": 960}
                ],
            }
        return True

    async def handle(self, request: web.Request) -> web.Response:
        """Serve one Bot API method call."""
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        form = await request.post()
        self._keep_uploads(method, form)
        params = {
            key: _decode(value)
            if isinstance(value, str)
            else {"upload": getattr(value, "filename", None)}
            for key, value in form.items()
        }
        if request.content_type == "application/json":
            params = await request.json()
        # Uploads travel as separate form fields that "attach://<field>" values point to.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value.removeprefix("attach://"))
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        if self.flood is not None and not self.flood.admit(method, _chat_of(params)):
            self.calls.append(RecordedCall(f"{method}:flood", params))
            return ScriptedError(
                429, f"Too Many Requests: retry after {self.flood.retry_after_s}",
                retry_after=self.flood.retry_after_s,
            ).response()  # fmt: skip
        if (scripted := self._scripted_error(method, params)) is not None:
            self.calls.append(RecordedCall(f"{method}:failed", params))
            self._new_call.set()
            return scripted.response()
        if (problem := html_entities_problem(params) or length_problem(params)) is not None:
            # What Telegram answers to markup it cannot parse, or to a text or caption over its
            # limit: the message is not sent.
            self.calls.append(RecordedCall(f"{method}:refused", params))
            return web.json_response(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"},
                status=400,
            )
        self.calls.append(RecordedCall(method, params))
        self._new_call.set()
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _scripted_error(self, method: str, params: dict[str, Any]) -> ScriptedError | None:
        if self._scripted.get(method):
            return self._scripted[method].pop(0)
        if method.startswith("send") and (chat := _chat_of(params)) in self.gone_chats:
            return self.gone_chats[chat]
        document = params.get("document")
        if (
            method == "sendDocument"
            and isinstance(document, str)
            and document in self.unknown_file_ids
        ):
            return STALE_FILE_ID
        if method == "refundStarPayment":
            charge = str(params.get("telegram_payment_charge_id"))
            if charge in self.refunded_charges:
                return ALREADY_REFUNDED
            self.refunded_charges.add(charge)
        return None

    async def download(self, request: web.Request) -> web.Response:
        """Serve a file's bytes, as ``/file/bot<token>/<file_path>`` does."""
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if request.match_info["token"] != TOKEN or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    def app(self) -> web.Application:
        """The aiohttp application serving the fake API."""
        application = web.Application(client_max_size=100 * 2**20)
        application.router.add_route("*", "/bot{token}/{method}", self.handle)
        application.router.add_get("/file/bot{token}/{path:.+}", self.download)
        return application

    def _keep_uploads(self, method: str, form: Mapping[str, Any]) -> None:
        for value in form.values():
            if isinstance(value, FileField):
                chat_id, caption = form.get("chat_id"), form.get("caption")
                with value.file as data:
                    self.uploads.append(
                        Upload(method, int(str(chat_id)), value.filename, data.read(),
                               caption if isinstance(caption, str) else None)
                    )  # fmt: skip

    def uploads_to(self, chat_id: int, method: str) -> list[Upload]:
        """Files uploaded to ``chat_id`` with ``method`` (e.g. "sendPhoto"), oldest first."""
        return [u for u in self.uploads if u.chat_id == chat_id and u.method == method]


def _chat_of(params: dict[str, Any]) -> int | None:
    chat = params.get("chat_id")
    return int(chat) if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit() else None


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API listening on a free loopback port (its ``url`` set) while in use."""
    fake = FakeTelegram()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    fake.url = f"http://{LOOPBACK}:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


# Telegram's HTML parse mode: these tags only, every tag closed, every "&" an entity.
_TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
     "tg-spoiler", "span", "blockquote", "tg-emoji", "br"}
)  # fmt: skip
_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);)")


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del attrs  # href and friends: not checked
        if tag not in _TELEGRAM_TAGS:
            self.problem = self.problem or f'unsupported start tag "{tag}"'
        elif tag != "br":
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problem = self.problem or f'unexpected end tag "{tag}"'


def html_entities_problem(params: dict[str, Any]) -> str | None:
    """Why Telegram would refuse this call's HTML text or caption, or None."""
    media = params.get("media")
    if isinstance(media, dict) and (problem := html_entities_problem(media)) is not None:
        return problem
    if params.get("parse_mode") != "HTML":
        return None
    text = params.get("text") or params.get("caption")
    if not isinstance(text, str):
        return None
    if _BARE_AMPERSAND.search(text):
        return "can't parse entities: bare ampersand"
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    problem = checker.problem or (f'unclosed tag "{checker.open[-1]}"' if checker.open else None)
    return None if problem is None else f"can't parse entities: {problem}"


# Telegram's limits on what the reader sees: HTML tags and entities do not count, "&amp;" is
# one character. Counted in code points, as Telegram counts them (an emoji is one).
_LENGTH_LIMITS = (
    ("text", 4096, "message is too long"),
    ("caption", 1024, "message caption is too long"),
)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars = 0

    def handle_data(self, data: str) -> None:
        self.chars += len(data)


def visible_chars(text: str, parse_mode: object = "HTML") -> int:
    """How many characters of ``text`` Telegram counts against its limits."""
    if parse_mode != "HTML":
        return len(text)
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    return parser.chars


def length_problem(params: dict[str, Any]) -> str | None:
    """Why Telegram would refuse this call's text or caption as too long, or None."""
    media = params.get("media")
    if isinstance(media, dict) and (problem := length_problem(media)) is not None:
        return problem
    for name, limit, problem in _LENGTH_LIMITS:
        text = params.get(name)
        if isinstance(text, str) and visible_chars(text, params.get("parse_mode")) > limit:
            return problem
    return None
