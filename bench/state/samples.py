"""The worker's samples during a run, and what they say per 10 % of the stream.

Why it exists: the worker is watched from outside (its `/prometheus` counters, the
Redis metrics count, its RSS), so its pace per segment and the cost of its
checkpoints come from differences between samples. Segment k runs from the first
sample that has applied k-1 tenths of the stream (the first sample with anything
applied, for k = 1) to the first that has applied k tenths; its figures are the
counter deltas between those two samples, so no counter is ever interpolated.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from bench.state.memory import http_get, prometheus_counters, rss_bytes
from bench.worker.services import COUNT_FIELDS
from bench.worker.stats import rnd

SEGMENTS = 10
COUNTERS = {
    "applied": "growthstream_events_applied_total",
    "duplicates": "growthstream_duplicates_total",
    "dead_letters": "growthstream_dead_letters_total",
    "checkpoints": "growthstream_checkpoints_total",
    "checkpoint_records": "growthstream_checkpoint_records_total",
    "checkpoint_bytes": "growthstream_checkpoint_bytes_total",
    "checkpoint_seconds": "growthstream_checkpoint_seconds_total",
}


@dataclass(slots=True)
class Sample:
    t: float
    """Seconds since the worker process was started."""
    redis_events: int
    """`events` of the Redis hash `{prefix}metrics` (what the aggregate has published)."""
    redis_count: int
    """events + duplicates + dead_letters of that hash."""
    rss: int | None
    scraped: bool
    """Whether `/prometheus` answered (else the counters are the previous sample's)."""
    applied: float = 0.0
    duplicates: float = 0.0
    dead_letters: float = 0.0
    checkpoints: float = 0.0
    checkpoint_records: float = 0.0
    checkpoint_bytes: float = 0.0
    checkpoint_seconds: float = 0.0


def redis_counts(client: Any, prefix: str) -> list[Any]:
    """events, duplicates, dead_letters of the Redis metrics hash (None where absent)."""
    return list(client.hmget(f"{prefix}metrics", list(COUNT_FIELDS)))


def take_sample(
    started: float, port: int, pid: int, client: Any, prefix: str, previous: Sample | None
) -> Sample:
    status, body = http_get(port, "/prometheus")
    values = [int(v) if v not in (None, b"") else 0 for v in redis_counts(client, prefix)]
    sample = Sample(
        t=time.time() - started,
        redis_events=values[0],
        redis_count=sum(values),
        rss=rss_bytes(pid),
        scraped=status == 200,
    )
    if status == 200:
        counters = prometheus_counters(body)
        for field, name in COUNTERS.items():
            setattr(sample, field, counters.get(name, 0.0))
    elif previous is not None:
        for field in COUNTERS:
            setattr(sample, field, getattr(previous, field))
    return sample


def _delta(a: Sample, b: Sample, field: str) -> float:
    return float(getattr(b, field)) - float(getattr(a, field))


def per_checkpoint(a: Sample, b: Sample) -> dict[str, Any]:
    count = _delta(a, b, "checkpoints")
    if count <= 0:
        return {"checkpoints": 0}
    return {
        "checkpoints": int(count),
        "records_per_checkpoint": round(_delta(a, b, "checkpoint_records") / count),
        "bytes_per_checkpoint": round(_delta(a, b, "checkpoint_bytes") / count),
        "seconds_per_checkpoint": rnd(_delta(a, b, "checkpoint_seconds") / count, 4),
    }


def segments(samples: list[Sample], n: int) -> list[dict[str, Any]]:
    """Per tenth of the `n` events: events/s, RSS at its end, checkpoints in it."""
    first = next((i for i, s in enumerate(samples) if s.applied > 0), None)
    if first is None:
        return []
    out: list[dict[str, Any]] = []
    begin = first
    for k in range(1, SEGMENTS + 1):
        bound = n * k / SEGMENTS
        end = next((i for i in range(begin, len(samples)) if samples[i].applied >= bound), None)
        if end is None:
            break
        a, b = samples[begin], samples[end]
        row: dict[str, Any] = {"percent": k * 100 // SEGMENTS, "t_end": rnd(b.t)}
        span = b.t - a.t
        row["events_per_s"] = round(_delta(a, b, "applied") / span) if end > begin else None
        row["rss_bytes"] = b.rss
        row |= per_checkpoint(a, b)
        out.append(row)
        begin = end
    return out


def whole_run(samples: list[Sample], n: int, users: int) -> dict[str, Any]:
    """The run from process start to the engines having applied all `n` events."""
    first = next((s for s in samples if s.applied > 0), None)
    done = next((s for s in samples if s.applied >= n), None)
    redis_done = next((s for s in samples if s.redis_count >= n), None)
    checkpointed = next((s for s in samples if s.checkpoints > 0), None)
    out: dict[str, Any] = {
        "samples": len(samples),
        "scrapes_failed": sum(1 for s in samples if not s.scraped),
        "first_applied_after_s": rnd(None if first is None else first.t),
        "applied_all_after_s": rnd(None if done is None else done.t),
        "redis_all_after_s": rnd(None if redis_done is None else redis_done.t),
        "first_checkpoint_after_s": rnd(None if checkpointed is None else checkpointed.t),
    }
    if first is not None and done is not None and done.t > first.t:
        out["events_per_s_from_first"] = round((done.applied - first.applied) / (done.t - first.t))
        out["events_per_s_whole"] = round(n / done.t)
    if done is not None:
        out |= {f"all_{k}": v for k, v in per_checkpoint(samples[0], done).items()}
        out["rss_end_bytes"] = done.rss
        out["rss_per_user_bytes"] = None if done.rss is None else round(done.rss / users)
    rows = segments(samples, n)
    rates = [r["events_per_s"] for r in rows]
    if len(rows) == SEGMENTS and rates[0] and rates[-1]:
        out["last_over_first"] = rnd(rates[-1] / rates[0])
    out["segments"] = rows
    return out


def as_rows(samples: list[Sample]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]
