"""Keeping the bot's start-up heap out of the garbage collector's full passes.

Once started, the bot holds some 300 000 objects that live as long as the process: modules,
pydantic and SQLAlchemy schemas, routers, dialogs and their widgets. Every full (generation
2) collection walked all of them, and the event loop serves nothing meanwhile: one pass took
1.2 s on the 2-core benchmark machine under load, and these pauses were the open-loop p99
(``make bench-bot``: ~1.5 s at 10 updates/s while the bot used 11% of a core). Frozen, they
sit in a permanent generation collections skip; the same pass took 17 ms. Objects made later
(caches, dialog contexts) are collected as before.

``__main__`` already froze what the imports made (``vitrina_common.lifecycle.
freeze_imported_objects``, which also spares the interpreter's exit); this second freeze
takes what the wiring built after them: routers, dialogs, the dispatcher.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then freeze every object still alive; returns how
    many were frozen. Call once, when the dispatcher is built and before updates flow."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
