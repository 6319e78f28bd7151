"""Real public data sets (see `tests/data/README.md`) as replay lines, and their expected figures.

Two halves, kept apart on purpose:

* converters: one CSV -> a list of replay-line dicts
  (`{"topic", "key", "value"}`, EVENTS.md "Replay file"), sorted by `occurred_at`
  (stable), because the engine dead-letters events that are more than the allowed
  lateness behind stream time;
* expectations: the figures of METRICS.md computed straight from the CSV rows with
  plain Python (sets, sums, Decimal), never through the engine or its modules.

Nothing here imports the engine.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any

import orjson

Line = dict[str, Any]

DBT_CSV = Path("dbt_mrr_playbook") / "subscription_periods.csv"
TELCO_CSV = Path("telco_customer_churn") / "Telco-Customer-Churn.csv"
CDNOW_TXT = Path("cdnow_purchases") / "CDNOW_master.txt"
CARPENTRIES_CSV = Path("carpentries_nps_survey") / "20180908_post_clean.csv"

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
TEN_THOUSANDTH = Decimal("0.0001")
HUNDRED = Decimal(100)


# -- shared helpers ------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """RFC 3339, UTC, with a `Z` (every converter writes this one format)."""
    assert moment.tzinfo is not None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic on the first of a month (every date used here is a 1st)."""
    assert day.day == 1, day
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def line(topic: str, value: dict[str, Any]) -> Line:
    return {"topic": topic, "key": value["account_id"], "value": value}


def sort_lines(lines: list[Line]) -> list[Line]:
    """Stable sort by `occurred_at` (one fixed-width UTC format, so text order = time order)."""
    return sorted(lines, key=lambda item: item["value"]["occurred_at"])


def occurred(item: Line) -> datetime:
    return datetime.fromisoformat(item["value"]["occurred_at"])


def until_end_of(lines: Sequence[Line], day: date) -> list[Line]:
    """The prefix of a sorted stream with `occurred_at` before the end of `day` (UTC)."""
    end = midnight(day + timedelta(days=1))
    prefix: list[Line] = []
    for item in lines:
        if occurred(item) >= end:
            break
        prefix.append(item)
    return prefix


