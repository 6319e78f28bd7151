"""The headless browser of the dashboard page test: found on PATH, else skipped or failed.

Like the services (tests/support/services.py): a machine without Chromium skips the test
with the reason and the package that brings it; CI (`GROWTH_REQUIRE_SERVICES=1`, set by
.ci/run, which installs the package) fails instead, so the page cannot pass unrendered.
"""

from __future__ import annotations

import os
import shutil
from typing import Final

import pytest

from tests.support.environment import services_required

NAMES: Final = ("chromium", "chromium-browser")
NO_CHROMIUM: Final = (
    "no chromium on PATH for the dashboard page test: install Debian's package "
    "(apt-get install -y chromium)"
)


def find_chromium(search_path: str | None, *, required: bool) -> str:
    """The browser's path on `search_path` (a PATH value); skip, or fail when `required`."""
    for name in NAMES:
        found = shutil.which(name, path=search_path)
        if found is not None:
            return found
    if required:
        pytest.fail(NO_CHROMIUM, pytrace=False)
    pytest.skip(NO_CHROMIUM)


@pytest.fixture
def chromium() -> str:
    return find_chromium(os.environ.get("PATH"), required=services_required())
