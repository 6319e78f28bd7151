"""The HTTP read API and dashboard, on the worker's Faust web server (aiohttp underneath).

Every worker serves it: figures, series, accounts and alerts are read from Redis
(written by whichever worker aggregates), `/health` and `/prometheus` describe
this process. Views only do I/O; agents/serving/api.py and telemetry.py compute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Protocol

import faust
from aiohttp import web as aioweb
from faust.web import View

from agents.serving.api import (
    ApiError,
    account_body,
    check_figure,
    health_body,
    parse_alert,
    parse_alert_query,
    select_alerts,
    snapshot_body,
)
from agents.serving.page import render_page
from agents.serving.redis_client import OUTAGE_ERRORS, redis_client
from agents.serving.series_query import SERIES_COLUMNS, series_query_body
from agents.serving.tables import (
    COHORT_COLUMNS,
    MONTH_COLUMNS,
    cohorts_body,
    months_body,
    months_in_range,
    series_at,
    stream_day,
    wants_csv,
)
from agents.serving.telemetry import CONTENT_TYPE, Telemetry, TopicPartition, openmetrics_text
from agents.stripe.webhook import PATH as STRIPE_WEBHOOK_PATH
from agents.stripe.webhook import StripeWebhook, faust_sender
from models.csvout import csv_text
from models.jsonout import dumps
from models.settings import Settings
from state.history import SERIES_FIGURES
from state.month_tables import month_csv_rows, month_end_days, with_month_ends


class WorkerStatus(Protocol):
    """What the API needs to know of the worker that serves it (agents/worker/app.py)."""

    settings: Settings
    telemetry: Telemetry

    def lag(self) -> dict[TopicPartition, int | None]:
        """Records of each assigned input partition not yet received."""

    def recovered(self) -> bool:
        """The worker's tables are recovered."""

    def rebalancing(self) -> bool: ...

    def problems(self) -> list[str]:
        """What keeps the worker from making progress, in words (empty when nothing)."""


JSON: Final = "application/json"
PING_TIMEOUT_S: Final = 0.5
ALERT_SCAN: Final = 10_000
"""Newest entries of the alerts stream that a request looks at."""
STATIC: Final = Path(__file__).parent / "static"
STATIC_FILES: Final = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON


def json_reply(body: object, status: int = 200) -> Reply:
    return Reply(status, dumps(body).encode())


class Reads:
    """The Redis keys the API reads (decoded text, short timeouts)."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.redis_prefix
        self.client = redis_client(settings, decode=True)

    async def hash(self, key: str) -> dict[str, str]:
        try:
            raw = await self.client.hgetall(f"{self.prefix}{key}")
        except OUTAGE_ERRORS:
            raise ApiError(503, "Redis is unavailable") from None
        return {_text(k): _text(v) for k, v in raw.items()}

    async def text(self, key: str) -> str | None:
        try:
            raw = await self.client.get(f"{self.prefix}{key}")
        except OUTAGE_ERRORS:
            raise ApiError(503, "Redis is unavailable") from None
        return None if raw is None else _text(raw)

    async def series_days(
        self, names: Sequence[str], days: Sequence[date]
    ) -> dict[str, list[str | None]]:
        """Figure -> HMGET of `series:{figure}` at `days` (text or None each, in that
        order): every figure's hash in one pipeline, one round trip."""
        if not days:
            return {}
        labels = [day.isoformat() for day in days]
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hmget(f"{self.prefix}series:{name}", labels)
                answers = await pipe.execute()
        except OUTAGE_ERRORS:
            raise ApiError(503, "Redis is unavailable") from None
        return {
            name: [None if v is None else _text(v) for v in values]
            for name, values in zip(names, answers, strict=True)
        }

    async def alerts(self) -> list[dict[str, Any]]:
        """The parsable alerts of the newest `ALERT_SCAN` stream entries, oldest first."""
        try:
            entries = await self.client.xrevrange(f"{self.prefix}alerts", count=ALERT_SCAN)
        except OUTAGE_ERRORS:
            raise ApiError(503, "Redis is unavailable") from None
        out = []
        for _id, fields in reversed(entries or []):
            alert = parse_alert(None if fields is None else fields.get("alert"))
            if alert is not None:
                out.append(alert)
        return out

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self.client.ping(), PING_TIMEOUT_S))
        except (TimeoutError, *OUTAGE_ERRORS):
            return False


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Api:
    """The handlers; each returns a `Reply` or raises `ApiError`."""

    def __init__(self, worker: WorkerStatus) -> None:
        self.worker = worker
        self.reads = Reads(worker.settings)

    async def metrics(self, request: Any, params: Mapping[str, str]) -> Reply:
        return json_reply(snapshot_body(await self.reads.hash("metrics")))

    async def series(self, request: Any, params: Mapping[str, str]) -> Reply:
        name = params["name"]
        check_figure(name)
        query = request.query
        metrics = await self.reads.hash("metrics")
        day = metrics.get("day") or None
        raw = await self.reads.hash(f"series:{name}")
        last = None if day is None else date.fromisoformat(day)
        body = series_query_body(name, raw, last, query)
        rows = body.get("periods", body.get("days"))
        assert isinstance(rows, list)
        csv_rows = [{"period": r.get("period", r["day"]), **r} for r in rows]
        return _table_reply(request, csv_rows, SERIES_COLUMNS, body)

    async def months(self, request: Any, params: Mapping[str, str]) -> Reply:
        """The stored months in the range, joined with the series at each month's end."""
        rows = months_in_range(await self.reads.text("months"), request.query)
        today = stream_day((await self.reads.hash("metrics")).get("day"))
        days = month_end_days(rows, today)
        answers = await self.reads.series_days(SERIES_FIGURES, days)
        rows = with_month_ends(rows, series_at(days, answers), today)
        return _table_reply(request, month_csv_rows(rows), MONTH_COLUMNS, months_body(rows))

    async def cohorts(self, request: Any, params: Mapping[str, str]) -> Reply:
        body = cohorts_body(await self.reads.text("cohorts"), request.query)
        return _table_reply(request, body["cohorts"], COHORT_COLUMNS, body)

    async def account(self, request: Any, params: Mapping[str, str]) -> Reply:
        account_id = params["account_id"]
        raw = await self.reads.hash(f"account:{account_id}")
        if not raw:
            raise ApiError(404, f"unknown account {account_id!r}")
        return json_reply(account_body(account_id, raw, await self.reads.alerts()))

    async def alerts(self, request: Any, params: Mapping[str, str]) -> Reply:
        query = parse_alert_query(request.query)
        return json_reply({"alerts": select_alerts(await self.reads.alerts(), query)})

    async def health(self, request: Any, params: Mapping[str, str]) -> Reply:
        status, body = health_body(
            lag=self.worker.lag(),
            redis_ok=await self.reads.ping(),
            recovered=self.worker.recovered(),
            rebalancing=self.worker.rebalancing(),
            problems=self.worker.problems(),
        )
        return json_reply(body, status)

    async def prometheus(self, request: Any, params: Mapping[str, str]) -> Reply:
        try:
            figures: Mapping[str, object] = snapshot_body(await self.reads.hash("metrics"))
        except ApiError:
            figures = {}
        text = openmetrics_text(figures, self.worker.telemetry, self.worker.lag())
        return Reply(200, text, CONTENT_TYPE)

    async def dashboard(self, request: Any, params: Mapping[str, str]) -> Reply:
        """The page with the current figures and alerts in its HTML (agents/serving/page.py);
        without Redis, or figures, the page as it is, which its script fills in later."""
        template = (STATIC / "index.html").read_text(encoding="utf-8")
        try:
            metrics: Mapping[str, object] | None = snapshot_body(await self.reads.hash("metrics"))
            alerts = await self.reads.alerts()
        except ApiError:
            metrics, alerts = None, []
        page = render_page(template, metrics, alerts)
        return Reply(200, page.encode(), "text/html; charset=utf-8")

    async def static(self, request: Any, params: Mapping[str, str]) -> Reply:
        name = params["name"]
        kind = STATIC_FILES.get(name)
        if kind is None:
            raise ApiError(404, f"no static file {name!r}")
        return Reply(200, (STATIC / name).read_bytes(), f"{kind}; charset=utf-8")


