"""``Embedder``: a loaded model that turns images into the vectors the library indexes and searches,
whatever engine runs it (ONNX Runtime in ``onnx_embedder``, PyTorch in ``torch_embedder``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from zssbir_core.models.model_id import ModelId
from zssbir_core.models.preprocessing import Preprocessing


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


def at_size(preprocessing: Preprocessing, model_id: str, image_size: int | None) -> tuple[Preprocessing, str]:
    """``preprocessing`` and ``model_id`` for inputs of ``image_size`` (None: unchanged). Another
    size than the model's own is recorded in the id, so that vectors of two sizes never mix."""
    if image_size is None or image_size == preprocessing.image_size:
        return preprocessing, model_id
    return preprocessing.with_size(image_size), str(ModelId(model_id, image_size))


class Embedder(ABC):
    """A model ready for inference, with the preprocessing it was trained with.

    ``model_id`` is what a library records (vectors of two ids never mix); ``name`` is shown to
    people; ``device`` is where it runs (``cpu``, ``cuda``, ``mps``); ``runtime`` names the engine.
    ``flip_average`` embeds each image and its mirror image and averages the two vectors.
    """

    preprocessing: Preprocessing
    model_id: str
    name: str
    flip_average: bool
    device: object  # torch's device or ONNX Runtime's name for it; printed as cpu, cuda:0, mps

    @property
    @abstractmethod
    def embedding_dim(self) -> int:
        """Length of each vector."""

    @property
    @abstractmethod
    def runtime(self) -> str:
        """The engine and where it runs, for people (``onnxruntime CPUExecutionProvider``)."""

    @abstractmethod
    def embed_tensors(self, batch: Any) -> np.ndarray:
        """(N, 3, S, S) preprocessed images (a float32 array) -> (N, D) float32 L2-normalised rows."""

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> (N, D) float32 L2-normalised rows."""
        if not images:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        transform = self.preprocessing.transform()
        return self.embed_tensors(np.stack([transform(image.convert("RGB")) for image in images]))
