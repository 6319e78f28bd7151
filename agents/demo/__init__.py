"""A deterministic synthetic SaaS event stream, with traps, for the demo, tests and benchmarks.

Why it exists: the processor's rules only show their worth on a stream that
looks like a real product's: accounts that trial and never pay or convert, pay
monthly, quarterly or yearly in three currencies, upgrade and downgrade, cancel
now or at period end (and sometimes change their mind), fail to pay and lapse,
and come back later; users who are active on some days and not others, and
answer surveys. And it must arrive the way a bus delivers it: in event-time
order, except for the duplicates, stragglers and malformed messages that every
real bus carries (the "traps"). One seed gives one stream, line for line, so a
test or a benchmark can name the stream it ran on.

How: an account is planned when it signs up: its subscription lifecycle and
survey answers are a handful of events, drawn at once. Activity, which is most
of the stream, is drawn a day at a time from an agenda of the users due that
day. Each day's events are sorted and emitted, so memory holds one day plus
the plans, and the cost is linear in the number of lines. A second pass (the
traps) adds the traps to that ordered stream; `traps=False` gives the same
world without them.

Only `random.Random` instances seeded from `WorldSpec.seed` are used: no global
random state and no wall clock.

The modules, in the order a line is made:

- `spec`: `WorldSpec`, the line types, the trap kinds and the demo's FX rates;
- `world`: `generate`, `generate_labelled`; the day-by-day scheduler;
- `frame`: a world's period, timestamps and event ids, handed down to the parts;
- `accounts`: one customer, its users, their activity and survey answers;
- `lifecycle`: an account's sign-up, payments, plan changes, churn and comebacks
  (through `PlannedAccount`, what it needs of an account);
- `billing`: tiers, billing periods, currencies and prices;
- `instants`: integer-second time, calendar periods, RFC 3339 text;
- `traps`: duplicates, out-of-order and late lines, added to the ordered stream;
- `bad_messages`: the malformed messages, one way per dead-letter reason;
- `jsonl`: `write_jsonl`, the lines as a replay file.
"""

from agents.demo.jsonl import write_jsonl
from agents.demo.spec import (
    BAD_KINDS,
    DEMO_FX_RATES,
    DUPLICATE,
    LATE,
    OUT_OF_ORDER,
    TRAP_KINDS,
    Line,
    WorldSpec,
)
from agents.demo.world import generate, generate_labelled

__all__ = [
    "BAD_KINDS",
    "DEMO_FX_RATES",
    "DUPLICATE",
    "LATE",
    "OUT_OF_ORDER",
    "TRAP_KINDS",
    "Line",
    "WorldSpec",
    "generate",
    "generate_labelled",
    "write_jsonl",
]
