"""What a worker logs: its own lines at the worker's level, the libraries' only when they matter.

Faust, mode, aiokafka and kafka-python log every service start, subscription table and
connection at INFO: about 180 lines before the first event, which hide the few that say
where the worker listens and what it reads. Their loggers default to WARNING here;
`GROWTH_LOG_LEVEL` (e.g. `INFO`, or `DEBUG` with `growthstream worker -l debug`) gives
them back to whoever wants everything. The worker's own loggers (`growthstream.*`) follow
`growthstream worker -l LEVEL`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from models.settings import Settings

LIBRARIES: Final = ("faust", "mode", "aiokafka", "kafka")
LEVEL_VARIABLE: Final = "GROWTH_LOG_LEVEL"
DEFAULT_LIBRARY_LEVEL: Final = logging.WARNING
COORDINATOR_LOGGERS: Final = ("aiokafka.consumer.group_coordinator", "kafka.coordinator.base")
"""Where the clients log "Group Coordinator Request failed" (logger filters are not inherited,
so the filter sits on each)."""

log = logging.getLogger("growthstream.worker")


class CoordinatorNotReady(logging.Filter):
    """`[ERROR] Group Coordinator Request failed: [Error 15] CoordinatorNotAvailableError`
    is what every first start on a fresh broker logs while the broker creates its offsets
    topic: the client retries and joins a moment later. A retriable failure is logged at INFO
    (shown only when that logger's level allows it); any other stays an error."""

    MESSAGE: Final = "Group Coordinator Request failed"

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or not record.msg.startswith(self.MESSAGE):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if not any(getattr(arg, "retriable", False) for arg in args):
            return True
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


def library_level(environ: Mapping[str, str]) -> int:
    """The libraries' level from `GROWTH_LOG_LEVEL` (a level name; WARNING when unset);
    ValueError names the variable."""
    text = environ.get(LEVEL_VARIABLE, "").strip().upper()
    if not text:
        return DEFAULT_LIBRARY_LEVEL
    level = logging.getLevelNamesMapping().get(text)
    if level is None:
        names = ", ".join(n for n in logging.getLevelNamesMapping() if n not in ("WARN", "FATAL"))
        raise ValueError(f"bad setting {LEVEL_VARIABLE}: {text!r} is not a level ({names})")
    return level


def quiet_libraries(level: int) -> None:
    """Set the libraries' loggers to `level` and downgrade the fresh-broker coordinator error.

    Called before Faust configures logging: its dictConfig leaves loggers it does not name
    as they are (`disable_existing_loggers` is false)."""
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(level)
    for name in COORDINATOR_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, CoordinatorNotReady) for f in logger.filters):
            logger.addFilter(CoordinatorNotReady())


def startup_lines(settings: Settings, web_host: str, web_port: int) -> list[str]:
    """The worker's own start-up lines: where it listens, what it reads and writes."""
    inputs = ", ".join(settings.input_topics())
    return [
        f"{settings.app_id}: HTTP API and dashboard on http://{web_host}:{web_port}/",
        f"Kafka {settings.kafka_bootstrap_servers}: input topics {inputs} "
        f"({settings.topic_partitions} partitions each), consumer group {settings.app_id}",
        f"outputs: {settings.topic_metric_changes}, {settings.topic_churn_alerts}, "
        f"{settings.topic_dead_letters}; Redis key prefix {settings.redis_prefix!r}",
    ]


def log_startup(settings: Settings, web_host: str, web_port: int) -> None:
    for line in startup_lines(settings, web_host, web_port):
        log.info("%s", line)
