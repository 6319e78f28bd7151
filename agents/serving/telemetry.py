"""This worker's processing counters and their OpenMetrics exposition (`GET /prometheus`).

Counters are plain integers bumped on the per-record path (`GrowthWorker._apply`),
so they cost O(1) per record: the latency histogram has fixed buckets and one
bisect. They count what THIS process applied since it started (Prometheus sums
workers and handles restarts with `rate()`); the global figures come from Redis.

Exposition: every numeric figure is one sample of the gauge `growthstream_figure`
with label `name` (one family, so a new figure needs no new scrape config);
Decimals become floats there, as Prometheus has no other number type.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.openmetrics.exposition import generate_latest

CONTENT_TYPE: Final = "application/openmetrics-text; version=1.0.0; charset=utf-8"
LATENCY_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
)  # fmt: skip
"""Upper bounds (seconds) of the processing latency histogram; +Inf is implied."""


@dataclass(slots=True)
class Telemetry:
    """Counts of this worker's applied records."""

    applied: int = 0
    duplicates: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    checkpoints: int = 0
    checkpoint_records: int = 0
    checkpoint_bytes: int = 0
    checkpoint_seconds: float = 0.0
    """Partition checkpoints written, their changelog records and bytes (keys and values),
    and the seconds spent making and storing them (the broker's acknowledgement excluded)."""

    def checkpointed(self, records: int, size: int, seconds: float) -> None:
        self.checkpoints += 1
        self.checkpoint_records += records
        self.checkpoint_bytes += size
        self.checkpoint_seconds += seconds

    def count(self, rejection: str | None, *, duplicate: bool, latency_s: float) -> None:
        """One record applied: a dead letter (by reason), a duplicate, or an event."""
        if rejection is not None:
            self.dead_letters[rejection] += 1
        elif duplicate:
            self.duplicates += 1
        else:
            self.applied += 1
        self.observe_latency(latency_s)

    def observe_latency(self, seconds: float) -> None:
        """Record one latency; negative ones (clock skew) count as zero."""
        seconds = max(seconds, 0.0)
        self.latency_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds


TopicPartition = tuple[str, int]


def consumer_lag(highwater: int | None, received: int | None, applied: int | None) -> int | None:
    """Records in the partition not yet received: highwater - (last received offset + 1).

    The position is the later of the last record received and the last one applied
    (a restored checkpoint covers records this process never received); with
    neither, the partition is read from its start. None while the highwater is unknown.
    """
    if highwater is None:
        return None
    seen = max(-1 if received is None else received, -1 if applied is None else applied)
    return max(highwater - (seen + 1), 0)


def figure_number(value: object) -> float | None:
    """A figure as a sample value, or None when it has none (or is not numeric)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return float(value)
    return None


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def families(
    figures: Mapping[str, object],
    telemetry: Telemetry,
    lag: Mapping[TopicPartition, int | None],
) -> list[Metric]:
    """The metric families of one scrape."""
    figure = GaugeMetricFamily(
        "growthstream_figure",
        "Current value of a global figure (METRICS.md), read from Redis",
        labels=["name"],
    )
    for name, value in figures.items():
        number = figure_number(value)
        if number is not None:
            figure.add_metric([name], number)
    applied = CounterMetricFamily(
        "growthstream_events_applied", "Valid events applied by this worker's engines"
    )
    applied.add_metric([], telemetry.applied)
    duplicates = CounterMetricFamily(
        "growthstream_duplicates", "Events this worker ignored as duplicates (same event_id)"
    )
    duplicates.add_metric([], telemetry.duplicates)
    dead = CounterMetricFamily(
        "growthstream_dead_letters",
        "Messages this worker sent to dead-letters, by reason",
        labels=["reason"],
    )
    for reason, count in sorted(telemetry.dead_letters.items()):
        dead.add_metric([reason], count)
    lag_family = GaugeMetricFamily(
        "growthstream_consumer_lag",
        "Records of an assigned input partition not yet received by this worker",
        labels=["topic", "partition"],
    )
    for (topic, partition), records in sorted(lag.items()):
        if records is not None:
            lag_family.add_metric([topic, str(partition)], records)
    cumulative, buckets = 0, []
    for bound, count in zip(
        [*(repr(b) for b in LATENCY_BUCKETS), "+Inf"], telemetry.latency_counts, strict=True
    ):
        cumulative += count
        buckets.append((bound, float(cumulative)))
    latency = HistogramMetricFamily(
        "growthstream_processing_latency_seconds",
        "Wall clock at apply minus the Kafka record timestamp",
        buckets=buckets,
        sum_value=telemetry.latency_sum,
        unit="seconds",
    )
    checkpoint_families = []
    for name, text, value in (
        ("checkpoints", "Partition checkpoints written", telemetry.checkpoints),
        ("checkpoint_records", "Changelog records written by checkpoints",
         telemetry.checkpoint_records),
        ("checkpoint_bytes", "Changelog bytes (keys and values) written by checkpoints",
         telemetry.checkpoint_bytes),
        ("checkpoint_seconds", "Seconds spent making and storing checkpoints",
         telemetry.checkpoint_seconds),
    ):  # fmt: skip
        family = CounterMetricFamily(f"growthstream_{name}", text)
        family.add_metric([], value)
        checkpoint_families.append(family)
    return [figure, applied, duplicates, dead, lag_family, latency, *checkpoint_families]


def openmetrics_text(
    figures: Mapping[str, object],
    telemetry: Telemetry,
    lag: Mapping[TopicPartition, int | None],
) -> bytes:
    """The OpenMetrics text exposition (ends with `# EOF`)."""
    text: bytes = generate_latest(_Families(families(figures, telemetry, lag)))  # type: ignore[no-untyped-call]
    return text
