"""``embed_and_score``, the one routine behind evaluation, validation and the fine-tuning figures:
its figures are those of the images embedded one by one and ranked by ``retrieval_metrics``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.core.train_data import make_dataset
from zssbir_core.data.folder import scan_folder_dataset
from zssbir_core.data.pseudo_sketch import photo_to_sketch
from zssbir_core.evaluation.evaluate import embed_and_score, evaluate_retrieval
from zssbir_core.evaluation.metrics import retrieval_metrics
from zssbir_core.imageio import open_image
from zssbir_core.models.registry import load_model
from zssbir_core.query_views import embed_queries, views

SIZE = 32


@pytest.fixture(scope="module")
def embedder():
    return load_model("lite0-imagenet", image_size=SIZE)


def _by_hand(embedder, queries, gallery, *, draw: bool) -> dict[str, float]:
    def image(sample, drawn: bool):
        picture = open_image(sample.path, target_size=SIZE)
        return photo_to_sketch(picture) if drawn else picture

    query_vectors = embedder.embed_images([image(s, draw) for s in queries])
    gallery_vectors = embedder.embed_images([image(s, False) for s in gallery])
    return retrieval_metrics(query_vectors, np.array([s.label for s in queries]),
                             gallery_vectors, np.array([s.label for s in gallery]))


@pytest.mark.slow
def test_sketches_query_photos(embedder, tmp_path: Path) -> None:
    dataset = scan_folder_dataset(make_dataset(tmp_path / "data", classes=3, photos=3, sketches=2))
    counted: list[int] = []
    metrics = embed_and_score(embedder, dataset.sketches(), dataset.photos(), embedder.preprocessing, device="cpu",
                              batch_size=4, progress=counted.append)
    assert metrics == pytest.approx(_by_hand(embedder, dataset.sketches(), dataset.photos(), draw=False), abs=1e-6)
    assert sum(counted) == 6 + 9, "every query, then every photo"
    assert evaluate_retrieval(embedder, dataset, preprocessing=embedder.preprocessing, device="cpu") == \
        pytest.approx(metrics, abs=1e-6)


@pytest.mark.slow
def test_photos_only_data_is_queried_with_drawings_of_its_photos(embedder, tmp_path: Path) -> None:
    dataset = scan_folder_dataset(make_dataset(tmp_path / "data", classes=3, photos=3, with_sketches=False))
    photos = dataset.photos()
    drawn = embed_and_score(embedder, photos, photos, embedder.preprocessing, device="cpu", draw_queries=True)
    assert drawn == pytest.approx(_by_hand(embedder, photos, photos, draw=True), abs=1e-6)
    undrawn = embed_and_score(embedder, photos, photos, embedder.preprocessing, device="cpu")
    assert undrawn["map_all"] == pytest.approx(1.0) and drawn["map_all"] < 1.0, "the photos themselves would be found"


@pytest.mark.slow
def test_a_bare_network_in_full_precision_and_channels_last_agrees(embedder, tmp_path: Path) -> None:
    dataset = scan_folder_dataset(make_dataset(tmp_path / "data", classes=2, photos=2, sketches=2))
    through_embedder = embed_and_score(embedder, dataset.sketches(), dataset.photos(), embedder.preprocessing,
                                       device="cpu")
    through_net = embed_and_score(embedder.net, dataset.sketches(), dataset.photos(), embedder.preprocessing,
                                  device="cpu", precision=None, channels_last=True)
    assert through_net == pytest.approx(through_embedder, abs=1e-5)


@pytest.mark.slow
def test_query_views_embed_each_sketch_as_the_search_does(embedder, tmp_path: Path) -> None:
    dataset = scan_folder_dataset(make_dataset(tmp_path / "data", classes=3, photos=3, sketches=2))
    sketches, photos = dataset.sketches(), dataset.photos()
    assert any(len(views(open_image(s.path))) == 2 for s in sketches), "some sketches have a framed view"
    counted: list[int] = []
    metrics = embed_and_score(embedder, sketches, photos, embedder.preprocessing, device="cpu", batch_size=4,
                              query_views=True, progress=counted.append)
    queries = embed_queries(embedder, [open_image(s.path, target_size=SIZE) for s in sketches])
    gallery = embedder.embed_images([open_image(s.path, target_size=SIZE) for s in photos])
    by_hand = retrieval_metrics(queries, np.array([s.label for s in sketches]),
                                gallery, np.array([s.label for s in photos]))
    assert metrics == pytest.approx(by_hand, abs=1e-6)
    assert sum(counted) == 6 + 9
    with pytest.raises(ValueError, match="query views"):
        embed_and_score(embedder.net, sketches, photos, embedder.preprocessing, device="cpu", query_views=True)
