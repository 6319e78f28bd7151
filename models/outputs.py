"""The output records of EVENTS.md: metric changes, churn alerts, dead letters, the account
read model and the snapshot. Each is defined here once and serialised from here, so what a
topic, a file or Redis receives is exactly what the JSON Schema (`growthstream schema`) says.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

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


RAW_BYTES: Final = 65_536
"""`GROWTH_DEAD_LETTER_RAW_BYTES`'s default: how much of a value a dead letter keeps."""
MAX_DETAILS: Final = 20
MAX_TEXT: Final = 500
"""Error details and messages kept per dead letter, and their length in characters."""


class DeadLetter(_Output):
    topic: str | None
    partition: int | None
    offset: int | None
    key: str | None
    """The message key as text (its first `raw_limit` bytes)."""
    raw: str
    raw_encoding: Literal["utf-8", "base64"]
    error: DeadLetterError
    received_at: str
    raw_truncated: bool | None = None
    """Present (true) when `raw` holds only the first bytes of a longer value."""
    raw_bytes: int | None = None
    """The full length of a truncated value."""
    raw_sha256: str | None = None
    """SHA-256 (hex) of the full value of a truncated one."""

    def to_json(self) -> bytes:
        """Without the truncation fields when the value was kept whole."""
        return dumps(self.model_dump(exclude_unset=True)).encode()

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
        raw_limit: int = RAW_BYTES,
    ) -> DeadLetter:
        """The dead letter of a rejected message: its bytes (at most `raw_limit` of them),
        where it was, and why. Its size is bounded whatever the message, so it always fits
        the dead-letters topic (`max_dead_letter_bytes`)."""
        kept = _prefix(raw, raw_limit)
        text, encoding = raw_text(kept)
        error = DeadLetterError.model_construct(
            type=rejection.type,
            message=rejection.message[:MAX_TEXT],
            details=[_short(detail) for detail in rejection.details[:MAX_DETAILS]],
        )
        fields: dict[str, Any] = {
            "topic": topic, "partition": partition, "offset": offset,
            "key": None if key is None else key.encode("utf-8", "surrogatepass")[:raw_limit]
            .decode("utf-8", "ignore"),
            "raw": text, "raw_encoding": encoding, "error": error, "received_at": now_iso(),
        }  # fmt: skip
        if len(kept) < len(raw):
            fields |= {
                "raw_truncated": True,
                "raw_bytes": len(raw),
                "raw_sha256": hashlib.sha256(raw).hexdigest(),
            }
        return cls.model_construct(**fields)


def max_dead_letter_bytes(raw_limit: int) -> int:
    """An upper bound of a dead letter's JSON: raw and key escaped (at most 6 characters a
    byte, `\\u0001`), plus the bounded error and the fixed fields."""
    return 12 * raw_limit + MAX_DETAILS * 4 * MAX_TEXT + 16_384


def _prefix(raw: bytes, limit: int) -> bytes:
    """The first `limit` bytes, not cutting a UTF-8 character of a UTF-8 value in two."""
    if len(raw) <= limit:
        return raw
    cut = limit
    for back in range(4):
        if cut - back > 0 and (raw[cut - back] & 0xC0) != 0x80:
            cut -= back
            break
    head = raw[:cut]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return raw[:limit]
    return head


def _short(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v[:MAX_TEXT] if isinstance(v, str) else v for k, v in detail.items()}


class AccountView(_Output):
    """`growth:account:{id}` (EVENTS.md "Redis"): one account as the engine holds it."""

    mrr: Decimal
    status: Literal["prospect", "paying", "churned"]
    plan: str | None
    last_active: str | None
    last_score: int | None
    churn_risk: list[AlertRule]
    """The alert rules open on the account (docs/DECISIONS.md 38); empty when none."""
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
