"""The embedded shell: a replay file through the pipeline into P partitions and the aggregator.

Without `partitions`, lines are processed in file order as one partition
(EVENTS.md "Replay file"): the reference single stream. With `partitions=P`, the
replay computes what a P-partition worker computes (METRICS.md "Partitions"): each
line goes to the partition Kafka's default partitioner gives its key, a partition
takes its lines in the order the worker merges its topics (`merge_order`), and at
the end every partition follows the global stream time. Each line goes through
`state.pipeline` (the worker's path too); figures, changes and global alerts come
from `state.aggregate`; this module only reads lines and reports what outcomes say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Final

from agents.embedded.partitioning import Routed, merge_order, route
from agents.engine_config import engine_config
from models.decode import Decoder, Rejection
from models.outputs import AccountView, ChurnAlert, DeadLetter, MetricChange, now_iso
from models.replay_line import good_line_validator, parse_line
from models.settings import Settings
from models.tables import CohortRow, MonthRow
from state.aggregate import Aggregator, view_of
from state.clock import date_to_day, day_to_date
from state.day_rows import DaySides, daily_sides
from state.engine import Engine
from state.figures import Group, Value
from state.month_tables import month_end_days, with_month_ends
from state.outcome import Outcome, Status
from state.pipeline import Pipeline
from state.projection import account_view

_APPLIED: Final = Status.APPLIED
_EVERY_GROUP: Final = Group.ALL

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
    """What a replay leaves: its partitions' engines and their aggregate."""

    engines: list[Engine]
    aggregator: Aggregator

    @property
    def engine(self) -> Engine:
        """The one engine of a single-stream replay."""
        (engine,) = self.engines
        return engine

    @property
    def events(self) -> int:
        return sum(e.events for e in self.engines)

    @property
    def duplicates(self) -> int:
        return sum(e.duplicates for e in self.engines)

    @property
    def dead_letters(self) -> int:
        return sum(e.dead_letters for e in self.engines)

    def _aggregate(self) -> Aggregator:
        for partition, engine in enumerate(self.engines):
            self.aggregator.update(partition, view_of(engine, None))
        return self.aggregator

    def snapshot(self) -> dict[str, Value | str]:
        return self._aggregate().snapshot()

    def months(self) -> list[MonthRow]:
        """The monthly MRR movements table, each month with every figure at its end: the
        `series` row of its last day (today for the current month; null before the kept
        history)."""
        aggregator = self._aggregate()
        rows = aggregator.months()
        today = None if aggregator.day is None else day_to_date(aggregator.day)
        wanted = {date_to_day(day) for day in month_end_days(rows, today)}
        ends = {
            day_to_date(day): sides.figures()
            for day, sides in self._days(aggregator.day)
            if day in wanted
        }
        return with_month_ends(rows, ends, today)

    def cohorts(self) -> list[CohortRow]:
        return self._aggregate().cohorts()

    def series(self) -> list[dict[str, Value | str]]:
        """One row per day, oldest first: `day`, `currency` and every figure as it stands
        at the end of that day (today: as it stands now); at most `history_days` of them."""
        aggregator = self._aggregate()
        currency = aggregator.currency
        return [
            {"day": day_to_date(day).isoformat(), "currency": currency, **sides.figures()}
            for day, sides in self._days(aggregator.day)
        ]

    def _days(self, last: int | None) -> list[tuple[int, DaySides]]:
        """Each day of the kept history up to `last` (today) with its sides, oldest first."""
        firsts = [e.history.first_day for e in self.engines if e.history.first_day is not None]
        if last is None or not firsts:
            return []
        first = max(min(firsts), last - self.engines[0].config.history_days + 1)
        return daily_sides([e.day_sides() for e in self.engines], first, last)

    def accounts(self) -> dict[str, AccountView]:
        """Every account's read-model row (`growth:account:{id}`), by account id."""
        rows: dict[str, AccountView] = {}
        for engine in self.engines:
            for account_id in engine.ledger.accounts:
                view = account_view(engine, account_id)
                if view is not None:
                    rows[account_id] = view
        return dict(sorted(rows.items()))


class _Reporter:
    """Hands what each outcome says to the outputs: dead letters, changes, alerts."""

    __slots__ = ("_aggregator", "_days", "_engines", "_no_changes", "_outputs")

    def __init__(self, engines: list[Engine], aggregator: Aggregator, outputs: ReplayOutputs):
        self._engines = engines
        self._aggregator = aggregator
        self._outputs = outputs
        self._no_changes = outputs.change is None
        self._days: list[int | None] = [None] * len(engines)
        """Each engine's day when the global alerts last walked the closed days."""

    def quiet(self, outcome: Outcome) -> bool:
        """True when the outcome has nothing to report (the common case, skipped fast): applied,
        no alerts, no change output, and the same day (the outcome that moves an engine to a
        new day names every group, `Group.ALL`; one that names them all without a new day is
        reported, which finds nothing to do)."""
        return (
            outcome.status is _APPLIED
            and not outcome.alerts
            and outcome.groups != _EVERY_GROUP
            and self._no_changes
        )

    def report(self, outcome: Outcome, partition: int, letter: Callable[[], DeadLetter]) -> None:
        outputs, engine = self._outputs, self._engines[partition]
        if outcome.rejection is not None:
            reasons = outputs.dead_letter_reasons
            reasons[outcome.rejection.type] = reasons.get(outcome.rejection.type, 0) + 1
            if outputs.dead_letter is not None:
                outputs.dead_letter(letter())
        if outputs.alert is not None:
            for alert in outcome.alerts:
                outputs.alert(alert)
        if outputs.change is not None:
            self._aggregator.update(partition, view_of(engine, outcome.event_id))
            changes = self._aggregator.changes(
                now_iso(), outcome.groups & Group.ALL, cause=outcome.event_id, latest_cause=False
            )
            for change in changes:
                outputs.change(change)
        if engine.day != self._days[partition]:
            self._days[partition] = engine.day
            self.global_alerts()

    def global_alerts(self) -> None:
        """Walk the days every partition has closed (the global churn and NPS rules)."""
        aggregator = self._aggregator
        for partition, engine in enumerate(self._engines):
            aggregator.update(partition, view_of(engine, None))
        alerts = aggregator.alerts()
        if self._outputs.alert is not None:
            for alert in alerts:
                self._outputs.alert(alert)
        if aggregator.alerts_next_day is not None:
            for engine in self._engines:
                engine.forget_closes_before(aggregator.alerts_next_day)


