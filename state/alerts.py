"""Churn alerts (METRICS.md "Churn alerts"): account rules and global crossings.

Account rules are decided by the engine while it applies an event or fires a
timer, from the account's state at that moment, so the replay and each partition
of the worker decide them alike. The global rules watch figures that need every
partition. To decide them alike in both shells, each engine records, whenever a
day closes on its stream time, the additive sides of those figures at that day
(`DayClose`); `GlobalAlerts` sums them over partitions for the days every
partition has closed and walks them in order. A rule fires when its figure
crosses the threshold and is re-armed only past a second threshold (hysteresis).

An `alert_id` is a hash of (rule, account, cause): the same cause gives the same
id, so a redelivery or a restarted aggregator repeats an alert with the id
consumers have already seen.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, NamedTuple

from models.outputs import AlertRule, ChurnAlert
from state.clock import US_PER_DAY, day_to_date, iso_utc
from state.figures import Partial, Windows, churn_counts, churn_rate, nps_figures, nps_score
from state.mrr import Account, Change

PAYMENT_FAILED: Final[AlertRule] = "payment_failed"
CANCELLATION_SCHEDULED: Final[AlertRule] = "cancellation_scheduled"
ACCOUNT_CHURNED: Final[AlertRule] = "account_churned"
DOWNGRADE: Final[AlertRule] = "downgrade"
DETRACTOR: Final[AlertRule] = "detractor"
USAGE_DROP: Final[AlertRule] = "usage_drop"
CHURN_RATE_HIGH: Final[AlertRule] = "churn_rate_high"
NPS_LOW: Final[AlertRule] = "nps_low"
RULES: Final = (
    PAYMENT_FAILED, CANCELLATION_SCHEDULED, ACCOUNT_CHURNED, DOWNGRADE, DETRACTOR, USAGE_DROP,
    CHURN_RATE_HIGH, NPS_LOW,
)  # fmt: skip
GLOBAL: Final = "global"
WARNING: Final[Literal["warning"]] = "warning"
CRITICAL: Final[Literal["critical"]] = "critical"

Facts = dict[str, object]


def alert_id(rule: str, account_id: str, cause: str) -> str:
    digest = hashlib.blake2b(f"{rule}\x1f{account_id}\x1f{cause}".encode(), digest_size=12)
    return digest.hexdigest()


def _alert(
    rule: AlertRule,
    severity: Literal["warning", "critical"],
    account_id: str,
    at: int,
    cause: str,
    message: str,
    facts: Facts,
) -> ChurnAlert:
    return ChurnAlert.model_construct(
        alert_id=alert_id(rule, account_id, cause),
        rule=rule,
        severity=severity,
        account_id=account_id,
        as_of=iso_utc(at),
        message=message,
        facts=facts,
    )


def _date(at_us: int) -> str:
    return day_to_date(at_us // US_PER_DAY).isoformat()


@dataclass(frozen=True, slots=True)
class AlertRules:
    """The thresholds of every rule (`GROWTH_ALERT_*`) and the account rules themselves."""

    churned_critical_mrr: Decimal = Decimal(500)
    downgrade_ratio: Decimal = Decimal("0.5")
    usage_drop_days: int = 14
    churn_rate_high: Decimal = Decimal(5)
    churn_rate_rearm: Decimal = Decimal(4)
    nps_low: Decimal = Decimal(0)
    nps_rearm: Decimal = Decimal(10)

    def payment_failed(
        self,
        account_id: str,
        account: Account,
        event_id: str,
        at: int,
        amount: Decimal,
        currency: str,
    ) -> ChurnAlert | None:
        if account.mrr <= 0:
            return None
        return _alert(
            PAYMENT_FAILED, WARNING, account_id, at, event_id,
            f"A subscription payment of {amount} {currency} failed for a paying account "
            f"(MRR {account.mrr}).",
            {"mrr": account.mrr, "amount": amount, "currency": currency, "event_id": event_id},
        )  # fmt: skip

    def cancellation_scheduled(
        self, account_id: str, account: Account, event_id: str, at: int, effective_at: int
    ) -> ChurnAlert:
        return _alert(
            CANCELLATION_SCHEDULED, WARNING, account_id, at, event_id,
            f"Cancellation scheduled for {_date(effective_at)}; MRR {account.mrr} until then.",
            {"mrr": account.mrr, "effective_at": iso_utc(effective_at), "event_id": event_id},
        )  # fmt: skip

    def churned(self, change: Change, at: int, reason: str) -> ChurnAlert:
        critical = change.before >= self.churned_critical_mrr
        return _alert(
            ACCOUNT_CHURNED, CRITICAL if critical else WARNING, change.account_id, at,
            f"{change.day}:{change.streak_start}",
            f"Account churned ({reason}), losing MRR {change.before}.",
            {
                "mrr": change.before, "reason": reason,
                "paying_since": day_to_date(change.streak_start).isoformat(),
                "critical_mrr": self.churned_critical_mrr,
            },
        )  # fmt: skip

    def downgrade(self, change: Change, at: int, cause: str) -> ChurnAlert | None:
        if change.before <= 0 or change.after <= 0 or change.after >= change.before:
            return None
        share = (change.before - change.after) / change.before
        if share < self.downgrade_ratio:
            return None
        percent = (share * 100).quantize(Decimal("0.1"))
        return _alert(
            DOWNGRADE, WARNING, change.account_id, at, cause,
            f"MRR down {percent} % ({change.before} -> {change.after}).",
            {
                "mrr_before": change.before, "mrr": change.after, "drop_percent": percent,
                "threshold_percent": self.downgrade_ratio * 100,
            },
        )  # fmt: skip

    def detractor(
        self, account_id: str, account: Account, event_id: str, at: int, user_id: str, score: int
    ) -> ChurnAlert | None:
        if score > 6 or account.mrr <= 0:
            return None
        return _alert(
            DETRACTOR, WARNING, account_id, at, event_id,
            f"A user of a paying account answered {score} (detractor).",
            {"score": score, "user_id": user_id, "mrr": account.mrr, "event_id": event_id},
        )  # fmt: skip

    def usage_drop(self, account_id: str, account: Account, at: int) -> ChurnAlert | None:
        last_active = account.last_active
        if account.mrr <= 0 or last_active is None:
            return None
        return _alert(
            USAGE_DROP, WARNING, account_id, at, str(last_active),
            f"No activity for {self.usage_drop_days} days on a paying account "
            f"(last active {_date(last_active)}).",
            {
                "mrr": account.mrr, "last_active": iso_utc(last_active),
                "days_without_activity": self.usage_drop_days,
            },
        )  # fmt: skip


class DayClose(NamedTuple):
    """The additive sides of the globally alerted figures at the close of one day."""

    churned: int
    at_start: int
    promoters: int
    detractors: int
    responses: int


def day_close(parts: Sequence[Partial], day: int, windows: Windows) -> DayClose:
    churned, at_start = churn_counts(parts, day, windows.window_days)
    nps = nps_figures(parts, day, windows.nps_window_days)
    return DayClose(
        churned, at_start, int(nps["promoters"] or 0), int(nps["detractors"] or 0),
        int(nps["nps_responses"] or 0),
    )  # fmt: skip


@dataclass(slots=True)
class GlobalAlerts:
    """`churn_rate_high` and `nps_low`, walked day by day over closed days."""

    rules: AlertRules
    next_day: int | None = None
    churn_armed: bool = True
    nps_armed: bool = True

    def close(self, day: int, totals: DayClose) -> list[ChurnAlert]:
        """Feed the next closed day (in order; a day skipped has the totals of the last one fed)."""
        self.next_day = day + 1
        at = (day + 1) * US_PER_DAY - 1
        date = day_to_date(day).isoformat()
        alerts: list[ChurnAlert] = []
        rules = self.rules
        rate = churn_rate(totals.churned, totals.at_start)
        if rate is not None:
            if self.churn_armed and rate > rules.churn_rate_high:
                self.churn_armed = False
                facts: Facts = {
                    "customer_churn_rate": rate, "threshold": rules.churn_rate_high,
                    "rearm_at": rules.churn_rate_rearm, "day": date,
                    "churned_customers": totals.churned, "customers_at_start": totals.at_start,
                }  # fmt: skip
                message = f"Customer churn rate {rate} % is above {rules.churn_rate_high} %."
                alerts.append(_alert(CHURN_RATE_HIGH, CRITICAL, GLOBAL, at, date, message, facts))
            elif not self.churn_armed and rate <= rules.churn_rate_rearm:
                self.churn_armed = True
        nps = nps_score(totals.promoters, totals.detractors, totals.responses)
        if nps is not None:
            if self.nps_armed and nps < rules.nps_low:
                self.nps_armed = False
                facts = {
                    "nps": nps, "threshold": rules.nps_low, "rearm_at": rules.nps_rearm,
                    "day": date, "responses": totals.responses,
                }  # fmt: skip
                message = f"NPS {nps} is below {rules.nps_low}."
                alerts.append(_alert(NPS_LOW, WARNING, GLOBAL, at, date, message, facts))
            elif not self.nps_armed and nps >= rules.nps_rearm:
                self.nps_armed = True
        return alerts

    def catch_up(
        self, histories: Sequence[Mapping[int, DayClose]], through: int
    ) -> list[ChurnAlert]:
        """Close every day up to `through` from partitions' day-close histories, summed.

        A history holds a partition's close on the days it changed: a day without an
        entry has the close of the last day before it that has one (before the first,
        the partition had no data: zeros). Between two change points the totals are
        constant, and feeding a constant again changes nothing (a rule that fired stays
        disarmed, one re-armed stays armed), so only the change points are fed: the
        cost follows the changes, not the number of days.
        """
        start = self.next_day
        if start is None:
            firsts = [min(h) for h in histories if h]
            if not firsts:
                return []
            start = min(firsts)
        if start > through:
            return []
        ordered = [sorted(h) for h in histories]
        points = sorted({start, *(d for days in ordered for d in days if start < d <= through)})
        alerts: list[ChurnAlert] = []
        for day in points:
            rows = [
                h[days[index - 1]]
                for h, days in zip(histories, ordered, strict=True)
                if (index := bisect_right(days, day))
            ]
            totals = (
                DayClose(*(sum(column) for column in zip(*rows, strict=True))) if rows else None
            )
            alerts.extend(self.close(day, totals or DayClose(0, 0, 0, 0, 0)))
        self.next_day = through + 1
        return alerts
