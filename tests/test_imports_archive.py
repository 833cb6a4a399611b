"""Import ZIPs are read safely: bombs, lying directories and path tricks are refused."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from vitrina_common.imports import (
    EntryError,
    ImageArchive,
    ImportFileError,
    ImportLimits,
    ImportReason,
    find_csv,
    open_archive,
    refuse_unsafe_paths,
)
from vitrina_common.imports.archive import UNSAFE_PATH

MIB = 1024 * 1024
JPEG = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"


def make_zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def opened(entries: dict[str, bytes], limits: ImportLimits | None = None) -> ImageArchive:
    return open_archive(make_zip(entries), limits)


def patch_sizes(data: bytes, size: int) -> bytes:
    """The same ZIP with its one entry's uncompressed size rewritten in both headers."""
    patched = bytearray(data)
    local, central = patched.find(b"PK\x03\x04"), patched.find(b"PK\x01\x02")
    struct.pack_into("<L", patched, local + 22, size)
    struct.pack_into("<L", patched, central + 24, size)
    return bytes(patched)


def test_entries_are_read_back_whole() -> None:
    archive = opened({"photos/sunset.jpg": JPEG, "moon.png": b"png"})

    assert sorted(archive.names()) == ["moon.png", "photos/sunset.jpg"]
    assert archive.read("photos/sunset.jpg") == JPEG


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04garbage", JPEG])
def test_anything_but_a_zip_is_refused(data: bytes) -> None:
    with pytest.raises(ImportFileError, match="not a"):
        open_archive(data)


def test_zip_bomb_entry_is_refused_from_the_directory_without_inflating_it() -> None:
    bomb = make_zip({"zeros.jpg": bytes(10 * MIB)})
    assert len(bomb) < 64 * 1024  # ten megabytes of zeros squeeze into a few kilobytes
    started = time.process_time()  # CPU time: the cost, whatever shares the cores

    with pytest.raises(ImportFileError, match=r"'zeros\.jpg' is 10\.0 MB uncompressed"):
        open_archive(bomb, ImportLimits(max_image_bytes=MIB))

    assert time.process_time() - started < 0.5


def test_zip_unpacking_past_the_total_limit_is_refused() -> None:
    entries = {f"{n}.jpg": bytes(MIB) for n in range(5)}
    with pytest.raises(ImportFileError, match=r"unpacks to 5\.0 MB; the limit is 4\.0 MB"):
        opened(entries, ImportLimits(max_zip_total_bytes=4 * MIB))


def test_directory_claiming_a_small_entry_cannot_make_a_read_inflate_it() -> None:
    lying = patch_sizes(make_zip({"zeros.jpg": bytes(10 * MIB)}), 1000)
    archive = open_archive(lying, ImportLimits(max_image_bytes=MIB))
    tracemalloc.start()
    try:
        with pytest.raises(EntryError, match=r"damaged|more than its ZIP directory says"):
            archive.read("zeros.jpg")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MIB


def test_reading_stops_at_the_limit_the_caller_asks_for() -> None:
    archive = opened({"big.jpg": bytes(3 * MIB)})
    with pytest.raises(EntryError, match=r"larger than 1\.0 MB"):
        archive.read("big.jpg", max_bytes=MIB)


def test_more_entries_than_the_limit_are_refused() -> None:
    entries = {f"{n}.jpg": b"x" for n in range(11)}
    with pytest.raises(ImportFileError, match="more than 10 files"):
        opened(entries, ImportLimits(max_zip_entries=10))


def test_entry_count_is_walked_not_taken_from_the_end_record() -> None:
    data = bytearray(make_zip({f"{n}.jpg": b"x" for n in range(50)}))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 1, 1)  # "one entry", says the end record

    with pytest.raises(ImportFileError, match="more than 10 files"):
        open_archive(bytes(data), ImportLimits(max_zip_entries=10))


@pytest.mark.parametrize(
    "name",
    ["../evil.jpg", "photos/../../evil.jpg", "/etc/x.jpg", "C:\\x.jpg", "c:x.jpg", "..\\evil.jpg"],
)
def test_path_traversal_entries_are_refused_one_by_one(name: str) -> None:
    archive = opened({name: JPEG, "fine.jpg": JPEG})

    assert archive.names() == ["fine.jpg"]
    assert archive.refused() == {name: UNSAFE_PATH}
    with pytest.raises(EntryError, match="not in the ZIP"):
        archive.read(name)


