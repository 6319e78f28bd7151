"""One paced latency measurement against a worker that is already up.

Why it exists: the worker benchmark measures latency on a fresh worker, the state
benchmark on a worker that holds a large restored state; both produce lines at a
steady rate, record when each was handed to the producer, and turn the change feed's
and Redis' samples into latencies the same way, here.
"""

from __future__ import annotations

import json
import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.worker.inputs import produce
from bench.worker.probes import ChangeListener, RedisPoller
from bench.worker.processes import log_tail
from bench.worker.progress import say
from bench.worker.stats import nearest_rank, rnd

CATCH_UP_TIMEOUT_S = 60.0
Line = tuple[bytes, str | None]
"""(replay line, the event id it carries or None)."""


@dataclass(frozen=True, slots=True)
class Paced:
    services: dict[str, str]
    settings: Any
    """Settings naming the worker's input and output topics."""
    prefix: str
    """The worker's Redis key prefix."""
    partitions: int
    rate: float
    warmup_s: float
    change_interval_ms: int
    base_count: int = 0
    """The Redis events count before the first paced line (a worker that holds a state)."""
    label: str = "latency"


def _parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def measure_paced(
    paced: Paced, lines: list[Line], proc: Any, log: Path, raw: Path
) -> dict[str, Any]:
    """Produce `lines` at `paced.rate` into the running worker `proc`; the latencies."""
    total = len(lines)
    produced_at = [0.0] * total
    by_event: dict[str, list[int]] = {}
    for position, (_line, event_id) in enumerate(lines):
        if event_id is not None:
            by_event.setdefault(event_id, []).append(position)
    topic = paced.settings.topic_metric_changes
    listener = ChangeListener(paced.services, topic, paced.partitions)
    poller = RedisPoller(paced.services, paced.prefix)
    wanted = paced.base_count + total
    try:
        listener.start()
        poller.start()
        time.sleep(1.0)  # let the worker settle after its first writes

        def timed() -> Iterator[bytes]:
            started = time.time()
            for position, (line, _event_id) in enumerate(lines):
                delay = started + position / paced.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                produced_at[position] = time.time()
                yield line

        produce_started = time.time()
        produce(timed(), paced.settings, total, f"{paced.label} produce")
        produce_seconds = time.time() - produce_started
        deadline = time.time() + CATCH_UP_TIMEOUT_S
        while poller.count < wanted and time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited ({proc.returncode})\n{log_tail(log)}")
            time.sleep(0.1)
        caught_up = poller.count >= wanted
        caught_up_after = time.time() - produce_started - produce_seconds
        state = "caught up" if caught_up else f"not caught up after {CATCH_UP_TIMEOUT_S:.0f}s"
        say(
            f"{paced.label}: count {poller.count - paced.base_count:,}/{total:,} ({state}, "
            f"{caught_up_after:.1f}s after the last send)"
        )
        time.sleep(3 * paced.change_interval_ms / 1000)  # the last changes
    finally:
        listener.stopping.set()
        poller.stopping.set()
    listener.join(10)
    poller.join(10)
    for thread in (listener, poller):
        if thread.error is not None:
            raise RuntimeError(f"{thread.name} thread failed: {thread.error!r}")
    raw.write_text(json.dumps({
        "produced_at": produced_at, "redis_samples": poller.samples,
        "changes": [(received, record.get("metric"), record.get("cause_event_id"),
                     record.get("emitted_at")) for received, record in listener.records],
    }))  # fmt: skip
    say(f"{paced.label}: raw samples in {raw}")
    warm = produced_at[0] + paced.warmup_s
    emissions, recv_lat, emit_lat, unmatched = _change_latencies(listener, produced_at, by_event)
    redis_lat = _redis_latencies(poller.samples, produced_at, paced.base_count)

    def dist(pairs: list[tuple[float, float]]) -> dict[str, Any]:
        return {
            "all": _stats([v for _, v in pairs]),
            "after_warmup": _stats([v for t, v in pairs if t >= warm]),
        }

    return {
        "events": total,
        "produce_seconds": rnd(produce_seconds),
        "achieved_rate": round(total / produce_seconds),
        "caught_up": caught_up,
        "caught_up_after_last_send_s": rnd(caught_up_after),
        "final_count": poller.count - paced.base_count,
        "change_records": len(listener.records),
        "emissions": emissions,
        "unmatched_causes": unmatched,
        "change_receive": dist(recv_lat),
        "change_emitted_at": dist(emit_lat),
        "redis_metrics": dist(redis_lat),
    }


def _change_latencies(
    listener: ChangeListener, produced_at: list[float], by_event: dict[str, list[int]]
) -> tuple[int, list[tuple[float, float]], list[tuple[float, float]], int]:
    """One sample per emission (the records that share emitted_at and cause):
    (emissions, [(cause produced at, received - produced)], [(…, emitted - produced)],
    causes not among the paced lines)."""
    emissions: dict[tuple[str, str], tuple[float, float]] = {}
    for received, record in listener.records:
        key = (str(record.get("emitted_at")), str(record.get("cause_event_id")))
        if key not in emissions:
            emissions[key] = (received, _parse_iso(key[0]))
    unmatched = 0
    recv_lat: list[tuple[float, float]] = []
    emit_lat: list[tuple[float, float]] = []
    for (_emitted, cause), (received, emitted) in emissions.items():
        # a duplicate trap carries its original's id: take the latest copy produced before
        times = [produced_at[i] for i in by_event.get(cause, ()) if 0 < produced_at[i] <= emitted]
        if not times:
            unmatched += 1
            continue
        recv_lat.append((max(times), received - max(times)))
        emit_lat.append((max(times), emitted - max(times)))
    return len(emissions), recv_lat, emit_lat, unmatched


def _redis_latencies(
    samples: list[tuple[float, int]], produced_at: list[float], base: int
) -> list[tuple[float, float]]:
    """Event k visible at the first Redis sample whose count reaches base + k + 1."""
    times = [t for t, _ in samples]
    counts = [c for _, c in samples]
    out: list[tuple[float, float]] = []
    for k, at in enumerate(produced_at):
        pos = bisect_left(counts, base + k + 1)
        if pos < len(counts):
            out.append((at, times[pos] - at))
    return out


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)
    return {
        "samples": len(values),
        "p50_ms": round(1000 * nearest_rank(ordered, 50), 1),
        "p99_ms": round(1000 * nearest_rank(ordered, 99), 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }
