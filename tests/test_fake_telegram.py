"""The fake Bot API itself: it must take what a real client sends however the bytes
arrive, or a test of the bot fails for the fake's sake. (A 500 from the fake made the bot
retry one chart of three, and the admin's charts arrived out of order.)"""

from __future__ import annotations

import asyncio
from unittest import mock

import aiohttp
from aiohttp import streams
from aiohttp.test_utils import make_mocked_request

from tests.fakes.telegram_api import TOKEN, FakeTelegram

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4000
# aiohttp.web reads an uploaded file 256 KiB at a time.
FILE_READ = 256 * 1024


class Collected:
    def __init__(self) -> None:
        self.body = bytearray()

    async def write(self, data: bytes) -> None:
        self.body.extend(data)


async def multipart_photo() -> tuple[str, bytes]:
    form = aiohttp.FormData()
    form.add_field("chat_id", "6900")
    form.add_field("caption", "📈 Revenue")
    form.add_field("photo", PNG, filename="revenue.png", content_type="image/png")
    writer = form()
    assert isinstance(writer, aiohttp.MultipartWriter)
    collected = Collected()
    await writer.write(collected)  # type: ignore[arg-type]
    return writer.content_type, bytes(collected.body)


async def test_an_upload_whose_bytes_arrive_unevenly_is_recorded_whole() -> None:
    """Three bytes of the file alone, then more than a whole read: fewer bytes than a
    multipart boundary make aiohttp read on past its chunk and put the surplus back, through
    a call of its own it has deprecated (and this suite turns warnings into errors)."""
    content_type, body = await multipart_photo()
    file_starts = body.index(PNG)
    payload = streams.StreamReader(
        mock.Mock(_reading_paused=False), 2**20, loop=asyncio.get_running_loop()
    )
    payload.feed_data(body[: file_starts + FILE_READ])
    payload.feed_data(body[file_starts + FILE_READ : file_starts + FILE_READ + 3])
    telegram = FakeTelegram()
    request = make_mocked_request(
        "POST", f"/bot{TOKEN}/sendPhoto", headers={"Content-Type": content_type},
        match_info={"token": TOKEN, "method": "sendPhoto"}, payload=payload,
    )  # fmt: skip

    async def the_rest_at_once() -> None:
        await asyncio.sleep(0.05)  # the handler has read the three bytes and waits
        payload.feed_data(body[file_starts + FILE_READ + 3 :])
        payload.feed_eof()

    feeding = asyncio.create_task(the_rest_at_once())
    response = await telegram.handle(request)
    await feeding

    assert response.status == 200
    (upload,) = telegram.uploads_to(6900, "sendPhoto")
    assert upload.data == PNG
    assert upload.caption == "📈 Revenue"
