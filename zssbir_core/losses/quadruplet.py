"""Domain-balanced quadruplet loss with in-batch mining (Tursun et al. 2022, eq. 1-3).

For an anchor ``a`` of class ``c`` in domain ``x``, a quadruplet is ``(a, p, n_o, n_s)``:

- ``p``: a sample of class ``c`` in the other domain (the cross-domain positive);
- ``n_o``: a sample of another class in the other domain;
- ``n_s``: a sample of another class in the same domain as ``a``.

Its loss is ``[m_cross + d(a, p) - d(a, n_o)]+ + [m_same + d(a, p) - d(a, n_s)]+`` with Euclidean
distances ``d``. Every sample of the batch is an anchor; anchors that cannot form a quadruplet (no
positive or no negative of either kind in the batch) contribute nothing. The per-anchor losses are
averaged within each domain and the two domain means averaged, so photos and sketches weigh the
same whatever their share of the batch.
"""

from __future__ import annotations

import torch
from torch import nn

from zssbir_core.data.domains import PHOTO, SKETCH

MINING_MODES = ("hardest", "semihard")
_FAR = 1.0e4  # larger than any distance between embeddings; fills masked-out entries


def pairwise_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """Euclidean distance matrix (N, N) whose gradient stays finite at zero distance."""
    squared = (embeddings * embeddings).sum(dim=1)
    d2 = squared[:, None] + squared[None, :] - 2.0 * embeddings @ embeddings.T
    return d2.clamp_min(1e-12).sqrt()


class DomainBalancedQuadrupletLoss(nn.Module):
    """Quadruplet loss mined inside the batch.

    ``mining="hardest"`` (batch-hard, Hermans et al. 2017): per anchor the farthest positive and the
    closest negative of each kind. ``mining="semihard"`` (FaceNet, as in TensorFlow Addons'
    ``triplet_semihard_loss``): every positive of the anchor is used; for each, the negative of
    each kind is the closest one farther from the anchor than the positive, or the farthest
    negative when none is; an anchor's loss is the mean over its positives.
    """

    def __init__(self, margin_cross: float, margin_same: float, mining: str = "hardest") -> None:
        super().__init__()
        if mining not in MINING_MODES:
            raise ValueError(f"mining must be one of {MINING_MODES}, got {mining!r}")
        self.margin_cross = float(margin_cross)
        self.margin_same = float(margin_same)
        self.mining = mining

    def forward(
        self, embeddings: torch.Tensor, labels: torch.Tensor, domains: torch.Tensor
    ) -> torch.Tensor:
        if embeddings.ndim != 2 or labels.shape != (len(embeddings),) or labels.shape != domains.shape:
            raise ValueError(
                f"expected embeddings (N, D), labels (N,), domains (N,); got "
                f"{tuple(embeddings.shape)}, {tuple(labels.shape)}, {tuple(domains.shape)}"
            )
        distances = pairwise_distances(embeddings)
        same_class = labels[:, None] == labels[None, :]
        same_domain = domains[:, None] == domains[None, :]
        positive = same_class & ~same_domain
        negative_cross = ~same_class & ~same_domain
        negative_same = ~same_class & same_domain
        valid = positive.any(1) & negative_cross.any(1) & negative_same.any(1)

        if self.mining == "hardest":
            per_anchor = self._hardest(distances, positive, negative_cross, negative_same)
        else:
            per_anchor = self._semihard(distances, positive, negative_cross, negative_same)

        domain_means = [
            per_anchor[valid & (domains == domain)].mean()
            for domain in (PHOTO, SKETCH)
            if bool((valid & (domains == domain)).any())
        ]
        if not domain_means:
            return embeddings.sum() * 0.0
        return torch.stack(domain_means).mean()

    def _hardest(
        self,
        distances: torch.Tensor,
        positive: torch.Tensor,
        negative_cross: torch.Tensor,
        negative_same: torch.Tensor,
    ) -> torch.Tensor:
        d_ap = torch.where(positive, distances, torch.zeros_like(distances)).amax(dim=1)
        far = torch.full_like(distances, _FAR)
        d_cross = torch.where(negative_cross, distances, far).amin(dim=1)
        d_same = torch.where(negative_same, distances, far).amin(dim=1)
        return (self.margin_cross + d_ap - d_cross).relu() + (self.margin_same + d_ap - d_same).relu()

    def _semihard(
        self,
        distances: torch.Tensor,
        positive: torch.Tensor,
        negative_cross: torch.Tensor,
        negative_same: torch.Tensor,
    ) -> torch.Tensor:
        pair_loss = self._semihard_term(distances, negative_cross, self.margin_cross)
        pair_loss = pair_loss + self._semihard_term(distances, negative_same, self.margin_same)
        pair_loss = torch.where(positive, pair_loss, torch.zeros_like(pair_loss))
        return pair_loss.sum(dim=1) / positive.sum(dim=1).clamp_min(1)

    @staticmethod
    def _semihard_term(
        distances: torch.Tensor, negatives: torch.Tensor, margin: float
    ) -> torch.Tensor:
        """(N, N) hinge for every (anchor, positive) pair with its semi-hard negative."""
        d_ap = distances[:, :, None]  # anchor, positive, -
        d_an = distances[:, None, :].expand(-1, distances.shape[1], -1)  # anchor, -, negative
        candidates = negatives[:, None, :].expand_as(d_an)
        outside = candidates & (d_an > d_ap)
        closest_outside = torch.where(outside, d_an, torch.full_like(d_an, _FAR)).amin(dim=2)
        farthest = torch.where(candidates, d_an, torch.zeros_like(d_an)).amax(dim=2)
        chosen = torch.where(outside.any(dim=2), closest_outside, farthest)
        return (margin + distances - chosen).relu()
