"""`POST /webhooks/stripe`: Stripe's webhook deliveries onto the input topics.

What each delivery gets (Stripe retries any answer but a 2xx, for up to three days):
- no `GROWTH_STRIPE_WEBHOOK_SECRET` -> 503 and nothing else: nothing can be verified, and
  Stripe's retries deliver the events once the secret is set;
- a `Stripe-Signature` that the official package refuses (missing, wrong, older than its
  5-minute tolerance) -> 400 and a dead letter (`stripe_bad_signature`, the body as it
  came), never an event;
- a verified event that maps -> its events produced to the input topics (keyed by
  account_id, acknowledged by the broker) -> 200 with what was produced; an ignored one ->
  200 saying why;
- a verified event that cannot be mapped -> a dead letter (`stripe_{reason}`) and 200: the
  same event maps the same way every time, so a retry could only repeat the dead letter;
- a broker that does not take a record -> 503, so that Stripe delivers again (a repeated
  event is a duplicate for the engine: same event ids).

Dead letters are the engine's (models/outputs.py `DeadLetter.of`), without a topic,
partition or offset (none was read), published here rather than by the worker's
`Outputs`, which ties each record to the input partition whose checkpoint carries it:
the webhook answers only once the broker has its records instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from stripe import SignatureVerificationError, WebhookSignature

from agents.stripe.convert import dead_letter, read_event, topic_of
from agents.stripe.mapping import Ignored, Mapped
from models.decode import Rejection
from models.outputs import DeadLetter
from models.settings import Settings

log = logging.getLogger("growthstream.stripe")

PATH: Final = "/webhooks/stripe"
TOLERANCE_S: Final = 300
"""Stripe's own default: a signed delivery older than this is refused (replays)."""
SEND_TIMEOUT_S: Final = 15.0
BAD_SIGNATURE: Final = "stripe_bad_signature"

Send = Callable[[str, bytes | None, bytes], Awaitable[None]]
"""Publish one record (topic, key, value) and return once the broker has acknowledged it."""


@dataclass(frozen=True, slots=True)
class WebhookReply:
    status: int
    body: dict[str, Any]


class StripeWebhook:
    def __init__(self, settings: Settings, send: Send) -> None:
        self.settings = settings
        self.send = send
        self.topics = topic_of(settings)

    async def handle(self, body: bytes, signature: str | None) -> WebhookReply:
        secret = self.settings.stripe_webhook_secret
        if secret is None or not secret.get_secret_value().strip():
            return WebhookReply(
                503,
                {"error": "GROWTH_STRIPE_WEBHOOK_SECRET is not set: this worker cannot verify "
                 "Stripe webhooks, so it takes none (Stripe retries them)"},
            )  # fmt: skip
        problem = _signature_problem(body, signature, secret.get_secret_value())
        if problem is not None:
            letter = DeadLetter.of(
                Rejection(BAD_SIGNATURE, problem), body, topic=None, partition=None,
                offset=None, key=None, raw_limit=self.settings.dead_letter_raw_bytes,
            )  # fmt: skip
            published = await self._dead_letter(letter, None)
            return WebhookReply(400, {"error": f"bad Stripe-Signature: {problem}",
                                      "dead_letter": published})  # fmt: skip
        return await self._deliver(body)

    async def _deliver(self, body: bytes) -> WebhookReply:
        result = read_event(body)
        if isinstance(result, Ignored):
            return WebhookReply(200, {"type": result.stripe_type, "ignored": result.why})
        if not isinstance(result, Mapped):
            limit = self.settings.dead_letter_raw_bytes
            letter = dead_letter(result, body, offset=None, limit=limit)
            key = None if result.account_id is None else result.account_id.encode()
            if not await self._dead_letter(letter, key):
                return _unavailable()
            return WebhookReply(
                200,
                {"type": result.stripe_type, "rejected": result.reason,
                 "message": result.message, "dead_letter": True},
            )  # fmt: skip
        produced = []
        for event in result.events:
            topic = self.topics[event.kind]
            try:
                await self.send(topic, event.account_id.encode(), orjson.dumps(event.value))
            except Exception as exc:
                log.warning("stripe webhook: %s not produced to %s: %r", event, topic, exc)
                return _unavailable()
            produced.append({"topic": topic, "event_id": event.value["event_id"],
                             "account_id": event.account_id})  # fmt: skip
        return WebhookReply(200, {"type": result.stripe_type, "produced": produced})

    async def _dead_letter(self, letter: DeadLetter, key: bytes | None) -> bool:
        topic = self.settings.topic_dead_letters
        try:
            await self.send(topic, key, letter.to_json())
        except Exception as exc:
            log.warning("stripe webhook: dead letter not produced to %s: %r", topic, exc)
            return False
        return True


def _unavailable() -> WebhookReply:
    return WebhookReply(503, {"error": "Kafka did not take the records; Stripe will retry"})


def _signature_problem(body: bytes, header: str | None, secret: str) -> str | None:
    """Why the official package refuses the signature (`WebhookSignature.verify_header`,
    which `stripe.Webhook.construct_event` runs first), or None when it accepts it. The
    event itself is then read from the very bytes that were signed."""
    try:
        WebhookSignature.verify_header(body, header, secret, TOLERANCE_S)
    except SignatureVerificationError as exc:
        return (exc.user_message or str(exc))[:300]
    except (UnicodeDecodeError, ValueError):
        return "the body is not UTF-8 text"
    return None


def faust_sender(app: Any) -> Send:
    """`Send` on the worker's Faust producer: raw bytes, one topic object per name."""
    topics: dict[str, Any] = {}

    async def send(topic: str, key: bytes | None, value: bytes) -> None:
        channel = topics.get(topic)
        if channel is None:
            channel = topics[topic] = app.topic(
                topic, key_type=bytes, value_type=bytes,
                key_serializer="raw", value_serializer="raw",
            )  # fmt: skip
        pending = await channel.send(key=key, value=value)
        await asyncio.wait_for(asyncio.ensure_future(pending), SEND_TIMEOUT_S)

    return send
