"""Configuration, read from `GROWTH_*` environment variables.

One settings object feeds the decoder (currencies, size limit), the engine
(windows, lateness, grace) and the shells (topics, Kafka, Redis), so replay and
the worker cannot disagree about a threshold.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CURRENCY_PATTERN = r"^[A-Z]{3}$"


def _parse_rates(value: Any) -> dict[str, Decimal]:
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_float=Decimal, parse_int=Decimal)
        except json.JSONDecodeError as exc:
            raise ValueError(f"GROWTH_FX_RATES is not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError("GROWTH_FX_RATES must be a JSON object of currency -> rate")
    rates: dict[str, Decimal] = {}
    for code, rate in value.items():
        if not isinstance(code, str) or len(code) != 3 or not code.isascii() or not code.isupper():
            raise ValueError(f"GROWTH_FX_RATES: {code!r} is not a 3-letter ISO 4217 code")
        try:
            dec = Decimal(str(rate))
        except ArithmeticError:
            raise ValueError(f"GROWTH_FX_RATES: rate of {code} is not a number") from None
        if not dec.is_finite() or dec <= 0:
            raise ValueError(f"GROWTH_FX_RATES: rate of {code} must be a positive number")
        rates[code] = dec
    return rates


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GROWTH_", extra="ignore", frozen=True)

    reporting_currency: str = Field(default="USD", pattern=CURRENCY_PATTERN)
    fx_rates: Annotated[dict[str, Decimal], NoDecode] = Field(default_factory=dict)
    """Currency -> value of one unit in the reporting currency; the reporting currency is
    added with rate 1 when absent (the default is `{REPORTING: 1}`), and any other rate of
    it is refused (docs/DECISIONS.md 50)."""
    window_days: int = Field(default=30, ge=1, le=366)
    nps_window_days: int = Field(default=90, ge=1, le=3660)
    lateness_days: int = Field(default=30, ge=0, le=366)
    lapse_grace_days: int = Field(default=14, ge=0, le=366)
    max_future_seconds: int = Field(default=3600, ge=0)
    """An event whose occurred_at is more than this after its record time is `future`."""
    dedupe_hours: int = Field(default=24, ge=0, le=24 * 366)
    """How long (stream time) activity and survey event ids are remembered as duplicates."""
    history_days: int = Field(default=3660, ge=1, le=36600)
    """How many closed days of every figure the history keeps (`replay --series`)."""

    alert_churned_critical_mrr: Decimal = Field(default=Decimal(500), ge=0)
    """`account_churned` is critical when the account's MRR before churning is at least this."""
    alert_downgrade_ratio: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    """`downgrade` fires for a contraction of at least this share of the account's MRR."""
    alert_usage_drop_days: int = Field(default=14, ge=1, le=366)
    alert_churn_rate_high: Decimal = Field(default=Decimal(5), ge=0)
    """`churn_rate_high` fires when `customer_churn_rate` (%) crosses above this..."""
    alert_churn_rate_rearm: Decimal = Field(default=Decimal(4), ge=0)
    """...and can fire again only after the rate has fallen to this or below (hysteresis)."""
    alert_nps_low: Decimal = Field(default=Decimal(0), ge=-100, le=100)
    """`nps_low` fires when `nps` crosses below this..."""
    alert_nps_rearm: Decimal = Field(default=Decimal(10), ge=-100, le=100)
    """...and can fire again only after NPS has risen to this or above."""
    max_message_bytes: int = Field(default=1_000_000, ge=64)
    dead_letter_raw_bytes: int = Field(default=65_536, ge=64, le=4_000_000)
    """A dead letter keeps at most this many bytes of the original value (EVENTS.md)."""

    topic_signups: str = "signups"
    topic_payments: str = "payments"
    topic_cancellations: str = "cancellations"
    topic_activity: str = "activity"
    topic_surveys: str = "surveys"
    topic_metric_changes: str = "metric-changes"
    topic_metric_revisions: str = "metric-revisions"
    topic_churn_alerts: str = "churn-alerts"
    topic_dead_letters: str = "dead-letters"
    topic_partitions: int = Field(default=4, ge=1, le=1024)
    """Partitions of every input topic (the same count for all five) and of the internals."""

    app_id: str = "growthstream"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None

    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    """`redis://` or `rediss://`, password allowed; a SecretStr so it is never logged."""
    redis_prefix: str = "growth:"
    redis_changes_maxlen: int = Field(default=10_000, ge=100)

    change_interval_ms: int = Field(default=1000, ge=10)
    """Metric changes are coalesced per metric over this interval."""
    checkpoint_interval_ms: int = Field(default=2000, ge=50)
    """How often a partition's engine is checkpointed (and its input offsets committed)."""
    merge_wait_ms: int = Field(default=250, ge=0)
    """A record waits at least this long after it arrived while another topic of its partition
    has nothing buffered: one producer's appends to several topics can reach the broker in
    another order than they were made (docs/DECISIONS.md 40)."""
    idle_ms: int = Field(default=2000, ge=10)
    """A partition that has applied all its input and received nothing for this long
    follows the global stream time (METRICS.md "Idle partitions")."""
    table_store: str = "auto"
    """Faust store of the checkpoints table: `rocksdb://` (rocksdict), `memory://`, or
    `auto` = rocksdb:// when rocksdict is installed, else memory://."""
    web_host: str = "127.0.0.1"
    """Address the worker's web server (HTTP API, dashboard) listens on; 0.0.0.0 in a container."""
    stripe_webhook_secret: SecretStr | None = None
    """The signing secret (`whsec_...`) of the Stripe webhook endpoint that posts to the
    worker's `POST /webhooks/stripe` (docs/STRIPE.md); unset, that endpoint answers 503."""
    data_dir: str = ".growthstream-data"
    """Local table data (rocksdict); each worker uses `<data_dir>/<app_id>-<web port>`."""

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> dict[str, Decimal]:
        return _parse_rates(value)

    @model_validator(mode="after")
    def _hysteresis(self) -> Settings:
        if self.alert_churn_rate_rearm > self.alert_churn_rate_high:
            raise ValueError("alert_churn_rate_rearm must not exceed alert_churn_rate_high")
        if self.alert_nps_rearm < self.alert_nps_low:
            raise ValueError("alert_nps_rearm must not be below alert_nps_low")
        return self

    @model_validator(mode="after")
    def _reporting_currency_has_rate(self) -> Settings:
        """A rate is the reporting currency's value of one unit (EVENTS.md: money is "in the
        reporting currency"), so the reporting currency's own rate is 1 by definition: any
        other value means the rates were written for another reporting currency, and every
        figure would be in that one under this one's name."""
        code = self.reporting_currency
        rate = self.fx_rates.get(code)
        if rate is not None and rate != 1:
            raise ValueError(
                f"GROWTH_FX_RATES gives {code}, the reporting currency "
                f"(GROWTH_REPORTING_CURRENCY), rate {rate}; rates are values in {code}, "
                f"so {code} must be 1"
            )
        if code not in self.fx_rates:
            object.__setattr__(
                self, "fx_rates", {**self.fx_rates, self.reporting_currency: Decimal(1)}
            )
        return self

    def input_topics(self) -> dict[str, str]:
        """Topic name -> event kind (`signup`, `payment`, ...)."""
        return {
            self.topic_signups: "signup",
            self.topic_payments: "payment",
            self.topic_cancellations: "cancellation",
            self.topic_activity: "activity",
            self.topic_surveys: "survey",
        }
