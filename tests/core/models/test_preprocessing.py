"""The network's input: zssbir's own resize, crop and normalisation (numpy and Pillow, no torch)
against torchvision's, which the torch transform of the first models was."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import ResNet50_Weights
from torchvision.transforms import v2 as T

from zssbir_core.models import load_model
from zssbir_core.models.preprocessing import IMAGENET_MEAN, IMAGENET_STD, LITE_MEAN, LITE_STD, Preprocessing
from zssbir_core.models.resnet import RESNET50_URL


def torchvision_transform(preprocessing: Preprocessing) -> T.Compose:
    size = preprocessing.image_size
    return T.Compose([T.ToImage(), T.Resize(size, antialias=True), T.CenterCrop(size),
                      T.ToDtype(torch.float32, scale=True), T.Normalize(preprocessing.mean, preprocessing.std)])


@pytest.mark.parametrize("size", [37, 160, 224])
@pytest.mark.parametrize("normalisation", [(LITE_MEAN, LITE_STD), (IMAGENET_MEAN, IMAGENET_STD)])
def test_transform_follows_torchvisions_pipeline(sketchy_root, size, normalisation) -> None:
    preprocessing = Preprocessing(size, *normalisation)
    ours, reference = preprocessing.transform(), torchvision_transform(preprocessing)
    images = [Image.open(path).convert("RGB") for path in (
        *sorted((sketchy_root / "photo" / "zebra").glob("*.jpg"))[:3],
        *sorted((sketchy_root / "sketch" / "zebra").glob("*.png"))[:2],
    )]
    # tall, wide, square, already the size, one pixel off, much larger
    # tall, wide, square, already the size, one pixel off, much larger, tiny, one pixel, upscaled noise
    images += [Image.new("RGB", (7, 300), (10, 200, 30)), Image.new("RGB", (300, 7), (255, 0, 9)),
               Image.new("RGB", (size, size)), Image.new("RGB", (size, size + 1), (1, 2, 3)),
               Image.effect_noise((1000, 999), 60).convert("RGB"), Image.effect_noise((3, 2), 90).convert("RGB"),
               Image.new("RGB", (1, 1), (250, 3, 128)), Image.effect_noise((size // 2 + 1, size - 3), 80).convert("RGB")]
    images += [image.resize((image.width // 3 + 1, image.height // 2 + 5)) for image in images[:5]]
    std = np.asarray(preprocessing.std, dtype=np.float32).reshape(3, 1, 1)
    for number, image in enumerate(images):
        expected, got = reference(image), ours(image)
        assert isinstance(got, np.ndarray) and got.dtype == np.float32
        assert got.shape == tuple(expected.shape) == (3, size, size)
        levels = np.abs(got - expected.numpy()) * std * 255  # in 8-bit levels of the resized pixels
        # Pillow's weights keep more bits than torch's: a rounding apart (two at most seen)
        assert levels.max() <= 2.0 + 1e-3, image.size
        if number < 5:  # on real photos and sketches, on few values (random noise blown up from
            # a few pixels rounds differently more often)
            assert (levels > 0.5).mean() <= 0.03, image.size


def test_vectors_from_torchvisions_pipeline_are_the_same(sketchy_root) -> None:
    """What the rounding differences above do to the default model's vectors: nothing to see."""
    embedder = load_model("default")
    reference = torchvision_transform(embedder.preprocessing)
    paths = [*sorted((sketchy_root / "photo" / "zebra").glob("*.jpg"))[:4],
             *sorted((sketchy_root / "sketch" / "zebra").glob("*.png"))[:4]]
    images = [Image.open(path).convert("RGB") for path in paths]
    ours = embedder.embed_images(images)
    theirs = embedder.embed_tensors(np.stack([reference(image).numpy() for image in images]))
    assert np.sum(ours * theirs, axis=1).min() >= 0.9999


def test_transform_survives_pickling_for_data_loader_workers() -> None:
    transform = Preprocessing(64, LITE_MEAN, LITE_STD).transform()
    image = Image.effect_noise((90, 70), 40).convert("RGB")
    assert np.array_equal(pickle.loads(pickle.dumps(transform))(image), transform(image))


def test_resnet50_weights_url_is_torchvisions() -> None:
    assert RESNET50_URL == ResNet50_Weights.IMAGENET1K_V1.url


@pytest.mark.slow
@pytest.mark.subprocess
def test_embedding_with_a_lite_model_does_not_import_torchvision() -> None:
    code = ("import sys; from PIL import Image; from zssbir_core.models import load_model; "
            "load_model('lite0-imagenet', image_size=64).embed_images([Image.new('RGB', (80, 60))]); "
            "print('torchvision' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "ZSSBIR_RUNTIME": "torch"})
    assert done.stdout.strip() == "False"
