"""Checkpoint records go to the changelog as record batches (`checkpointer.send_in_batches`
through `kafka_producer`): on a real broker, the batches land whole, in order, in the
partition they name, and `last_offset` (what `mark_persisted` is given) is the offset of the
last record."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from agents.worker.checkpointer import last_offset, send_in_batches
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

    async def send() -> tuple[list[tuple[int, int]], int]:
        app = GrowthApp(f"batches-{topic}", broker=f"kafka://{kafka_bootstrap}",
                        store="memory://", autodiscover=False,
                        producer_max_batch_size=1024)  # fmt: skip
        await app.producer.start()
        try:
            producer = kafka_producer(app)
            sent: list[tuple[asyncio.Future[Any], int]] = []
            await send_in_batches(producer, topic, 1, records, sent)
            await producer.flush()
            return [(int(f.result().offset), n) for f, n in sent], last_offset(sent)
        finally:
            await app.producer.stop()

    batches, last = asyncio.run(send())
    assert len(batches) > 1  # 60 records of ~100 bytes do not fit in one 1 KB batch
    assert sum(n for _, n in batches) == len(records)
    expected_base = 0
    for base, count in batches:
        assert base == expected_base
        expected_base = base + count
    assert last == len(records) - 1

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
