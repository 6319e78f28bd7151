"""The output records of EVENTS.md: metric changes, churn alerts, dead letters, the account
read model, the snapshot, and the month and cohort rows. Each is defined here once and
serialised from here, so what a topic, a file or Redis receives is exactly what the JSON
Schema (`growthstream schema`) says.
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


class Output(BaseModel):
    """Field docstrings are the JSON Schema's descriptions (`growthstream schema`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    def to_json(self) -> bytes:
        """The record as JSON, numbers as exact decimal text (`49.10`, never a float)."""
        return dumps(self.model_dump()).encode()


class MetricChange(Output):
    """One figure moved (topic `metric-changes`, key = the metric's name)."""

    metric: str
    """The figure's name, as in the snapshot (METRICS.md)."""
    value: Decimal | int | None
    """Its value now (absolute, so a consumer can dedupe); null where the figure has none."""
    previous: Decimal | int | None
    """Its value in the previous change of this metric."""
    delta: Decimal | int | None
    """value - previous; null when either is null."""
    window: str | None
    """Days the figure covers, e.g. `30d`; null for point-in-time figures (MRR, counters)."""
    as_of: str
    """Stream time (event time) at which the value holds, RFC 3339 UTC."""
    cause_event_id: str | None
    """The last event applied before the change (docs/DECISIONS.md 30)."""
    emitted_at: str
    """Wall-clock time of the change, RFC 3339 UTC."""
    currency: str | None = None
    """The reporting currency of a money figure's value (MRR, ARPA, CLV...); null for
    counts and rates."""


class MetricRevision(Output):
    """A closed day's figure restated (topic `metric-revisions`, key = the metric's name;
    Redis stream `growth:revisions`): a late event changed it after it was reported."""

    metric: str
    """The figure's name, as in the snapshot."""
    day: str
    """The closed day (YYYY-MM-DD) whose value changed."""
    value: Decimal | int | None
    """The day's value now."""
    previous: Decimal | int | None
    """The value reported for that day before."""
    cause_event_id: str | None
    """The latest event dated before its partition's day among those behind the change
    (docs/DECISIONS.md 60); null when none is known."""
    as_of: str
    """Stream time at which the restatement was made, RFC 3339 UTC."""
    currency: str | None = None
    """The reporting currency of a money figure's value; null for counts and rates."""


AlertRule = Literal[
    "payment_failed", "cancellation_scheduled", "account_churned", "downgrade",
    "detractor", "usage_drop", "churn_rate_high", "nps_low",
]  # fmt: skip


class ChurnAlert(Output):
    """A churn warning (topic `churn-alerts`, METRICS.md "Churn alerts")."""

    alert_id: str
    """Hash of (rule, account, cause): a repeated alert has the same id, so consumers dedupe."""
    rule: AlertRule
    """Which rule fired."""
    severity: Literal["warning", "critical"]
    """`critical` for the churn of a large account; else `warning`."""
    account_id: str
    """The account, or `global` for the rules on global figures."""
    as_of: str
    """Event time the alert was raised at, RFC 3339 UTC."""
    message: str
    """One sentence for a person."""
    facts: dict[str, Any]
    """Why: the figures the rule looked at (MRR, score, last activity, rate, thresholds)."""


class DeadLetterError(Output):
    """Why a message was rejected."""

    type: str
    """The reason (`invalid_json`, `unknown_currency`, `late`, `future`, ...)."""
    message: str
    """What was wrong, for a person (at most 500 characters)."""
    details: list[dict[str, Any]]
    """The validation errors, at most 20 (field, what, input)."""


RAW_BYTES: Final = 65_536
"""`GROWTH_DEAD_LETTER_RAW_BYTES`'s default: how much of a value a dead letter keeps."""
MAX_DETAILS: Final = 20
MAX_TEXT: Final = 500
"""Error details and messages kept per dead letter, and their length in characters."""


class DeadLetter(Output):
    """A rejected message, with its bytes (topic `dead-letters`, key = the original key)."""

    topic: str | None
    """The input topic it came from (null for a replay line without one)."""
    partition: int | None
    """Its partition; with `topic` and `offset` it identifies the message."""
    offset: int | None
    """Its offset in that partition (in a replay: its position among its partition's lines)."""
    key: str | None
    """The message key as text (its first `raw_limit` bytes)."""
    raw: str
    """The original value, byte for byte (its first GROWTH_DEAD_LETTER_RAW_BYTES)."""
    raw_encoding: Literal["utf-8", "base64"]
    """How `raw` holds the bytes: as text when they are UTF-8, else base64."""
    error: DeadLetterError
    """Why it was rejected."""
    received_at: str
    """Wall-clock time the worker rejected it, RFC 3339 UTC."""
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


