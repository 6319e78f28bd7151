"""Part 1, one run: the engine alone on one world, checkpointed into a dict every 10 %.

    .venv/bin/python -m bench.state.engine_run '{"world": {...}, "label": "large r1"}'

Why it exists: each run is its own process (started by `bench.state.engine_part`), so
its RSS holds this world's state and nothing left over from the other size; it
prints its figures as one JSON line on stdout, progress on stderr. The messages are
generated in chunks between the timed feeds, so events/s is the pipeline's alone and
the generator never holds the world in memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import sys
import time
import tracemalloc
from collections import Counter
from itertools import islice
from typing import Any

from bench.state.memory import MB, rss_bytes, status_kb
from bench.state.world import KINDS, World, next_day_changes
from bench.worker.progress import say
from bench.worker.stats import rnd

CHUNK = 8192
SEGMENTS = 10


class CountingStore:
    """The compacted changelog as a dict (a None value deletes its key), counting what
    each checkpoint gave it: records and bytes (keys and values), by key kind.

    It keeps a copy of each value: a bytes object from `orjson.dumps` keeps orjson's
    whole output buffer (about 4 kB, whatever the length), so holding the originals
    would make this stand-in for a Kafka topic the largest thing in the process.
    """

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.records = 0
        self.size = 0
        self.kinds: Counter[str] = Counter()

    def write(self, key: bytes, value: bytes | None) -> None:
        self.records += 1
        self.size += len(key) + (0 if value is None else len(value))
        name = key.decode().partition(":")[2].partition(".")[2]  # "{p}:T{term}.{name}"
        self.kinds[name.split(":", 1)[0]] += 1
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = bytes(memoryview(value))

    def take(self) -> dict[str, Any]:
        """The counts since the last take."""
        out = {"records": self.records, "bytes": self.size, "by_kind": dict(self.kinds)}
        self.records, self.size, self.kinds = 0, 0, Counter()
        return out

    @property
    def held_bytes(self) -> int:
        return sum(len(k) + len(v) for k, v in self.data.items())

    def memory_estimate(self) -> int:
        """Python's own size of the dict and its bytes objects (part of this process's RSS)."""
        return sys.getsizeof(self.data) + sum(
            sys.getsizeof(k) + sys.getsizeof(v) for k, v in self.data.items()
        )


def timed_checkpoint(state: Any, store: CountingStore) -> dict[str, Any]:
    from agents.worker.checkpoints import write_checkpoint

    started = time.perf_counter()
    write_checkpoint(state, store.write)
    seconds = time.perf_counter() - started
    return store.take() | {"seconds": rnd(seconds, 4)}


def trimmed_rss() -> int:
    """VmRSS after a full collection and glibc's `malloc_trim(0)`: what the allocator keeps
    free is handed back, so the figure is closer to what live objects hold."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_bytes() or 0


def feed(world: World, label: str, config: Any, store: CountingStore) -> tuple[Any, list[Any], int]:
    """The world through a fresh engine, checkpointed every 10 %: (the partition state,
    the segments, RSS before the first event). The state holds the only reference to
    the engine once this returns."""
    from agents.worker.checkpoints import PartitionState
    from models.decode import Decoder
    from models.settings import Settings
    from state.engine import Engine
    from state.pipeline import Pipeline

    settings = Settings()
    engine = Engine(config)
    message = Pipeline(engine, Decoder(settings)).message
    topics = {kind: str(getattr(settings, f"topic_{kind}")) for kind in KINDS}
    state = PartitionState(partition=0, engine=engine)
    total = world.events
    rss_start = rss_bytes() or 0
    messages = ((topics[kind], raw) for kind, _account, raw in world.messages())
    fed = 0
    segments: list[dict[str, Any]] = []
    for index in range(1, SEGMENTS + 1):
        bound = round(total * index / SEGMENTS)
        seconds = 0.0
        start = fed
        while fed < bound:
            chunk = list(islice(messages, min(CHUNK, bound - fed)))
            started = time.perf_counter()
            for topic, raw in chunk:
                message(topic, raw)
            seconds += time.perf_counter() - started
            fed += len(chunk)
        rss = rss_bytes() or 0
        checkpoint = timed_checkpoint(state, store)
        segment = {
            "percent": index * 100 // SEGMENTS, "events": fed - start, "feed_seconds": rnd(seconds),
            "events_per_s": round((fed - start) / seconds), "rss_bytes": rss,
            "users": len(engine.activity.active), "remembered_ids": len(engine.seen),
            "checkpoint": checkpoint,
        }  # fmt: skip
        segments.append(segment)
        say(
            f"engine {label}: {segment['percent']}% ({fed:,} events) "
            f"{segment['events_per_s']:,} ev/s, RSS {rss / MB:.0f} MB, checkpoint "
            f"{checkpoint['records']:,} records {checkpoint['bytes'] / MB:.1f} MB "
            f"{checkpoint['seconds']:.3f}s"
        )
    return state, segments, rss_start


