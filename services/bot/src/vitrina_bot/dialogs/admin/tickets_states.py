"""States of the admin's tickets area: the queue, one ticket, an answer being written."""

from aiogram.fsm.state import State, StatesGroup


class AdminTicketsSG(StatesGroup):
    queue = State()
    ticket = State()
    answer = State()
