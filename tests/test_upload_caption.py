"""The upload caption `Title | price | Category`: what an admin may type as the price, and
that anything else is a named reason, never an exception the upload handler lets out."""

from __future__ import annotations

import pytest

from vitrina_bot.uploads.caption import CaptionError, parse_caption


@pytest.mark.parametrize(("price", "stars"), [("150", 150), ("150 ⭐", 150), (" 7 ", 7)])
def test_a_price_in_whole_stars_is_read(price: str, stars: int) -> None:
    product = parse_caption(f"Sunset | {price} | Landscapes\nWarm light")

    assert (product.title, product.price_stars, product.category) == ("Sunset", stars, "Landscapes")
    assert product.description == "Warm light"


@pytest.mark.parametrize("price", ["²", "١٢", "0", "-5", "1.5", "9" * 40, ""])
def test_anything_else_is_the_price_reason(price: str) -> None:
    with pytest.raises(CaptionError) as refused:
        parse_caption(f"Sunset | {price} | Landscapes")

    assert refused.value.code == "price"
