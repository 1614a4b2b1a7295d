"""The training events: what the trainer reports while it runs, one dataclass per kind.

The trainer hands them to its callbacks; ``zssbir-cli train --progress json`` prints each as one
JSON line (``to_json()``), and the app's runner reads them back with ``parse_event(line)``. The
JSON of a kind is ``{"event": KIND, <the fields in order>}``, the format every zssbir has written,
so the lines of older runs parse too. Keys a newer trainer may add are ignored; a missing key, a
value of the wrong type or an unknown kind raises ``EventFormatError``. Torch-free.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from zssbir_core.errors import ZssbirError


class EventFormatError(ZssbirError, ValueError):
    """A line that is not a training event: not JSON, an unknown kind, or a missing or mistyped field."""


_E = TypeVar("_E", bound="TrainingEvent")


@dataclass(frozen=True)
class TrainingEvent:
    """What every event has: its ``kind`` (the ``event`` key of its JSON) and the two encodings."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """``{"event": kind, **fields}``: the JSON-ready record."""
        return {"event": self.kind, **dataclasses.asdict(self)}

    def to_json(self, *, compact: bool = True) -> str:
        """One line of JSON (compact: what ``--progress json`` prints; else ``json.dumps``'s
        default spacing, as in ``history.jsonl``)."""
        return json.dumps(self.to_dict(), separators=(",", ":") if compact else None)

    @classmethod
    def from_fields(cls: type[_E], record: dict[str, Any]) -> _E:
        """The event of this kind holding the fields of ``record`` (other keys are ignored);
        ``EventFormatError`` when one is missing or of the wrong type."""
        return _build(cls, record, f"{cls.kind} event")


@dataclass(frozen=True)
class TeacherEvent(TrainingEvent):
    """Photos seen so far while the teacher prepares the class soft labels."""

    kind: ClassVar[str] = "teacher"
    done: int
    total: int


@dataclass(frozen=True)
class StartEvent(TrainingEvent):
    """Set-up is over; the first step comes next."""

    kind: ClassVar[str] = "start"
    total_steps: int
    epochs: int
    steps_per_epoch: int
    train_classes: int
    val_classes: list[str]
    device: str
    precision: str
    world_size: int
    resumed_from_step: int


@dataclass(frozen=True)
class Losses:
    """The loss terms of one step (each already weighted into ``total`` by the recipe)."""

    total: float
    quadruplet: float
    semantic: float
    knowledge: float


@dataclass(frozen=True)
class StepEvent(TrainingEvent):
    """One optimiser step done; ``metric`` is the latest validation mAP@all (None before the first)."""

    kind: ClassVar[str] = "step"
    step: int
    epoch: int
    losses: Losses
    lr: float
    images_per_s: float
    eta_s: float
    metric: float | None


@dataclass(frozen=True)
class ValidationEvent(TrainingEvent):
    """The held-out classes were scored after ``epoch``; ``best`` when this is the best so far.
    Also the line format of ``history.jsonl``."""

    kind: ClassVar[str] = "validation"
    epoch: int
    step: int
    metrics: dict[str, float]
    best: bool


@dataclass(frozen=True)
class EndEvent(TrainingEvent):
    """How the run ended (also the content of ``summary.json``, without the ``event`` key)."""

    kind: ClassVar[str] = "end"
    status: str  # "completed" or "interrupted"
    checkpoint: str | None
    best_metrics: dict[str, float]
    best_epoch: int | None
    steps: int
    wall_s: float
    train_s: float

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` record."""
        return dataclasses.asdict(self)


Event = TeacherEvent | StartEvent | StepEvent | ValidationEvent | EndEvent
EVENT_TYPES: dict[str, type[Any]] = {cls.kind: cls for cls in typing.get_args(Event)}


def parse_event(line: str) -> Event:
    """The event one JSON line holds; ``EventFormatError`` says what is wrong with any other line."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise EventFormatError(f"not a training event (not JSON): {_shorten(line)}") from error
    if not isinstance(record, dict) or "event" not in record:
        raise EventFormatError(f"not a training event (no \"event\" key): {_shorten(line)}")
    return from_dict(record)


def from_dict(record: dict[str, Any]) -> Event:
    """The event ``record`` (``{"event": kind, ...}``) describes; ``EventFormatError`` if it is malformed."""
    kind = record.get("event")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventFormatError(f"unknown training event {kind!r} (known: {', '.join(EVENT_TYPES)})")
    return cls.from_fields(record)


def _build(cls: type[Any], record: Any, where: str) -> Any:
    if not isinstance(record, dict):
        raise EventFormatError(f"{where}: expected an object, got {_shorten(json.dumps(record))}")
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in record:
            raise EventFormatError(f"{where}: the field {field.name!r} is missing")
        values[field.name] = _checked(hints[field.name], record[field.name], f"{where}, field {field.name!r}")
    return cls(**values)


def _checked(hint: Any, value: Any, where: str) -> Any:
    """``value`` if it has the type ``hint`` (ints count as floats), else ``EventFormatError``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if args and type(None) in args:  # X | None
        return None if value is None else _checked(next(a for a in args if a is not type(None)), value, where)
    if origin is list and isinstance(value, list):
        return [_checked(args[0], item, where) for item in value]
    if origin is dict and isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _checked(args[1], item, where) for key, item in value.items()}
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (str, bool) and isinstance(value, hint):
        return value
    raise EventFormatError(f"{where}: expected {_type_name(hint)}, got {_shorten(json.dumps(value))}")


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"

