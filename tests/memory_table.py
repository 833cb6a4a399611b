"""The README's memory limits per container ("Memory limits"), read back for the tests:
the chart must set exactly these, and the measured processes must stay under them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "### Memory limits"
_QUANTITY = re.compile(r"^(\d+)(Mi|Gi)$")
_UNITS = {"Mi": 1024**2, "Gi": 1024**3}


@dataclass(frozen=True)
class ContainerMemory:
    """A container's row of the README table: request and limit as the chart writes them."""

    container: str
    request: str
    limit: str

    @property
    def limit_bytes(self) -> int:
        """The limit in bytes."""
        return quantity_bytes(self.limit)


def quantity_bytes(quantity: str) -> int:
    """``320Mi`` → bytes; only the binary units the charts use."""
    match = _QUANTITY.match(quantity.strip())
    if match is None:
        raise ValueError(f"not a Mi/Gi quantity: {quantity!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def container_table(readme: Path = README) -> dict[str, ContainerMemory]:
    """Container name → its row, from the table under "Memory limits" whose header has the
    columns Container, Request and Limit."""
    text = readme.read_text(encoding="utf-8")
    _, found, section = text.partition(SECTION)
    if not found:
        raise LookupError(f"no {SECTION!r} section in {readme.name}")
    lines = iter(section.splitlines())
    for line in lines:
        header = _cells(line) if line.startswith("|") else []
        if {"Container", "Request", "Limit"} <= set(header):
            break
    else:
        raise LookupError("no Container | … | Request | Limit table under Memory limits")
    name, request, limit = (header.index(key) for key in ("Container", "Request", "Limit"))
    rows: dict[str, ContainerMemory] = {}
    next(lines)  # the |---| line
    for line in lines:
        if not line.startswith("|"):
            break
        cells = _cells(line)
        container = cells[name].strip("`")
        rows[container] = ContainerMemory(container, cells[request], cells[limit])
    return rows


def container_limits(readme: Path = README) -> dict[str, int]:
    """Container name → memory limit in bytes; empty while the README has no table."""
    try:
        return {name: row.limit_bytes for name, row in container_table(readme).items()}
    except LookupError:
        return {}
