"""`growthstream schema`: the JSON Schema of every event and output record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.cli import main as cli_main


def test_schema_command_writes_every_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["schema", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.schema.json"))
    assert len(files) == 12, files
    schemas = {f.name.removesuffix(".schema.json"): json.loads(f.read_text("utf-8")) for f in files}
    assert set(schemas) == {
        "signup", "payment", "cancellation", "activity", "survey",
        "metric-change", "churn-alert", "dead-letter", "snapshot", "month-row", "cohort-row",
        "metric-revision",
    }  # fmt: skip
    for schema in schemas.values():
        assert isinstance(schema, dict)
        assert schema["type"] == "object"
    payment = schemas["payment"]
    assert {"amount", "currency"} <= set(payment["required"])
    assert {"event_id", "occurred_at", "account_id"} <= set(payment["required"])
    assert "status" not in payment["required"]
    assert set(schemas["survey"]["required"]) >= {"user_id", "score"}
    assert {"mrr_at_start", "mrr_at_end", "currency"} <= set(schemas["month-row"]["required"])
    assert {"cohort", "months_since", "mrr_pct"} <= set(schemas["cohort-row"]["required"])
    printed = capsys.readouterr().out.split()
    assert len(printed) == 12
