"""Independent reference oracle for the snapshot figures (docs/METRICS.md).

A second, deliberately different implementation of what growthstream computes,
written from docs/EVENTS.md, docs/METRICS.md and docs/DECISIONS.md only (it
shares no code with ``models/``, ``state/`` or ``agents/``). It is used

* by tests, to check the real engine, and
* as the "straightforward batch computation in plain Python" baseline of the
  benchmark.

How it differs from an incremental engine on purpose:

* validation is hand-written (``json.loads`` + strict ``type(...) is`` checks);
* all times are integer microseconds since the epoch (UTC), all days integer
  day numbers since 1970-01-01 (UTC), all money integer cents;
* the stream is simulated message by message, but nothing is aggregated on the
  way: every MRR movement goes to a plain list, every user keeps the set of its
  active days, every respondent its latest response, every account its earliest
  signup; every figure is computed at the end by brute force over those lists,
  with ``fractions.Fraction`` and one half-to-even rounding per figure.

The numbered "D<n>" comments point at the lines of docs/DECISIONS.md.
"""

from __future__ import annotations

import calendar
import decimal
import heapq
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

__all__ = ["OracleConfig", "oracle_snapshot"]

DEFAULT_TOPICS: Mapping[str, str] = {
    "signups": "signup",
    "payments": "payment",
    "cancellations": "cancellation",
    "activity": "activity",
    "surveys": "survey",
}


def _default_rates() -> Mapping[str, Decimal]:
    return {"USD": Decimal(1)}


def _default_topics() -> Mapping[str, str]:
    return dict(DEFAULT_TOPICS)


@dataclass(frozen=True)
class OracleConfig:
    reporting_currency: str = "USD"
    fx_rates: Mapping[str, Decimal] = field(default_factory=_default_rates)
    window_days: int = 30
    nps_window_days: int = 90
    lateness_days: int = 30
    lapse_grace_days: int = 14
    max_message_bytes: int = 1_000_000
    topics: Mapping[str, str] = field(default_factory=_default_topics)


# --------------------------------------------------------------------------
# time helpers: integer microseconds since the epoch, integer day numbers

US_PER_DAY = 86_400 * 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
EPOCH_DATE = date(1970, 1, 1)

# RFC 3339 date-time in its usual form: "T" separator, seconds required,
# optional fraction, "Z" or a +-HH:MM offset (the offset is mandatory).
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
# a decimal number written as text: no blanks, no "_", no NaN/Infinity
_AMOUNT_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _day_of(t_us: int) -> int:
    """UTC calendar day (days since 1970-01-01) of a time (D1)."""
    return t_us // US_PER_DAY


def _us_to_datetime(t_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=t_us)


def _add_months(t_us: int, months: int) -> int | None:
    """t + months calendar months, the day clamped to the month's end (D9).

    None when the result is past year 9999: then it is after any possible
    stream time, so a lapse timer at it can never fire.
    """
    start = _us_to_datetime(t_us)
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    if year > 9999:
        return None
    month = month0 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return (start.replace(year=year, month=month, day=day) - EPOCH) // ONE_US


def _paid_through(t_us: int, interval: str, count: int) -> int | None:
    if interval == "day":
        return t_us + count * US_PER_DAY
    if interval == "week":
        return t_us + count * 7 * US_PER_DAY
    months = {"month": 1, "quarter": 3, "year": 12}[interval]
    return _add_months(t_us, months * count)


# --------------------------------------------------------------------------
# validation


class _Bad(Exception):
    """A message that goes to dead letters."""


def _reject_constant(name: str) -> object:
    raise _Bad(f"not JSON: {name}")


def _strict_float(text: str) -> Decimal:
    # A number literal that a binary double cannot hold (1e400) is an infinity
    # for any real JSON parser; NaN and infinities are rejected.
    if math.isinf(float(text)):
        raise _Bad(f"number out of range: {text}")
    return Decimal(text)


def _loads(text: str) -> object:
    try:
        return json.loads(text, parse_float=_strict_float, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"not JSON: {exc}") from None


