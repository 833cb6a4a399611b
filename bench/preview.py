"""``python -m bench.preview``: our preview renderer against pyvips, side by side, one core each.

Both do the same job on the same bytes: decode (shrinking on load where the format allows),
fit into 1280×1280, composite the same watermark, encode JPEG q85. Printed per input:
images/s of ours as the worker runs it, of ours with each decoder forced (Pillow, libvips:
the figures ``renderer.LIBVIPS_FORMATS`` follows), of pyvips, and the ratio ours/pyvips;
CPU milliseconds per image of ours and pyvips and their ratio (pyvips/ours: above 1 when
ours needs less), which a loaded machine disturbs far less than the wall clock (medians);
Pillow's floor (decode at reduced size + encode the output size, nothing else); peak RSS of
one render, each in a fresh process. The renderers take turns call by call, so a load on
the machine slows them alike; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median

os.environ.setdefault("VIPS_CONCURRENCY", "1")  # before pyvips loads libvips

import PIL
import pyvips
from PIL import Image

from bench.images import encoded, photo
from bench.machine import load_average
from vitrina_worker.rendering.renderer import LIBVIPS_FORMATS, RenderOptions, render_preview
from vitrina_worker.rendering.watermark import watermark_layer

OPTIONS = RenderOptions(long_side=1280, jpeg_quality=85, watermark_text="Vitrina")
PILLOW_ONLY = RenderOptions(
    long_side=1280, jpeg_quality=85, watermark_text="Vitrina", libvips_formats=frozenset()
)
LIBVIPS_ALL = RenderOptions(
    long_side=1280,
    jpeg_quality=85,
    watermark_text="Vitrina",
    libvips_formats=LIBVIPS_FORMATS | {"JPEG"},
)
CASES = {
    "12 MP JPEG": ((4000, 3000), "JPEG"),
    "24 MP JPEG": ((6000, 4000), "JPEG"),
    "12 MP PNG": ((4000, 3000), "PNG"),
    "12 MP WebP": ((4000, 3000), "WEBP"),
}
Renderer = Callable[[bytes], bytes]


def _overlay(size: tuple[int, int]) -> pyvips.Image:
    """Our exact watermark (cached colour layer + alpha) as an RGBA image for vips."""
    colour, alpha = watermark_layer(OPTIONS.watermark_text, size)
    rgba = Image.merge("RGBA", (*colour.split(), alpha))
    layer = pyvips.Image.new_from_memory(rgba.tobytes(), size[0], size[1], 4, "uchar")
    return layer.copy(interpretation="srgb").copy_memory()


_OVERLAYS: dict[tuple[int, int], pyvips.Image] = {}


def render_with_vips(data: bytes) -> bytes:
    """The peer: vips thumbnail (shrink-on-load, autorotate) + the same watermark + JPEG q85."""
    thumb = pyvips.Image.thumbnail_buffer(data, OPTIONS.long_side, height=OPTIONS.long_side)
    if thumb.hasalpha():
        thumb = thumb.flatten(background=[255, 255, 255])
    size = (thumb.width, thumb.height)
    overlay = _OVERLAYS.get(size)
    if overlay is None:
        overlay = _OVERLAYS[size] = _overlay(size)
    out = thumb.bandjoin_const([255]).composite2(overlay, "over").extract_band(0, n=3)
    return bytes(out.jpegsave_buffer(Q=OPTIONS.jpeg_quality))


def render_with_vitrina(data: bytes) -> bytes:
    """Ours, exactly as the worker calls it."""
    return render_preview(data, OPTIONS)


def render_with_pillow(data: bytes) -> bytes:
    """Ours with Pillow decoding and scaling every format."""
    return render_preview(data, PILLOW_ONLY)


def render_with_libvips(data: bytes) -> bytes:
    """Ours with libvips decoding and scaling every format (JPEG only here, for comparison)."""
    return render_preview(data, LIBVIPS_ALL)


def floor(data: bytes) -> bytes:
    """The least any renderer must do: decode (shrinking on load where the format allows)
    and encode an output-sized image. No resampling, no watermark, no colour work."""
    image = Image.open(io.BytesIO(data))
    scale = OPTIONS.long_side / max(image.size)
    image.draft("RGB", (int(image.width * scale) + 1, int(image.height * scale) + 1))
    image.load()
    out = io.BytesIO()
    image.crop((0, 0, *_fit(image.size))).save(out, "JPEG", quality=OPTIONS.jpeg_quality)
    return out.getvalue()


def _fit(size: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, OPTIONS.long_side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


@dataclass(frozen=True)
class Speed:
    """A renderer's images per second (wall clock), and its CPU seconds per image (all its
    threads: what a loaded machine changes least); medians of its runs."""

    rate: float
    cpu: float


def throughput(
    renderers: dict[str, Renderer], data: bytes, min_seconds: float, min_runs: int
) -> dict[str, Speed]:
    """Each renderer's speed on ``data`` (after one warm-up run each), taking turns one
    render at a time until each has run ``min_runs`` times and ``min_seconds``."""
    wall: dict[str, list[float]] = {name: [] for name in renderers}
    cpu: dict[str, list[float]] = {name: [] for name in renderers}
    for render in renderers.values():
        render(data)
    while min(map(len, wall.values())) < min_runs or min(map(sum, wall.values())) < min_seconds:
        for name, render in renderers.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            render(data)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu_started)
    return {name: Speed(1 / median(wall[name]), median(cpu[name])) for name in renderers}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _peak_rss_child(name: str, path: str, queue: multiprocessing.Queue[int]) -> None:
    render = RENDERERS[name]
    data = Path(path).read_bytes()
    render(data)  # caches (watermark masks, vips overlay) as in steady state
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _status_kb("VmRSS")
    render(data)
    queue.put((_status_kb("VmHWM") - before) * 1024)


def peak_rss(name: str, path: Path) -> int:
    """Extra resident memory one render needs at its peak, measured in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[int] = context.Queue()
    child = context.Process(target=_peak_rss_child, args=(name, str(path), queue))
    child.start()
    result = queue.get(timeout=300)
    child.join()
    return result


