"""Draw to refine: relevance feedback on the query vector (Rocchio).

After a search the user marks results "more like this" (liked) or "not this" (disliked); the query
becomes ``normalize(a * q + b * mean(liked) - c * mean(disliked))``, where ``q`` is always the
sketch's own vector (the canvas stays the base) and liked / disliked gather every round so far (a
photo's latest mark wins). Each round is one step that ``undo`` takes back. Rocchio, "Relevance
feedback in information retrieval" (1971); the weights and their measurement on the held-out
Sketchy classes: ``docs/benchmarks/refine.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Rocchio:
    """Weights of the sketch (``a``), the liked photos' mean (``b``) and the disliked ones' (``c``)."""

    a: float = 1.0
    b: float = 0.5
    c: float = 0.5

    def __post_init__(self) -> None:
        if min(self.a, self.b, self.c) < 0:
            raise ValueError("Rocchio weights must not be negative")

    def apply(self, query: np.ndarray, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        """The moved, L2-normalised query from (D,) ``query`` and (n, D) / (m, D) photo vectors
        (either may have no rows); the query unchanged when the sum is zero."""
        moved = self.a * np.asarray(query, dtype=np.float32)
        if len(liked):
            moved = moved + self.b * np.asarray(liked, dtype=np.float32).mean(axis=0)
        if len(disliked):
            moved = moved - self.c * np.asarray(disliked, dtype=np.float32).mean(axis=0)
        norm = float(np.linalg.norm(moved))
        return (moved / norm).astype(np.float32) if norm > 1e-12 else np.asarray(query, dtype=np.float32)


DEFAULT_ROCCHIO = Rocchio()
"""What the app and ``zssbir-cli search --like/--unlike`` use (chosen on classes disjoint from the
held-out ones: ``docs/benchmarks/refine.md``)."""


@dataclass
class Feedback:
    """The rounds of "more like this" / "not this" on one sketch, oldest first; each round maps
    photo ids to True (liked) or False (disliked)."""

    rounds: list[dict[int, bool]] = field(default_factory=list)

    def add_round(self, liked: Iterable[int] = (), disliked: Iterable[int] = ()) -> None:
        """One more round (a photo both liked and disliked in it counts as disliked)."""
        marks = {int(i): True for i in liked}
        marks.update({int(i): False for i in disliked})
        if marks:
            self.rounds.append(marks)

    def undo(self) -> bool:
        """Take back the last round; False when there is none."""
        if not self.rounds:
            return False
        self.rounds.pop()
        return True

    def clear(self) -> None:
        self.rounds.clear()

    def marks(self) -> dict[int, bool]:
        """Every marked photo's latest mark."""
        merged: dict[int, bool] = {}
        for marks in self.rounds:
            merged.update(marks)
        return merged

    def __bool__(self) -> bool:
        return bool(self.rounds)

    def refine(self, query: np.ndarray, vector_of: Callable[[int], np.ndarray | None],
               weights: Rocchio = DEFAULT_ROCCHIO) -> np.ndarray:
        """The sketch's vector ``query`` moved by every round (photos without a vector are left out)."""
        liked: list[np.ndarray] = []
        disliked: list[np.ndarray] = []
        for photo_id, good in self.marks().items():
            vector = vector_of(photo_id)
            if vector is not None:
                (liked if good else disliked).append(vector)
        dim = len(query)
        return weights.apply(query, np.reshape(liked, (-1, dim)), np.reshape(disliked, (-1, dim)))
