"""Dialogs opened in the same second get different intent ids."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram_dialog.api.entities.stack import Stack

from vitrina_bot.dialogs import intent_ids


class Screens(StatesGroup):
    one = State()


def test_a_thousand_dialogs_opened_at_once_get_a_thousand_ids() -> None:
    intent_ids.install()

    ids = {Stack().push(Screens.one, None).id for _ in range(1000)}

    assert len(ids) == 1000


def test_intent_ids_stay_short_enough_for_callback_data() -> None:
    assert all(len(intent_ids.new_intent_id()) <= 8 for _ in range(1000))
