"""States of the admin's product screens (the list, and one product's card)."""

from aiogram.fsm.state import State, StatesGroup


class AdminProductsSG(StatesGroup):
    listing = State()
    status = State()
    search = State()


class AdminProductSG(StatesGroup):
    card = State()
    title = State()
    description = State()
    price = State()
    category = State()
    delete = State()
