"""Time zones a shopper can pick: a short list of the usual ones for the shop's Russian- and
English-speaking shoppers, or the zone of a location they share (looked up offline in the
zone boundaries ``tzfpy`` ships, so no service is asked where a shopper is)."""

from __future__ import annotations

import tzfpy

from vitrina_common.services.notifications.local_time import is_zone_name

# In the order the profile offers them: Russia west to east, neighbours, then the west.
COMMON_ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Kamchatka",
    "Europe/Minsk",
    "Europe/Kyiv",
    "Asia/Almaty",
    "Asia/Tbilisi",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "UTC",
)


def zone_at(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a point, None for coordinates that are not on Earth. At sea it is
    the nautical zone (``Etc/GMT-3``): an offset without DST, as ships keep. The first call
    loads the boundaries (about half a second): call it off the event loop."""
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    name = tzfpy.get_tz(longitude, latitude)
    return name if name and is_zone_name(name) else None
