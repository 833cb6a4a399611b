"""``python -m bench.preview``: our preview renderer against pyvips, side by side, one core each.

Both do the same job on the same bytes: decode (shrinking on load where the format allows),
fit into 1280×1280, composite the same watermark, encode JPEG q85. Printed per input:
images/s for both and the ratio; the floor (decode at reduced size + encode the output
size, nothing else) and our share of it; peak RSS of one render, each in a fresh process.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("VIPS_CONCURRENCY", "1")  # before pyvips loads libvips

import PIL
import pyvips
from PIL import Image

from bench.images import encoded, photo
from vitrina_worker.rendering.renderer import RenderOptions, render_preview
from vitrina_worker.rendering.watermark import watermark_layer

OPTIONS = RenderOptions(long_side=1280, jpeg_quality=85, watermark_text="Vitrina")
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


def throughput(render: Renderer, data: bytes, min_seconds: float, min_runs: int) -> float:
    """Images per second of ``render`` on ``data`` (after one warm-up run)."""
    render(data)
    runs = 0
    started = time.perf_counter()
    while runs < min_runs or time.perf_counter() - started < min_seconds:
        render(data)
        runs += 1
    return runs / (time.perf_counter() - started)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _peak_rss_child(name: str, path: str, queue: multiprocessing.Queue[int]) -> None:
    render = {"vitrina": render_with_vitrina, "pyvips": render_with_vips}[name]
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
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}; Pillow {PIL.__version__}"
    )
    header = (
        f"{'input':<12} {'MB':>5} {'vitrina/s':>10} {'pyvips/s':>9} {'ratio':>6} "
        f"{'floor/s':>8} {'share':>6} {'RSS vitrina':>12} {'RSS pyvips':>11}"
    )
    print(header)
    print("-" * len(header))
    for label, (size, fmt) in CASES.items():
        data = encoded(photo(size), fmt)
        path = args.out / f"{label.replace(' ', '_')}.{fmt.lower()}"
        path.write_bytes(data)
        ours = throughput(render_with_vitrina, data, args.seconds, args.runs)
        peer = throughput(render_with_vips, data, args.seconds, args.runs)
        base = throughput(floor, data, args.seconds, args.runs)
        rss_ours, rss_peer = peak_rss("vitrina", path), peak_rss("pyvips", path)
        print(
            f"{label:<12} {len(data) / 2**20:>5.1f} {ours:>10.2f} {peer:>9.2f} "
            f"{ours / peer:>5.2f}× {base:>8.2f} {ours / base:>6.0%} "
            f"{rss_ours / 2**20:>9.1f} MB {rss_peer / 2**20:>8.1f} MB"
        )


if __name__ == "__main__":
    main()
