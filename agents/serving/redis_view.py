"""The Redis read model (EVENTS.md "Redis"): what dashboards and services query.

Why it exists: Kafka is the source of truth and the engine's state lives in
the worker; Redis only mirrors it for readers without Kafka. So a Redis
outage must never stop the stream or lose a figure: every write here reports
failure instead of raising and logs once per outage. Each outage, and each restart
of the Redis server (a new `run_id`, so possibly empty), starts a new `epoch`: a
writer that has not written everything in the current epoch writes the whole
current state again (the mirror is rebuilt, not replayed). Values are written in
the text form of `models.redis_text`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import cast

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from agents.serving.redis_client import OUTAGE_ERRORS, redis_client, safe_url
from models.jsonout import dumps
from models.outputs import AccountView, ChurnAlert, MetricChange, MetricRevision
from models.redis_text import fields_text
from models.settings import Settings

log = logging.getLogger("growthstream.redis")

_ADD_NEW_ALERTS = """
local function add_new(list, first)
  local added = 0
  for i = first, #list, 2 do
    if not redis.call('ZSCORE', KEYS[2], list[i]) then
      local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'alert', list[i + 1])
      redis.call('ZADD', KEYS[2], tonumber(string.match(id, '^%d+')), list[i])
      added = added + 1
    end
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -2 * tonumber(ARGV[1]) - 1)
  return added
end
"""

APPEND_NEW_ALERTS = _ADD_NEW_ALERTS + "return add_new(ARGV, 2)"
"""XADD the alerts (alert_id, json pairs) whose id the stream does not hold yet.

Alerts are at-least-once (a worker restarted from its last commit raises the same
alerts again, with the same ids; the rewrite after a Redis restart overlaps with
what is queued), but the stream readers see each alert once: the ids written are
kept in a sorted set next to the stream, trimmed to twice the stream's cap.
"""

REPLACE_ALERTS = (
    _ADD_NEW_ALERTS
    + """
