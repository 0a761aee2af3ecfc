"""DynamoDB wire helpers: typed attribute values, and an expression builder with placeholders.

Kept apart from the store so the store reads as the lease protocol. Numbers travel as strings
(DynamoDB's ``N``), so floats round-trip exactly through ``repr``; no boto3 import is needed.
"""

from __future__ import annotations

from typing import Any


def value(obj: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value."""
    if obj is None:
        return {"NULL": True}
    if isinstance(obj, bool):
        return {"BOOL": obj}
    if isinstance(obj, int | float):
        return {"N": repr(obj) if isinstance(obj, float) else str(obj)}
    if isinstance(obj, str):
        return {"S": obj}
    if isinstance(obj, dict):
        return {"M": {str(k): value(v) for k, v in obj.items()}}
    if isinstance(obj, list | tuple):
        return {"L": [value(v) for v in obj]}
    raise TypeError(f"cannot store {type(obj).__name__} in DynamoDB")


def plain(attr: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as a Python value."""
    ((kind, raw),) = attr.items()
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return bool(raw)
    if kind == "N":
        number = float(raw)
        return int(raw) if number.is_integer() and "." not in raw and "e" not in raw else number
    if kind == "S":
        return raw
    if kind == "M":
        return {k: plain(v) for k, v in raw.items()}
    if kind == "L":
        return [plain(v) for v in raw]
    raise TypeError(f"unexpected DynamoDB attribute type {kind}")


def to_item(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: value(v) for k, v in doc.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in item.items()}


class Expr:
    """Builds an update: SET / REMOVE clauses and an AND-ed condition, all through
    placeholders (``#n0``, ``:v0``), so names such as ``status`` or a mode with dashes are safe."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[str, dict[str, Any]] = {}
        self._sets: list[str] = []
        self._removes: list[str] = []
        self._conds: list[str] = []

    def name(self, attribute: str) -> str:
        for placeholder, known in self._names.items():
            if known == attribute:
                return placeholder
        placeholder = f"#n{len(self._names)}"
        self._names[placeholder] = attribute
        return placeholder

    def val(self, obj: Any) -> str:
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = value(obj)
        return placeholder

    def set(self, path: str, expression: str) -> None:
        self._sets.append(f"{path} = {expression}")

    def remove(self, path: str) -> None:
        self._removes.append(path)

    def cond(self, condition: str) -> None:
        self._conds.append(condition)

    @property
    def empty(self) -> bool:
        return not self._sets and not self._removes

    def request(self, table: str, key: str, key_value: str) -> dict[str, Any]:
        clauses = []
        if self._sets:
            clauses.append("SET " + ", ".join(self._sets))
        if self._removes:
            clauses.append("REMOVE " + ", ".join(self._removes))
        request: dict[str, Any] = {
            "TableName": table,
            "Key": {key: value(key_value)},
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": self._names,
        }
        if self._values:
            request["ExpressionAttributeValues"] = self._values
        if self._conds:
            request["ConditionExpression"] = " AND ".join(self._conds)
        return request
