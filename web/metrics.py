"""GET /metrics for Prometheus (prometheus-client): what the worker did and what waits, read from the
database at each scrape, so the figures are the same whichever process (worker or web app) is asked and
survive restarts. Off unless ``metrics.token`` is set; the scraper sends it as a bearer token (or the proxy
in front keeps /metrics to the monitoring network and adds it)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import APIRouter, HTTPException, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.responses import Response

from storage import Database, InboundMessage
from storage.models import utcnow
from storage.staff import replies_by_status, service_status
from storage.states import ReplyStatus
from web.pages import db_of, settings_of

router = APIRouter()


class IntakeCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        with self.db.session() as session:
            by_outcome = session.execute(select(InboundMessage.state, InboundMessage.outcome,
                                                func.count(InboundMessage.id))
                                         .group_by(InboundMessage.state, InboundMessage.outcome)).all()
            timing = session.execute(select(func.count(InboundMessage.processing_ms),
                                            func.coalesce(func.sum(InboundMessage.processing_ms), 0))).one()
            replies = replies_by_status(session)
            poll = service_status(session)
        messages = GaugeMetricFamily("uip_intake_messages", "Inbound emails by state and outcome",
                                     labels=["state", "outcome"])
        for state, outcome, count in by_outcome:
            messages.add_metric([state, outcome or ""], count)
        yield messages
        processing = SummaryMetricFamily("uip_intake_message_processing_seconds",
                                         "Time the pipeline took per email (reading the form is most of it)")
        processing.add_metric([], count_value=timing[0], sum_value=float(timing[1] or 0) / 1000)
        yield processing
        outbox = GaugeMetricFamily("uip_intake_outbox_replies", "Replies by status", labels=["status"])
        for status in ReplyStatus:
            outbox.add_metric([status], replies.get(status, 0))
        yield outbox
        polls = CounterMetricFamily("uip_intake_polls", "Polls of the mailbox, and those that failed",
                                    labels=["result"])
        runs, failures = (poll.runs_total or 0, poll.failures_total or 0) if poll else (0, 0)
        polls.add_metric(["ok"], runs - failures)
        polls.add_metric(["failed"], failures)
        yield polls
        last = poll.last_success_at if poll else None
        since = GaugeMetricFamily("uip_intake_seconds_since_last_good_poll",
                                  "Seconds since the mailbox was last read to its end (-1: never)")
        since.add_metric([], (utcnow() - last).total_seconds() if last else -1.0)
        yield since


@router.get("/metrics")
def metrics(request: Request) -> Response:
    token = settings_of(request).metrics.token.get_secret_value()
    if not token:
        raise HTTPException(404, "Siden findes ikke.")
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return Response("unauthorised\n", status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IntakeCollector(db_of(request)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