def _table_reply(
    request: Any, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], body: object
) -> Reply:
    """CSV when the request asks for it (`?format=csv`, `Accept: text/csv`), else JSON."""
    if wants_csv(request.query, request.headers.get("Accept")):
        return Reply(200, csv_text(rows, columns).encode(), "text/csv; charset=utf-8")
    return json_reply(body)


Handler = Callable[[Any, Mapping[str, str]], Awaitable[Reply]]


def routes(api: Api) -> dict[str, Handler]:
    """Path -> handler of every GET route (docs/openapi.yaml describes the API ones)."""
    return {
        "/": api.dashboard,
        "/static/{name}": api.static,
        "/metrics": api.metrics,
        "/metrics/{name}/series": api.series,
        "/months": api.months,
        "/cohorts": api.cohorts,
        "/accounts/{account_id}": api.account,
        "/alerts": api.alerts,
        "/health": api.health,
        "/prometheus": api.prometheus,
    }


@aioweb.middleware
async def json_errors(request: aioweb.Request, handler: Any) -> aioweb.StreamResponse:
    """Unknown routes and methods answer JSON too, like the API's own errors."""
    try:
        response: aioweb.StreamResponse = await handler(request)
    except aioweb.HTTPException as exc:
        if exc.status < 400:
            raise
        return aioweb.json_response({"error": exc.reason}, status=exc.status)
    return response


def _view(app: faust.App, path: str, handler: Handler) -> None:
    async def get(view: Any, request: Any, **params: str) -> Any:
        try:
            reply = await handler(request, params)
        except ApiError as exc:
            reply = json_reply(exc.body(), exc.status)
        return view.bytes(
            reply.body, status=reply.status, headers={"Content-Type": reply.content_type}
        )

    name = handler.__name__
    get.__name__ = f"growth_{name}"
    app.page(path, name=f"growth_{name}")(get)


def _stripe_webhook_view(app: faust.App, settings: Settings) -> None:
    """`POST /webhooks/stripe` (agents/stripe/webhook.py says what each delivery gets): the
    body read as the bytes Stripe signed, the reply as JSON."""
    webhook = StripeWebhook(settings, faust_sender(app))

    async def post(view: Any, request: Any) -> Any:
        body = await request.read()
        reply = await webhook.handle(body, request.headers.get("Stripe-Signature"))
        return view.bytes(
            dumps(reply.body).encode(), status=reply.status, headers={"Content-Type": JSON}
        )

    name = "growth_stripe_webhook"
    app.page(STRIPE_WEBHOOK_PATH, name=name)(type(name, (View,), {"post": post}))


def register_views(app: faust.App, worker: WorkerStatus) -> Api:
    """Add the API's views (before Faust's own, so ours answer `/`); the worker adds
    `json_errors` as a middleware of its web server."""
    api = Api(worker)
    for path, handler in routes(api).items():
        _view(app, path, handler)
    _stripe_webhook_view(app, worker.settings)
    return api
