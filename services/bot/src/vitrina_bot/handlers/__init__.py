"""Routers, one per feature; handlers stay thin and call use cases from vitrina_common."""

from aiogram import Router

from vitrina_bot.handlers import (
    admin_import,
    admin_upload,
    api_tokens,
    commands,
    errors,
    payments,
    product_links,
    refund,
    start,
    waitlist,
)


def build_root_router() -> Router:
    """Every command and event router in the order they should see updates (dialogs and
    the fallback come after these, see ``wiring.build_dispatcher``)."""
    root = Router(name="root")
    root.include_routers(
        errors.router,
        payments.router,
        start.router,
        commands.router,
        waitlist.router,
        refund.router,
        product_links.router,
        api_tokens.router,
        # Before admin_upload: documents on the import screen are import files.
        admin_import.router,
        admin_upload.router,
    )
    return root