def _compact_json(value: object) -> str:
    """The message as a producer would send it: compact JSON, UTF-8 text."""
    if type(value) is dict:
        parts = []
        for key, item in value.items():
            parts.append(json.dumps(key, ensure_ascii=False) + ":" + _compact_json(item))
        return "{" + ",".join(parts) + "}"
    if type(value) is list:
        parts = []
        for item in value:
            parts.append(_compact_json(item))
        return "[" + ",".join(parts) + "]"
    if type(value) is Decimal:
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _id(msg: dict[str, object], name: str) -> str:
    value = msg.get(name)
    if type(value) is not str or not 1 <= len(value) <= 128:
        raise _Bad(f"{name} must be a string of 1-128 chars")
    return value


def _opt_str(msg: dict[str, object], name: str) -> str | None:
    value = msg.get(name)
    if value is not None and type(value) is not str:
        raise _Bad(f"{name} must be a string")
    return value


def _opt_bool(msg: dict[str, object], name: str, default: bool) -> bool:
    if name not in msg:
        return default  # DECISIONS 26: an explicit null is a wrong type here
    value = msg[name]
    if type(value) is not bool:
        raise _Bad(f"{name} must be a bool")
    return value


def _opt_enum(msg: dict[str, object], name: str, allowed: tuple[str, ...], default: str) -> str:
    if name not in msg:
        return default  # DECISIONS 26: an explicit null is a wrong type here
    value = msg[name]
    if type(value) is not str or value not in allowed:
        raise _Bad(f"{name} must be one of {allowed}")
    return value


def _timestamp(value: object, name: str) -> int:
    if type(value) is not str or not _TIMESTAMP_RE.fullmatch(value):
        raise _Bad(f"{name} must be an RFC 3339 timestamp with offset")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Bad(f"{name}: {exc}") from None
    if parsed.utcoffset() is None:
        raise _Bad(f"{name} is naive")
    try:
        parsed.astimezone(UTC)  # must exist as a UTC time
    except OverflowError:
        raise _Bad(f"{name} out of range") from None
    return (parsed - EPOCH) // ONE_US


def _amount(value: object) -> Decimal:
    if type(value) is str:
        if not _AMOUNT_RE.fullmatch(value):
            raise _Bad("amount is not a decimal number")
        amount = Decimal(value)
    elif type(value) is int:
        amount = Decimal(value)
    elif type(value) is Decimal:
        amount = value
    else:
        raise _Bad("amount must be a JSON string or number")
    if not amount.is_finite() or amount < 0:
        raise _Bad("amount must be finite and >= 0")
    return amount


def _validate(kind: str, msg: object, rates: Mapping[str, Fraction]) -> dict[str, object]:
    """The event as a plain dict of checked, normalised fields."""
    if type(msg) is not dict:
        raise _Bad("value is not a JSON object")
    event: dict[str, object] = {
        "kind": kind,
        "event_id": _id(msg, "event_id"),
        "account_id": _id(msg, "account_id"),
        "t": _timestamp(msg.get("occurred_at"), "occurred_at"),
    }
    if kind == "signup":
        _opt_str(msg, "user_id")
        _opt_str(msg, "plan")
        _opt_bool(msg, "trial", False)
        _opt_str(msg, "channel")
    elif kind == "payment":
        if "amount" not in msg:
            raise _Bad("amount missing")
        event["amount"] = _amount(msg["amount"])
        currency = msg.get("currency")
        if type(currency) is not str or not _CURRENCY_RE.fullmatch(currency):
            raise _Bad("currency must be 3 upper-case letters")
        if currency not in rates:
            raise _Bad(f"unknown currency {currency}")
        event["rate"] = rates[currency]
        event["status"] = _opt_enum(msg, "status", ("succeeded", "failed", "refunded"), "succeeded")
        event["payment_kind"] = _opt_enum(msg, "kind", ("subscription", "one_time"), "subscription")
        event["interval"] = _opt_enum(
            msg, "interval", ("day", "week", "month", "quarter", "year"), "month"
        )
        count = msg.get("interval_count", 1)
        if type(count) is not int or count < 1:
            raise _Bad("interval_count must be an int >= 1")
        event["interval_count"] = count
        _opt_str(msg, "plan")
    elif kind == "cancellation":
        effective = msg.get("effective_at")
        if effective is None:
            event["effective"] = event["t"]
        else:
            event["effective"] = _timestamp(effective, "effective_at")
            if event["effective"] < event["t"]:
                raise _Bad("effective_at before occurred_at")
        _opt_str(msg, "reason")
        _opt_bool(msg, "voluntary", True)
        _opt_str(msg, "comment")
    elif kind == "activity":
        event["user_id"] = _id(msg, "user_id")
        _opt_str(msg, "action")
    elif kind == "survey":
        event["user_id"] = _id(msg, "user_id")
        score = msg.get("score")
        if type(score) is not int or not 0 <= score <= 10:
            raise _Bad("score must be an int 0..10")
        event["score"] = score
        _opt_str(msg, "comment")
    else:  # a topics mapping naming an unknown event kind
        raise _Bad(f"unknown event kind {kind}")
    return event