def to_bytes(lines: Iterable[Line]) -> Iterator[bytes]:
    for item in lines:
        yield orjson.dumps(item)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def rate(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """A percentage, rounded once to 0.01, half to even; None on a zero denominator."""
    if denominator == 0:
        return None
    return money(Decimal(numerator) * HUNDRED / Decimal(denominator))


def window(day: date, days: int) -> tuple[date, date]:
    """`[day - days + 1, day]`, both ends included."""
    return day - timedelta(days=days - 1), day


# -- dbt MRR playbook ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    subscription_id: str
    customer_id: str
    start: date
    end: date | None  # None: still active
    monthly_amount: Decimal

    def active_on(self, day: date) -> bool:
        """dbt's rule: active in month M when start <= M < end."""
        return self.start <= day and (self.end is None or day < self.end)


def read_dbt(path: Path) -> list[Period]:
    periods: list[Period] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            end = row["end_date"].strip()
            periods.append(
                Period(
                    subscription_id=row["subscription_id"].strip(),
                    customer_id=row["customer_id"].strip(),
                    start=date.fromisoformat(row["start_date"].strip()),
                    end=date.fromisoformat(end) if end else None,
                    monthly_amount=Decimal(row["monthly_amount"].strip()),
                )
            )
    return periods


def dbt_horizon(periods: Sequence[Period]) -> date:
    """The last date the file knows of: open periods are paid up to here."""
    return max(max(p.start, p.end or p.start) for p in periods)


def dbt_lines(periods: Sequence[Period], horizon: date | None = None) -> list[Line]:
    """Signup at each customer's first start; a monthly payment on each period's start and
    every month after it while < end (<= horizon for an open period); a cancellation
    effective at end (occurred_at = end) unless the same customer's next period starts then."""
    horizon = horizon or dbt_horizon(periods)
    starts: dict[str, set[date]] = {}
    first: dict[str, date] = {}
    for p in periods:
        starts.setdefault(p.customer_id, set()).add(p.start)
        first[p.customer_id] = min(first.get(p.customer_id, p.start), p.start)
    lines = [
        line(
            "signups",
            {
                "event_id": f"dbt-signup-{customer}",
                "occurred_at": iso(midnight(day)),
                "account_id": customer,
                "user_id": customer,
            },
        )
        for customer, day in first.items()
    ]
    for p in sorted(periods, key=lambda p: (p.customer_id, p.start)):
        month, k = p.start, 0
        while (month < p.end) if p.end is not None else (month <= horizon):
            lines.append(
                line(
                    "payments",
                    {
                        "event_id": f"dbt-pay-{p.subscription_id}-{k}",
                        "occurred_at": iso(midnight(month)),
                        "account_id": p.customer_id,
                        "amount": str(p.monthly_amount),
                        "currency": "USD",
                        "status": "succeeded",
                        "kind": "subscription",
                        "interval": "month",
                        "interval_count": 1,
                        "plan": f"subscription-{p.subscription_id}",
                    },
                )
            )
            month, k = add_months(month, 1), k + 1
        if p.end is not None and p.end not in starts[p.customer_id]:
            at = iso(midnight(p.end))
            lines.append(
                line(
                    "cancellations",
                    {
                        "event_id": f"dbt-cancel-{p.subscription_id}",
                        "occurred_at": at,
                        "account_id": p.customer_id,
                        "effective_at": at,
                    },
                )
            )
    return sort_lines(lines)


def dbt_amount(periods: Sequence[Period], customer: str, day: date) -> Decimal:
    return sum(
        (p.monthly_amount for p in periods if p.customer_id == customer and p.active_on(day)),
        Decimal(0),
    )


def dbt_expected(periods: Sequence[Period], day: date, window_days: int = 30) -> dict[str, Any]:
    """Figures at the end of `day` straight from the periods.

    MRR and paying customers by dbt's rule. Movements: every subscription change of
    this data set happens at 00:00 of a period boundary, so a customer's movement on
    day d compares the amount active on d-1 with the amount active on d (new when the
    customer had no period starting before d, reactivation otherwise); window
    figures sum the movements of the days in `[day - window_days + 1, day]`."""
    customers = sorted({p.customer_id for p in periods})
    active = [p for p in periods if p.active_on(day)]
    out: dict[str, Any] = {
        "mrr": money(sum((p.monthly_amount for p in active), Decimal(0))),
        "paying_customers": len({p.customer_id for p in active}),
    }
    sums = dict.fromkeys(("new", "expansion", "contraction", "churned", "reactivation"), Decimal(0))
    counts = dict.fromkeys(("new", "churned", "reactivated"), 0)
    boundaries = sorted({p.start for p in periods} | {p.end for p in periods if p.end})
    first, last = window(day, window_days)
    for d in (b for b in boundaries if first <= b <= last):
        for customer in customers:
            before = dbt_amount(periods, customer, d - timedelta(days=1))
            after = dbt_amount(periods, customer, d)
            if before == after:
                continue
            if before == 0:
                paid_before = any(p.customer_id == customer and p.start < d for p in periods)
                kind = "reactivation" if paid_before else "new"
                sums[kind] += after
                counts["reactivated" if paid_before else "new"] += 1
            elif after == 0:
                sums["churned"] += before
                counts["churned"] += 1
            elif after > before:
                sums["expansion"] += after - before
            else:
                sums["contraction"] += before - after
    for kind, total in sums.items():
        out[f"{kind}_mrr"] = money(total)
    for kind, count in counts.items():
        out[f"{kind}_customers"] = count
    first_start: dict[str, date] = {}
    for p in periods:
        first_start[p.customer_id] = min(first_start.get(p.customer_id, p.start), p.start)
    out["signups"] = sum(1 for d in first_start.values() if first <= d <= last)
    return out


# -- IBM Telco customer churn --------------------------------------------------------

TELCO_SNAPSHOT = datetime(2026, 1, 1, tzinfo=UTC)
TELCO_CANCEL_BEFORE = timedelta(days=10)


@dataclass(frozen=True, slots=True)
class TelcoCustomer:
    customer_id: str
    tenure: int
    monthly_charges: Decimal
    churned: bool


def read_telco(path: Path) -> list[TelcoCustomer]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            TelcoCustomer(
                customer_id=row["customerID"].strip(),
                tenure=int(row["tenure"]),
                monthly_charges=Decimal(row["MonthlyCharges"].strip()),
                churned={"Yes": True, "No": False}[row["Churn"].strip()],
            )
            for row in csv.DictReader(handle)
        ]