def test_folders_and_macos_or_windows_junk_are_ignored() -> None:
    archive = opened(
        {
            "photos/": b"",
            "photos/sunset.jpg": JPEG,
            "__MACOSX/photos/._sunset.jpg": b"resource fork",
            "photos/._moon.jpg": b"resource fork",
            "photos/.DS_Store": b"finder",
            "Thumbs.db": b"thumbs",
        }
    )

    assert archive.names() == ["photos/sunset.jpg"]
    assert archive.refused() == {}


def test_password_protected_entries_are_refused() -> None:
    data = bytearray(make_zip({"secret.jpg": JPEG}))
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the "encrypted" flag, as zip -e writes it

    archive = open_archive(bytes(data))

    assert archive.refused() == {"secret.jpg": ImportReason("entry_encrypted")}


def test_windows_cp866_entry_names_are_decoded() -> None:
    placeholder, russian = "XXXXX.jpg", "Закат.jpg"
    data = make_zip({placeholder: JPEG}).replace(placeholder.encode(), russian.encode("cp866"))

    archive = open_archive(data)

    assert archive.names() == [russian]
    assert archive.locate("закат.JPG") == russian


def test_csv_names_find_entries_ignoring_case_and_folders() -> None:
    archive = opened({"Shop Export/Photos/Sunset.JPG": JPEG, "moon.png": b"png"})

    assert archive.locate("sunset.jpg") == "Shop Export/Photos/Sunset.JPG"
    assert archive.locate("photos\\SUNSET.jpg") == "Shop Export/Photos/Sunset.JPG"
    assert archive.locate("./moon.png") == "moon.png"


def test_a_folder_in_the_csv_name_settles_which_same_named_file_is_meant() -> None:
    archive = opened({"summer/a.jpg": JPEG, "winter/a.jpg": JPEG})

    assert archive.locate("winter/a.jpg") == "winter/a.jpg"
    with pytest.raises(EntryError, match="matches several files"):
        archive.locate("a.jpg")


def test_missing_and_refused_images_are_told_apart() -> None:
    archive = opened({"../evil.jpg": JPEG})

    with pytest.raises(EntryError, match=r"image file 'x\.jpg' is not in the ZIP"):
        archive.locate("x.jpg")
    with pytest.raises(EntryError, match=r"refused in the ZIP .*unsafe path"):
        archive.locate("evil.jpg")


def test_find_csv_returns_the_only_csv() -> None:
    archive = opened({"import/products.CSV": b"title", "a.jpg": JPEG})
    assert find_csv(archive) == "import/products.CSV"


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"a.jpg": JPEG}, "no .csv file"),
        ({"a.csv": b"", "b.csv": b"", "a.jpg": JPEG}, r"several CSV files \(a\.csv, b\.csv\)"),
    ],
)
def test_find_csv_refuses_none_or_several(entries: dict[str, bytes], reason: str) -> None:
    with pytest.raises(ImportFileError, match=reason):
        find_csv(opened(entries))


@pytest.mark.parametrize("name", ["../evil.jpg", "/etc/evil.jpg", "photos/../../evil.jpg"])
def test_a_zip_with_an_unsafe_path_is_refused_as_a_whole(name: str) -> None:
    archive = opened({name: JPEG, "fine.jpg": JPEG})

    with pytest.raises(ImportFileError, match="unsafe paths") as refused:
        refuse_unsafe_paths(archive)

    assert f"'{name}'" in refused.value.reason.english()


def test_a_zip_with_only_safe_paths_and_junk_passes() -> None:
    refuse_unsafe_paths(opened({"a/b.jpg": JPEG, "__MACOSX/._b.jpg": b"x"}))


# --- a ZIP on disk (the bot and the worker spool large ones there) ------------------------


def test_a_zip_on_disk_is_read_like_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "images.zip"
    path.write_bytes(make_zip({"photos/sunset.jpg": JPEG, "products.csv": b"title"}))

    with open_archive(path) as archive:
        assert sorted(archive.names()) == ["photos/sunset.jpg", "products.csv"]
        assert archive.read("photos/sunset.jpg") == JPEG
        assert find_csv(archive) == "products.csv"


@pytest.mark.parametrize("data", [b"", b"not a zip at all", JPEG])
def test_a_file_on_disk_that_is_no_zip_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "images.zip"
    path.write_bytes(data)

    with pytest.raises(ImportFileError, match="not a"):
        open_archive(path)


def test_the_entry_count_of_a_zip_on_disk_is_walked_too(tmp_path: Path) -> None:
    data = bytearray(make_zip({f"{n}.jpg": b"x" for n in range(50)}))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 1, 1)  # "one entry", says the end record
    path = tmp_path / "images.zip"
    path.write_bytes(bytes(data))

    with pytest.raises(ImportFileError, match="more than 10 files"):
        open_archive(path, ImportLimits(max_zip_entries=10))
