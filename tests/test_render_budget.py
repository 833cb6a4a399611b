"""The worker's decode budget: derived from its memory limit (the setting, else the cgroup's),
what decoding an image costs judged from its header alone, the refusal an admin reads, and
the band conversion that keeps a 100 MP palette or 16-bit image from being copied whole."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.memory_inputs import palette_png, sixteen_bit_png
from vitrina_common.config import WorkerSettings
from vitrina_worker.rendering import bands
from vitrina_worker.rendering.budget import (
    BudgetTooSmallError,
    cgroup_memory_limit,
    decode_budget,
)
from vitrina_worker.rendering.renderer import (
    RenderOptions,
    UnusableImageError,
    inspect,
    render_preview,
)

MIB = 1024 * 1024
# PNG colour types and the bytes per pixel Pillow decodes them to.
GREY, RGB, PALETTE, GREY_ALPHA, RGBA = 0, 2, 3, 4, 6


def png_header(width: int, height: int, bit_depth: int, colour_type: int) -> bytes:
    """A PNG that claims ``width``×``height`` with almost no pixel data: only the header
    matters to what decoding would cost."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    palette = chunk(b"PLTE", bytes(range(256)) * 3) if colour_type == PALETTE else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + palette
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg(size: tuple[int, int], *, progressive: bool) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, "JPEG", progressive=progressive)
    return out.getvalue()


def webp(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, "WEBP")
    return out.getvalue()


# --- the limit and the budget ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("v2", "v1", "limit"),
    [
        ("805306368\n", None, 768 * MIB),  # cgroup v2, a container limit
        ("max\n", None, None),  # cgroup v2, no limit
        (None, "805306368\n", 768 * MIB),  # cgroup v1
        (None, "9223372036854771712\n", None),  # cgroup v1 says "unlimited" with a huge number
        (None, None, None),  # no cgroup memory controller to be seen
    ],
)
def test_the_cgroup_limit_is_read_from_v2_or_v1(
    tmp_path: Path, v2: str | None, v1: str | None, limit: int | None
) -> None:
    v2_file, v1_file = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    for path, text in ((v2_file, v2), (v1_file, v1)):
        if text is not None:
            path.write_text(text)

    assert cgroup_memory_limit(v2_file, v1_file) == limit


def test_the_budget_is_the_limit_less_the_reserve_per_render_at_once() -> None:
    one = WorkerSettings(memory_reserve_bytes=256 * MIB)
    two = WorkerSettings(memory_reserve_bytes=256 * MIB, render_concurrency=2)

    assert decode_budget(one, cgroup_limit=768 * MIB) == 512 * MIB
    assert decode_budget(two, cgroup_limit=768 * MIB) == 256 * MIB


def test_the_setting_wins_over_the_cgroup_and_without_either_there_is_no_budget() -> None:
    configured = WorkerSettings(memory_limit_bytes=640 * MIB, memory_reserve_bytes=256 * MIB)

    assert decode_budget(configured, cgroup_limit=4096 * MIB) == 384 * MIB
    assert decode_budget(WorkerSettings(), cgroup_limit=None) is None


def test_a_limit_that_leaves_too_little_per_render_names_what_to_change() -> None:
    settings = WorkerSettings(render_concurrency=5)  # 102 MiB each

    with pytest.raises(BudgetTooSmallError) as small:
        decode_budget(settings, cgroup_limit=768 * MIB)

    message = str(small.value)
    assert "768 MiB, the cgroup's memory limit" in message
    assert "APP_CONF__WORKER__MEMORY_RESERVE_BYTES (256 MiB)" in message
    assert "APP_CONF__WORKER__RENDER_CONCURRENCY=5" in message


# --- what decoding costs, from the header ----------------------------------------------------


