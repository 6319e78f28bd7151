"""The markdown tables of both parts, large and small world side by side.

Why it exists: the figures the brief asks for (per 10 % segment, at the end, on
recovery) are printed from the medians in `bench/out/state.json`, with the ratio
large / small where a ratio says how a cost scales.
"""

from __future__ import annotations

from typing import Any

from bench.state.memory import MB

KB = 1024


def fmt(value: Any, scale: float = 1, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    number = value / scale
    return f"{round(number):,}" if digits == 0 else f"{number:,.{digits}f}"


def ratio(a: Any, b: Any) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return ""
    return f"{a / b:.2f}x"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(head) - 1)
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _figures(parts: dict[str, Any], rows: list[tuple[str, str, float, int]]) -> list[str]:
    """One row per figure (label, key, scale, digits): each world, then large / small."""
    names = list(parts)
    head = ["figure", *names, f"{names[0]} / {names[-1]}"]
    out = []
    for label, key, scale, digits in rows:
        values = [parts[name].get(key) for name in names]
        out.append([label, *(fmt(v, scale, digits) for v in values), ratio(values[0], values[-1])])
    return _table(head, out)


def engine_report(engine: dict[str, Any]) -> list[str]:
    names = list(engine)
    worlds = ", ".join(f"{n} {_world_text(engine[n]['world'])}" for n in names)
    runs = len(engine[names[0]]["runs"])
    lines = [f"#### Engine alone, in process ({worlds}; median of {runs} runs each)", ""]
    head = ["% of stream"]
    for name in names:
        head += [f"{name} events/s", f"{name} RSS MB", f"{name} ckpt records",
                 f"{name} ckpt MB", f"{name} ckpt s"]  # fmt: skip
    rows = []
    for index, first in enumerate(engine[names[0]]["median_segments"]):
        row = [f"{first['percent']} %"]
        for name in names:
            seg = engine[name]["median_segments"][index]
            row += [fmt(seg["events_per_s"]), fmt(seg["rss_bytes"], MB),
                    fmt(seg["checkpoint_records"]), fmt(seg["checkpoint_bytes"], MB, 2),
                    fmt(seg["checkpoint_seconds"], 1, 3)]  # fmt: skip
        rows.append(row)
    lines += _table(head, rows)
    ends: dict[str, Any] = {}
    for name in names:
        end = dict(engine[name]["median_end"])
        last = engine[name]["median_segments"][-1]
        end |= {f"last_{k}": last[f"checkpoint_{k}"] for k in ("records", "bytes", "seconds")}
        ends[name] = end
    lines += ["", "At the end of the stream:", ""]
    lines += _figures(ends, [
        ("events", "events", 1, 0), ("users `len(activity.active)`", "users", 1, 0),
        ("accounts `len(ledger.accounts)`", "accounts", 1, 0),
        ("remembered ids `len(seen)`", "remembered_ids", 1, 0),
        ("survey respondents", "respondents", 1, 0),
        ("events/s, whole stream", "events_per_s", 1, 0),
        ("events/s last 10 % / first 10 %", "last_over_first", 1, 2),
        ("RSS before the first event, MB", "rss_start_bytes", MB, 0),
        ("RSS at the end, MB", "rss_end_bytes", MB, 0),
        ("RSS peak (VmHWM), MB", "rss_peak_bytes", MB, 0),
        ("RSS per user, bytes", "rss_per_user_bytes", 1, 0),
        ("RSS growth per user, bytes", "rss_growth_per_user_bytes", 1, 0),
        ("... without the changelog dict, bytes", "engine_rss_growth_per_user_bytes", 1, 0),
        ("RSS at the end after `malloc_trim(0)`, MB", "rss_end_trimmed_bytes", MB, 0),
        ("restored engine, Python heap (tracemalloc), MB", "restored_engine_heap_bytes", MB, 1),
        ("restored engine heap per user, bytes", "restored_engine_heap_per_user_bytes", 1, 0),
        ("compacted changelog (the dict): keys", "store_keys", 1, 0),
        ("compacted changelog (the dict): MB", "store_bytes", MB, 1),
        ("restore from the dict, s", "restore_seconds", 1, 3),
        ("last incremental checkpoint: records", "last_records", 1, 0),
        ("last incremental checkpoint: MB", "last_bytes", MB, 2),
        ("last incremental checkpoint: s", "last_seconds", 1, 3),
        ("full write (`write_all`): records", "full_write_records", 1, 0),
        ("full write: MB", "full_write_bytes", MB, 2),
        ("full write: s", "full_write_seconds", 1, 3),
        ("fixed change (every user of 100 accounts, one event a day on): events",
         "fixed_change_events", 1, 0),
        ("fixed change: checkpoint records", "fixed_change_records", 1, 0),
        ("fixed change: checkpoint MB", "fixed_change_bytes", MB, 3),
        ("fixed change: checkpoint s", "fixed_change_seconds", 1, 4),
    ])  # fmt: skip
    equal = all(engine[n]["median_end"]["restore_equal"] for n in names)
    rejected = sum(engine[n]["median_end"]["dead_letters"] + engine[n]["median_end"]["duplicates"]
                   for n in names)  # fmt: skip
    lines += ["", "Restored engine equal to the live one (`engine_to_json`: every account, "
                  f"user, respondent, remembered id and day bucket): {equal}; dead letters + "
                  f"duplicates: {rejected}."]  # fmt: skip
    return lines


