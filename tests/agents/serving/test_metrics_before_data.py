"""`GET /metrics` of a worker whose aggregator has written nothing yet (issue 12, point 8)."""

from __future__ import annotations

import pytest

from agents.serving.api import ApiError, snapshot_body


def test_no_figures_yet_is_503_with_its_reason() -> None:
    with pytest.raises(ApiError) as empty:
        snapshot_body({})
    assert empty.value.status == 503
    assert empty.value.body() == {"error": "no figures yet: the aggregator has not written any"}
