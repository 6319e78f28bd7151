"""Incremental checkpoints: the changed records of every checkpoint, kept as a compacted
changelog keeps them (each key's newest value, None deleting it), restore an engine that
goes on exactly as the one that never stopped; and a checkpoint writes what changed."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state import checkpoint_records
from state.checkpoint_records import (
    META,
    Record,
    all_records,
    changed_records,
    engine_from_records,
)
from state.codec import engine_from_json, engine_to_json
from state.config import EngineConfig
from state.engine import Engine
from tests.support.streams import RANDOM_CONFIG, Event, active, feed, random_stream, tick

CONFIG = RANDOM_CONFIG


class Changelog:
    """A compacted changelog: each key's newest value; None deletes (a tombstone)."""

    def __init__(self) -> None:
        self.table: dict[str, Any] = {}
        self.written = 0

    def write(self, records: list[Record]) -> None:
        for key, value in orjson.loads(orjson.dumps(records)):
            self.written += 1
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value

    def restore(self, config: EngineConfig = CONFIG) -> Engine:
        return engine_from_records(config, self.table.items())


def _same(left: Engine, right: Engine) -> None:
    assert engine_to_json(left) == engine_to_json(right)
    assert left.snapshot() == right.snapshot()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_restored_from_incremental_checkpoints_goes_on_exactly(seed: int) -> None:
    events = random_stream(seed)
    straight = Engine(CONFIG)
    feed(straight, events)

    changelog = Changelog()
    running = Engine(CONFIG)
    for generation, start in enumerate(range(0, len(events), 97), 1):
        feed(running, events[start : start + 97])
        changelog.write(changed_records(running, generation))
        if generation % 4 == 0:  # a restart now and then, from the changelog alone
            restored = changelog.restore()
            _same(restored, running)
            running = restored
    _same(running, straight)
    assert int(straight.snapshot()["churned_customers"] or 0) > 0


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.lists(st.integers(1, 400), max_size=8))
def test_any_checkpoint_points_and_restarts(seed: int, cuts: list[int]) -> None:
    events = random_stream(seed % 50, length=600)
    straight = Engine(CONFIG)
    feed(straight, events)
    changelog = Changelog()
    running = Engine(CONFIG)
    position = 0
    for generation, cut in enumerate(cuts, 1):
        feed(running, events[position : position + cut])
        position += cut
        changelog.write(changed_records(running, generation))
        running = changelog.restore()
    feed(running, events[position:])
    _same(running, straight)


def test_a_short_dedupe_horizon_restores_the_same_ids() -> None:
    """Activity ids expire by stream time; restored buckets forget exactly the same ones."""
    config = dataclasses.replace(CONFIG, dedupe_hours=1)
    events: list[Event] = []
    for hour in range(0, 72):
        events.append(active("a1", f"u{hour % 5}", day=1 + hour / 24, event_id=f"e{hour}"))
        if hour >= 2:  # a copy 2 hours later: past the 1-hour horizon, an event again
            events.append(active("a1", f"u{(hour - 2) % 5}", day=1 + (hour - 2) / 24,
                                 event_id=f"e{hour - 2}"))  # fmt: skip
    straight = Engine(config)
    feed(straight, events)
    changelog, running = Changelog(), Engine(config)
    for index, event in enumerate(events):
        feed(running, [event])
        changelog.write(changed_records(running, index + 1))
        running = changelog.restore(config)
    _same(running, straight)
    buckets = [k for k in changelog.table if k.startswith("v:")]
    assert 0 < len(buckets) <= 4  # the ids of the last hour; older buckets were deleted


