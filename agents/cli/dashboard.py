"""A compact terminal dashboard of a snapshot (`growthstream demo`).

Why: a snapshot is forty flat figures; a person wants to see at a glance what
the business has (MRR, customers), what moved it in the window, how well it
keeps customers and revenue, how much the product is used and liked, and
whether the stream itself was healthy. The layout fits 80 columns so that it
reads the same in any terminal, log or CI output; colours are opt-in because a
file or a pipe must not receive escape codes.

Values may be `Decimal`, `int`, `float`, numeric strings or None (a snapshot
read back from JSON); a missing or null figure shows as "—".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Final

WIDTH: Final = 78
"""Visible width of the dashboard; two columns short of 80 so nothing wraps."""

DASH: Final = "—"
UNCOUNTED: Final = "amount only"
"""Where the snapshot has a movement's amount but no count of accounts (expansion,
contraction): said, rather than left blank as if a count were missing."""
_SYMBOLS: Final = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_EIGHTHS: Final = " ▏▎▍▌▋▊▉"
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
_MAX_BAR: Final = 30
_COLUMN_GAP: Final = 2


class _Style:
    """ANSI styling that is the identity when colours are off."""

    __slots__ = ("on",)

    _CODES: Final = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "cyan": "36",
    }

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, *styles: str) -> str:
        if not self.on or not styles or not text:
            return text
        codes = ";".join(self._CODES[style] for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def visible_len(text: str) -> int:
    """Length of `text` on screen: ANSI escapes take no room."""
    return len(_ANSI.sub("", text))


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - visible_len(text))


def _lpad(text: str, width: int) -> str:
    return " " * max(0, width - visible_len(text)) + text


# -- numbers -----------------------------------------------------------------------------


def _number(value: object) -> Decimal | None:
    """A figure as a Decimal, whatever form the snapshot holds it in; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int | float | str):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _money(value: Decimal | None, currency: str, *, signed: bool = False) -> str:
    """`$12,345.67`, `-$170.64`, `+$9,859.67` (signed), or `CHF 1,000.00`."""
    if value is None:
        return DASH
    symbol = _SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


def _count(value: Decimal | None) -> str:
    return DASH if value is None else f"{int(value):,}"


def _percent(value: Decimal | None, places: int = 2) -> str:
    return DASH if value is None else f"{value:,.{places}f} %"


