"""The embedded shell: a replay file through the same decode -> engine path as the worker.

Lines are processed in file order, as one partition would deliver them
(EVENTS.md "Replay file"). Nothing here computes a figure; it only routes
messages and reports what the engine says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from models.decode import Decoder, Reason, Rejection
from models.envelope import good_line_validator
from models.events import AnyEvent, Payment
from models.outputs import dead_letter, now_iso
from models.settings import Settings
from state.alerts import GlobalAlerts
from state.changes import ChangeTracker
from state.clock import iso_utc
from state.engine import Engine, Outcome
from state.figures import Group

Record = dict[str, Any]
_MISSING = object()
_LATE = Rejection(Reason.LATE, "occurred_at is older than the allowed lateness behind stream time")


@dataclass(slots=True)
class ReplayOutputs:
    """Where a replay reports; each callback is optional (skipped work when absent)."""

    dead_letter: Callable[[Record], None] | None = None
    change: Callable[[Record], None] | None = None
    alert: Callable[[Record], None] | None = None
    progress: Callable[[int, int], None] | None = None
    """Called with (bytes read, lines read) every few thousand lines."""
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)


def _envelope(line: bytes) -> tuple[str, bytes, str | None] | Rejection:
    """(topic, raw message, key) of a replay line."""
    try:
        envelope = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Rejection(Reason.BAD_REPLAY_LINE, f"replay line is not JSON: {exc}")
    if not isinstance(envelope, dict):
        return Rejection(Reason.BAD_REPLAY_LINE, "replay line is not a JSON object")
    topic = envelope.get("topic")
    value = envelope.get("value", _MISSING)
    if not isinstance(topic, str) or value is _MISSING:
        return Rejection(Reason.BAD_REPLAY_LINE, 'replay line needs a string "topic" and a "value"')
    key = envelope.get("key")
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else orjson.dumps(value)
    return topic, raw, key if isinstance(key, str) else None


def replay_lines(
    lines: Iterable[bytes], settings: Settings, outputs: ReplayOutputs | None = None
) -> Engine:
    """Replay `lines` (one replay-file line each) into a fresh engine and return it."""
    outputs = outputs or ReplayOutputs()
    engine = Engine(settings)
    decoder = Decoder(settings)
    good_line = good_line_validator(settings)
    on_dead_letter, on_change, on_progress = outputs.dead_letter, outputs.change, outputs.progress
    reasons = outputs.dead_letter_reasons
    tracker = ChangeTracker(engine.figures(), engine.windows) if on_change else None
    on_alert = outputs.alert
    alerts = None
    if on_alert is not None:
        engine.alerts = []
        alerts = AlertReporter(engine, on_alert)
    read = 0
    offset = -1
    for offset, line in enumerate(lines):
        read += len(line)
        if on_progress is not None and not offset & 4095:
            on_progress(read, offset)
        good = good_line(line)
        if good is not None:
            event: AnyEvent | None = good[0]
            rejection = decoder.check(event) if type(event) is Payment else None
        elif not line.strip():
            continue
        else:
            event, rejection = _decode_line(decoder, line)
        if event is not None and rejection is None:
            changed = engine.apply(event)
            if tracker is not None:
                _report_changes(engine, tracker, changed, event.event_id, on_change)
            if alerts is not None:
                alerts.report()
            if not changed & Outcome.LATE:
                continue
            rejection = _LATE
        else:
            engine.count_dead_letter()
            if tracker is not None:
                _report_changes(engine, tracker, Group.COUNTERS, None, on_change)
        assert rejection is not None
        reasons[rejection.type] = reasons.get(rejection.type, 0) + 1
        if on_dead_letter is not None:
            parts = _envelope(line)
            topic, raw, key = (None, line, None) if isinstance(parts, Rejection) else parts
            on_dead_letter(
                dead_letter(rejection, raw, topic=topic, partition=0, offset=offset, key=key)
            )
    if on_progress is not None:
        on_progress(read, offset + 1)
    return engine


class AlertReporter:
    """Reports the engine's account alerts and, as days close, the global ones."""

    __slots__ = ("_engine", "_global", "_on_alert")

    def __init__(self, engine: Engine, on_alert: Callable[[Record], None]) -> None:
        self._engine = engine
        self._global = GlobalAlerts(engine.alert_rules)
        self._on_alert = on_alert

    def report(self) -> None:
        engine, on_alert = self._engine, self._on_alert
        if engine.alerts:
            for alert in engine.alerts:
                on_alert(alert.record())
            engine.alerts.clear()
        closes = engine.day_closes
        if closes and (self._global.next_day is None or self._global.next_day in closes):
            for alert in self._global.catch_up([closes], max(closes)):
                on_alert(alert.record())


def _decode_line(decoder: Decoder, line: bytes) -> tuple[AnyEvent | None, Rejection | None]:
    """The general path: envelope, then the topic's decoder, with a precise reason when bad."""
    parts = _envelope(line)
    if isinstance(parts, Rejection):
        return None, parts
    topic, raw, _key = parts
    decoded = decoder.decode(topic, raw)
    if isinstance(decoded, Rejection):
        return None, decoded
    return decoded, None


def _report_changes(
    engine: Engine,
    tracker: ChangeTracker,
    groups: int,
    cause: str | None,
    on_change: Callable[[Record], None] | None,
) -> None:
    if on_change is None or engine.stream_time is None:
        return
    figures = engine.figures(groups & Group.ALL)
    for record in tracker.changes(
        figures, as_of=iso_utc(engine.stream_time), cause_event_id=cause, emitted_at=now_iso()
    ):
        on_change(record)
