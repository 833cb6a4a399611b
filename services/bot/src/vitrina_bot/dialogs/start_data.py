"""What a dialog was started with (``manager.start(..., data=...)``)."""

from __future__ import annotations

from aiogram_dialog import DialogManager

from vitrina_common.ids import parse_id


def start_id(manager: DialogManager, key: str) -> int:
    """The id the dialog was started with under ``key``; 0 when missing or not an id (the
    screens show "not found" for it)."""
    start_data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return parse_id(start_data.get(key)) or 0
