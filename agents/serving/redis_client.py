"""The one way growthstream connects to Redis: short timeouts, few retries, no secret logged.

redis-py 8 retries 10 times by default, so a call during an outage would block for
seconds; the worker must keep consuming instead, and the HTTP API must answer 503
at once. Writer and reader use the same settings.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from models.settings import Settings

OUTAGE_ERRORS: Final = (RedisConnectionError, RedisTimeoutError, OSError)
"""What counts as "Redis is not there": anything else is a bug and is raised."""
CONNECT_TIMEOUT_S: Final = 2.0
SOCKET_TIMEOUT_S: Final = 5.0
RETRIES: Final = 2


def redis_client(settings: Settings, *, decode: bool = False) -> aioredis.Redis:
    """A client of `GROWTH_REDIS_URL`; `decode` gives text instead of bytes."""
    options: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), RETRIES),
        "health_check_interval": 30,
        "decode_responses": decode,
    }
    return aioredis.Redis.from_url(settings.redis_url.get_secret_value(), **options)


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
