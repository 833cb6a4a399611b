"""Every dialog's states, in one place (aiogram-dialog resolves them by group)."""

from aiogram.fsm.state import State, StatesGroup


class MainMenu(StatesGroup):
    main = State()
    help = State()


class CatalogSG(StatesGroup):
    categories = State()
    products = State()


class SearchSG(StatesGroup):
    query = State()
    results = State()


class ProductSG(StatesGroup):
    card = State()


class PurchasesSG(StatesGroup):
    listing = State()


class WishlistSG(StatesGroup):
    listing = State()


class ProfileSG(StatesGroup):
    main = State()
    email = State()
    # Notification settings (see profile_notifications).
    time_zone = State()
    location = State()
    quiet_from = State()
    quiet_to = State()
    digest_hour = State()
    followed = State()


class LanguageSG(StatesGroup):
    choose = State()


class TicketsSG(StatesGroup):
    """A shopper's support tickets: the list, a new one, one conversation, a reply."""

    listing = State()
    new = State()
    ticket = State()
    reply = State()
