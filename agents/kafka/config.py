"""How to reach the Kafka cluster, from the settings: one reading, two client forms.

The worker talks to Kafka through Faust (aiokafka) and the commands through
kafka-python; both get their connection from `Connection`, so a SASL or TLS
setting means the same to both. kafka-python 3.x renamed some options
(`bootstrap_timeout_ms` replaced `api_version_auto_timeout_ms`); options a client
class does not know are dropped (`known_options`), so an option renamed again
degrades to its default instead of failing with `Unrecognized configs`.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import faust

from models.settings import Settings

BOOTSTRAP_TIMEOUT_MS: Final = 5_000
"""How long a client waits for a first broker answer: an unreachable cluster fails fast."""
REQUEST_TIMEOUT_MS: Final = 10_000


@dataclass(frozen=True, slots=True)
class Connection:
    servers: tuple[str, ...]
    security_protocol: str
    sasl_mechanism: str | None
    username: str | None
    password: str | None
    ssl_cafile: str | None
    ssl_certfile: str | None
    ssl_keyfile: str | None

    @classmethod
    def of(cls, settings: Settings) -> Connection:
        secret = settings.kafka_sasl_password
        return cls(
            servers=tuple(
                s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()
            ),
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=None if secret is None else secret.get_secret_value(),
            ssl_cafile=settings.kafka_ssl_cafile,
            ssl_certfile=settings.kafka_ssl_certfile,
            ssl_keyfile=settings.kafka_ssl_keyfile,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.security_protocol not in ("SSL", "SASL_SSL"):
            return None
        context = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.ssl_certfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context


def client_config(settings: Settings) -> dict[str, Any]:
    """kafka-python connection kwargs; only what is configured is set."""
    conn = Connection.of(settings)
    config: dict[str, Any] = {
        "bootstrap_servers": list(conn.servers),
        "security_protocol": conn.security_protocol,
    }
    optional: dict[str, Any] = {
        "sasl_mechanism": conn.sasl_mechanism,
        "sasl_plain_username": conn.username,
        "sasl_plain_password": conn.password,
        "ssl_cafile": conn.ssl_cafile,
        "ssl_certfile": conn.ssl_certfile,
        "ssl_keyfile": conn.ssl_keyfile,
    }
    config.update({name: value for name, value in optional.items() if value is not None})
    return config


def known_options(client: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that this kafka-python version's `client` class accepts."""
    defaults: Mapping[str, Any] = getattr(client, "DEFAULT_CONFIG", {})
    return {name: value for name, value in options.items() if name in defaults}


def short_timeouts() -> dict[str, Any]:
    """Short bootstrap/request timeouts: a wrong address is reported in seconds, not minutes."""
    return {
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
    }


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """aiokafka client kwargs for the same connection (a plain consumer of our own topics)."""
    conn = Connection.of(settings)
    options: dict[str, Any] = {
        "bootstrap_servers": list(conn.servers),
        "security_protocol": conn.security_protocol,
    }
    if conn.security_protocol.startswith("SASL"):
        options |= {
            "sasl_mechanism": conn.sasl_mechanism or "PLAIN",
            "sasl_plain_username": conn.username,
            "sasl_plain_password": conn.password,
        }
    context = conn.ssl_context()
    if context is not None:
        options["ssl_context"] = context
    return options


def faust_brokers(settings: Settings) -> list[str]:
    return [f"kafka://{server}" for server in Connection.of(settings).servers]


def faust_credentials(settings: Settings) -> Any:
    """Faust's `broker_credentials` for the same connection (None for PLAINTEXT)."""
    conn = Connection.of(settings)
    if conn.security_protocol == "PLAINTEXT":
        return None
    context = conn.ssl_context()
    if conn.security_protocol == "SSL":
        return faust.SSLCredentials(context)
    mechanism = conn.sasl_mechanism or "PLAIN"
    if mechanism.startswith("SCRAM"):
        return faust.auth.SASLCredentials(
            username=conn.username or "",
            password=conn.password or "",
            mechanism=mechanism,
            ssl_context=context,
        )
    return faust.SASLCredentials(
        username=conn.username or "", password=conn.password or "", ssl_context=context
    )


def error_text(exc: BaseException) -> str:
    """`Class: message` on one line, the class named once: kafka-python 3.x already starts
    `str(exc)` with its class name, other exceptions do not."""
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    if text == name or text.startswith(f"{name}:"):
        return text
    return f"{name}: {text}" if text else name


class _RedactAdminConfig(logging.Filter):
    """KafkaAdminClient logs its whole configuration, SASL password included, at DEBUG."""

    _SECRETS: Final = ("sasl_plain_password", "ssl_password")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Mapping):
            config = dict(args[0])
            for name in self._SECRETS:
                if config.get(name) is not None:
                    config[name] = "***"
            record.args = (config,)
        return True


logging.getLogger("kafka.admin.client").addFilter(_RedactAdminConfig())
