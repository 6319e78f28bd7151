"""`state.pipeline`: every message, whatever its bytes, becomes one `Outcome` that says it all."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from models.decode import Reason, Rejection
from models.events import Payment
from state.config import EngineConfig
from state.engine import Engine
from state.figures import Group
from state.outcome import LATE, Status
from state.pipeline import Pipeline
from tests.support.streams import active, cancel, decoder_for, pay, tick

CONFIG = EngineConfig(fx_rates={"USD": Decimal(1), "EUR": Decimal("1.1")})


def pipeline() -> Pipeline:
    return Pipeline(Engine(CONFIG), decoder_for(CONFIG))


def raw(event: tuple[str, dict[str, object]]) -> tuple[str, bytes]:
    return event[0], orjson.dumps(event[1])


# (case, messages before, the message, status, rejection type or None, groups that must be set)
CASES = [
    ("not JSON", [], ("activity", b"{nope"), Status.REJECTED, Reason.NOT_JSON, Group.COUNTERS),
    ("unknown topic", [], ("nowhere", b"{}"), Status.REJECTED, Reason.BAD_REPLAY_LINE, 0),
    ("unknown currency", [], raw(pay("a", 0, "5", currency="JPY")), Status.REJECTED,
     Reason.UNKNOWN_CURRENCY, 0),
    ("late", [raw(tick(40))], raw(pay("a", 1, "5")), Status.REJECTED, Reason.LATE, 0),
    ("duplicate", [raw(pay("a", 0, "5", event_id="x"))], raw(pay("a", 0, "7", event_id="x")),
     Status.DUPLICATE, None, Group.COUNTERS),
    ("payment", [], raw(pay("a", 0, "5")), Status.APPLIED, None, Group.MRR),
    ("activity", [], raw(active("a", "u", 0)), Status.APPLIED, None, Group.ACTIVITY),
    ("scheduled cancellation", [raw(pay("a", 0, "5"))], raw(cancel("a", 1, effective_day=9)),
     Status.APPLIED, None, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "message", "status", "reason", "groups"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_kind_of_message_has_its_outcome(
    before: list[tuple[str, bytes]],
    message: tuple[str, bytes],
    status: Status,
    reason: str | None,
    groups: int,
) -> None:
    step = pipeline()
    for topic, value in before:
        step.message(topic, value)
    outcome = step.message(*message)
    assert outcome.status is status
    assert (outcome.rejection.type if outcome.rejection else None) == reason
    assert outcome.groups & groups == groups
    counted = step.engine.events + step.engine.duplicates + step.engine.dead_letters
    assert counted == len(before) + 1  # every message is counted exactly once


def test_a_valid_event_names_itself_and_its_account() -> None:
    outcome = pipeline().message(*raw(pay("acct-7", 0, "5", event_id="e-1")))
    assert (outcome.event_id, outcome.account_id) == ("e-1", "acct-7")
    late = pipeline()
    late.message(*raw(tick(40)))
    rejected = late.message(*raw(pay("acct-7", 1, "5", event_id="e-2")))
    assert rejected.rejection is LATE and (rejected.event_id, rejected.account_id) == (
        "e-2",
        "acct-7",
    )


def test_movements_and_alerts_come_with_the_message_that_caused_them() -> None:
    step = pipeline()
    first = step.message(*raw(pay("a", 0, "600")))
    assert [m.movement.value for m in first.movements] == ["new"] and not first.alerts
    step.message(*raw(cancel("a", 1, effective_day=5)))
    due = step.message(*raw(tick(6)))  # the cancellation falls due before this event applies
    assert [m.movement.value for m in due.movements] == ["churn"]
    assert [(a.rule, a.severity, a.account_id) for a in due.alerts] == [
        ("account_churned", "critical", "a")
    ]
    assert step.message(*raw(tick(7))).alerts == ()


def test_a_validated_event_takes_the_same_path_as_its_bytes() -> None:
    events = [pay("a", 0, "5"), pay("b", 0, "9", currency="JPY"), pay("a", 0, "5")]
    by_bytes, by_event = pipeline(), pipeline()
    decoder = decoder_for(CONFIG)
    for topic, value in events:
        one = by_bytes.message(topic, orjson.dumps(value))
        decoded = decoder.decode(topic, orjson.dumps(value))
        if isinstance(decoded, Rejection):  # JPY: the model accepts it, the settings do not
            decoded = Payment.model_validate({**value, "currency": "JPY"})
        other = by_event.validated(decoded)
        assert (one.status, one.groups, one.rejection) == (
            other.status,
            other.groups,
            other.rejection,
        )
    assert by_bytes.engine.snapshot() == by_event.engine.snapshot()


def test_a_rejection_before_decoding_is_a_dead_letter() -> None:
    step = pipeline()
    outcome = step.rejected(Rejection(Reason.BAD_REPLAY_LINE, "not a line"))
    assert outcome.status is Status.REJECTED and step.engine.dead_letters == 1