def telco_lines(
    customers: Sequence[TelcoCustomer], snapshot: datetime = TELCO_SNAPSHOT
) -> list[Line]:
    """Signup `tenure` months before the snapshot S; a payment of MonthlyCharges on the
    signup's day of month every month up to the last one before S (`tenure` payments);
    for Churn=Yes a cancellation occurring and effective 10 days before S."""
    start_month = snapshot.date()
    lines: list[Line] = []
    for c in customers:
        signed = add_months(start_month, -c.tenure)
        lines.append(
            line(
                "signups",
                {
                    "event_id": f"telco-signup-{c.customer_id}",
                    "occurred_at": iso(midnight(signed)),
                    "account_id": c.customer_id,
                },
            )
        )
        for k in range(c.tenure):
            lines.append(
                line(
                    "payments",
                    {
                        "event_id": f"telco-pay-{c.customer_id}-{k}",
                        "occurred_at": iso(midnight(add_months(signed, k))),
                        "account_id": c.customer_id,
                        "amount": str(c.monthly_charges),
                        "currency": "USD",
                    },
                )
            )
        if c.churned:
            at = iso(snapshot - TELCO_CANCEL_BEFORE)
            lines.append(
                line(
                    "cancellations",
                    {
                        "event_id": f"telco-cancel-{c.customer_id}",
                        "occurred_at": at,
                        "account_id": c.customer_id,
                        "effective_at": at,
                        "reason": "other",
                    },
                )
            )
    return sort_lines(lines)


def telco_expected(customers: Sequence[TelcoCustomer]) -> dict[str, Any]:
    """Figures at the snapshot day (S itself: the tenure-0 signups happen at S).

    Every paying streak began on a 1st at least a month before S, so before the
    window (D-29 = S-29 days) opened: there are no new customers in the window, the
    starting cohort is every customer with tenure >= 1, and the only movements in
    the window are the churns of the Churn=Yes customers (10 days before S)."""
    retained = [c for c in customers if c.tenure >= 1 and not c.churned]
    lost = [c for c in customers if c.tenure >= 1 and c.churned]
    mrr = sum((c.monthly_charges for c in retained), Decimal(0))
    churned_mrr = sum((c.monthly_charges for c in lost), Decimal(0))
    mrr_at_start = mrr + churned_mrr
    start = len(retained) + len(lost)
    with localcontext() as ctx:
        ctx.prec = 50
        arpa = mrr / len(retained)
        churn = Decimal(len(lost)) / start
        clv = arpa / churn
    return {
        "events": sum(1 + c.tenure + c.churned for c in customers),
        "mrr": money(mrr),
        "arr": money(12 * mrr),
        "paying_customers": len(retained),
        "arpa": money(arpa),
        "churned_customers": len(lost),
        "churned_mrr": money(churned_mrr),
        "new_customers": 0,
        "new_mrr": money(Decimal(0)),
        "net_new_mrr": money(-churned_mrr),
        "mrr_at_start": money(mrr_at_start),
        "customers_at_start": start,
        "customer_churn_rate": rate(len(lost), start),
        "gross_mrr_churn_rate": rate(churned_mrr, mrr_at_start),
        "retention_rate": rate(len(retained), start),
        "grr": rate(mrr, mrr_at_start),
        "nrr": rate(mrr, mrr_at_start),
        "clv": money(clv),
        "signups": sum(1 for c in customers if c.tenure == 0),
    }


# -- CDNOW purchases -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Purchase:
    row: int  # 1-based data row
    customer_id: str
    day: date
    cds: int
    dollars: Decimal


def read_cdnow(path: Path) -> list[Purchase]:
    purchases: list[Purchase] = []
    with path.open(encoding="ascii", newline="") as handle:
        for number, text in enumerate(handle):
            fields = text.split()
            if number == 0:
                assert fields[0] == "customer_id", fields
                continue
            if not fields:
                continue
            customer, day, cds, dollars = fields
            purchases.append(
                Purchase(
                    row=number,
                    customer_id=customer,
                    day=datetime.strptime(day, "%Y%m%d").date(),
                    cds=int(cds),
                    dollars=Decimal(dollars),
                )
            )
    return purchases


