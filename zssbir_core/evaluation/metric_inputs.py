"""What both retrieval-metric paths share (``metrics`` in numpy, ``metrics_torch`` on a GPU): the
cut-offs and the checks of their inputs."""

from __future__ import annotations

TOP_K_PRECISION = (10, 100, 200)
MAP_TOP_K = 200


def check_inputs(query_shape: tuple[int, ...], gallery_shape: tuple[int, ...], n_query_labels: int,
                 n_gallery_labels: int, chunk_size: int) -> None:
    """``ValueError`` unless the shapes, label counts and chunk size make an evaluation."""
    if len(query_shape) != 2 or len(gallery_shape) != 2 or query_shape[1] != gallery_shape[1]:
        raise ValueError(
            f"embeddings must be (N, D) with the same D; got {tuple(query_shape)} and {tuple(gallery_shape)}"
        )
    if n_query_labels != query_shape[0] or n_gallery_labels != gallery_shape[0]:
        raise ValueError("one label per embedding is needed")
    if gallery_shape[0] == 0:
        raise ValueError("the gallery is empty")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
