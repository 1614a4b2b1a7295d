"""Issue 21 items 3 and 4: decoding never memory-maps the file (a photo rewritten while it is read
must not kill the process with SIGBUS) and holds a memory budget decided before decoding, also
across the indexer's decoding threads."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zssbir_core.errors import ImageReadError
from zssbir_core.imageio import MAX_DECODE_BYTES, decode_bytes, load_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def grey16_png(path: Path, width: int, height: int) -> Path:
    """A black 16-bit greyscale PNG: a few hundred bytes per megapixel on disk."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 2 * width)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))
    return path


def screen_gif(path: Path, side: int) -> Path:
    """A GIF of one 1x1 frame on a logical screen of ``side`` x ``side``: 35 bytes."""
    head = b"GIF89a" + struct.pack("<HH", side, side) + bytes([0x80, 0, 0]) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00" + b"\x3b"
    path.write_bytes(head + frame)
    return path


def test_a_gif_whose_logical_screen_is_huge_is_refused_before_decoding(tmp_path: Path) -> None:
    """A 35-byte GIF claiming a 13000 x 13000 screen peaked at 1.35 GB (3.2 GB in the review)."""
    path = screen_gif(tmp_path / "bomb.gif", 13000)
    with pytest.raises(ImageReadError, match="memory budget"):
        load_image(path, target_size=224)


def test_the_estimate_covers_the_conversions(tmp_path: Path) -> None:
    with Image.open(grey16_png(tmp_path / "g.png", 100, 50)) as image:
        assert decode_bytes(image) >= 100 * 50 * (2 + 1 + 3)
    with Image.open(screen_gif(tmp_path / "s.gif", 1000)) as image:
        assert decode_bytes(image) >= 1000 * 1000 * (1 + 3)


_PEAK = textwrap.dedent("""
    import json, sys, threading
    from zssbir_core import imageio
    from zssbir_core.imageio import load_image
    if len(sys.argv) > 3:
        imageio.DECODE_BUDGET.capacity = int(sys.argv[3])
    outcomes = []

    def load():
        try:
            load_image(sys.argv[1], target_size=224)
            outcomes.append("ok")
        except BaseException as error:
            outcomes.append(repr(error))

    def high_water():
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (a pytest that
        # holds torch is larger than any decode here), VmHWM belongs to this process's memory
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    base = high_water()
    threads = [threading.Thread(target=load) for _ in range(int(sys.argv[2]))]
    for t in threads: t.start()
    for t in threads: t.join()
    peak = (high_water() - base) * 1024
    print(json.dumps({"peak": peak, "outcomes": outcomes}))
""")


def _peak_bytes(path: Path, threads: int, capacity: int | None = None) -> int:
    args = [sys.executable, "-c", _PEAK, str(path), str(threads)] + ([str(capacity)] if capacity else [])
    # glibc otherwise keeps freed blocks of one thread's arena for reuse, and the peak would measure that
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    child = subprocess.run(args, check=True, capture_output=True, text=True, timeout=300, env=env)
    report = json.loads(child.stdout)
    assert report["outcomes"] == ["ok"] * threads, report["outcomes"]
    assert report["peak"] > 0, "the decode did not raise the peak: the measure measured nothing"
    return report["peak"]


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_sixteen_bit_png_is_converted_without_copies_of_copies(tmp_path: Path) -> None:
    """The review's 13000 x 13000 16-bit PNG peaked at 4.2 GB (25 bytes a pixel) in
    ``_high_depth_to_rgb``; the decoded image (2), the grey step (1) and the RGB result (3) are all
    that is needed, and the estimate reserved before decoding covers what is used."""
    path = grey16_png(tmp_path / "deep.png", 4000, 4000)
    peak = _peak_bytes(path, 1)
    with Image.open(path) as image:
        estimate = decode_bytes(image)
    assert peak < 12 * 4000 * 4000, f"{peak / 16e6:.1f} bytes a pixel"  # VmHWM: whole pages, the interpreter's own growth
    assert peak <= estimate * 1.2


@pytest.mark.slow
@pytest.mark.subprocess
def test_decoding_threads_share_one_budget(tmp_path: Path) -> None:
    """``index --workers 4`` decoded four bombs at once (10.1 GB): concurrent decodes wait for the
    budget instead. Budget lowered to one image's estimate in the child so the test stays small;
    glibc's mmap threshold is fixed in the child so freed image memory goes back to the system."""
    path = grey16_png(tmp_path / "deep.png", 3000, 3000)
    with Image.open(path) as image:
        one = decode_bytes(image)
    alone = _peak_bytes(path, 1, capacity=one)
    four = _peak_bytes(path, 4, capacity=one)
    assert four < 1.6 * alone, f"four threads peaked at {four / 1e6:.0f} MB, one at {alone / 1e6:.0f} MB"


def test_an_image_over_the_budget_is_refused_and_the_budget_is_returned(tmp_path: Path) -> None:
    from zssbir_core import imageio

    assert imageio.DECODE_BUDGET.capacity == MAX_DECODE_BYTES
    with pytest.raises(ImageReadError):
        load_image(screen_gif(tmp_path / "bomb.gif", 13000))
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "ok.png")
    assert load_image(tmp_path / "ok.png").image.size == (30, 20)
    assert imageio.DECODE_BUDGET.in_use == 0


_REWRITE = textwrap.dedent("""
    import os, sys
    from PIL import ImageFile
    from zssbir_core.errors import ImageReadError
    from zssbir_core.imageio import load_image
    original = ImageFile.ImageFile.load
    def load_then_truncate(self):
        pixels = original(self)
        os.truncate(sys.argv[1], 0)  # another program rewrites the photo right now
        return pixels
    ImageFile.ImageFile.load = load_then_truncate
    try:
        image = load_image(sys.argv[1]).image
        print("read", image.size)
    except ImageReadError as error:
        print("refused", error.reason)
""")


@pytest.mark.subprocess
@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK"])
def test_a_tiff_rewritten_while_it_is_decoded_never_kills_the_process(tmp_path: Path, mode: str) -> None:
    """Pillow memory-maps uncompressed TIFFs opened by name; truncating the file then touching the
    map raised SIGBUS (exit 135). The fault is real: the child truncates the file on disk between
    Pillow's load and the conversion to RGB, the worst moment."""
    path = tmp_path / f"photo-{mode}.tif"
    Image.new(mode, (512, 512), 128 if mode == "L" else (10, 200, 30, 255)[: len(mode)]).save(path)
    child = subprocess.run([sys.executable, "-c", _REWRITE, str(path)], capture_output=True, text=True, timeout=120)
    assert child.returncode != -signal.SIGBUS, "killed by SIGBUS"
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith(("read", "refused"))
    assert os.path.getsize(path) == 0
