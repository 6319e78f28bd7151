"""The engine's parameters, as data.

The engine never reads the environment or the shells' settings: a shell builds
one `EngineConfig` (agents/engine_config.py) and hands it over, so a test or a
replay states exactly what it computes with, and nothing that is not a metric
parameter (broker addresses, passwords, Redis URLs) reaches the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from state.alerts import AlertRules
from state.figures import Windows


def _usd_only() -> Mapping[str, Decimal]:
    return MappingProxyType({"USD": Decimal(1)})


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """METRICS.md's parameters: windows, lateness, grace, exchange rates, alert thresholds."""

    window_days: int = 30
    nps_window_days: int = 90
    lateness_days: int = 30
    lapse_grace_days: int = 14
    fx_rates: Mapping[str, Decimal] = field(default_factory=_usd_only)
    """Currency -> rate to the reporting currency (which has rate 1)."""
    reporting_currency: str = "USD"
    """What the money figures are in; every output that holds money names it."""
    alert_rules: AlertRules = field(default_factory=AlertRules)
    max_future_seconds: int = 3600
    """An event more than this after its recorded time is a dead letter (`future`)."""
    dedupe_hours: int = 24
    """Activity and survey ids are remembered for this long of stream time."""
    history_days: int = 3660
    """Closed days of every figure kept in the history (state/day_history.py)."""

    def __post_init__(self) -> None:
        if self.window_days < 1 or self.nps_window_days < 1:
            raise ValueError("windows must be at least one day")
        if self.lateness_days < 0 or self.lapse_grace_days < 0:
            raise ValueError("lateness and grace must not be negative")
        if self.history_days < 1:
            raise ValueError("history_days must be at least 1")
        if self.max_future_seconds < 0 or self.dedupe_hours < 0:
            raise ValueError("max_future_seconds and dedupe_hours must not be negative")
        rates = {code: Decimal(str(rate)) for code, rate in self.fx_rates.items()}
        if rates.setdefault(self.reporting_currency, Decimal(1)) != 1:
            raise ValueError("the reporting currency's own rate must be 1")
        object.__setattr__(self, "fx_rates", MappingProxyType(rates))

    @property
    def windows(self) -> Windows:
        return Windows(self.window_days, self.nps_window_days)
