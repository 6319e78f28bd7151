"""The `GROWTH_*` variables the test run itself is configured by, read once at start-up.

Every test runs with no `GROWTH_*` variable in its environment (tests/conftest.py), so a
setting can only come from the test; these few say where the real services are
(scripts/services) and what CI demands, and reach only the fixtures that ask here.
"""

from __future__ import annotations

import os
from typing import Final

SERVICES_VARIABLES: Final = (
    "GROWTH_SERVICES_DIR",
    "GROWTH_KAFKA_PORT",
    "GROWTH_KAFKA_CONTROLLER_PORT",
    "GROWTH_REDIS_PORT",
    "GROWTH_KAFKA_START_TIMEOUT",
)
"""Where scripts/services keeps and serves its broker and Redis (for a test that restarts them)."""
RUN_VARIABLES: Final = (
    "GROWTH_KAFKA_BOOTSTRAP_SERVERS",
    "GROWTH_REDIS_URL",
    "GROWTH_REQUIRE_SERVICES",
    "GROWTH_DASHBOARD_SCREENSHOT",
    *SERVICES_VARIABLES,
)
_AT_START: Final = {name: os.environ.get(name, "").strip() for name in RUN_VARIABLES}


def run_variable(name: str) -> str:
    """The variable's value when the test run started ("" when unset)."""
    return _AT_START[name]


def services_required() -> bool:
    """CI (`GROWTH_REQUIRE_SERVICES=1`): a missing service fails instead of skipping."""
    return run_variable("GROWTH_REQUIRE_SERVICES") == "1"


def services_environment() -> dict[str, str]:
    """The environment for running scripts/services on the run's own services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")}
    return env | {name: _AT_START[name] for name in SERVICES_VARIABLES if _AT_START[name]}
