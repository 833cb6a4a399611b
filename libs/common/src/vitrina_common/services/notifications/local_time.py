"""A shopper's local time: their zone, quiet hours and digest hour, as decisions in UTC.

All arithmetic goes through ``zoneinfo``: a local hour is turned into an instant on its own
local date, so 10:00 in New York is 15:00 UTC in winter and 14:00 UTC in summer. A local
hour that does not exist (the hour skipped when clocks go forward) maps to the instant
just after the gap, which the reader sees as one hour later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from vitrina_common.db.models import Language

# The zone that stands in until a shopper picks one: where most shoppers of a language live.
DEFAULT_ZONE = {Language.RU: "Europe/Moscow", Language.EN: "UTC"}
DEFAULT_QUIET_FROM_HOUR = 22
DEFAULT_QUIET_TO_HOUR = 9
DEFAULT_DIGEST_HOUR = 10


def is_zone_name(name: str) -> bool:
    """Whether ``name`` is an IANA zone this system knows."""
    return name in _zone_names()


@cache
def _zone_names() -> frozenset[str]:
    # available_timezones() walks the tz database on disk each call (~24 ms, on the bot's
    # event loop at every zone tap); the set cannot change while the process runs.
    return frozenset(available_timezones())


def zone_named(name: str | None, language: Language) -> ZoneInfo:
    """The zone ``name``, or the language's default when it is unset or unknown (a zone
    removed from the tz database must not stop a shopper's notices)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(DEFAULT_ZONE[language])


def at_local_hour(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``hour``:00 on the local date ``day`` in ``zone``."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """Local hours [``from_hour``, ``to_hour``) in which non-urgent notices wait; they may
    wrap midnight (22–9). Equal hours: no quiet hours."""

    from_hour: int = DEFAULT_QUIET_FROM_HOUR
    to_hour: int = DEFAULT_QUIET_TO_HOUR

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Whether ``moment`` falls in the quiet hours, read on the local clock."""
        hour = moment.astimezone(zone).hour
        if self.from_hour == self.to_hour:
            return False
        if self.from_hour < self.to_hour:
            return self.from_hour <= hour < self.to_hour
        return hour >= self.from_hour or hour < self.to_hour

    def release_at(self, now: datetime, zone: ZoneInfo) -> datetime:
        """``now`` outside the quiet hours; else the instant they end (local ``to_hour``)."""
        if not self.contains(now, zone):
            return now
        today = now.astimezone(zone).date()
        end = at_local_hour(today, self.to_hour, zone)
        return end if end > now else at_local_hour(today + timedelta(days=1), self.to_hour, zone)


def next_digest_at(
    now: datetime, zone: ZoneInfo, hour: int, last_sent: datetime | None
) -> datetime:
    """The first local ``hour``:00 after ``now`` on a local date after the one of the last
    digest sent: at most one digest a local day, at the chosen hour whatever the offset."""
    day = now.astimezone(zone).date()
    if last_sent is not None:
        day = max(day, last_sent.astimezone(zone).date() + timedelta(days=1))
    due = at_local_hour(day, hour, zone)
    return due if due > now else at_local_hour(day + timedelta(days=1), hour, zone)
