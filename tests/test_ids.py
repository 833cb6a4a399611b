"""Ids from text: what a forged button, deep link or command may carry is refused, never an
exception in a handler."""

from __future__ import annotations

import pytest

from vitrina_common.ids import MAX_ID, parse_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), (42, 42), ("0042", 42), (str(MAX_ID), MAX_ID)],
)
def test_an_id_in_ascii_digits_is_read(text: object, expected: int) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "0", "-3", "+3", " 3", "3 ", "3.0", "²", "١٢", "1e3", str(MAX_ID + 1), "9" * 40,
     None, True, 3.0, -3, b"3"],
)  # fmt: skip
def test_anything_else_is_no_id(text: object) -> None:
    assert parse_id(text) is None