def _line_letter(
    rejection: Rejection | None,
    line: bytes,
    partition: int,
    offset: int,
    as_sent: bool,
    raw_limit: int,
) -> DeadLetter:
    """The dead letter of a line; `as_sent`: keyed as `produce` sends it (the worker's view)."""
    assert rejection is not None
    parsed = parse_line(line)
    if isinstance(parsed, Rejection):
        return DeadLetter.of(
            rejection, line, topic=None, partition=partition, offset=offset, key=None,
            raw_limit=raw_limit,
        )  # fmt: skip
    return DeadLetter.of(
        rejection, parsed.raw, topic=parsed.topic, partition=partition, offset=offset,
        key=parsed.message_key if as_sent else parsed.key, raw_limit=raw_limit,
    )  # fmt: skip


def replay_lines(
    lines: Iterable[bytes],
    settings: Settings,
    outputs: ReplayOutputs | None = None,
    partitions: int | None = None,
) -> Replay:
    """Replay `lines` (one replay-file line each) into fresh engines."""
    outputs = outputs or ReplayOutputs()
    config = engine_config(settings)
    count = partitions or 1
    engines = [Engine(config) for _ in range(count)]
    aggregator = Aggregator(
        config.windows, config.alert_rules, count, currency=config.reporting_currency
    )
    decoder = Decoder(settings)
    pipelines = [Pipeline(engine, decoder) for engine in engines]
    reporter = _Reporter(engines, aggregator, outputs)
    if partitions is None:
        _single_stream(lines, settings, pipelines[0], reporter, outputs.progress)
    else:
        _partitioned(lines, settings, pipelines, reporter, outputs.progress)
    return Replay(engines, aggregator)


def _single_stream(
    lines: Iterable[bytes],
    settings: Settings,
    pipeline: Pipeline,
    reporter: _Reporter,
    progress: Callable[[int, int], None] | None,
) -> None:
    good_line = good_line_validator(settings)
    limit = settings.dead_letter_raw_bytes
    validated, quiet = pipeline.validated, reporter.quiet
    read = 0
    offset = -1
    for offset, line in enumerate(lines):
        read += len(line)
        if progress is not None and not offset % PROGRESS_EVERY:
            progress(read, offset)
        good = good_line(line)
        if good is not None:
            outcome = validated(good[0], good[2])
        elif not line.strip():
            continue
        else:
            outcome = _general_path(pipeline, line)
        if not quiet(outcome):
            letter = partial(_line_letter, outcome.rejection, line, 0, offset, False, limit)
            reporter.report(outcome, 0, letter)
    if progress is not None:
        progress(read, offset + 1)
    reporter.report(Outcome(Status.APPLIED, 0), 0, _no_letter)


def _partitioned(
    lines: Iterable[bytes],
    settings: Settings,
    pipelines: list[Pipeline],
    reporter: _Reporter,
    progress: Callable[[int, int], None] | None,
) -> None:
    count = len(pipelines)
    routed: list[Routed] = route(lines, settings, count, progress)
    quiet = reporter.quiet
    for item in merge_order(routed):
        pipeline = pipelines[item.partition]
        if item.event is not None:
            outcome = pipeline.validated(item.event, item.timestamp)
        else:
            outcome = _general_path(pipeline, item.line)
        if not quiet(outcome):
            letter = partial(
                _line_letter, outcome.rejection, item.line, item.partition, item.offset, True,
                settings.dead_letter_raw_bytes,
            )  # fmt: skip
            reporter.report(outcome, item.partition, letter)
    times = [p.engine.stream_time for p in pipelines if p.engine.stream_time is not None]
    if times:
        for partition, pipeline in enumerate(pipelines):
            reporter.report(pipeline.engine.advance_to(max(times)), partition, _no_letter)
    reporter.global_alerts()


def _no_letter() -> DeadLetter:
    raise AssertionError("no dead letter without a rejection")


def _general_path(pipeline: Pipeline, line: bytes) -> Outcome:
    """A line the one-pass validation did not take: its parts, then the topic's decoder."""
    parsed = parse_line(line)
    if isinstance(parsed, Rejection):
        return pipeline.rejected(parsed)
    return pipeline.message(parsed.topic, parsed.raw, parsed.timestamp)