def _read_line(line: bytes | str, config: OracleConfig, rates: Mapping[str, Fraction]) -> dict:
    """One replay line -> a validated event, or raises _Bad (a dead letter)."""
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad("replay line is not UTF-8") from None
    else:
        text = line
    wrapper = _loads(text)
    if (
        type(wrapper) is not dict
        or type(wrapper.get("topic")) is not str
        or wrapper["topic"] not in config.topics
        or "value" not in wrapper
    ):
        raise _Bad("bad_replay_line")
    kind = config.topics[wrapper["topic"]]
    value = wrapper["value"]
    # the raw message: the string's UTF-8 bytes, or the object as compact JSON
    try:
        raw_text = value if type(value) is str else _compact_json(value)
        size = len(raw_text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: not a UTF-8 message
        raise _Bad("message is not UTF-8") from None
    except RecursionError:
        raise _Bad("message nested too deeply") from None
    if size > config.max_message_bytes:
        raise _Bad("message too large")
    message = _loads(value) if type(value) is str else value
    return _validate(kind, message, rates)


# --------------------------------------------------------------------------
# the simulation


@dataclass
class _Account:
    status: str = "prospect"  # prospect | paying | churned (D14)
    mrr: int = 0  # cents
    changed_at: int | None = None  # D7
    streak_start: int | None = None  # day of the last new / reactivation
    cancel: tuple[int, int, int] | None = None  # scheduled: (effective, seq, requested at)
    lapse_seq: int | None = None  # the live lapse timer


@dataclass
class _Stream:
    config: OracleConfig
    W: int | None = None
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    seen_ids: dict[str, int] = field(default_factory=dict)  # event_id -> its day
    accounts: dict[str, _Account] = field(default_factory=dict)
    timers: list[tuple[int, int, str, str]] = field(default_factory=list)  # heap
    seq: int = 0
    # what the figures are computed from, at the end
    movements: list[tuple[int, str, int, int]] = field(default_factory=list)
    active_days: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    latest_response: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    first_signup: dict[str, int] = field(default_factory=dict)

    # ---- per message: METRICS.md "Order of work", D3-D6

    def offer(self, event: dict) -> None:
        t = event["t"]
        lateness = self.config.lateness_days * US_PER_DAY
        if self.W is not None and t < self.W - lateness:  # D3: strict, W before this event
            self.dead_letters += 1
            return
        if self._is_duplicate(event["event_id"]):
            self.duplicates += 1
            return
        self.seen_ids[event["event_id"]] = _day_of(t)
        self.events += 1
        self.W = t if self.W is None else max(self.W, t)
        self._fire_due_timers()
        self._apply(event)
        self._fire_due_timers()  # D4: what the event itself made due

    def _is_duplicate(self, event_id: str) -> bool:
        day = self.seen_ids.get(event_id)
        if day is None:
            return False
        # D6: forgotten once every instant of its day is older than W - L
        assert self.W is not None
        forgotten = (day + 1) * US_PER_DAY <= self.W - self.config.lateness_days * US_PER_DAY
        return not forgotten

    # ---- timers (D5): a heap of (effect, seq, kind, account); stale entries skipped

    def _new_timer(self, effect: int, kind: str, account_id: str) -> int:
        self.seq += 1
        heapq.heappush(self.timers, (effect, self.seq, kind, account_id))
        return self.seq

    def _fire_due_timers(self) -> None:
        assert self.W is not None
        while self.timers and self.timers[0][0] <= self.W:
            effect, seq, kind, account_id = heapq.heappop(self.timers)
            account = self.accounts[account_id]
            if kind == "cancel":
                if account.cancel is None or account.cancel[1] != seq:
                    continue  # replaced, withdrawn or cleared
                account.cancel = None
            else:
                if account.lapse_seq != seq:
                    continue  # a newer payment set a new one
                account.lapse_seq = None
            # D7: a timer does not move changed_at; D11/D12: no movement unless paying
            self._set_mrr(account, 0, _day_of(effect))

    # ---- MRR movements (METRICS.md "Movements")

    def _set_mrr(self, account: _Account, after: int, day: int) -> None:
        before = account.mrr
        if account.status == "paying":
            if after == before:
                return
            if after > before:
                self.movements.append((day, "expansion", after - before, account.streak_start))
            elif after > 0:
                self.movements.append((day, "contraction", before - after, account.streak_start))
            else:
                self.movements.append((day, "churn", before, account.streak_start))
                account.status = "churned"
        else:
            if after == 0:
                return  # D9: a 0 price on a prospect keeps it a prospect (same when churned)
            kind = "new" if account.status == "prospect" else "reactivation"
            account.streak_start = day
            account.status = "paying"
            self.movements.append((day, kind, after, day))
        account.mrr = after

    # ---- applying one event

    def _apply(self, event: dict) -> None:
        kind = event["kind"]
        if kind == "payment":
            self._apply_payment(event)
        elif kind == "cancellation":
            self._apply_cancellation(event)
        elif kind == "activity":
            user = (event["account_id"], event["user_id"])
            self.active_days.setdefault(user, set()).add(_day_of(event["t"]))
        elif kind == "survey":
            respondent = (event["account_id"], event["user_id"])
            latest = self.latest_response.get(respondent)
            if latest is None or event["t"] >= latest[0]:  # D17
                self.latest_response[respondent] = (event["t"], event["score"])
        elif kind == "signup":
            account_id = event["account_id"]
            earlier = self.first_signup.get(account_id)
            if earlier is None or event["t"] < earlier:  # D18
                self.first_signup[account_id] = event["t"]

    def _account(self, account_id: str) -> _Account:
        if account_id not in self.accounts:
            self.accounts[account_id] = _Account()
        return self.accounts[account_id]

    def _is_stale(self, account: _Account, t: int) -> bool:
        return account.changed_at is not None and t < account.changed_at  # D7, D8

    def _apply_payment(self, event: dict) -> None:
        if event["status"] != "succeeded" or event["payment_kind"] != "subscription":
            return  # D10
        account = self._account(event["account_id"])
        t = event["t"]
        if self._is_stale(account, t):
            return
        account.changed_at = t
        factor = {
            "day": Fraction(365, 12),
            "week": Fraction(52, 12),
            "month": Fraction(1),
            "quarter": Fraction(1, 3),
            "year": Fraction(1, 12),
        }[event["interval"]]
        exact = Fraction(event["amount"]) * event["rate"] / event["interval_count"] * factor
        monthly_cents = round(exact * 100)  # Fraction rounds half to even
        # lapse timer for this payment (D9, D12); the previous one is dead
        account.lapse_seq = None
        grace = self.config.lapse_grace_days
        paid_through = _paid_through(t, event["interval"], event["interval_count"])
        if grace > 0 and paid_through is not None:
            lapse_at = paid_through + grace * US_PER_DAY
            account.lapse_seq = self._new_timer(lapse_at, "lapse", event["account_id"])
        # withdrawal of a scheduled cancellation requested strictly before (D9)
        if account.cancel is not None and t > account.cancel[2]:
            account.cancel = None
        self._set_mrr(account, monthly_cents, _day_of(t))

    def _apply_cancellation(self, event: dict) -> None:
        account = self._account(event["account_id"])
        t = event["t"]
        if self._is_stale(account, t):
            return
        account.changed_at = t
        effective = event["effective"]
        assert self.W is not None
        if effective <= self.W:  # D11: applies now, clears any scheduled one
            account.cancel = None
            self._set_mrr(account, 0, _day_of(effective))
        else:  # D11: replaces any scheduled one
            seq = self._new_timer(effective, "cancel", event["account_id"])
            account.cancel = (effective, seq, t)


# --------------------------------------------------------------------------
# figures, by brute force at the end


# a context that never rounds, for building results of any size exactly
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _round(value: Fraction, places: int) -> Decimal:
    """Round half to even to `places` decimals, exactly (D20)."""
    return Decimal(round(value * 10**places)).scaleb(-places, _EXACT)


def _round_sqrt(value: Fraction) -> int:
    """sqrt(value) rounded half to even to an integer, exactly."""
    floor_root = math.isqrt(value.numerator // value.denominator)
    # compare value with (floor_root + 1/2)^2 = (2 floor_root + 1)^2 / 4
    left = 4 * value.numerator
    right = (2 * floor_root + 1) ** 2 * value.denominator
    if left < right:
        return floor_root
    if left > right:
        return floor_root + 1
    return floor_root if floor_root % 2 == 0 else floor_root + 1


def _money(cents: int | Fraction) -> Decimal:
    return _round(Fraction(cents, 100), 2)


def _percent(numerator: int | Fraction, denominator: int | Fraction) -> Decimal | None:
    if denominator == 0:
        return None
    return _round(Fraction(numerator) / Fraction(denominator) * 100, 2)


def _figures(stream: _Stream) -> dict[str, object]:
    config = stream.config
    n = config.window_days
    if stream.W is None:
        today = None
        as_of = None
        day_text = None
    else:
        today = _day_of(stream.W)
        as_of = _us_to_datetime(stream.W).isoformat().replace("+00:00", "Z")
        day_text = (EPOCH_DATE + timedelta(days=today)).isoformat()

    # accounts now
    paying = [a for a in stream.accounts.values() if a.status == "paying"]
    mrr = sum(a.mrr for a in paying)
    paying_customers = len(paying)

    # movements of the window [D-N+1, D]; starting cohort: streak start <= D-N (D15)
    sums = {"new": 0, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0}
    counts = {"new": 0, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0}
    cohort = {"expansion": 0, "contraction": 0, "churn": 0}
    cohort_churns = 0
    if today is not None:
        for day, kind, cents, streak_start in stream.movements:
            if not today - n + 1 <= day <= today:
                continue
            sums[kind] += cents
            counts[kind] += 1
            if streak_start <= today - n and kind in cohort:
                cohort[kind] += cents
                if kind == "churn":
                    cohort_churns += 1

    net_new = (
        sums["new"] + sums["expansion"] + sums["reactivation"] - sums["contraction"] - sums["churn"]
    )
    mrr_at_start = mrr - net_new
    new_customers = counts["new"]
    churned_customers = counts["churn"]
    reactivated_customers = counts["reactivation"]
    customers_at_start = (
        paying_customers - new_customers - reactivated_customers + churned_customers
    )

    customer_churn = (
        None if customers_at_start == 0 else Fraction(cohort_churns, customers_at_start)
    )
    arpa = None if paying_customers == 0 else Fraction(mrr, 100 * paying_customers)
    clv = None
    if arpa is not None and customer_churn:  # null when the rate is 0 or null
        clv = _round(arpa / customer_churn, 2)

    # activity: a user's latest active day (D19)
    dau = wau = mau = 0
    if today is not None:
        for days in stream.active_days.values():
            last = max(days)
            dau += last == today
            wau += last >= today - 6
            mau += last >= today - n + 1
    stickiness = Decimal("0.0000") if mau == 0 else _round(Fraction(dau, mau), 4)

    # NPS over respondents whose latest response is in [D-M+1, D] (D17)
    promoters = passives = detractors = 0
    if today is not None:
        m = config.nps_window_days
        for t, score in stream.latest_response.values():
            if today - m + 1 <= _day_of(t) <= today:
                if score >= 9:
                    promoters += 1
                elif score >= 7:
                    passives += 1
                else:
                    detractors += 1
    responses = promoters + passives + detractors
    nps = nps_margin = None
    if responses:
        nps = _round(Fraction(promoters - detractors, responses) * 100, 1)
        n_adj = responses + 3
        p = Fraction(4 * promoters + 3, 4 * n_adj)
        q = Fraction(4 * detractors + 3, 4 * n_adj)
        radicand = (p + q - (p - q) ** 2) / n_adj
        # 1.96 x sqrt(radicand) x 100 to 1 decimal = round(sqrt(1960^2 x radicand)) / 10
        nps_margin = _round(Fraction(_round_sqrt(1960**2 * radicand), 10), 1)

    signups = 0
    if today is not None:
        signups = sum(
            1 for t in stream.first_signup.values() if today - n + 1 <= _day_of(t) <= today
        )

    return {
        "mrr": _money(mrr),
        "arr": _money(12 * mrr),
        "paying_customers": paying_customers,
        "arpa": None if arpa is None else _round(arpa, 2),
        "new_mrr": _money(sums["new"]),
        "expansion_mrr": _money(sums["expansion"]),
        "contraction_mrr": _money(sums["contraction"]),
        "churned_mrr": _money(sums["churn"]),
        "reactivation_mrr": _money(sums["reactivation"]),
        "net_new_mrr": _money(net_new),
        "new_customers": new_customers,
        "churned_customers": churned_customers,
        "reactivated_customers": reactivated_customers,
        "mrr_at_start": _money(mrr_at_start),
        "customers_at_start": customers_at_start,
        "customer_churn_rate": None if customer_churn is None else _round(customer_churn * 100, 2),
        "gross_mrr_churn_rate": _percent(sums["churn"] + sums["contraction"], mrr_at_start),
        "net_mrr_churn_rate": _percent(
            sums["churn"] + sums["contraction"] - sums["expansion"] - sums["reactivation"],
            mrr_at_start,
        ),
        "grr": _percent(mrr_at_start - cohort["contraction"] - cohort["churn"], mrr_at_start),
        "nrr": _percent(
            mrr_at_start + cohort["expansion"] - cohort["contraction"] - cohort["churn"],
            mrr_at_start,
        ),
        "retention_rate": _percent(paying_customers - new_customers, customers_at_start),
        "clv": clv,
        "dau": dau,
        "wau": wau,
        "mau": mau,
        "stickiness": stickiness,
        "nps": nps,
        "nps_responses": responses,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps_margin": nps_margin,
        "signups": signups,
        "events": stream.events,
        "duplicates": stream.duplicates,
        "dead_letters": stream.dead_letters,
        "as_of": as_of,
        "day": day_text,
    }


DEFAULT_CONFIG = OracleConfig()


def oracle_snapshot(
    lines: Iterable[bytes], config: OracleConfig = DEFAULT_CONFIG
) -> dict[str, object]:
    """Replay `lines` (EVENTS.md "Replay file") and return the figures at day D.

    Blank lines are skipped; any other line that is not a valid, in-time,
    first-of-its-id event counts in `dead_letters` or `duplicates`.
    """
    rates = {code: Fraction(Decimal(str(rate))) for code, rate in config.fx_rates.items()}
    rates[config.reporting_currency] = Fraction(1)
    stream = _Stream(config)
    for line in lines:
        if not line.strip():
            continue
        try:
            event = _read_line(line, config, rates)
        except _Bad:
            stream.dead_letters += 1
            continue
        stream.offer(event)
    return _figures(stream)