@pytest.mark.parametrize(
    ("bit_depth", "colour_type", "bytes_per_pixel", "kind"),
    [
        (8, PALETTE, 1, "palette PNG"),
        (8, GREY, 1, "greyscale PNG"),
        (16, GREY, 2, "16-bit greyscale PNG"),
        (8, RGB, 4, "colour PNG"),  # Pillow keeps RGB in 4 bytes
        (8, RGBA, 4, "colour PNG"),
        (16, RGBA, 4, "colour PNG"),  # read as 8-bit RGBA
        (16, GREY_ALPHA, 4, "colour PNG"),
    ],
)
def test_a_png_costs_its_full_size_in_the_mode_it_decodes_to(
    bit_depth: int, colour_type: int, bytes_per_pixel: int, kind: str
) -> None:
    cost = inspect(png_header(10_000, 10_000, bit_depth, colour_type), RenderOptions())

    shrinking = bands.working_bytes((10_000, 10_000), 1280)
    assert cost.bytes == 100_000_000 * bytes_per_pixel + shrinking
    assert cost.describe() == f"10000×10000 (100 MP) {kind}"


def test_a_jpeg_costs_its_draft_size_and_a_progressive_one_its_coefficients_too() -> None:
    baseline = inspect(jpeg((4000, 3000), progressive=False), RenderOptions())
    progressive = inspect(jpeg((4000, 3000), progressive=True), RenderOptions())

    # Shrink-on-decode to 2000×1500 (1/2): 4 bytes a pixel, the shrinking on top.
    decoded = 2000 * 1500 * 4 + bands.working_bytes((2000, 1500), 1280)
    assert baseline.bytes == decoded
    # Every DCT coefficient at full size: 2 bytes a sample, 4:2:0 is 1.5 samples a pixel.
    assert progressive.bytes == decoded + 4000 * 3000 * 3


def test_a_webp_costs_what_its_decoder_keeps_besides_the_image() -> None:
    cost = inspect(webp((1000, 800)), RenderOptions())

    assert cost.bytes == 1000 * 800 * 16 + bands.working_bytes((1000, 800), 1280)


def test_an_image_over_the_budget_is_refused_before_a_pixel_is_decoded() -> None:
    data = png_header(10_000, 10_000, 16, GREY)  # no pixel data: a decode would fail loudly
    options = RenderOptions(max_decode_bytes=200 * MIB)

    with pytest.raises(UnusableImageError) as refused:
        render_preview(data, options)

    assert str(refused.value) == (
        "the image is 10000×10000 (100 MP) 16-bit greyscale PNG: decoding it takes about "
        "278 MB, too large for this worker's memory (at most 210 MB per image); send it "
        "with fewer pixels, or as a JPEG"
    )


def test_within_the_budget_nothing_is_refused() -> None:
    cost = inspect(png_header(10_000, 10_000, 8, PALETTE), RenderOptions())

    assert inspect(
        png_header(10_000, 10_000, 8, PALETTE), RenderOptions(max_decode_bytes=cost.bytes)
    )


# --- bands ---------------------------------------------------------------------------------


def test_a_palette_image_converted_in_bands_matches_converting_it_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = Image.open(io.BytesIO(palette_png((3000, 2000))))
    image.load()
    monkeypatch.setattr(bands, "BAND_PIXELS", 200_000)  # many bands, an uneven last one

    reduced = bands.resizable(image, 500)

    factor = bands.reduction(image.size, 500)
    assert factor == 3
    assert reduced.tobytes() == image.convert("RGB").reduce(factor).tobytes()


def test_sixteen_bit_bands_keep_both_ends_of_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    image = Image.open(io.BytesIO(sixteen_bit_png((2560, 1000))))
    image.load()
    monkeypatch.setattr(bands, "BAND_PIXELS", 100_000)

    reduced = bands.resizable(image, 640)

    assert reduced.mode == "L"
    assert reduced.size == (1280, 500)
    row = reduced.crop((0, 250, 1280, 251)).getextrema()  # the tile repeats along the row
    assert row == (0, 255)


def test_transparency_is_flattened_onto_white_band_by_band() -> None:
    image = Image.new("RGBA", (3000, 3000), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 1500, 3000))

    reduced = bands.resizable(image, 500)

    assert reduced.mode == "RGB"
    assert reduced.getpixel((10, 10)) == (0, 0, 255)
    assert reduced.getpixel((990, 10)) == (255, 255, 255)
