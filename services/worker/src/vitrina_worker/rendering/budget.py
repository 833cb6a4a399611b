"""How much memory one render may decode, derived from the worker's memory limit:

    decode budget = (memory limit − reserve) ÷ renders at once

The limit is ``APP_CONF__WORKER__MEMORY_LIMIT_BYTES`` when set, otherwise the cgroup's
(``memory.max`` under cgroup v2, ``memory.limit_in_bytes`` under v1), which is what a
container's ``resources.limits.memory`` becomes. The cgroup by default because it is the
limit the kernel enforces: the budget follows the chart's value with no second setting to
keep in step. The setting is for a process the cgroup does not limit (a laptop, the tests)
or one that must stay below its cgroup's limit. With neither, there is no budget and only
``APP_CONF__WORKER__MAX_PIXELS`` bounds a render.

The reserve (``APP_CONF__WORKER__MEMORY_RESERVE_BYTES``) is what the process needs besides
the decode: itself and the originals its render jobs hold. Not every job at its largest at
once: that rare case is bounded by ``jobs.render_attempts`` (one kill, not five).
"""

from __future__ import annotations

from pathlib import Path

from vitrina_common.config import WorkerSettings

CGROUP_V2_LIMIT = Path("/sys/fs/cgroup/memory.max")
CGROUP_V1_LIMIT = Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")
# cgroup v1 writes "no limit" as a number near 2**63.
_V1_UNLIMITED = 1 << 60
# The least a budget must allow: a 12 MP photo decoded (48 MB) and the band working set.
MIN_DECODE_BYTES = 128 * 1024 * 1024
_MIB = 1024 * 1024


class BudgetTooSmallError(ValueError):
    """The limit leaves less than ``MIN_DECODE_BYTES`` per render; says what to change."""


def cgroup_memory_limit(v2: Path = CGROUP_V2_LIMIT, v1: Path = CGROUP_V1_LIMIT) -> int | None:
    """The memory limit of this process's cgroup, None when it has none (or none is seen)."""
    for path in (v2, v1):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _V1_UNLIMITED:
            return int(text)
        return None  # "max", or v1's "unlimited"
    return None


def decode_budget(settings: WorkerSettings, cgroup_limit: int | None) -> int | None:
    """The bytes one render may decode; None when no limit is known."""
    limit, source = settings.memory_limit_bytes, "APP_CONF__WORKER__MEMORY_LIMIT_BYTES"
    if limit is None:
        limit, source = cgroup_limit, "the cgroup's memory limit"
    if limit is None:
        return None
    budget = (limit - settings.memory_reserve_bytes) // settings.render_concurrency
    if budget < MIN_DECODE_BYTES:
        raise BudgetTooSmallError(
            f"the memory limit ({limit // _MIB} MiB, {source}) leaves {max(budget, 0) // _MIB} "
            f"MiB per render after APP_CONF__WORKER__MEMORY_RESERVE_BYTES "
            f"({settings.memory_reserve_bytes // _MIB} MiB) for "
            f"APP_CONF__WORKER__RENDER_CONCURRENCY={settings.render_concurrency}; a render "
            f"needs at least {MIN_DECODE_BYTES // _MIB} MiB: raise the limit, or lower the "
            "reserve or the concurrency"
        )
    return budget
