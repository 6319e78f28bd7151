"""The Redis read model (EVENTS.md "Redis"): what dashboards and services query.

Why it exists: Kafka is the source of truth and the engine's state lives in
the worker; Redis only mirrors it for readers without Kafka. So a Redis
outage must never stop the stream or lose a figure: every write here reports
failure instead of raising, logs once per outage, and raises
`needs_full_write` so that the worker writes the whole current state again
when Redis answers (the mirror is rebuilt, not replayed).

Values are written as text: a `Decimal` as its exact digits (`49.10`, never a
float), `None` as the empty string `""` (a hash cannot hold a null; readers
treat `""` as "no value"), booleans as `true`/`false`, dates as ISO 8601, and
nested mappings or lists as JSON.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import Any, Final, cast
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, FieldT

from models.jsonout import dumps
from models.settings import Settings

log = logging.getLogger("growthstream.redis")

OUTAGE_ERRORS: Final = (RedisConnectionError, RedisTimeoutError, OSError)
"""What counts as "Redis is not there": anything else is a bug and is raised."""
ACCOUNT_FIELDS: Final = (
    "mrr", "status", "plan", "last_active", "last_score", "churn_risk", "paying_since",
)  # fmt: skip
"""The fields of `growth:account:{id}` that the worker writes."""

_CONNECT_TIMEOUT_S: Final = 2.0
_SOCKET_TIMEOUT_S: Final = 5.0
_RETRIES: Final = 2
"""redis-py 8 retries 10 times by default: a call during an outage would block for seconds."""


def field_text(value: object) -> str:
    """The text a hash field or stream entry holds for `value` (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Enum):
        return field_text(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return dumps(value)


def fields_text(record: Mapping[str, object]) -> dict[str, str]:
    """Every field of `record` as text."""
    return {str(name): field_text(value) for name, value in record.items()}


def _hash(fields: dict[str, str]) -> dict[FieldT, EncodableT]:
    """The same dict, typed as redis-py wants it (its Mapping key type is invariant)."""
    return cast(dict[FieldT, EncodableT], fields)


def safe_url(url: str) -> str:
    """`redis://host:port/db` of a Redis URL, without user or password: what may be logged."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return f"unix://{parts.path}"
        host = parts.hostname or "localhost"
        port = parts.port or 6379
    except ValueError:
        return "redis://<unparsable url>"
    if ":" in host:
        host = f"[{host}]"
    db = parts.path.lstrip("/") or parse_qs(parts.query).get("db", ["0"])[0]
    return f"{parts.scheme or 'redis'}://{host}:{port}/{db}"


class RedisView:
    """Writes the read model; every method returns True when written, False during an outage.

    `needs_full_write` is True when Redis may lack part of the state: from the
    start (a fresh view has written nothing, and Redis may hold a previous
    run's values) and after any failed write. The worker, seeing it, writes
    every metric and account again and then sets it back to False.
    """

    def __init__(self, settings: Settings, *, client: aioredis.Redis | None = None) -> None:
        url = settings.redis_url.get_secret_value()
        self.where = safe_url(url)
        self.prefix = settings.redis_prefix
        self.metrics_key = f"{self.prefix}metrics"
        self.changes_key = f"{self.prefix}changes"
        self.alerts_key = f"{self.prefix}alerts"
        self.changes_maxlen = settings.redis_changes_maxlen
        self.needs_full_write = True
        self._down = False
        self._client = client if client is not None else _client(url)

    def account_key(self, account_id: str) -> str:
        return f"{self.prefix}account:{account_id}"

    async def write_metrics(
        self, snapshot: Mapping[str, object], *, as_of: str | None = None
    ) -> bool:
        """HSET every figure of `snapshot` (and `as_of`, when given, over the snapshot's own)."""
        mapping = fields_text(snapshot)
        if as_of is not None:
            mapping["as_of"] = as_of
        if not mapping:
            return True
        try:
            await self._client.hset(self.metrics_key, mapping=_hash(mapping))
        except OUTAGE_ERRORS as exc:
            return self._failed(exc)
        return self._succeeded()

    async def write_accounts(self, accounts: Mapping[str, Mapping[str, object]]) -> bool:
        """HSET `growth:account:{id}` for each account, in one pipeline (one round trip)."""
        if not accounts:
            return True
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for account_id, fields in accounts.items():
                    mapping = fields_text(fields)
                    if mapping:
                        pipe.hset(self.account_key(account_id), mapping=_hash(mapping))
                await pipe.execute()
        except OUTAGE_ERRORS as exc:
            return self._failed(exc)
        return self._succeeded()

    async def write_series(self, series: Mapping[str, Mapping[str, str]]) -> bool:
        """HSET `growth:series:{name}` day -> value for each figure, in one pipeline."""
        if not series:
            return True
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for name, days in series.items():
                    pipe.hset(f"{self.prefix}series:{name}", mapping=_hash(dict(days)))
                await pipe.execute()
        except OUTAGE_ERRORS as exc:
            return self._failed(exc)
        return self._succeeded()

    async def append_changes(self, records: Sequence[Mapping[str, object]]) -> bool:
        """XADD each metric change to the capped `growth:changes` stream, in one pipeline."""
        entries = [_hash(fields) for fields in map(fields_text, records) if fields]
        return await self._append(self.changes_key, entries)

    async def append_alerts(self, records: Sequence[Mapping[str, object]]) -> bool:
        """XADD each churn alert to the capped `growth:alerts` stream (field `alert`: its JSON)."""
        return await self._append(self.alerts_key, [{"alert": dumps(r)} for r in records])

    async def _append(self, key: str, entries: Sequence[Mapping[FieldT, EncodableT]]) -> bool:
        """XADD entries to a capped stream in one pipeline.

        The cap is approximate (`MAXLEN ~`): Redis trims whole nodes, which is
        far cheaper, so the stream may briefly hold somewhat more entries.
        """
        if not entries:
            return True
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for entry in entries:
                    pipe.xadd(key, dict(entry), maxlen=self.changes_maxlen, approximate=True)
                await pipe.execute()
        except OUTAGE_ERRORS as exc:
            return self._failed(exc)
        return self._succeeded()

    async def close(self) -> None:
        with contextlib.suppress(*OUTAGE_ERRORS):
            await self._client.aclose()

    async def __aenter__(self) -> RedisView:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _failed(self, exc: BaseException) -> bool:
        self.needs_full_write = True
        if not self._down:
            self._down = True
            log.warning(
                "Redis unavailable at %s; keeping state, will write it again when it is back (%s)",
                self.where,
                _reason(exc),
            )
        return False

    def _succeeded(self) -> bool:
        if self._down:
            self._down = False
            # A warning too: whoever saw the outage warning must be able to see its end.
            log.warning("Redis is back at %s; the state will be written again", self.where)
        return True


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _client(url: str) -> aioredis.Redis:
    options: dict[str, Any] = {
        "socket_connect_timeout": _CONNECT_TIMEOUT_S,
        "socket_timeout": _SOCKET_TIMEOUT_S,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), _RETRIES),
        "health_check_interval": 30,
    }
    return aioredis.Redis.from_url(url, **options)