def _world_text(world: dict[str, Any]) -> str:
    return (f"{world['accounts']:,} accounts x {world['users']} users x "
            f"{world['per_day']}/day x {world['days']} days")  # fmt: skip


def broker_report(broker: dict[str, Any], worlds: dict[str, Any]) -> list[str]:
    names = list(broker)
    runs = len(broker[names[0]]["runs"])
    text = ", ".join(f"{n} {broker[n]['events']:,} events" for n in names)
    lines = [f"#### One worker, real broker, 4 partitions ({text}; median of {runs} run(s) each)",
             ""]  # fmt: skip
    head = ["% of stream"]
    for name in names:
        head += [f"{name} events/s", f"{name} RSS MB", f"{name} ckpts",
                 f"{name} KB/ckpt", f"{name} ms/ckpt"]  # fmt: skip
    rows = []
    longest = max(len(broker[n]["median_segments"]) for n in names)
    for index in range(longest):
        row = [f"{(index + 1) * 10} %"]
        for name in names:
            segs = broker[name]["median_segments"]
            seg = segs[index] if index < len(segs) else {}
            seconds = seg.get("seconds_per_checkpoint")
            row += [fmt(seg.get("events_per_s")), fmt(seg.get("rss_bytes"), MB),
                    fmt(seg.get("checkpoints")), fmt(seg.get("bytes_per_checkpoint"), KB),
                    fmt(None if seconds is None else seconds * 1000, 1, 1)]  # fmt: skip
        rows.append(row)
    lines += _table(head, rows)
    figures: dict[str, Any] = {}
    for name in names:
        whole = dict(broker[name]["median_whole"]) | broker[name]["median_recovery"]
        whole |= {"events": broker[name]["events"], "users": broker[name]["users"]}
        seconds = whole.get("settled_seconds_per_checkpoint")
        whole["settled_ms_per_checkpoint"] = None if seconds is None else seconds * 1000
        figures[name] = whole
    lines += ["", "Whole run, and recovery after SIGKILL:", ""]
    lines += _figures(figures, [
        ("events", "events", 1, 0), ("users", "users", 1, 0),
        ("events/s, process start to all applied", "events_per_s_whole", 1, 0),
        ("events/s, first applied to all applied", "events_per_s_from_first", 1, 0),
        ("events/s last 10 % / first 10 %", "last_over_first", 1, 2),
        ("worker CPU s", "cpu_seconds", 1, 1),
        ("RSS when all applied, MB", "rss_end_bytes", MB, 0),
        ("RSS per user, bytes", "rss_per_user_bytes", 1, 0),
        ("all events applied after, s (from process start)", "applied_all_after_s", 1, 1),
        ("all input offsets committed after, s", "committed_all_after_s", 1, 1),
        ("RSS then, MB", "rss_settled_bytes", MB, 0),
        ("partition checkpoints counted until all applied", "all_checkpoints", 1, 0),
        ("... until all offsets were committed", "settled_checkpoints", 1, 0),
        ("records per checkpoint (whole run)", "settled_records_per_checkpoint", 1, 0),
        ("KB per checkpoint (whole run)", "settled_bytes_per_checkpoint", KB, 0),
        ("ms per checkpoint (whole run)", "settled_ms_per_checkpoint", 1, 1),
        ("first checkpoint counted after, s", "first_checkpoint_after_s", 1, 1),
        ("checkpoints not acknowledged (worker log)", "checkpoints_not_acknowledged", 1, 0),
        ("longest checkpoint timer run, s (worker log)", "longest_checkpoint_timer_s", 1, 1),
        ("restart: /health 200 after, s", "health_200_after_s", 1, 2),
        ("restart: 100 new events in Redis after, s", "new_events_counted_after_s", 1, 2),
        ("restart: events applied by the new process", "applied_after_restart", 1, 0),
        ("restart: RSS after recovery, MB", "rss_after_recovery_bytes", MB, 0),
        ("then paced on the recovered state (`GROWTH_CHANGE_INTERVAL_MS=200`): events/s",
         "latency_rate", 1, 0),
        ("... produce -> metric-changes received, p50 ms", "latency_change_p50_ms", 1, 0),
        ("... produce -> metric-changes received, p99 ms", "latency_change_p99_ms", 1, 0),
        ("... produce -> Redis count, p50 ms", "latency_redis_p50_ms", 1, 0),
        ("... produce -> Redis count, p99 ms", "latency_redis_p99_ms", 1, 0),
    ])  # fmt: skip
    return lines


