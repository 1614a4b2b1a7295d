"""open_image on real files of every supported kind, and on the hostile ones it must refuse."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zssbir_core.errors import ImageReadError
from zssbir_core.imageio import IMAGE_EXTENSIONS, is_image_path, load_image, open_image


@pytest.fixture()
def colours() -> np.ndarray:
    """A 120x160 picture: left half red, right half blue."""
    array = np.zeros((120, 160, 3), dtype=np.uint8)
    array[:, :80] = (220, 20, 20)
    array[:, 80:] = (20, 20, 220)
    return array


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".bmp", ".tif", ".gif"])
def test_every_format_reads_as_rgb(tmp_path: Path, colours: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(colours).save(path)
    image = open_image(path)
    assert image.mode == "RGB"
    assert image.size == (160, 120)
    pixels = np.asarray(image).astype(int)
    assert abs(pixels[60, 20] - (220, 20, 20)).max() < 40
    assert abs(pixels[60, 140] - (20, 20, 220)).max() < 40


def test_cmyk_palette_greyscale_convert(tmp_path: Path, colours: np.ndarray) -> None:
    for mode, suffix in [("CMYK", ".jpg"), ("P", ".png"), ("L", ".png"), ("1", ".bmp")]:
        path = tmp_path / f"{mode}{suffix}"
        Image.fromarray(colours).convert(mode).save(path)
        image = open_image(path)
        assert image.mode == "RGB" and image.size == (160, 120), mode


def test_sixteen_bit_greyscale_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    for suffix in (".png", ".tif"):
        path = tmp_path / f"deep{suffix}"
        Image.fromarray(ramp).save(path)
        pixels = np.asarray(open_image(path))
        assert pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255, suffix
        assert 100 < pixels[32, 0, 0] < 160, suffix


def test_transparency_becomes_white(tmp_path: Path) -> None:
    stroke = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    stroke.paste((0, 0, 0, 255), (30, 0, 34, 64))
    stroke.save(tmp_path / "sketch.png")
    stroke.convert("LA").save(tmp_path / "sketch_la.png")
    stroke.convert("P").save(tmp_path / "sketch_p.gif", transparency=0)
    for name in ("sketch.png", "sketch_la.png"):
        pixels = np.asarray(open_image(tmp_path / name))
        assert tuple(pixels[5, 5]) == (255, 255, 255), name
        assert tuple(pixels[5, 32]) == (0, 0, 0), name


def test_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert tuple(np.asarray(open_image(tmp_path / "anim.gif"))[16, 16]) == (255, 0, 0)


def test_exif_orientation_is_applied(tmp_path: Path, colours: np.ndarray) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees clockwise
    Image.fromarray(colours).save(tmp_path / "rotated.jpg", exif=exif)
    loaded = load_image(tmp_path / "rotated.jpg")
    assert loaded.image.size == (120, 160)
    assert (loaded.width, loaded.height) == (120, 160)
    top = np.asarray(loaded.image).astype(int)[5, 60]
    assert top[0] > 150 and top[2] < 100  # the red left half is now on top


def test_large_jpeg_is_decoded_in_draft_mode(tmp_path: Path) -> None:
    Image.new("RGB", (4000, 3000), (90, 140, 200)).save(tmp_path / "camera.jpg", quality=80)
    loaded = load_image(tmp_path / "camera.jpg", target_size=224)
    assert (loaded.width, loaded.height) == (4000, 3000)
    assert 224 <= min(loaded.image.size) < 3000
    assert loaded.image.size == (500, 375)  # 1/8 scale
    assert open_image(tmp_path / "camera.jpg").size == (4000, 3000)


def test_extensions() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"} <= IMAGE_EXTENSIONS
    assert is_image_path("a/B.JPG") and not is_image_path("notes.txt")


def _reason(path: Path) -> str:
    with pytest.raises(ImageReadError) as caught:
        open_image(path)
    assert caught.value.path == path
    return caught.value.reason


def test_hostile_files_raise_image_read_error(tmp_path: Path, colours: np.ndarray) -> None:
    Image.fromarray(colours).save(tmp_path / "good.jpg")
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not a picture")
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    Image.new("1", (20000, 10000)).save(tmp_path / "bomb.png")
    (tmp_path / "folder.jpg").mkdir()
    os.symlink(tmp_path / "loop_b.jpg", tmp_path / "loop_a.jpg")
    os.symlink(tmp_path / "loop_a.jpg", tmp_path / "loop_b.jpg")

    assert "truncated" in _reason(tmp_path / "truncated.jpg")
    assert _reason(tmp_path / "empty.jpg") == "empty file"
    assert "not an image" in _reason(tmp_path / "text.jpg")
    assert _reason(tmp_path / "garbage.png")
    assert "decompression bomb" in _reason(tmp_path / "bomb.png")
    assert "directory" in _reason(tmp_path / "folder.jpg")
    assert _reason(tmp_path / "loop_a.jpg") == "symbolic link loop"
    assert _reason(tmp_path / "missing.jpg") == "file not found"


def test_postscript_is_never_handed_to_ghostscript(tmp_path: Path) -> None:
    (tmp_path / "evil.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    assert "not an image" in _reason(tmp_path / "evil.jpg")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(tmp_path: Path, colours: np.ndarray) -> None:
    path = tmp_path / "secret.jpg"
    Image.fromarray(colours).save(path)
    path.chmod(0)
    assert _reason(path) == "permission denied"


def test_heic_is_read_when_pillow_heif_is_installed(tmp_path: Path, colours: np.ndarray) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    Image.fromarray(colours).save(tmp_path / "phone.heic", quality=90)
    assert ".heic" in IMAGE_EXTENSIONS and is_image_path(tmp_path / "phone.heic")
    loaded = load_image(tmp_path / "phone.heic")
    assert loaded.format == "HEIF" and loaded.image.mode == "RGB" and loaded.image.size == (160, 120)
    assert abs(np.asarray(loaded.image).astype(int)[60, 20] - (220, 20, 20)).max() < 40
