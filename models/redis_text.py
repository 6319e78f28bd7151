"""The read model's text form (EVENTS.md "Redis"): how a value is held in a Redis hash or
stream entry, and how a reader gets it back typed.

A `Decimal` is its exact digits (`49.10`, never a float), `None` the empty string
(a hash cannot hold a null), booleans `true`/`false`, dates ISO 8601, nested
mappings or lists JSON. Writer (the worker) and reader (the HTTP API) both use
this module, so the two directions cannot drift apart.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from models.jsonout import dumps

Kind = Literal["decimal", "int", "str", "json"]


def field_text(value: object) -> str:
    """The text a hash field or stream entry holds for `value`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Enum):
        return field_text(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return dumps(value)


def fields_text(record: Mapping[str, object]) -> dict[str, str]:
    """Every field of `record` as text."""
    return {str(name): field_text(value) for name, value in record.items()}


def kind_of(annotation: Any) -> Kind:
    """How a model field's text is read back: as a Decimal, an int, or text."""
    if typing.get_origin(annotation) in (list, dict):
        return "json"
    args = set(typing.get_args(annotation)) if isinstance(annotation, types.UnionType) else set()
    options = args or {annotation}
    if Decimal in options:
        return "decimal"
    if int in options:
        return "int"
    return "str"


def kinds(model: type[BaseModel]) -> dict[str, Kind]:
    """Field name -> `Kind` for every field of an output model."""
    return {name: kind_of(info.annotation) for name, info in model.model_fields.items()}


def typed(text: str | None, kind: Kind) -> object:
    """A hash field's text as its value; `""` (and a missing field) is null."""
    if text is None or text == "":
        return None
    if kind == "json":
        return json.loads(text, parse_float=Decimal)
    if kind == "decimal":
        return Decimal(text)
    if kind == "int":
        return int(text)
    return text