def test_ids_split_over_records_and_deleted_with_all_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checkpoint_records, "IDS_PER_RECORD", 3)
    config = dataclasses.replace(CONFIG, dedupe_hours=1)
    changelog, running = Changelog(), Engine(config)
    straight = Engine(config)
    for step in range(12):
        batch = [active("a1", f"u{n}", day=1 + step / 12, hour=n / 60, event_id=f"e{step}.{n}")
                 for n in range(7)]  # fmt: skip
        feed(straight, batch)
        feed(running, batch)
        changelog.write(changed_records(running, step + 1))
        running = changelog.restore(config)
    _same(running, straight)
    held = sorted(k for k in changelog.table if k.startswith("v:"))
    assert held and len(held) % 3 == 0  # 7 ids a generation: 3 records each
    assert len(held) <= 3 * 2  # the generations of the last hour only


def test_a_checkpoint_writes_what_changed_not_everything() -> None:
    events = [active(f"a{a}", f"u{u}", day=1) for a in range(50) for u in range(20)]
    engine = Engine(CONFIG)
    feed(engine, events)
    first = changed_records(engine, 1)
    assert len(first) >= 1000  # 50 accounts, 1,000 users, their ids, the meta record
    feed(engine, [active("a3", "u7", day=1, hour=13), active("a3", "u8", day=1, hour=14)])
    second = dict(changed_records(engine, 2))
    assert set(second) == {META, "a:a3", "v:2.0"}  # both users' day was already day 1
    feed(engine, [active("a4", "new", day=2)])
    third = dict(changed_records(engine, 3))
    users = [k for k in third if k.startswith("u:")]
    assert len(users) == 1 and third[users[0]] == engine.day
    assert [key for key, _ in changed_records(engine, 4)] == [META]  # nothing changed


def test_forgotten_users_are_deleted_from_the_changelog() -> None:
    config = dataclasses.replace(CONFIG, window_days=3, lateness_days=1, nps_window_days=3)
    engine = Engine(config)
    changelog = Changelog()
    feed(engine, [active("a1", f"u{u}", day=1) for u in range(10)])
    changelog.write(changed_records(engine, 1))
    feed(engine, [active("a1", "late-comer", day=30), tick(31)])
    changelog.write(changed_records(engine, 2))
    users = [k for k in changelog.table if k.startswith("u:")]
    assert len(users) == 1  # the ten users of day 1 are out of every kept window
    _same(changelog.restore(config), engine)


def test_everything_once_then_changes_from_a_legacy_checkpoint() -> None:
    """A partition restored from the whole-engine JSON of earlier versions writes all of
    its records once; from then on only what changes."""
    events = random_stream(9)
    engine = Engine(CONFIG)
    feed(engine, events[:700])
    legacy = engine_from_json(CONFIG, orjson.loads(orjson.dumps(engine_to_json(engine))))
    changelog = Changelog()
    changelog.write(all_records(legacy, 1))
    _same(changelog.restore(), engine)
    feed(legacy, events[700:])
    feed(engine, events[700:])
    changelog.write(changed_records(legacy, 2))
    _same(changelog.restore(), engine)


def test_an_id_forgotten_and_applied_again_is_remembered_after_a_restore() -> None:
    """A copy past the horizon is an event again and is remembered anew, while the older
    generation that first held its id still has ids alive: a restore keeps the new one."""
    config = dataclasses.replace(CONFIG, dedupe_hours=1)
    first, second = active("a1", "u1", 1, hour=0, event_id="e1"), active("a1", "u2", 1, hour=0.9)
    later = active("a1", "u3", 1, hour=1.5)
    copy = active("a1", "u1", 1, hour=1.6, event_id="e1")
    copy_again = active("a1", "u1", 1, hour=1.7, event_id="e1")
    straight, running, changelog = Engine(config), Engine(config), Changelog()
    for generation, batch in enumerate(([first, second], [later, copy], [copy_again]), 1):
        feed(straight, batch)
        feed(running, batch)
        changelog.write(changed_records(running, generation))
        running = changelog.restore(config)
    _same(running, straight)
    assert (straight.events, straight.duplicates) == (4, 1)  # the copy an event, its copy not
