"""The one module that reaches into Faust: what each access does, on a real (unstarted) app.

No broker is needed: the consumer is built but never started, and the fetch it would have
made is handed in directly, the way Faust's fetcher hands it to `_drain_messages`.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.exceptions import NotReady
from faust.types import TP

from agents.worker.faust_compat import (
    BatchingConsumer,
    GrowthApp,
    RecordBatch,
    add_middleware,
    kafka_producer,
    mark_persisted,
    partition_db,
)


class Sink:
    """Stands in for a topic's channel: keeps what the consumer sends it."""

    def __init__(self) -> None:
        self.batches: list[RecordBatch] = []

    async def send(self, *, value: RecordBatch) -> None:
        self.batches.append(value)


def record(topic: str, offset: int, partition: int = 0) -> Any:
    """An aiokafka ConsumerRecord's attributes, as Faust's `_to_message` reads them."""
    return SimpleNamespace(
        topic=topic, partition=partition, offset=offset, timestamp=1_000 + offset,
        timestamp_type=0, headers=[], key=b"k", value=b"v", checksum=None,
        serialized_key_size=1, serialized_value_size=1,
    )  # fmt: skip


@pytest.fixture
def app() -> GrowthApp:
    return GrowthApp("compat-test", broker="kafka://127.0.0.1:1", store="memory://",
                     autodiscover=False)  # fmt: skip


def consumer(app: GrowthApp) -> tuple[BatchingConsumer, list[Any]]:
    """The app's consumer, with a highwater and a per-message callback that need no broker."""
    made = app.consumer
    assert isinstance(made, BatchingConsumer)
    delivered: list[Any] = []

    async def callback(message: Any) -> None:
        delivered.append(message)

    made.highwater = lambda tp: 100  # type: ignore[method-assign]
    made.callback = callback
    return made, delivered


A0, B0, A1 = TP("a", 0), TP("b", 0), TP("a", 1)


def sinks_of(sink: Sink) -> Any:
    """The sinks mapping the consumer hands batches to (topic `a` only)."""
    return {"a": sink}


def test_a_batch_topic_gets_one_batch_per_partition_and_fetch(app: GrowthApp) -> None:
    sink = Sink()
    made, delivered = consumer(app)
    fetch = {A0: [record("a", 5), record("a", 6)], A1: [record("a", 0, 1)], B0: [record("b", 3)]}
    asyncio.run(made._hand_on(fetch, None, sinks_of(sink)))
    assert [(b.tp, [r.offset for r in b.records]) for b in sink.batches] == [
        (A0, [5, 6]),
        (A1, [0]),
    ]
    assert {b.generation_id for b in sink.batches} == {app.consumer_generation_id}
    assert made.read_offset(A0) == 6 and made.read_offset(A1) == 0
    assert [m.offset for m in delivered] == [3]  # topic b: Faust's own per-message path
    assert made.read_offset(B0) == 3


def test_the_topics_delivered_one_by_one_go_before_the_batches_of_a_fetch(
    app: GrowthApp,
) -> None:
    order: list[str] = []
    made, _ = consumer(app)

    class Recording(Sink):
        async def send(self, *, value: RecordBatch) -> None:
            order.append(f"batch {value.tp.topic}{value.tp.partition}")

    async def callback(message: Any) -> None:
        order.append(f"message {message.topic}{message.partition}")

    made.callback = callback
    fetch = {A0: [record("a", 5)], A1: [record("a", 0, 1)], B0: [record("b", 3)]}
    asyncio.run(made._hand_on(fetch, None, sinks_of(Recording())))
    assert order == ["message b0", "batch a0", "batch a1"]


def test_records_below_the_read_offset_are_dropped(app: GrowthApp) -> None:
    sink = Sink()
    made, _ = consumer(app)
    made._read_offset[A0] = 6
    asyncio.run(
        made._hand_on({A0: [record("a", 5), record("a", 6), record("a", 7)]}, None, sinks_of(sink))
    )
    assert [r.offset for r in sink.batches[0].records] == [6, 7]
    asyncio.run(made._hand_on({A0: [record("a", 4)]}, None, sinks_of(sink)))
    assert len(sink.batches) == 1  # nothing left to send


class RebalancingSink(Sink):
    """A channel whose send waits while a rebalance begins and seeks back to `committed`,
    as a full channel does while the consumer thread rebalances."""

    def __init__(self, made: BatchingConsumer, committed: int, *, new_generation: bool) -> None:
        super().__init__()
        self.made, self.committed, self.new_generation = made, committed, new_generation

    async def send(self, *, value: RecordBatch) -> None:
        await super().send(value=value)
        app = self.made.app
        app.on_rebalance_start()
        if self.new_generation:
            app.consumer_generation_id += 1
        self.made._read_offset[value.tp] = self.committed


