"""`growthstream schema` documents every field: each property of every event and output
schema, nested records included, has a description."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from models.events import MODELS
from models.outputs import AccountView
from models.schema import OUTPUTS

SCHEMAS: dict[str, type[BaseModel]] = {**MODELS, **OUTPUTS, "account": AccountView}


def _objects(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The schema itself and every definition it holds ($defs), by name."""
    return [("", schema), *schema.get("$defs", {}).items()]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_property_has_a_description(name: str) -> None:
    schema = SCHEMAS[name].model_json_schema(mode="validation")
    assert schema.get("description"), name
    for where, part in _objects(schema):
        for field, prop in part.get("properties", {}).items():
            assert str(prop.get("description", "")).strip(), f"{name}{where}.{field}"


def test_money_records_name_their_currency() -> None:
    for model in (OUTPUTS["snapshot"], AccountView, OUTPUTS["metric-change"]):
        assert "currency" in model.model_json_schema()["properties"], model
