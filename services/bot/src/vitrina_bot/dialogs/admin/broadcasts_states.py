"""States of the admin's broadcast dialog."""

from aiogram.fsm.state import State, StatesGroup


class AdminBroadcastsSG(StatesGroup):
    compose = State()
    buttons = State()
    audience = State()
    category = State()
    confirm = State()
    control = State()
    scheduled = State()