@pytest.mark.parametrize("new_generation", [False, True], ids=["revoking", "reassigned"])
def test_a_rebalance_during_a_send_keeps_the_read_offset_of_its_seek(
    app: GrowthApp, new_generation: bool
) -> None:
    made, _ = consumer(app)
    sink = RebalancingSink(made, committed=2, new_generation=new_generation)
    fetch = {A0: [record("a", 5), record("a", 6)], A1: [record("a", 9, 1)]}
    asyncio.run(made._hand_on(fetch, None, sinks_of(sink)))
    assert made.read_offset(A0) == 2  # records 2-6 are fetched again and handed on
    assert [b.tp for b in sink.batches] == [A0]  # the rest of the stale fetch is not
    assert sink.batches[0].rebalances == app.rebalancing_count - 1
    sink.send = Sink.send.__get__(sink)  # type: ignore[method-assign]
    asyncio.run(made._hand_on({A0: [record("a", 2), record("a", 3)]}, None, sinks_of(sink)))
    assert [r.offset for r in sink.batches[-1].records] == [2, 3]
    assert sink.batches[-1].rebalances == app.rebalancing_count


def test_a_rebalance_during_a_message_stops_the_rest_of_the_fetch(app: GrowthApp) -> None:
    made, delivered = consumer(app)

    async def callback(message: Any) -> None:
        delivered.append(message)
        app.on_rebalance_start()
        made._read_offset[B0] = 1

    made.callback = callback
    asyncio.run(made._hand_on({B0: [record("b", 3), record("b", 4)]}, None, sinks_of(Sink())))
    assert [m.offset for m in delivered] == [3]
    assert made.read_offset(B0) == 1


def test_seeks_are_counted_per_partition_before_and_after(app: GrowthApp) -> None:
    made, _ = consumer(app)
    during: list[int] = []

    async def driver_seek(partition: TP, offset: int) -> None:
        during.append(made.seeks(partition))

    made._seek = driver_seek  # type: ignore[method-assign]
    asyncio.run(made.seek(A0, 7))
    assert (made.seeks(A0), made.seeks(A1), during) == (2, 0, [1])
    assert made.read_offset(A0) == 7


def test_a_seek_runs_on_the_consumer_thread(app: GrowthApp) -> None:
    """aiokafka's seek drops fetched records that the consumer's thread may be reading: it
    must run there (through `call_thread`), never on the caller's loop."""
    made, _ = consumer(app)
    calls: list[tuple[str, Any]] = []

    class Thread:
        on_thread = False

        def seek(self, partition: TP, offset: int) -> None:
            calls.append(("seek on the consumer thread" if self.on_thread else "seek", offset))

        async def call_thread(self, fun: Any, *args: Any) -> Any:
            self.on_thread = True
            try:
                return await fun(*args)
            finally:
                self.on_thread = False

    made._thread = Thread()  # type: ignore[assignment]
    asyncio.run(made.seek(A0, 7))
    assert calls == [("seek on the consumer thread", 7)]
    assert (made.read_offset(A0), made.seeks(A0)) == (7, 2)


def test_perform_seek_counts_every_assigned_partition(app: GrowthApp) -> None:
    made, _ = consumer(app)

    async def seek_to_committed() -> dict[TP, int]:
        return {A0: 3, A1: 5}

    made.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    made.assignment = lambda: {A0, A1}  # type: ignore[method-assign]
    asyncio.run(made.perform_seek())
    assert (made.seeks(A0), made.seeks(A1), made.seeks(B0)) == (2, 2, 0)
    assert (made.read_offset(A0), made.read_offset(A1)) == (3, 5)


def test_a_seek_during_a_send_keeps_its_read_offset_and_stamps_later_batches(
    app: GrowthApp,
) -> None:
    made, _ = consumer(app)

    class SeekingSink(Sink):
        async def send(self, *, value: RecordBatch) -> None:
            await super().send(value=value)
            if value.tp == A0 and len(self.batches) == 1:
                made._sought([A0])
                made._read_offset[A0] = 2

    sink = SeekingSink()
    fetch = {A0: [record("a", 5), record("a", 6)], A1: [record("a", 9, 1)]}
    asyncio.run(made._hand_on(fetch, None, sinks_of(sink)))
    assert (made.read_offset(A0), made.read_offset(A1)) == (2, 9)  # A1 is not affected
    assert [(b.tp, b.seeks) for b in sink.batches] == [(A0, 0), (A1, 0)]
    asyncio.run(made._hand_on({A0: [record("a", 2)]}, None, sinks_of(sink)))
    assert sink.batches[-1].seeks == made.seeks(A0) == 1


