"""The CSV stage alone: ``vitrina_common.imports.parse_csv`` (encoding detection, delimiter
sniffing, header aliases, per-row validation, duplicates, mojibake checks) versus the least
a loop with the ``csv`` module must do with the same file: decode it (told the encoding),
split the rows and turn each price into an int."""

from __future__ import annotations

import csv
import io
import statistics
import time
from collections.abc import Callable

from vitrina_common.imports import ImportLimits, parse_csv


def plain_csv_loop(data: bytes) -> int:
    """Rows a bare csv.reader loop accepts (told the encoding and delimiter up front)."""
    reader = csv.reader(io.StringIO(data.decode("cp1251")), delimiter=";")
    next(reader)
    accepted = 0
    for cells in reader:
        if len(cells) >= 5 and cells[2].strip().isdigit():
            int(cells[2])
            accepted += 1
    return accepted


def ours(data: bytes, limits: ImportLimits) -> int:
    """Rows ``parse_csv`` accepts."""
    return len(parse_csv(data, limits).rows)


def median_seconds(work: Callable[[], int], expected: int, repeats: int) -> float:
    """The median wall time of ``work`` over ``repeats`` runs (each must accept ``expected``)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        assert work() == expected
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def compare(data: bytes, rows: int, limits: ImportLimits, repeats: int) -> tuple[float, float]:
    """Seconds per parse: ours, then the plain loop."""
    return (
        median_seconds(lambda: ours(data, limits), rows, repeats),
        median_seconds(lambda: plain_csv_loop(data), rows, repeats),
    )
