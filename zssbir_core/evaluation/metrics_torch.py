"""The similarities and their ranking of ``metrics.retrieval_metrics`` on a torch device (a GPU
sorts a QuickDraw-sized evaluation in seconds); the metrics themselves are numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class TorchRanking:
    """``metrics.ranked_hits`` with the gallery kept on ``device``."""

    def __init__(self, gallery: np.ndarray, gallery_labels: np.ndarray, device: Any) -> None:
        self.device = torch.device(device)
        self.gallery = torch.from_numpy(gallery).to(self.device)
        self.labels = torch.from_numpy(gallery_labels).to(self.device)

    def __call__(self, queries: np.ndarray, labels: np.ndarray) -> np.ndarray:
        similarity = torch.from_numpy(np.ascontiguousarray(queries)).to(self.device) @ self.gallery.T
        order = torch.sort(similarity, dim=1, descending=True, stable=True).indices
        del similarity
        return (self.labels[order] == torch.from_numpy(labels).to(self.device)[:, None]).cpu().numpy()
