"""Stripe as a source against the real broker: `growthstream stripe import` publishes the
history's events, and a live worker takes the same history as signed webhooks on
`POST /webhooks/stripe` and ends with the figures the replay of `stripe convert` gives."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from agents.cli import main
from agents.embedded.replay import replay_lines
from agents.kafka.topics import ensure_topics
from agents.stripe.convert import convert
from models.settings import Settings
from tests.agents.stripe.history import HISTORY_FILE, history
from tests.agents.stripe.test_webhook import SECRET, sign
from tests.support.workers import (
    Workers,
    kafka_environment,
    read_all,
    redis_hash,
    wait_for_figures,
    worker_settings,
)

pytestmark = pytest.mark.integration


def base64_or_text(letter: dict[str, object]) -> bytes:
    """A dead letter's `raw`, as the bytes it keeps."""
    raw = str(letter["raw"])
    return base64.b64decode(raw) if letter.get("raw_encoding") == "base64" else raw.encode()


def test_stripe_import_publishes_the_mapped_events(
    fresh_names: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name, value in kafka_environment(fresh_names):
        monkeypatch.setenv(name, value)
    history = tmp_path / "history.jsonl"
    unmappable = b'{"id": "evt_bad", "type": "customer.created", "data": {"object": {}}}'
    history.write_bytes(HISTORY_FILE.read_bytes() + unmappable + b"\n")
    assert main(["stripe", "import", str(history)]) == 0
    err = capsys.readouterr().err
    assert "read 43 Stripe events: 32 mapped to 32 events" in err and "1 rejected" in err
    assert "sent 32 messages" in err
    assert f"1 dead letters published to {fresh_names.topic_dead_letters}" in err
    (letter,) = [
        orjson.loads(r.value) for r in read_all(fresh_names, fresh_names.topic_dead_letters)
    ]
    assert letter["error"]["type"].startswith("stripe_") and b"evt_bad" in base64_or_text(letter)
    keys = {
        topic: Counter(r.key.decode() for r in read_all(fresh_names, topic))
        for topic in (fresh_names.topic_payments, fresh_names.topic_cancellations,
                      fresh_names.topic_signups)
    }  # fmt: skip
    assert keys[fresh_names.topic_payments] == {
        "cus_aurora": 5, "cus_borealis": 4, "cus_cobalt": 4, "cus_dunmore": 3,
        "cus_eastwick": 6, "cus_fjord": 1,
    }  # fmt: skip
    assert keys[fresh_names.topic_cancellations] == {"cus_borealis": 2, "cus_fjord": 1}
    assert sum(keys[fresh_names.topic_signups].values()) == 6


def _post(port: int, body: bytes, signature: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/stripe", data=body, method="POST",
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def test_a_live_worker_takes_the_history_as_signed_webhooks(
    fresh_names: Settings, tmp_path: Path
) -> None:
    settings = worker_settings(fresh_names).model_copy(
        update={
            "fx_rates": {"USD": Decimal(1), "EUR": Decimal("1.08"), "JPY": Decimal("0.0065")},
            "stripe_webhook_secret": SecretStr(SECRET),
        }
    )
    ensure_topics(settings)
    workers = Workers(settings, tmp_path)
    try:
        workers.start(1)
        workers.wait_ready(1)
        port = workers.port(1)
        bodies = [orjson.dumps(evt) for evt in history()]
        produced = 0
        for body in bodies:
            status, reply = _post(port, body, sign(body))
            assert status == 200, reply
            produced += len(reply.get("produced", []))  # type: ignore[arg-type]
        assert produced == 32

        forged = bodies[0].replace(b"Aurora Labs", b"Mallory Ltd")
        status, reply = _post(port, forged, sign(bodies[0]))
        assert (status, reply["dead_letter"]) == (400, True)

        lines = convert(bodies, settings, by_time=False).lines
        expected = replay_lines(lines, settings, partitions=settings.topic_partitions).snapshot()
        assert expected["mrr"] == Decimal("230.92")
        wait_for_figures(settings, dict(expected), workers)
        assert redis_hash(settings, "account:cus_dunmore")["mrr"] == "52.92"

        letters = [orjson.loads(r.value) for r in read_all(settings, settings.topic_dead_letters)]
        assert [(d["error"]["type"], d["raw"]) for d in letters] == [
            ("stripe_bad_signature", forged.decode())
        ]
    finally:
        workers.stop_all()