def test_only_active_or_buffered_partitions_are_handed_on(app: GrowthApp) -> None:
    sink = Sink()
    made, _ = consumer(app)
    made._buffered_partitions = {A1}
    fetch = {A0: [record("a", 1)], A1: [record("a", 1, 1)]}
    asyncio.run(made._hand_on(fetch, set(), sinks_of(sink)))
    assert [b.tp for b in sink.batches] == [A1]


def test_a_held_back_partition_is_paused_and_what_was_fetched_is_still_handed_on(
    app: GrowthApp,
) -> None:
    sink = Sink()
    made, _ = consumer(app)
    made._active_partitions = {A0, A1}
    active = made._get_active_partitions()
    held = {A0}
    made.hold_back([A0], [], held)
    assert active == {A1} and made._paused_partitions == {A0}  # the next fetch skips A0
    fetch = {A0: [record("a", 1)], A1: [record("a", 1, 1)]}  # fetched before the pause
    asyncio.run(made._hand_on(fetch, active, sinks_of(sink)))
    assert [b.tp for b in sink.batches] == [A0, A1]
    assert made.read_offset(A0) == 1
    held.discard(A0)
    made.hold_back([], [A0], held)
    assert active == {A0, A1} and made._paused_partitions == set()
    held.add(A1)
    made.hold_back([A1], [], held)
    held.discard(A1)  # revoked: the caller forgets it, and so does the consumer
    asyncio.run(made._hand_on({A1: [record("a", 2, 1)]}, set(), sinks_of(sink)))
    assert [b.tp for b in sink.batches] == [A0, A1]


def test_drain_messages_loops_until_the_fetcher_stops(app: GrowthApp) -> None:
    sink = Sink()
    app.deliver_in_batches("a", sink)  # type: ignore[arg-type]
    made, _ = consumer(app)
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    fetches = [{A0: [record("a", 1)]}, {A0: [record("a", 2)]}]

    async def next_records(timeout: float) -> tuple[Any, Any]:
        if not fetches:
            fetcher._stopped.set()
            return None, None
        return fetches.pop(0), None

    made._wait_next_records = next_records  # type: ignore[method-assign]
    asyncio.run(made._drain_messages(fetcher))  # type: ignore[arg-type]
    assert [b.records[0].offset for b in sink.batches] == [1, 2]


def test_memory_store_has_no_partition_database(app: GrowthApp) -> None:
    table = app.Table("t", partitions=2, key_type=bytes, value_type=bytes)
    assert partition_db(table.data, 0) is None


def test_rocksdb_store_has_a_database_per_partition(app: GrowthApp, tmp_path: Any) -> None:
    pytest.importorskip("rocksdict")
    rocks = GrowthApp("compat-rocks", broker="kafka://127.0.0.1:1", store="rocksdb://",
                      datadir=str(tmp_path), autodiscover=False)  # fmt: skip
    store: Any = rocks.Table("t", partitions=2, key_type=bytes, value_type=bytes).data
    db = partition_db(store, 1)
    assert db is not None and db is partition_db(store, 1)
    assert partition_db(store, 0) is not db


def test_middleware_reaches_the_aiohttp_application(app: GrowthApp) -> None:
    async def middleware(request: Any, handler: Any) -> Any:
        return await handler(request)

    add_middleware(app, middleware)
    assert app.web.web_app.middlewares[-1] is middleware  # type: ignore[attr-defined]


def test_polled_at_is_unknown_before_the_consumer_fetched(app: GrowthApp) -> None:
    made, _ = consumer(app)
    assert made.polled_at(A0) is None


def test_mark_persisted_sets_the_stores_changelog_offset(tmp_path: Any) -> None:
    """Only `mark_persisted` moves the offset from which a restart reads the changelog back."""
    pytest.importorskip("rocksdict")
    rocks = GrowthApp("compat-changelog", broker="kafka://127.0.0.1:1", store="rocksdb://",
                      datadir=str(tmp_path), autodiscover=False)  # fmt: skip
    table: Any = rocks.Table("t", partitions=2, key_type=bytes, value_type=bytes)
    changelog = TP(table.changelog_topic.get_topic_name(), 1)
    assert table.data.persisted_offset(changelog) is None
    mark_persisted(table, 1, 41)
    assert table.data.persisted_offset(changelog) == 41
    assert table.data.persisted_offset(TP(changelog.topic, 0)) is None


def test_kafka_producer_is_there_only_once_the_app_producer_started(app: GrowthApp) -> None:
    """Checkpoints are sent while the worker runs; before its producer started there is none
    to send through (tests/integration/test_kafka_producer.py sends through a started one)."""
    with pytest.raises(NotReady):
        kafka_producer(app)