local list, known = {}, {}
for i = 3, #ARGV, 2 do
  list[#list + 1], list[#list + 2] = ARGV[i], ARGV[i + 1]
  known[ARGV[i]] = true
end
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], ARGV[2], '+')) do
  local fields = entry[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'alert' then
      local ok, alert = pcall(cjson.decode, fields[j + 1])
      local id = ok and type(alert) == 'table' and alert['alert_id']
      if type(id) == 'string' and not known[id] then
        list[#list + 1], list[#list + 2] = id, fields[j + 1]
        known[id] = true
      end
    end
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
return add_new(list, 1)
"""
)
"""Make the stream the given alerts (ARGV[3:], oldest first), then those the stream got
since ARGV[2] (ms of Redis' clock) that they lack, in one atomic step.

The given alerts are read back from Kafka, which takes a while; meanwhile other
workers go on appending the alerts they raised (each after Kafka confirmed it).
An alert appended before the read began is in Kafka, so the read has it unless it is
older than the kept window; one appended since may be missing from the read, and is
kept after it, instead of being deleted with the old stream.
"""


def _hash(fields: dict[str, str]) -> dict[FieldT, EncodableT]:
    """The same dict, typed as redis-py wants it (its Mapping key type is invariant)."""
    return cast(dict[FieldT, EncodableT], fields)


class RedisView:
    """Writes the read model; every method returns True when written, False during an outage.

    `epoch` changes whenever Redis may have lost what was written: after a failed
    write and when `check_restart` sees a new server. The worker's writers keep the
    epoch of their last full write and write everything again when it differs.
    """

    def __init__(self, settings: Settings, *, client: aioredis.Redis | None = None) -> None:
        url = settings.redis_url.get_secret_value()
        self.where = safe_url(url)
        self.prefix = settings.redis_prefix
        self.metrics_key = f"{self.prefix}metrics"
        self.changes_key = f"{self.prefix}changes"
        self.alerts_key = f"{self.prefix}alerts"
        self.alert_ids_key = f"{self.prefix}alerts:ids"
        self.changes_maxlen = settings.redis_changes_maxlen
        self.epoch = 0
        self._run_id: str | None = None
        self._down = False
        self._client = client if client is not None else redis_client(settings)
        self._append_new_alerts = self._client.register_script(APPEND_NEW_ALERTS)
        self._replace_alerts = self._client.register_script(REPLACE_ALERTS)

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

    async def write_accounts(self, accounts: Mapping[str, AccountView]) -> bool:
        """HSET `growth:account:{id}` for each account, in one pipeline (one round trip)."""
        if not accounts:
            return True
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for account_id, view in accounts.items():
                    mapping = fields_text(view.model_dump())
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

    async def write_tables(self, tables: Mapping[str, bytes]) -> bool:
        """SET `growth:{name}` to each table's JSON (`months`, `cohorts`), in one pipeline."""
        if not tables:
            return True
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for name, text in tables.items():
                    pipe.set(f"{self.prefix}{name}", text)
                await pipe.execute()
        except OUTAGE_ERRORS as exc:
            return self._failed(exc)
        return self._succeeded()

    async def append_revisions(self, records: Sequence[MetricRevision]) -> bool:
        """XADD each restatement to the capped `growth:revisions` stream, in one pipeline."""
        entries = [_hash(fields_text(record.model_dump())) for record in records]
        return await self._append(f"{self.prefix}revisions", entries)

    async def append_changes(self, records: Sequence[MetricChange]) -> bool:
        """XADD each metric change to the capped `growth:changes` stream, in one pipeline."""
        entries = [_hash(fields_text(record.model_dump())) for record in records]
        return await self._append(self.changes_key, entries)

    async def append_alerts(self, records: Sequence[ChurnAlert]) -> bool:
        """XADD each churn alert not yet in the capped `growth:alerts` stream (field `alert`:
        its JSON); one the stream already holds (same `alert_id`) is not added again."""
        if not records:
            return True
        try:
            await self._append_new_alerts(
                keys=[self.alerts_key, self.alert_ids_key],
                args=[self.changes_maxlen, *_id_json_pairs(records)],
            )
        except OUTAGE_ERRORS as exc:
            return self._failed(exc)
        return self._succeeded()

    async def server_time_ms(self) -> int | None:
        """Redis' own clock, in ms (the time its stream ids are made of); None in an outage."""
        try:
            seconds, microseconds = await self._client.time()
        except OUTAGE_ERRORS as exc:
            self._failed(exc)
            return None
        self._succeeded()
        return int(seconds) * 1000 + int(microseconds) // 1000

    async def replace_alerts(self, records: Sequence[ChurnAlert], *, kept_since_ms: int) -> bool:
        """Make the alerts stream `records` (oldest first, each id once) followed by what
        it got from `kept_since_ms` on (Redis' clock) that `records` lacks, atomically."""
        try:
            await self._replace_alerts(
                keys=[self.alerts_key, self.alert_ids_key],
                args=[self.changes_maxlen, kept_since_ms, *_id_json_pairs(records)],
            )
        except OUTAGE_ERRORS as exc:
            return self._failed(exc)
        return self._succeeded()

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

    async def check_restart(self) -> None:
        """Start a new epoch when the Redis server is another one than last time (a restart:
        it may have come back empty)."""
        try:
            info = await self._client.info("server")
        except OUTAGE_ERRORS as exc:
            self._failed(exc)
            return
        self._succeeded()
        run_id = str(info.get("run_id", ""))
        if self._run_id is not None and run_id != self._run_id:
            log.warning("Redis at %s restarted; the state will be written again", self.where)
            self.epoch += 1
        self._run_id = run_id

    def _failed(self, exc: BaseException) -> bool:
        if not self._down:
            self.epoch += 1
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


def _id_json_pairs(records: Sequence[ChurnAlert]) -> list[str]:
    return [text for r in records for text in (r.alert_id, dumps(r.model_dump()))]


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
