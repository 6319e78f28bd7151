"""`POST /webhooks/stripe` without a broker: signatures (made as Stripe documents them, and
checked by the official package), what each kind of delivery produces, and the status
Stripe gets back."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from stripe import WebhookSignature

from agents.stripe.webhook import StripeWebhook, WebhookReply
from models.settings import Settings
from tests.agents.stripe.history import PRO, SEAT, history
from tests.agents.stripe.shapes import event, invoice, line

SECRET = "whsec_growthstream_test"
Record = tuple[str, bytes | None, bytes]


class Broker:
    """A `Send` that keeps what it is given, or fails like a broker that is down."""

    def __init__(self, *, down: bool = False) -> None:
        self.records: list[Record] = []
        self.down = down

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        if self.down:
            raise TimeoutError("no broker")
        self.records.append((topic, key, value))


def _webhook(broker: Broker, secret: str | None = SECRET) -> StripeWebhook:
    settings = Settings() if secret is None else Settings(stripe_webhook_secret=SecretStr(secret))
    return StripeWebhook(settings, broker.send)


def sign(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    """`Stripe-Signature` as Stripe makes it: `t=<unix time>,v1=<hex HMAC-SHA256 of
    "<t>.<body>" keyed with the endpoint's secret>`."""
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def _post(webhook: StripeWebhook, body: bytes, header: str | None) -> WebhookReply:
    return asyncio.run(webhook.handle(body, header))


def _body(evt_id: str) -> bytes:
    return orjson.dumps(next(evt for evt in history() if evt["id"] == evt_id))


def test_the_signature_is_stripes_scheme() -> None:
    body = _body("evt_dunmore_invoice_1")
    stamp = int(time.time())
    assert sign(body, at=stamp) == WebhookSignature.generate_signature_header(
        body.decode(), SECRET, timestamp=stamp
    )


def test_a_signed_event_is_produced_to_its_input_topic() -> None:
    broker = Broker()
    body = _body("evt_dunmore_invoice_1")
    reply = _post(_webhook(broker), body, sign(body))
    assert reply.status == 200
    assert reply.body == {
        "type": "invoice.paid",
        "produced": [{"topic": "payments", "event_id": "evt_dunmore_invoice_1",
                      "account_id": "cus_dunmore"}],
    }  # fmt: skip
    ((topic, key, value),) = broker.records
    assert (topic, key) == ("payments", b"cus_dunmore")
    payment = orjson.loads(value)
    assert (payment["amount"], payment["tax_amount"]) == ("43.73", "6.98")
    assert payment["currency"] == "EUR"


def test_an_invoice_of_two_subscriptions_produces_two_payments() -> None:
    at = "2026-04-01T00:00:00Z"
    lines = [line("il_a", "sub_a", "si_a", PRO, 1, 4900, at, "2026-05-01T00:00:00Z"),
             line("il_b", "sub_b", "si_b", SEAT, 3, 3000, at, "2026-05-01T00:00:00Z")]  # fmt: skip
    body = orjson.dumps(event("evt_two", "invoice.paid",
                              invoice("in_two", "cus_x", "sub_a", "subscription_cycle", lines, at),
                              at))  # fmt: skip
    broker = Broker()
    assert _post(_webhook(broker), body, sign(body)).status == 200
    ids = [orjson.loads(value)["event_id"] for _, _, value in broker.records]
    assert ids == ["evt_two:sub_a", "evt_two:sub_b"]


def _wrong(kind: str, body: bytes) -> tuple[bytes, str | None]:
    now = int(time.time())
    return {
        "another secret": (body, sign(body, "whsec_someone_else")),
        "a changed body": (body.replace(b"43.73", b"0.01").replace(b"4900", b"100"), sign(body)),
        "no header": (body, None),
        "a stale signature": (body, sign(body, at=now - 600)),
        "a header without v1": (body, f"t={now},v0=abc"),
        "a garbled header": (body, "not a signature"),
        "a body that is not UTF-8": (b"\xff\xfe" + body, sign(body)),
    }[kind]


@pytest.mark.parametrize(
    "kind",
    ["another secret", "a changed body", "no header", "a stale signature",
     "a header without v1", "a garbled header", "a body that is not UTF-8"],
)  # fmt: skip
def test_a_bad_signature_is_a_400_and_a_dead_letter_never_an_event(kind: str) -> None:
    body, header = _wrong(kind, _body("evt_dunmore_invoice_1"))
    broker = Broker()
    reply = _post(_webhook(broker), body, header)
    assert reply.status == 400 and reply.body["error"].startswith("bad Stripe-Signature: ")
    assert reply.body["dead_letter"] is True
    ((topic, key, value),) = broker.records
    assert (topic, key) == ("dead-letters", None)
    letter = orjson.loads(value)
    assert letter["error"]["type"] == "stripe_bad_signature"
    assert (letter["topic"], letter["partition"], letter["offset"]) == (None, None, None)
    raw: str = letter["raw"]
    kept = raw.encode() if letter["raw_encoding"] == "utf-8" else base64.b64decode(raw)
    assert kept == body  # as it came, byte for byte


def test_without_a_secret_the_endpoint_answers_503_and_takes_nothing() -> None:
    broker = Broker()
    body = _body("evt_dunmore_invoice_1")
    reply = _post(_webhook(broker, secret=None), body, sign(body))
    assert reply.status == 503 and "GROWTH_STRIPE_WEBHOOK_SECRET is not set" in reply.body["error"]
    assert broker.records == []


def test_an_event_that_cannot_be_mapped_is_a_dead_letter_and_a_200() -> None:
    evt = next(evt for evt in history() if evt["id"] == "evt_dunmore_invoice_1")
    body = orjson.dumps(dict(evt, api_version="2024-06-20"))
    broker = Broker()
    reply = _post(_webhook(broker), body, sign(body))
    assert reply.status == 200
    assert (reply.body["rejected"], reply.body["dead_letter"]) == ("old_api_version", True)
    ((topic, key, value),) = broker.records
    assert (topic, key) == ("dead-letters", b"cus_dunmore")
    letter = orjson.loads(value)
    assert letter["error"]["type"] == "stripe_old_api_version"
    assert letter["raw"].encode() == body


def test_an_ignored_event_is_a_200_and_nothing_produced() -> None:
    broker = Broker()
    body = _body("evt_aurora_sub_created")
    reply = _post(_webhook(broker), body, sign(body))
    why = "an event type that changes no figure"
    assert reply == WebhookReply(200, {"type": "customer.subscription.created", "ignored": why})
    assert broker.records == []


def test_a_broker_that_does_not_take_the_event_is_a_503_so_stripe_retries() -> None:
    body = _body("evt_dunmore_invoice_1")
    assert _post(_webhook(Broker(down=True)), body, sign(body)).status == 503


def test_the_worker_serves_the_route(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the worker's own web server (aiohttp under Faust): the body read as sent,
    the header passed on, the reply as JSON; GET is not allowed."""
    import agents.serving.web as web
    from agents.worker.app import build_app

    broker = Broker()
    monkeypatch.setattr(web, "faust_sender", lambda app: broker.send)
    settings = Settings(data_dir=str(tmp_path), stripe_webhook_secret=SecretStr(SECRET))
    app = build_app(settings, web_port=16_067)
    body = _body("evt_borealis_addon_cancel")

    async def exchange() -> tuple[int, Any, int]:
        server = TestServer(app.web.web_app)  # type: ignore[attr-defined]
        async with TestClient(server) as client:
            posted = await client.post(
                "/webhooks/stripe", data=body, headers={"Stripe-Signature": sign(body)}
            )
            got = await client.get("/webhooks/stripe")
            return posted.status, await posted.json(), got.status

    status, reply, get_status = asyncio.run(exchange())
    assert status == 200 and reply["produced"][0]["topic"] == "cancellations"
    assert get_status == 405
    ((topic, key, _value),) = broker.records
    assert (topic, key) == ("cancellations", b"cus_borealis")
