"""Telegram's flood control, as the fake Bot API enforces it when a test asks: a bot may
send or edit ``rate_per_s`` messages in any one-second window over all chats, and send one
new message a second to a chat (edits, such as a dialog stripping the old keyboard before
its next screen, are not new messages); beyond that the call is answered 429 with
``retry_after``, as Telegram does, and counted."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

# What counts against the limits: every call that puts a message in a chat or changes one.
_SENDS = ("send", "edit", "copyMessage", "forwardMessage")


@dataclass
class FloodControl:
    """The limits, and what was sent and refused under them."""

    rate_per_s: float
    per_chat_interval_s: float | None = 1.0
    retry_after_s: int = 1
    # Calls answered 429 (the bot went over a limit), and those of them over the rate.
    refused: int = 0
    refused_over_rate: int = 0
    accepted: deque[float] = field(default_factory=deque)
    _last_by_chat: dict[int, float] = field(default_factory=dict)
    # (moment, chat) of every accepted call, to read the achieved rate from.
    timeline: list[tuple[float, int | None]] = field(default_factory=list)

    def admit(self, method: str, chat_id: int | None) -> bool:
        """Whether this call is within the limits (then it counts against them)."""
        if not method.startswith(_SENDS):
            return True
        now = time.monotonic()
        while self.accepted and self.accepted[0] <= now - 1.0:
            self.accepted.popleft()
        over_rate = len(self.accepted) >= self.rate_per_s
        new_message = method.startswith("send")
        last = self._last_by_chat.get(chat_id) if chat_id is not None and new_message else None
        too_soon = (
            self.per_chat_interval_s is not None
            and last is not None
            and now - last < self.per_chat_interval_s
        )
        if over_rate or too_soon:
            self.refused += 1
            self.refused_over_rate += over_rate
            return False
        self.accepted.append(now)
        self.timeline.append((now, chat_id))
        if chat_id is not None and new_message:
            self._last_by_chat[chat_id] = now
        return True
