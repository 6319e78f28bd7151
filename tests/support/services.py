"""Fixtures for the tests that need a real Kafka broker and a real Redis (a pytest plugin,
loaded by tests/conftest.py).

Where the services come from, in this order:
1. GROWTH_KAFKA_BOOTSTRAP_SERVERS / GROWTH_REDIS_URL, e.g. from
   `bash scripts/services up && eval "$(bash scripts/services env)"`;
2. testcontainers, when a Docker engine answers;
3. otherwise the tests are skipped, or fail when GROWTH_REQUIRE_SERVICES=1 (CI),
   so that a CI job without services cannot pass by skipping everything.

Every test gets its own topic names, Redis key prefix and app id
(`fresh_names`), so tests never see each other's messages, even on a shared
broker that keeps data between runs.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from pydantic import SecretStr

from models.settings import Settings
from tests.support.environment import run_variable, services_required
from tests.support.workers import Workers, worker_settings

NO_SERVICES = (
    "no Kafka/Redis: set GROWTH_KAFKA_BOOTSTRAP_SERVERS and GROWTH_REDIS_URL "
    "(bash scripts/services up), or run Docker"
)
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
"""Apache Kafka 3.9, like scripts/services. The installed testcontainers' KafkaContainer runs
Confluent's start scripts (and refuses KRaft below tag 7.0.0), so apache/kafka:3.9.1 cannot be
used with it."""
REDIS_IMAGE = "redis:7"

_SERVICE_TESTS = [
    Path(__file__).resolve().parents[1] / folder for folder in ("integration", "faults")
]
log = logging.getLogger("growthstream.tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration and tests/faults needs the services: it is an
    integration test (`-m "not integration"` leaves them out)."""
    for item in items:
        parents = Path(str(item.path)).parents
        if any(folder in parents for folder in _SERVICE_TESTS):
            item.add_marker(pytest.mark.integration)


def services_unavailable(reason: str = NO_SERVICES) -> NoReturn:
    """Skip, or fail in CI (GROWTH_REQUIRE_SERVICES=1) where a skip would hide the problem."""
    if services_required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@functools.cache
def docker_answers() -> bool:
    """True when a Docker engine answers a ping within a few seconds."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, no permission: no Docker
        return False


def _container_class(module: str, name: str) -> Any:
    """A testcontainers class, when Docker answers (newer releases keep them in `community`)."""
    if not docker_answers():
        services_unavailable()
    for package in (f"testcontainers.community.{module}", f"testcontainers.{module}"):
        with contextlib.suppress(ImportError):
            return getattr(importlib.import_module(package), name)
    services_unavailable(f"{NO_SERVICES} (pip install testcontainers)")


def _start(container: Any) -> Any:
    try:
        return container.start()
    except Exception as exc:  # an image that cannot be pulled, a daemon that refuses
        services_unavailable(f"{NO_SERVICES} (Docker could not start {container.image}: {exc})")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of a Kafka broker."""
    servers = run_variable("GROWTH_KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        yield servers
        return
    container = _start(_container_class("kafka", "KafkaContainer")(KAFKA_IMAGE).with_kraft())
    try:
        yield str(container.get_bootstrap_server())
    finally:
        container.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """redis:// URL of a Redis server."""
    url = run_variable("GROWTH_REDIS_URL")
    if url:
        yield url
        return
    container = _start(_container_class("redis", "RedisContainer")(REDIS_IMAGE))
    try:
        host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
        yield f"redis://{host}:{port}/0"
    finally:
        container.stop()


def unique_settings(suffix: str, **endpoints: Any) -> Settings:
    """Settings whose topics, Redis prefix and app id all end in `suffix`."""
    topics: dict[str, Any] = {
        name: f"{field.default}-{suffix}"
        for name, field in Settings.model_fields.items()
        if name.startswith("topic_") and isinstance(field.default, str)
    }
    return Settings(
        app_id=f"growthstream-test-{suffix}",
        redis_prefix=f"growth-test-{suffix}:",
        **topics,
        **endpoints,
    )


def _suffix() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def fresh_names(kafka_bootstrap: str, redis_url: str) -> Iterator[Settings]:
    """Settings for one test: unique names, the real endpoints; cleaned up afterwards."""
    settings = unique_settings(
        _suffix(), kafka_bootstrap_servers=kafka_bootstrap, redis_url=SecretStr(redis_url)
    )
    yield settings
    _delete_topics(settings)
    _delete_keys(settings)


@pytest.fixture
def fresh_redis(redis_url: str) -> Iterator[Settings]:
    """Like `fresh_names`, for tests that need Redis only (no broker)."""
    settings = unique_settings(_suffix(), redis_url=SecretStr(redis_url))
    yield settings
    _delete_keys(settings)


def _delete_topics(settings: Settings) -> None:
    """Best effort: a shared broker should not fill up with test topics."""
    from kafka import KafkaAdminClient

    from agents.kafka.config import client_config
    from agents.kafka.topics import wanted_topics

    with contextlib.suppress(Exception):
        admin = KafkaAdminClient(**client_config(settings))
        try:
            existing = set(admin.list_topics())
            names = [name for name in wanted_topics(settings) if name in existing]
            if names:
                admin.delete_topics(names, raise_errors=False)
        finally:
            admin.close()


def _delete_keys(settings: Settings) -> None:
    import redis

    with contextlib.suppress(Exception):
        client = redis.Redis.from_url(settings.redis_url.get_secret_value())
        try:
            keys = list(client.scan_iter(match=f"{settings.redis_prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture
def workers(fresh_names: Settings, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes for one test (stopped afterwards), on `worker_settings` names."""
    group = Workers(worker_settings(fresh_names), tmp_path)
    yield group
    group.stop_all()
