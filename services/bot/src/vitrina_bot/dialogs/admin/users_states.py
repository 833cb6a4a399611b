"""States of the admin's users area: finding a user, their card, their purchases."""

from aiogram.fsm.state import State, StatesGroup


class AdminUsersSG(StatesGroup):
    search = State()
    results = State()
    card = State()
    email = State()
    comment = State()
    purchases = State()


class AdminPurchaseSG(StatesGroup):
    """One purchase, opened from a user's purchases; refunds happen here."""

    card = State()
    confirm_refund = State()
