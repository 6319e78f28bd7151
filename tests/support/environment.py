"""The `GROWTH_*` variables the test run itself is configured by, read once at start-up.

Every test runs with no `GROWTH_*` variable in its environment (tests/conftest.py), so a
setting can only come from the test; these few say where the real services are
(scripts/services) and what CI demands, and reach only the fixtures that ask here.
"""

from __future__ import annotations

import os
from typing import Final

RUN_VARIABLES: Final = (
    "GROWTH_KAFKA_BOOTSTRAP_SERVERS",
    "GROWTH_REDIS_URL",
    "GROWTH_REQUIRE_SERVICES",
    "GROWTH_DASHBOARD_SCREENSHOT",
)
_AT_START: Final = {name: os.environ.get(name, "").strip() for name in RUN_VARIABLES}


def run_variable(name: str) -> str:
    """The variable's value when the test run started ("" when unset)."""
    return _AT_START[name]


def services_required() -> bool:
    """CI (`GROWTH_REQUIRE_SERVICES=1`): a missing service fails instead of skipping."""
    return run_variable("GROWTH_REQUIRE_SERVICES") == "1"