class SubscriptionView(Output):
    """One subscription of an account in its read model (BILLING.md)."""

    id: str
    """`subscription_id` (the account's id for its one subscription when payments name none)."""
    plan: str | None
    """The plan of its last payment that names one."""
    mrr: Decimal
    """Its monthly amount, net of tax, in the account's `currency`; 0 once it ended."""
    quantity: int
    """Seats or units of its last payment."""
    paid_through: str | None
    """The end of the period its last payment covers, RFC 3339 UTC."""
    scheduled_end: str | None
    """When a scheduled cancellation ends it, RFC 3339 UTC; null when none."""


class AccountView(Output):
    """`growth:account:{id}` (EVENTS.md "Redis"): one account as the engine holds it."""

    mrr: Decimal
    """The account's monthly recurring revenue, in `currency`."""
    currency: str
    """The reporting currency `mrr` is in (GROWTH_REPORTING_CURRENCY)."""
    status: Literal["prospect", "paying", "churned"]
    """`prospect` until it first pays, `paying` while MRR > 0, else `churned`."""
    plan: str | None
    """The plan of its last subscription payment that names one, else of its signup."""
    last_active: str | None
    """The latest activity of any of its users, RFC 3339 UTC."""
    last_score: int | None
    """Its latest survey answer (docs/DECISIONS.md 44)."""
    churn_risk: list[AlertRule]
    """The alert rules open on the account (docs/DECISIONS.md 38); empty when none."""
    paying_since: str | None
    """The day (YYYY-MM-DD) the current paying streak began; null when not paying."""
    subscriptions: list[SubscriptionView] = []
    """Its subscriptions, by id (BILLING.md)."""


class Snapshot(Output):
    """Every figure of METRICS.md at day D (`replay --snapshot`, `growth:metrics`, `GET
    /metrics`); windows are `[D-N+1, D]`."""

    as_of: str | None
    """Stream time: the latest event time applied, RFC 3339 UTC; null before any event."""
    day: str | None
    """D, the UTC day of `as_of` (YYYY-MM-DD): the last day of every window."""
    currency: str
    """The reporting currency (GROWTH_REPORTING_CURRENCY) every money figure is in."""
    mrr: Decimal
    """Sum of paying accounts' monthly amounts, in `currency`."""
    arr: Decimal
    """12 x MRR."""
    paying_customers: int
    """Accounts with MRR > 0."""
    active_subscriptions: int
    """Subscriptions with a monthly amount > 0 (BILLING.md); an account has one unless its
    payments name others (`subscription_id`)."""
    seats: int
    """The `quantity` of those subscriptions, summed."""
    arpa: Decimal | None
    """MRR / paying customers; null without any."""
    new_mrr: Decimal
    """MRR of first-time paying accounts, in the window."""
    expansion_mrr: Decimal
    """MRR increases of paying accounts, in the window."""
    contraction_mrr: Decimal
    """MRR decreases of accounts that keep paying, in the window."""
    churned_mrr: Decimal
    """MRR lost by accounts going to 0, in the window."""
    reactivation_mrr: Decimal
    """MRR of churned accounts paying again, in the window."""
    net_new_mrr: Decimal
    """new + expansion + reactivation - contraction - churned."""
    new_customers: int
    """Accounts that first paid in the window."""
    churned_customers: int
    """Churn movements in the window."""
    reactivated_customers: int
    """Reactivation movements in the window."""
    mrr_at_start: Decimal
    """MRR at the window's start: mrr - net_new_mrr."""
    customers_at_start: int
    """S: paying - new - reactivated + churned."""
    customer_churn_rate: Decimal | None
    """Starting cohort's churns / S x 100; null when S = 0."""
    gross_mrr_churn_rate: Decimal | None
    """(churned + contraction) / mrr_at_start x 100."""
    net_mrr_churn_rate: Decimal | None
    """(churned + contraction - expansion - reactivation) / mrr_at_start x 100."""
    grr: Decimal | None
    """Gross revenue retention of the starting cohort, %."""
    nrr: Decimal | None
    """Net revenue retention of the starting cohort, %."""
    retention_rate: Decimal | None
    """CRR = (E - N) / S x 100."""
    clv: Decimal | None
    """arpa / (customer_churn_rate / 100), in `currency`; null when the rate is 0 or null."""
    dau: int
    """Distinct users active on D."""
    wau: int
    """Distinct users active in the 7 days to D."""
    mau: int
    """Distinct users active in the window."""
    stickiness: Decimal
    """DAU / MAU (4 decimals)."""
    nps: Decimal | None
    """% promoters - % detractors over respondents' latest answers in the NPS window."""
    nps_responses: int
    """Respondents whose latest answer is in the NPS window."""
    promoters: int
    """Respondents answering 9-10."""
    passives: int
    """Respondents answering 7-8."""
    detractors: int
    """Respondents answering 0-6."""
    nps_margin: Decimal | None
    """95 % adjusted-Wald half-width of `nps`."""
    signups: int
    """Accounts whose first signup is in the window."""
    events: int
    """Valid events applied since the start."""
    duplicates: int
    """Duplicates skipped since the start."""
    dead_letters: int
    """Messages rejected to dead letters since the start."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def raw_text(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    """The original bytes: as text when they are UTF-8, else base64."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"