def marginal(result: dict[str, Any]) -> list[tuple[str, float | None]]:
    """What one more user costs: (large - small) / (users of large - users of small), so
    the interpreter, the libraries and Faust, the same in both, drop out."""
    out: list[tuple[str, float | None]] = []

    def per_user(label: str, part: dict[str, Any], section: str, key: str, scale: float) -> None:
        large, small = part["large"], part["small"]
        a, b = large[section].get(key), small[section].get(key)
        users = (large.get("users") or large["median_end"]["users"]) - (
            small.get("users") or small["median_end"]["users"]
        )
        ok = isinstance(a, int | float) and isinstance(b, int | float) and users > 0
        out.append((label, (a - b) / users * scale if ok else None))

    if "engine" in result:
        engine = result["engine"]
        per_user("engine: RSS at the end, bytes", engine, "median_end", "rss_end_bytes", 1)
        per_user("engine: RSS at the end after malloc_trim, bytes", engine, "median_end",
                 "rss_end_trimmed_bytes", 1)  # fmt: skip
        per_user("engine: restored engine, Python heap, bytes", engine, "median_end",
                 "restored_engine_heap_bytes", 1)  # fmt: skip
        per_user("engine: compacted changelog, bytes", engine, "median_end", "store_bytes", 1)
        per_user("engine: full write, bytes", engine, "median_end", "full_write_bytes", 1)
        per_user("engine: restore, us", engine, "median_end", "restore_seconds", 1e6)
    if "broker" in result:
        broker = result["broker"]
        per_user("worker: RSS when all applied, bytes", broker, "median_whole", "rss_end_bytes", 1)
        per_user("worker: RSS after recovery, bytes", broker, "median_recovery",
                 "rss_after_recovery_bytes", 1)  # fmt: skip
    return out


def report(result: dict[str, Any]) -> str:
    lines: list[str] = []
    if "engine" in result:
        lines += [*engine_report(result["engine"]), ""]
    if "broker" in result:
        lines += [*broker_report(result["broker"], result["worlds"]), ""]
    if "broker_error" in result:
        lines += [f"Broker part failed: {result['broker_error']}", ""]
    rows = marginal(result) if {"large", "small"} <= set(result["worlds"]) else []
    if rows:
        lines += ["#### Cost of one more user: (large - small) / (users of large - small)", ""]
        lines += _table(["figure", "per user"], [[label, fmt(v)] for label, v in rows])
        lines.append("")
    return "\n".join(lines)
