"""The one path from a message to an `Outcome`: decode, then the engine's order of work.

Both shells call this and nothing else per message: the embedded replay for each
line of a file, the worker for each Kafka record of a partition. So a message is
decoded, rejected, judged late or duplicate, and applied in exactly one place,
and the two shells give the same numbers by construction.
"""

from __future__ import annotations

from models.decode import Decoder, Rejection
from models.events import AnyEvent, Payment
from state.engine import Engine
from state.outcome import Outcome


class Pipeline:
    """One partition's engine behind the decoder of its input topics."""

    __slots__ = ("_check", "_decode", "engine")

    def __init__(self, engine: Engine, decoder: Decoder) -> None:
        self.engine = engine
        self._decode = decoder.decode
        self._check = decoder.check

    def message(self, topic: str, raw: bytes, recorded_ms: int | None = None) -> Outcome:
        """A raw message of an input topic (whatever its bytes); `recorded_ms` is its record
        time (the Kafka record timestamp, or a replay line's `timestamp`), if known."""
        decoded = self._decode(topic, raw)
        if type(decoded) is Rejection:
            return self.engine.reject(decoded)
        recorded = None if recorded_ms is None else recorded_ms * 1000
        return self.engine.apply(decoded, recorded)  # type: ignore[arg-type]

    def validated(self, event: AnyEvent, recorded_ms: int | None = None) -> Outcome:
        """An event that already passed the models' validation in one pass (a replay line
        checked whole by `models.replay_line`); the settings-dependent checks still run here."""
        if type(event) is Payment:
            rejection = self._check(event)
            if rejection is not None:
                return self.engine.reject(rejection)
        return self.engine.apply(event, None if recorded_ms is None else recorded_ms * 1000)

    def rejected(self, rejection: Rejection) -> Outcome:
        """A message that is not even a message of an input topic (e.g. a bad replay line)."""
        return self.engine.reject(rejection)
