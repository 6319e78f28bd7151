"""Checkpoint records go to the changelog as record batches through `kafka_producer`: on a
real broker, a batch lands whole, in order, in the partition it names, and the offset of its
last record is its base offset plus its count less one (what `mark_persisted` is given)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from agents.worker.faust_compat import GrowthApp, kafka_producer

pytestmark = pytest.mark.integration


def test_batches_land_whole_and_in_order_in_their_partition(kafka_bootstrap: str) -> None:
    topic = f"checkpoint-batches-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    records = [(f"k{i}".encode(), f"v{i}".encode() * 40) for i in range(60)]

    async def send() -> list[tuple[int, int]]:
        app = GrowthApp(f"batches-{topic}", broker=f"kafka://{kafka_bootstrap}",
                        store="memory://", autodiscover=False,
                        producer_max_batch_size=1024)  # fmt: skip
        await app.producer.start()
        try:
            producer = kafka_producer(app)
            sent: list[tuple[asyncio.Future[object], int]] = []
            batch, count = producer.create_batch(), 0
            for key, value in records:
                if batch.append(timestamp=None, key=key, value=value) is None:
                    sent.append((await producer.send_batch(batch, topic, partition=1), count))
                    batch, count = producer.create_batch(), 0
                    assert batch.append(timestamp=None, key=key, value=value) is not None
                count += 1
            sent.append((await producer.send_batch(batch, topic, partition=1), count))
            await producer.flush()
            return [(int(f.result().offset), n) for f, n in sent]  # type: ignore[attr-defined]
        finally:
            await app.producer.stop()

    batches = asyncio.run(send())
    assert len(batches) > 1  # 60 records of ~100 bytes do not fit in one 1 KB batch
    assert sum(n for _, n in batches) == len(records)
    expected_base = 0
    for base, count in batches:
        assert base == expected_base
        expected_base = base + count
    last_offset = batches[-1][0] + batches[-1][1] - 1
    assert last_offset == len(records) - 1

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        consumer.seek_to_beginning()
        got: list[tuple[int, int, bytes, bytes]] = []
        deadline = 30
        while len(got) < len(records) and deadline > 0:
            for tp_records in consumer.poll(timeout_ms=1000).values():
                got += [(r.partition, r.offset, r.key, r.value) for r in tp_records]
            deadline -= 1
    finally:
        consumer.close()
    assert {partition for partition, *_ in got} == {1}
    assert [(key, value) for *_, key, value in sorted(got)] == records
