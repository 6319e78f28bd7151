"""The markdown table the benchmark prints on stdout.

Why it exists: the result JSON holds everything; this is the short human
reading of it (throughput medians and ratios, latency percentiles per measure).
"""

from __future__ import annotations

from typing import Any


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and value < 10:
        return f"{value:.2f}{unit}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}{unit}"
    return f"{int(value):,}{unit}"


def report(result: dict[str, Any]) -> str:
    out: list[str] = []
    tp = result.get("throughput")
    if tp:
        cfg = result["config"]
        out.append(
            f"### Throughput ({cfg['events']:,} events, {cfg['partitions']} partitions, "
            f"{cfg['runs']} runs, medians)\n"
        )
        out.append(
            "| side | whole process s | events/s whole (process start to N) | "
            "events/s from first output | events/s engine (partials) | CPU s | events/CPU-s |"
        )
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        sides = [("bare", "bare aiokafka consumer"), ("worker", "growthstream worker")]
        if "vs" in tp:
            sides.append(("vs", f"worker of {tp['vs_tree']}"))
        for side, label in sides:
            s = tp[side]
            out.append(
                f"| {label} | {fmt(s['median_seconds'])} | {fmt(s['median_events_per_s'])} | "
                f"{fmt(s['median_steady_events_per_s'])} | "
                f"{fmt(s['median_engine_events_per_s'])} | {fmt(s['median_cpu_seconds'])} | "
                f"{fmt(s['median_events_per_cpu_s'])} |"
            )
        out.append(
            f"| worker / bare | | {fmt(tp.get('ratio'))}x | {fmt(tp.get('steady_ratio'))}x | "
            f"{fmt(tp.get('engine_ratio'))}x (vs bare from first message) | | "
            f"{fmt(tp.get('cpu_ratio'))}x |"
        )
        if "vs" in tp:
            ratios = tp["vs_ratios"]
            out.append(
                f"| worker / `--vs-tree` worker, median of per-run pairs | | "
                f"{fmt(ratios['events_per_s']['median'])}x | "
                f"{fmt(ratios['steady_events_per_s']['median'])}x | | "
                f"{fmt(ratios['cpu_seconds']['median'])}x (CPU s) | |"
            )
        out.append("")
        out.append(
            "First output: bare = its first message; worker = first poll of Redis with a "
            "non-zero count. Engine = the worker's own partial-state messages (first partial "
            "that counts anything to the partials adding up to N)."
        )
        out.append("Targets: >= 40,000 events/s per worker process, >= 0.5x the bare consumer.\n")
    lat = result.get("latency")
    if lat:
        out.append(
            f"### Latency ({lat['events_per_run']:,} events at {lat['rate']:,}/s for "
            f"{lat['seconds']:g} s, {len(lat['runs'])} runs, "
            f"GROWTH_CHANGE_INTERVAL_MS={lat['change_interval_ms']})\n"
        )
        out.append(
            "| measured | events produced | samples | median p50 ms | median p99 ms | "
            "p99 ms per run | max ms |"
        )
        out.append("| --- | --- | ---: | ---: | ---: | --- | ---: |")
        for key, label in (
            ("change_receive", "metric-changes received - cause event produced"),
            ("change_emitted_at", "metric-changes emitted_at - cause event produced"),
            ("redis_metrics", "Redis metrics count reaches event - event produced"),
        ):
            for span, when in (
                ("all", "all"),
                ("after_warmup", f"after {lat['warmup_seconds']:g} s"),
            ):
                d = lat["medians"][key][span]
                per_run = ", ".join(fmt(v) for v in d["p99_ms_per_run"])
                out.append(
                    f"| {label} | {when} | {d['samples']:,} | {fmt(d['median_p50_ms'])} | "
                    f"{fmt(d['median_p99_ms'])} | {per_run} | {fmt(d['max_ms'])} |"
                )
        out.append("")
        out.append(
            f"Achieved produce rate (median) {fmt(lat['median_achieved_rate'])}/s; worker caught "
            f"up in every run: {lat['all_caught_up']}; target p99 <= 1000 ms.\n"
        )
    return "\n".join(out)
