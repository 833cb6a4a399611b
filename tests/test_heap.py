"""The bot's start-up objects are frozen out of the garbage collector's full passes, which
otherwise stalled every update for as long as a pass took (see ``vitrina_bot.heap``)."""

from __future__ import annotations

import gc
import time

from vitrina_bot.heap import freeze_startup_heap


def _full_pass_s() -> float:
    """The quickest of three full passes (a busy machine only ever adds time)."""
    durations = []
    for _ in range(3):
        started = time.perf_counter()
        gc.collect()
        durations.append(time.perf_counter() - started)
    return min(durations)


def test_a_full_collection_skips_what_was_alive_at_start_up() -> None:
    gc.unfreeze()
    # The test process's own modules stand in for the bot's start-up heap; more live objects
    # make the difference plain.
    ballast = [[index] for index in range(300_000)]
    try:
        unfrozen = _full_pass_s()
        frozen = freeze_startup_heap()
        after = _full_pass_s()
    finally:
        gc.unfreeze()
        del ballast

    assert frozen > 300_000
    assert after < unfrozen / 2
