from pathlib import Path

import pytest

from testbed import diskcheck

pytestmark = pytest.mark.testbed
PATTERN = b"TEETH-PATTERN-\x5a\xa5" * 32  # 512 bytes


def image(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "disk.img"
    with path.open("wb") as f:
        f.truncate(size)
    return path


def test_fill_then_find_every_block(tmp_path: Path) -> None:
    path = image(tmp_path, 9 << 20)  # not a multiple of the chunk: the tail is filled too
    assert diskcheck.fill(path, PATTERN) == 9 << 20
    left = diskcheck.survivors(path, PATTERN)
    assert left.blocks == (9 << 20) // 512 and left.first_offset == 0 and left


def test_partial_erase_names_the_first_surviving_offset(tmp_path: Path) -> None:
    path = image(tmp_path, 8 << 20)
    diskcheck.fill(path, PATTERN)
    with path.open("r+b") as f:
        f.write(bytes(5 << 20))
    left = diskcheck.survivors(path, PATTERN)
    assert (left.blocks, left.first_offset) == ((3 << 20) // 512, 5 << 20)
    assert "first at byte 5242880" in left.describe()


def test_an_erased_image_has_no_survivors(tmp_path: Path) -> None:
    left = diskcheck.survivors(image(tmp_path, 4 << 20), PATTERN)
    assert not left and "no pattern left" in left.describe()


def test_patterns_must_tile_the_chunk(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pattern length 3"):
        diskcheck.fill(image(tmp_path, 1 << 20), b"abc")


def test_holds_image_compares_the_prefix(tmp_path: Path) -> None:
    disk = image(tmp_path, 8 << 20)
    img = tmp_path / "img.raw"
    img.write_bytes(b"\x01" * (5 << 20) + b"tail")
    assert not diskcheck.holds_image(disk, img)
    with disk.open("r+b") as f:
        f.write(img.read_bytes())
    assert diskcheck.holds_image(disk, img)
    with disk.open("r+b") as f:
        f.seek(3 << 20)
        f.write(b"\x02")
    assert not diskcheck.holds_image(disk, img)
