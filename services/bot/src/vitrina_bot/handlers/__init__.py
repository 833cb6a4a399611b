"""Routers, one per feature; handlers stay thin and call use cases from vitrina_common."""

from aiogram import Router

from vitrina_bot.handlers import admin_upload, start


def build_root_router() -> Router:
    """All routers in the order they should see updates."""
    root = Router(name="root")
    root.include_router(start.router)
    root.include_router(admin_upload.router)
    return root