def cdnow_lines(purchases: Sequence[Purchase]) -> list[Line]:
    """Each purchase = an activity of user = account = customer id, at noon UTC that day."""
    return sort_lines(
        [
            line(
                "activity",
                {
                    "event_id": f"cdnow-{p.row}",
                    "occurred_at": iso(datetime.combine(p.day, time(12, 0), tzinfo=UTC)),
                    "account_id": p.customer_id,
                    "user_id": p.customer_id,
                    "action": "purchase",
                },
            )
            for p in purchases
        ]
    )


def cdnow_expected(
    purchases: Sequence[Purchase], day: date, window_days: int = 30
) -> dict[str, Any]:
    """DAU/WAU/MAU at the end of `day`: distinct customers with a purchase in the last
    1 / 7 / `window_days` days up to `day`."""

    def distinct(days: int) -> int:
        first, last = window(day, days)
        return len({p.customer_id for p in purchases if first <= p.day <= last})

    dau, wau, mau = distinct(1), distinct(7), distinct(window_days)
    stickiness = (Decimal(dau) / mau if mau else Decimal(0)).quantize(
        TEN_THOUSANDTH, rounding=ROUND_HALF_EVEN
    )
    return {
        "dau": dau,
        "wau": wau,
        "mau": mau,
        "stickiness": stickiness,
        "events": sum(1 for p in purchases if p.day <= day),
    }


# -- Carpentries post-training survey ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    row: int  # 1-based data row (the header is row 0)
    at: datetime  # UTC
    score: int


def read_carpentries(path: Path) -> tuple[int, list[Response]]:
    """(number of rows, the answered ones). Blank `LikelyToRecommend` = no answer."""
    rows = 0
    answered: list[Response] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            rows += 1
            score = row["LikelyToRecommend"].strip()
            if not score:
                continue
            at = datetime.strptime(row["Date"].strip(), "%m/%d/%y %H:%M").replace(tzinfo=UTC)
            answered.append(Response(row=number, at=at, score=int(score)))
    return rows, answered


def carpentries_lines(responses: Sequence[Response]) -> list[Line]:
    """Each answered row = a survey of user `r{row}` of account `carpentries`."""
    return sort_lines(
        [
            line(
                "surveys",
                {
                    "event_id": f"carpentries-{r.row}",
                    "occurred_at": iso(r.at),
                    "account_id": "carpentries",
                    "user_id": f"r{r.row}",
                    "score": r.score,
                },
            )
            for r in responses
        ]
    )


def nps_figures(scores: Sequence[int]) -> dict[str, Any]:
    """NPS, its counts and the adjusted-Wald margin (METRICS.md), rounded to 0.1 half-even."""
    n = len(scores)
    promoters = sum(1 for s in scores if s >= 9)
    passives = sum(1 for s in scores if 7 <= s <= 8)
    detractors = sum(1 for s in scores if s <= 6)
    assert promoters + passives + detractors == n
    out: dict[str, Any] = {
        "nps_responses": n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": None,
        "nps_margin": None,
    }
    if n:
        with localcontext() as ctx:
            ctx.prec = 50
            nps = Decimal(promoters - detractors) * HUNDRED / n
            n_adj = Decimal(n + 3)
            p = (promoters + Decimal("0.75")) / n_adj
            q = (detractors + Decimal("0.75")) / n_adj
            margin = Decimal("1.96") * ((p + q - (p - q) ** 2) / n_adj).sqrt() * HUNDRED
        out["nps"] = nps.quantize(TENTH, rounding=ROUND_HALF_EVEN)
        out["nps_margin"] = margin.quantize(TENTH, rounding=ROUND_HALF_EVEN)
        # the float formula of the page, as a cross-check of the Decimal one
        pf, qf = float(p), float(q)
        assert math.isclose(
            float(margin), 1.96 * math.sqrt((pf + qf - (pf - qf) ** 2) / (n + 3)) * 100
        )
    return out


def carpentries_expected(
    responses: Sequence[Response], day: date, nps_window_days: int
) -> dict[str, Any]:
    """NPS over the respondents (one per row, so one response each) whose response falls
    in `[day - nps_window_days + 1, day]`."""
    first, last = window(day, nps_window_days)
    return nps_figures([r.score for r in responses if first <= r.at.date() <= last])
