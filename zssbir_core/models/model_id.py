"""The id the library records for the vectors of a model: ``name`` or ``name@size``.

``name`` is a built-in model's id or a trained checkpoint's id (``ckpt-...``); ``@size`` is there
when the model ran at another input size than its own, so vectors of two sizes never mix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelId:
    """A model id, built (``str(ModelId(name, size))``) and parsed (``ModelId.parse``) here only."""

    name: str
    image_size: int | None = None

    def __str__(self) -> str:
        return self.name if self.image_size is None else f"{self.name}@{self.image_size}"

    @classmethod
    def parse(cls, text: str) -> ModelId:
        """``name`` or ``name@size``; a part after ``@`` that is not a number is no size."""
        name, _, size = text.partition("@")
        return cls(name, int(size) if size.isdigit() else None)
