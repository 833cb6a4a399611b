"""Run the import benchmark and print its report (``--quick`` for a small run)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from bench.servers import bench_servers
from vitrina_common.imports import ImportLimits

from .files import make_csv, make_images, make_zip
from .parsing import compare
from .pipeline import timed_import


async def run(rows: int, images: int, workers: int, repeats: int) -> None:
    """Generate the files, time the CSV stage, then the whole import; print the report."""
    started = time.perf_counter()
    pictures = make_images(images)
    csv_bytes = make_csv(rows, images)
    zip_bytes = make_zip(csv_bytes, pictures)
    print(
        f"{rows} CSV rows (cp1251, {len(csv_bytes) / 2**20:.1f} MB) over {images} distinct"
        f" 800×600 JPEGs (ZIP {len(zip_bytes) / 2**20:.0f} MB), made in"
        f" {time.perf_counter() - started:.0f} s; {os.cpu_count()} cores"
    )
    ours, plain = compare(csv_bytes, rows, ImportLimits(max_rows=rows), repeats)
    async with bench_servers("bench-import") as servers:
        work, pg, nats = servers.work, servers.pg, servers.nats
        timing = await timed_import(pg, nats, zip_bytes, workers, work)
    assert (timing.imported, timing.failed) == (rows, 0), timing
    print(f"CSV parse+validate, vitrina_common.imports  {ours * 1000:8.1f} ms")
    print(f"CSV plain csv-module loop (decode, split)   {plain * 1000:8.1f} ms")
    print(f"  ratio                                     {ours / plain:8.1f}× the plain loop")
    print(
        f"import through {workers} worker process(es), previews rendering alongside:"
        f" planned in {timing.planned_s:.1f} s, every row settled in {timing.done_s:.1f} s"
    )
    print(f"  {rows / timing.done_s:8.0f} rows/s   (each a product committed with its render job)")
    print(f"  {images / timing.done_s:8.0f} images/s (end to end)")
    print(
        f"  {images / timing.planned_s:8.0f} images/s in the plan stage (read from the ZIP,"
        " checked, hashed, stored as originals)"
    )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.import")
    parser.add_argument("--quick", action="store_true", help="1 000 rows over 100 images")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows, images, repeats = (1_000, 100, 3) if args.quick else (10_000, 1_000, 5)
    asyncio.run(run(rows, images, args.workers, repeats))


if __name__ == "__main__":
    main()
