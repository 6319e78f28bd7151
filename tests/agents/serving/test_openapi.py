"""docs/openapi.yaml is valid OpenAPI 3.1 and describes exactly the API the worker serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate

from agents.worker.app import build_app
from models.outputs import Snapshot
from models.settings import Settings
from models.tables import MonthRow
from state.history import SERIES_FIGURES

SPEC = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return spec


def _registered_routes(data_dir: Path) -> set[tuple[str, str]]:
    """(path, method) of every GET and POST route the worker's web server has."""
    app = build_app(Settings(data_dir=str(data_dir)), web_port=16_066)
    router = app.web.web_app.router  # type: ignore[attr-defined]
    return {
        (route.resource.canonical, route.method.lower())
        for route in router.routes()
        if route.method in ("GET", "POST") and route.resource is not None
    }


def test_openapi_file_is_valid_3_1() -> None:
    spec = _spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_documented_path_is_registered_on_the_app(tmp_path: Path) -> None:
    documented = {
        (path, method) for path, item in _spec()["paths"].items() for method in item
    }  # fmt: skip
    registered = _registered_routes(tmp_path)
    assert documented <= registered, documented - registered
    api = {
        (p, m) for p, m in registered
        if not p.startswith(("/router", "/table", "/static")) and p != "/"
    }  # fmt: skip
    assert api == documented  # and nothing of ours is left undocumented


def test_snapshot_schema_lists_every_figure() -> None:
    properties = _spec()["components"]["schemas"]["Snapshot"]["properties"]
    assert list(properties) == list(Snapshot.model_fields)
    assert set(SERIES_FIGURES) <= set(properties)


def test_month_row_schema_lists_every_field() -> None:
    schema = _spec()["components"]["schemas"]["MonthRow"]
    assert list(schema["properties"]) == list(MonthRow.model_fields) == schema["required"]
