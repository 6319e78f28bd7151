"""Hand-worked tests of the oracle's partitions (METRICS.md "Partitions"):
Kafka's murmur2 partitioner, per-partition stream time, the merge order of a
partition's lines, and the end-of-file follow.

Every expected number is worked out by hand in the comments.
"""

from __future__ import annotations

import json
import random

import pytest

from tests.reference.oracle import OracleConfig, kafka_partition, oracle_snapshot
from tests.reference.oracle_murmur2 import murmur2
from tests.reference.test_oracle import (
    D,
    act,
    cancel,
    check,
    line,
    ms_of,
    pay,
    stamped,
    yearly,
)

P2 = OracleConfig(partitions=2)

# --------------------------------------------------------------------------
# Kafka's partitioner

# Kafka's own vectors: apache/kafka, clients/src/test/java/org/apache/kafka/common/
# utils/UtilsTest.java, testMurmur2 (read at commit 1eb7644349cb07139d6a3c1ad1986979647cac99)
KAFKA_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (bytes([ord("a"), ord("b"), ord("c")]), 479470107),
]


@pytest.mark.parametrize(("data", "expected"), KAFKA_VECTORS)
def test_murmur2_matches_kafka_utils_test(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


@pytest.mark.parametrize(
    ("key", "partitions", "expected"),
    [
        # toPositive(-973932308) = -973932308 + 2^31 = 1173551340
        (b"21", 2, 0),  # even
        (b"21", 3, 0),  # digit sum 30
        (b"21", 7, 3),  # 7 x 167650191 = 1173551337
        # toPositive(-790332482) = 2147483648 - 790332482 = 1357151166
        (b"foobar", 5, 1),  # ends in 6
        (b"foobar", 10, 6),
        # 479470107 is positive: toPositive leaves it
        (b"abc", 2, 1),  # odd
        (b"abc", 3, 0),  # digit sum 39
        (b"abc", 4, 3),  # 07 mod 4
        (b"abc", 1, 0),
    ],
)
def test_kafka_partition(key: bytes, partitions: int, expected: int) -> None:
    assert kafka_partition(key, partitions) == expected


def test_kafka_partition_agrees_with_kafka_python() -> None:
    default = pytest.importorskip("kafka.partitioner.default")
    rng = random.Random(7)
    keys = [b"", b"X", b"Y", b"A", b"Z", "ü-é-漢".encode()]
    keys += [rng.randbytes(rng.randrange(0, 40)) for _ in range(500)]
    for key in keys:
        theirs = default.murmur2(key)  # kafka-python returns the unsigned 32 bits
        assert murmur2(key) & 0xFFFFFFFF == theirs
        for partitions in (1, 2, 3, 7, 12, 50):
            assert kafka_partition(key, partitions) == (theirs & 0x7FFFFFFF) % partitions


@pytest.mark.parametrize("partitions", [0, -1])
def test_partitions_must_be_at_least_one(partitions: int) -> None:
    with pytest.raises(ValueError):
        kafka_partition(b"x", partitions)
    with pytest.raises(ValueError):
        oracle_snapshot([], OracleConfig(partitions=partitions))


def test_the_accounts_used_below_route_to_different_partitions() -> None:
    # (the values are Kafka's: kafka_partition is checked against it above)
    assert kafka_partition(b"X", 2) == 0
    assert kafka_partition(b"A", 2) == 0
    assert kafka_partition(b"clock", 2) == 0
    assert kafka_partition(b"Y", 2) == 1


# --------------------------------------------------------------------------
# per-partition stream time and the end-of-file follow


def test_a_payment_withdraws_in_its_partition_what_the_single_stream_had_fired() -> None:
    lines = [
        yearly("X", "2026-01-01T00:00:00Z"),  # 100 a month
        cancel("X", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        act("Y", "u", "2026-02-05T00:00:00Z"),
        yearly("X", "2026-01-20T00:00:00Z"),
    ]
    # P = 1: the Feb 5 activity moves W past Feb 1: X churns (dated Feb 1). The Jan 20
    # payment is not stale (changed_at Jan 10): reactivation dated Jan 20.
    # D = Feb 5, window [Jan 7, Feb 5], cohort: streak start <= Jan 6 (X's Jan 1).
    # S = 1 - 0 - 1 + 1 = 1; the churn is the cohort's: 100 %
    check(
        oracle_snapshot(lines),
        {
            "paying_customers": 1,
            "mrr": D("100.00"),
            "churned_customers": 1,
            "churned_mrr": D("100.00"),
            "reactivated_customers": 1,
            "reactivation_mrr": D("100.00"),
            "customers_at_start": 1,
            "customer_churn_rate": D("100.00"),
            "events": 4,
            "as_of": "2026-02-05T00:00:00Z",
        },
    )
    # P = 2: X's partition (0) has W = Jan 10 when the Jan 20 payment arrives: it
    # occurred after the request (Jan 10), so it withdraws the cancellation; same
    # price, no movement. The follow to G = Feb 5 has nothing left to fire.
    check(
        oracle_snapshot(lines, P2),
        {
            "paying_customers": 1,
            "mrr": D("100.00"),
            "churned_customers": 0,
            "reactivated_customers": 0,
            "customers_at_start": 1,
            "customer_churn_rate": D("0.00"),
            "events": 4,
            "as_of": "2026-02-05T00:00:00Z",
        },
    )


def test_timers_of_a_quiet_partition_fire_at_the_end_of_file_follow() -> None:
    lines = [
        yearly("X", "2026-01-01T00:00:00Z"),  # 100 a month
        pay("A", "2026-01-01T00:00:00Z", "10.00"),  # paid through Feb 1, lapses Feb 15
        cancel("X", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        act("Y", "u", "2026-02-20T00:00:00Z"),  # the only event of partition 1
    ]
    # P = 2: partition 0 ends at W = Jan 10 with both timers pending; the follow to
    # G = Feb 20 fires X's cancellation (Feb 1) and A's lapse (Feb 15), as the single
    # stream does at the Feb 20 event. D = Feb 20, window [Jan 22, Feb 20], cohort
    # streak <= Jan 21: both churns are the cohort's. S = 0 - 0 - 0 + 2 = 2;
    # mrr_at_start = 0 + 110; grr = (110 - 110) / 110 = 0
    expected = {
        "paying_customers": 0,
        "mrr": D("0.00"),
        "churned_customers": 2,
        "churned_mrr": D("110.00"),
        "customers_at_start": 2,
        "customer_churn_rate": D("100.00"),
        "mrr_at_start": D("110.00"),
        "grr": D("0.00"),
        "as_of": "2026-02-20T00:00:00Z",
        "day": "2026-02-20",
    }
    check(oracle_snapshot(lines, P2), expected)
    check(oracle_snapshot(lines), expected)


def test_late_in_the_single_stream_but_in_time_in_its_own_partition() -> None:
    lines = [
        act("X", "u", "2026-01-01T00:00:00Z"),
        act("Y", "u", "2026-03-10T00:00:00Z"),
        pay("X", "2026-01-15T00:00:00Z", "10.00"),  # through Feb 15, lapse Mar 1
    ]
    # P = 1: W = Mar 10, late bound Feb 8: the payment is late. D = Mar 10, mau: (Y, u)
    check(
        oracle_snapshot(lines),
        {
            "events": 2,
            "dead_letters": 1,
            "paying_customers": 0,
            "churned_customers": 0,
            "customers_at_start": 0,
            "mau": 1,
        },
    )
    # P = 2: X's partition has W = Jan 1: in time, new (Jan 15, outside the window
    # [Feb 9, Mar 10]). The follow to Mar 10 fires the lapse (Mar 1, streak Jan 15 <=
    # Feb 8: cohort). S = 0 - 0 - 0 + 1 = 1: churn rate 100 %
    check(
        oracle_snapshot(lines, P2),
        {
            "events": 3,
            "dead_letters": 0,
            "paying_customers": 0,
            "new_customers": 0,
            "churned_customers": 1,
            "churned_mrr": D("10.00"),
            "customers_at_start": 1,
            "customer_churn_rate": D("100.00"),
            "mau": 1,
            "as_of": "2026-03-10T00:00:00Z",
        },
    )


def test_counters_are_sums_and_as_of_is_the_largest_stream_time() -> None:
    lines = [
        act("X", "u", "2026-03-01T00:00:00Z", eid="x"),
        act("X", "u", "2026-03-01T00:00:00Z", eid="x"),  # duplicate in partition 0
        act("Y", "u", "2026-03-05T00:00:00Z", eid="y"),
        act("Y", "u", "2026-01-01T00:00:00Z"),  # late in partition 1 (W = Mar 5)
        b"not json",  # no key: partition 0
    ]
    # as_of = max(Mar 1, Mar 5); D = Mar 5: dau (Y, u), wau (X, u) and (Y, u)
    check(
        oracle_snapshot(lines, P2),
        {
            "events": 2,
            "duplicates": 1,
            "dead_letters": 2,
            "dau": 1,
            "wau": 2,
            "as_of": "2026-03-05T00:00:00Z",
        },
    )


# --------------------------------------------------------------------------
# the merge order inside a partition


def test_a_partition_orders_its_lines_by_record_timestamp() -> None:
    lines = [
        stamped(pay("X", "2026-03-02T00:00:00Z", "100.00"), ms_of("2026-03-02T00:00:00Z")),
        stamped(pay("X", "2026-03-01T00:00:00Z", "200.00"), ms_of("2026-03-01T00:00:00Z")),
    ]
    # P = 1, file order: new 100 (Mar 2), then the Mar 1 payment is stale
    check(
        oracle_snapshot(lines),
        {"mrr": D("100.00"), "new_mrr": D("100.00"), "contraction_mrr": D("0.00")},
    )
    # P = 2, merged by timestamp: new 200 (Mar 1), then 100 (Mar 2): contraction 100
    check(
        oracle_snapshot(lines, P2),
        {"mrr": D("100.00"), "new_mrr": D("200.00"), "contraction_mrr": D("100.00")},
    )


def test_equal_timestamps_are_ordered_by_topic() -> None:
    at = "2026-03-01T12:00:00Z"
    lines = [
        stamped(cancel("X", at), ms_of(at)),
        stamped(pay("X", at, "100.00"), ms_of(at)),
    ]
    # P = 1, file order: the cancellation finds a prospect (no movement, changed_at
    # 12:00); the payment at the same instant is not stale: new
    check(oracle_snapshot(lines), {"paying_customers": 1, "churned_customers": 0})
    # P = 2: payments (rank 1) before cancellations (rank 2): new, then churn
    check(
        oracle_snapshot(lines, P2),
        {"paying_customers": 0, "new_customers": 1, "churned_customers": 1},
    )


def test_a_line_without_timestamp_follows_the_previous_line_of_the_file() -> None:
    at = "2026-03-01T12:00:00Z"
    t = ms_of(at)
    lines = [
        stamped(act("Y", "u", at), t),  # partition 1, effective t
        cancel("X", at),  # partition 0, no timestamp: effective t + 1 (previous line)
        stamped(pay("X", at, "100.00"), t + 1),  # partition 0, t + 1, payments rank first
    ]
    # P = 2: the payment (t + 1, rank 1) goes before the cancellation (t + 1, rank 2):
    # new, then churn. (Counting from partition 0's own previous line instead, the
    # cancellation would come first and X would stay paying.)
    check(
        oracle_snapshot(lines, P2),
        {"paying_customers": 0, "new_customers": 1, "churned_customers": 1},
    )
    check(oracle_snapshot(lines), {"paying_customers": 1, "churned_customers": 0})


# --------------------------------------------------------------------------
# the message key


def _raw_line(topic: str, value: object, **wrapper: object) -> bytes:
    return json.dumps({"topic": topic, "value": value, **wrapper}).encode()


def _payment(account: str, amount: str, eid: str) -> dict[str, object]:
    return {
        "event_id": eid,
        "occurred_at": "2026-03-01T00:00:00Z",
        "account_id": account,
        "amount": amount,
        "currency": "USD",
    }


def test_the_line_key_routes_even_when_it_is_not_the_account() -> None:
    lines = [
        line("payments", _payment("X", "100.00", "e1")),  # partition 0
        line("payments", _payment("X", "50.00", "e1"), key="Y"),  # partition 1
    ]
    # P = 1: the second is a duplicate (same id, same account): mrr 100
    check(oracle_snapshot(lines), {"events": 1, "duplicates": 1, "mrr": D("100.00")})
    # P = 2: each partition holds its own X; both apply, figures are sums
    check(
        oracle_snapshot(lines, P2),
        {
            "events": 2,
            "duplicates": 0,
            "paying_customers": 2,
            "mrr": D("150.00"),
            "new_customers": 2,
        },
    )


@pytest.mark.parametrize(
    "first",
    [
        _raw_line("payments", _payment("Y", "100.00", "a"), key=5),  # not a string key
        _raw_line("payments", _payment("Y", "100.00", "a"), key=None),
        _raw_line("payments", json.dumps(_payment("Y", "100.00", "a"))),  # raw string value
    ],
)
def test_without_a_string_key_the_account_id_routes(first: bytes) -> None:
    # both of Y's payments go to Y's partition (1): one account, the second at the
    # same instant is not stale: contraction to 50. (Had the first gone to partition
    # 0, there would be two paying accounts.)
    lines = [first, line("payments", _payment("Y", "50.00", "b"))]
    check(
        oracle_snapshot(lines, P2),
        {"paying_customers": 1, "mrr": D("50.00"), "contraction_mrr": D("50.00")},
    )
