"""The spec: what a caller may ask for."""

from __future__ import annotations

import pytest

from agents.demo import WorldSpec


def test_spec_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        WorldSpec(days=0)
    with pytest.raises(ValueError):
        WorldSpec(accounts=-1)