def _bar(value: Decimal, largest: Decimal, width: int) -> str:
    """A bar of unicode blocks, in eighths; a non-zero value always shows a sliver."""
    if largest <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = max(1, int(value / largest * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


# -- sections ----------------------------------------------------------------------------


class _Dashboard:
    """Builds the sections from one snapshot."""

    __slots__ = ("currency", "snapshot", "style", "window_days")

    def __init__(
        self,
        snapshot: Mapping[str, object],
        style: _Style,
        currency: str,
        window_days: int | None,
    ) -> None:
        self.snapshot = snapshot
        self.style = style
        self.currency = currency
        self.window_days = window_days

    def num(self, name: str) -> Decimal | None:
        return _number(self.snapshot.get(name))

    def money(self, name: str, *, signed: bool = False) -> str:
        return self.dim_dash(_money(self.num(name), self.currency, signed=signed))

    def count(self, name: str) -> str:
        return self.dim_dash(_count(self.num(name)))

    def customers(self, name: str) -> str:
        value = self.num(name)
        return f"{self.count(name)} customer{'' if value == 1 else 's'}"

    def percent(self, name: str, places: int = 2) -> str:
        return self.dim_dash(_percent(self.num(name), places))

    def dim_dash(self, text: str) -> str:
        return self.style(text, "dim") if text == DASH else text

    def title(self, text: str) -> str:
        return self.style(text, "bold", "cyan")

    # -- the parts -------------------------------------------------------------------

    def header(self) -> list[str]:
        day, as_of = self.snapshot.get("day"), self.snapshot.get("as_of")
        parts = [self.style("growthstream", "bold")]
        if day is None and as_of is None:
            parts.append("no events yet")
        else:
            parts.append(f"day {day if day is not None else DASH}")
            parts.append(f"as of {as_of if as_of is not None else DASH}")
        parts.append(f"money in {self.currency}")
        return [" " + " · ".join(parts), " " + self.style("═" * (WIDTH - 1), "dim")]

    def headline(self) -> list[str]:
        cells = [
            f"{self.style('MRR', 'bold')} {self.style(self.money('mrr'), 'bold')}",
            f"ARR {self.money('arr')}",
            f"Paying customers {self.count('paying_customers')}",
            f"Subscriptions {self.count('active_subscriptions')}",
            f"Seats {self.count('seats')}",
            f"ARPA {self.money('arpa')}",
        ]
        return _flow(cells, "   ", indent="  ")

    def movements(self) -> list[str]:
        """The window's MRR movements as signed amounts with bars on one scale."""
        rows = (
            ("New", "new_mrr", 1, "new_customers"),
            ("Expansion", "expansion_mrr", 1, None),
            ("Reactivation", "reactivation_mrr", 1, "reactivated_customers"),
            ("Contraction", "contraction_mrr", -1, None),
            ("Churned", "churned_mrr", -1, "churned_customers"),
        )  # the snapshot counts no accounts for expansion and contraction, only amounts
        values = [self.num(name) for _label, name, _sign, _count_name in rows]
        amounts = [
            _money(None if v is None else v * sign, self.currency, signed=True)
            for v, (_label, _name, sign, _c) in zip(values, rows, strict=True)
        ]
        counts = [
            self.style(UNCOUNTED, "dim") if count_name is None else self.customers(count_name)
            for _label, _name, _sign, count_name in rows
        ]
        net = _money(self.num("net_new_mrr"), self.currency, signed=True)
        label_w, amount_w = 14, max(visible_len(text) for text in [*amounts, net])
        count_w = max(visible_len(text) for text in counts)
        bar_w = max(0, min(_MAX_BAR, WIDTH - 2 - label_w - amount_w - 2 - 2 - count_w))
        largest = max((v for v in values if v is not None), default=Decimal(0))
        lines = [" " + self.title(self._window_title())]
        for (label, _name, sign, _c), value, amount, count in zip(
            rows, values, amounts, counts, strict=True
        ):
            colour = "green" if sign > 0 else "red"
            bar = _bar(value or Decimal(0), largest, bar_w)
            shown = self.dim_dash(amount)
            lines.append(
                f"  {label:<{label_w}}{_lpad(shown, amount_w)}  "
                f"{_pad(self.style(bar, colour), bar_w)}  {count}".rstrip()
            )
        lines.append(self._net_row(net, label_w, amount_w))
        return lines

    def _window_title(self) -> str:
        day = self.snapshot.get("day")
        span = "window" if self.window_days is None else f"last {self.window_days} days"
        return f"MRR movements · {span}" + ("" if day is None else f" to {day}")

    def _net_row(self, net: str, label_w: int, amount_w: int) -> str:
        value = self.num("net_new_mrr")
        colour = "green" if value is not None and value > 0 else "red" if value else "dim"
        start = (
            f"from {self.money('mrr_at_start')} at start ({self.customers('customers_at_start')})"
        )
        label = self.style("Net new".ljust(label_w), "bold")
        row = f"  {label}{_lpad(self.style(net, 'bold', colour), amount_w)}  {start}"
        return row if visible_len(row) <= WIDTH else row[: row.index(start)].rstrip()

    def retention(self) -> list[str]:
        rows = [
            ("Customer churn", self.percent("customer_churn_rate")),
            ("Gross MRR churn", self.percent("gross_mrr_churn_rate")),
            ("Net MRR churn", self.percent("net_mrr_churn_rate")),
            ("GRR", self.percent("grr")),
            ("NRR", self.percent("nrr")),
            ("Retention (CRR)", self.percent("retention_rate")),
            ("CLV", self.money("clv")),
        ]
        return [" " + self.title("Churn & retention"), *_table(rows)]

    def engagement(self) -> list[str]:
        stickiness = self.num("stickiness")
        sticky = self.dim_dash(DASH if stickiness is None else f"{stickiness:.4f}")
        rows = [
            ("DAU", self.count("dau"), ""),
            ("WAU", self.count("wau"), ""),
            ("MAU", self.count("mau"), ""),
            ("Stickiness", sticky, self.style("DAU / MAU", "dim")),
            ("Sign-ups", self.count("signups"), self.style("in the window", "dim")),
        ]
        return [" " + self.title("Engagement"), *_table(rows, label_w=12)]

    def nps(self) -> list[str]:
        """Score with its margin, then each group's count and share of the respondents."""
        score, margin = self.num("nps"), self.num("nps_margin")
        shown = DASH if score is None else f"{score:+.1f}"
        if score is not None and margin is not None:
            shown += f" ± {margin:.1f}"
        colour = "dim" if score is None else "green" if score >= 30 else "red" if score < 0 else ""
        header = f" {self.title('NPS')}  {self.style(shown, 'bold', colour) if colour else shown}"
        total = self.num("nps_responses")
        rows = []
        for label, name in (
            ("Promoters", "promoters"),
            ("Passives", "passives"),
            ("Detractors", "detractors"),
        ):
            value = self.num(name)
            share = "" if not total or value is None else f"{value / total * 100:.1f} %"
            rows.append((label, self.count(name), self.style(share, "dim")))
        rows.append(("Respondents", self.count("nps_responses"), ""))
        return [header, *_table(rows, label_w=12)]

    def stream(self) -> list[str]:
        cells = [
            f"{self.count('events')} events",
            f"{self.count('duplicates')} duplicates",
            f"{self.count('dead_letters')} dead letters",
        ]
        return _flow(cells, " · ", indent="  ", first=" " + self.title("Stream") + "  ")


def _table(rows: Sequence[tuple[str, ...]], label_w: int = 17) -> list[str]:
    """Rows of (label, value[, note]): values right-aligned on one edge, notes after them."""
    value_w = max(visible_len(row[1]) for row in rows)
    lines = []
    for label, value, *note in rows:
        line = f"  {label:<{label_w}}{_lpad(value, value_w)}"
        if note and note[0]:
            line += f"  {note[0]}"
        lines.append(line)
    return lines


def _flow(
    cells: Sequence[str], separator: str, *, indent: str, first: str | None = None
) -> list[str]:
    """Cells joined on a line, wrapped onto more lines when the next one would not fit."""
    lines: list[str] = []
    current = first if first is not None else indent
    empty = True
    for cell in cells:
        joined = cell if empty else separator + cell
        if not empty and visible_len(current + joined) > WIDTH:
            lines.append(current)
            current, joined = indent, cell
        current += joined
        empty = False
    lines.append(current)
    return lines


def _side_by_side(left: list[str], right: list[str]) -> list[str]:
    """Two columns when both fit in the width, else one under the other."""
    left_w = max((visible_len(line) for line in left), default=0) + _COLUMN_GAP
    right_w = max((visible_len(line) for line in right), default=0)
    if left_w + right_w > WIDTH:
        return [*left, "", *right]
    height = max(len(left), len(right))
    left = left + [""] * (height - len(left))
    right = right + [""] * (height - len(right))
    return [(_pad(a, left_w) + b).rstrip() for a, b in zip(left, right, strict=True)]


def render(
    snapshot: Mapping[str, object],
    *,
    color: bool = False,
    reporting_currency: str | None = None,
    window_days: int | None = None,
) -> str:
    """The dashboard of `snapshot` as text of at most 80 columns (ANSI colours if `color`).

    Money is shown in the snapshot's own `currency`; `reporting_currency` only stands in
    for a snapshot without one (an older file), else USD. `window_days` only labels the
    movements' window ("last 30 days"); the snapshot itself does not say how long it is.
    """
    own = snapshot.get("currency")
    currency = own if isinstance(own, str) and own else reporting_currency or "USD"
    board = _Dashboard(snapshot, _Style(color), currency, window_days)
    lines = [
        *board.header(),
        *board.headline(),
        "",
        *board.movements(),
        "",
        *_side_by_side(board.retention(), [*board.engagement(), "", *board.nps()]),
        "",
        *board.stream(),
    ]
    return "\n".join(line.rstrip() for line in lines)
