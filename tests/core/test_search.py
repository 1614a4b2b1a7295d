"""SketchSearcher with the real Lite0 model on real Sketchy photos and sketches."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.core.library_helpers import copy_photos, embedder, first_sketch, other_embedder  # noqa: F401 - fixtures
from zssbir_core.errors import ImageReadError, LibraryError
from zssbir_core.library import PhotoLibrary
from zssbir_core.search import SketchSearcher, query_to_image


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, sketchy_root, embedder):
    root = tmp_path_factory.mktemp("search")
    copy_photos(sketchy_root, root / "photos", {"apple": 5, "bear": 5, "castle": 5})
    library = PhotoLibrary.open(root / "library")
    library.add_folder(root / "photos")
    list(library.index(embedder, batch_size=8))
    yield library, root / "photos"
    library.close()


def test_search_forms_agree(indexed, embedder, sketchy_root) -> None:
    library, _ = indexed
    searcher = SketchSearcher(library, embedder)
    sketch = first_sketch(sketchy_root, "castle")
    by_path = searcher.search(sketch, k=5)
    by_file = searcher.search_file(str(sketch), k=5)
    with Image.open(sketch) as image:
        by_image = searcher.search(image.copy(), k=5)
        by_array = searcher.search(np.asarray(image.convert("RGB")), k=5)
    assert len(by_path) == 5 and by_path[0].score >= by_path[-1].score
    assert [r.id for r in by_path] == [r.id for r in by_file] == [r.id for r in by_image] == [r.id for r in by_array]
    assert all(r.path.is_file() for r in by_path)
    assert len(searcher.search(sketch, k=1000)) == 15  # k clamped to the photos there are


def test_folder_filter(indexed, embedder, sketchy_root) -> None:
    library, photos = indexed
    searcher = SketchSearcher(library, embedder)
    results = searcher.search(first_sketch(sketchy_root, "apple"), k=10, folders=[photos / "bear"])
    assert len(results) == 5 and all(r.path.parent.name == "bear" for r in results)


def test_similar_leaves_the_photo_out(indexed, embedder) -> None:
    library, _ = indexed
    results = SketchSearcher(library, embedder).similar(1, k=3)
    assert len(results) == 3 and 1 not in [r.id for r in results]
    with pytest.raises(LibraryError, match="no vector"):
        SketchSearcher(library, embedder).similar(9999)


def test_transparent_canvas_is_a_sketch_on_white() -> None:
    canvas = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    canvas.paste((0, 0, 0, 255), (10, 0, 12, 40))
    image = query_to_image(canvas)
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (255, 255, 255)
    assert query_to_image(np.ones((8, 8), dtype=np.float32)).getpixel((1, 1)) == (255, 255, 255)


def test_bad_queries_raise_clear_errors(indexed, embedder, tmp_path) -> None:
    library, _ = indexed
    searcher = SketchSearcher(library, embedder)
    (tmp_path / "sketch.png").write_bytes(b"not a png")
    with pytest.raises(ImageReadError, match="not an image"):
        searcher.search(tmp_path / "sketch.png")
    with pytest.raises(ImageReadError, match="array"):
        searcher.search(np.zeros((4, 4, 2), dtype=np.uint8))


def test_a_searcher_with_another_model_is_refused(indexed, other_embedder) -> None:
    library, _ = indexed
    with pytest.raises(LibraryError, match="index the library with this model first"):
        SketchSearcher(library, other_embedder).search(np.zeros((32, 32, 3), dtype=np.uint8))
