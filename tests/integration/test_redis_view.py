"""The Redis read model against a real redis-server, including an outage and its end.

What must hold: readers find exact figures (decimal text, never a float), the
changes stream stays capped, and an outage costs nothing but a single warning:
no exception, no password in the logs, and a full rewrite once Redis is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal

import pytest
import redis
from pydantic import SecretStr

from agents.serving.redis_client import safe_url
from agents.serving.redis_view import RedisView
from models.outputs import AccountView, ChurnAlert, MetricChange
from models.settings import Settings
from tests.support.redis_server import PASSWORD, RedisServer, free_port
from tests.support.services import unique_settings

pytestmark = pytest.mark.integration

OUTAGE = "keeping state, will write it again when it is back"


def reader(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)


def test_metrics_hash_holds_exact_text(fresh_redis: Settings) -> None:
    snapshot: dict[str, object] = {
        "as_of": "2026-03-01T12:00:00Z",
        "mrr": Decimal("12345678901234567890.10"),
        "arpa": Decimal("0.1") + Decimal("0.2"),
        "arr": Decimal("1E+2"),
        "paying_customers": 17,
        "clv": None,
        "stickiness": Decimal("0.2745"),
    }

    async def write() -> tuple[bool, bool, bool]:
        async with RedisView(fresh_redis) as view:
            first = await view.write_metrics(snapshot)
            again = await view.write_metrics(
                {"mrr": Decimal("49.10")}, as_of="2026-03-02T00:00:00Z"
            )
            empty = await view.write_metrics({})
            return first, again, empty

    assert asyncio.run(write()) == (True, True, True)
    stored = reader(fresh_redis).hgetall(f"{fresh_redis.redis_prefix}metrics")
    assert stored == {
        "as_of": "2026-03-02T00:00:00Z",
        "mrr": "49.10",
        "arpa": "0.3",
        "arr": "100",
        "paying_customers": "17",
        "clv": "",
        "stickiness": "0.2745",
    }


def test_account_hashes(fresh_redis: Settings) -> None:
    accounts = {
        f"acct-{i}": AccountView(
            mrr=Decimal(f"{i + 1}9.90"),
            currency="USD",
            status="paying" if i % 2 else "churned",
            plan=None if i == 0 else "team",
            last_active="2026-03-01",
            last_score=i if i < 3 else None,
            churn_risk=["payment_failed", "usage_drop"],
            paying_since=None,
        )
        for i in range(5)
    }

    async def write() -> bool:
        async with RedisView(fresh_redis) as view:
            return await view.write_accounts(accounts)

    assert asyncio.run(write())
    client = reader(fresh_redis)
    stored = client.hgetall(f"{fresh_redis.redis_prefix}account:acct-0")
    assert stored == {
        "mrr": "19.90",
        "currency": "USD",
        "status": "churned",
        "plan": "",
        "last_active": "2026-03-01",
        "last_score": "0",
        "churn_risk": '["payment_failed","usage_drop"]',
        "paying_since": "",
        "subscriptions": "[]",
    }
    assert set(stored) == set(AccountView.model_fields)
    assert client.hget(f"{fresh_redis.redis_prefix}account:acct-4", "mrr") == "59.90"
    assert client.hget(f"{fresh_redis.redis_prefix}account:acct-4", "last_score") == ""


def test_changes_stream_is_capped(fresh_redis: Settings) -> None:
    settings = fresh_redis.model_copy(update={"redis_changes_maxlen": 100})

    def change(n: int) -> MetricChange:
        return MetricChange(
            metric="mrr",
            value=Decimal(n) / 100,
            previous=None,
            delta=None,
            window="30d",
            as_of="2026-03-01T00:00:00Z",
            cause_event_id=f"e-{n}",
            emitted_at="2026-03-01T00:00:01Z",
            currency="USD",
        )

    async def write() -> list[bool]:
        async with RedisView(settings) as view:
            return [
                await view.append_changes([change(n) for n in range(start, start + 50)])
                for start in range(0, 500, 50)
            ]

    assert all(asyncio.run(write()))
    client = reader(settings)
    key = f"{settings.redis_prefix}changes"
    assert 100 <= client.xlen(key) <= 200  # MAXLEN ~ trims whole nodes only
    entries = client.xrevrange(key, count=1)
    assert isinstance(entries, list) and len(entries) == 1
    assert entries[0][1] == {
        "metric": "mrr",
        "value": "4.99",
        "previous": "",
        "delta": "",
        "window": "30d",
        "as_of": "2026-03-01T00:00:00Z",
        "cause_event_id": "e-499",
        "currency": "USD",
        "emitted_at": "2026-03-01T00:00:01Z",
    }


def _alert(n: int) -> ChurnAlert:
    return ChurnAlert(
        alert_id=f"alert-{n}",
        rule="usage_drop",
        severity="warning",
        account_id=f"acct-{n % 7}",
        as_of="2026-03-01T00:00:00Z",
        message=f"alert {n}",
        facts={"n": n},
    )


def _stream_ids(client: redis.Redis, key: str) -> list[str]:
    entries = client.xrange(key)
    assert isinstance(entries, list)
    ids = []
    for _, fields in entries:
        assert fields is not None
        ids.append(str(json.loads(fields["alert"])["alert_id"]))
    return ids


def test_alerts_are_written_once_each(fresh_redis: Settings) -> None:
    """At-least-once alerts (a restart raises them again; a rewrite overlaps the queue)
    reach readers once each, in the order first written."""
    settings = fresh_redis.model_copy(update={"redis_changes_maxlen": 100})

    async def write() -> list[bool]:
        async with RedisView(settings) as view:
            return [
                await view.append_alerts([_alert(n) for n in (1, 2, 3)]),
                await view.append_alerts([_alert(n) for n in (2, 4, 4, 1, 5)]),
                await view.append_alerts([]),
            ]

    assert asyncio.run(write()) == [True, True, True]
    key = f"{settings.redis_prefix}alerts"
    assert _stream_ids(reader(settings), key) == ["alert-1", "alert-2", "alert-3", "alert-4",
                                                  "alert-5"]  # fmt: skip


def test_replacing_alerts_keeps_each_once_and_the_cap(fresh_redis: Settings) -> None:
    settings = fresh_redis.model_copy(update={"redis_changes_maxlen": 100})

    async def write() -> list[bool]:
        async with RedisView(settings) as view:
            first = await view.append_alerts([_alert(n) for n in range(50)])
            now = await view.server_time_ms()
            assert now is not None
            replaced = await view.replace_alerts(
                [_alert(n) for n in (7, 8, 7, 9)], kept_since_ms=now + 1
            )
            again = await view.append_alerts([_alert(n) for n in (9, 10)])
            many = [await view.append_alerts([_alert(n) for n in range(s, s + 50)])
                    for s in range(100, 1100, 50)]  # fmt: skip
            return [first, replaced, again, *many]

    assert all(asyncio.run(write()))
    client = reader(settings)
    key = f"{settings.redis_prefix}alerts"
    ids = _stream_ids(client, key)
    assert 100 <= len(ids) <= 200 and ids[-1] == "alert-1099" and len(set(ids)) == len(ids)
    assert client.zcard(f"{key}:ids") == 200  # the ids kept: twice the stream's cap

    async def replace_then_repeat() -> bool:
        async with RedisView(settings) as view:
            now = await view.server_time_ms()
            assert now is not None
            await view.replace_alerts([_alert(n) for n in (7, 8, 7, 9)], kept_since_ms=now + 1)
            return await view.append_alerts([_alert(n) for n in (9, 10)])

    assert asyncio.run(replace_then_repeat())
    assert _stream_ids(client, key) == ["alert-7", "alert-8", "alert-9", "alert-10"]


def test_replacing_alerts_keeps_what_others_appended_meanwhile(fresh_redis: Settings) -> None:
    """The aggregator rebuilds the stream from Kafka while other workers go on appending:
    what they appended since the read began survives the rebuild, after the history;
    what was appended before it and is not in the history (older than it) does not."""
    settings = fresh_redis.model_copy(update={"redis_changes_maxlen": 100})

    async def write() -> bool:
        async with RedisView(settings) as view:
            await view.append_alerts([_alert(n) for n in range(10)])
            await asyncio.sleep(0.01)
            read_from = await view.server_time_ms()
            assert read_from is not None
            await asyncio.sleep(0.01)
            await view.append_alerts([_alert(n) for n in (10, 11, 12)])
            history = [_alert(n) for n in (5, 6, 7, 8, 9, 10)]
            return await view.replace_alerts(history, kept_since_ms=read_from)

    assert asyncio.run(write())
    client = reader(settings)
    key = f"{settings.redis_prefix}alerts"
    assert _stream_ids(client, key) == [f"alert-{n}" for n in range(5, 13)]
    assert client.zcard(f"{key}:ids") == 8


def test_safe_url_drops_credentials() -> None:
    assert safe_url(f"redis://:{PASSWORD}@127.0.0.1:16379/0") == "redis://127.0.0.1:16379/0"
    assert safe_url(f"rediss://user:{PASSWORD}@cache.example:6380/3") == (
        "rediss://cache.example:6380/3"
    )
    assert safe_url("redis://localhost") == "redis://localhost:6379/0"


def outage_records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "growthstream.redis" and text in r.getMessage()]


def assert_no_password(caplog: pytest.LogCaptureFixture) -> None:
    assert PASSWORD not in caplog.text
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()


ACCOUNT = AccountView(
    mrr=Decimal("1.00"), currency="USD", status="paying", plan=None, last_active=None,
    last_score=None, churn_risk=[], paying_since="2026-03-01",
)  # fmt: skip
CHANGE = MetricChange(
    metric="mrr", value=Decimal("1.00"), previous=None, delta=None, window=None,
    as_of="2026-03-01T00:00:00Z", cause_event_id=None, emitted_at="2026-03-01T00:00:01Z",
)  # fmt: skip


async def write_all(view: RedisView) -> list[bool]:
    return [
        await view.write_metrics({"mrr": Decimal("1.00")}),
        await view.write_accounts({"a": ACCOUNT}),
        await view.append_changes([CHANGE]),
    ]


def test_nothing_listening_is_an_outage_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    settings = unique_settings(
        "down", redis_url=SecretStr(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    )

    async def run() -> tuple[list[bool], bool, float]:
        view = RedisView(settings)
        before = view.epoch
        started = time.monotonic()
        results = [ok for _ in range(3) for ok in await write_all(view)]
        elapsed = time.monotonic() - started
        await view.close()
        return results, view.epoch != before, elapsed

    results, new_epoch, elapsed = asyncio.run(run())

    assert results == [False] * 9
    assert new_epoch  # whatever was written may be lost: every writer writes it all again
    assert elapsed < 10, "an outage must not stall the worker"
    (warning,) = outage_records(caplog, "Redis unavailable")
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith(
        f"Redis unavailable at redis://127.0.0.1:{port}/0; {OUTAGE}"
    )
    assert_no_password(caplog)


def test_outage_then_back(own_redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = unique_settings("outage", redis_url=SecretStr(own_redis.url))

    async def run() -> None:
        view = RedisView(settings)
        assert await write_all(view) == [True, True, True]
        await view.check_restart()
        written_in = view.epoch  # as the worker's writers remember after writing everything

        own_redis.stop()
        for _ in range(3):
            assert await write_all(view) == [False, False, False]
        assert view.epoch == written_in + 1  # one outage, one new epoch
        assert len(outage_records(caplog, "Redis unavailable")) == 1

        own_redis.start()
        assert await view.write_metrics({"mrr": Decimal("2.50")})
        assert await write_all(view) == [True, True, True]
        assert len(outage_records(caplog, "Redis is back")) == 1
        assert view.epoch != written_in  # the writers write everything again
        await view.check_restart()  # the same server's restart (no persistence): empty
        assert view.epoch == written_in + 2

        own_redis.stop()
        assert not await view.write_metrics({"mrr": Decimal("3.00")})
        assert len(outage_records(caplog, "Redis unavailable")) == 2  # once per outage
        own_redis.start()
        assert await view.write_metrics({"mrr": Decimal("3.00")})
        await view.close()

    asyncio.run(run())

    (back, _again) = outage_records(caplog, "Redis is back")
    assert back.getMessage().startswith(f"Redis is back at redis://127.0.0.1:{own_redis.port}/0")
    assert_no_password(caplog)
    stored = redis.Redis.from_url(own_redis.url, decode_responses=True).hgetall(
        f"{settings.redis_prefix}metrics"
    )
    assert stored == {"mrr": "3.00"}
