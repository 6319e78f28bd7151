"""JSON Schema of every event and output, generated from the models (EVENTS.md)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from models.events import MODELS
from models.outputs import ChurnAlert, DeadLetter, MetricChange, MetricRevision, Snapshot
from models.tables import CohortRow, MonthRow

OUTPUTS: dict[str, type[BaseModel]] = {
    "metric-change": MetricChange,
    "metric-revision": MetricRevision,
    "churn-alert": ChurnAlert,
    "dead-letter": DeadLetter,
    "snapshot": Snapshot,
    "month-row": MonthRow,
    "cohort-row": CohortRow,
}


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    models: dict[str, type[BaseModel]] = dict(MODELS)
    models.update(OUTPUTS)
    for name, model in models.items():
        schema = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = name
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
