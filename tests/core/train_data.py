"""Tiny real image folders for training tests: each class is a shape (photos: filled, coloured, on
a textured background; sketches: black outline on white), written as JPEG/PNG files."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "cross", "bar")


def _draw(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], **style: object) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, **style)
    elif shape == "square":
        draw.rectangle(box, **style)
    elif shape == "triangle":
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], **style)
    elif shape == "cross":
        w = (x1 - x0) // 4
        draw.rectangle((x0, (y0 + y1) // 2 - w, x1, (y0 + y1) // 2 + w), **style)
        draw.rectangle(((x0 + x1) // 2 - w, y0, (x0 + x1) // 2 + w, y1), **style)
    else:
        draw.rectangle((x0, (y0 + y1) // 2 - 4, x1, (y0 + y1) // 2 + 4), **style)


def make_dataset(
    root: Path, *, classes: int = 3, photos: int = 4, sketches: int = 4, size: int = 64, seed: int = 0,
    with_sketches: bool = True,
) -> Path:
    """Write ``root/photo/<class>/*.jpg`` (and ``root/sketch/<class>/*.png``); return ``root``."""
    rng = random.Random(seed)
    for shape in SHAPES[:classes]:
        photo_dir = root / "photo" / shape
        photo_dir.mkdir(parents=True, exist_ok=True)
        for i in range(photos):
            background = tuple(rng.randrange(120, 256) for _ in range(3))
            image = Image.new("RGB", (size, size), background)
            draw = ImageDraw.Draw(image)
            for _ in range(6):
                x, y = rng.randrange(size), rng.randrange(size)
                draw.point((x, y), fill=(0, 0, 0))
            m = rng.randrange(4, size // 4)
            colour = tuple(rng.randrange(0, 120) for _ in range(3))
            _draw(draw, shape, (m, m, size - m, size - m), fill=colour)
            image.save(photo_dir / f"{shape}_{i}.jpg", quality=90)
        if not with_sketches:
            continue
        sketch_dir = root / "sketch" / shape
        sketch_dir.mkdir(parents=True, exist_ok=True)
        for i in range(sketches):
            image = Image.new("L", (size, size), 255)
            m = rng.randrange(4, size // 4)
            _draw(ImageDraw.Draw(image), shape, (m, m, size - m, size - m), outline=0, width=2)
            image.save(sketch_dir / f"{shape}_{i}.png")
    return root
