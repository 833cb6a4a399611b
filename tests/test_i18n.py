"""Every user-visible string comes from the ru and en catalogs (the bot's own and the common
ones it shares with the worker), and they stay in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakes.telegram_api import visible_chars
from vitrina_bot.dialogs.main_menu import shop_texts
from vitrina_bot.i18n.catalog import Translator, load_catalogs, plural_form, translator_for
from vitrina_common.db.models import Language, ProductStatus, TicketStatus
from vitrina_common.i18n import COMMON_LOCALES
from vitrina_common.i18n import load_catalogs as common_load_catalogs
from vitrina_common.imports.model import MAX_PRICE_STARS
from vitrina_common.notices import AdminAlert, UserNotice
from vitrina_common.services.checkout import CheckoutRefusal, PreCheckoutRefusal
from vitrina_common.services.profile import EmailOutcome
from vitrina_common.text_limits import (
    ADMIN_CARD_DESCRIPTION_CHARS,
    ADMIN_CARD_REASON_CHARS,
    MAX_CATEGORY_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    TELEGRAM_CAPTION_CHARS,
    clipped_html,
)

BOT_SOURCE = Path(__file__).resolve().parents[1] / "services" / "bot" / "src" / "vitrina_bot"
LITERAL_KEY = re.compile(r"""\b(?:t|T|translate|buyer)\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""")
REASON_CODE = re.compile(r"""(?:CaptionError|UploadRefusedError)\(\s*["']([a-z_]+)["']""")
PLURAL_FORMS = {Language.EN: {"one", "other"}, Language.RU: {"one", "few", "many"}}


def test_a_key_in_one_language_exists_in_the_other() -> None:
    catalogs = load_catalogs()

    assert set(catalogs[Language.EN]) == set(catalogs[Language.RU])


def test_the_bot_reads_the_common_catalogs_too() -> None:
    bot, common = load_catalogs(), common_load_catalogs()

    for language in Language:
        assert set(common[language]) < set(bot[language])
    assert "imports.reason.price_missing" in bot[Language.RU]


def test_a_key_in_the_common_catalogs_and_the_bots_is_an_error(tmp_path: Path) -> None:
    for language in Language:
        (tmp_path / language.value).mkdir()
        (tmp_path / language.value / "clash.toml").write_text('[imports.reason]\nboth = "x"\n')

    with pytest.raises(ValueError, match="keys defined in another file too"):
        common_load_catalogs(COMMON_LOCALES, tmp_path)


@pytest.mark.parametrize("language", list(Language))
def test_plural_entries_have_every_form_the_language_needs(language: Language) -> None:
    plurals = {k: v for k, v in load_catalogs()[language].items() if not isinstance(v, str)}

    assert plurals
    assert {key: set(forms) for key, forms in plurals.items()} == dict.fromkeys(
        plurals, PLURAL_FORMS[language]
    )


def _source_keys() -> set[str]:
    keys: set[str] = set()
    for path in BOT_SOURCE.rglob("*.py"):
        source = path.read_text()
        keys |= set(LITERAL_KEY.findall(source))
        keys |= {f"upload.reason.{code}" for code in REASON_CODE.findall(source)}
    return keys


def test_every_key_the_code_uses_is_in_the_catalogs() -> None:
    used = _source_keys()
    used |= {f"checkout.refused.{reason.value}" for reason in CheckoutRefusal}
    used |= {f"precheckout.{reason.value}" for reason in PreCheckoutRefusal}
    used |= {f"profile.email_{outcome.value}" for outcome in EmailOutcome}
    used |= {f"language.{language.value}" for language in Language}
    used |= {f"alerts.{alert.value}" for alert in AdminAlert}
    used |= {f"notices.{notice.value}" for notice in UserNotice}
    used |= {
        f"tickets.{kind}.{status.value}" for kind in ("status", "emoji") for status in TicketStatus
    }

    assert len(used) > 40
    assert used - set(load_catalogs()[Language.EN]) == set()


@pytest.mark.parametrize(
    ("count", "form"), [(1, "one"), (2, "few"), (5, "many"), (11, "many"), (21, "one"), (22, "few")]
)
def test_russian_plural_rules(count: int, form: str) -> None:
    assert plural_form(Language.RU, count) == form


def test_translator_fills_placeholders_and_picks_the_plural() -> None:
    russian = translator_for(Language.RU)

    assert russian("purchases.title", count=3).startswith("У вас 3 изображения")
    assert translator_for(Language.EN)("product.buy", price=150) == "Buy for 150 ⭐"


# The widest values a card can show: ids and counts of ten digits, "&" (five characters
# escaped, one seen) so escaping is counted as Telegram counts it.
_BIG = 2**31 - 1
_WIDE = "&" * 5000


def _longest_status(translate: Translator) -> str:
    statuses = (translate(f"admin.products.status.{status.value}") for status in ProductStatus)
    return max(statuses, key=len)


@pytest.mark.parametrize("language", list(Language))
def test_the_longest_product_cards_fit_one_telegram_caption(language: Language) -> None:
    translate = translator_for(language)
    title = clipped_html(_WIDE, MAX_TITLE_CHARS)
    description = clipped_html(_WIDE, MAX_DESCRIPTION_CHARS)
    shopper = translate("product.card", title=title, description=description, price=MAX_PRICE_STARS)
    admin = translate(
        "admin.products.card",
        id=_BIG,
        title=title,
        status=_longest_status(translate),
        description=clipped_html(_WIDE, ADMIN_CARD_DESCRIPTION_CHARS),
        price=MAX_PRICE_STARS,
        category=clipped_html(_WIDE, MAX_CATEGORY_CHARS),
        sold=_BIG,
    )
    failure = translate(
        "admin.products.failure", reason=clipped_html(_WIDE, ADMIN_CARD_REASON_CHARS)
    )

    # aiogram-dialog joins a window's texts with a line break.
    assert visible_chars(f"{shopper}\n{translate('product.owned')}") <= TELEGRAM_CAPTION_CHARS
    assert visible_chars(f"{admin}\n{failure}") <= TELEGRAM_CAPTION_CHARS


def test_a_text_is_cut_before_it_is_escaped_so_no_entity_is_split() -> None:
    assert clipped_html("a & b & c", 6) == "a &amp; b…"
    assert clipped_html(" <i> ", 10) == "&lt;i&gt;"


def test_the_shop_name_and_support_contact_are_escaped_in_the_shop_texts() -> None:
    texts = shop_texts("Tom & Jerry <Prints>", "<support@example.com>")
    translate = translator_for(Language.EN)

    assert translate("menu.greeting", **texts) == (
        "Welcome to <b>Tom &amp; Jerry &lt;Prints&gt;</b>! Pick a section:"
    )
    assert translate("paysupport.text", **texts).startswith(
        "Payment support: write to &lt;support@example.com&gt; with"
    )
