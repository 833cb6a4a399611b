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
    # The limited edition: its size, waitlist, one entry of it, and the reservation log.
    edition_size = State()
    waitlist = State()
    waitlist_entry = State()
    reservations = State()
