"""Which figures changed, as metric-change records (METRICS.md "Metric changes")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from models.outputs import MetricChange
from state.figures import (
    ACTIVITY_FIGURES,
    COUNTER_FIGURES,
    NPS_FIGURES,
    SIGNUP_FIGURES,
    Value,
    Windows,
)

_POINT_IN_TIME = frozenset({"mrr", "arr", "paying_customers", "arpa", *COUNTER_FIGURES})
MONEY_FIGURES: Final = frozenset({
    "mrr", "arr", "arpa", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
    "reactivation_mrr", "net_new_mrr", "mrr_at_start", "clv",
})  # fmt: skip
"""The figures that are amounts of money: their changes name the reporting currency."""


def figure_window(name: str, windows: Windows) -> str | None:
    """The span a figure covers, e.g. `30d`; None for point-in-time figures."""
    if name in _POINT_IN_TIME:
        return None
    if name == "dau":
        return "1d"
    if name == "wau":
        return "7d"
    if name in NPS_FIGURES:
        return f"{windows.nps_window_days}d"
    if name in ACTIVITY_FIGURES or name in SIGNUP_FIGURES:
        return f"{windows.window_days}d"
    return f"{windows.window_days}d"


class ChangeTracker:
    """Remembers the last value of every figure and reports the ones that moved."""

    __slots__ = ("_currency", "_values", "_windows")

    def __init__(
        self, initial: Mapping[str, Value], windows: Windows, currency: str = "USD"
    ) -> None:
        self._values: dict[str, Value] = dict(initial)
        self._windows = windows
        self._currency = currency

    @property
    def values(self) -> Mapping[str, Value]:
        return self._values

    def changes(
        self,
        figures: Mapping[str, Value],
        *,
        as_of: str,
        cause_event_id: str | None,
        emitted_at: str,
    ) -> list[MetricChange]:
        out: list[MetricChange] = []
        values = self._values
        for name, value in figures.items():
            previous = values.get(name)
            if name in values and previous == value and type(previous) is type(value):
                continue
            values[name] = value
            delta = None if value is None or previous is None else value - previous
            out.append(
                MetricChange.model_construct(
                    metric=name,
                    value=value,
                    previous=previous,
                    delta=delta,
                    window=figure_window(name, self._windows),
                    as_of=as_of,
                    cause_event_id=cause_event_id,
                    emitted_at=emitted_at,
                    currency=self._currency if name in MONEY_FIGURES else None,
                )
            )
        return out
