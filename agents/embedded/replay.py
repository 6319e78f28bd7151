"""The embedded shell: a replay file through the pipeline into one partition and the aggregator.

Lines are processed in file order, as one partition would deliver them (EVENTS.md
"Replay file"). Each line goes through `state.pipeline` (the path the worker's
records take too) and the figures, changes and global alerts come from
`state.aggregate`, as in the worker; this module only reads lines and hands what
the outcomes say to the outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agents.engine_config import engine_config
from models.decode import Decoder, Rejection
from models.outputs import ChurnAlert, DeadLetter, MetricChange, now_iso
from models.replay_line import good_line_validator, parse_line
from models.settings import Settings
from state.aggregate import Aggregator, view_of
from state.engine import Engine
from state.figures import Group, Value
from state.outcome import Outcome, Status
from state.pipeline import Pipeline

PROGRESS_EVERY = 4096
"""Lines between two progress reports."""


@dataclass(slots=True)
class ReplayOutputs:
    """Where a replay reports; each callback is optional (skipped work when absent)."""

    dead_letter: Callable[[DeadLetter], None] | None = None
    change: Callable[[MetricChange], None] | None = None
    alert: Callable[[ChurnAlert], None] | None = None
    progress: Callable[[int, int], None] | None = None
    """Called with (bytes read, lines read) every `PROGRESS_EVERY` lines."""
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Replay:
    """What a replay leaves: its engine and the aggregate of it."""

    engine: Engine
    aggregator: Aggregator

    @property
    def events(self) -> int:
        return self.engine.events

    @property
    def duplicates(self) -> int:
        return self.engine.duplicates

    @property
    def dead_letters(self) -> int:
        return self.engine.dead_letters

    def snapshot(self) -> dict[str, Value | str]:
        self.aggregator.update(0, view_of(self.engine, None))
        return self.aggregator.snapshot()


class _Reporter:
    """Hands what each outcome says to the outputs: dead letters, changes, alerts."""

    __slots__ = ("_aggregator", "_engine", "_outputs", "day")

    def __init__(self, engine: Engine, aggregator: Aggregator, outputs: ReplayOutputs) -> None:
        self._engine = engine
        self._aggregator = aggregator
        self._outputs = outputs
        self.day: int | None = None
        """The engine's day when the global alerts last walked the closed days."""

    def quiet(self, outcome: Outcome) -> bool:
        """True when the outcome has nothing to report (the common case, skipped fast)."""
        return (
            outcome.status is Status.APPLIED
            and not outcome.alerts
            and self._outputs.change is None
            and self._engine.day == self.day
        )

    def report(self, outcome: Outcome, line: bytes, offset: int) -> None:
        outputs, engine = self._outputs, self._engine
        if outcome.rejection is not None:
            reasons = outputs.dead_letter_reasons
            reasons[outcome.rejection.type] = reasons.get(outcome.rejection.type, 0) + 1
            if outputs.dead_letter is not None:
                outputs.dead_letter(_dead_letter(outcome.rejection, line, offset))
        if outputs.alert is not None:
            for alert in outcome.alerts:
                outputs.alert(alert)
        if outputs.change is not None:
            self._aggregator.update(0, view_of(engine, outcome.event_id))
            changes = self._aggregator.changes(
                now_iso(), outcome.groups & Group.ALL, cause=outcome.event_id, latest_cause=False
            )
            for change in changes:
                outputs.change(change)
        if engine.day != self.day:
            self.day = engine.day
            self._global_alerts()

    def _global_alerts(self) -> None:
        """Walk the days the engine has just closed (the global churn and NPS rules)."""
        engine, aggregator = self._engine, self._aggregator
        aggregator.update(0, view_of(engine, None))
        alerts = aggregator.alerts()
        if self._outputs.alert is not None:
            for alert in alerts:
                self._outputs.alert(alert)
        if aggregator.alerts_next_day is not None:
            engine.forget_closes_before(aggregator.alerts_next_day)


def _dead_letter(rejection: Rejection, line: bytes, offset: int) -> DeadLetter:
    parsed = parse_line(line)
    if isinstance(parsed, Rejection):
        return DeadLetter.of(rejection, line, topic=None, partition=0, offset=offset, key=None)
    return DeadLetter.of(
        rejection, parsed.raw, topic=parsed.topic, partition=0, offset=offset, key=parsed.key
    )


def replay_lines(
    lines: Iterable[bytes], settings: Settings, outputs: ReplayOutputs | None = None
) -> Replay:
    """Replay `lines` (one replay-file line each) into a fresh engine."""
    outputs = outputs or ReplayOutputs()
    config = engine_config(settings)
    engine = Engine(config)
    aggregator = Aggregator(config.windows, config.alert_rules)
    pipeline = Pipeline(engine, Decoder(settings))
    reporter = _Reporter(engine, aggregator, outputs)
    good_line = good_line_validator(settings)
    on_progress = outputs.progress
    read = 0
    offset = -1
    for offset, line in enumerate(lines):
        read += len(line)
        if on_progress is not None and not offset % PROGRESS_EVERY:
            on_progress(read, offset)
        good = good_line(line)
        if good is not None:
            outcome = pipeline.validated(good[0])
        elif not line.strip():
            continue
        else:
            outcome = _general_path(pipeline, line)
        if not reporter.quiet(outcome):
            reporter.report(outcome, line, offset)
    if on_progress is not None:
        on_progress(read, offset + 1)
    reporter.report(Outcome(Status.APPLIED, 0), b"", offset)
    return Replay(engine, aggregator)


def _general_path(pipeline: Pipeline, line: bytes) -> Outcome:
    """A line the one-pass validation did not take: its parts, then the topic's decoder."""
    parsed = parse_line(line)
    if isinstance(parsed, Rejection):
        return pipeline.rejected(parsed)
    return pipeline.message(parsed.topic, parsed.raw)
