"""The renderer's two decoders, Pillow and libvips, under the same hostile corpus and the same
limits: each file ends as the same preview size, or as a refusal with the same reason, from
either. (The corpus also runs through the real worker in ``test_pipeline_corpus``, with the
production choice of decoder per format.)"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.corpus import CORPUS, Specimen, png_claiming
from vitrina_worker.rendering.renderer import (
    LIBVIPS_FORMATS,
    RenderOptions,
    UnusableImageError,
    render_preview,
)

PILLOW_ONLY = RenderOptions(libvips_formats=frozenset())
LIBVIPS = RenderOptions(libvips_formats=LIBVIPS_FORMATS)
BACKENDS = {"pillow": PILLOW_ONLY, "libvips": LIBVIPS}
# The worker refuses an oversized original before rendering; the renderer never sees it.
RENDERABLE = [s for s in CORPUS if "limit is 50 MB" not in (s.failure or "")]


def _outcome(data: bytes, options: RenderOptions) -> Image.Image | str:
    try:
        preview = render_preview(data, options)
    except UnusableImageError as refused:
        return str(refused)
    return Image.open(io.BytesIO(preview))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("specimen", RENDERABLE, ids=lambda s: s.name)
def test_every_specimen_ends_the_same_with_either_decoder(specimen: Specimen, backend: str) -> None:
    outcome = _outcome(specimen.make(), BACKENDS[backend])

    if specimen.failure is not None:
        assert isinstance(outcome, str)
        assert specimen.failure in outcome
    else:
        assert isinstance(outcome, Image.Image), outcome
        assert (outcome.format, outcome.mode) == ("JPEG", "RGB")
        assert max(outcome.size) <= 1280
        if specimen.preview_size is not None:
            assert outcome.size == specimen.preview_size


def _save(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _photo_like(size: tuple[int, int]) -> Image.Image:
    return Image.merge(
        "RGB", [Image.linear_gradient("L").resize(size).rotate(angle) for angle in (0, 90, 180)]
    )


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_both_decoders_make_the_same_picture(fmt: str) -> None:
    data = _save(_photo_like((3000, 2000)), fmt, **({"quality": 95} if fmt == "WEBP" else {}))

    pillow, libvips = (Image.open(io.BytesIO(render_preview(data, o))) for o in BACKENDS.values())

    assert pillow.size == libvips.size == (1280, 853)
    # Different resampling filters and a re-encoded JPEG: close, not identical.
    difference = [abs(a - b) for a, b in zip(pillow.tobytes(), libvips.tobytes(), strict=True)]
    assert sum(difference) / len(difference) < 3


def test_a_truncated_png_or_webp_is_refused_as_damaged_by_libvips() -> None:
    for fmt in ("PNG", "WEBP"):
        data = _save(_photo_like((1600, 1200)), fmt)

        with pytest.raises(UnusableImageError, match="damaged or truncated"):
            render_preview(data[: len(data) // 2], LIBVIPS)


def test_an_exif_rotated_png_is_turned_upright_by_libvips() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(_photo_like((2000, 1000)), "PNG", exif=exif.tobytes())

    preview = Image.open(io.BytesIO(render_preview(data, LIBVIPS)))

    assert preview.size == (640, 1280)


def test_libvips_sees_only_what_passed_the_header_checks() -> None:
    with pytest.raises(UnusableImageError, match="40000×40000"):
        render_preview(png_claiming(40000, 40000), LIBVIPS)
