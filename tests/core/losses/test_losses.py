"""Losses checked against brute-force enumeration on tiny hand-made batches."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.nn import functional as F

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.losses import (
    DomainBalancedQuadrupletLoss,
    KnowledgePreservationLoss,
    SemanticClassificationLoss,
)

M_CROSS, M_SAME = 0.3, 0.2


def _distance(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def _quadruplets(labels, domains, anchor):
    """Every (positive, cross negative, same-domain negative) of ``anchor``, enumerated by hand."""
    n = len(labels)
    pos = [i for i in range(n) if labels[i] == labels[anchor] and domains[i] != domains[anchor]]
    n_o = [i for i in range(n) if labels[i] != labels[anchor] and domains[i] != domains[anchor]]
    n_s = [i for i in range(n) if labels[i] != labels[anchor] and domains[i] == domains[anchor]]
    return list(itertools.product(pos, n_o, n_s))


def _quad_loss(e, a, p, no, ns) -> float:
    d_ap = _distance(e[a], e[p])
    return max(0.0, M_CROSS + d_ap - _distance(e[a], e[no])) + max(
        0.0, M_SAME + d_ap - _distance(e[a], e[ns])
    )


def _balanced_mean(per_anchor: dict[int, float], domains) -> float:
    means = []
    for domain in (PHOTO, SKETCH):
        values = [v for a, v in per_anchor.items() if domains[a] == domain]
        if values:
            means.append(sum(values) / len(values))
    return sum(means) / len(means) if means else 0.0


def brute_force_hardest(e, labels, domains) -> float:
    """The hardest quadruplet of an anchor is the one of largest loss (the loss is monotone)."""
    per_anchor = {}
    for a in range(len(labels)):
        quads = _quadruplets(labels, domains, a)
        if quads:
            per_anchor[a] = max(_quad_loss(e, a, p, no, ns) for p, no, ns in quads)
    return _balanced_mean(per_anchor, domains)


def _semihard_negative(e, a, p, negatives) -> int:
    d_ap = _distance(e[a], e[p])
    farther = [n for n in negatives if _distance(e[a], e[n]) > d_ap]
    if farther:
        return min(farther, key=lambda n: _distance(e[a], e[n]))
    return max(negatives, key=lambda n: _distance(e[a], e[n]))


def brute_force_semihard(e, labels, domains) -> float:
    per_anchor = {}
    for a in range(len(labels)):
        quads = _quadruplets(labels, domains, a)
        if not quads:
            continue
        positives = sorted({p for p, _, _ in quads})
        n_o = sorted({n for _, n, _ in quads})
        n_s = sorted({n for _, _, n in quads})
        losses = [
            _quad_loss(e, a, p, _semihard_negative(e, a, p, n_o), _semihard_negative(e, a, p, n_s))
            for p in positives
        ]
        per_anchor[a] = sum(losses) / len(losses)
    return _balanced_mean(per_anchor, domains)


def _batch(seed: int, labels, domains, dim: int = 4):
    generator = torch.Generator().manual_seed(seed)
    e = F.normalize(torch.randn(len(labels), dim, generator=generator, dtype=torch.float64), dim=1)
    return e, torch.tensor(labels), torch.tensor(domains)


BATCHES = {
    "balanced 3x(2+2)": ([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], [0, 0, 1, 1] * 3),
    "unbalanced domains": ([0, 0, 0, 1, 1, 1, 2], [0, 1, 1, 0, 1, 1, 1]),
    "class 2 lacks sketches": ([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 0]),
}


@pytest.mark.parametrize("mining,brute_force", [
    ("hardest", brute_force_hardest),
    ("semihard", brute_force_semihard),
])
@pytest.mark.parametrize("name", list(BATCHES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quadruplet_matches_enumeration(mining, brute_force, name, seed):
    labels, domains = BATCHES[name]
    e, y, d = _batch(seed, labels, domains)
    loss = DomainBalancedQuadrupletLoss(M_CROSS, M_SAME, mining=mining)(e, y, d)
    expected = brute_force(e.tolist(), labels, domains)
    assert loss.item() == pytest.approx(expected, abs=1e-9)


def test_quadruplet_hand_computed_1d():
    # Points on a line (as 2-d vectors): photo A at 0, sketch A at 1, photo B at 3, sketch B at 1.5.
    e = torch.tensor([[0.0, 0], [1.0, 0], [3.0, 0], [1.5, 0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    domains = torch.tensor([PHOTO, SKETCH, PHOTO, SKETCH])
    loss = DomainBalancedQuadrupletLoss(1.0, 0.5)(e, labels, domains)
    # photo A: d_ap=1, n_o=sketch B 1.5, n_s=photo B 3 -> [1+1-1.5]+ + [0.5+1-3]+ = 0.5
    # photo B: d_ap=1.5, n_o=sketch A 2, n_s=photo A 3 -> 0.5 + 0 = 0.5
    # sketch A: d_ap=1, n_o=photo B 2, n_s=sketch B 0.5 -> 0 + 1.0 = 1.0
    # sketch B: d_ap=1.5, n_o=photo A 1.5, n_s=sketch A 0.5 -> 1.0 + 1.5 = 2.5
    # photo mean 0.5, sketch mean 1.75 -> 1.125
    assert loss.item() == pytest.approx(1.125)


def test_quadruplet_gradients_flow_and_are_finite():
    labels, domains = BATCHES["balanced 3x(2+2)"]
    e, y, d = _batch(3, labels, domains, dim=8)
    e = e.float().requires_grad_(True)
    for mining in ("hardest", "semihard"):
        e.grad = None
        loss = DomainBalancedQuadrupletLoss(0.5, 0.5, mining=mining)(e, y, d)
        loss.backward()
        assert loss.item() > 0
        assert torch.isfinite(e.grad).all()
        assert e.grad.abs().sum() > 0


def test_quadruplet_identical_embeddings_no_nan():
    e = torch.ones(4, 3, requires_grad=True)
    loss = DomainBalancedQuadrupletLoss(0.2, 0.1)(e, torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    assert loss.item() == pytest.approx(0.3, abs=1e-5)
    assert torch.isfinite(e.grad).all()


@pytest.mark.parametrize("mining", ["hardest", "semihard"])
def test_quadruplet_no_valid_anchor_is_zero_not_nan(mining):
    # One class only, or every class in a single domain: no quadruplet exists.
    criterion = DomainBalancedQuadrupletLoss(0.3, 0.3, mining=mining)
    for labels, domains in [([0, 0, 0, 0], [0, 1, 0, 1]), ([0, 1, 2], [1, 1, 1])]:
        e = torch.randn(len(labels), 5, requires_grad=True)
        loss = criterion(e, torch.tensor(labels), torch.tensor(domains))
        loss.backward()
        assert loss.item() == 0.0
        assert torch.equal(e.grad, torch.zeros_like(e))


def test_quadruplet_anchors_without_positive_contribute_nothing():
    labels, domains = BATCHES["class 2 lacks sketches"]
    e, y, d = _batch(5, labels, domains)
    e.requires_grad_(True)
    full = DomainBalancedQuadrupletLoss(M_CROSS, M_SAME)(e, y, d)
    full.backward()
    # The class-2 photos serve as negatives only; the enumeration skips them as anchors.
    assert torch.isfinite(full) and torch.isfinite(e.grad).all()
    expected = brute_force_hardest(e.tolist(), labels, domains)
    assert full.item() == pytest.approx(expected)


def test_quadruplet_rejects_unknown_mining():
    with pytest.raises(ValueError, match="mining"):
        DomainBalancedQuadrupletLoss(0.1, 0.1, mining="random")


def test_semantic_loss_matches_manual_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3]], requires_grad=True)
    labels = torch.tensor([0, 2])
    expected = -(
        math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
        + math.log(math.exp(0.3) / (math.exp(0.1) + math.exp(0.2) + math.exp(0.3)))
    ) / 2
    loss = SemanticClassificationLoss()(logits, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_semantic_loss_label_smoothing():
    logits = torch.tensor([[1.0, 0.0]])
    eps = 0.2
    log_p = [1 - math.log(math.e + 1), -math.log(math.e + 1)]
    targets = [1 - eps + eps / 2, eps / 2]
    expected = -sum(t * lp for t, lp in zip(targets, log_p))
    loss = SemanticClassificationLoss(label_smoothing=eps)(logits, torch.tensor([0]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_knowledge_preservation_matches_manual_kl():
    temperature = 2.0
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 4.0]], requires_grad=True)
    targets = torch.tensor([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5]])
    expected = 0.0
    for row_logits, row_targets in zip(logits.tolist(), targets.tolist()):
        z = [v / temperature for v in row_logits]
        norm = math.log(sum(math.exp(v) for v in z))
        expected += sum(t * (math.log(t) - (v - norm)) for t, v in zip(row_targets, z) if t > 0)
    expected = expected / 2 * temperature**2
    loss = KnowledgePreservationLoss(temperature)(logits, targets)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_knowledge_preservation_is_zero_when_student_equals_teacher():
    logits = torch.randn(3, 1000)
    targets = torch.softmax(logits / 4.0, dim=1)
    loss = KnowledgePreservationLoss(4.0)(logits, targets)
    assert loss.item() == pytest.approx(0.0, abs=1e-5)


def test_knowledge_preservation_shape_mismatch_is_clear():
    with pytest.raises(ValueError, match="differ in shape"):
        KnowledgePreservationLoss(1.0)(torch.zeros(2, 10), torch.zeros(2, 9))
