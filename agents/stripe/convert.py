"""A file of Stripe events (one event object a line) -> replay lines for the input topics,
the dead letters of the events that cannot be mapped, and the counts the commands print.

`growthstream stripe convert` writes the lines, `stripe import` publishes them, the
webhook produces one event's worth: all three go through `map_event` and `replay_line`
here, so a Stripe event means the same whichever way it came in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from agents.stripe.mapping import Event, Ignored, Mapped, Rejected, Result, map_event
from models.decode import Rejection
from models.outputs import DeadLetter
from models.settings import Settings

DEAD_LETTER_PREFIX: Final = "stripe_"
"""A rejected Stripe event's dead letter has type `stripe_{reason}` (`stripe_missing_field`,
`stripe_old_api_version`...), apart from the engine's own reasons."""


def read_event(raw: bytes) -> Result:
    """A line or webhook body: parsed (bytes as Stripe sent them) and mapped."""
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejected(None, "not_json", f"not JSON: {exc}")
    return map_event(event)


def topic_of(settings: Settings) -> dict[str, str]:
    """Event kind -> the configured input topic (`GROWTH_TOPIC_PAYMENTS`, ...)."""
    return {kind: topic for topic, kind in settings.input_topics().items()}


def replay_line(event: Event, topics: Mapping[str, str]) -> dict[str, Any]:
    """EVENTS.md "Replay file": `{"topic", "key": account_id, "value"}`."""
    return {"topic": topics[event.kind], "key": event.account_id, "value": event.value}


def dead_letter(rejected: Rejected, raw: bytes, *, offset: int | None, limit: int) -> DeadLetter:
    """The dead letter of a Stripe event that cannot be mapped: its bytes, its position in
    the file (`offset`; none for a webhook), keyed by its customer when known."""
    rejection = Rejection(DEAD_LETTER_PREFIX + rejected.reason, _described(rejected))
    return DeadLetter.of(
        rejection, raw, topic=None, partition=None, offset=offset, key=rejected.account_id,
        raw_limit=limit,
    )  # fmt: skip


def _described(rejected: Rejected) -> str:
    kind = rejected.stripe_type or "a Stripe event"
    return f"{kind}: {rejected.message}"


@dataclass(slots=True)
class StripeSummary:
    """What a run did with its Stripe events, by kind of outcome."""

    read: int = 0
    """Stripe events read (non-blank lines)."""
    mapped: int = 0
    produced: dict[str, int] = field(default_factory=dict)
    """Our events, by input topic."""
    ignored: dict[str, int] = field(default_factory=dict)
    """Ignored Stripe events, by type."""
    rejected: dict[str, int] = field(default_factory=dict)
    """Rejected Stripe events, by reason."""
    examples: dict[str, str] = field(default_factory=dict)
    """The first message of each rejection reason."""

    def count(self, result: Result, topics: Mapping[str, str]) -> None:
        self.read += 1
        if isinstance(result, Mapped):
            self.mapped += 1
            for event in result.events:
                topic = topics[event.kind]
                self.produced[topic] = self.produced.get(topic, 0) + 1
        elif isinstance(result, Ignored):
            self.ignored[result.stripe_type] = self.ignored.get(result.stripe_type, 0) + 1
        else:
            self.rejected[result.reason] = self.rejected.get(result.reason, 0) + 1
            self.examples.setdefault(result.reason, _described(result))

    def describe(self) -> str:
        """One line: `read 40 Stripe events: 31 mapped to 33 events (payments 22, ...);
        8 ignored (customer.subscription.created 6, ...); 1 rejected (missing_field 1:
        invoice.paid: data.object.customer is missing)`."""
        produced = sum(self.produced.values())
        text = f"read {self.read:,} Stripe {_noun(self.read, 'event')}: {self.mapped:,} mapped"
        text += f" to {produced:,} {_noun(produced, 'event')}" + _counts(self.produced)
        ignored = sum(self.ignored.values())
        text += f"; {ignored:,} ignored" + _counts(self.ignored)
        rejected = sum(self.rejected.values())
        text += f"; {rejected:,} rejected"
        if self.rejected:
            parts = [
                f"{reason} {count:,}: {self.examples[reason][:160]}"
                for reason, count in sorted(self.rejected.items(), key=_by_count)
            ]
            text += " (" + "; ".join(parts) + ")"
        return text


def _noun(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _counts(counts: Mapping[str, int]) -> str:
    if not counts:
        return ""
    return " (" + ", ".join(f"{k} {n:,}" for k, n in sorted(counts.items(), key=_by_count)) + ")"


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


@dataclass(slots=True)
class Conversion:
    lines: list[bytes]
    """Replay lines (without newlines)."""
    dead_letters: list[DeadLetter]
    summary: StripeSummary


def convert(lines: Iterable[bytes], settings: Settings, *, by_time: bool = True) -> Conversion:
    """Map every Stripe event of `lines` (blank lines skipped). With `by_time` the replay
    lines come in event-time order (stable: file order among equal times): an export of
    `/v1/events` lists the newest first, and a replay in that order would find every event
    older than the allowed lateness late. Without it, in the file's order."""
    topics = topic_of(settings)
    summary = StripeSummary()
    out: list[tuple[str, int, bytes]] = []
    letters: list[DeadLetter] = []
    for number, raw in enumerate(lines):
        if not raw.strip():
            continue
        result = read_event(raw)
        summary.count(result, topics)
        if isinstance(result, Mapped):
            for event in result.events:
                line = orjson.dumps(replay_line(event, topics))
                out.append((event.value["occurred_at"] if by_time else "", len(out), line))
        elif isinstance(result, Rejected):
            letters.append(
                dead_letter(result, raw.rstrip(b"\r\n"), offset=number,
                            limit=settings.dead_letter_raw_bytes)
            )  # fmt: skip
    out.sort(key=lambda item: (item[0], item[1]))
    return Conversion([line for _, _, line in out], letters, summary)