def end_figures(engine: Any, store: CountingStore, rss_start: int) -> dict[str, Any]:
    kb = status_kb()
    users = len(engine.activity.active)
    rss_end = kb.get("VmRSS", 0) * 1024
    store_memory = store.memory_estimate()
    return {
        "events": engine.events, "duplicates": engine.duplicates,
        "dead_letters": engine.dead_letters, "users": users,
        "accounts": len(engine.ledger.accounts), "remembered_ids": len(engine.seen),
        "respondents": len(engine.nps.latest), "mrr": str(engine.ledger.mrr),
        "rss_start_bytes": rss_start, "rss_end_bytes": rss_end,
        "rss_peak_bytes": kb.get("VmHWM", 0) * 1024,
        "rss_per_user_bytes": round(rss_end / max(users, 1)),
        "rss_growth_per_user_bytes": round((rss_end - rss_start) / max(users, 1)),
        "store_keys": len(store.data), "store_bytes": store.held_bytes,
        "store_memory_estimate_bytes": store_memory,
        "engine_rss_growth_per_user_bytes":
            round((rss_end - rss_start - store_memory) / max(users, 1)),
    }  # fmt: skip


def run(world: World, label: str) -> dict[str, Any]:
    """Feed, then: end figures, restore (timed, compared), a full write, and the Python
    heap of the engine alone: restored once more under tracemalloc. Then the cost of a
    checkpoint at a fixed change (`next_day_changes`: as many keys in every world size).
    (The RSS a freed engine
    gives back says less: pymalloc returns an arena only once it is wholly empty.)"""
    from agents.engine_config import engine_config
    from agents.worker.checkpoints import restore
    from models.decode import Decoder
    from models.settings import Settings
    from state.codec import engine_to_json
    from state.pipeline import Pipeline

    config = engine_config(Settings())
    store = CountingStore()
    state, segments, rss_start = feed(world, label, config, store)
    live = state.engine
    end = end_figures(live, store, rss_start)
    end["rss_end_trimmed_bytes"] = trimmed_rss()
    started = time.perf_counter()
    restored = restore(0, config, store.data)
    end["restore_seconds"] = rnd(time.perf_counter() - started)
    end["restore_equal"] = engine_to_json(restored.engine) == engine_to_json(live)
    state.write_all = True
    end["full_write"] = timed_checkpoint(state, store)
    settings = Settings()
    message = Pipeline(live, Decoder(settings)).message
    changes = list(next_day_changes(world, "change"))
    for kind, _account, raw in changes:
        message(str(getattr(settings, f"topic_{kind}")), raw)
    end["fixed_change"] = timed_checkpoint(state, store) | {"events": len(changes)}
    del state, live, restored
    users = end["users"]
    tracemalloc.start()
    again = restore(0, config, store.data)
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del again
    end["restored_engine_heap_bytes"] = heap
    end["restored_engine_heap_per_user_bytes"] = round(heap / max(users, 1))
    feed_seconds = sum(s["feed_seconds"] for s in segments)
    end["feed_seconds"] = rnd(feed_seconds)
    end["events_per_s"] = round(world.events / feed_seconds)
    end["last_over_first"] = rnd(segments[-1]["events_per_s"] / segments[0]["events_per_s"])
    say(
        f"engine {label}: {users:,} users, RSS {end['rss_end_bytes'] / MB:.0f} MB, restore "
        f"{end['restore_seconds']}s (equal: {end['restore_equal']}), restored engine "
        f"{heap / MB:.0f} MB heap, full write "
        f"{end['full_write']['records']:,} records {end['full_write']['seconds']}s"
    )
    return {"label": label, "world": world.as_json(), "segments": segments, "end": end}


def main(argv: list[str] | None = None) -> int:
    spec = json.loads((argv or sys.argv[1:])[0])
    result = run(World(**spec["world"]), str(spec["label"]))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
