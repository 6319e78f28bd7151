"""The output records of EVENTS.md: metric changes, churn alerts, dead letters, the account
read model and the snapshot. Each is defined here once and serialised from here, so what a
topic, a file or Redis receives is exactly what the JSON Schema (`growthstream schema`) says.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from models.decode import Rejection
from models.jsonout import dumps


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> bytes:
        """The record as JSON, numbers as exact decimal text (`49.10`, never a float)."""
        return dumps(self.model_dump()).encode()


class MetricChange(_Output):
    metric: str
    value: Decimal | int | None
    previous: Decimal | int | None
    delta: Decimal | int | None
    window: str | None
    """Days the figure covers, e.g. `30d`; null for point-in-time figures (MRR, counters)."""
    as_of: str
    cause_event_id: str | None
    emitted_at: str


AlertRule = Literal[
    "payment_failed", "cancellation_scheduled", "account_churned", "downgrade",
    "detractor", "usage_drop", "churn_rate_high", "nps_low",
]  # fmt: skip


class ChurnAlert(_Output):
    alert_id: str
    rule: AlertRule
    severity: Literal["warning", "critical"]
    account_id: str
    as_of: str
    message: str
    facts: dict[str, Any]


class DeadLetterError(_Output):
    type: str
    message: str
    details: list[dict[str, Any]]


class DeadLetter(_Output):
    topic: str | None
    partition: int | None
    offset: int | None
    key: str | None
    raw: str
    raw_encoding: Literal["utf-8", "base64"]
    error: DeadLetterError
    received_at: str

    @classmethod
    def of(
        cls,
        rejection: Rejection,
        raw: bytes,
        *,
        topic: str | None,
        partition: int | None,
        offset: int | None,
        key: str | None,
    ) -> DeadLetter:
        """The dead letter of a rejected message: its bytes, where it was, and why."""
        text, encoding = raw_text(raw)
        return cls.model_construct(
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            raw=text,
            raw_encoding=encoding,
            error=DeadLetterError.model_construct(
                type=rejection.type, message=rejection.message, details=rejection.details
            ),
            received_at=now_iso(),
        )


class AccountView(_Output):
    """`growth:account:{id}` (EVENTS.md "Redis"): one account as the engine holds it."""

    mrr: Decimal
    status: Literal["prospect", "paying", "churned"]
    plan: str | None
    last_active: str | None
    last_score: int | None
    churn_risk: Decimal | None
    paying_since: str | None
    """The day (YYYY-MM-DD) the current paying streak began; null when not paying."""


class Snapshot(_Output):
    as_of: str | None
    day: str | None
    mrr: Decimal
    arr: Decimal
    paying_customers: int
    arpa: Decimal | None
    new_mrr: Decimal
    expansion_mrr: Decimal
    contraction_mrr: Decimal
    churned_mrr: Decimal
    reactivation_mrr: Decimal
    net_new_mrr: Decimal
    new_customers: int
    churned_customers: int
    reactivated_customers: int
    mrr_at_start: Decimal
    customers_at_start: int
    customer_churn_rate: Decimal | None
    gross_mrr_churn_rate: Decimal | None
    net_mrr_churn_rate: Decimal | None
    grr: Decimal | None
    nrr: Decimal | None
    retention_rate: Decimal | None
    clv: Decimal | None
    dau: int
    wau: int
    mau: int
    stickiness: Decimal
    nps: Decimal | None
    nps_responses: int
    promoters: int
    passives: int
    detractors: int
    nps_margin: Decimal | None
    signups: int
    events: int
    duplicates: int
    dead_letters: int


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def raw_text(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    """The original bytes: as text when they are UTF-8, else base64."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"
