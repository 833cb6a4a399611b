"""``make demo-data``: a few categories of generated images, through the real pipeline.

Needs a running ``make run`` (it reads where the stack is from ``.devdata/stack.json``).
Each image goes the way an admin's upload goes: Object Store, product in ``rendering`` with
its job in the outbox, JetStream, the worker renders the watermarked preview, and the bot
uploads the preview to Telegram (to APP_CONF__BOT__STORAGE_CHAT_ID, else the first admin),
so it shows on product cards. Running it twice adds nothing new: same images, same keys.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from PIL import Image, ImageDraw
from sqlalchemy import select

from devstack.launcher import DATA_DIR_ENV, STATE_FILE
from devstack.nats import user_settings
from vitrina_common.config import DbSettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import Product
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.services.catalog import NewProduct, RegisterUpload, UploadedOriginal
from vitrina_common.storage.objects import ImageStore

CATALOG = {
    "Landscapes": ["Dawn over the fjord", "Desert dunes", "Alpine lake", "Misty forest"],
    "Abstract": ["Blue waves", "Golden spiral", "Neon grid"],
    "Cities": ["Night harbour", "Rooftops", "Old town square"],
}


def painting(seed: int, size: tuple[int, int] = (2400, 1600)) -> bytes:
    """A colourful generated picture, different for every seed."""
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(0, height, 8):
        shade = int(127 + 127 * math.sin(y / height * math.pi + seed))
        draw.rectangle(
            (0, y, width, y + 8), fill=((shade + seed * 40) % 256, shade // 2, 255 - shade)
        )
    for ring in range(12):
        radius = (ring + 1) * min(size) // 30
        center = (width * ((seed * 37 + ring * 13) % 100) // 100, height // 2)
        draw.ellipse(
            (center[0] - radius, center[1] - radius, center[0] + radius, center[1] + radius),
            outline=((ring * 20 + seed * 60) % 256, 200, (seed * 90) % 256),
            width=6,
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _notify_chat(env: dict[str, str]) -> int | None:
    if env.get("APP_CONF__BOT__STORAGE_CHAT_ID"):
        return int(env["APP_CONF__BOT__STORAGE_CHAT_ID"])
    admins = json.loads(env.get("APP_CONF__BOT__ADMIN_IDS") or "[]")
    return int(admins[0]) if admins else None


async def load_demo(state: dict[str, Any], notify_chat_id: int | None) -> int:
    """Register every demo product not there yet; returns how many were added."""
    engine = create_engine(DbSettings.model_validate({"dsn": state["database_dsn"]}))
    sessions = create_session_factory(engine)
    # It stores originals and publishes render jobs, as the bot would: the bot's user.
    client = await connect_nats(
        user_settings(state["nats_url"], "bot", state["nats_passwords"]), name="vitrina-demo"
    )
    store, register = ImageStore(client.jetstream()), RegisterUpload(sessions)
    added = 0
    try:
        for seed, (category, title) in enumerate(
            (category, title) for category, titles in CATALOG.items() for title in titles
        ):
            data = painting(seed)
            sha = await store.put_original(data)
            async with sessions() as session:
                if await session.scalar(select(Product.id).where(Product.original_sha256 == sha)):
                    continue
            product = NewProduct(title, 25 + 25 * (seed % 4), category, f"Demo image #{seed + 1}.")
            await register(product, UploadedOriginal(sha, len(data), "image/jpeg"), notify_chat_id)
            added += 1
        relay = OutboxRelay(sessions, {NATS_PUBLISH: nats_publish_handler(client.jetstream())})
        while await relay.deliver_due():
            pass
    finally:
        await client.close()
        await engine.dispose()
    return added


def main() -> int:
    """Load the demo catalog into the running dev stack."""
    env = {**{k: v for k, v in dotenv_values(".env").items() if v is not None}, **os.environ}
    data_dir = Path(env.get(DATA_DIR_ENV, ".devdata"))
    state_file = data_dir / STATE_FILE
    if not state_file.exists():
        print(
            "demo-data: the stack is not running; start it with `make run` first", file=sys.stderr
        )
        return 1
    notify = _notify_chat(env)
    added = asyncio.run(load_demo(json.loads(state_file.read_text()), notify))
    print(f"demo-data: {added} products added; previews render in the worker now.")
    if notify is None:
        print(
            "demo-data: set APP_CONF__BOT__ADMIN_IDS (or STORAGE_CHAT_ID) to see previews in cards."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