RENDERERS: dict[str, Renderer] = {
    "vitrina": render_with_vitrina,
    "pillow": render_with_pillow,
    "libvips": render_with_libvips,
    "pyvips": render_with_vips,
    "floor": floor,
}


def main() -> None:
    """Generate the inputs, measure, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.preview")
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum time per measurement")
    parser.add_argument("--runs", type=int, default=5, help="minimum renders per measurement")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"one core each; pyvips {pyvips.__version__} with libvips "
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}; Pillow {PIL.__version__}; "
        f"{os.cpu_count()} CPUs; {load_average()}"
    )
    header = (
        f"{'input':<12} {'MB':>5} {'vitrina/s':>10} {'pillow/s':>9} {'libvips/s':>10} "
        f"{'pyvips/s':>9} {'ratio':>6} {'CPU ms vitrina':>15} {'pyvips':>7} {'ratio':>6} "
        f"{'floor/s':>8} {'RSS vitrina':>12} {'RSS pillow':>11} {'RSS pyvips':>11}"
    )
    print(header)
    print("-" * len(header))
    for label, (size, fmt) in CASES.items():
        data = encoded(photo(size), fmt)
        path = args.out / f"{label.replace(' ', '_')}.{fmt.lower()}"
        path.write_bytes(data)
        speed = throughput(RENDERERS, data, args.seconds, args.runs)
        ours, peer = speed["vitrina"], speed["pyvips"]
        rss = {name: peak_rss(name, path) / 2**20 for name in ("vitrina", "pillow", "pyvips")}
        print(
            f"{label:<12} {len(data) / 2**20:>5.1f} {ours.rate:>10.2f} "
            f"{speed['pillow'].rate:>9.2f} {speed['libvips'].rate:>10.2f} {peer.rate:>9.2f} "
            f"{ours.rate / peer.rate:>5.2f}× {ours.cpu * 1000:>15.0f} {peer.cpu * 1000:>7.0f} "
            f"{peer.cpu / ours.cpu:>5.2f}× {speed['floor'].rate:>8.2f} "
            f"{rss['vitrina']:>9.1f} MB {rss['pillow']:>8.1f} MB {rss['pyvips']:>8.1f} MB",
            flush=True,
        )
    print(load_average())


if __name__ == "__main__":
    main()
