"""Percentiles, medians and rounding of the measured figures.

Why it exists: throughput, latency and the report all reduce samples the same
way (nearest-rank percentiles, medians over runs, figures rounded for the JSON).
"""

from __future__ import annotations

import math
import statistics


def nearest_rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the sorted, non-empty `ordered`."""
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def rnd(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
