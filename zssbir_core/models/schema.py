"""A small JSON schema checker with limits, for files that come from elsewhere (``model.json``).

Each rule checks one parsed JSON value and returns it (as the Python type the caller expects) or
raises ``SchemaError`` naming where in the document the value is and what is wrong with it. Every
rule bounds what it accepts (numbers by range, strings and lists by length, nesting by depth), so
nothing checked here can make a caller allocate more than the limits allow.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class SchemaError(ValueError):
    """A JSON value breaks its schema; ``str(error)`` says where and why."""


class Rule:
    """Checks one JSON value; ``where`` is its path in the document (``preprocessing.image_size``)."""

    def check(self, value: Any, where: str) -> Any:
        raise NotImplementedError


def _fail(where: str, message: str) -> SchemaError:
    return SchemaError(f"{where or 'the document'} {message}")


@dataclass(frozen=True)
class Int(Rule):
    """A whole number in ``[low, high]`` (``true``/``false`` are not numbers); ``null`` if nullable."""

    low: int
    high: int
    nullable: bool = False

    def check(self, value: Any, where: str) -> int | None:
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            kind = "a whole number or null" if self.nullable else "a whole number"
            raise _fail(where, f"must be {kind}, not {_kind(value)}")
        if not self.low <= value <= self.high:
            raise _fail(where, f"must be between {self.low} and {self.high}, not {_short(value)}")
        return value


@dataclass(frozen=True)
class Float(Rule):
    """A finite number in ``[low, high]``."""

    low: float
    high: float

    def check(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(where, f"must be a number, not {_kind(value)}")
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise _fail(where, f"must be between {self.low} and {self.high}, not {_short(value)}")
        return float(value)


@dataclass(frozen=True)
class Str(Rule):
    """A string of at most ``max_length`` characters, one of ``choices`` or matching ``pattern``."""

    max_length: int = 1000
    choices: tuple[str, ...] = ()
    pattern: str = ""

    def check(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise _fail(where, f"must be a string, not {_kind(value)}")
        if len(value) > self.max_length:
            raise _fail(where, f"is longer than {self.max_length} characters")
        if self.choices and value not in self.choices:
            raise _fail(where, f"must be one of {', '.join(self.choices)}, not {_short(value)}")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise _fail(where, f"is not of the expected form, {_short(value)}")
        return value


@dataclass(frozen=True)
class Nullable(Rule):
    """``null``, or a value that ``rule`` accepts."""

    rule: Rule

    def check(self, value: Any, where: str) -> Any:
        return None if value is None else self.rule.check(value, where)


@dataclass(frozen=True)
class List(Rule):
    """A list of ``min_items`` to ``max_items`` values, each checked by ``item``."""

    item: Rule
    max_items: int
    min_items: int = 0

    def check(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise _fail(where, f"must be a list, not {_kind(value)}")
        if not self.min_items <= len(value) <= self.max_items:
            count = f"{self.min_items}" if self.min_items == self.max_items else f"{self.min_items} to {self.max_items}"
            raise _fail(where, f"must hold {count} items, not {len(value)}")
        return [self.item.check(item, f"{where}[{number}]") for number, item in enumerate(value)]


@dataclass(frozen=True)
class Object(Rule):
    """A JSON object with the ``required`` and ``optional`` keys; other keys are kept but must
    stay within ``max_depth`` of nesting."""

    required: Mapping[str, Rule]
    optional: Mapping[str, Rule] = field(default_factory=dict)
    max_depth: int = 16

    def check(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _fail(where, f"must be a JSON object, not {_kind(value)}")
        checked: dict[str, Any] = {}
        for key, rule in self.required.items():
            if key not in value:
                raise _fail(_join(where, key), "is missing")
            checked[key] = rule.check(value[key], _join(where, key))
        for key, rule in self.optional.items():
            if key in value:
                checked[key] = rule.check(value[key], _join(where, key))
        for key, other in value.items():
            if key not in checked:
                _check_depth(other, self.max_depth, _join(where, key))
                checked[key] = other
        return checked


def _check_depth(value: Any, depth: int, where: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            if level >= depth:
                raise _fail(where, f"is nested more than {depth} levels deep")
            children: Sequence[Any] = list(item.values()) if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
